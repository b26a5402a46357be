"""Tests for minigrad.viz: what draw_graph puts on the Axes, and the layered layout."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from minigrad import Value  # noqa: E402
from minigrad.viz import draw_graph, graph_layers  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def small_graph():
    """L = tanh(a*b + a): 5 nodes, 3 ops, 5 distinct edges (a feeds two nodes)."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    loss = d.tanh()
    loss.label = "L"
    loss.backward()
    return loss, (a, b, c, d)


def patches_with(ax, gid, kind):
    return [p for p in ax.patches if isinstance(p, kind) and p.get_gid() == gid]


def texts_with(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_draws_one_box_per_node_one_tag_per_op_and_one_arrow_per_edge(direction):
    loss, _ = small_graph()
    ax = draw_graph(loss, direction=direction)
    assert len(patches_with(ax, "node", FancyBboxPatch)) == 5
    assert len(patches_with(ax, "op", FancyBboxPatch)) == 3
    assert len(patches_with(ax, "edge", FancyArrowPatch)) == 5
    assert sorted(texts_with(ax, "op-text")) == sorted(["×", "+", "tanh"])
    assert ax.get_title() == "Computation graph of L"


def test_box_texts_show_label_data_and_grad():
    loss, (a, b, c, d) = small_graph()
    texts = texts_with(draw_graph(loss, precision=4), "node-text")
    assert len(texts) == 5
    assert f"a\ndata 2\ngrad {a.grad:.4g}" in texts
    assert f"c\ndata -6\ngrad {c.grad:.4g}" in texts
    assert f"L\ndata {loss.data:.4g}\ngrad 1" in texts
    # Without grads, no box mentions one.
    texts = texts_with(draw_graph(loss, show_grad=False), "node-text")
    assert not any("grad" in t for t in texts)


def test_unlabelled_nodes_show_only_numbers():
    x = Value(1.5)
    y = x * 2.0  # the constant 2.0 becomes an unlabelled leaf
    texts = texts_with(draw_graph(y), "node-text")
    assert sorted(texts) == sorted(["data 1.5\ngrad 0", "data 2\ngrad 0", "data 3\ngrad 0"])


def test_reused_input_draws_a_single_arrow():
    a = Value(3.0, label="a")
    square = a * a
    ax = draw_graph(square)
    assert len(patches_with(ax, "edge", FancyArrowPatch)) == 1
    assert len(patches_with(ax, "node", FancyBboxPatch)) == 2


def test_draws_on_the_axes_it_is_given():
    loss, _ = small_graph()
    fig, ax = plt.subplots()
    assert draw_graph(loss, ax=ax, title="mine") is ax
    assert ax.get_title() == "mine"
    assert len(fig.axes) == 1


def test_arrows_point_from_inputs_towards_the_output():
    loss, _ = small_graph()
    for direction, axis, sign in (("LR", 0, 1), ("TB", 1, -1)):
        ax = draw_graph(loss, direction=direction)
        for arrow in patches_with(ax, "edge", FancyArrowPatch):
            start, end = arrow._posA_posB
            assert sign * (end[axis] - start[axis]) > 0


def unrolled_rnn(steps):
    w, u, h = Value(0.8, label="w"), Value(0.5, label="u"), Value(0.0, label="h0")
    xs = []
    for t in range(steps):
        x = Value(0.1 * (t + 1), label=f"x{t + 1}")
        xs.append(x)
        h = (w * h + u * x).tanh()
    return h, w, xs


def test_layers_put_inputs_before_their_consumers_and_root_last():
    root, w, xs = unrolled_rnn(3)
    layers = graph_layers(root)
    where = {id(node): i for i, layer in enumerate(layers) for node in layer}
    assert len(where) == len(root.topological_order())
    assert layers[-1] == [root]
    for node in root.topological_order():
        for child in node.inputs():
            assert where[id(child)] < where[id(node)]
    # A leaf sits right before its first consumer: x3 is next to step 3, not with the other leaves.
    assert where[id(w)] == 0
    assert [where[id(x)] for x in xs] == [0, 3, 6]


def test_layout_of_a_long_chain_does_not_recurse():
    root, _, _ = unrolled_rnn(3000)
    layers = graph_layers(root)
    assert len(layers) == 3 * 3000 + 1


def test_refuses_bad_input_with_a_clear_error():
    loss, _ = small_graph()
    with pytest.raises(TypeError, match="needs a Value, got float"):
        draw_graph(1.0)
    with pytest.raises(ValueError, match="direction must be one of"):
        draw_graph(loss, direction="RL")
    with pytest.raises(ValueError, match="5 nodes, more than max_nodes=4"):
        draw_graph(loss, max_nodes=4)


def test_importing_minigrad_does_not_import_matplotlib():
    code = "import sys, minigrad, minigrad.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_draw_tree_puts_each_node_on_the_row_of_its_level():
    from minigrad.nn import Tree
    from minigrad.viz import draw_tree

    tree = Tree.from_nested(((1, 2), (3, (4, 5))))
    ax = draw_tree(tree, labels=lambda node: f"t{node.token}" if node.is_leaf else "•")
    boxes = {text.get_text(): text.get_position() for text in ax.texts if text.get_text().startswith("t")}
    assert sorted(boxes) == ["t1", "t2", "t3", "t4", "t5"]
    assert [boxes[f"t{k}"] for k in range(1, 6)] == [(0.0, 0), (1.0, 0), (2.0, 0), (3.0, 0), (4.0, 0)]
    inner = sorted(text.get_position() for text in ax.texts if text.get_text() == "•")
    assert inner == [(0.5, 1), (1.625, 3), (2.75, 2), (3.5, 1)]  # above the middle of the children
    assert len(ax.lines) == len(tree) - 1  # one line per edge
    assert list(ax.get_yticks()) == [0, 1, 2, 3] and ax.get_title() == "Tree with 9 nodes"


def test_draw_tree_refuses_bad_input_with_a_clear_error():
    from minigrad.nn import Tree
    from minigrad.viz import draw_tree

    with pytest.raises(TypeError, match="draw_tree needs a minigrad.nn.Tree, got tuple"):
        draw_tree((1, 2))
    big = Tree(0)
    for _ in range(100):
        big = Tree(children=[big, Tree(1)])
    with pytest.raises(ValueError, match="201 nodes, more than max_nodes=150"):
        draw_tree(big)


def test_plot_spread_draws_means_band_and_runs():
    from minigrad.experiments import Spread
    from minigrad.viz import plot_spread

    fig, ax = plt.subplots()
    spreads = [Spread((1.0, 2.0, 3.0), (0, 1, 2)), Spread((2.0, 4.0, 6.0), (0, 1, 2))]
    plot_spread(ax, [10, 20], spreads, label="GRU")
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [2.0, 4.0]
    assert line.get_label() == "GRU: mean and range over 3 seeds"
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 1.0 and band[:, 1].max() == 6.0
    assert sum(len(c.get_offsets()) for c in ax.collections[1:]) == 6
    with pytest.raises(ValueError, match="one Spread per x"):
        plot_spread(ax, [1], spreads)
    with pytest.raises(TypeError, match="Spread"):
        plot_spread(ax, [1], [0.5])


def test_compare_spreads_labels_every_model():
    from minigrad.experiments import Spread
    from minigrad.viz import compare_spreads

    fig, ax = plt.subplots()
    compare_spreads(ax, {"RNN": Spread((0.2, 0.4), (0, 1)), "LSTM": Spread((0.9, 1.0), (0, 1))})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["RNN", "LSTM"]
    fig, ax = plt.subplots()
    compare_spreads(ax, {"a long name": Spread((1.0,), (0,))}, horizontal=True, show_runs=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a long name"]
    with pytest.raises(ValueError, match="at least one"):
        compare_spreads(ax, {})


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_an_edge_that_skips_a_layer_arcs_around_the_boxes_between(direction):
    """L = a + tanh(a): the edge a -> + skips the tanh layer, so it bends; the others are straight."""
    a = Value(1.0, label="a")
    loss = a + a.tanh()
    ax = draw_graph(loss, direction=direction)
    bends = sorted(float(p.get_connectionstyle().rad) for p in patches_with(ax, "edge", FancyArrowPatch))
    assert bends[:-1] == [0.0, 0.0] and bends[-1] > 0


def test_coloured_text_puts_one_cell_per_character_and_wraps_lines():
    from matplotlib.patches import Rectangle

    from minigrad.viz import draw_coloured_text

    fig, ax = plt.subplots()
    text = "ab\ncdefg"
    scale = draw_coloured_text(ax, text, [1.0, -1.0, 0.0, 0.5, 0, 0, 0, 0], columns=3)
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == len(text) and [t.get_text() for t in ax.texts] == ["a", "b", "↵", *"cdefg"]
    rows = sorted({-c.get_y() - 1 for c in cells})
    assert rows == [0, 1, 2]  # "ab↵", "cde", "fg"
    red, blue = cells[0].get_facecolor(), cells[1].get_facecolor()
    assert red[0] > red[2] and blue[2] > blue[0]  # positive red, negative blue
    assert scale.norm.vmin == -1 and scale.norm.vmax == 1
    with pytest.raises(ValueError, match="one value per character"):
        draw_coloured_text(ax, text, [1.0])
