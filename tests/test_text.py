"""Python's documentation as a corpus, and truncated BPTT over a stream (minigrad.text)."""

import numpy as np
import pytest

import minigrad
from minigrad.models import CharLanguageModel
from minigrad.text import (END, python_docs, shared_lines, stream_windows, text_features, truncated_bptt_loss,
                           unit_correlations)
from minigrad.training import fit


@pytest.fixture(scope="module")
def corpus():
    return python_docs()


def test_python_docs_split_by_document_without_shared_passages(corpus):
    names = [set(corpus.train), set(corpus.valid), set(corpus.test)]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    from pydoc_data.topics import topics
    assert set().union(*names) == set(topics)
    sizes = [sum(map(len, split.values())) for split in (corpus.train, corpus.valid, corpus.test)]
    assert sizes[2] >= 0.1 * sum(sizes) and sizes[1] >= 0.1 * sum(sizes) and sizes[0] >= 0.6 * sum(sizes)
    # "if" repeats a passage of "compound": both must sit on the same side
    assert ("if" in corpus.train) == ("compound" in corpus.train)
    assert shared_lines(corpus.test, corpus.train) == 0 and shared_lines(corpus.valid, corpus.train) == 0
    assert shared_lines({"a": "x" * 40 + "\nshort\n"}, {"b": "  " + "x" * 40}) == 1


def test_python_docs_vocabulary_covers_the_text_and_is_deterministic(corpus):
    vocabulary = corpus.vocabulary
    assert vocabulary.symbols[0] == END and len(vocabulary) == 97
    text = "".join(corpus.test.values())
    assert set(text) <= set(vocabulary.symbols[1:])
    assert "\u2019" not in text and "\t" not in text
    assert python_docs().fingerprint == corpus.fingerprint


def test_encode_and_stream_put_an_end_after_every_document(corpus):
    documents = {"a": "ab", "b": "c\n"}
    sequences = corpus.encode(documents)
    assert [corpus.vocabulary.join(s) for s in sequences] == ["ab" + END, "c\n" + END]
    assert corpus.vocabulary.join(corpus.stream(documents)) == END + "ab" + END + "c\n" + END
    assert corpus.vocabulary.join(sequences[0], end=END) == "ab"


def test_stream_windows_continue_each_row_and_shift_targets_by_one():
    stream = np.arange(100)
    windows = stream_windows(stream, batch_size=3, steps=4)
    assert len(windows) == 8 and windows[0].first and not any(w.first for w in windows[1:])
    rows = np.concatenate([w.inputs for w in windows]).T  # (3, 32): each row contiguous
    assert (np.diff(rows, axis=1) == 1).all() and rows[:, 0].tolist() == [0, 32, 64]
    for window in windows:
        assert window.inputs.shape == (4, 3) and (window.targets == window.inputs + 1).all()
    shifted = stream_windows(stream, 3, 4, epochs=2, rng=np.random.default_rng(0))
    assert sum(w.first for w in shifted) == 2
    with pytest.raises(ValueError, match="longer than"):
        stream_windows(np.arange(10), 3, 4)


def test_truncated_bptt_carries_the_state_but_not_the_gradient():
    rng = np.random.default_rng(1)
    model = CharLanguageModel(5, 3, 4, cell="lstm", rng=rng)
    stream = rng.integers(0, 5, size=60)
    windows = stream_windows(stream, 2, 5)
    loss = truncated_bptt_loss(model)
    loss(windows[0])
    second = loss(windows[1])
    # the second window continues from the first window's final state
    whole, _ = model(np.concatenate([windows[0].inputs, windows[1].inputs]))
    expected = minigrad.functional.cross_entropy(whole[5:].reshape(-1, 5), windows[1].targets.reshape(-1))
    assert second.item() == pytest.approx(expected.item())
    second.backward()  # the graph stops at the window's start: no error, finite gradients
    assert all(np.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert loss(windows[0]).item() == pytest.approx(
        minigrad.functional.cross_entropy(model(windows[0].inputs)[0].reshape(-1, 5),
                                          windows[0].targets.reshape(-1)).item())
    history = fit(truncated_bptt_loss(model), model, stream_windows(np.tile(np.arange(5), 40), 2, 8, epochs=20))
    assert history.final_loss < 0.5  # a cycle of five is learnt


def test_text_features_by_hand():
    text = 'ab "c(d" x)\n   (e)\nf'
    features = text_features(text)
    assert features["inside quotes"].tolist() == [0, 0, 0, 1, 1, 1, 1] + [0] * 13
    assert features["inside parentheses"].tolist() == [0] * 5 + [1] * 5 + [0] * 5 + [1, 1, 0, 0, 0]
    assert features["column"].tolist() == list(range(12)) + list(range(7)) + [0]  # a newline ends its line
    assert features["code line"].tolist() == [0] * 12 + [1] * 7 + [0]
    assert all(len(values) == len(text) for values in features.values())


def test_unit_correlations_find_the_unit_that_tracks_a_feature():
    rng = np.random.default_rng(2)
    feature = rng.integers(0, 2, size=500).astype(float)
    states = rng.normal(size=(500, 6))
    states[:, 3] = 0.5 * feature + 0.1 * rng.normal(size=500)
    states[:, 4] = 1.0  # constant: no correlation
    r = unit_correlations(states, feature)
    assert np.argmax(np.abs(r)) == 3 and r[3] > 0.9 and r[4] == 0
    np.testing.assert_allclose(r[0], np.corrcoef(states[:, 0], feature)[0, 1])
    with pytest.raises(ValueError, match="need states"):
        unit_correlations(states, feature[:10])


def test_hidden_states_follow_the_layer_in_windows():
    rng = np.random.default_rng(3)
    model = CharLanguageModel(5, 3, 4, cell="lstm", rng=rng)
    tokens = rng.integers(0, 5, size=9)
    states = model.hidden_states(tokens, start_token=0, window=4)
    hidden, _ = model.rnn(model.embedding(np.concatenate([[0], tokens])[:, None]))
    assert states.shape == (9, 4)
    np.testing.assert_allclose(states, hidden.data[1:, 0])
