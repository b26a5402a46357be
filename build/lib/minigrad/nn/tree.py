"""Recursive (tree) networks: the :class:`Tree` type, :class:`TreeRNN` and :class:`TreeLSTM` (chapter 11).

A tree network applies the same composition function at every inner node, from the leaves up.
Many trees are processed together *by level*: a node's level is its height (leaves 0, a parent
one more than its highest child), so all nodes of one level, across all trees, depend only on
lower levels and are computed with one batch of matrix products. Node states are returned in
post-order (children before parents, trees one after another), the order of :meth:`Tree.nodes`.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

import minigrad
from minigrad.nn import init
from minigrad.nn.layers import Embedding
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["Tree", "TreeRNN", "TreeLSTM"]


class Tree:
    """A rooted, ordered tree: a leaf holds a token id, an inner node holds its children (chapter 11).

    A node's height, :math:`\\text{height}(n) = 1 + \\max_{k \\in C(n)} \\text{height}(k)` (0 for a
    leaf), is the level at which tree networks compute it.

    Args:
        token: the token id (vocabulary index); required for a leaf, optional for an inner node
            (a dependency tree has a word at every node).
        children: the sub-trees, in order; empty for a leaf.
        label: an optional target for this node (e.g. a sentiment class or a value).

    Example:
        >>> t = Tree.from_nested(((1, 2), 3))
        >>> t
        Tree(((1 2) 3))
        >>> [n.token for n in t.nodes()]
        [1, 2, None, 3, None]
    """

    __slots__ = ("token", "children", "label")

    def __init__(self, token: int | None = None, children: Sequence[Tree] = (),
                 label: Any = None) -> None:
        children = tuple(children)
        if not children and token is None:
            raise ValueError("Tree: a leaf needs a token id")
        for child in children:
            if not isinstance(child, Tree):
                raise TypeError(f"Tree: children must be Trees, got {type(child).__name__}")
        self.token = None if token is None else int(token)
        self.children = children
        self.label = label

    @classmethod
    def from_nested(cls, nested: Any) -> Tree:
        """Build a tree from nested tuples or lists of token ids: ``((1, 2), 3)``."""
        if isinstance(nested, Tree):
            return nested
        if isinstance(nested, (tuple, list)):
            return cls(children=[cls.from_nested(child) for child in nested])
        return cls(token=nested)

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children."""
        return not self.children

    def nodes(self) -> Iterator[Tree]:
        """Every node in post-order (children before their parent, left to right), iteratively."""
        stack: list[tuple[Tree, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or node.is_leaf:
                yield node
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))

    def __len__(self) -> int:
        return sum(1 for _ in self.nodes())

    def height(self) -> int:
        """The number of edges on the longest path from this node down to a leaf."""
        heights: dict[int, int] = {}
        for node in self.nodes():
            heights[id(node)] = 1 + max((heights[id(c)] for c in node.children), default=-1)
        return heights[id(self)]

    def __repr__(self) -> str:
        def text(node: Tree) -> str:
            if node.is_leaf:
                return str(node.token)
            inner = " ".join(text(child) for child in node.children)
            return f"({inner})" if node.token is None else f"({node.token}: {inner})"
        return f"Tree({text(self)})"


class _Levels:
    """The nodes of many trees, numbered in post-order and grouped by level for batching.

    Attributes:
        tokens: token id per node (-1 where there is none).
        children: per node, the post-order numbers of its children.
        levels: per level, the post-order numbers of its nodes.
        rows: per node, its row in the level-ordered concatenation of states.
        roots: post-order number of every tree's root.
    """

    def __init__(self, trees: Sequence[Tree]) -> None:
        tokens, children, heights, roots = [], [], [], []
        for tree in trees:
            number: dict[int, int] = {}
            for node in tree.nodes():
                kids = [number[id(child)] for child in node.children]
                number[id(node)] = len(tokens)
                tokens.append(-1 if node.token is None else node.token)
                children.append(kids)
                heights.append(1 + max((heights[k] for k in kids), default=-1))
            roots.append(len(tokens) - 1)
        self.tokens = np.array(tokens, dtype=np.int64)
        self.children = children
        self.roots = np.array(roots, dtype=np.int64)
        heights = np.array(heights)
        self.levels = [np.flatnonzero(heights == level) for level in range(heights.max() + 1)]
        self.rows = np.empty(len(tokens), dtype=np.int64)
        self.rows[np.concatenate(self.levels)] = np.arange(len(tokens))

    def child_rows(self, nodes: np.ndarray, position: int) -> np.ndarray:
        """Rows of the ``position``-th child of each of ``nodes``."""
        return self.rows[[self.children[n][position] for n in nodes]]

    def edges(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (parent, child) edge below ``nodes``: the parent's position in ``nodes`` and the child's row."""
        parents = [p for p, n in enumerate(nodes) for _ in self.children[n]]
        kids = [c for n in nodes for c in self.children[n]]
        return np.array(parents, dtype=np.int64), self.rows[np.array(kids, dtype=np.int64)]

    def in_post_order(self, by_level: list[Tensor]) -> Tensor:
        """Concatenate per-level states and reorder them into post-order."""
        return minigrad.cat(by_level, axis=0)[self.rows]


def _as_trees(trees: Tree | Sequence[Tree]) -> list[Tree]:
    trees = [trees] if isinstance(trees, Tree) else list(trees)
    if not trees:
        raise ValueError("tree network: got no trees")
    return trees


class TreeRNN(Module):
    """The recursive neural network of Socher et al. (2011) on binary trees (chapter 11).

    A leaf's state is its token's embedding; an inner node with children :math:`c_1, c_2` has

    .. math:: p = \\tanh(W [c_1; c_2] + b)

    with the same :math:`W` :math:`(H, 2H)` and :math:`b` at every node, so gradients from all
    nodes add up in them (backpropagation through structure).

    Args:
        vocab_size: number of token ids.
        hidden_size: :math:`H`, the size of every node's vector (leaves included).
        rng: generator for the initial weights (embedding :math:`\\mathcal{N}(0, 1)`, ``W`` and
            ``b`` :math:`\\mathcal{U}(-1/\\sqrt{2H}, 1/\\sqrt{2H})`).
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(trees)`` (a :class:`Tree` or a list) returns ``(roots, states)``: the root
        vectors :math:`(N_\\text{trees}, H)` and every node's vector :math:`(N_\\text{nodes}, H)` in
        post-order.
    """

    def __init__(self, vocab_size: int, hidden_size: int, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.embedding = Embedding(vocab_size, hidden_size, rng=rng, dtype=dtype)
        self.W = init.uniform_parameter((hidden_size, 2 * hidden_size), 2 * hidden_size, rng, dtype)
        self.b = init.uniform_parameter((hidden_size,), 2 * hidden_size, rng, dtype)

    def forward(self, trees: Tree | Sequence[Tree]) -> tuple[Tensor, Tensor]:
        """Compose every tree bottom-up; return the root vectors and all node vectors."""
        plan = _Levels(_as_trees(trees))
        by_level = [self.embedding(plan.tokens[plan.levels[0]])]
        for nodes in plan.levels[1:]:
            if any(len(plan.children[n]) != 2 for n in nodes):
                raise ValueError("TreeRNN: every inner node needs exactly 2 children")
            done = minigrad.cat(by_level, axis=0)
            pair = minigrad.cat([done[plan.child_rows(nodes, 0)], done[plan.child_rows(nodes, 1)]], axis=1)
            by_level.append((pair @ self.W.T + self.b).tanh())
        states = plan.in_post_order(by_level)
        return states[plan.roots], states

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, hidden_size={self.hidden_size}"


class TreeLSTM(Module):
    """The Tree-LSTM of Tai, Socher and Manning (2015), child-sum or N-ary (chapter 11).

    Node :math:`j` has input :math:`x_j` (its token's embedding, or 0 if it has no token) and
    children :math:`k \\in C(j)` with states :math:`(h_k, c_k)`. The **child-sum** variant
    (``n_ary=None``, any number of children, order ignored) uses
    :math:`\\tilde{h}_j = \\sum_k h_k`:

    .. math::
        i_j &= \\sigma(W^{(i)} x_j + U^{(i)} \\tilde{h}_j + b^{(i)}), \\quad
        o_j = \\sigma(W^{(o)} x_j + U^{(o)} \\tilde{h}_j + b^{(o)}), \\quad
        u_j = \\tanh(W^{(u)} x_j + U^{(u)} \\tilde{h}_j + b^{(u)}) \\\\
        f_{jk} &= \\sigma(W^{(f)} x_j + U^{(f)} h_k + b^{(f)}) \\\\
        c_j &= i_j \\odot u_j + \\sum_k f_{jk} \\odot c_k, \\qquad h_j = o_j \\odot \\tanh(c_j)

    The **N-ary** variant (``n_ary=N``: every inner node has exactly :math:`N` ordered children,
    leaves none) gives each child position its own matrices,
    :math:`i_j = \\sigma(W^{(i)} x_j + \\sum_{l=1}^N U^{(i)}_l h_{jl} + b^{(i)})` (likewise
    :math:`o, u`) and :math:`f_{jk} = \\sigma(W^{(f)} x_j + \\sum_l U^{(f)}_{kl} h_{jl} + b^{(f)})`.

    Parameters: ``embedding``; ``W`` :math:`(4H, D)` and ``b`` :math:`(4H,)`, rows in the order
    i, o, u, f; child-sum: ``U_iou`` :math:`(3H, H)` and ``U_f`` :math:`(H, H)`; N-ary: ``U``
    :math:`((3 + N) H, N H)`, rows i, o, u, f_1..f_N, columns child 1..N.

    Args:
        vocab_size: number of token ids.
        input_size: :math:`D`, the embedding size.
        hidden_size: :math:`H`.
        n_ary: ``None`` for child-sum, or :math:`N` for the N-ary Tree-LSTM (2: binary).
        rng: generator for the initial weights (:math:`\\mathcal{U}(-1/\\sqrt{n}, 1/\\sqrt{n})`, n
            the fan-in; embedding :math:`\\mathcal{N}(0, 1)`).
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(trees)`` returns ``(roots, states)``: root :math:`h` :math:`(N_\\text{trees}, H)`
        and every node's :math:`h` :math:`(N_\\text{nodes}, H)` in post-order.
    """

    def __init__(self, vocab_size: int, input_size: int, hidden_size: int, n_ary: int | None = None,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if n_ary is not None and n_ary < 1:
            raise ValueError(f"TreeLSTM: n_ary must be None (child-sum) or >= 1, got {n_ary}")
        rng = np.random.default_rng() if rng is None else rng
        self.vocab_size, self.input_size, self.hidden_size, self.n_ary = vocab_size, input_size, hidden_size, n_ary
        H = hidden_size
        self.embedding = Embedding(vocab_size, input_size, rng=rng, dtype=dtype)
        self.W = init.uniform_parameter((4 * H, input_size), input_size, rng, dtype)
        self.b = init.uniform_parameter((4 * H,), input_size, rng, dtype)
        if n_ary is None:
            self.U_iou = init.uniform_parameter((3 * H, H), H, rng, dtype)
            self.U_f = init.uniform_parameter((H, H), H, rng, dtype)
        else:
            self.U = init.uniform_parameter(((3 + n_ary) * H, n_ary * H), n_ary * H, rng, dtype)

    def _inputs(self, tokens: np.ndarray) -> Tensor:
        """:math:`W x_j + b` for nodes with ``tokens`` (:math:`x_j = 0` where the token is -1)."""
        has_token = tokens >= 0
        x = self.embedding(np.where(has_token, tokens, 0)) * has_token[:, None].astype(self.W.dtype)
        return x @ self.W.T + self.b

    def _child_sum(self, x_iou: Tensor, x_f: Tensor, nodes, plan, h_done, c_done):
        """Child-sum terms for one level: :math:`U^{(iou)}\\tilde h_j` and :math:`\\sum_k f_{jk} \\odot c_k`."""
        parents, rows = plan.edges(nodes)
        summing = np.zeros((len(nodes), len(rows)), dtype=self.W.dtype)
        summing[parents, np.arange(len(rows))] = 1.0  # (parent j, edge) incidence: sums over k in C(j)
        h_kids, c_kids = h_done[rows], c_done[rows]
        f = (x_f[parents] + h_kids @ self.U_f.T).sigmoid()
        return x_iou + (summing @ h_kids) @ self.U_iou.T, summing @ (f * c_kids)

    def _n_ary(self, x_iou: Tensor, x_f: Tensor, nodes, plan, h_done, c_done):
        """N-ary terms for one level: :math:`\\sum_l U_l h_{jl}` and :math:`\\sum_l f_{jl} \\odot c_{jl}`."""
        H, N = self.hidden_size, self.n_ary
        if any(len(plan.children[n]) != N for n in nodes):
            raise ValueError(f"TreeLSTM(n_ary={N}): every inner node needs exactly {N} children")
        kid_rows = [plan.child_rows(nodes, position) for position in range(N)]
        hidden = (minigrad.cat([h_done[rows] for rows in kid_rows], axis=1) @ self.U.T).split(
            [3 * H] + [H] * N, axis=1)
        forget = sum((x_f + u_f).sigmoid() * c_done[rows] for u_f, rows in zip(hidden[1:], kid_rows))
        return x_iou + hidden[0], forget

    def forward(self, trees: Tree | Sequence[Tree]) -> tuple[Tensor, Tensor]:
        """Run every tree bottom-up; return the root :math:`h` and all node :math:`h`."""
        plan = _Levels(_as_trees(trees))
        hs, cs = [], []
        for level, nodes in enumerate(plan.levels):
            x_iou, x_f = self._inputs(plan.tokens[nodes]).split([3 * self.hidden_size, self.hidden_size], axis=1)
            if level == 0:
                iou, forget = x_iou, None
            else:
                h_done, c_done = minigrad.cat(hs, axis=0), minigrad.cat(cs, axis=0)
                combine = self._child_sum if self.n_ary is None else self._n_ary
                iou, forget = combine(x_iou, x_f, nodes, plan, h_done, c_done)
            i, o, u = iou.chunk(3, axis=1)
            c = i.sigmoid() * u.tanh()
            if forget is not None:
                c = c + forget
            hs.append(o.sigmoid() * c.tanh())
            cs.append(c)
        states = plan.in_post_order(hs)
        return states[plan.roots], states

    def extra_repr(self) -> str:
        kind = "child-sum" if self.n_ary is None else f"n_ary={self.n_ary}"
        return f"vocab_size={self.vocab_size}, input_size={self.input_size}, hidden_size={self.hidden_size}, {kind}"
