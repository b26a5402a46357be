"""Sampling, greedy decoding and beam search (minigrad.nn.decoding)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import nn

START, A, B, X, Y, EOS = range(6)


def markov_step(table):
    """A step function whose next-token distribution depends only on the last token (no state)."""
    logits = np.log(np.asarray(table) + 1e-300)

    def step(tokens, state):
        return logits[tokens], state

    return step


def trap_table():
    """Greedy takes A (0.6), but A's continuations are spread out: A X EOS has 0.3, B X EOS has 0.4."""
    table = np.zeros((6, 6))
    table[START, [A, B]] = [0.6, 0.4]
    table[A, [X, Y]] = [0.5, 0.5]
    table[B, X] = 1.0
    table[X, EOS] = table[Y, EOS] = table[EOS, EOS] = 1.0
    return table


def test_greedy_misses_the_most_probable_sequence_and_beam_search_finds_it():
    step = markov_step(trap_table())
    tokens, log_prob = nn.greedy_decode(step, START, max_length=5, eos_token=EOS)
    assert tokens == [A, X, EOS] and log_prob == pytest.approx(math.log(0.3))
    best = nn.beam_search(step, START, beam_width=2, max_length=5, eos_token=EOS)
    assert best[0][0] == [B, X, EOS] and best[0][1] == pytest.approx(math.log(0.4))
    assert [seq for seq, _ in best] == [[B, X, EOS], [A, X, EOS]]


def test_beam_width_one_is_greedy():
    step = markov_step(trap_table())
    ((tokens, log_prob),) = nn.beam_search(step, START, beam_width=1, max_length=5, eos_token=EOS)
    greedy_tokens, greedy_log_prob = nn.greedy_decode(step, START, 5, eos_token=EOS)
    assert tokens == greedy_tokens and log_prob == pytest.approx(greedy_log_prob)


def test_length_normalisation_prefers_longer_sequences():
    """Stopping at once has probability 0.5, the best of all; but A A A ... has a per-token
    log-probability near log 0.9 > log 0.5, so with length_penalty = 1 the long sequence wins."""
    table = np.zeros((6, 6))
    table[START, [EOS, A]] = [0.5, 0.5]
    table[A, [A, EOS]] = [0.9, 0.1]
    table[EOS, EOS] = 1.0
    step = markov_step(table)
    plain = nn.beam_search(step, START, beam_width=3, max_length=6, eos_token=EOS)
    assert plain[0][0] == [EOS]
    normalised = nn.beam_search(step, START, beam_width=3, max_length=6, eos_token=EOS, length_penalty=1.0)
    assert len(normalised[0][0]) > 1
    score = lambda pair: pair[1] / len(pair[0])  # noqa: E731
    assert score(normalised[0]) >= max(score(pair) for pair in normalised)


def test_sample_frequencies_temperature_and_top_k():
    table = np.zeros((6, 6))
    table[START, [A, B, X]] = [0.5, 0.3, 0.2]
    step = markov_step(table)
    draws = nn.sample(step, START, max_length=1, rng=np.random.default_rng(0), num_samples=5000)
    first = np.array([tokens[0] for tokens, _ in draws])
    np.testing.assert_allclose(np.bincount(first, minlength=6)[[A, B, X]] / 5000, [0.5, 0.3, 0.2], atol=0.03)
    for tokens, log_prob in draws[:20]:
        assert log_prob == pytest.approx(math.log(table[START, tokens[0]]))
    cold = nn.sample(step, START, 1, np.random.default_rng(1), num_samples=200, temperature=0.05)
    assert all(tokens == [A] for tokens, _ in cold)
    top2 = nn.sample(step, START, 1, np.random.default_rng(2), num_samples=500, top_k=2)
    assert {tokens[0] for tokens, _ in top2} == {A, B}
    hot = nn.sample(step, START, 1, np.random.default_rng(3), num_samples=3000, temperature=20.0)
    counts = np.bincount([tokens[0] for tokens, _ in hot], minlength=6)[[A, B, X]]
    np.testing.assert_allclose(counts / 3000, 1 / 3, atol=0.04)  # flattened: nearly uniform


def test_sample_stops_each_sequence_at_eos():
    step = markov_step(trap_table())
    for tokens, log_prob in nn.sample(step, START, 10, np.random.default_rng(4), num_samples=50, eos_token=EOS):
        assert tokens[-1] == EOS and len(tokens) == 3
        assert log_prob == pytest.approx(math.log(0.3)) or log_prob == pytest.approx(math.log(0.4))


def test_beam_search_with_an_lstm_reorders_its_state_and_reports_true_log_probs():
    """Rescore every returned sequence with the model run over it: the log-probabilities agree."""
    rng = np.random.default_rng(5)
    vocab, hidden = 5, 6
    embed, cell, readout = nn.Embedding(vocab, 4, rng=rng), nn.LSTMCell(4, hidden, rng=rng), nn.Linear(hidden, vocab, rng=rng)

    def step(tokens, state):
        h, c = cell(embed(tokens), state)
        return readout(h), (h, c)

    results = nn.beam_search(step, 0, beam_width=3, max_length=4, eos_token=4)
    assert 1 <= len(results) <= 3
    for tokens, log_prob in results:
        inputs, state, total = [0] + tokens[:-1], None, 0.0
        for previous, token in zip(inputs, tokens):
            logits, state = step(np.array([previous]), state)
            total += F.log_softmax(logits, axis=-1).data[0, token]
        assert log_prob == pytest.approx(total, rel=1e-12)
    scores = [lp for _, lp in results]
    assert scores == sorted(scores, reverse=True)


def test_decoding_records_no_graph_and_checks_arguments():
    cell = nn.RNNCell(2, 2, rng=np.random.default_rng(6))
    seen = []

    def step(tokens, state):
        h = cell(minigrad.ones(len(tokens), 2), state)
        seen.append(h.requires_grad)
        return h, h

    nn.greedy_decode(step, 0, 2)
    assert seen == [False, False]
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        nn.greedy_decode(step, 0, 0)
    with pytest.raises(ValueError, match="beam_width must be >= 1"):
        nn.beam_search(step, 0, 0, 3)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nn.sample(step, 0, 3, np.random.default_rng(0), temperature=0)


# ------------------------------------------------------------- a batch of conditioned decoders
def conditioned_markov_step(tables):
    """A batch of step functions: row b of the batch follows table ``tables[b]``; the state is the row index."""
    logits = np.log(np.asarray(tables) + 1e-300)  # (B, V, V)

    def step(tokens, rows):
        return logits[rows, tokens], rows

    return step


def exhaustive_best(table, max_length):
    """The most probable sequence ending in EOS (or of max_length tokens), by enumeration."""
    best, best_lp = None, -np.inf
    stack = [([], 0.0, START)]
    while stack:
        seq, lp, last = stack.pop()
        for token in range(table.shape[1]):
            p = table[last, token]
            if p == 0:
                continue
            new, new_lp = seq + [token], lp + math.log(p)
            if token == EOS or len(new) == max_length:
                if new_lp > best_lp:
                    best, best_lp = new, new_lp
            else:
                stack.append((new, new_lp, token))
    return best, best_lp


def random_tables(count, rng, vocab=6):
    tables = rng.dirichlet(np.full(vocab, 0.3), size=(count, vocab))
    tables[:, :, START] = 0  # the start token is never produced
    tables /= tables.sum(axis=2, keepdims=True)
    tables[:, EOS] = np.eye(vocab)[EOS]
    return tables


def test_greedy_decode_batch_decodes_each_row_as_greedy_decode_does():
    rng = np.random.default_rng(0)
    tables = random_tables(7, rng)
    tables[0] = trap_table()
    step = conditioned_markov_step(tables)
    decoded = nn.greedy_decode_batch(step, np.arange(7), START, EOS, max_length=6)
    for b, (tokens, log_prob) in enumerate(decoded):
        expected = nn.greedy_decode(markov_step(tables[b]), START, 6, eos_token=EOS)
        assert tokens == expected[0] and log_prob == pytest.approx(expected[1])
    assert decoded[0][0] == [A, X, EOS]


def test_beam_search_batch_finds_the_most_probable_sequence_of_every_row():
    rng = np.random.default_rng(1)
    tables = random_tables(12, rng)
    tables[0] = trap_table()
    step = conditioned_markov_step(tables)
    wide = nn.beam_search_batch(step, np.arange(12), START, EOS, beam_width=6 ** 4, max_length=4)
    for b, hypotheses in enumerate(wide):
        best, best_lp = exhaustive_best(tables[b], 4)
        assert hypotheses[0][0] == best and hypotheses[0][1] == pytest.approx(best_lp)
        assert all(first[1] >= second[1] for first, second in zip(hypotheses, hypotheses[1:]))
    narrow = nn.beam_search_batch(step, np.arange(12), START, EOS, beam_width=2, max_length=5)
    assert narrow[0][0][0] == [B, X, EOS] and narrow[0][0][1] == pytest.approx(math.log(0.4))
    assert [seq for seq, _ in narrow[0]] == [[B, X, EOS], [A, X, EOS]]


def test_beam_search_batch_of_width_one_is_greedy_decode_batch():
    rng = np.random.default_rng(2)
    tables = random_tables(20, rng)
    step = conditioned_markov_step(tables)
    greedy = nn.greedy_decode_batch(step, np.arange(20), START, EOS, max_length=5)
    beams = nn.beam_search_batch(step, np.arange(20), START, EOS, beam_width=1, max_length=5)
    for (tokens, log_prob), ((beam_tokens, beam_log_prob),) in zip(greedy, beams):
        assert beam_tokens == tokens and beam_log_prob == pytest.approx(log_prob)


def test_beam_search_batch_rows_do_not_interact():
    rng = np.random.default_rng(3)
    tables = random_tables(5, rng)
    together = nn.beam_search_batch(conditioned_markov_step(tables), np.arange(5), START, EOS, 3, 5)
    for b in range(5):
        alone = nn.beam_search_batch(conditioned_markov_step(tables[b:b + 1]), np.zeros(1, dtype=int),
                                     START, EOS, 3, 5)
        assert together[b] == alone[0]


def test_beam_search_batch_length_penalty_prefers_longer_sequences():
    table = np.zeros((6, 6))
    table[START, [EOS, A]] = [0.5, 0.5]
    table[A, [A, EOS]] = [0.9, 0.1]
    table[EOS, EOS] = 1.0
    step = conditioned_markov_step(table[None])
    (plain,) = nn.beam_search_batch(step, np.zeros(1, dtype=int), START, EOS, 2, 8)
    (normalised,) = nn.beam_search_batch(step, np.zeros(1, dtype=int), START, EOS, 2, 8, length_penalty=1.0)
    assert plain[0][0] == [EOS]
    assert len(normalised[0][0]) > 2


def test_batch_decoders_reject_bad_arguments():
    step = conditioned_markov_step(trap_table()[None])
    with pytest.raises(ValueError, match="beam_width"):
        nn.beam_search_batch(step, np.zeros(1, dtype=int), START, EOS, 0, 5)
    with pytest.raises(ValueError, match="length_penalty"):
        nn.beam_search_batch(step, np.zeros(1, dtype=int), START, EOS, 2, 5, length_penalty=-1)
    with pytest.raises(ValueError, match="max_length"):
        nn.greedy_decode_batch(step, np.zeros(1, dtype=int), START, EOS, 0)
    with pytest.raises(TypeError, match="batch along axis 0"):
        nn.greedy_decode_batch(step, None, START, EOS, 3)


def test_sampling_distribution_temperature_top_k_and_nucleus():
    probs = np.array([[0.5, 0.3, 0.15, 0.05]])
    logits = np.log(probs)
    np.testing.assert_allclose(nn.sampling_distribution(logits), probs)
    cooled = probs ** 2 / (probs ** 2).sum()  # T = 1/2 squares the probabilities
    np.testing.assert_allclose(nn.sampling_distribution(logits, temperature=0.5), cooled)
    np.testing.assert_allclose(nn.sampling_distribution(logits, top_k=2), [[0.5 / 0.8, 0.3 / 0.8, 0, 0]])
    # the nucleus: the fewest most likely tokens whose mass reaches p
    np.testing.assert_allclose(nn.sampling_distribution(logits, top_p=0.5), [[1, 0, 0, 0]])
    np.testing.assert_allclose(nn.sampling_distribution(logits, top_p=0.51), [[0.5 / 0.8, 0.3 / 0.8, 0, 0]])
    np.testing.assert_allclose(nn.sampling_distribution(logits, top_p=0.9), [[0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]])
    np.testing.assert_allclose(nn.sampling_distribution(logits, top_p=1.0), probs)
    # rows are cut independently, and the nucleus adapts to how sure each row is
    rows = np.log(np.array([[0.9, 0.05, 0.03, 0.02], [0.3, 0.3, 0.2, 0.2]]))
    kept = nn.sampling_distribution(rows, top_p=0.8) > 0
    assert kept.sum(axis=1).tolist() == [1, 3]
    for bad in ({"temperature": 0}, {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            nn.sampling_distribution(logits, **bad)


def test_sample_with_top_p_draws_only_from_the_nucleus():
    table = np.zeros((6, 6))
    table[START, [A, B, X]] = [0.5, 0.3, 0.2]
    draws = nn.sample(markov_step(table), START, 1, np.random.default_rng(7), num_samples=2000, top_p=0.7)
    first = np.array([tokens[0] for tokens, _ in draws])
    assert set(first) == {A, B}
    np.testing.assert_allclose(np.mean(first == A), 0.5 / 0.8, atol=0.03)
    assert draws[0][1] == pytest.approx(math.log(table[START, first[0]]))  # scored by the model itself


def test_prime_feeds_all_but_the_last_token_of_the_prefix():
    rng = np.random.default_rng(8)
    embed, cell, readout = nn.Embedding(5, 3, rng=rng), nn.GRUCell(3, 4, rng=rng), nn.Linear(4, 5, rng=rng)

    def step(tokens, state):
        h = cell(embed(tokens), state)
        return readout(h), h

    state, last = nn.prime(step, [0, 3, 1, 2], copies=3)
    assert last == 2 and state.shape == (3, 4)
    h = None
    for token in (0, 3, 1):
        _, h = step(np.array([token]), h)
    np.testing.assert_allclose(state.data, np.repeat(h.data, 3, axis=0))
    tokens, log_prob = nn.greedy_decode(step, last, 3, state=nn.prime(step, [0, 3, 1, 2])[0])
    assert len(tokens) == 3
    with pytest.raises(ValueError, match="at least one token"):
        nn.prime(step, [])
