"""The copy task of chapter 14 (minigrad.seq2seq) on chapter 5's encoder–decoder: greedy copies, attention maps, training."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad.seq2seq import copy_accuracy, copy_loss, copy_model, copy_task, greedy_copies, train_copy


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_copies_replay_teacher_forcing_on_their_own_tokens(attention):
    rng = np.random.default_rng(0)
    model = copy_model(attention, rng, vocabulary=5, embedding_dim=4, hidden_size=6)
    source = copy_task(7, 4, rng, 5)
    copies, weights = greedy_copies(model, source)
    assert copies.shape == (4, 7) and copies.min() >= -1 and copies.max() <= 5
    written = copies >= 0  # -1 after a sequence that wrote the end token, 5
    decoder_inputs = np.concatenate([np.full((1, 7), 5), np.maximum(copies[:-1], 0)])
    with minigrad.no_grad():
        logits = model(source, np.full(7, 4), decoder_inputs).data
    np.testing.assert_array_equal(logits.argmax(axis=-1)[written], copies[written])
    if attention:
        assert weights.shape == (7, 4, 4)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    else:
        assert weights is None


def test_copy_task_and_accuracy():
    rng = np.random.default_rng(2)
    source = copy_task(50, 6, rng, 3)
    assert source.shape == (6, 50) and set(np.unique(source)) <= {0, 1, 2}
    with pytest.raises(ValueError):
        copy_task(5, 0, rng)
    model = copy_model(False, rng, vocabulary=3, embedding_dim=4, hidden_size=5)
    token, sequence = copy_accuracy(model, source)
    assert 0.0 <= sequence <= token <= 1.0
    assert copy_loss(model, source).item() > 0


def test_training_with_attention_learns_to_copy_short_sequences():
    model, history, test = train_copy(4, seed=0, attention=True, steps=150, lr=0.03, test_size=200, every=50)
    assert [step for step, _ in history.evaluations] == [50, 100, 150]
    token, _ = copy_accuracy(model, test)
    assert token > 0.9, token  # chance is 1/8
    assert history.evaluations[-1][1] == pytest.approx(1 - token)
    copies, weights = greedy_copies(model, test[:, :50])
    assert (weights.argmax(axis=-1) == np.arange(4)).mean() > 0.8  # it looks at the token it copies
