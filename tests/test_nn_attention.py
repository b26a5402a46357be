"""Attention (minigrad.nn.attention): the equations, the masks, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import Tensor, gradcheck, nn
from minigrad.nn.attention import DecoderAttention, causal_mask, dot_product_attention


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_dot_product_attention_follows_its_equation():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
    out, weights = dot_product_attention(q, k, v)
    expected_weights = _softmax(q @ k.transpose(0, 2, 1) / 2.0)  # sqrt(d) = 2
    np.testing.assert_allclose(weights.data, expected_weights, rtol=1e-12)
    np.testing.assert_allclose(out.data, expected_weights @ v, rtol=1e-12)
    np.testing.assert_allclose(weights.data.sum(axis=-1), 1.0, rtol=1e-12)


def test_masked_keys_get_exactly_zero_weight_and_no_gradient():
    rng = np.random.default_rng(1)
    q = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    k = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    v = Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    out, weights = dot_product_attention(q, k, v, causal_mask(4))
    assert np.all(weights.data[np.triu_indices(4, 1)] == 0.0)
    out[0].sum().backward()  # the first query sees only the first key
    assert np.all(k.grad[1:] == 0) and np.all(v.grad[1:] == 0)
    assert gradcheck(lambda q, k, v: dot_product_attention(q, k, v, causal_mask(4))[0], q, k, v)


def test_a_query_without_keys_is_an_error():
    with pytest.raises(ValueError, match="without any key"):
        dot_product_attention(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)),
                              np.array([[True, False], [False, False]]))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="must share d"):
        dot_product_attention(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 3)))


def test_self_attention_matches_a_loop_over_positions_and_is_causal():
    rng = np.random.default_rng(2)
    layer = nn.SelfAttention(4, causal=True, rng=rng)
    x = rng.normal(size=(5, 2, 4))
    y, weights = layer(x)
    p = layer.state_dict()
    w_q, w_k, w_v = np.split(p["in_proj_weight"], 3)
    b_q, b_k, b_v = np.split(p["in_proj_bias"], 3)
    for b in range(2):
        q, k, v = x[:, b] @ w_q.T + b_q, x[:, b] @ w_k.T + b_k, x[:, b] @ w_v.T + b_v
        for t in range(5):
            alpha = _softmax(k[:t + 1] @ q[t] / 2.0)
            expected = (alpha @ v[:t + 1]) @ p["out_proj.weight"].T + p["out_proj.bias"]
            np.testing.assert_allclose(y.data[t, b], expected, rtol=1e-10)
            np.testing.assert_allclose(weights.data[b, t, :t + 1], alpha, rtol=1e-10)
    # changing a later input never changes an earlier output
    x2 = x.copy()
    x2[3:] += 1.0
    np.testing.assert_array_equal(layer(x2)[0].data[:3], y.data[:3])


def test_self_attention_gradients():
    rng = np.random.default_rng(3)
    layer = nn.SelfAttention(3, rng=rng)
    x = Tensor(rng.normal(size=(4, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x, *p: layer(x)[0], x, *layer.parameters())
    assert sorted(dict(layer.named_parameters())) == ["in_proj_bias", "in_proj_weight", "out_proj.bias",
                                                      "out_proj.weight"]


def test_self_attention_checks_its_input():
    with pytest.raises(ValueError, match="expected x of shape"):
        nn.SelfAttention(4)(np.ones((3, 4)))


def test_decoder_attention_follows_its_equations_and_gradients():
    rng = np.random.default_rng(4)
    attention = DecoderAttention(3, rng=rng)
    decoded = Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)  # (T, B, H)
    states = Tensor(rng.normal(size=(5, 4, 3)), requires_grad=True)  # (S, B, H)
    features, weights = attention(decoded, states)
    assert features.shape == (2, 4, 3) and weights.shape == (4, 2, 5)
    p = attention.state_dict()
    for t in range(2):
        for b in range(4):
            alpha = _softmax(states.data[:, b] @ (p["query.weight"] @ decoded.data[t, b]) / np.sqrt(3))
            context = alpha @ states.data[:, b]
            expected = np.tanh(p["combine.weight"] @ np.concatenate([context, decoded.data[t, b]])
                               + p["combine.bias"])
            np.testing.assert_allclose(features.data[t, b], expected, rtol=1e-10)
    assert gradcheck(lambda d, s, *params: attention(d, s)[0], decoded, states, *attention.parameters())
    assert minigrad.nn.attention.__all__
