"""The nested-expression benchmark of chapter 11: tree networks and a sequence model on the same labels.

:func:`minigrad.data.expression_trees` draws expressions such as ``((3 max 5) min 4)`` with the
value of every sub-expression. A tree model (:class:`~minigrad.models.TreeClassifier`) reads the
binary parse and is scored at every node that has a value; a sequence model
(:class:`~minigrad.models.RNNTagger`) reads the parenthesised tokens left to right and is scored at
every token where a sub-expression ends (a digit or a closing parenthesis), with the value of that
sub-expression. Both therefore get exactly the same supervision. The answer for a whole expression is
the root's prediction (tree) or the prediction after the last token (sequence).

This module holds the pieces the chapter and ``scripts/tree_depth.py`` share: the data of one run
(:func:`draw`), the models (:func:`build`), the loss of a batch, the predicted values, accuracy by
depth and by node height, and the training run (:func:`train`, built on
:func:`minigrad.training.fit`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.data import EXPRESSION_VOCABULARY, Expressions, expression_trees, pad_sequences
from minigrad.models import RNNTagger, TreeClassifier
from minigrad.nn.module import Module
from minigrad.nn.tree import TreeLSTM, TreeRNN
from minigrad.tensor import Tensor
from minigrad.training import History, fit

__all__ = ["MODELS", "CLASSES", "draw", "build", "batch_loss", "predict", "accuracy_by_depth",
           "node_accuracy_by_height", "overlap", "length_batches", "train"]

PAD = 0
"""The token written after the end of a shorter sequence (its positions carry no label)."""
CLASSES = 10
"""The values of the expressions, 0 to 9."""
MODELS = ("TreeRNN", "Tree-LSTM, child-sum", "Tree-LSTM, N-ary", "sequence LSTM, H = 16", "sequence LSTM, H = 64")
"""The models :func:`build` knows."""


def draw(rng: np.random.Generator, sizes: Mapping[str, int], train_depths, test_depths
         ) -> tuple[Expressions, Expressions, dict[int, Expressions]]:
    """The expressions of one run: training and validation sets over ``train_depths``, one test set per depth.

    Args:
        rng: the data stream.
        sizes: the number of expressions ``"train"``, ``"validation"`` and ``"test"`` (per depth).
        train_depths: the depths of the training and validation expressions.
        test_depths: one test set for each of these depths.

    Returns:
        ``(train, validation, tests)`` with ``tests`` keyed by depth.
    """
    train = expression_trees(sizes["train"], train_depths, rng)
    validation = expression_trees(sizes["validation"], train_depths, rng)
    return train, validation, {d: expression_trees(sizes["test"], [d], rng) for d in test_depths}


def build(name: str, rng: np.random.Generator, hidden: int = 16) -> Module:
    """A fresh model called ``name`` (one of :data:`MODELS`).

    The tree models (``TreeRNN``, the child-sum and the binary N-ary ``TreeLSTM``) use ``hidden``
    units, with embeddings of the same size, and a softmax read-out at every node; the sequence
    models are ``RNNTagger`` LSTMs whose embedding and state sizes are the H in their names.
    """
    vocabulary = len(EXPRESSION_VOCABULARY)
    if name == "TreeRNN":
        return TreeClassifier(TreeRNN(vocabulary, hidden, rng=rng), CLASSES, rng=rng)
    if name in ("Tree-LSTM, child-sum", "Tree-LSTM, N-ary"):
        n_ary = 2 if name.endswith("N-ary") else None
        return TreeClassifier(TreeLSTM(vocabulary, hidden, hidden, n_ary=n_ary, rng=rng), CLASSES, rng=rng)
    if name.startswith("sequence LSTM, H = "):
        size = int(name.rsplit("=", 1)[1])
        return RNNTagger(vocabulary, CLASSES, size, size, cell="lstm", rng=rng)
    raise ValueError(f"build: unknown model {name!r}; choose one of {MODELS} (any H for a sequence LSTM)")


def _is_tree_model(model: Module) -> bool:
    return isinstance(model, TreeClassifier)


def batch_loss(model: Module, data: Expressions, rows) -> Tensor:
    """Mean cross-entropy over the labelled nodes (tree model) or positions (sequence model) of ``rows``.

    .. math:: L = \\frac{1}{|\\mathcal{S}|} \\sum_{j \\in \\mathcal{S}} -\\log \\operatorname{softmax}(c + V h_j)_{y_j}

    with :math:`\\mathcal{S}` the nodes (or tokens) whose sub-expression has a value :math:`y_j`.
    """
    rows = np.asarray(rows)
    if _is_tree_model(model):
        trees = [data.trees[i] for i in rows]
        _, node_scores = model(trees)
        values = np.array([node.label for tree in trees for node in tree.nodes()])
        return F.cross_entropy(node_scores, values, ignore_index=-1)
    tokens, lengths = pad_sequences([data.tokens[i] for i in rows], pad_value=PAD)
    targets, _ = pad_sequences([data.token_values[i] for i in rows], pad_value=-1)
    scores = model(tokens, lengths)
    return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1), ignore_index=-1)


def predict(model: Module, data: Expressions, chunk: int = 200) -> np.ndarray:
    """The predicted value of every whole expression: the root's class, or the class after the last token."""
    predictions = []
    with no_grad():
        for start in range(0, len(data.values), chunk):
            rows = np.arange(start, min(start + chunk, len(data.values)))
            if _is_tree_model(model):
                root_scores, _ = model([data.trees[i] for i in rows])
            else:
                tokens, lengths = pad_sequences([data.tokens[i] for i in rows], pad_value=PAD)
                root_scores = model(tokens, lengths)[lengths - 1, np.arange(len(rows))]
            predictions.append(root_scores.data.argmax(axis=1))
    return np.concatenate(predictions)


def accuracy_by_depth(model: Module, tests: Mapping[int, Expressions]) -> dict[int, float]:
    """The fraction of expressions whose value is predicted exactly, for each test set (keyed by depth)."""
    return {depth: float(np.mean(predict(model, data) == data.values)) for depth, data in tests.items()}


def node_accuracy_by_height(model: TreeClassifier, data: Expressions) -> dict[int, float]:
    """The accuracy of every node that has a value, grouped by the node's height in its tree.

    A node's height is the number of compositions below it; a tree model that applies one exact
    composition should be right at every height, and where it stops being right shows how far its
    compositions carry.
    """
    with no_grad():
        _, scores = model(data.trees)
    nodes = [node for tree in data.trees for node in tree.nodes()]
    labels = np.array([node.label for node in nodes])
    heights = np.array([node.height() for node in nodes])
    right = scores.data.argmax(axis=1) == labels
    return {int(h): float(right[(labels >= 0) & (heights == h)].mean()) for h in np.unique(heights[labels >= 0])}


def overlap(train: Expressions, tests: Mapping[int, Expressions]) -> dict[int, float]:
    """Per test set, the fraction of its expressions that also occur, token for token, in ``train``."""
    seen = {tuple(t) for t in train.tokens}
    return {d: float(np.mean([tuple(t) in seen for t in data.tokens])) for d, data in tests.items()}


def length_batches(data: Expressions, batch_size: int) -> list[np.ndarray]:
    """Index batches of expressions of similar length (bucketing), shortest first.

    Padding (sequence models) and the number of levels (tree models) of a batch are set by its
    longest member, so grouping by length saves work; shuffle the batches, not their members.
    """
    order = np.argsort([len(t) for t in data.tokens], kind="stable")
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def train(model: Module, data: Expressions, validation: Expressions, rng: np.random.Generator, *,
          epochs: int, batch_size: int = 50, lr: float = 0.01, patience: int | None = 10) -> History:
    """Train with Adam on length-bucketed batches, keeping the parameters of the best validation loss.

    The batches are visited in a fresh random order in every epoch; the validation loss
    (:func:`batch_loss` over the whole validation set) is measured after each epoch, training
    stops after ``patience`` epochs without improvement, and the best parameters are restored.

    Args:
        model: a :class:`~minigrad.models.TreeClassifier` or :class:`~minigrad.models.RNNTagger`.
        data: the training expressions.
        validation: held-out expressions for early stopping.
        rng: the generator that orders the batches (the data stream).
        epochs: the largest number of passes over ``data``.
        batch_size: expressions per batch.
        lr: Adam's learning rate.
        patience: epochs without a better validation loss before stopping (``None``: never). The
            validation loss of a tree model falls with spikes for many passes, so keep it long.

    Returns:
        The :class:`~minigrad.training.History`; its ``evaluations`` are the validation losses.
    """
    buckets = length_batches(data, batch_size)
    batches = [buckets[b] for _ in range(epochs) for b in rng.permutation(len(buckets))]
    everything = np.arange(len(validation.values))
    return fit(lambda rows: batch_loss(model, data, rows), model, batches, lr=lr,
               evaluate=lambda: batch_loss(model, validation, everything).item(), every=len(buckets),
               keep_best=True, patience=patience)
