"""The encoder–decoder of chapter 14 (minigrad.seq2seq): teacher forcing, greedy decoding, training."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import gradcheck
from minigrad.seq2seq import Seq2Seq, copy_accuracy, copy_task, train_copy


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_decoding_replays_teacher_forcing_on_its_own_tokens(attention):
    rng = np.random.default_rng(0)
    model = Seq2Seq(5, 4, 6, attention=attention, rng=rng)
    source = copy_task(7, 4, rng, 5)
    tokens, weights = model.generate(source, 3)
    logits, forced_weights = model(source, tokens)  # feeding its own tokens back reproduces them
    np.testing.assert_array_equal(logits.data.argmax(axis=-1), tokens)
    if attention:
        assert weights.shape == (7, 3, 4)
        np.testing.assert_allclose(weights, forced_weights.data, rtol=1e-10)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    else:
        assert weights is None and forced_weights is None


def test_attention_adds_only_the_attention_parameters():
    plain = dict(Seq2Seq(5, 4, 6, rng=np.random.default_rng(0)).named_parameters())
    attended = dict(Seq2Seq(5, 4, 6, attention=True, rng=np.random.default_rng(0)).named_parameters())
    assert set(attended) - set(plain) == {"attention.query.weight", "attention.combine.weight",
                                          "attention.combine.bias"}


def test_loss_gradient_reaches_the_encoder():
    rng = np.random.default_rng(1)
    model = Seq2Seq(4, 3, 3, attention=True, rng=rng)
    source = copy_task(2, 3, rng, 4)
    params = [model.encoder.weight_hh_l0, model.attention.query.weight]
    assert gradcheck(lambda *p: model.loss(source, source), *params)


def test_copy_task_and_accuracy():
    rng = np.random.default_rng(2)
    source = copy_task(50, 6, rng, 3)
    assert source.shape == (6, 50) and set(np.unique(source)) <= {0, 1, 2}
    with pytest.raises(ValueError):
        copy_task(5, 0, rng)
    model = Seq2Seq(3, 4, 5, rng=rng)
    token, sequence = copy_accuracy(model, source)
    assert 0.0 <= sequence <= token <= 1.0


def test_training_with_attention_learns_to_copy_short_sequences():
    model, history, test = train_copy(4, seed=0, attention=True, steps=150, lr=0.03, test_size=200, every=50)
    assert [step for step, _ in history.evaluations] == [50, 100, 150]
    token, _ = copy_accuracy(model, test)
    assert token > 0.9, token  # chance is 1/8
    assert history.evaluations[-1][1] == pytest.approx(1 - token)
