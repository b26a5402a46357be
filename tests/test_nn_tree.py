"""Tree, TreeRNN and TreeLSTM (minigrad.nn.tree), against numpy recursions written from the equations."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import Tree


def sig(a):
    return 1 / (1 + np.exp(-a))


def test_tree_construction_order_and_repr():
    tree = Tree.from_nested(((1, 2), 3))
    assert [n.token for n in tree.nodes()] == [1, 2, None, 3, None]
    assert len(tree) == 5 and tree.height() == 2 and not tree.is_leaf
    assert repr(tree) == "Tree(((1 2) 3))"
    labelled = Tree(token=4, children=[Tree(5)], label=1)
    assert repr(labelled) == "Tree((4: 5))" and labelled.label == 1
    with pytest.raises(ValueError, match="a leaf needs a token id"):
        Tree()
    with pytest.raises(TypeError, match="children must be Trees"):
        Tree(children=[3])


def test_post_order_is_iterative_for_very_deep_trees():
    tree = Tree(0)
    for _ in range(5000):
        tree = Tree(children=[tree, Tree(1)])
    assert len(tree) == 10001 and tree.height() == 5000


def _tree_rnn_by_hand(model, tree):
    """p = tanh(W [c1; c2] + b), recursively; returns node states in post-order."""
    E, W, b = model.embedding.weight.data, model.W.data, model.b.data
    states = []

    def visit(node):
        if node.is_leaf:
            vec = E[node.token]
        else:
            vec = np.tanh(W @ np.concatenate([visit(node.children[0]), visit(node.children[1])]) + b)
        states.append(vec)
        return vec

    visit(tree)
    return np.array(states)


def test_tree_rnn_matches_the_recursion_and_batches_trees_of_different_shapes():
    rng = np.random.default_rng(0)
    model = nn.TreeRNN(6, 3, rng=rng)
    trees = [Tree.from_nested(((1, 2), 3)), Tree.from_nested(4), Tree.from_nested((5, (0, (1, 1))))]
    roots, states = model(trees)
    expected = np.concatenate([_tree_rnn_by_hand(model, t) for t in trees])
    np.testing.assert_allclose(states.data, expected, rtol=1e-13)
    np.testing.assert_allclose(roots.data, expected[[4, 5, 12]], rtol=1e-13)
    single_root, _ = model(trees[0])
    np.testing.assert_allclose(single_root.data[0], expected[4], rtol=1e-13)


def test_tree_rnn_gradcheck_and_binary_requirement():
    rng = np.random.default_rng(1)
    model = nn.TreeRNN(4, 2, rng=rng)
    trees = [Tree.from_nested(((0, 1), (2, 3))), Tree.from_nested((3, 3))]
    assert minigrad.gradcheck(lambda *p: model(trees)[1], *model.parameters())
    with pytest.raises(ValueError, match="exactly 2 children"):
        model(Tree.from_nested((1, 2, 3)))
    with pytest.raises(ValueError, match="got no trees"):
        model([])


def _child_sum_by_hand(model, tree):
    H = model.hidden_size
    E, U, b = model.embedding.weight.data, model.U.data, model.b.data
    W_iou, W_f = model.W_iou.data, model.W_f.data
    hs = []

    def visit(node):
        kids = [visit(child) for child in node.children]
        x = E[node.token] if node.token is not None else np.zeros(E.shape[1])
        ux = U @ x + b
        h_sum = sum((h for h, _ in kids), np.zeros(H))
        iou = ux[:3 * H] + W_iou @ h_sum
        i, o, u = sig(iou[:H]), sig(iou[H:2 * H]), np.tanh(iou[2 * H:])
        c = i * u + sum((sig(ux[3 * H:] + W_f @ h_k) * c_k for h_k, c_k in kids), np.zeros(H))
        h = o * np.tanh(c)
        hs.append(h)
        return h, c

    visit(tree)
    return np.array(hs)


def _n_ary_by_hand(model, tree):
    H, N = model.hidden_size, model.n_ary
    E, U, b, W = model.embedding.weight.data, model.U.data, model.b.data, model.W.data
    hs = []

    def visit(node):
        kids = [visit(child) for child in node.children] or [(np.zeros(H), np.zeros(H))] * N
        x = E[node.token] if node.token is not None else np.zeros(E.shape[1])
        ux = U @ x + b  # rows i, o, u, f; the forget row is shared by the N children
        pre = np.concatenate([ux[:3 * H], np.tile(ux[3 * H:], N)]) + W @ np.concatenate([h for h, _ in kids])
        i, o, u = sig(pre[:H]), sig(pre[H:2 * H]), np.tanh(pre[2 * H:3 * H])
        c = i * u + sum(sig(pre[(3 + k) * H:(4 + k) * H]) * kids[k][1] for k in range(N))
        h = o * np.tanh(c)
        hs.append(h)
        return h, c

    visit(tree)
    return np.array(hs)


def test_child_sum_tree_lstm_matches_the_equations_with_any_number_of_children():
    rng = np.random.default_rng(2)
    model = nn.TreeLSTM(7, 3, 2, rng=rng)
    dependency = Tree(token=1, children=[Tree(2), Tree(token=3, children=[Tree(4), Tree(5), Tree(6)]), Tree(0)])
    trees = [dependency, Tree.from_nested(((1, 2), 3))]
    roots, states = model(trees)
    expected = np.concatenate([_child_sum_by_hand(model, t) for t in trees])
    np.testing.assert_allclose(states.data, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(roots.data, expected[[6, 11]], rtol=1e-12)
    assert minigrad.gradcheck(lambda *p: model(trees)[1], *model.parameters())


def test_binary_tree_lstm_matches_the_equations():
    rng = np.random.default_rng(3)
    model = nn.TreeLSTM(5, 2, 3, n_ary=2, rng=rng)
    trees = [Tree.from_nested(((1, 2), (3, (4, 0)))), Tree.from_nested((2, 2))]
    roots, states = model(trees)
    expected = np.concatenate([_n_ary_by_hand(model, t) for t in trees])
    np.testing.assert_allclose(states.data, expected, rtol=1e-12, atol=1e-15)
    assert roots.shape == (2, 3)
    assert minigrad.gradcheck(lambda *p: model(trees)[1], *model.parameters())
    with pytest.raises(ValueError, match=r"n_ary=2\): every inner node needs exactly 2 children"):
        model(Tree.from_nested((1, 2, 3)))
    assert "n_ary=2" in repr(model) and "child-sum" in repr(nn.TreeLSTM(5, 2, 3))
