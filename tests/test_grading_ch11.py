"""Chapter 11's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading import ch11

from grading_helpers import outcome

QUESTIONS = {q.qid: q for q in ch11.QUESTIONS}


def forward(tokens, children, E, W, b):
    states = np.zeros((len(tokens), E.shape[1]))
    for j, (token, (left, right)) in enumerate(zip(tokens, children)):
        states[j] = E[token] if token >= 0 else np.tanh(W @ np.concatenate([states[left], states[right]]) + b)
    return states


def backward(tokens, children, E, W, b, g, tanh_derivative=True, transpose=True, swap=False, only_root=False,
             left_for_both=False, assign=False, right_first=False):
    """δ for every node and dL/dW, with one step optionally done wrong."""
    states, H = forward(tokens, children, E, W, b), E.shape[1]
    delta, grad_W = np.zeros_like(states), np.zeros_like(W)
    delta[-1] = g
    inner = [j for j in range(len(tokens)) if tokens[j] < 0]
    for j in reversed(inner):
        grad_a = (1 - states[j] ** 2) * delta[j] if tanh_derivative else delta[j]
        left, right = children[j]
        pair = [states[right], states[left]] if right_first else [states[left], states[right]]
        if assign:  # `=` where `+=` belongs: the last node visited overwrites the rest
            grad_W = np.outer(grad_a, np.concatenate(pair))
        elif not only_root or j == inner[-1]:
            grad_W += np.outer(grad_a, np.concatenate(pair))
        halves = (W[:, :H], W[:, H:])[::-1] if swap else (W[:, :H], W[:, H:])
        if left_for_both:
            halves = (W[:, :H], W[:, :H])
        delta[left], delta[right] = ((h.T if transpose else h) @ grad_a for h in halves)
    return delta, grad_W


def test_chapter_11_is_registered_and_cases_are_trees_in_post_order():
    from minigrad.grading.questions import QUESTIONS as ALL

    assert {"11.1", "11.2", "11.3"} <= set(ALL)
    for question in ch11.QUESTIONS:
        for case in list(question.visible) + list(question.hidden(np.random.default_rng(1))):
            tokens = np.array(case["args"][0]["integers"])
            children = np.array(case["args"][1]["integers"])
            inner = tokens < 0
            assert (children[~inner] == -1).all() and (children[inner] < np.flatnonzero(inner)[:, None]).all()
            assert sorted(children[inner].ravel().tolist()) == list(range(len(tokens) - 1))  # one parent each


def test_the_references_agree_with_finite_differences():
    case = ch11.QUESTIONS[1].visible[0]
    refs = ch11.reference_leaf_gradient(case)
    np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-9)
    refs = ch11.reference_weight_gradient(ch11.QUESTIONS[2].visible[0])
    np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-9)


def forward_halves(tokens, children, E, W, b, halves):
    """The forward pass with the left and right child multiplied by the halves of W named in `halves`."""
    H = E.shape[1]
    half = {"L": W[:, :H], "R": W[:, H:]}
    states = np.zeros((len(tokens), H))
    for j, (token, (left, right)) in enumerate(zip(tokens, children)):
        states[j] = E[token] if token >= 0 else np.tanh(half[halves[0]] @ states[left] + half[halves[1]] @ states[right] + b)
    return states


@pytest.mark.parametrize("answer, status, reason", [
    (forward, "passed", "matches minigrad.nn.TreeRNN"),
    (lambda *a: forward(*a)[-1], "failed", "not only the root"),
    (lambda t, c, E, W, b: forward(t, c, E, W, 0 * b), "failed", "differ from minigrad.nn.TreeRNN"),
    (lambda *a: forward_halves(*a, "RL"), "failed", "the children are swapped"),
    (lambda *a: forward_halves(*a, "LL"), "failed", "both children are multiplied by the left half of W"),
    (lambda *a: forward_halves(*a, "RR"), "failed", "both children are multiplied by the right half of W"),
])
def test_forward_pass(answer, status, reason):
    result = outcome("11.1", answer)
    assert result.status == status and reason in result.message


@pytest.mark.parametrize("options, status, reason", [
    ({}, "passed", "matches autograd and finite differences"),
    ({"tanh_derivative": False}, "failed", "leave out the tanh derivative"),
    ({"transpose": False}, "failed", "instead of their transposes"),
    ({"swap": True}, "failed", "right half of W"),
    ({"left_for_both": True}, "failed", "multiply both children by W_L: the right child's weight is W_R"),
])
def test_leaf_gradient(options, status, reason):
    result = outcome("11.2", lambda t, c, E, W, b, g, leaf: backward(t, c, E, W, b, g, **options)[0][int(leaf)])
    assert result.status == status and reason in result.message


@pytest.mark.parametrize("options, status, reason", [
    ({}, "passed", "matches autograd and finite differences"),
    ({"only_root": True}, "failed", "keep only the root's term"),
    ({"tanh_derivative": False}, "failed", "leave out the tanh derivative"),
    ({"assign": True}, "failed", "as `=` instead of `+=` does"),
    ({"right_first": True}, "failed", "stack the children as [h_right; h_left]"),
    ({"swap": True}, "failed", "right half of W"),
    ({"left_for_both": True}, "failed", "multiply both children by W_L"),
])
def test_weight_gradient(options, status, reason):
    result = outcome("11.3", lambda t, c, E, W, b, g: backward(t, c, E, W, b, g, **options)[1])
    assert result.status == status and reason in result.message


def test_the_visible_case_catches_the_k_th_leaf_misreading():
    """Issue 22: with leaf = 1 both readings agreed on the visible tree, and the slip was found only
    when graded. The visible leaf is now node 3, the third leaf."""
    from minigrad.grading import check

    def kth_leaf(tokens, children, E, W, b, g, leaf):
        delta, _ = backward(tokens, children, E, W, b, g)
        return delta[np.flatnonzero(tokens >= 0)[leaf]]

    question = QUESTIONS["11.2"]
    tokens, children, E, W, b, g, leaf = check.case("11.2")
    assert leaf != list(np.flatnonzero(tokens >= 0)).index(leaf)
    from minigrad.grading.registry import score_answer
    from minigrad.grading.wire import probe

    results = [probe(question.kind, kth_leaf, case) for case in question.visible]
    assert score_answer(question, question.visible, {"defined": True, "results": results}).score == 0


# ------------------------------------------------------------------------------ 11.4, a loss at every node
def every_node_gradient(tokens, children, E, W, b, G, passed_down=True, local=True):
    states, H = forward(tokens, children, E, W, b), E.shape[1]
    delta = G.copy() if local else np.zeros_like(G)
    if not local:
        delta[-1] = G[-1]
    grad_W = np.zeros_like(W)
    for j in [j for j in range(len(tokens)) if tokens[j] < 0][::-1]:
        grad_a = (1 - states[j] ** 2) * delta[j]
        left, right = children[j]
        grad_W += np.outer(grad_a, np.concatenate([states[left], states[right]]))
        if passed_down:
            delta[left] += W[:, :H].T @ grad_a
            delta[right] += W[:, H:].T @ grad_a
    return grad_W


def test_the_every_node_reference_agrees_with_finite_differences():
    for case in [*QUESTIONS["11.4"].visible, *QUESTIONS["11.4"].hidden(np.random.default_rng(2))]:
        refs = ch11.reference_every_node_gradient(case)
        np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"local": False}, "keep only the root's loss"),
    ({"passed_down": False}, "use δ_j = G_j only"),
])
def test_11_4_passes_the_derivation_and_names_its_traps(options, words):
    result = outcome("11.4", lambda *args: every_node_gradient(*args, **options), seed=2)
    if words is None:
        assert result.status == "passed" and result.score == 4, result.message
    else:
        assert result.score == 0 and words in result.message, result.message


def test_11_1_names_tanh_on_the_leaves():
    def squashed_leaves(tokens, children, E, W, b):
        states = np.zeros((len(tokens), E.shape[1]))
        for j, (token, (left, right)) in enumerate(zip(tokens, children)):
            states[j] = np.tanh(E[token]) if token >= 0 else np.tanh(
                W @ np.concatenate([states[left], states[right]]) + b)
        return states

    result = outcome("11.1", squashed_leaves)
    assert result.score == 0 and "with no tanh" in result.message
