"""Networks and measures of chapters 5, 6 and 7 (minigrad.models, minigrad.metrics)."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.gradcheck import gradcheck
from minigrad.metrics import masked_accuracy, perplexity
from minigrad.models import CharLanguageModel, PooledClassifier, RNNTagger, fit_language_model, pool_states


def padded_states(rng, steps=5, batch=3, size=4):
    lengths = np.array([5, 2, 1])[:batch]
    outputs = rng.normal(size=(steps, batch, size))
    for b, n in enumerate(lengths):
        outputs[n:, b] = 50.0  # garbage after the end must never count
    return outputs, lengths


@pytest.mark.parametrize("method", ["last", "mean", "max", "ends"])
def test_pool_states_by_hand_and_ignores_padding(method):
    rng = np.random.default_rng(0)
    outputs, lengths = padded_states(rng)
    got = pool_states(minigrad.tensor(outputs), lengths, method).data
    for b, n in enumerate(lengths):
        real = outputs[:n, b]
        expected = {"last": real[-1], "mean": real.mean(0), "max": real.max(0),
                    "ends": np.concatenate([real[-1, :2], real[0, 2:]])}[method]
        assert got[b] == pytest.approx(expected)


@pytest.mark.parametrize("method", ["last", "mean", "max", "ends"])
def test_pool_states_gradient(method):
    rng = np.random.default_rng(1)
    outputs, lengths = padded_states(rng)
    x = minigrad.tensor(outputs, requires_grad=True)
    assert gradcheck(lambda t: pool_states(t, lengths, method), x)


def test_pool_states_rejects_bad_lengths_and_methods():
    x = minigrad.zeros((4, 2, 3))
    with pytest.raises(ValueError, match="lengths"):
        pool_states(x, np.array([0, 2]), "mean")
    with pytest.raises(ValueError, match="even"):
        pool_states(x, np.array([1, 2]), "ends")
    with pytest.raises(ValueError, match="method"):
        pool_states(x, np.array([1, 2]), "median")


def test_language_model_step_matches_the_whole_sequence_and_padding_is_ignored():
    rng = np.random.default_rng(2)
    for cell in ("rnn", "lstm"):
        model = CharLanguageModel(6, 4, 5, cell=cell, rng=rng)
        tokens = np.array([[0, 3], [2, 1], [5, 0]])
        logits, _ = model(tokens)
        state = None
        for t in range(3):
            step_logits, state = model.step(tokens[t], state)
            assert step_logits.data == pytest.approx(logits.data[t])
        targets = np.array([[3, 1], [5, -1], [0, -1]])
        lengths = np.array([3, 1])
        full = model.loss(tokens, targets, lengths)
        short = model.loss(tokens[:1, 1:], targets[:1, 1:])
        long = model.loss(tokens[:, :1], targets[:, :1])
        assert full.item() == pytest.approx((3 * long.item() + short.item()) / 4)


def test_models_learn_small_tasks():
    rng = np.random.default_rng(3)
    words = rng.integers(0, 5, size=(6, 32))
    tags = (words + np.roll(words, -1, axis=0)) % 3  # needs the next word: bidirectional
    accuracy = {}
    for bidirectional in (False, True):
        tagger = RNNTagger(5, 3, 8, 16, bidirectional=bidirectional, rng=rng)
        opt = optim.Adam(tagger.parameters(), lr=0.05)
        for _ in range(150):
            loss = minigrad.functional.cross_entropy(tagger(words).reshape(-1, 3), tags.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        accuracy[bidirectional] = masked_accuracy(tagger(words), tags)
    assert accuracy[True] > 0.95 > accuracy[False]
    classifier = PooledClassifier(5, 2, 4, 8, pooling="ends", rng=rng)
    assert classifier(words, np.full(32, 6)).shape == (32, 2)
    with pytest.raises(ValueError, match="pooling"):
        PooledClassifier(5, 2, 4, 8, pooling="median")
    with pytest.raises(ValueError, match="bidirectional"):
        PooledClassifier(5, 2, 4, 8, pooling="ends", bidirectional=False)


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_pooled_classifier_pools_both_directions_when_asked(pooling):
    rng = np.random.default_rng(8)
    classifier = PooledClassifier(5, 2, 4, 8, pooling=pooling, rng=rng, bidirectional=True)
    assert classifier.rnn.bidirectional and classifier.output.in_features == 16
    words, lengths = rng.integers(0, 5, size=(6, 3)), np.array([6, 2, 4])
    with minigrad.no_grad():
        states, _ = classifier.rnn(classifier.embedding(words), lengths=lengths)
        expected = classifier.output(pool_states(states, lengths, pooling)).data
        np.testing.assert_allclose(classifier(words, lengths).data, expected, atol=1e-12)
    assert not PooledClassifier(5, 2, 4, 8, pooling=pooling, rng=rng).rnn.bidirectional


def test_perplexity_pools_tokens_and_accuracy_masks_padding():
    assert perplexity([2.0, 4.0], [1, 3]) == pytest.approx(math.exp(6.0 / 4))
    assert perplexity(np.log([2.0, 8.0])) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="count"):
        perplexity([1.0, 2.0], [1])
    logits = np.array([[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]])  # (T=2, B=2, C=2)
    targets = np.array([[1, 1], [0, -1]])
    assert masked_accuracy(logits, targets) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="padding"):
        masked_accuracy(logits, np.full((2, 2), -1))


def test_language_model_step_state_is_batch_first_for_beam_search():
    rng = np.random.default_rng(5)
    model = CharLanguageModel(5, 3, 4, cell="lstm", num_layers=2, rng=rng)
    logits, (h, c) = model.step(np.array([0, 1, 2]))
    assert logits.shape == (3, 5) and h.shape == (3, 2, 4) and c.shape == (3, 2, 4)
    beams = nn.beam_search(model.step, 0, beam_width=3, max_length=4, eos_token=0)
    greedy = nn.greedy_decode(model.step, 0, max_length=4, eos_token=0)
    assert beams[0][1] >= greedy[1] - 1e-12
    for tokens, log_prob in beams:  # each beam's score is its log-probability under the model
        state, total, previous = None, 0.0, 0
        for token in tokens:
            step_logits, state = model.step(np.array([previous]), state)
            total += minigrad.functional.log_softmax(step_logits).data[0, token]
            previous = token
        assert log_prob == pytest.approx(total)


def test_tree_classifier_scores_every_node_with_one_output_layer():
    from minigrad.models import TreeClassifier

    rng = np.random.default_rng(5)
    model = TreeClassifier(nn.TreeLSTM(6, 3, 4, n_ary=2, rng=rng), 5, rng=rng)
    trees = [nn.Tree.from_nested(((1, 2), 3)), nn.Tree.from_nested((4, 5))]
    roots, nodes = model(trees)
    _, states = model.encoder(trees)
    expected = states.data @ model.output.weight.data.T + model.output.bias.data
    assert roots.shape == (2, 5) and nodes.shape == (8, 5)
    np.testing.assert_allclose(nodes.data, expected, rtol=1e-12)
    np.testing.assert_allclose(roots.data, expected[[4, 7]], rtol=1e-12)
    assert gradcheck(lambda *p: model(trees)[1], *model.parameters())


def test_pool_states_rejects_empty_or_too_long_sequences_by_name():
    outputs = minigrad.zeros(4, 2, 3)
    with pytest.raises(ValueError, match=r"pool_states: lengths must lie in \[1, 4\], got \[0, 2\]"):
        pool_states(outputs, np.array([0, 2]), "mean")
    with pytest.raises(ValueError, match="pool_states: lengths must be 2 integers"):
        pool_states(outputs, np.array([1.0, 2.0]), "mean")


@pytest.mark.parametrize("cell,bidirectional,attention", [("gru", True, False), ("lstm", False, False),
                                                            ("rnn", True, False), ("gru", True, True),
                                                            ("lstm", False, True)])
def test_encoder_decoder_steps_reproduce_the_teacher_forced_logits(cell, bidirectional, attention):
    from minigrad.models import EncoderDecoder

    rng = np.random.default_rng(6)
    model = EncoderDecoder(7, 5, 3, 4, cell=cell, bidirectional=bidirectional, attention=attention, rng=rng)
    source = np.array([[1, 2, 3], [4, 5, 0], [6, 0, 0]])  # (S=3, B=3), padded with 0
    source_lengths = np.array([3, 2, 1])
    decoder_inputs = np.array([[0, 0, 0], [2, 3, 4], [1, 1, 2]])
    with minigrad.no_grad():
        forced = model(source, source_lengths, decoder_inputs).data
        state = model.start(source, source_lengths)
        for t in range(3):
            logits, state = model.step(decoder_inputs[t], state)
            np.testing.assert_allclose(logits.data, forced[t], atol=1e-12)
    # padding in the source changes nothing: the third sequence alone gives the same logits
    with minigrad.no_grad():
        alone = model(source[:1, 2:], source_lengths[2:], decoder_inputs[:, 2:]).data
    np.testing.assert_allclose(alone[:, 0], forced[:, 2], atol=1e-12)
    if attention:  # because padding gets no attention weight
        weights = model.attention_weights(source, source_lengths, decoder_inputs)
        assert weights.shape == (3, 3, 3)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
        assert (weights[1, :, 2:] == 0).all() and (weights[2, :, 1:] == 0).all()


def test_encoder_decoder_context_reaches_every_decoder_step_and_training_lowers_the_loss():
    from minigrad.models import EncoderDecoder
    from minigrad.training import fit

    rng = np.random.default_rng(7)
    model = EncoderDecoder(4, 4, 4, 8, rng=rng)
    source = rng.integers(1, 4, size=(3, 16))  # copy three tokens: target = source, then 0 (end)
    targets = np.concatenate([source, np.zeros((1, 16), dtype=int)])
    inputs = np.concatenate([np.zeros((1, 16), dtype=int), source])
    lengths = np.full(16, 3)
    history = fit(lambda _: model.loss(source, lengths, inputs, targets), model, range(150), lr=0.05)
    assert history.losses[-1] < 0.2 * history.losses[0]
    source_grads = model.source_embedding.weight.grad
    assert source_grads is not None and np.abs(source_grads).sum() > 0
    with minigrad.no_grad():
        decoded = nn.greedy_decode_batch(model.step, model.start(source, lengths), 0, 0, max_length=6)
    assert np.mean([tokens == list(source[:, b]) + [0] for b, (tokens, _) in enumerate(decoded)]) > 0.9


def test_token_log_probs_score_each_token_as_the_loss_does_in_any_batching():
    rng = np.random.default_rng(11)
    model = CharLanguageModel(6, 4, 5, cell="gru", rng=rng)
    sequences = [np.append(rng.integers(1, 6, size=n), 0) for n in (1, 7, 3, 12)]
    log_probs = model.token_log_probs(sequences, start_token=0)
    assert log_probs.shape == (sum(map(len, sequences)),)
    np.testing.assert_allclose(model.token_log_probs(sequences, 0, batch_size=3, window=4), log_probs)
    inputs, targets, lengths = minigrad.data.sequence_batch(sequences, 0)
    with minigrad.no_grad():
        assert -log_probs.mean() == pytest.approx(model.loss(inputs, targets, lengths).item())
    first = sequences[1]  # by hand: feed the start token, then each token in turn
    state, total = None, 0.0
    with minigrad.no_grad():
        for previous, token in zip(np.insert(first[:-1], 0, 0), first):
            logits, state = model.step(np.array([previous]), state)
            total += minigrad.functional.log_softmax(logits, axis=-1).data[0, token]
    assert log_probs[2:2 + len(first)].sum() == pytest.approx(total)
    assert model.training  # left as it was


def test_fit_language_model_stops_early_and_keeps_the_best_epoch():
    rng = np.random.default_rng(12)
    words = [np.array([1, 2, 3, 0]), np.array([2, 3, 0]), np.array([3, 1, 0])] * 20
    model = CharLanguageModel(4, 4, 8, rng=rng, dtype=np.float32)
    assert model.embedding.weight.dtype == np.float32
    history = fit_language_model(model, words, words[:6], 0, rng, lr=0.05, batch_size=10, max_epochs=30,
                                 patience=2)
    values = [value for _, value in history.evaluations]
    assert history.best_value == min(values) < values[0]
    assert -model.token_log_probs(words[:6], 0).mean() == pytest.approx(history.best_value, rel=1e-6)
    assert history.stopped_early or len(values) == 30
    assert all(step % 6 == 0 for step, _ in history.evaluations)  # once per epoch of 6 batches


def test_encoder_decoder_attention_adds_only_its_parameters_and_its_gradients_check():
    from minigrad.models import EncoderDecoder

    plain = EncoderDecoder(5, 4, 3, 4, bidirectional=False, rng=np.random.default_rng(0))
    attended = EncoderDecoder(5, 4, 3, 4, bidirectional=False, attention=True, rng=np.random.default_rng(0))
    names = dict(attended.named_parameters())
    assert set(names) - set(dict(plain.named_parameters())) == {
        "attention.query.weight", "attention.combine.weight", "attention.combine.bias"}
    for name, parameter in plain.named_parameters():  # the same initial weights for the rest
        np.testing.assert_array_equal(parameter.data, names[name].data)
    with pytest.raises(ValueError, match="no attention"):
        plain.attention_weights(np.zeros((2, 1), dtype=int), np.array([2]), np.zeros((2, 1), dtype=int))
    rng = np.random.default_rng(1)
    source, inputs, targets = rng.integers(0, 5, (3, 2)), rng.integers(0, 4, (2, 2)), rng.integers(0, 4, (2, 2))
    assert gradcheck(lambda *p: attended.loss(source, np.array([3, 3]), inputs, targets),
                              attended.encoder.weight_hh_l0, attended.attention.query.weight)


def test_recurrent_readout_takes_a_min_gru_and_its_options():
    from minigrad.models import RecurrentReadout

    x = np.random.default_rng(0).normal(size=(5, 3, 2))
    scan = RecurrentReadout(2, 4, 1, "mingru", rng=np.random.default_rng(1))
    loop = RecurrentReadout(2, 4, 1, "mingru", rng=np.random.default_rng(1), method="loop")
    assert isinstance(scan.rnn, nn.MinGRU) and loop.rnn.method == "loop"
    np.testing.assert_allclose(scan(x).data, loop(x).data, atol=1e-12)
    with pytest.raises(ValueError, match="must be one of"):
        RecurrentReadout(2, 4, 1, "transformer")
