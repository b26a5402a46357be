"""Trees: a recursive network over a binary tree, the Tree-LSTM node, and a beam-search tree
(chapters 11 and 6).

A tree grows upwards, leaves at the bottom, as the computation does: every inner node is
computed from its children.
"""

from __future__ import annotations

from typing import Any, Sequence

from minigrad.diagrams.language import MUTED_COLOUR, NOTE_FONT, STATE_SIZE, Scene
from minigrad.diagrams.patterns import ROW, _arrange, _token
from minigrad.diagrams.render import Diagram

__all__ = ["beam_search_tree", "tree_lstm_node", "tree_network"]

EXAMPLE_TREE = ((3, ("max", 5)), ("min", 4))  # chapter 11's (3 max 5) min 4


def _is_leaf(node: Any) -> bool:
    return not isinstance(node, (tuple, list))


def tree_network(tree: Any = EXAMPLE_TREE, *, output: bool = True) -> Diagram:
    """A recursive network over a binary tree (chapter 11).

    Every leaf's vector is the embedding of its token (green); every inner node :math:`j`
    (blue) is computed from its two children with the same weights,
    :math:`h_j = \\tanh(W_{\\mathrm{L}} h_{c_1} + W_{\\mathrm{R}} h_{c_2} + b)`. Nodes are numbered
    in post-order, children before their parents.

    Args:
        tree: nested pairs, a leaf being any token that is not a tuple or list; the default is
            chapter 11's :math:`(3 \\max 5) \\min 4`, ``((3, ("max", 5)), ("min", 4))``.
        output: draw the output :math:`o` of the root through :math:`V`.

    Returns:
        The diagram.

    Raises:
        ValueError: an inner node without exactly two children, or more than 8 leaves.
    """
    scene = Scene()
    leaves: list[Any] = []
    order: list[tuple[Any, int, float, int]] = []  # (node, number, x, height), post-order

    def visit(node: Any) -> tuple[int, float, int]:
        if _is_leaf(node):
            leaves.append(node)
            if len(leaves) > 8:
                raise ValueError("tree_network: draw trees of at most 8 leaves (the page is not wider)")
            x, height = (len(leaves) - 1) * 0.85, 0
        else:
            if len(node) != 2:
                raise ValueError(f"tree_network: every inner node needs two children, got {len(node)}")
            (n1, x1, d1), (n2, x2, d2) = visit(node[0]), visit(node[1])
            x, height = (x1 + x2) / 2, 1 + max(d1, d2)
        number = len(order) + 1
        order.append((node, number, x, height))
        return number, x, height

    visit(tree)
    children: dict[int, tuple[int, int]] = {}
    stack: list[int] = []
    for node, number, x, height in order:
        if _is_leaf(node):
            scene.state(f"n{number}", x, 0.0, f"$h_{{{number}}}$", "input", size=(0.55, STATE_SIZE[1]))
            scene.text(x, -0.3, f"$\\mathtt{{{node}}}$", fontsize=NOTE_FONT + 1, va="top")
        else:
            right, left = stack.pop(), stack.pop()
            children[number] = (left, right)
            scene.state(f"n{number}", x, height * ROW, f"$h_{{{number}}}$", "hidden", size=(0.55, STATE_SIZE[1]))
        stack.append(number)
    for parent, (left, right) in children.items():
        scene.arrow(f"n{left}", f"n{parent}", r"$W_{\mathrm{L}}$", label_at=0.45)
        scene.arrow(f"n{right}", f"n{parent}", r"$W_{\mathrm{R}}$", label_side="right", label_at=0.45)
    root = order[-1]
    if output and not _is_leaf(root[0]):
        scene.state("o", root[2], (root[3] + 1) * ROW, "$o$", "output")
        scene.arrow(f"n{root[1]}", "o", "$V$")
    alt = (f"A recursive network over a binary tree with {len(leaves)} leaves, "
           f"{', '.join(str(leaf) for leaf in leaves)}. Each leaf is the embedding of its token; each inner "
           "node is computed from its left child through W_L and its right child through W_R, the same "
           "weights at every node, up to the root" + (", which gives the output o through V." if output else "."))
    return Diagram(scene, alt)


TREE_LSTM_VARIANTS = ("child-sum", "n-ary")


def tree_lstm_node(variant: str = "child-sum") -> Diagram:
    """One node of a Tree-LSTM with two children (chapter 11; Tai et al. 2015, Fig. 2).

    Node :math:`j` reads its input :math:`x_j` and its children's states :math:`(h_k, c_k)`.
    It has one forget gate :math:`f_{jk}` per child, so it can keep one child's memory and drop
    the other's, and its cell is :math:`c_j = i_j \\odot u_j + \\sum_k f_{jk} \\odot c_k`, its
    state :math:`h_j = o_j \\odot \\tanh(c_j)`. The variants differ in what the gates read:

    - ``"child-sum"``: :math:`i_j, o_j, u_j` read :math:`x_j` and the sum
      :math:`\\tilde h_j = \\sum_k h_k`; the forget gate :math:`f_{jk}` reads :math:`x_j` and
      :math:`h_k` alone. The order of the children does not matter.
    - ``"n-ary"``: every gate reads :math:`x_j` and all children's states, each through the
      matrix of its position, so left and right are told apart.

    Args:
        variant: ``"child-sum"`` or ``"n-ary"``; ``"both"`` draws the two side by side.

    Returns:
        The diagram.

    Raises:
        ValueError: an unknown variant.
    """
    if variant == "both":
        return _arrange([tree_lstm_node("child-sum"), tree_lstm_node("n-ary")],
                        ("Child-sum Tree-LSTM", "N-ary Tree-LSTM (N = 2)"),
                        _tree_lstm_alt("child-sum") + " " + _tree_lstm_alt("n-ary"), gap=0.35)
    if variant not in TREE_LSTM_VARIANTS:
        raise ValueError(f"tree_lstm_node: variant must be one of {TREE_LSTM_VARIANTS} or 'both', got {variant!r}")
    scene = Scene()
    small = (0.46, 0.36)
    x_c1, x_x, x_h1, x_h2, x_c2, x_iou = 0.0, 0.55, 1.1, 2.4, 2.95, 1.75
    bus, gates, cells, top = 0.9, 1.45, 2.35, 3.2
    scene.state("c1", x_c1, 0.0, "$c_1$", "hidden", size=small)
    scene.state("x", x_x, 0.0, "$x_j$", "input", size=small)
    scene.state("h1", x_h1, 0.0, "$h_1$", "hidden", size=small)
    scene.state("h2", x_h2, 0.0, "$h_2$", "hidden", size=small)
    scene.state("c2", x_c2, 0.0, "$c_2$", "hidden", size=small)
    scene.text((x_c1 + x_c2) / 2, -0.3, "child $k$ brings $h_k$ and $c_k$", fontsize=NOTE_FONT, va="top",
               colour=MUTED_COLOUR)
    scene.gate("f1", x_h1, gates, r"$\sigma$", size=(0.34, 0.28))
    scene.gate("iou", x_iou, gates, r"$\sigma\,\sigma\,\tanh$", size=(0.72, 0.3))
    scene.gate("f2", x_h2, gates, r"$\sigma$", size=(0.34, 0.28))
    # the bus at the bottom: x_j to every block, joined by h_k where a block reads child k
    scene.dot("bus.h1", x_h1, bus)
    scene.dot("bus.iou", x_iou + 0.2, bus)
    scene.dot("bus.h2", x_h2, bus)
    scene.arrow("x", "bus.h1", via=((x_x, bus),), head=False, key="x->bus")
    scene.arrow("bus.h1", "bus.iou", head=False, key="bus.middle")
    scene.arrow("bus.iou", "bus.h2", head=False, key="bus.right")
    scene.arrow("bus.h1", "f1")
    scene.arrow("bus.iou", "iou", via=((x_iou + 0.2, gates),), key="bus->iou")
    scene.arrow("bus.h2", "f2")
    if variant == "child-sum":
        # f_jk reads x_j and h_k; the other blocks read x_j and the sum of the children's states
        scene.op("sum", x_iou - 0.2, 0.45, "$+$")
        scene.dot("h1.split", x_h1, 0.45)
        scene.dot("h2.split", x_h2, 0.45)
        scene.arrow("h1", "h1.split", head=False)
        scene.arrow("h2", "h2.split", head=False)
        scene.arrow("h1.split", "bus.h1", head=False, key="h1->bus")
        scene.arrow("h2.split", "bus.h2", head=False, key="h2->bus")
        scene.arrow("h1.split", "sum")
        scene.arrow("h2.split", "sum")
        scene.arrow("sum", "iou", r"$\tilde h_j$", via=((x_iou - 0.2, gates),), bridge="white",
                    label_at=0.14, label_side="left", fontsize=NOTE_FONT, key="sum->iou")
    else:
        # every block reads x_j and both children's states
        scene.arrow("h1", "bus.h1", head=False)
        scene.arrow("h2", "bus.h2", head=False)
    # the cell: each child's memory through its own forget gate, plus the gated candidate
    scene.op("keep1", x_h1, cells, r"$\odot$")
    scene.op("keep2", x_h2, cells, r"$\odot$")
    scene.op("write", x_iou, cells - 0.3, r"$\odot$")
    scene.op("add", x_iou, cells + 0.3, r"$+$")
    scene.arrow("f1", "keep1", "$f_{j1}$", label_side="right", fontsize=NOTE_FONT)
    scene.arrow("f2", "keep2", "$f_{j2}$", fontsize=NOTE_FONT)
    scene.arrow("c1", "keep1", via=((x_c1, cells),))
    scene.arrow("c2", "keep2", via=((x_c2, cells),))
    scene.arrow("iou", "write", "$i_j, u_j$", label_side="right", fontsize=NOTE_FONT)
    scene.arrow("keep1", "add", via=((x_h1, cells + 0.3),))
    scene.arrow("keep2", "add", via=((x_h2, cells + 0.3),))
    scene.arrow("write", "add")
    scene.state("cj", x_iou - 0.5, top + 0.35, "$c_j$", "hidden", size=small)
    scene.state("hj", x_iou + 0.5, top + 0.35, "$h_j$", "hidden", size=small)
    scene.dot("c.split", x_iou, top - 0.05)
    scene.arrow("add", "c.split", head=False)
    scene.arrow("c.split", "cj", via=((x_iou - 0.5, top - 0.05),))
    scene.arrow("c.split", "hj", r"$o_j \odot \tanh$", via=((x_iou + 0.5, top - 0.05),), label_side="right",
                label_at=0.75, fontsize=NOTE_FONT)
    return Diagram(scene, _tree_lstm_alt(variant))


def _tree_lstm_alt(variant: str) -> str:
    common = ("One Tree-LSTM node j with two children, each bringing a state h and a cell c, and an input x_j. "
              "Each child's cell passes through its own forget gate f_jk; the products and the input gate "
              "times the candidate u_j are added into the node's cell c_j, and h_j is o_j times tanh of c_j.")
    if variant == "child-sum":
        return (common + " Child-sum variant: the children's states are summed before the input, output and "
                "candidate blocks read them, and each forget gate reads only its own child's state and x_j.")
    return (common + " N-ary variant: the children's states are kept apart, and every block, the forget gates "
            "included, reads x_j and both children's states.")


# The default beam: width 2 over two steps. Greedy decoding takes "a" (0.5) then "a" (0.4), log
# probability -1.61; the beam keeps "b" (0.4) alive and finds "bc" (0.4 x 0.8), -1.14.
EXAMPLE_BEAM = (
    (("a", 0.5), ("b", 0.4), ("c", 0.1)),
    {"a": (("a", 0.4), ("b", 0.35), ("c", 0.25)), "b": (("a", 0.1), ("b", 0.1), ("c", 0.8))},
)


def beam_search_tree(first: Sequence[tuple[str, float]] = EXAMPLE_BEAM[0],
                     then: dict[str, Sequence[tuple[str, float]]] | None = None, *,
                     width: int = 2) -> Diagram:
    """Beam search over two steps, drawn as the tree of partial sequences it scores (chapter 6).

    Each node is a partial sequence with its score :math:`\\log p(y_{\\le t})`, the sum of the
    log-probabilities on the edges that lead to it. At each step the ``width`` best are kept
    (solid) and the others dropped (faint). The greedy path, the most probable token at each
    step, is marked; with the default numbers it ends below the sequence the beam finds.

    Args:
        first: ``(token, probability)`` for every token at the first step.
        then: for each first token the beam keeps, its ``(token, probability)`` pairs at the
            second step; the default example's when ``None``.
        width: the beam width, 1 to 3.

    Returns:
        The diagram, time running left to right.

    Raises:
        ValueError: a width out of range, probabilities outside (0, 1], or a kept first token
            with no second step.
    """
    import math

    if then is None:
        then = EXAMPLE_BEAM[1]
    if not 1 <= width <= 3:
        raise ValueError(f"beam_search_tree: width must be 1, 2 or 3, got {width}")
    for token, p in [*first, *(pair for pairs in then.values() for pair in pairs)]:
        if not 0 < p <= 1:
            raise ValueError(f"beam_search_tree: probability of {token!r} must be in (0, 1], got {p}")
    ranked = sorted(first, key=lambda tp: -tp[1])
    kept = [token for token, _ in ranked[:width]]
    missing = [t for t in kept if t not in then]
    if missing:
        raise ValueError(f"beam_search_tree: no second step given for the kept tokens {missing}")
    scene = Scene()
    scene.state("start", 0.0, 0.0, "start", "target", size=(0.62, 0.34), fontsize=NOTE_FONT)
    gap = 0.48
    second: list[tuple[str, str, float, float]] = []  # (prefix, token, p, score)
    for prefix in kept:
        p1 = dict(first)[prefix]
        second += [(prefix, token, p, math.log(p1) + math.log(p)) for token, p in then[prefix]]
    best = sorted(second, key=lambda c: -c[3])[:width]
    greedy = [ranked[0][0]]
    greedy.append(max(then[greedy[0]], key=lambda tp: tp[1])[0])
    rows2 = len(second)
    ys2 = {(c[0], c[1]): (rows2 - 1) / 2 * gap - i * gap for i, c in enumerate(second)}
    node = (0.95, 0.36)
    for i, (token, p) in enumerate(ranked):
        keep = token in kept
        ys = [ys2[(token, t)] for t, _ in then[token]] if keep else []
        y = sum(ys) / len(ys) if ys else ys2[second[-1][0], second[-1][1]] - (i - len(kept) + 1) * gap
        score = math.log(p)
        scene.state(f"1.{token}", 1.45, y, f"{_token(token)}  ${score:.2f}$", "output" if keep else "neutral",
                    size=node, fontsize=NOTE_FONT + 1, emphasis="normal" if keep else "faint",
                    dashed=not keep)
        scene.arrow("start", f"1.{token}", f"${p:g}$", fontsize=NOTE_FONT, label_at=0.55,
                    emphasis="normal" if keep else "faint", label_side="left" if y >= 0 else "right")
    for prefix, token, p, score in second:
        keep = (prefix, token, p, score) in best
        on_greedy = [prefix, token] == greedy
        key = f"2.{prefix}{token}"
        scene.state(key, 3.25, ys2[(prefix, token)], f"{_token(prefix)}{_token(token)}  ${score:.2f}$",
                    "output" if keep else "neutral", size=node, fontsize=NOTE_FONT + 1,
                    emphasis="strong" if (prefix, token, p, score) == best[0] else ("normal" if keep else "faint"),
                    dashed=not keep)
        scene.arrow(f"1.{prefix}", key, f"${p:g}$", fontsize=NOTE_FONT, label_at=0.6,
                    emphasis="normal" if keep else "faint")
        if on_greedy:
            scene.text(3.25 + node[0] / 2 + 0.1, ys2[(prefix, token)], "greedy", fontsize=NOTE_FONT,
                       ha="left", colour=MUTED_COLOUR)
    scene.text(3.25 + node[0] / 2 + 0.1, ys2[(best[0][0], best[0][1])], "best", fontsize=NOTE_FONT,
               ha="left", bold=True)
    scene.text(1.45, (rows2 - 1) / 2 * gap + 0.45, "step 1", fontsize=NOTE_FONT, colour=MUTED_COLOUR)
    scene.text(3.25, (rows2 - 1) / 2 * gap + 0.45, "step 2", fontsize=NOTE_FONT, colour=MUTED_COLOUR)
    alt = (f"A beam search of width {width} drawn as a tree from a start node. Step 1 scores the tokens "
           f"{', '.join(t for t, _ in ranked)} and keeps {', '.join(kept)}; step 2 extends each kept token. "
           f"Each node shows its log-probability, the sum of the logs of the probabilities on its path. The "
           f"best sequence is {best[0][0]}{best[0][1]} ({best[0][3]:.2f}); greedy decoding follows "
           f"{greedy[0]}{greedy[1]}.")
    return Diagram(scene, alt)
