"""Unrolled recurrent networks: the patterns, the input–output shapes, encoder–decoder, language
model, bidirectional and stacked networks (chapters 1–3, 5–7 and 13).

Time runs from left to right and data from bottom to top: inputs :math:`x^{(t)}` on the bottom
row, hidden states :math:`h^{(t)}` above them, then outputs :math:`o^{(t)}`, losses
:math:`L^{(t)}` and targets :math:`y^{(t)}`. Arrows carry the book's weight names: :math:`U`
input to hidden, :math:`W` hidden to hidden, :math:`V` hidden to output.

Shape keys, for ``highlight``: ``"x3"`` is :math:`x^{(3)}` (the third column), ``"h0"`` the
initial state; an arrow is ``"<source>-><target>"``, e.g. ``"h2->h3"``.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from minigrad.diagrams.language import LABEL_FONT, MUTED_COLOUR, NOTE_FONT, STATE_SIZE, Scene
from minigrad.diagrams.render import Diagram, column, row

__all__ = [
    "bidirectional_rnn", "encoder_decoder", "io_shapes", "language_model", "parameter_sharing",
    "stacked_rnn", "teacher_forcing", "unrolled_rnn",
]

COLUMN = 1.2  # inches between two time steps
ROW = 0.85  # inches between two rows of states
PARTS = ("x", "h", "o", "L", "y")
ROLE_OF = {"x": "input", "h": "hidden", "o": "output", "L": "loss", "y": "target"}
WEIGHTS = {"U": "U", "W": "W", "V": "V"}
PATTERNS = ("A", "B", "C")
TIMES = ("absolute", "relative")


def unrolled_rnn(
    steps: int = 3,
    pattern: str = "A",
    *,
    parts: Sequence[str] = PARTS,
    time: str = "absolute",
    folded: bool = False,
    symbols: Mapping[str, str] | None = None,
    weights: Mapping[str, str] | None = None,
    feedback: str = "output",
    highlight: Iterable[str] = (),
) -> Diagram:
    """A recurrent network unrolled over ``steps`` time steps (Goodfellow et al. Figs 10.2–10.5).

    Serves chapter 2 (the folded recurrence with its delay and the unfolded chain:
    ``unrolled_rnn(3, parts=("x", "h"), time="relative", folded=True)``), chapter 3 (pattern A
    with :math:`x, h, o, L, y` and :math:`U, W, V`: ``unrolled_rnn(4)``) and chapter 5 (patterns
    B and C: ``unrolled_rnn(3, "B")``, ``unrolled_rnn(4, "C")``).

    Pattern A has a recurrence from hidden state to hidden state and an output at every step;
    pattern B feeds the output :math:`o^{(t-1)}` (or, with ``feedback="target"``, the target
    :math:`y^{(t-1)}`: teacher forcing) back into :math:`h^{(t)}`; pattern C has the
    hidden-to-hidden recurrence and one output, after the last step.

    Args:
        steps: the number of time steps drawn, 1 to 5 (1 to 3 with ``folded``).
        pattern: ``"A"``, ``"B"`` or ``"C"``.
        parts: which rows to draw, from ``("x", "h", "o", "L", "y")``; ``"h"`` is required.
        time: ``"absolute"`` numbers the steps 1 to ``steps`` and draws the initial state
            :math:`h^{(0)}`; ``"relative"`` labels them around :math:`t` (``t-1, t, t+1`` for
            3 steps) with arrows coming in from earlier steps and leaving for later ones.
        folded: also draw, on the left, the folded network: one cell whose recurrence loops
            back through a delay (the black square), and an arrow to its unfolding.
        symbols: other letters for the rows, e.g. ``{"h": "s"}`` for chapter 2's state.
        weights: other labels for the arrows, e.g. ``{"W": "f", "U": ""}``; an empty label
            hides it.
        feedback: pattern B only: ``"output"`` (:math:`o^{(t-1)} \\to h^{(t)}`, free running)
            or ``"target"`` (:math:`y^{(t-1)} \\to h^{(t)}`, teacher forcing).
        highlight: keys of shapes or arrows to draw with a thick outline (see the module doc).

    Returns:
        The diagram.

    Raises:
        ValueError: an unknown pattern, time, part or feedback, or a step count out of range.
    """
    _check_steps(steps, 1, 5)
    if folded and steps > 3:
        raise ValueError(f"unrolled_rnn: with folded=True draw 1 to 3 steps (the page is not wider), got {steps}")
    if pattern not in PATTERNS:
        raise ValueError(f"unrolled_rnn: pattern must be one of {PATTERNS}, got {pattern!r}")
    if time not in TIMES:
        raise ValueError(f"unrolled_rnn: time must be one of {TIMES}, got {time!r}")
    if feedback not in ("output", "target"):
        raise ValueError(f"unrolled_rnn: feedback must be 'output' or 'target', got {feedback!r}")
    parts = tuple(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown or "h" not in parts:
        raise ValueError(f"unrolled_rnn: parts must include 'h' and come from {PARTS}, got {parts}")
    if pattern == "B" and ("o" if feedback == "output" else "y") not in parts:
        raise ValueError(f"unrolled_rnn: pattern B with feedback={feedback!r} needs "
                         f"{'o' if feedback == 'output' else 'y'!r} in parts")
    names = _symbols(symbols)
    labels = _weights(weights)
    rows = {p: i * ROW for i, p in enumerate(p for p in PARTS if p in parts)}
    strong = set(highlight)
    scene = Scene()

    x0 = 0.0
    if folded:
        right = _folded_cell(scene, rows, names, labels, pattern)
        mid = rows["h"] if pattern != "B" else (rows["h"] + rows["o"]) / 2
        scene.arrow((right, mid), (right + 0.7, mid), key="unfold", width=2.2)
        scene.text(right + 0.35, mid + 0.08, "unfold", fontsize=NOTE_FONT, colour=MUTED_COLOUR, va="bottom")
        x0 = right + 1.35

    times = _times(steps, time)
    first = 0 if time == "absolute" and pattern != "B" else 1  # column 0 is the initial state h^(0)
    left = x0 + (0.55 if time == "relative" else 0.0)  # room for the arrow coming in from earlier steps
    columns = {i: left + (i - first) * COLUMN for i in range(first, steps + 1)}
    last = steps
    for i, x in columns.items():
        t = times[i]
        if i == 0:
            scene.state("h0", x, rows["h"], _label(names["h"], t), "hidden", emphasis=_em("h0", strong))
            continue
        for part, y in rows.items():
            if pattern == "C" and part in ("o", "L", "y") and i != last:
                continue
            key = f"{part}{i}"
            scene.state(key, x, y, _label(names[part], t), ROLE_OF[part], emphasis=_em(key, strong))

    for i in range(1, steps + 1):
        has_output = pattern != "C" or i == last
        if "x" in rows:
            _arrow(scene, f"x{i}", f"h{i}", _math(labels["U"]), strong)
        if "o" in rows and has_output:
            _arrow(scene, f"h{i}", f"o{i}", _math(labels["V"]), strong)
        if "L" in rows and has_output:
            if "o" in rows:
                _arrow(scene, f"o{i}", f"L{i}", "", strong)
            if "y" in rows:
                _arrow(scene, f"y{i}", f"L{i}", "", strong)
        # the recurrence into step i
        if pattern == "B":
            source = "o" if feedback == "output" else "y"
            if i > 1:
                _feedback(scene, f"{source}{i - 1}", f"h{i}", _math(labels["W"]), strong)
        elif i > first:
            _arrow(scene, f"h{i - 1}", f"h{i}", _math(labels["W"]), strong)

    if time == "relative":
        _dangling_ends(scene, rows, columns, pattern, feedback, labels)

    alt = _unrolled_alt(steps, pattern, parts, names, labels, time, folded, feedback)
    return Diagram(scene, alt)


def teacher_forcing(steps: int = 3) -> Diagram:
    """Pattern B trained with teacher forcing and run free, side by side (chapter 5; Goodfellow Fig. 10.6).

    Left, training: the target :math:`y^{(t-1)}` is fed into :math:`h^{(t)}`, so every step can
    be computed at once. Right, at test time: no target is known, and the network's own output
    :math:`o^{(t-1)}` is fed back instead.

    Args:
        steps: time steps per panel, 2 or 3.

    Returns:
        The two-panel diagram.
    """
    _check_steps(steps, 2, 3)
    train = unrolled_rnn(steps, "B", feedback="target")
    test = unrolled_rnn(steps, "B", parts=("x", "h", "o"), feedback="output")
    return row(train, test, titles=("Training: teacher forcing", "Test time: running free"), gap=0.7,
               alt=(f"Two unrolled pattern B networks over {steps} steps. In training, the target "
                    "y(t-1) feeds the hidden state h(t) through W, so all steps are computed at once. "
                    "At test time the network's own output o(t-1) takes the place of the target."))


def _folded_cell(scene: Scene, rows: Mapping[str, float], names, labels, pattern: str) -> float:
    """The folded network: one column, with the recurrence drawn as a loop through a delay.

    Returns:
        The x coordinate where the folded drawing ends.
    """
    x = 0.3
    for part, y in rows.items():
        scene.state(f"fold.{part}", x, y, f"${names[part]}$", ROLE_OF[part])
    if "x" in rows:
        scene.arrow("fold.x", "fold.h", _math(labels["U"]), key="fold.x->fold.h")
    if "o" in rows:
        scene.arrow("fold.h", "fold.o", _math(labels["V"]), key="fold.h->fold.o")
    if "L" in rows:
        if "o" in rows:
            scene.arrow("fold.o", "fold.L", key="fold.o->fold.L")
        if "y" in rows:
            scene.arrow("fold.y", "fold.L", key="fold.y->fold.L")
    source = scene.shapes["fold.h" if pattern != "B" else "fold.o"]
    h = scene.shapes["fold.h"]
    # the recurrence: a loop out of the right side of the source and back into the right side of h
    reach, lift = (0.8, 0.45) if source is h else (0.7, 0.0)
    loop = scene.arrow((source.right, source.y + 0.12 * (source is h)),
                       (h.right, h.y - 0.12 * (source is h)),
                       controls=((source.right + reach, source.y + lift), (h.right + reach, h.y - lift)),
                       key="fold.loop")
    # the delay: a black square at the far point of the loop, with the loop's weight beside it
    (apex_x, apex_y), _ = loop.point_at(0.5)
    scene.delay("fold.delay", apex_x, apex_y)
    if labels["W"]:
        scene.text(apex_x + 0.12, apex_y, _math(labels["W"]), fontsize=LABEL_FONT, ha="left")
    return apex_x + 0.45


def _dangling_ends(scene: Scene, rows, columns, pattern, feedback, labels) -> None:
    """Arrows from earlier steps into the first column and from the last column to later steps."""
    first, last = min(columns), max(columns)
    if pattern == "B":
        source = "o" if feedback == "output" else "y"
        h, src = scene.shapes[f"h{first}"], scene.shapes[f"{source}{last}"]
        gutter = h.left - (COLUMN - STATE_SIZE[0]) / 2
        scene.arrow((gutter, src.y), f"h{first}", _math(labels["W"]), via=((gutter, h.y),), key="in",
                    label_at=0.4, label_side="right")
        scene.text(gutter, src.y + 0.08, r"$\cdots$", fontsize=LABEL_FONT, va="bottom")
        out = src.right + (COLUMN - STATE_SIZE[0]) / 2
        scene.arrow(f"{source}{last}", (out, h.y), via=((out, src.y),), key="out")
        return
    h0, h1 = scene.shapes[f"h{first}"], scene.shapes[f"h{last}"]
    scene.arrow((h0.left - 0.5, h0.y), f"h{first}", _math(labels["W"]), key="in")
    scene.text(h0.left - 0.62, h0.y, r"$\cdots$", fontsize=LABEL_FONT, ha="right")
    if pattern != "C":
        scene.arrow(f"h{last}", (h1.right + 0.5, h1.y), _math(labels["W"]), key="out")
        scene.text(h1.right + 0.62, h1.y, r"$\cdots$", fontsize=LABEL_FONT, ha="left")


def _unrolled_alt(steps, pattern, parts, names, labels, time, folded, feedback) -> str:
    h, x = names["h"], names["x"]
    what = {"A": "with an output at every step", "B": "whose outputs feed the next hidden state",
            "C": "with one output after the last step"}[pattern]
    text = [f"A recurrent network (pattern {pattern}, {what}) unrolled over {steps} steps, time running left to right."]
    if folded:
        text.insert(0, f"Left: the folded network, a cell {h} whose output loops back into it through a one-step delay.")
    if "x" in parts:
        text.append(f"Each input {x}(t) enters the hidden state {h}(t)" + (f" through {labels['U']}." if labels["U"] else "."))
    if pattern == "B":
        fed = "output o(t-1)" if feedback == "output" else "target y(t-1)"
        text.append(f"The {fed} enters {h}(t)" + (f" through {labels['W']}." if labels["W"] else "."))
    else:
        text.append(f"Each hidden state feeds the next" + (f" through {labels['W']}." if labels["W"] else "."))
    if "o" in parts:
        text.append(f"The hidden state gives the output o(t)" + (f" through {labels['V']}" if labels["V"] else "")
                    + (", and the output with the target y(t) gives the loss L(t)." if "L" in parts else "."))
    if time == "relative":
        text.append("Arrows enter from earlier steps on the left and leave for later steps on the right.")
    return " ".join(text)


# --- shared helpers ---------------------------------------------------------------------------------
def _check_steps(steps: int, low: int, high: int, what: str = "steps") -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or not low <= steps <= high:
        raise ValueError(f"{what} must be an integer from {low} to {high}, got {steps!r}")


def _symbols(symbols: Mapping[str, str] | None) -> dict[str, str]:
    names = {p: p for p in PARTS}
    for part, name in (symbols or {}).items():
        if part not in PARTS:
            raise ValueError(f"symbols: unknown part {part!r}; the parts are {PARTS}")
        names[part] = name
    return names


def _weights(weights: Mapping[str, str] | None) -> dict[str, str]:
    """The weight names to print, as plain text: the book's unless ``weights`` renames them."""
    labels = dict(WEIGHTS)
    for name, label in (weights or {}).items():
        if name not in WEIGHTS:
            raise ValueError(f"weights: unknown weight {name!r}; the weights are {tuple(WEIGHTS)}")
        labels[name] = label
    return labels


def _math(text: str) -> str:
    """``text`` as matplotlib mathtext (empty stays empty)."""
    return f"${text}$" if text else ""


def _times(steps: int, time: str) -> dict[int, str]:
    if time == "absolute":
        return {i: str(i) for i in range(steps + 1)}
    centre = (steps + 1) // 2
    out = {}
    for i in range(1, steps + 1):
        offset = i - centre
        out[i] = "t" if offset == 0 else f"t{offset:+d}"
    return out


def _label(symbol: str, time: str) -> str:
    return f"${symbol}^{{({time})}}$"


def _em(key: str, strong: set[str]) -> str:
    return "strong" if key in strong else "normal"


def _feedback(scene: Scene, source: str, target: str, label: str, strong: set[str]):
    """Pattern B's recurrence: from the right of ``source`` down the gap between two columns into
    the left of ``target``, labelled on the way down."""
    s, h = scene.shapes[source], scene.shapes[target]
    gutter = (s.right + h.left) / 2
    across, down = gutter - s.right, s.y - h.y
    at = (across + down / 2) / (2 * across + down)
    return _arrow(scene, source, target, label, strong, via=((gutter, s.y), (gutter, h.y)),
                  label_at=at, label_side="right")


def _legend(scene: Scene, x: float, y: float, text: str, *, dashed: bool = True, role: str = "forward") -> None:
    """A legend line at ``(x, y)``: a short arrow in the given style, then what it means."""
    scene.arrow((x, y), (x + 0.45, y), key=f"legend:{text}", dashed=dashed, role=role, width=1.0)
    scene.text(x + 0.55, y, text, fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)


def _arrow(scene: Scene, source: str, target: str, label: str, strong: set[str], **kwargs):
    key = f"{source}->{target}"
    return scene.arrow(source, target, label, key=key, emphasis=_em(key, strong), **kwargs)


SHAPES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many", "encoder-decoder")
SHAPE_TITLES = {"one-to-one": "one to one", "one-to-many": "one to many", "many-to-one": "many to one",
                "many-to-many": "many to many, aligned", "encoder-decoder": "encoder–decoder"}
SMALL = (0.34, 0.28)  # the boxes of the small panels
SMALL_COLUMN, SMALL_ROW = 0.6, 0.62
ROW_WIDTH = 7.2  # inches (about 690 CSS pixels): a wider row of panels is split


def io_shapes(shapes: Sequence[str] = SHAPES, steps: int = 3, *,
              examples: Mapping[str, str] | None = None) -> Diagram:
    """The input–output shapes of recurrent problems, one small unrolled network each (chapter 5).

    Inputs (green) enter from below, outputs (orange) leave above, and the hidden states (blue)
    pass their state to the right. ``"encoder-decoder"`` reads ``steps`` inputs before it
    writes ``steps`` outputs.

    Args:
        shapes: which shapes to draw, in order, from ``"one-to-one"``, ``"one-to-many"``,
            ``"many-to-one"``, ``"many-to-many"`` (aligned) and ``"encoder-decoder"``.
        steps: time steps of each sequence, 2 to 4.
        examples: a task to print under a shape's name, e.g. ``{"many-to-one": "sentiment"}``.

    Returns:
        One panel per shape, side by side.

    Raises:
        ValueError: an unknown shape, no shapes, or a step count out of range.
    """
    _check_steps(steps, 2, 4)
    shapes = tuple(shapes)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        raise ValueError(f"io_shapes: shapes must be a non-empty choice from {SHAPES}, got {shapes}")
    unknown = [s for s in (examples or {}) if s not in shapes]
    if unknown:
        raise ValueError(f"io_shapes: examples given for shapes not drawn: {unknown}")
    panels = []
    for shape in shapes:
        scene = Scene()
        if shape == "one-to-one":
            columns, inputs, outputs = 1, {0}, {0}
        elif shape == "one-to-many":
            columns, inputs, outputs = steps, {0}, set(range(steps))
        elif shape == "many-to-one":
            columns, inputs, outputs = steps, set(range(steps)), {steps - 1}
        elif shape == "many-to-many":
            columns, inputs, outputs = steps, set(range(steps)), set(range(steps))
        else:
            columns, inputs, outputs = 2 * steps, set(range(steps)), set(range(steps, 2 * steps))
        for i in range(columns):
            x = i * SMALL_COLUMN
            scene.state(f"h{i}", x, SMALL_ROW, "", "hidden", size=SMALL)
            if i in inputs:
                scene.state(f"x{i}", x, 0.0, "", "input", size=SMALL)
                scene.arrow(f"x{i}", f"h{i}")
            if i in outputs:
                scene.state(f"o{i}", x, 2 * SMALL_ROW, "", "output", size=SMALL)
                scene.arrow(f"h{i}", f"o{i}")
            if i:
                scene.arrow(f"h{i - 1}", f"h{i}")
        centre = (columns - 1) * SMALL_COLUMN / 2
        scene.text(centre, -0.38, SHAPE_TITLES[shape], fontsize=NOTE_FONT, va="top")
        if examples and shape in examples:
            scene.text(centre, -0.62, examples[shape], fontsize=NOTE_FONT - 1, va="top", colour=MUTED_COLOUR)
        panels.append(Diagram(scene, ""))
    described = {
        "one-to-one": "one to one (one input, one output, no recurrence)",
        "one-to-many": "one to many (one input at the first step, an output at every step)",
        "many-to-one": "many to one (an input at every step, one output after the last)",
        "many-to-many": "many to many, aligned (an input and an output at every step)",
        "encoder-decoder": (f"encoder–decoder ({steps} inputs read first, then {steps} outputs "
                            "written, the state passed along throughout)"),
    }
    alt = ("Small unrolled networks, time running left to right, inputs below, hidden states in the "
           "middle, outputs above: " + "; ".join(described[s] for s in shapes) + ".")
    widths = [d.scene.bounds()[2] - d.scene.bounds()[0] + 0.55 for d in panels]
    if sum(widths) <= ROW_WIDTH or len(panels) == 1:
        return row(*panels, gap=0.55, alt=alt)
    split = min(range(1, len(panels)), key=lambda k: max(sum(widths[:k]), sum(widths[k:])))
    return column(row(*panels[:split], gap=0.55), row(*panels[split:], gap=0.55), gap=0.35, alt=alt)


CONTEXTS = ("initial", "every")


def encoder_decoder(source_steps: int = 3, target_steps: int = 3, *, context: str = "initial",
                    feedback: bool = True) -> Diagram:
    """An encoder–decoder: one network reads the input, another writes the output (chapter 5).

    The encoder (pattern C) reads :math:`x^{(1)}, \\dots, x^{(\\tau)}` into its last state,
    which becomes the context vector :math:`C`. The decoder is pattern A started from the
    context and fed, at step :math:`t`, the previous target token :math:`y^{(t-1)}` (a start
    token at :math:`t = 1`). Dashed arrows show what is fed instead when the decoder runs free:
    its own previous prediction.

    Args:
        source_steps: input steps, 1 to 5.
        target_steps: output steps, 1 to 5; at most 6 steps in all.
        context: ``"initial"``: the context is the decoder's initial state :math:`h^{(0)}`
            (Sutskever et al. 2014, and chapter 5's network); ``"every"``: it is also fed to
            every decoder step (Cho et al. 2014).
        feedback: draw the dashed arrows from each output to the next step's input.

    Returns:
        The diagram.

    Raises:
        ValueError: a step count out of range or an unknown ``context``.
    """
    _check_steps(source_steps, 1, 5, "source_steps")
    _check_steps(target_steps, 1, 5, "target_steps")
    if source_steps + target_steps > 6:
        raise ValueError("encoder_decoder: draw at most 6 steps in all (the page is not wider), "
                         f"got {source_steps} + {target_steps}")
    if context not in CONTEXTS:
        raise ValueError(f"encoder_decoder: context must be one of {CONTEXTS}, got {context!r}")
    scene = Scene()
    wide = (0.72, STATE_SIZE[1])
    step, hop = 1.08, 0.88  # between two steps of a chain; between the chains and the context
    for i in range(1, source_steps + 1):
        x = (i - 1) * step
        scene.state(f"x{i}", x, 0.0, _label("x", str(i)), "input")
        scene.state(f"e{i}", x, ROW, f"$h_{{\\mathrm{{enc}}}}^{{({i})}}$", "hidden", size=wide)
        scene.arrow(f"x{i}", f"e{i}", "$U_{\\mathrm{enc}}$" if i == 1 else "")
        if i > 1:
            scene.arrow(f"e{i - 1}", f"e{i}", "$W_{\\mathrm{enc}}$" if i == 2 else "")
    cx = (source_steps - 1) * step + hop
    scene.state("C", cx, ROW, "$C$", "hidden", emphasis="strong")
    scene.arrow(f"e{source_steps}", "C")
    start = cx + hop
    for t in range(1, target_steps + 1):
        x = start + (t - 1) * step
        given = r"$\langle\mathrm{bos}\rangle$" if t == 1 else _label("y", str(t - 1))
        scene.state(f"in{t}", x, 0.0, given, "target")
        scene.state(f"h{t}", x, ROW, _label("h", str(t)), "hidden")
        scene.state(f"o{t}", x, 2 * ROW, _label("o", str(t)), "output")
        scene.arrow(f"in{t}", f"h{t}", "$U$" if t == 1 else "", label_at=0.2)
        scene.arrow(f"h{t}", f"o{t}", "$V$" if t == 1 else "")
        if t > 1:
            scene.arrow(f"h{t - 1}", f"h{t}", "$W$" if t == 2 else "", label_at=0.3)
    scene.arrow("C", "h1", "$W$" if target_steps == 1 else "", key="C->h1")
    if context == "every":
        c = scene.shapes["C"]
        bus = ROW - 0.42
        for t in range(1, target_steps + 1):
            h = scene.shapes[f"h{t}"]
            scene.arrow((c.x, c.bottom), (h.left + 0.12, h.bottom), via=((c.x, bus), (h.left + 0.12, bus)),
                        key=f"C->h{t}.every", role="hidden", width=1.0)
    if feedback:
        for t in range(2, target_steps + 1):
            o, given = scene.shapes[f"o{t - 1}"], scene.shapes[f"in{t}"]
            gutter = (o.right + given.left) / 2 + 0.06
            scene.arrow(f"o{t - 1}", f"in{t}", via=((gutter, o.y), (gutter, given.y)), dashed=True,
                        key=f"o{t - 1}->in{t}", width=1.0)
        _legend(scene, -STATE_SIZE[0] / 2, -0.75, "the decoder's own prediction, fed back when it runs free")
    scene.text(((source_steps - 1) * step) / 2, -0.32, "encoder", fontsize=NOTE_FONT, colour=MUTED_COLOUR, va="top")
    scene.text(start + (target_steps - 1) * step / 2, -0.32, "decoder", fontsize=NOTE_FONT,
               colour=MUTED_COLOUR, va="top")
    fed = ("The context is the decoder's initial state." if context == "initial"
           else "The context is the decoder's initial state and is fed to every decoder step.")
    alt = (f"An encoder–decoder. The encoder reads x(1) to x({source_steps}) into its states; its last "
           f"state gives the context C. {fed} The decoder reads a start token, then the previous "
           f"target token y(t-1), and writes outputs o(1) to o({target_steps})."
           + (" Dashed arrows show each output fed back as the next input when the decoder runs free."
              if feedback else ""))
    return Diagram(scene, alt)


def language_model(tokens: Sequence[str] = ("c", "a", "t"), *, eos: str = "EOS",
                   sampling: bool = True) -> Diagram:
    """An autoregressive recurrent language model, unrolled over one word (chapter 6).

    At step :math:`t` the previous token :math:`y_{t-1}` (EOS at the start) is looked up in the
    embedding matrix :math:`E` to give :math:`x^{(t)}`; the network predicts
    :math:`\\hat y^{(t)} = p(y_t \\mid y_{<t})`, whose target, the next token, is written above
    it. The word ends with EOS. With ``sampling``, dashed arrows show the token drawn from
    :math:`\\hat y^{(t)}` fed back as the next input, as when the model generates.

    Args:
        tokens: the tokens of the word, 1 to 5 of them.
        eos: the name of the end-of-sequence token, which also starts the word.
        sampling: draw the dashed feedback arrows of generation.

    Returns:
        The diagram, one column per token plus one for the final EOS.

    Raises:
        ValueError: no tokens, or more than 5.
    """
    tokens = [str(t) for t in tokens]
    if not 1 <= len(tokens) <= 5:
        raise ValueError(f"language_model: give 1 to 5 tokens, got {len(tokens)}")
    inputs, targets = [eos, *tokens], [*tokens, eos]
    scene = Scene()
    for t, (given, wanted) in enumerate(zip(inputs, targets), start=1):
        x = (t - 1) * COLUMN
        scene.state(f"y{t - 1}", x, 0.0, _token(given), "target")
        scene.state(f"x{t}", x, ROW, _label("x", str(t)), "input")
        scene.state(f"h{t}", x, 2 * ROW, _label("h", str(t)), "hidden")
        scene.state(f"p{t}", x, 3 * ROW, _label(r"\hat{y}", str(t)), "output")
        scene.text(x, 3 * ROW + 0.3, f"next: {_token(wanted)}", fontsize=NOTE_FONT, va="bottom",
                   colour=MUTED_COLOUR)
        scene.arrow(f"y{t - 1}", f"x{t}", "$E$" if t == 1 else "")
        scene.arrow(f"x{t}", f"h{t}", "$U$" if t == 1 else "")
        scene.arrow(f"h{t}", f"p{t}", "$V$" if t == 1 else "")
        if t > 1:
            scene.arrow(f"h{t - 1}", f"h{t}", "$W$" if t == 2 else "", label_at=0.3)
        if sampling and t > 1:
            p, given_box = scene.shapes[f"p{t - 1}"], scene.shapes[f"y{t - 1}"]
            gutter = (p.right + given_box.left) / 2 + 0.06
            scene.arrow(f"p{t - 1}", f"y{t - 1}", via=((gutter, p.y), (gutter, given_box.y)),
                        dashed=True, key=f"p{t - 1}->y{t - 1}", width=1.0)
    if sampling:
        _legend(scene, -STATE_SIZE[0] / 2, -0.45, "a token sampled from the prediction, fed back when generating")
    word = "".join(tokens) if all(len(t) == 1 for t in tokens) else " ".join(tokens)
    alt = (f"A recurrent language model unrolled over the word '{word}'. At each step the previous "
           f"token, starting with {eos}, is embedded by E into x(t), which enters the hidden state "
           "through U; the hidden state passes to the next step through W and gives, through V, "
           f"the distribution of the next token, whose target is written above it; the last target is {eos}."
           + (" Dashed arrows feed a token sampled from each prediction back in as the next input, "
              "as when the model generates." if sampling else ""))
    return Diagram(scene, alt)


def _token(token: str) -> str:
    """A token as drawn: single characters in typewriter type, names such as EOS as they are."""
    return f"$\\mathtt{{{token}}}$" if len(token) == 1 and token.isalnum() else token


def bidirectional_rnn(steps: int = 4, *, parts: Sequence[str] = ("x", "h", "o")) -> Diagram:
    """A bidirectional RNN: one chain reads left to right, another right to left (chapter 7).

    Every input :math:`x^{(t)}` feeds both the forward state :math:`\\overrightarrow{h}^{(t)}`,
    which has read :math:`x^{(1)}, \\dots, x^{(t)}`, and the backward state
    :math:`\\overleftarrow{h}^{(t)}`, which has read :math:`x^{(t)}, \\dots, x^{(\\tau)}`; the
    output :math:`o^{(t)}` reads both (Goodfellow et al. Fig. 10.11).

    Args:
        steps: time steps, 2 to 4.
        parts: ``("x", "h", "o")``, optionally with ``"L"`` and ``"y"`` for the loss and target.

    Returns:
        The diagram.

    Raises:
        ValueError: a step count out of range, or parts without ``x``, ``h`` and ``o``.
    """
    _check_steps(steps, 2, 4)
    parts = tuple(parts)
    if not {"x", "h", "o"} <= set(parts) or not set(parts) <= set(PARTS):
        raise ValueError(f"bidirectional_rnn: parts must hold 'x', 'h', 'o' and may add 'L', 'y'; got {parts}")
    scene = Scene()
    step, shift = 1.6, 0.4  # the two chains sit left and right of their input so no arrow crosses a box
    rows = {"x": 0.0, "f": ROW, "b": 2 * ROW, "o": 3 * ROW, "L": 4 * ROW, "y": 5 * ROW}
    for t in range(1, steps + 1):
        x = (t - 1) * step
        scene.state(f"x{t}", x, rows["x"], _label("x", str(t)), "input")
        scene.state(f"f{t}", x - shift, rows["f"], _label(r"\overrightarrow{h}{}", str(t)), "hidden")
        scene.state(f"b{t}", x + shift, rows["b"], _label(r"\overleftarrow{h}{}", str(t)), "hidden")
        scene.state(f"o{t}", x, rows["o"], _label("o", str(t)), "output")
        first = t == 1
        scene.arrow(f"x{t}", f"f{t}", r"$\overrightarrow{U}$" if first else "", label_at=0.45)
        scene.arrow(f"x{t}", f"b{t}", r"$\overleftarrow{U}$" if first else "", label_side="right", label_at=0.2)
        scene.arrow(f"f{t}", f"o{t}", "$V$" if first else "", label_at=0.85)
        scene.arrow(f"b{t}", f"o{t}")
        if "L" in parts:
            scene.state(f"L{t}", x, rows["L"], _label("L", str(t)), "loss")
            scene.arrow(f"o{t}", f"L{t}")
            if "y" in parts:
                scene.state(f"y{t}", x, rows["y"], _label("y", str(t)), "target")
                scene.arrow(f"y{t}", f"L{t}")
        if t > 1:
            scene.arrow(f"f{t - 1}", f"f{t}", r"$\overrightarrow{W}$" if t == 2 else "", label_at=0.5)
            scene.arrow(f"b{t}", f"b{t - 1}", r"$\overleftarrow{W}$" if t == 2 else "", label_side="right",
                        label_at=0.5)
    alt = (f"A bidirectional recurrent network over {steps} steps. A forward chain of states runs left to "
           "right and a backward chain right to left; every input x(t) feeds the forward state and the "
           "backward state of its step, and the output o(t) reads both, so it depends on the whole sequence.")
    return Diagram(scene, alt)


LAYER_NOTATIONS = ("subscript", "superscript")


def stacked_rnn(steps: int = 3, layers: int = 3, *, dropout: bool = True,
                notation: str = "subscript") -> Diagram:
    """A stacked (deep) RNN, with dropout between the layers and not along time (chapters 7 and 13).

    Layer :math:`l` reads the states of layer :math:`l - 1` as its inputs (layer 0 is the
    input). With ``dropout``, each upward connection passes through a dropout mask
    :math:`m` (the ``⊙`` circles) while the recurrent connections from :math:`h^{(t-1)}` to
    :math:`h^{(t)}` carry no mask (Zaremba et al. 2014). As in ``minigrad.nn`` and PyTorch, the
    input and the last layer's output are not dropped.

    Args:
        steps: time steps, 2 to 5.
        layers: recurrent layers, 1 to 4.
        dropout: draw the dropout masks on the upward connections.
        notation: ``"subscript"`` writes layer :math:`l`'s state :math:`h_l^{(t)}` (chapter 7),
            ``"superscript"`` writes :math:`h^{(t, l)}` (chapter 13).

    Returns:
        The diagram.

    Raises:
        ValueError: a count out of range or an unknown notation.
    """
    _check_steps(steps, 2, 5)
    _check_steps(layers, 1, 4, "layers")
    if notation not in LAYER_NOTATIONS:
        raise ValueError(f"stacked_rnn: notation must be one of {LAYER_NOTATIONS}, got {notation!r}")
    scene = Scene()
    step, rise = 1.25, 1.05 if dropout else ROW
    for t in range(1, steps + 1):
        x = (t - 1) * step
        scene.state(f"x{t}", x, 0.0, _label("x", str(t)), "input")
        for l in range(1, layers + 1):
            text = (f"$h_{{{l}}}^{{({t})}}$" if notation == "subscript" else f"$h^{{({t},{l})}}$")
            scene.state(f"h{l}.{t}", x, l * rise, text, "hidden", size=(0.66, STATE_SIZE[1]))
            below = f"x{t}" if l == 1 else f"h{l - 1}.{t}"
            if dropout and l > 1:
                scene.op(f"m{l}.{t}", x, (l - 0.5) * rise, r"$\odot$")
                scene.arrow(below, f"m{l}.{t}")
                scene.arrow(f"m{l}.{t}", f"h{l}.{t}")
            else:
                scene.arrow(below, f"h{l}.{t}")
            if t > 1:
                scene.arrow(f"h{l}.{t - 1}", f"h{l}.{t}")
        scene.state(f"o{t}", x, layers * rise + ROW, _label("o", str(t)), "output")
        scene.arrow(f"h{layers}.{t}", f"o{t}")
    for l in range(1, layers + 1):
        scene.text(-0.5, l * rise, f"layer {l}", fontsize=NOTE_FONT, ha="right", colour=MUTED_COLOUR)
    if dropout:
        scene.op("legend.mask", -0.5 + 0.12, -0.6, r"$\odot$")
        scene.text(-0.5 + 0.34, -0.6, "dropout mask (in training): between layers, never along time",
                   fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)
    alt = (f"A stacked recurrent network with {layers} layers unrolled over {steps} steps. Each layer "
           "passes its state to its own next step, and its states are the inputs of the layer above; "
           "the inputs x(t) enter the first layer and the last layer gives the outputs o(t)."
           + (" A dropout mask sits on every upward connection and on none of the recurrent ones."
              if dropout else ""))
    return Diagram(scene, alt)


def parameter_sharing(kernel: int = 3, *, tokens: Sequence[str] | None = None) -> Diagram:
    """Three ways to read a sequence: a window MLP, a convolution and an RNN (chapter 1).

    Left, the window MLP: every position :math:`t` has its own block :math:`W_{1,t}` of the
    first weight matrix, so what it learns at one position is not available at another. Middle,
    a convolution of width ``kernel``: every output :math:`h^{(t)}` is computed by the same
    kernel :math:`K_j` from the inputs around it (one output's connections are labelled).
    Right, an RNN: one cell with the same :math:`U` and :math:`W` at every position, and a
    state that carries what was read.

    Each panel reads three positions, so that the three fit side by side on the page.

    Args:
        kernel: the convolution's width, an odd number from 1 to 5.
        tokens: three words to write under the inputs, one per position.

    Returns:
        The three panels, side by side.

    Raises:
        ValueError: a kernel out of range or even, or not three tokens.
    """
    positions = 3
    _check_steps(kernel, 1, 5, "kernel")
    if kernel % 2 == 0:
        raise ValueError(f"parameter_sharing: kernel must be odd, got {kernel}")
    if tokens is not None and len(tokens) != positions:
        raise ValueError(f"parameter_sharing: give {positions} tokens, one per position, got {len(tokens)}")
    step, box, up = 0.8, (0.5, STATE_SIZE[1]), 1.0

    def inputs(scene: Scene) -> None:
        for t in range(1, positions + 1):
            scene.state(f"x{t}", (t - 1) * step, 0.0, _label("x", str(t)), "input", size=box)
            if tokens is not None:
                scene.text((t - 1) * step, -0.28, f"“{tokens[t - 1]}”", fontsize=NOTE_FONT, va="top",
                           colour=MUTED_COLOUR)

    middle = (positions - 1) * step / 2
    mlp = Scene()
    inputs(mlp)
    hidden = mlp.state("h", middle, up, "$h$", "hidden", size=((positions - 1) * step + box[0], 0.4))
    mlp.state("s", middle, 2 * up, "$s$", "output", size=box)
    for t in range(1, positions + 1):
        x = (t - 1) * step
        mlp.arrow(f"x{t}", (middle + 0.55 * (x - middle), hidden.bottom), f"$W_{{1,{t}}}$", key=f"x{t}->h",
                  label_at=0.5, label_side="right" if x > middle + 1e-9 else "left")
    mlp.arrow("h", "s", "$W_2$")

    conv = Scene()
    inputs(conv)
    half = kernel // 2
    shown = (positions + 1) // 2  # the output whose connections are labelled
    for t in range(1, positions + 1):
        conv.state(f"h{t}", (t - 1) * step, up, _label("h", str(t)), "hidden", size=box)
        for j in range(-half, half + 1):
            if 1 <= t + j <= positions:
                conv.arrow(f"x{t + j}", f"h{t}", f"$K_{{{j}}}$" if t == shown else "", key=f"x{t + j}->h{t}",
                           emphasis="normal" if t == shown else "faint", label_at=0.3 if j else 0.62,
                           label_side="right" if j > 0 else "left")

    rnn = Scene()
    inputs(rnn)
    for t in range(1, positions + 1):
        rnn.state(f"h{t}", (t - 1) * step, up, _label("h", str(t)), "hidden", size=box)
        rnn.arrow(f"x{t}", f"h{t}", "$U$")
        if t > 1:
            rnn.arrow(f"h{t - 1}", f"h{t}", "$W$")

    titles = ("Window MLP:\na block per position", f"Convolution, width {kernel}:\none kernel, slid along",
              "RNN:\none cell, reused")
    alt = (f"Three networks reading {positions} inputs. A window MLP connects each input x(t) to one hidden "
           "layer through its own weight block W_1,t and gives the scores s through W_2. A convolution "
           f"computes each h(t) from the {kernel} inputs around it with the same kernel K. An RNN computes "
           "each h(t) from x(t) through U and from h(t-1) through W, the same U and W at every position.")
    return _arrange([Diagram(s, "") for s in (mlp, conv, rnn)], titles, alt, gap=0.4)


def _arrange(panels: list[Diagram], titles: Sequence[str], alt: str, gap: float) -> Diagram:
    """The panels in one row, or one above the other when the row would be wider than the page."""
    width = sum(p.scene.bounds()[2] - p.scene.bounds()[0] for p in panels) + gap * (len(panels) - 1)
    if width <= ROW_WIDTH:
        return row(*panels, titles=titles, gap=gap, alt=alt)
    return column(*(row(p, titles=(t,)) for p, t in zip(panels, titles)), gap=0.35, alt=alt)
