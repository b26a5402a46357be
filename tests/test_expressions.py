"""The nested-expression benchmark of chapter 11 (minigrad.expressions): equal supervision, losses, training."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import expressions, nn
from minigrad import functional as F
from minigrad.data import EXPRESSION_VOCABULARY, expression_trees
from minigrad.models import RNNTagger, TreeClassifier

VOCAB = len(EXPRESSION_VOCABULARY)


@pytest.fixture(scope="module")
def data():
    return expression_trees(12, [1, 2, 3], np.random.default_rng(0))


def test_tree_and_sequence_models_get_the_same_labels(data):
    for tree, values in zip(data.trees, data.token_values):
        node_labels = sorted(n.label for n in tree.nodes() if n.label >= 0)
        assert node_labels == sorted(v for v in values if v >= 0)


def test_batch_loss_of_a_tree_model_is_the_mean_over_labelled_nodes(data):
    model = TreeClassifier(nn.TreeRNN(VOCAB, 4, rng=np.random.default_rng(1)), 10, rng=np.random.default_rng(2))
    rows = [3, 0, 5]
    losses = []
    for i in rows:
        _, scores = model([data.trees[i]])
        labels = np.array([n.label for n in data.trees[i].nodes()])
        losses.append(F.cross_entropy(scores, labels, reduction="none", ignore_index=-1).data[labels >= 0])
    assert expressions.batch_loss(model, data, rows).item() == pytest.approx(np.concatenate(losses).mean(), rel=1e-12)


def test_batch_loss_of_a_sequence_model_ignores_padding_and_unlabelled_tokens(data):
    model = RNNTagger(VOCAB, 10, 3, 4, cell="lstm", rng=np.random.default_rng(3))
    rows = [1, 2]
    losses = []
    for i in rows:
        scores = model(data.tokens[i][:, None]).data[:, 0]
        values = data.token_values[i]
        labelled = values >= 0
        log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        losses.extend(-log_p[labelled, values[labelled]])
    assert expressions.batch_loss(model, data, rows).item() == pytest.approx(np.mean(losses), rel=1e-10)


def test_predict_reads_the_root_or_the_last_token(data):
    tree_model = TreeClassifier(nn.TreeLSTM(VOCAB, 3, 4, n_ary=2, rng=np.random.default_rng(4)), 10,
                                rng=np.random.default_rng(5))
    roots, _ = tree_model(data.trees)
    np.testing.assert_array_equal(expressions.predict(tree_model, data, chunk=5), roots.data.argmax(axis=1))
    sequence_model = RNNTagger(VOCAB, 10, 3, 4, cell="lstm", rng=np.random.default_rng(6))
    last = [sequence_model(t[:, None]).data[-1, 0].argmax() for t in data.tokens]
    np.testing.assert_array_equal(expressions.predict(sequence_model, data, chunk=5), last)
    accuracy = expressions.accuracy_by_depth(sequence_model, {2: data})
    assert accuracy[2] == pytest.approx(np.mean(np.array(last) == data.values))


def test_length_batches_cover_every_expression_once_in_order_of_length(data):
    batches = expressions.length_batches(data, 5)
    assert [len(b) for b in batches] == [5, 5, 2]
    assert sorted(np.concatenate(batches)) == list(range(12))
    lengths = [len(data.tokens[i]) for i in np.concatenate(batches)]
    assert lengths == sorted(lengths)


def test_train_lowers_the_validation_loss_and_keeps_the_best_parameters(data):
    model = TreeClassifier(nn.TreeRNN(VOCAB, 8, rng=np.random.default_rng(7)), 10, rng=np.random.default_rng(8))
    validation = expression_trees(10, [1, 2], np.random.default_rng(9))
    everything = np.arange(10)
    before = expressions.batch_loss(model, validation, everything).item()
    history = expressions.train(model, data, validation, np.random.default_rng(10), epochs=6, batch_size=4,
                                lr=0.03, patience=None)
    with minigrad.no_grad():
        after = expressions.batch_loss(model, validation, everything).item()
    assert len(history.evaluations) == 6 and history.best_value < before
    assert after == pytest.approx(history.best_value, rel=1e-12)


def test_draw_build_and_the_two_diagnostics():
    train, validation, tests = expressions.draw(np.random.default_rng(11), {"train": 30, "validation": 5, "test": 4},
                                                [1, 2], [1, 3])
    assert (len(train.trees), len(validation.trees)) == (30, 5) and sorted(tests) == [1, 3]
    assert set(tests[3].depths) == {3}
    overlap = expressions.overlap(train, {1: train, 3: tests[3]})
    assert overlap[1] == 1.0 and 0.0 <= overlap[3] <= 1.0
    for name in expressions.MODELS:
        model = expressions.build(name, np.random.default_rng(12), hidden=4)
        assert expressions.predict(model, tests[3]).shape == (4,)
    tree_model = expressions.build("TreeRNN", np.random.default_rng(13), hidden=4)
    by_height = expressions.node_accuracy_by_height(tree_model, tests[3])
    assert min(by_height) == 0 and max(by_height) >= 6 and all(0 <= a <= 1 for a in by_height.values())
    with pytest.raises(ValueError, match="unknown model 'GRU'"):
        expressions.build("GRU", np.random.default_rng(0))
