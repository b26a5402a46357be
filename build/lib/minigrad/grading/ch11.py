"""Chapter 11's graded questions: a recursive network's forward pass and backpropagation through structure.

Every question gives the student a binary tree stored as arrays, its nodes numbered in post-order
(children before parents, the root last): ``tokens`` (n,) holds each leaf's token id and -1 at
inner nodes, ``children`` (n, 2) holds each inner node's left and right child and -1 at leaves.
The weights are the TreeRNN's: embeddings ``E`` (V, H), ``W`` (H, 2H) and ``b`` (H,), with
h_j = tanh(W [h_left; h_right] + b). 11.1 asks for every node's vector; 11.2 for the gradient of
L = g · h_root at one leaf's vector; 11.3 for the gradient of L with respect to the shared W.
References: ``minigrad.nn.TreeRNN`` with the same weights and autograd, and central finite
differences of a numpy forward pass in float64.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "tree_case", "reference_states", "reference_leaf_gradient", "reference_weight_gradient"]

_FINITE_TOL = 1e-6


# ------------------------------------------------------------------------------- cases
def _random_nested(rng: np.random.Generator, leaves: int, vocab: int) -> Any:
    """A random binary tree with ``leaves`` leaves as nested pairs of token ids."""
    if leaves == 1:
        return int(rng.integers(vocab))
    left = int(rng.integers(1, leaves))
    return (_random_nested(rng, left, vocab), _random_nested(rng, leaves - left, vocab))


def _as_arrays(nested: Any) -> tuple[list[int], list[list[int]]]:
    """``tokens`` and ``children`` of a nested tree, nodes numbered in post-order."""
    from minigrad.nn.tree import Tree

    tree = Tree.from_nested(nested)
    number: dict[int, int] = {}
    tokens, children = [], []
    for node in tree.nodes():
        number[id(node)] = len(tokens)
        tokens.append(node.token if node.is_leaf else -1)
        children.append([number[id(child)] for child in node.children] or [-1, -1])
    return tokens, children


def tree_case(label: str, seed: int, leaves: int, vocab: int, hidden: int, question: str) -> dict:
    """One tree and TreeRNN weights as plain data, with the arguments ``question`` needs.

    ``"forward"``: tokens, children, E, W, b; ``"weight"``: and g; ``"leaf"``: and g and the leaf
    (the deepest one) whose gradient is asked.
    """
    rng = np.random.default_rng(seed)
    tokens, children = _as_arrays(_random_nested(rng, leaves, vocab))
    args = [{"integers": tokens}, {"integers": children}, random_array(rng, (vocab, hidden)),
            random_array(rng, (hidden, 2 * hidden), 0.8), random_array(rng, (hidden,), 0.3),
            random_array(rng, (hidden,))]
    if question == "forward":
        args.pop()
    if question == "leaf":
        leaf_nodes = [j for j, t in enumerate(tokens) if t >= 0]
        # the deepest leaf, so that its gradient crosses every level
        args.append({"number": int(max(leaf_nodes, key=lambda j: _depth(children, j)))})
    return {"label": label, "args": args}


def _depth(children: list[list[int]], node: int) -> int:
    """Edges from the root (the last node) down to ``node``."""
    parent = {c: j for j, kids in enumerate(children) for c in kids if c >= 0}
    depth = 0
    while node in parent:
        node, depth = parent[node], depth + 1
    return depth


def _unpack(case: dict) -> dict:
    names = ("tokens", "children", "E", "W", "b", "g", "leaf")
    return dict(zip(names, (build_argument(spec) for spec in case["args"])))


# ------------------------------------------------------------------------------- references
def _numpy_states(a: dict, leaf_vector: tuple[int, np.ndarray] | None = None, W: np.ndarray | None = None) -> np.ndarray:
    """Every node's vector by the recursion, optionally with one leaf's vector or W replaced."""
    W = a["W"] if W is None else W
    states = np.zeros((len(a["tokens"]), a["E"].shape[1]))
    for j, (token, kids) in enumerate(zip(a["tokens"], a["children"])):
        if token >= 0:
            states[j] = a["E"][token]
        else:
            states[j] = np.tanh(W @ np.concatenate([states[kids[0]], states[kids[1]]]) + a["b"])
        if leaf_vector is not None and j == leaf_vector[0]:
            states[j] = leaf_vector[1]
    return states


def _model_run(a: dict) -> tuple[Any, Any, np.ndarray]:
    """A TreeRNN with the case's weights, every leaf given its own embedding row, run on the tree
    and, if the case has a ``g``, differentiated for L = g · h_root.

    Returns the model, the node states (post-order) and each leaf's own token id, so that the
    gradient of that embedding row is the gradient at that leaf.
    """
    from minigrad.nn import Tree, TreeRNN

    tokens, children = a["tokens"], a["children"]
    hidden = a["E"].shape[1]
    leaves = [j for j, t in enumerate(tokens) if t >= 0]
    model = TreeRNN(len(leaves), hidden, rng=np.random.default_rng(0))
    model.load_state_dict({"embedding.weight": a["E"][tokens[leaves]], "W": a["W"], "b": a["b"]})
    own = {j: i for i, j in enumerate(leaves)}
    built: dict[int, Tree] = {}
    for j, kids in enumerate(children):
        built[j] = Tree(own[j]) if tokens[j] >= 0 else Tree(children=[built[kids[0]], built[kids[1]]])
    roots, states = model(built[len(tokens) - 1])
    if "g" in a:
        (roots[0] * a["g"]).sum().backward()
    return model, states.data, np.array([own.get(j, -1) for j in range(len(tokens))])


def reference_states(case: dict) -> np.ndarray:
    """11.1: the node vectors from ``minigrad.nn.TreeRNN`` (post-order, as the case numbers them)."""
    return _model_run(_unpack(case))[1]


def reference_leaf_gradient(case: dict) -> dict[str, np.ndarray]:
    """11.2: ∂L/∂h_leaf by autograd and by central differences, L = g · h_root."""
    a = _unpack(case)
    model, _, own = _model_run(a)
    leaf = int(a["leaf"])
    autograd = model.embedding.weight.grad[own[leaf]].copy()
    point = a["E"][a["tokens"][leaf]].copy()
    finite = np.zeros_like(point)
    for i in range(point.size):
        step = np.zeros_like(point)
        step[i] = 1e-6
        plus = _numpy_states(a, (leaf, point + step))[-1] @ a["g"]
        minus = _numpy_states(a, (leaf, point - step))[-1] @ a["g"]
        finite[i] = (plus - minus) / 2e-6
    return {"autograd": autograd, "finite": finite}


def reference_weight_gradient(case: dict) -> dict[str, np.ndarray]:
    """11.3: ∂L/∂W by autograd and by central differences, L = g · h_root."""
    from minigrad.bptt import central_differences

    a = _unpack(case)
    model, _, _ = _model_run(a)
    finite = central_differences(lambda p: float(_numpy_states(a, W=p["W"])[-1] @ a["g"]), {"W": a["W"]})["W"]
    return {"autograd": model.W.grad.copy(), "finite": finite}


# ------------------------------------------------------------------------------- common mistakes
def _messages(a: dict, tanh_derivative: bool = True, transpose: bool = True, swap: bool = False) -> tuple:
    """δ_j = ∂L/∂h_j for every node and ∇_{a_j} L for inner nodes, with one step optionally wrong."""
    states = _numpy_states(a)
    hidden = states.shape[1]
    delta, grad_a = np.zeros_like(states), np.zeros_like(states)
    delta[-1] = a["g"]
    for j in range(len(states) - 1, -1, -1):
        kids = a["children"][j]
        if a["tokens"][j] >= 0:
            continue
        grad_a[j] = (1 - states[j] ** 2) * delta[j] if tanh_derivative else delta[j]
        halves = (a["W"][:, :hidden], a["W"][:, hidden:])
        if swap:
            halves = halves[::-1]
        for kid, half in zip(kids, halves):
            delta[kid] = (half.T if transpose else half) @ grad_a[j]
    return states, delta, grad_a


def _weight_gradient(states: np.ndarray, grad_a: np.ndarray, a: dict, only_root: bool = False) -> np.ndarray:
    hidden = states.shape[1]
    total = np.zeros((hidden, 2 * hidden))
    inner = [j for j, t in enumerate(a["tokens"]) if t < 0]
    for j in inner[-1:] if only_root else inner:
        kids = a["children"][j]
        total += np.outer(grad_a[j], np.concatenate([states[kids[0]], states[kids[1]]]))
    return total


def _leaf_mistakes(a: dict) -> dict[str, np.ndarray]:
    leaf = int(a["leaf"])
    return {
        "leave out the tanh derivative (1 - h_j²) at the nodes on the way": _messages(a, tanh_derivative=False)[1][leaf],
        "multiply by W_L or W_R instead of their transposes": _messages(a, transpose=False)[1][leaf],
        "send the left child the right half of W (and the right child the left half)": _messages(a, swap=True)[1][leaf],
    }


def _weight_mistakes(a: dict) -> dict[str, np.ndarray]:
    states, _, grad_a = _messages(a)
    _, _, no_tanh = _messages(a, tanh_derivative=False)
    return {
        "keep only the root's term (W is shared: sum over every inner node)": _weight_gradient(states, grad_a, a, True),
        "leave out the tanh derivative (use δ_j instead of ∇_{a_j} L)": _weight_gradient(states, no_tanh, a),
    }


# ------------------------------------------------------------------------------- grading
def _grade_states(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        got, expected = numbers(answer), reference_states(case)
        if not close(got, expected):
            hint = ""
            if got.shape == expected.shape[1:] and close(got, expected[-1]):
                hint = "; return every node's vector (n, H), not only the root's"
            return Outcome("failed", 0, f"the node vectors differ from minigrad.nn.TreeRNN: "
                                        f"{first_difference(got, expected)}{hint} ({case['label']})")
    return Outcome("passed", 3, f"every node vector matches minigrad.nn.TreeRNN {where(cases)}")


def _gradient_grader(symbol: str, points: int, reference: Callable[[dict], dict],
                     mistakes: Callable[[dict], dict[str, np.ndarray]]) -> Callable:
    def grade(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
        for case, answer in zip(cases, answers):
            got, refs = numbers(answer), reference(case)
            if close(got, refs["autograd"]):
                if close(got, refs["finite"], _FINITE_TOL):
                    continue
                return Outcome("failed", 0, f"{symbol} differs from finite differences: "
                                            f"{first_difference(got, refs['finite'])} ({case['label']})")
            hint = ""
            for why, wrong in mistakes(_unpack(case)).items():
                if close(got, wrong):
                    hint = f"; this is what you get if you {why}"
                    break
            return Outcome("failed", 0, f"{symbol} differs from autograd: "
                                        f"{first_difference(got, refs['autograd'])}{hint} ({case['label']})")
        return Outcome("passed", points, f"{symbol} matches autograd and finite differences {where(cases)}")

    return grade


def _hidden(question: str) -> Callable[[np.random.Generator], tuple[dict, ...]]:
    def draw(rng: np.random.Generator) -> tuple[dict, ...]:
        sizes = [(2, 3, 2), (int(rng.integers(6, 10)), int(rng.integers(3, 7)), int(rng.integers(2, 5)))]
        return tuple(tree_case(f"hidden case, {leaves} leaves, H = {hidden}", int(rng.integers(1 << 30)),
                               leaves, vocab, hidden, question) for leaves, vocab, hidden in sizes)
    return draw


_VISIBLE = {question: (tree_case("visible case, 4 leaves, H = 3", 1101, 4, 5, 3, question),)
            for question in ("forward", "leaf", "weight")}

QUESTIONS = (
    Question(qid="11.1", points=3, title="A TreeRNN's forward pass over a tree", answer="tree_forward",
             kind="numbers", visible=_VISIBLE["forward"], hidden=_hidden("forward"), grade=_grade_states,
             borrowed=("minigrad.nn.TreeRNN",)),
    Question(qid="11.2", points=4, title="The gradient at a leaf", answer="leaf_gradient",
             kind="numbers", visible=_VISIBLE["leaf"], hidden=_hidden("leaf"),
             grade=_gradient_grader("dL/dh_leaf", 4, reference_leaf_gradient, _leaf_mistakes),
             borrowed=("minigrad.nn.TreeRNN", "minigrad.autograd.backward")),
    Question(qid="11.3", points=3, title="The gradient of the shared W", answer="weight_gradient",
             kind="numbers", visible=_VISIBLE["weight"], hidden=_hidden("weight"),
             grade=_gradient_grader("dL/dW", 3, reference_weight_gradient, _weight_mistakes),
             borrowed=("minigrad.nn.TreeRNN", "minigrad.autograd.backward")),
)
