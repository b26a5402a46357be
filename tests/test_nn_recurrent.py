"""Recurrent cells and layers (minigrad.nn.recurrent, minigrad.nn.fused): gradients, equations, lengths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import nn


def _tensor(rng, *shape, grad=True):
    return minigrad.Tensor(rng.standard_normal(shape), requires_grad=grad)


@pytest.mark.parametrize("make", [
    lambda rng: nn.RNNCell(3, 2, rng=rng),
    lambda rng: nn.RNNCell(3, 2, nonlinearity="relu", rng=rng),
    lambda rng: nn.RNNCell(3, 2, bias=False, rng=rng),
    lambda rng: nn.GRUCell(3, 2, rng=rng),
    lambda rng: nn.LSTMCell(3, 2, rng=rng),
], ids=["rnn_tanh", "rnn_relu", "rnn_nobias", "gru", "lstm"])
def test_cells_pass_gradcheck(make):
    rng = np.random.default_rng(0)
    cell = make(rng)
    x, h = _tensor(rng, 2, 3), _tensor(rng, 2, 2)
    if isinstance(cell, nn.LSTMCell):
        c = _tensor(rng, 2, 2)
        fn = lambda x, h, c, *params: minigrad.cat(cell(x, (h, c)), axis=1)  # noqa: E731
        assert minigrad.gradcheck(fn, x, h, c, *cell.parameters())
    else:
        assert minigrad.gradcheck(lambda x, h, *params: cell(x, h), x, h, *cell.parameters())


def test_cell_equations_by_hand():
    """One LSTM and one GRU step computed in numpy from the docstring equations."""
    rng = np.random.default_rng(1)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    lstm = nn.LSTMCell(3, 2, rng=rng)
    p = {k: v for k, v in lstm.state_dict().items()}
    a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, o = sig(a[:, :2]), sig(a[:, 2:4]), np.tanh(a[:, 4:6]), sig(a[:, 6:])
    c1 = f * c + i * g
    h1, c1_m = lstm(minigrad.Tensor(x), (minigrad.Tensor(h), minigrad.Tensor(c)))
    np.testing.assert_allclose(c1_m.data, c1, rtol=1e-12)
    np.testing.assert_allclose(h1.data, o * np.tanh(c1), rtol=1e-12)

    gru = nn.GRUCell(3, 2, rng=rng)
    p = gru.state_dict()
    gi, gh = x @ p["weight_ih"].T + p["bias_ih"], h @ p["weight_hh"].T + p["bias_hh"]
    r, z = sig(gi[:, :2] + gh[:, :2]), sig(gi[:, 2:4] + gh[:, 2:4])
    n = np.tanh(gi[:, 4:] + r * gh[:, 4:])
    np.testing.assert_allclose(gru(minigrad.Tensor(x), minigrad.Tensor(h)).data, (1 - z) * n + z * h, rtol=1e-12)


def test_cells_accept_unbatched_input_and_default_to_zero_state():
    rng = np.random.default_rng(2)
    cell = nn.LSTMCell(3, 2, rng=rng)
    x = _tensor(rng, 3, grad=False)
    h, c = cell(x)
    h0 = minigrad.zeros(2)
    h_explicit, _ = cell(x, (h0, h0))
    assert h.shape == (2,)
    np.testing.assert_array_equal(h.data, h_explicit.data)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_layer_equals_its_cell_unrolled(kind):
    rng = np.random.default_rng(3)
    layer = getattr(nn, kind)(3, 4, rng=rng)
    cell = getattr(nn, kind + "Cell")(3, 4, rng=rng)
    cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
    x = _tensor(rng, 5, 2, 3, grad=False)
    output, state = layer(x)
    hx = None
    for t in range(5):
        hx = cell(x[t], hx)
        h = hx[0] if kind == "LSTM" else hx
        np.testing.assert_allclose(output.data[t], h.data, rtol=1e-12, atol=1e-14)
    final = state[0] if kind == "LSTM" else state
    np.testing.assert_allclose(final.data[0], h.data, rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(state[1].data[0], hx[1].data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_deep_bidirectional_layer_with_lengths_passes_gradcheck(kind):
    rng = np.random.default_rng(4)
    layer = getattr(nn, kind)(2, 2, num_layers=2, bidirectional=True, rng=rng)
    x = _tensor(rng, 3, 2, 2)
    h0 = _tensor(rng, 4, 2, 2)
    hx = (h0, _tensor(rng, 4, 2, 2)) if kind == "LSTM" else h0

    def fn(x, *params):
        output, state = layer(x, hx, lengths=[3, 2])
        finals = list(state) if kind == "LSTM" else [state]
        return minigrad.cat([output.reshape(-1)] + [s.reshape(-1) for s in finals])

    assert minigrad.gradcheck(fn, x, *layer.parameters(), *(hx if kind == "LSTM" else (hx,)))


def test_relu_rnn_and_no_bias_layer_pass_gradcheck():
    rng = np.random.default_rng(5)
    for layer in (nn.RNN(2, 3, nonlinearity="relu", rng=rng), nn.GRU(2, 2, bias=False, rng=rng)):
        x = _tensor(rng, 3, 2, 2)
        assert minigrad.gradcheck(lambda x, *p: layer(x)[0], x, *layer.parameters())


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_padding_changes_neither_real_outputs_nor_final_state(kind):
    """Each sequence run alone, unpadded, gives the batch's outputs at its real steps and its h_n."""
    rng = np.random.default_rng(6)
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True, rng=rng)
    lengths = np.array([4, 1, 3])
    x = rng.standard_normal((3, 4, 3))
    x[1, 1:] = 100.0  # garbage in the padding
    x[2, 3:] = -7.0
    output, state = layer(minigrad.Tensor(x), lengths=lengths)
    h_n = state[0] if kind == "LSTM" else state
    for b, length in enumerate(lengths):
        alone_out, alone_state = layer(minigrad.Tensor(x[b:b + 1, :length]))
        alone_h = alone_state[0] if kind == "LSTM" else alone_state
        np.testing.assert_allclose(output.data[b, :length], alone_out.data[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(output.data[b, length:], 0.0)
        np.testing.assert_allclose(h_n.data[:, b], alone_h.data[:, 0], rtol=1e-12, atol=1e-14)


def test_shapes_batch_first_and_float32():
    rng = np.random.default_rng(7)
    lstm = nn.LSTM(3, 5, num_layers=3, batch_first=True, bidirectional=True, rng=rng, dtype=np.float32)
    x = minigrad.Tensor(rng.standard_normal((2, 6, 3)).astype(np.float32))
    output, (h_n, c_n) = lstm(x)
    assert output.shape == (2, 6, 10) and h_n.shape == (6, 2, 5) and c_n.shape == (6, 2, 5)
    assert output.dtype == np.float32 and h_n.dtype == np.float32
    assert repr(lstm) == "LSTM(3, 5, num_layers=3, batch_first=True, bidirectional=True)"


def test_zero_initial_state_is_the_default():
    rng = np.random.default_rng(8)
    gru = nn.GRU(2, 3, num_layers=2, rng=rng)
    x = _tensor(rng, 4, 2, 2, grad=False)
    np.testing.assert_array_equal(gru(x)[0].data, gru(x, minigrad.zeros(2, 2, 3))[0].data)


def test_dropout_acts_between_layers_only_in_training():
    rng = np.random.default_rng(9)
    lstm = nn.LSTM(2, 8, num_layers=2, dropout=0.5, rng=rng)
    x = _tensor(rng, 3, 2, 2, grad=False)
    train_a, train_b = lstm(x)[0].data, lstm(x)[0].data
    assert not np.allclose(train_a, train_b)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x)[0].data)
    single = nn.LSTM(2, 8, dropout=0.5, rng=rng)  # one layer: nothing to drop between
    np.testing.assert_array_equal(single(x)[0].data, single(x)[0].data)


def test_bad_inputs_are_named():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM: expected input with 3 dimensions.*input_size=3.*\(5, 3\)"):
        lstm(minigrad.ones(5, 3))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 5\]"):
        lstm(minigrad.ones(5, 2, 3), lengths=[6, 1])
    with pytest.raises(ValueError, match="lengths must be 2 integers"):
        lstm(minigrad.ones(5, 2, 3), lengths=[1.5, 2.0])
    with pytest.raises(ValueError, match=r"initial state must have shape .* \(1, 2, 4\)"):
        lstm(minigrad.ones(5, 2, 3), (minigrad.zeros(2, 2, 4), minigrad.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="input_size=3"):
        nn.GRUCell(3, 4)(minigrad.ones(2, 4))


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["RNN", "GRU", "LSTM"]), steps=st.integers(1, 4), batch=st.integers(1, 3),
       input_size=st.integers(1, 3), hidden_size=st.integers(1, 3), num_layers=st.integers(1, 3),
       bidirectional=st.booleans(), batch_first=st.booleans())
def test_layer_shapes_for_any_configuration(kind, steps, batch, input_size, hidden_size, num_layers,
                                            bidirectional, batch_first):
    layer = getattr(nn, kind)(input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                              batch_first=batch_first, rng=np.random.default_rng(0))
    shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    output, state = layer(minigrad.ones(shape))
    directions = 2 if bidirectional else 1
    expected = (batch, steps) if batch_first else (steps, batch)
    assert output.shape == (*expected, directions * hidden_size)
    for s in (state if kind == "LSTM" else (state,)):
        assert s.shape == (num_layers * directions, batch, hidden_size)
    if bidirectional:  # the reverse direction of the last layer ends at t = 1
        first = output.data[:, 0] if batch_first else output.data[0]
        h_n = state[0] if kind == "LSTM" else state
        np.testing.assert_array_equal(first[..., hidden_size:], h_n.data[-1])
