"""Drawing a :class:`~minigrad.scalar.Value` computation graph (chapter 2), a tree (chapter 11), and
results measured over several seeds (every chapter), with matplotlib.

The graph is laid out in layers from the leaves (left) to the output (right): a computed node sits
one layer to the right of its deepest input, and a leaf sits just left of its first consumer, so an
input such as :math:`x^{(t)}` appears next to the step that reads it while a shared parameter
:math:`\\theta` fans out to every step. Everything is iterative, so the layout never recurses.

A result over seeds (:class:`~minigrad.experiments.Spread`) is drawn with its spread, never as a
bare mean: :func:`plot_spread` draws a curve with a band from the lowest to the highest run and the
runs themselves as faint points, and :func:`compare_spreads` draws one such summary per model.

matplotlib is imported inside the drawing functions, so ``import minigrad`` needs only numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from minigrad.experiments import Spread
from minigrad.scalar import Value

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.axes import Axes

__all__ = ["compare_spreads", "crisp_inline_figures", "draw_graph", "draw_tree", "graph_layers", "plot_spread"]

# Geometry in data units; one data unit is drawn as INCH_PER_UNIT inches when draw_graph makes
# its own figure, so that the fixed font sizes fit inside the boxes.
BOX_WIDTH = 1.5
BOX_HEIGHT = 0.72
OP_WIDTH = 0.62
OP_HEIGHT = 0.34
ARROW_ROOM = 0.45  # free space for the arrow heads between a layer and the op tags of the next
NODE_ROOM = 0.3  # free space between two nodes of one layer
MARGIN = 0.25
INCH_PER_UNIT = 0.62
ORDERING_SWEEPS = 4
DIRECTIONS = ("LR", "TB")

# Short names for ops whose full name would not fit in the op tag.
_OP_SYMBOLS = {"*": "×", "sigmoid": "σ"}


def graph_layers(root: Value) -> list[list[Value]]:
    """Split the graph that produced ``root`` into layers, leaves first and ``root`` last.

    Every node goes one layer before its earliest consumer ("as late as possible"), so a side
    computation such as :math:`u x^{(t)}` sits next to the step that uses it, and a shared leaf sits
    next to the first step that reads it. Nodes within a layer are then ordered to reduce edge
    crossings (a few sweeps of the barycentre heuristic).

    Args:
        root: the output of the graph, usually the loss.

    Returns:
        The layers, each a list of nodes in drawing order.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    order = root.topological_order()  # iterative: inputs before the nodes that use them
    consumers: dict[int, list[Value]] = {id(node): [] for node in order}
    for node in order:
        for child in _distinct_inputs(node):
            consumers[id(child)].append(node)
    steps_before_root: dict[int, int] = {}
    for node in reversed(order):  # consumers before their inputs
        steps_before_root[id(node)] = 1 + max(
            (steps_before_root[id(parent)] for parent in consumers[id(node)]), default=-1
        )
    depth = max(steps_before_root.values())
    layers: list[list[Value]] = [[] for _ in range(depth + 1)]
    for node in order:
        layers[depth - steps_before_root[id(node)]].append(node)
    _reduce_crossings(layers, consumers)
    return layers


def draw_graph(
    root: Value,
    ax: Axes | None = None,
    *,
    direction: str = "LR",
    show_grad: bool = True,
    precision: int = 4,
    fontsize: float = 8.0,
    title: str | None = None,
    max_nodes: int = 150,
) -> Axes:
    """Draw the computation graph that produced ``root``: one box per :class:`Value`.

    Each box shows the node's label (if it has one), its ``data`` and, unless ``show_grad`` is
    false, its ``grad``. A computed node has a small tag on its incoming side with the name of the
    op that made it, and an arrow runs from each input to that tag. Leaves come first (left, or
    top), ``root`` last.

    Args:
        root: the output of the graph, usually the loss.
        ax: the matplotlib Axes to draw on; a new figure sized to the graph when ``None``.
        direction: ``"LR"`` (layers from left to right) or ``"TB"`` (from top to bottom, better
            for long graphs on a narrow page).
        show_grad: also print each node's ``grad`` (call ``root.backward()`` first).
        precision: significant digits of the printed numbers.
        fontsize: font size of the box texts, in points.
        title: the Axes title; ``"Computation graph of <root label>"`` when ``None``.
        max_nodes: refuse graphs larger than this, which would not be legible.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``root`` is not a Value.
        ValueError: ``direction`` is unknown, or the graph has more than ``max_nodes`` nodes.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    if direction not in DIRECTIONS:
        raise ValueError(f"draw_graph: direction must be one of {DIRECTIONS}, got {direction!r}")
    n_nodes = len(root.topological_order())
    if n_nodes > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {n_nodes} nodes, more than max_nodes={max_nodes}; "
            "draw a smaller graph (fewer time steps) or raise max_nodes"
        )
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    layers = graph_layers(root)
    across = direction == "LR"  # True: layers are columns; False: layers are rows
    if across:
        layer_gap = BOX_WIDTH + OP_WIDTH + ARROW_ROOM
        node_gap = BOX_HEIGHT + NODE_ROOM
    else:
        layer_gap = BOX_HEIGHT + OP_HEIGHT + ARROW_ROOM
        node_gap = BOX_WIDTH + NODE_ROOM
    centre: dict[int, tuple[float, float]] = {}
    for i, nodes in enumerate(layers):
        for j, node in enumerate(nodes):
            along, offset = i * layer_gap, ((len(nodes) - 1) / 2 - j) * node_gap
            centre[id(node)] = (along, offset) if across else (-offset, -along)

    xs = [x for x, _ in centre.values()]
    ys = [y for _, y in centre.values()]
    x_lim = (min(xs) - BOX_WIDTH / 2 - (OP_WIDTH if across else 0) - MARGIN,
             max(xs) + BOX_WIDTH / 2 + MARGIN)
    y_lim = (min(ys) - BOX_HEIGHT / 2 - MARGIN,
             max(ys) + BOX_HEIGHT / 2 + (0 if across else OP_HEIGHT) + MARGIN)
    if ax is None:
        size = ((x_lim[1] - x_lim[0]) * INCH_PER_UNIT, (y_lim[1] - y_lim[0]) * INCH_PER_UNIT + 0.4)
        _, ax = plt.subplots(figsize=size, layout="constrained")

    for node in (node for nodes in layers for node in nodes):
        x, y = centre[id(node)]
        ax.add_patch(FancyBboxPatch(
            (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor="#e8f0fa" if node._prev else "#fdf3dc",
            edgecolor="#33475b", linewidth=1.0, zorder=2, gid="node",
        ))
        ax.text(x, y, _node_text(node, show_grad, precision), ha="center", va="center",
                fontsize=fontsize, zorder=3, gid="node-text")
        if not node._prev:
            continue
        if across:
            tag = (x - BOX_WIDTH / 2 - OP_WIDTH / 2, y)
            arrow_end = (tag[0] - OP_WIDTH / 2, y)
        else:
            tag = (x, y + BOX_HEIGHT / 2 + OP_HEIGHT / 2)
            arrow_end = (x, tag[1] + OP_HEIGHT / 2)
        ax.add_patch(FancyBboxPatch(
            (tag[0] - OP_WIDTH / 2, tag[1] - OP_HEIGHT / 2), OP_WIDTH, OP_HEIGHT,
            boxstyle=f"round,pad=0,rounding_size={OP_HEIGHT / 2}",
            facecolor="white", edgecolor="#33475b", linewidth=0.8, zorder=2, gid="op",
        ))
        ax.text(*tag, _OP_SYMBOLS.get(node.op, node.op), ha="center", va="center",
                fontsize=fontsize * 0.9, zorder=3, gid="op-text")
        for child in _distinct_inputs(node):
            cx, cy = centre[id(child)]
            start = (cx + BOX_WIDTH / 2, cy) if across else (cx, cy - BOX_HEIGHT / 2)
            ax.add_patch(FancyArrowPatch(
                start, arrow_end, arrowstyle="-|>", mutation_scale=9, shrinkA=0, shrinkB=1,
                color="#5a6b7d", linewidth=0.8, zorder=1, gid="edge",
            ))

    ax.set_xlim(*x_lim)
    ax.set_ylim(*y_lim)
    ax.set_axis_off()
    ax.set_title(title if title is not None else f"Computation graph of {root.label or 'the output'}")
    return ax


def _distinct_inputs(node: Value) -> list[Value]:
    """The inputs of ``node`` without repeats (``a * a`` has one input drawn once)."""
    seen: set[int] = set()
    inputs = []
    for child in node.inputs():
        if id(child) not in seen:
            seen.add(id(child))
            inputs.append(child)
    return inputs


def _node_text(node: Value, show_grad: bool, precision: int) -> str:
    lines = [node.label] if node.label else []
    lines.append(f"data {node.data:.{precision}g}")
    if show_grad:
        lines.append(f"grad {node.grad:.{precision}g}")
    return "\n".join(lines)


def _reduce_crossings(layers: list[list[Value]], consumers: dict[int, list[Value]]) -> None:
    """Reorder each layer in place by the mean position of its neighbours (barycentre sweeps)."""
    for sweep in range(ORDERING_SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, len(layers)) if forward else range(len(layers) - 2, -1, -1)
        for i in indices:
            reference = layers[i - 1] if forward else layers[i + 1]
            rank = {id(node): r for r, node in enumerate(reference)}

            def barycentre(item: tuple[int, Value]) -> float:
                position, node = item
                neighbours = _distinct_inputs(node) if forward else consumers[id(node)]
                ranks = [rank[id(n)] for n in neighbours if id(n) in rank]
                return sum(ranks) / len(ranks) if ranks else float(position)

            layers[i] = [node for _, node in sorted(enumerate(layers[i]), key=barycentre)]


def draw_tree(
    tree: Any,
    ax: Axes | None = None,
    *,
    labels: Callable[[Any], str] | None = None,
    title: str | None = None,
    fontsize: float = 10.0,
    max_nodes: int = 150,
) -> Axes:
    """Draw a :class:`~minigrad.nn.Tree` with every node on the row of its level (chapter 11).

    A node's level is its height (0 for a leaf, one more than its highest child otherwise), the
    level at which :class:`~minigrad.nn.TreeRNN` and :class:`~minigrad.nn.TreeLSTM` compute it:
    leaves sit on the bottom row, evenly spaced in their left-to-right order, and an inner node
    sits above the middle of its children. Leaves are drawn in yellow boxes, inner nodes in blue.

    Args:
        tree: the tree.
        ax: the matplotlib Axes to draw on; a new figure sized to the tree when ``None``.
        labels: ``node -> text`` for each box; by default a leaf shows its token id and an inner
            node its token id or ``•``.
        title: the Axes title; ``"Tree with <n> nodes"`` when ``None``.
        fontsize: font size of the box texts, in points.
        max_nodes: refuse trees larger than this, which would not be legible.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``tree`` is not a Tree.
        ValueError: the tree has more than ``max_nodes`` nodes.
    """
    from minigrad.nn.tree import Tree

    if not isinstance(tree, Tree):
        raise TypeError(f"draw_tree needs a minigrad.nn.Tree, got {type(tree).__name__}")
    nodes = list(tree.nodes())
    if len(nodes) > max_nodes:
        raise ValueError(f"draw_tree: the tree has {len(nodes)} nodes, more than max_nodes={max_nodes}")
    import matplotlib.pyplot as plt

    x: dict[int, float] = {}
    level: dict[int, int] = {}
    leaves = 0
    for node in nodes:  # post-order: children are placed before their parent
        if node.is_leaf:
            x[id(node)], level[id(node)] = float(leaves), 0
            leaves += 1
        else:
            x[id(node)] = sum(x[id(child)] for child in node.children) / len(node.children)
            level[id(node)] = 1 + max(level[id(child)] for child in node.children)
    height = level[id(tree)]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3.0, 0.75 * leaves + 1.2), 0.9 * height + 1.6), layout="constrained")
    for node in nodes:
        for child in node.children:
            ax.plot([x[id(node)], x[id(child)]], [level[id(node)], level[id(child)]], color="0.45",
                    linewidth=1.0, zorder=1)
    for node in nodes:
        if labels is not None:
            text = labels(node)
        else:
            text = "•" if node.token is None else str(node.token)
        ax.text(x[id(node)], level[id(node)], text, ha="center", va="center", fontsize=fontsize, zorder=2,
                bbox={"boxstyle": "round,pad=0.3", "edgecolor": "0.3",
                      "facecolor": "#fff3c4" if node.is_leaf else "#d6e6f5"})
    ax.set_xlim(-0.7, leaves - 0.3)
    ax.set_ylim(-0.6, height + 0.6)
    ax.set_xticks([])
    ax.set_yticks(range(height + 1))
    ax.set_ylabel("level (height of the node)")
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Tree with {len(nodes)} nodes" if title is None else title)
    return ax


def plot_spread(ax: Axes, x: Sequence[float], spreads: Sequence[Spread], *, label: str | None = None,
                color: str | None = None, marker: str = "o", show_runs: bool = True) -> Axes:
    """Draw a result measured over seeds as a curve of means with its spread (every chapter).

    The line joins the means; a band of the same colour runs from the lowest to the highest run at
    each ``x``; with ``show_runs`` every run is a faint point, so that a reader sees how many seeds
    there are and whether one of them is an outlier.

    Args:
        ax: the Axes to draw on.
        x: the setting of each point (a length, a number of layers, a learning rate).
        spreads: one :class:`~minigrad.experiments.Spread` per ``x``.
        label: the legend label of the curve; the legend says "mean and range over n seeds".
        color: the curve's colour; the next colour of the Axes' cycle when ``None``.
        marker: the marker of the means.
        show_runs: also draw each run as a point.

    Returns:
        The Axes drawn on.
    """
    if len(x) != len(spreads) or not spreads:
        raise ValueError(f"plot_spread: need one Spread per x, got {len(x)} x and {len(spreads)} spreads")
    _check_spreads(spreads, "plot_spread")
    counts = sorted({s.n for s in spreads})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    text = f"{label}: mean and range over {seeds} seeds" if label else None
    (line,) = ax.plot(x, [s.mean for s in spreads], marker=marker, color=color, label=text, zorder=3)
    ax.fill_between(x, [s.min for s in spreads], [s.max for s in spreads], color=line.get_color(),
                    alpha=0.18, linewidth=0, zorder=1)
    if show_runs:
        for xi, s in zip(x, spreads):
            ax.scatter([xi] * s.n, s.values, s=9, color=line.get_color(), alpha=0.45, linewidths=0, zorder=2)
    return ax


def compare_spreads(ax: Axes, spreads: Mapping[str, Spread], *, horizontal: bool = False,
                    show_runs: bool = True) -> Axes:
    """Draw one result per model over seeds: the mean as a dot, the range as a bar, the runs as points.

    Args:
        ax: the Axes to draw on.
        spreads: the models' names and their :class:`~minigrad.experiments.Spread`, in drawing order.
        horizontal: put the models on the y axis (for long names).
        show_runs: also draw each run as a point beside its mean.

    Returns:
        The Axes drawn on; the axis of the models is labelled with their names.
    """
    if not spreads:
        raise ValueError("compare_spreads: give at least one model")
    _check_spreads(list(spreads.values()), "compare_spreads")
    positions = range(len(spreads))
    for position, (name, s) in zip(positions, spreads.items()):
        low, high = s.mean - s.min, s.max - s.mean
        points = ([s.mean], [position]) if horizontal else ([position], [s.mean])
        errors = {"xerr" if horizontal else "yerr": [[low], [high]]}
        bar = ax.errorbar(*points, fmt="o", capsize=4, markersize=6, zorder=3, **errors)
        if show_runs:
            offsets = np.linspace(-0.18, 0.18, s.n) if s.n > 1 else np.zeros(1)
            runs = (s.values, position + offsets) if horizontal else (position + offsets, s.values)
            ax.scatter(*runs, s=10, alpha=0.45, color=bar.lines[0].get_color(), linewidths=0, zorder=2)
    names = list(spreads)
    if horizontal:
        ax.set_yticks(list(positions), names)
    else:
        ax.set_xticks(list(positions), names)
    return ax


def _check_spreads(spreads: Sequence[Spread], who: str) -> None:
    for s in spreads:
        if not isinstance(s, Spread):
            raise TypeError(f"{who} needs minigrad.experiments.Spread values, got {type(s).__name__}")


INLINE_FORMAT = "retina"  # PNG at twice the resolution, shown at its usual size


def crisp_inline_figures(figure: Any = None) -> None:
    """Show a notebook's matplotlib figures at twice the resolution, at their usual size.

    The book's ``book/matplotlibrc`` names this function in matplotlib's ``figure.hooks``, so
    matplotlib calls it with every figure a chapter makes with ``pyplot`` (the kernel runs in
    ``book/``, where matplotlib reads that file). Inside an IPython kernel with the inline
    backend it switches the inline output to ``"retina"``: a PNG with twice the pixels, stored
    with its display size, which the site shows at the same size as before, sharp on a
    high-density screen. Anywhere else (a script, a test, another backend) it does nothing. No
    chapter needs to change for it.

    Args:
        figure: the new figure (matplotlib passes it; unused).
    """
    del figure
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is there wherever a notebook runs
        return
    import matplotlib

    if get_ipython() is None or "inline" not in matplotlib.get_backend():
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats(INLINE_FORMAT)
