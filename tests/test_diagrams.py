"""Tests for minigrad.diagrams: every figure draws, the same bytes every time, with its labels,
legibly (no text outside its box, no two texts on top of each other, every arrow touching the
shapes it joins, no figure wider than the page), and bad arguments get clear errors.

Also the crisp-plots hook that ``book/matplotlibrc`` installs (``minigrad.viz.crisp_inline_figures``).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib import style  # noqa: E402

from minigrad import diagrams  # noqa: E402
from minigrad.diagrams.render import STYLE, _draw  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGE_WIDTH = 7.4  # inches: wider figures are shrunk on the page and their text with them

# One call per figure of the book, plus variants that exercise other branches.
FIGURES = {
    "ch01 parameter_sharing": lambda: diagrams.parameter_sharing(tokens=("in", "1998", "i")),
    "ch02 folded": lambda: diagrams.unrolled_rnn(3, parts=("x", "h"), time="relative", folded=True),
    "ch02 folded, chapter 2's letters": lambda: diagrams.unrolled_rnn(
        3, parts=("x", "h"), time="relative", folded=True, symbols={"h": "s"}, weights={"W": "f", "U": ""}),
    "ch03 pattern A": lambda: diagrams.unrolled_rnn(4),
    "ch03 pattern A, highlighted": lambda: diagrams.unrolled_rnn(3, highlight=("h2", "h1->h2")),
    "ch03 pattern A folded": lambda: diagrams.unrolled_rnn(3, time="relative", folded=True),
    "ch03 batch_layout": lambda: diagrams.batch_layout(),
    "ch04 gradient_flow": lambda: diagrams.gradient_flow(),
    "ch04 truncated_bptt": lambda: diagrams.truncated_bptt(),
    "ch04 gradient_animation": lambda: diagrams.gradient_animation().still(),
    "ch04 gradient_animation, first frame": lambda: diagrams.gradient_animation().still(0),
    "ch05 pattern B": lambda: diagrams.unrolled_rnn(3, "B"),
    "ch05 pattern B folded": lambda: diagrams.unrolled_rnn(3, "B", time="relative", folded=True),
    "ch05 teacher_forcing": lambda: diagrams.teacher_forcing(),
    "ch05 pattern C": lambda: diagrams.unrolled_rnn(4, "C"),
    "ch05 io_shapes": lambda: diagrams.io_shapes(examples={"many-to-one": "sentiment of a review"}),
    "ch05 encoder_decoder": lambda: diagrams.encoder_decoder(),
    "ch05 encoder_decoder, context every step": lambda: diagrams.encoder_decoder(context="every"),
    "ch06 language_model": lambda: diagrams.language_model(),
    "ch06 beam_search_tree": lambda: diagrams.beam_search_tree(),
    "ch07 bidirectional_rnn": lambda: diagrams.bidirectional_rnn(),
    "ch07 bidirectional_rnn with loss": lambda: diagrams.bidirectional_rnn(3, parts=("x", "h", "o", "L", "y")),
    "ch07 stacked_rnn": lambda: diagrams.stacked_rnn(),
    "ch08 jacobian_chain": lambda: diagrams.jacobian_chain(),
    "ch09 gru_cell": lambda: diagrams.gru_cell(),
    "ch09 simplified gru_cell": lambda: diagrams.gru_cell(reset=False),
    "ch10 lstm_cell": lambda: diagrams.lstm_cell(),
    "ch10 cell_state_path": lambda: diagrams.cell_state_path(),
    "ch11 tree_network": lambda: diagrams.tree_network(),
    "ch11 tree_lstm_node": lambda: diagrams.tree_lstm_node("both"),
    "ch11 tree_lstm_node n-ary": lambda: diagrams.tree_lstm_node("n-ary"),
    "ch12 raster_order": lambda: diagrams.raster_order(),
    "ch12 receptive_field": lambda: diagrams.receptive_field(),
    "ch12 receptive_field, two layers": lambda: diagrams.receptive_field(("row",), layers=2, k=2),
    "ch12 diagonal_skew": lambda: diagrams.diagonal_skew(),
    "ch13 fused_gates": lambda: diagrams.fused_gates(),
    "ch13 stacked_rnn": lambda: diagrams.stacked_rnn(2, 2, notation="superscript"),
    # the largest each function allows: they must fit the page too
    "largest unrolled_rnn": lambda: diagrams.unrolled_rnn(5),
    "largest unrolled_rnn, relative": lambda: diagrams.unrolled_rnn(5, "B", time="relative"),
    "largest unrolled_rnn, folded": lambda: diagrams.unrolled_rnn(3, "B", time="relative", folded=True),
    "largest teacher_forcing": lambda: diagrams.teacher_forcing(3),
    "largest io_shapes": lambda: diagrams.io_shapes(steps=4),
    "largest encoder_decoder": lambda: diagrams.encoder_decoder(1, 5, context="every"),
    "largest language_model": lambda: diagrams.language_model(tuple("hello")),
    "largest bidirectional_rnn": lambda: diagrams.bidirectional_rnn(4),
    "largest stacked_rnn": lambda: diagrams.stacked_rnn(5, 4),
    "largest parameter_sharing": lambda: diagrams.parameter_sharing(5),
    "largest gradient_flow": lambda: diagrams.gradient_flow(3, focus=2),
    "largest truncated_bptt": lambda: diagrams.truncated_bptt(8, chunk=4),
    "largest jacobian_chain": lambda: diagrams.jacobian_chain(3),
    "largest cell_state_path": lambda: diagrams.cell_state_path(3),
    "largest tree_network": lambda: diagrams.tree_network(((((1, 2), (3, 4)), ((5, 6), (7, 8))))),
    "largest raster_order": lambda: diagrams.raster_order(8, (7, 7)),
    "largest receptive_field": lambda: diagrams.receptive_field(size=9, pixel=(8, 8), k=2, layers=3),
    "largest diagonal_skew": lambda: diagrams.diagonal_skew(6, pixel=(5, 5)),
    "largest batch_layout": lambda: diagrams.batch_layout(6, 6, 4, highlight=5),
    "largest beam_search_tree": lambda: diagrams.beam_search_tree(width=3, then={
        "a": (("a", 0.4), ("b", 0.35), ("c", 0.25)), "b": (("a", 0.1), ("c", 0.9)), "c": (("b", 1.0),)}),
    "largest gradient_animation": lambda: diagrams.gradient_animation(6, factors=(0.5, 1.0, 2.0)).still(),
}


def render(diagram):
    """The drawn figure, the artists of each scene item, and a renderer to measure them."""
    with style.context(["default", STYLE]):
        figure, artists = _draw(diagram.scene)
        renderer = figure.canvas.get_renderer()
        figure.draw(renderer)
    return figure, artists, renderer


def overlap(a, b, tolerance: float = 1.0) -> bool:
    """Whether two display-space boxes overlap by more than ``tolerance`` pixels both ways."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance)


@pytest.fixture(params=sorted(FIGURES), scope="module")
def figure_case(request):
    diagram = FIGURES[request.param]()
    return request.param, diagram, *render(diagram)


def test_every_book_function_is_exercised():
    public = {name for name in diagrams.__all__ if name[0].islower() and name not in ("row", "column")}
    called = {name for make in FIGURES.values() for name in make.__code__.co_names}
    assert public <= called, f"no test case draws {sorted(public - called)}"


@pytest.mark.parametrize("name", [name for name in FIGURES if name.startswith("ch")])
def test_the_same_call_gives_the_same_svg_bytes(name):
    first, second = FIGURES[name]().to_svg(), FIGURES[name]().to_svg()
    assert first == second, f"{name}: two drawings differ"
    root = ElementTree.fromstring(first.encode("utf-8"))
    assert root.tag.endswith("svg"), name
    assert "<dc:date>" not in first, f"{name}: the SVG carries a date"


def test_png_is_drawn():
    png = diagrams.unrolled_rnn(2).to_png(dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_text_fits_inside_its_box(figure_case):
    name, diagram, _, artists, renderer = figure_case
    for shape in diagram.scene.shapes.values():
        if not shape.text:
            continue
        patch, text = artists[id(shape)]
        box, inner = patch.get_window_extent(renderer), text.get_window_extent(renderer)
        assert (inner.x0 >= box.x0 - 0.5 and inner.x1 <= box.x1 + 0.5 and inner.y0 >= box.y0 - 0.5
                and inner.y1 <= box.y1 + 0.5), f"{name}: {shape.text!r} does not fit its box {shape.key!r}"


def test_no_two_texts_overlap(figure_case):
    name, diagram, _, artists, renderer = figure_case
    texts = [a for items in artists.values() for a in items if a.get_label() == "text" and a.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not overlap(box_a, box_b), f"{name}: {a!r} overlaps {b!r}"


def test_labels_keep_off_other_shapes(figure_case):
    name, diagram, _, artists, renderer = figure_case
    shapes = [(s, artists[id(s)][0].get_window_extent(renderer)) for s in diagram.scene.shapes.values()]
    loose = [a for item in [*diagram.scene.arrows, *diagram.scene.texts] for a in artists[id(item)]
             if a.get_label() == "text" and a.get_text()]
    for text in loose:
        box = text.get_window_extent(renderer)
        for shape, outline in shapes:
            assert not overlap(box, outline), f"{name}: {text.get_text()!r} lies on {shape.key!r}"


def test_arrows_touch_the_shapes_they_join(figure_case):
    name, diagram, *_ = figure_case
    for arrow in diagram.scene.arrows:
        for key, point in ((arrow.source, arrow.points[0]), (arrow.target, arrow.points[-1])):
            if key is None:
                continue
            shape = diagram.scene.shapes[key]
            dx, dy = point[0] - shape.x, point[1] - shape.y
            if shape.kind == "circle":
                gap = abs((dx * dx + dy * dy) ** 0.5 - shape.w / 2)
            else:
                gap = abs(max(abs(dx) - shape.w / 2, abs(dy) - shape.h / 2))
            assert gap < 1e-6, f"{name}: arrow {arrow.key!r} ends {gap:.3g} in away from {key!r}"


def test_figures_fit_the_page(figure_case):
    name, diagram, figure, *_ = figure_case
    width, height = figure.get_size_inches()
    assert width <= PAGE_WIDTH, f"{name} is {width:.2f} in wide, more than the page's {PAGE_WIDTH} in"
    assert height <= 6.5, f"{name} is {height:.2f} in tall"


def test_alt_text_is_plain_and_says_something(figure_case):
    name, diagram, *_ = figure_case
    assert len(diagram.alt) > 60, name
    assert "$" not in diagram.alt and "\\" not in diagram.alt, f"{name}: alt text holds TeX: {diagram.alt!r}"


@pytest.mark.parametrize("make, expected", [
    (lambda: diagrams.unrolled_rnn(4), {"$U$", "$W$", "$V$", "$h^{(0)}$", "$x^{(4)}$", "$o^{(2)}$", "$L^{(3)}$",
                                        "$y^{(1)}$"}),
    (lambda: diagrams.unrolled_rnn(3, parts=("x", "h"), time="relative", folded=True),
     {"$h^{(t-1)}$", "$h^{(t)}$", "$h^{(t+1)}$", "unfold", "$h$", "$x$"}),
    (lambda: diagrams.unrolled_rnn(3, "B", feedback="target"), {"$y^{(2)}$", "$W$"}),
    (lambda: diagrams.gru_cell(), {"$r^{(t)}$", "$u^{(t)}$", r"$\tilde{h}^{(t)}$", "$h^{(t-1)}$", "$x^{(t)}$",
                                   r"$1{-}$", r"$\odot$", "$+$", r"$\sigma$", r"$\tanh$", "$W$", "$U$"}),
    (lambda: diagrams.lstm_cell(), {"$f^{(t)}$", "$i^{(t)}$", "$g^{(t)}$", "$o^{(t)}$", "$c^{(t-1)}$", "$c^{(t)}$",
                                    "$h^{(t)}$", r"$\odot$", "$+$", r"$\tanh$"}),
    (lambda: diagrams.gradient_flow(), {r"$V^{\top} \nabla_{o^{(t)}} L$", r"$W^{\top} \nabla_{a^{(t+1)}} L$",
                                        "$a^{(t+1)}$"}),
    (lambda: diagrams.jacobian_chain(), {"$J^{(t+1)}$", r"$\times J^{(t+1)\top}$", r"$L^{(\tau)}$"}),
    (lambda: diagrams.stacked_rnn(notation="superscript"), {"$h^{(2,3)}$", r"$\odot$"}),
    (lambda: diagrams.bidirectional_rnn(), {r"$\overrightarrow{h}{}^{(1)}$", r"$\overleftarrow{W}$"}),
    (lambda: diagrams.tree_network(), {r"$W_{\mathrm{L}}$", r"$W_{\mathrm{R}}$", "$h_{9}$", "$V$"}),
    (lambda: diagrams.tree_lstm_node(), {"$f_{j1}$", "$f_{j2}$", r"$\tilde h_j$", "$c_j$", "$h_j$"}),
    (lambda: diagrams.beam_search_tree(), {"best", "greedy"}),
    (lambda: diagrams.encoder_decoder(), {"$C$", r"$\langle\mathrm{bos}\rangle$", "$y^{(2)}$"}),
    (lambda: diagrams.fused_gates(), {"$W^{i}$", "$U^{o}$", "$g^{(t)}$"}),
])
def test_labels_are_the_books(make, expected):
    labels = set(make().labels())
    assert expected <= labels, f"missing {sorted(expected - labels)}"


def test_the_beam_tree_scores_are_sums_of_log_probabilities():
    labels = diagrams.beam_search_tree().labels()
    assert any(label.endswith("$-1.14$") and "b" in label and "c" in label for label in labels)  # log 0.4 + log 0.8
    assert any(label.endswith("$-1.61$") for label in labels)  # log 0.5 + log 0.4: greedy


def test_row_lstm_field_follows_the_chapter():
    from minigrad.diagrams.pixels import _row_lstm_field

    one = _row_lstm_field(7, 4, 3, k=1, layers=1)
    assert {(3, 2), (3, 3), (3, 4), (4, 2)} <= one  # the row above and the pixel to the left
    assert (4, 3) not in one and (4, 1) not in one  # not the target, only k pixels to the left
    assert (3, 6) not in one and (2, 6) not in one  # the blind spot at the upper right
    two = _row_lstm_field(7, 4, 3, k=1, layers=2)
    assert one < two and (4, 1) in two and (3, 6) not in two  # further left, not further right


# --- a notebook shows a diagram as SVG -------------------------------------------------------------
def test_a_notebook_gets_svg():
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(diagrams.unrolled_rnn(2))
    assert "image/svg+xml" in data and "text/html" not in data
    assert data["image/svg+xml"].lstrip().startswith("<?xml")


def test_import_needs_no_matplotlib():
    code = textwrap.dedent("""
        import importlib.abc, sys

        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "matplotlib":
                    raise ModuleNotFoundError("hidden by the test")

        sys.meta_path.insert(0, Missing())
        from minigrad import diagrams
        diagrams.lstm_cell()  # building a scene needs no matplotlib either
        try:
            diagrams.lstm_cell().to_svg()
        except ModuleNotFoundError as error:
            assert "hidden by the test" in str(error)
        else:
            raise AssertionError("drawing without matplotlib should fail")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# --- the animation -----------------------------------------------------------------------------------
def test_the_animation_is_offline_small_and_stable():
    animation = diagrams.gradient_animation()
    page = animation.to_html()
    assert page == diagrams.gradient_animation().to_html()
    assert len(page.encode("utf-8")) < 1024 * 1024
    assert not re.search(r"<link|<script[^>]+src=|url\(\s*['\"]?https?:|<img[^>]+src=['\"]https?:", page)
    assert page.count("<script") == 1 and "<svg" in page and "<?xml" not in page
    frames = len(animation.frames)
    for k in range(frames):
        assert re.search(rf'id="gradient-animation-frame-{k}-\d+"', page), f"frame {k} has no elements"
    assert f'max="{frames - 1}"' in page and 'aria-label="' in page


def test_the_animation_shows_the_norms():
    animation = diagrams.gradient_animation(4, factors=(0.5,))
    shown = [t.text for frame in animation.frames for t in frame.texts]
    assert shown == ["1", "0.5", "0.25", "0.12"]
    measured = diagrams.gradient_animation(3, norms={"measured": [1.0, 0.3, 0.02]})
    assert [t.text for frame in measured.frames for t in frame.texts] == ["1", "0.3", "0.02"]


def test_two_animations_on_a_page_need_two_names():
    first = diagrams.gradient_animation(name="vanishing").to_html()
    assert 'id="vanishing"' in first and "gradient-animation" not in first


# --- bad arguments -------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: diagrams.unrolled_rnn(0), "steps must be an integer from 1 to 5"),
    (lambda: diagrams.unrolled_rnn(3.0), "steps must be an integer"),
    (lambda: diagrams.unrolled_rnn(True), "steps must be an integer"),
    (lambda: diagrams.unrolled_rnn(3, "D"), "pattern must be one of"),
    (lambda: diagrams.unrolled_rnn(3, time="later"), "time must be one of"),
    (lambda: diagrams.unrolled_rnn(3, parts=("x", "o")), "parts must include 'h'"),
    (lambda: diagrams.unrolled_rnn(3, parts=("x", "h", "z")), "parts must include 'h'"),
    (lambda: diagrams.unrolled_rnn(3, "B", parts=("x", "h")), "needs 'o' in parts"),
    (lambda: diagrams.unrolled_rnn(3, symbols={"q": "s"}), "unknown part 'q'"),
    (lambda: diagrams.unrolled_rnn(3, weights={"Q": "s"}), "unknown weight 'Q'"),
    (lambda: diagrams.unrolled_rnn(3, feedback="none"), "feedback must be"),
    (lambda: diagrams.io_shapes(("one-to-two",)), "shapes must be a non-empty choice"),
    (lambda: diagrams.io_shapes(()), "shapes must be a non-empty choice"),
    (lambda: diagrams.io_shapes(("one-to-one",), examples={"many-to-one": "x"}), "examples given for shapes"),
    (lambda: diagrams.encoder_decoder(context="sometimes"), "context must be one of"),
    (lambda: diagrams.encoder_decoder(0), "source_steps must be an integer"),
    (lambda: diagrams.language_model(()), "give 1 to 5 tokens"),
    (lambda: diagrams.stacked_rnn(layers=9), "layers must be an integer from 1 to 4"),
    (lambda: diagrams.stacked_rnn(notation="prefix"), "notation must be one of"),
    (lambda: diagrams.bidirectional_rnn(parts=("x", "h")), "parts must hold"),
    (lambda: diagrams.parameter_sharing(kernel=2), "kernel must be odd"),
    (lambda: diagrams.parameter_sharing(tokens=("a",)), "give 3 tokens, one per position, got 1"),
    (lambda: diagrams.unrolled_rnn(6), "steps must be an integer from 1 to 5"),
    (lambda: diagrams.unrolled_rnn(4, folded=True), "with folded=True draw 1 to 3 steps"),
    (lambda: diagrams.encoder_decoder(4, 3), "at most 6 steps in all"),
    (lambda: diagrams.truncated_bptt(8, chunk=1), "too wide for the page"),
    (lambda: diagrams.tree_network(((1, 2), (3, 4), (5, 6), (7, 8), 9)), "two children"),
    (lambda: diagrams.tree_network(((((1, 2), (3, 4)), ((5, 6), (7, 8))), 9)), "at most 8 leaves"),
    (lambda: diagrams.gradient_flow(3, focus=3), "focus must be an integer from 1 to 2"),
    (lambda: diagrams.truncated_bptt(4, chunk=5), "chunk must be an integer from 1 to 4"),
    (lambda: diagrams.gradient_animation(factors=(0.5, -1.0)), "factors must be positive"),
    (lambda: diagrams.gradient_animation(3, norms={"a": [1.0, 0.5]}), "must be 3 positive numbers"),
    (lambda: diagrams.gradient_animation(name="Two Words"), "name must be lowercase"),
    (lambda: diagrams.gradient_animation().still(6), "frame must be from -6 to 5"),
    (lambda: diagrams.tree_network((1, 2, 3)), "two children"),
    (lambda: diagrams.tree_lstm_node("ternary"), "variant must be one of"),
    (lambda: diagrams.beam_search_tree(width=4), "width must be 1, 2 or 3"),
    (lambda: diagrams.beam_search_tree((("a", 1.5),)), "must be in (0, 1]"),
    (lambda: diagrams.beam_search_tree((("a", 0.5), ("z", 0.4))), "no second step given"),
    (lambda: diagrams.raster_order(pixel=(5, 0)), "outside a 5 x 5 image"),
    (lambda: diagrams.receptive_field(("row", "column")), "kinds must be a non-empty choice"),
    (lambda: diagrams.receptive_field(k=3), "k must be an integer from 1 to 2"),
    (lambda: diagrams.diagonal_skew(9), "size must be an integer from 2 to 6"),
    (lambda: diagrams.batch_layout(highlight=5), "highlight must be an integer from 0 to 4"),
    (lambda: diagrams.fused_gates(("i", "i")), "distinct gate names"),
    (lambda: diagrams.row(), "needs at least one diagram"),
    (lambda: diagrams.row(diagrams.lstm_cell(), titles=("a", "b")), "1 diagrams but 2 titles"),
    (lambda: diagrams.lstm_cell().save("cell.pdf"), "must end in .svg or .png"),
])
def test_bad_arguments_get_clear_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_panels_must_be_diagrams():
    with pytest.raises(TypeError, match="row takes Diagrams, got str"):
        diagrams.row("lstm")


def test_scene_refuses_what_it_cannot_draw():
    scene = diagrams.Scene()
    scene.state("a", 0, 0, "$a$")
    with pytest.raises(ValueError, match="already has a shape named 'a'"):
        scene.state("a", 1, 0, "$b$")
    with pytest.raises(ValueError, match="unknown role 'colour'"):
        scene.state("b", 1, 0, "$b$", "colour")
    with pytest.raises(KeyError, match="no shape named 'c'"):
        scene.arrow("a", "c")
    with pytest.raises(ValueError, match="label_side must be"):
        scene.arrow("a", (2, 0), label_side="above")
    with pytest.raises(ValueError, match="does not leave it"):
        scene.arrow("a", (0.1, 0.0))


def test_save_writes_the_format_the_name_asks_for(tmp_path):
    diagram = diagrams.unrolled_rnn(2)
    assert diagram.save(tmp_path / "a.svg").read_text().startswith("<?xml")
    assert diagram.save(tmp_path / "a.png", dpi=40).read_bytes()[:4] == b"\x89PNG"


# --- crisp plots ---------------------------------------------------------------------------------------
def test_the_book_installs_the_crisp_plots_hook():
    from matplotlib import rc_params_from_file

    params = rc_params_from_file(ROOT / "book" / "matplotlibrc", use_default_template=False)
    assert params["figure.hooks"] == ["minigrad.viz:crisp_inline_figures"]


def test_the_crisp_plots_hook_leaves_scripts_alone():
    import matplotlib.pyplot as plt

    from minigrad import viz

    with matplotlib.rc_context({"figure.hooks": ["minigrad.viz:crisp_inline_figures"]}):
        figure = plt.figure()  # the hook runs, outside IPython: nothing to do
    plt.close(figure)
    viz.crisp_inline_figures(None)


def test_the_crisp_plots_hook_asks_an_inline_kernel_for_retina():
    code = textwrap.dedent("""
        import matplotlib
        matplotlib.use("module://matplotlib_inline.backend_inline")
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        import matplotlib.pyplot as plt
        with matplotlib.rc_context({"figure.hooks": ["minigrad.viz:crisp_inline_figures"]}):
            figure, ax = plt.subplots(figsize=(4, 2))
        ax.plot([0, 1], [0, 1])
        data, metadata = shell.display_formatter.format(figure)
        from PIL import Image
        import base64, io
        png = Image.open(io.BytesIO(base64.b64decode(data["image/png"]) if isinstance(data["image/png"], str)
                                    else data["image/png"]))
        shown = metadata["image/png"]["width"]
        assert png.size[0] >= 2 * shown - 2, (png.size, shown)
        print("retina", png.size, shown)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "retina" in result.stdout
