"""The position scorers of chapter 1 (minigrad.scorers): what each score may depend on."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.scorers import ConvScorer, RecurrentScorer, WindowMLP

VOCAB, STEPS, BATCH = 7, 9, 3


def _tokens(seed=0):
    return np.random.default_rng(seed).integers(1, VOCAB, size=(STEPS, BATCH))


def _scores(model, tokens):
    with minigrad.no_grad():
        return model(tokens).data


def _changed_positions(model, position):
    """The positions whose score changes when the token at ``position`` changes."""
    tokens = _tokens()
    other = tokens.copy()
    other[position] = (other[position] % (VOCAB - 1)) + 1  # another non-pad token
    return set(np.flatnonzero(np.any(_scores(model, tokens) != _scores(model, other), axis=0)))


def test_shapes_and_parameter_counts():
    rng = np.random.default_rng(0)
    window = WindowMLP(VOCAB, STEPS, 4, rng=rng)
    conv, rnn = ConvScorer(VOCAB, 3, 4, rng=rng), RecurrentScorer(VOCAB, 4, rng=rng)
    for model in (window, conv, rnn):
        assert _scores(model, _tokens()).shape == (BATCH, STEPS)
    count = lambda m: sum(p.data.size for p in m.parameters())  # noqa: E731
    assert count(window) == STEPS * VOCAB * 4 + 4 + 4 * STEPS + STEPS  # grows with the window
    assert count(conv) == 3 * VOCAB * 4 + 4 + 4 + 1
    assert count(rnn) == 4 * VOCAB + 4 * 4 + 4 + 4 + 1
    assert rnn.states(_tokens()).shape == (STEPS, BATCH, 4)


def test_what_each_score_depends_on():
    rng = np.random.default_rng(1)
    assert _changed_positions(WindowMLP(VOCAB, STEPS, 4, rng=rng), 2) == set(range(STEPS))
    assert _changed_positions(ConvScorer(VOCAB, 1, 4, rng=rng), 4) == {4}
    assert _changed_positions(ConvScorer(VOCAB, 3, 4, rng=rng), 4) == {3, 4, 5}
    assert _changed_positions(ConvScorer(VOCAB, 5, 4, rng=rng), 0) == {0, 1, 2}
    assert _changed_positions(RecurrentScorer(VOCAB, 4, rng=rng), 4) == set(range(4, STEPS))


def test_shared_models_read_any_length_and_the_window_does_not():
    rng = np.random.default_rng(2)
    longer = np.random.default_rng(3).integers(1, VOCAB, size=(STEPS + 4, BATCH))
    assert _scores(ConvScorer(VOCAB, 3, 4, rng=rng), longer).shape == (BATCH, STEPS + 4)
    assert _scores(RecurrentScorer(VOCAB, 4, rng=rng), longer).shape == (BATCH, STEPS + 4)
    with pytest.raises(ValueError, match="exactly T = 9"):
        WindowMLP(VOCAB, STEPS, 4, rng=rng)(longer)
    with pytest.raises(ValueError, match="odd"):
        ConvScorer(VOCAB, 2, 4, rng=rng)
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        ConvScorer(VOCAB, 3, 4, rng=rng)(np.zeros(5, dtype=np.int64))


def test_gradients_reach_every_parameter_and_match_finite_differences():
    rng = np.random.default_rng(4)
    tokens, targets = _tokens(5), np.array([0, 4, 8])
    for model in (WindowMLP(VOCAB, STEPS, 3, rng=rng), ConvScorer(VOCAB, 3, 3, rng=rng),
                  RecurrentScorer(VOCAB, 3, rng=rng)):
        loss = minigrad.functional.cross_entropy(model(tokens), targets)
        loss.backward()
        for parameter in model.parameters():
            flat = parameter.data.reshape(-1)
            i = int(np.argmax(np.abs(parameter.grad.reshape(-1))))
            saved, eps = flat[i], 1e-6
            losses = []
            for value in (saved + eps, saved - eps):
                flat[i] = value
                losses.append(_loss_without_graph(model, tokens, targets))
            flat[i] = saved
            finite_difference = (losses[0] - losses[1]) / (2 * eps)
            assert parameter.grad.reshape(-1)[i] == pytest.approx(finite_difference, rel=1e-6)


def _loss_without_graph(model, tokens, targets):
    with minigrad.no_grad():
        return minigrad.functional.cross_entropy(model(tokens), targets).item()
