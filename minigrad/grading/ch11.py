"""Chapter 11's graded questions: a recursive network's forward pass and backpropagation through structure.

Every question gives the student a binary tree stored as arrays, its nodes numbered in post-order
(children before parents, the root last): ``tokens`` (n,) holds each leaf's token id and -1 at
inner nodes, ``children`` (n, 2) holds each inner node's left and right child and -1 at leaves.
The weights are the TreeRNN's: embeddings ``E`` (V, H), ``W`` (H, 2H) and ``b`` (H,), with
h_j = tanh(W [h_left; h_right] + b). 11.1 asks for every node's vector; 11.2 for the gradient of
L = g · h_root at one leaf's vector; 11.3 for the gradient of L with respect to the shared W.
11.4, harder, puts a loss at every node, L = Σ_j G_j · h_j (as a sentiment treebank labels every
phrase), which the chapter does not treat, and asks for ∂L/∂W.
References: ``minigrad.nn.TreeRNN`` with the same weights and autograd, and central finite
differences of a numpy forward pass in float64.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, grade_derivation, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "tree_case", "reference_states", "reference_leaf_gradient", "reference_weight_gradient",
           "reference_every_node_gradient"]

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


def tree_case(label: str, seed: int, leaves: int, vocab: int, hidden: int, question: str,
              nested: Any = None) -> dict:
    """One tree and TreeRNN weights as plain data, with the arguments ``question`` needs.

    ``"forward"``: tokens, children, E, W, b; ``"weight"``: and g; ``"every"``: and G, one
    gradient per node (n, H); ``"leaf"``: and g and the leaf
    whose gradient is asked: the deepest one, and among those one whose node number differs from
    its rank among the leaves, so that reading ``leaf`` as "the k-th leaf" fails. The tree is
    random, or ``nested`` (pairs of token ids) when given.
    """
    rng = np.random.default_rng(seed)
    tokens, children = _as_arrays(_random_nested(rng, leaves, vocab) if nested is None else nested)
    args = [{"integers": tokens}, {"integers": children}, random_array(rng, (vocab, hidden)),
            random_array(rng, (hidden, 2 * hidden), 0.8), random_array(rng, (hidden,), 0.3),
            random_array(rng, (hidden,))]
    if question == "forward":
        args.pop()
    if question == "every":
        args[-1] = random_array(rng, (len(tokens), hidden))
    if question == "leaf":
        leaf_nodes = [j for j, t in enumerate(tokens) if t >= 0]
        # the deepest leaf, so that its gradient crosses every level, numbered unlike its rank
        args.append({"number": int(max(leaf_nodes, key=lambda j: (_depth(children, j), j != leaf_nodes.index(j))))})
    return {"label": label, "args": args}


def _depth(children: list[list[int]], node: int) -> int:
    """Edges from the root (the last node) down to ``node``."""
    parent = {c: j for j, kids in enumerate(children) for c in kids if c >= 0}
    depth = 0
    while node in parent:
        node, depth = parent[node], depth + 1
    return depth


def _named(*args: Any) -> dict:
    """A case's built arguments by name (11.4's one gradient per node as ``G``)."""
    named = dict(zip(("tokens", "children", "E", "W", "b", "g", "leaf"), args))
    if "g" in named and named["g"].ndim == 2:  # 11.4: one gradient per node
        named["G"] = named.pop("g")
    return named


def _unpack(case: dict) -> dict:
    return _named(*(build_argument(spec) for spec in case["args"]))


def _on_arguments(function: Callable[[dict], Any]) -> Callable[..., Any]:
    """``function`` of the named arguments, called the way :func:`grade_derivation` calls a reference
    and the slips: on a case's built arguments."""
    return lambda *args: function(_named(*args))


# ------------------------------------------------------------------------------- references
_HALVES = "LR"
"""Which half of W each child is multiplied by: the left child by W_L = W[:, :H], the right by W_R = W[:, H:]."""


def _numpy_states(a: dict, leaf_vector: tuple[int, np.ndarray] | None = None, W: np.ndarray | None = None,
                  halves: str = _HALVES) -> np.ndarray:
    """Every node's vector by the recursion, optionally with one leaf's vector or W replaced.

    ``halves`` names the half of W the left and the right child are multiplied by (``"RL"``: the
    children swapped, ``"LL"``: W_L for both), for the forward pass of a common slip.
    """
    W = a["W"] if W is None else W
    hidden = a["E"].shape[1]
    half = {"L": W[:, :hidden], "R": W[:, hidden:]}
    states = np.zeros((len(a["tokens"]), hidden))
    for j, (token, kids) in enumerate(zip(a["tokens"], a["children"])):
        if token >= 0:
            states[j] = a["E"][token]
        else:
            states[j] = np.tanh(half[halves[0]] @ states[kids[0]] + half[halves[1]] @ states[kids[1]] + a["b"])
        if leaf_vector is not None and j == leaf_vector[0]:
            states[j] = leaf_vector[1]
    return states


def _model_run(a: dict) -> tuple[Any, Any, np.ndarray]:
    """A TreeRNN with the case's weights, every leaf given its own embedding row, run on the tree
    and, if the case has a ``g``, differentiated for L = g · h_root (with a ``G``: L = Σ_j G_j · h_j).

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
    if "G" in a:
        (states * a["G"]).sum().backward()
    elif "g" in a:
        (roots[0] * a["g"]).sum().backward()
    return model, states.data, np.array([own.get(j, -1) for j in range(len(tokens))])


def reference_states(case: dict) -> np.ndarray:
    """11.1: the node vectors from ``minigrad.nn.TreeRNN`` (post-order, as the case numbers them)."""
    return _model_run(_unpack(case))[1]


def _leaf_references(a: dict) -> dict[str, np.ndarray]:
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


def reference_leaf_gradient(case: dict) -> dict[str, np.ndarray]:
    """11.2: ∂L/∂h_leaf by autograd and by central differences, L = g · h_root."""
    return _leaf_references(_unpack(case))


def _weight_references(a: dict) -> dict[str, np.ndarray]:
    from minigrad.bptt import central_differences

    model, _, _ = _model_run(a)
    if "G" in a:
        loss = lambda p: float(np.sum(_numpy_states(a, W=p["W"]) * a["G"]))  # noqa: E731
    else:
        loss = lambda p: float(_numpy_states(a, W=p["W"])[-1] @ a["g"])  # noqa: E731
    return {"autograd": model.W.grad.copy(), "finite": central_differences(loss, {"W": a["W"]})["W"]}


def reference_weight_gradient(case: dict) -> dict[str, np.ndarray]:
    """11.3: ∂L/∂W by autograd and by central differences, L = g · h_root."""
    return _weight_references(_unpack(case))


def reference_every_node_gradient(case: dict) -> dict[str, np.ndarray]:
    """11.4: ∂L/∂W by autograd and by central differences, L = Σ_j G_j · h_j."""
    return _weight_references(_unpack(case))


# ------------------------------------------------------------------------------- common mistakes
_SWAPPED = "send the left child the right half of W (and the right child the left half)"
_LEFT_FOR_BOTH = "multiply both children by W_L: the right child's weight is W_R = W[:, H:]"


def _messages(a: dict, tanh_derivative: bool = True, transpose: bool = True, halves: str = _HALVES) -> tuple:
    """δ_j = ∂L/∂h_j for every node and ∇_{a_j} L for inner nodes, with one step optionally wrong
    (``halves`` as in :func:`_numpy_states`, for the way down only)."""
    states = _numpy_states(a)
    hidden = states.shape[1]
    half = {"L": a["W"][:, :hidden], "R": a["W"][:, hidden:]}
    delta, grad_a = np.zeros_like(states), np.zeros_like(states)
    delta[-1] = a["g"]
    for j in range(len(states) - 1, -1, -1):
        if a["tokens"][j] >= 0:
            continue
        grad_a[j] = (1 - states[j] ** 2) * delta[j] if tanh_derivative else delta[j]
        for kid, name in zip(a["children"][j], halves):
            delta[kid] = (half[name].T if transpose else half[name]) @ grad_a[j]
    return states, delta, grad_a


def _outer_products(states: np.ndarray, grad_a: np.ndarray, a: dict, reverse: bool = False) -> dict[int, np.ndarray]:
    """Each inner node's term ∇_{a_j} L [h_{c1}; h_{c2}]^T of ∂L/∂W (``reverse``: [h_{c2}; h_{c1}])."""
    terms = {}
    for j, (token, kids) in enumerate(zip(a["tokens"], a["children"])):
        if token < 0:
            pair = [states[kids[0]], states[kids[1]]]
            terms[j] = np.outer(grad_a[j], np.concatenate(pair[::-1] if reverse else pair))
    return terms


def _weight_gradient(states: np.ndarray, grad_a: np.ndarray, a: dict, reverse: bool = False) -> np.ndarray:
    return sum(_outer_products(states, grad_a, a, reverse).values())


def _every_node_mistakes(a: dict) -> dict[str, np.ndarray]:
    """∂L/∂W for L = Σ_j G_j · h_j with one step wrong: only the root's loss, or δ_j = G_j alone."""
    root_only = {**a, "g": a["G"][-1]}
    states, _, grad_a = _messages(root_only)
    local = (1 - states ** 2) * a["G"]  # each node's own term, nothing passed down
    return {
        "keep only the root's loss G_root · h_root: every node's h_j is in L":
            _weight_gradient(states, grad_a, root_only),
        "use δ_j = G_j only: a node's δ also collects what its parent passes down":
            _weight_gradient(states, local, a),
    }


def _leaf_mistakes(a: dict) -> dict[str, np.ndarray]:
    leaf = int(a["leaf"])
    return {
        "leave out the tanh derivative (1 - h_j²) at the nodes on the way": _messages(a, tanh_derivative=False)[1][leaf],
        "multiply by W_L or W_R instead of their transposes": _messages(a, transpose=False)[1][leaf],
        _SWAPPED: _messages(a, halves="RL")[1][leaf],
        _LEFT_FOR_BOTH: _messages(a, halves="LL")[1][leaf],
    }


def _weight_mistakes(a: dict) -> dict[str, np.ndarray]:
    states, _, grad_a = _messages(a)
    terms = _outer_products(states, grad_a, a)
    root = len(states) - 1
    single = {f"keep node {j}'s term only, as `=` instead of `+=` does (W is shared: add the outer product "
              f"of every inner node)": term for j, term in terms.items() if j != root}
    return {
        "keep only the root's term (W is shared: sum over every inner node)": terms[root],
        **single,
        "leave out the tanh derivative (use δ_j instead of ∇_{a_j} L)":
            _weight_gradient(states, _messages(a, tanh_derivative=False)[2], a),
        "stack the children as [h_right; h_left]: W [h_{c1}; h_{c2}] puts the left child first":
            _weight_gradient(states, grad_a, a, reverse=True),
        _SWAPPED: _weight_gradient(states, _messages(a, halves="RL")[2], a),
        _LEFT_FOR_BOTH: _weight_gradient(states, _messages(a, halves="LL")[2], a),
    }


# ------------------------------------------------------------------------------- grading
_FORWARD_SLIPS = (
    ("RL", "the children are swapped: h_j = tanh(W [h_left; h_right] + b), the left child (children[j, 0]) "
           "first"),
    ("LL", "both children are multiplied by the left half of W: the right child's weight is W[:, H:]"),
    ("RR", "both children are multiplied by the right half of W: the left child's weight is W[:, :H]"),
)


def _forward_slip(got: np.ndarray, expected: np.ndarray, case: dict) -> str:
    """``"; why"`` for the slip a wrong 11.1 answer shows, or ``""``."""
    if got.shape == expected.shape[1:] and close(got, expected[-1]):
        return "; return every node's vector (n, H), not only the root's"
    if got.shape != expected.shape:
        return ""
    leaves = np.asarray(case["args"][0]["integers"]) >= 0
    if close(got[leaves], np.tanh(expected[leaves])):
        return "; a leaf's vector is its embedding row itself, with no tanh"
    a = _unpack(case)
    return next((f"; {why}" for halves, why in _FORWARD_SLIPS if close(got, _numpy_states(a, halves=halves))), "")


def _grade_states(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        got, expected = numbers(answer), reference_states(case)
        if not close(got, expected):
            return Outcome("failed", 0, f"the node vectors differ from minigrad.nn.TreeRNN: "
                                        f"{first_difference(got, expected)}{_forward_slip(got, expected, case)} "
                                        f"({case['label']})")
    return Outcome("passed", 3, f"every node vector matches minigrad.nn.TreeRNN {where(cases)}")


def _hidden(question: str) -> Callable[[np.random.Generator], tuple[dict, ...]]:
    def draw(rng: np.random.Generator) -> tuple[dict, ...]:
        sizes = [(2, 3, 2), (int(rng.integers(6, 10)), int(rng.integers(3, 7)), int(rng.integers(2, 5)))]
        return tuple(tree_case(f"hidden case, {leaves} leaves, H = {hidden}", int(rng.integers(1 << 30)),
                               leaves, vocab, hidden, question) for leaves, vocab, hidden in sizes)
    return draw


_VISIBLE_TREE = ((4, 0), (2, 4))
"""The notebook's example, ((a, b), (c, a)): node 3 is the third leaf, and token 4 appears twice."""
_VISIBLE = {question: (tree_case("visible case, the notebook's tree ((a, b), (c, a)), H = 3", 1101, 4, 5, 3,
                                 question, nested=_VISIBLE_TREE),)
            for question in ("forward", "leaf", "weight", "every")}

QUESTIONS = (
    Question(qid="11.1", points=3, title="A TreeRNN's forward pass over a tree", answer="tree_forward",
             kind="numbers", visible=_VISIBLE["forward"], hidden=_hidden("forward"), grade=_grade_states,
             borrowed=("minigrad.nn.TreeRNN",), difficulty=1, minutes=10,
             hints=("Loop over j = 0 … n - 1: children come first, so their vectors are ready at node j.",
                    "A leaf's vector is the row E[tokens[j]] itself, with no tanh; an inner node's is "
                    "tanh(W @ np.concatenate([h_left, h_right]) + b)."),
             reference=reference_states),
    Question(qid="11.2", points=4, title="The gradient at a leaf", answer="leaf_gradient",
             kind="numbers", visible=_VISIBLE["leaf"], hidden=_hidden("leaf"),
             grade=grade_derivation("dL/dh_leaf", _on_arguments(_leaf_references), _on_arguments(_leaf_mistakes),
                                    4, "of the TreeRNN"),
             borrowed=("minigrad.nn.TreeRNN", "minigrad.autograd.backward"), difficulty=2, minutes=15,
             hints=("Run tree_forward, set δ_root = g, and visit the inner nodes from the root down "
                    "(in reverse order), passing δ to the children.",
                    "At node j, ∇_a = (1 - h_j²) ⊙ δ_j; the left child gets W[:, :H].T @ ∇_a and the right "
                    "child W[:, H:].T @ ∇_a.",
                    "`leaf` is a node number: return delta[leaf], not the leaf-th leaf."),
             reference=lambda case: reference_leaf_gradient(case)["autograd"]),
    Question(qid="11.3", points=3, title="The gradient of the shared W", answer="weight_gradient",
             kind="numbers", visible=_VISIBLE["weight"], hidden=_hidden("weight"),
             grade=grade_derivation("dL/dW", _on_arguments(_weight_references), _on_arguments(_weight_mistakes),
                                    3, "of the TreeRNN"),
             borrowed=("minigrad.nn.TreeRNN", "minigrad.autograd.backward"), difficulty=2, minutes=10,
             hints=("W is shared: add one outer product per inner node, as for W in BPTT.",
                    "At node j add np.outer(∇_a_j, np.concatenate([h_left, h_right])), with ∇_a_j computed "
                    "as in 11.2 on the way down."),
             reference=lambda case: reference_weight_gradient(case)["autograd"]),
    Question(qid="11.4", points=4, title="dL/dW with a loss at every node, derived", answer="every_node_gradient",
             kind="numbers", visible=_VISIBLE["every"], hidden=_hidden("every"),
             grade=grade_derivation("dL/dW", _on_arguments(_weight_references), _on_arguments(_every_node_mistakes),
                                    4, "for a loss at every node"),
             borrowed=("minigrad.nn.TreeRNN", "minigrad.autograd.backward"), difficulty=3, minutes=25,
             hints=("h_j now reaches L twice: directly, through G_j · h_j, and through its parent.",
                    "δ_j = G_j + (the message from j's parent), where the parent p sends W_L^T ∇_{a_p} L or "
                    "W_R^T ∇_{a_p} L; start with δ_root = G_root and go down.",
                    "Then ∇_W L = Σ_j ∇_{a_j} L [h_{c1}; h_{c2}]^T over the inner nodes, as in 11.3, with the "
                    "new δ. Add G_j to a child's δ before you use it, not after."),
             reference=lambda case: reference_every_node_gradient(case)["autograd"]),
)
