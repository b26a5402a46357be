"""The book's design patterns A, B and C (minigrad.nn.patterns), against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn


def _set(module, **values):
    module.load_state_dict({k: np.array(v, dtype=float) for k, v in values.items()})
    return module


def test_parameters_have_the_books_names_and_shapes():
    model = nn.ElmanRNN(3, 4, 2)
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        "U": (4, 3), "W": (4, 4), "V": (2, 4), "b": (4,), "c": (2,)}
    assert nn.JordanRNN(3, 4, 2).W.shape == (4, 2)
    assert repr(nn.SummaryRNN(3, 4, 2)) == "SummaryRNN(3, 4, 2)"


def test_elman_rnn_by_hand():
    """Scalar pattern A with U=0.5, W=-1, V=2, b=0.1, c=-0.3 on x = (1, 2)."""
    model = _set(nn.ElmanRNN(1, 1, 1), U=[[0.5]], W=[[-1.0]], V=[[2.0]], b=[0.1], c=[-0.3])
    o, h = model(np.array([[[1.0]], [[2.0]]]))
    h1 = math.tanh(0.1 + 0.5 * 1.0)
    h2 = math.tanh(0.1 - 1.0 * h1 + 0.5 * 2.0)
    np.testing.assert_allclose(h.data.ravel(), [h1, h2], rtol=1e-14)
    np.testing.assert_allclose(o.data.ravel(), [-0.3 + 2 * h1, -0.3 + 2 * h2], rtol=1e-14)
    assert o.shape == (2, 1, 1) and h.shape == (2, 1, 1)


def test_elman_rnn_initial_state_and_gradcheck():
    rng = np.random.default_rng(0)
    model = nn.ElmanRNN(2, 3, 2, rng=rng)
    x = minigrad.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = minigrad.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert minigrad.gradcheck(lambda x, h0, *p: model(x, h0)[0], x, h0, *model.parameters())
    o_zero, _ = model(x)
    o_given, _ = model(x, np.zeros((2, 3)))
    np.testing.assert_array_equal(o_zero.data, o_given.data)
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, hidden_size\) = \(2, 3\)"):
        model(x, np.zeros((3,)))
    with pytest.raises(ValueError, match=r"expected x of shape \(T, B, input_size=2\)"):
        model(np.zeros((4, 2)))


def test_jordan_rnn_teacher_forcing_by_hand():
    """a_t = b + W y_{t-1} + U x_t with y_0 = 0 (index -1) and y_1 = one-hot(1)."""
    model = _set(nn.JordanRNN(1, 1, 2), U=[[0.5]], W=[[1.0, -2.0]], V=[[1.0], [3.0]], b=[0.2], c=[0.0, 0.1])
    x = np.array([[[1.0]], [[-1.0]]])
    o, h = model(x, y_prev=np.array([[-1], [1]]))
    h1 = math.tanh(0.2 + 0.5)
    h2 = math.tanh(0.2 - 2.0 - 0.5)
    np.testing.assert_allclose(h.data.ravel(), [h1, h2], rtol=1e-14)
    np.testing.assert_allclose(o.data[:, 0], [[h1, 0.1 + 3 * h1], [h2, 0.1 + 3 * h2]], rtol=1e-14)


@pytest.mark.parametrize("feedback", ["identity", "softmax"])
def test_jordan_rnn_free_running_equals_teacher_forcing_on_its_own_outputs(feedback):
    rng = np.random.default_rng(1)
    model = nn.JordanRNN(2, 3, 2, feedback=feedback, rng=rng)
    x = rng.standard_normal((5, 4, 2))
    o_free, h_free = model(x)
    fed = o_free.data if feedback == "identity" else minigrad.functional.softmax(o_free, axis=-1).data
    y_prev = np.concatenate([np.zeros((1, 4, 2)), fed[:-1]])
    o_forced, h_forced = model(x, y_prev=y_prev)
    np.testing.assert_allclose(o_forced.data, o_free.data, rtol=1e-12)
    np.testing.assert_allclose(h_forced.data, h_free.data, rtol=1e-12)


def test_jordan_rnn_gradcheck_in_both_modes_and_bad_targets():
    rng = np.random.default_rng(2)
    model = nn.JordanRNN(2, 2, 3, feedback="softmax", rng=rng)
    x = minigrad.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    y_prev = np.array([[-1, -1], [0, 2], [1, 1]])
    assert minigrad.gradcheck(lambda x, *p: model(x, y_prev)[0], x, *model.parameters())
    assert minigrad.gradcheck(lambda x, *p: model(x)[0], x, *model.parameters())
    with pytest.raises(ValueError, match=r"class indices in y_prev must lie in \[-1, 3\)"):
        model(x, np.array([[3, 0], [0, 0], [0, 0]]))
    with pytest.raises(ValueError, match=r"y_prev must have shape \(T, B, output_size\)"):
        model(x, np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="feedback must be"):
        nn.JordanRNN(1, 1, 1, feedback="argmax")


def test_summary_rnn_is_pattern_a_read_at_the_last_step():
    rng = np.random.default_rng(3)
    elman = nn.ElmanRNN(2, 3, 2, rng=rng)
    summary = nn.SummaryRNN(2, 3, 2)
    summary.load_state_dict(elman.state_dict())
    x = minigrad.Tensor(rng.standard_normal((5, 4, 2)), requires_grad=True)
    out = summary(x)
    assert out.shape == (4, 2)
    np.testing.assert_allclose(out.data, elman(x)[0].data[-1], rtol=1e-14)
    assert minigrad.gradcheck(lambda x, *p: summary(x), x, *summary.parameters())


@pytest.mark.parametrize("feedback", ["softmax", "identity"])
def test_scheduled_sampling_spans_teacher_forcing_and_the_free_run(feedback):
    rng = np.random.default_rng(4)
    model = nn.JordanRNN(3, 5, 3, feedback=feedback, rng=rng)
    x = rng.normal(size=(6, 4, 3))
    y_prev = np.concatenate([np.full((1, 4), -1), rng.integers(0, 3, size=(5, 4))])
    forced, _ = model(x, y_prev)
    free, _ = model(x)
    never, _ = model.forward_scheduled(x, y_prev, 0.0, np.random.default_rng(0))
    always, _ = model.forward_scheduled(x, y_prev, 1.0, np.random.default_rng(0))
    np.testing.assert_allclose(never.data, forced.data, atol=1e-12)
    np.testing.assert_allclose(always.data, free.data, atol=1e-12)
    # half the time: each sequence's step uses one or the other, decided per sequence
    mixed, _ = model.forward_scheduled(x, y_prev, 0.5, np.random.default_rng(1))
    differs_from_forced = ~np.isclose(mixed.data, forced.data).all(axis=-1)
    assert differs_from_forced[0].sum() == 0 and 0 < differs_from_forced.mean() < 1


def test_scheduled_sampling_sends_no_gradient_through_the_fed_back_output():
    rng = np.random.default_rng(5)
    model = nn.JordanRNN(2, 3, 2, feedback="softmax", rng=rng)
    x = minigrad.tensor(rng.normal(size=(3, 1, 2)), requires_grad=True)
    o, _ = model.forward_scheduled(x, np.array([[-1], [0], [1]]), 1.0, rng)
    o[2].sum().backward()
    # only step 3's own input reaches o(3): the path through o(2) fed back is cut
    assert np.abs(x.grad[2]).sum() > 0 and np.all(x.grad[:2] == 0)
    with pytest.raises(ValueError, match="own_prob"):
        model.forward_scheduled(x, np.array([[-1], [0], [1]]), 1.5, rng)
