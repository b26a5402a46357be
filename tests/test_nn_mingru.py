"""minGRU (minigrad.nn.MinGRU): its equations step by step, scan and loop alike, gradients."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import Tensor, gradcheck, nn


def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_min_gru_follows_its_equations_step_by_step():
    rng = np.random.default_rng(0)
    layer = nn.MinGRU(3, 4, rng=rng)
    x, h0 = rng.normal(size=(6, 2, 3)), rng.normal(size=(1, 2, 4))
    output, h_n = layer(x, h0)
    w, b = layer.weight_ih.data, layer.bias_ih.data
    h = h0[0]
    for t in range(6):
        gates = x[t] @ w.T + b
        z, candidate = _sig(gates[:, :4]), gates[:, 4:]
        h = (1 - z) * h + z * candidate
        np.testing.assert_allclose(output.data[t], h, rtol=1e-12)
    np.testing.assert_array_equal(h_n.data[0], output.data[-1])
    assert sorted(dict(layer.named_parameters())) == ["bias_ih", "weight_ih"]  # no weight_hh


def test_scan_and_loop_give_the_same_outputs_and_gradients():
    rng = np.random.default_rng(1)
    scan, loop = nn.MinGRU(2, 3, rng=np.random.default_rng(5)), nn.MinGRU(2, 3, method="loop",
                                                                           rng=np.random.default_rng(5))
    x = rng.normal(size=(11, 4, 2))
    grads = []
    for layer in (scan, loop):
        output, _ = layer(Tensor(x))
        (output * Tensor(np.arange(output.size).reshape(output.shape) % 3)).sum().backward()
        grads.append((output.data, layer.weight_ih.grad, layer.bias_ih.grad))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["scan", "loop"])
def test_min_gru_gradcheck(method):
    rng = np.random.default_rng(2)
    layer = nn.MinGRU(2, 3, method=method, rng=rng)
    x = Tensor(rng.normal(size=(5, 2, 2)), requires_grad=True)
    h0 = Tensor(rng.normal(size=(1, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x, h0, *p: layer(x, h0)[0], x, h0, *layer.parameters())


def test_min_gru_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        nn.MinGRU(2, 3, method="parallel")
    layer = nn.MinGRU(2, 3)
    with pytest.raises(ValueError, match="expected input of shape"):
        layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="hx must have shape"):
        layer(np.zeros((4, 1, 2)), np.zeros((1, 3)))
    assert "method='loop'" in repr(nn.MinGRU(2, 3, method="loop"))
