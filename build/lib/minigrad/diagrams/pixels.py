"""Images read as sequences: raster order and the causal masks, the receptive fields of the Row
LSTM and the Diagonal BiLSTM, and the skew (chapter 12).

A pixel is a square cell; the pixel being predicted is orange, the pixels a model may use green,
the pixels it may not use white, and the past it cannot see is hatched grey.
"""

from __future__ import annotations

from minigrad.diagrams.language import MUTED_COLOUR, NOTE_FONT, ROLES, Scene
from minigrad.diagrams.patterns import _arrange, _check_steps
from minigrad.diagrams.render import Diagram

__all__ = ["diagonal_skew", "raster_order", "receptive_field"]

PIXEL = 0.34  # inches per pixel
PAST, TARGET, FUTURE, BLIND = ROLES["input"], ROLES["output"], ROLES["op"], ROLES["neutral"]
GRID_EDGE = "#8c8c8c"


def _pixel(scene: Scene, r: int, c: int, fill: str, *, x0: float = 0.0, size: float = PIXEL,
           edge: str = GRID_EDGE, width: float = 0.8, layer: int = 1) -> tuple[float, float]:
    """Draw pixel (row ``r``, column ``c``), row 0 at the top; returns its centre."""
    x, y = x0 + c * size, -r * size
    scene.rectangle(x, y - size, x + size, y, fill=fill, edge=edge, width=width, layer=layer)
    return x + size / 2, y - size / 2


def _check_pixel(size: int, pixel: tuple[int, int], who: str) -> tuple[int, int]:
    r, c = pixel
    if not (0 <= r < size and 0 <= c < size):
        raise ValueError(f"{who}: pixel {pixel} is outside a {size} x {size} image")
    return r, c


def raster_order(size: int = 5, pixel: tuple[int, int] = (2, 2), *, masks: bool = True) -> Diagram:
    """Raster order and what a causal model may read (chapter 12).

    Left, an image of ``size`` by ``size`` pixels numbered row by row, left to right: the order
    of :math:`p(x) = \\prod_i p(x_i \\mid x_{<i})`. For the pixel being predicted (orange) the
    model may read the earlier pixels :math:`x_{<i}` (green) and nothing later (white). With
    ``masks``, the two masks of the Row LSTM's input-to-state convolution of width 3: every tap
    of the row above, and in the current row only the taps to the left (mask A, first layer)
    or also the centre (mask B, later layers, which read states that are already causal).

    Args:
        size: pixels per side, 3 to 8.
        pixel: ``(row, column)`` of the pixel being predicted, from 0.
        masks: draw the masks A and B beside the image.

    Returns:
        The diagram.

    Raises:
        ValueError: a size out of range or a pixel outside the image.
    """
    _check_steps(size, 3, 8, "size")
    r0, c0 = _check_pixel(size, pixel, "raster_order")
    scene = Scene()
    target = r0 * size + c0
    for r in range(size):
        for c in range(size):
            i = r * size + c
            fill = TARGET.fill if i == target else (PAST.fill if i < target else FUTURE.fill)
            x, y = _pixel(scene, r, c, fill)
            scene.text(x, y, str(i), fontsize=NOTE_FONT - 1, colour="#1a1a1a" if i <= target else MUTED_COLOUR)
    right = size * PIXEL
    scene.arrow((0.0, 0.14), (right, 0.14), key="order.row", width=1.0)
    scene.text(right / 2, 0.2, "reading order", fontsize=NOTE_FONT, va="bottom", colour=MUTED_COLOUR)
    scene.text(right / 2, -size * PIXEL - 0.12, f"$x_{{{target}}}$ given $x_{{<{target}}}$", fontsize=NOTE_FONT + 1,
               va="top")
    panels = [Diagram(scene, "")]
    titles = ["Raster order"]
    if masks:
        for name, centre in (("A", False), ("B", True)):
            mask = Scene()
            for r in range(2):
                for c in range(3):
                    on = r == 0 or c < 1 or (c == 1 and centre)
                    fill = PAST.fill if on else FUTURE.fill
                    if r == 1 and c == 1:
                        fill = TARGET.fill if not centre else PAST.fill
                    x, y = _pixel(mask, r + 1, c, fill, edge=PAST.edge if on else GRID_EDGE)
                    mask.text(x, y, "1" if on else "0", fontsize=NOTE_FONT, colour="#1a1a1a" if on else MUTED_COLOUR)
            mask.text(1.5 * PIXEL, -3 * PIXEL - 0.12, "row above\nand this row", fontsize=NOTE_FONT - 1, va="top",
                      colour=MUTED_COLOUR)
            panels.append(Diagram(mask, ""))
            titles.append(f"Mask {name}")
    alt = (f"A {size} by {size} image with its pixels numbered row by row from 0 to {size * size - 1}. Pixel "
           f"{target} is predicted from pixels 0 to {target - 1}; the later pixels may not be used."
           + (" Beside it, masks A and B for a convolution of width 3 over the row above and the current row: "
              "both keep all three taps of the row above and the tap to the left in the current row; mask B "
              "also keeps the centre." if masks else ""))
    return _arrange(panels, titles, alt, gap=0.5)


RECEPTIVE_KINDS = ("row", "diagonal")


def _row_lstm_field(size: int, r0: int, c0: int, k: int, layers: int) -> set[tuple[int, int]]:
    """Input pixels that reach the Row LSTM's prediction at (r0, c0), by the book's equations.

    A layer's state at (r, j) reads the states of row r - 1 at columns j - k .. j + k, and its
    input at row r - 1, columns j - k .. j + k, and at row r, columns j - k .. j - 1 (mask A, the
    first layer) or j - k .. j (mask B, the layers above, whose input is the layer below).
    """
    field: set[tuple[int, int]] = set()
    # (layer, row, column) states whose dependencies are still to expand
    todo = [(layers, r0, c0)]
    seen = set(todo)
    while todo:
        layer, r, j = todo.pop()
        reads = [(r - 1, c) for c in range(j - k, j + k + 1)] + [(r, c) for c in range(j - k, j + (layer > 1))]
        for rr, cc in reads:  # the input of this layer
            if 0 <= rr < size and 0 <= cc < size:
                if layer == 1:
                    field.add((rr, cc))
                elif (layer - 1, rr, cc) not in seen:
                    seen.add((layer - 1, rr, cc))
                    todo.append((layer - 1, rr, cc))
        for cc in range(j - k, j + k + 1):  # the recurrence: the same layer's states of the row above
            if r - 1 >= 0 and 0 <= cc < size and (layer, r - 1, cc) not in seen:
                seen.add((layer, r - 1, cc))
                todo.append((layer, r - 1, cc))
    return field


def receptive_field(kinds: tuple[str, ...] = RECEPTIVE_KINDS, size: int = 7, pixel: tuple[int, int] = (4, 3),
                    *, k: int = 1, layers: int = 1) -> Diagram:
    """Which earlier pixels each PixelRNN layer can use for one prediction (chapter 12).

    ``"row"``: the Row LSTM, whose state at :math:`(r, j)` reads the row above through a
    convolution of width :math:`2k + 1`, so its field is a cone that widens by :math:`k`
    columns per row, plus the :math:`k` pixels to the left: the upper right of the past is a
    blind spot (hatched). ``"diagonal"``: the Diagonal BiLSTM, which reads the left and upper
    neighbours in each direction and so sees the whole past.

    Args:
        kinds: which layers to draw, from ``"row"`` and ``"diagonal"``.
        size: pixels per side, 4 to 9.
        pixel: ``(row, column)`` of the pixel being predicted, from 0.
        k: the Row LSTM's convolution reaches ``k`` columns to each side, 1 or 2.
        layers: Row LSTM layers stacked (the first with mask A, the others mask B), 1 to 3.

    Returns:
        One panel per kind, side by side.

    Raises:
        ValueError: an unknown kind, a count out of range, or a pixel outside the image.
    """
    kinds = tuple(kinds)
    if not kinds or any(kind not in RECEPTIVE_KINDS for kind in kinds):
        raise ValueError(f"receptive_field: kinds must be a non-empty choice from {RECEPTIVE_KINDS}, got {kinds}")
    _check_steps(size, 4, 9, "size")
    _check_steps(k, 1, 2, "k")
    _check_steps(layers, 1, 3, "layers")
    r0, c0 = _check_pixel(size, pixel, "receptive_field")
    panels, titles = [], []
    for kind in kinds:
        past = {(r, c) for r in range(size) for c in range(size) if r * size + c < r0 * size + c0}
        field = _row_lstm_field(size, r0, c0, k, layers) if kind == "row" else past
        assert field <= past, "a causal layer reads only the past"
        scene = Scene()
        for r in range(size):
            for c in range(size):
                if (r, c) == (r0, c0):
                    fill = TARGET.fill
                elif (r, c) in field:
                    fill = PAST.fill
                elif (r, c) in past:
                    fill = BLIND.fill
                else:
                    fill = FUTURE.fill
                _pixel(scene, r, c, fill)
                if (r, c) in past and (r, c) not in field:  # the blind spot, hatched
                    x, y = c * PIXEL, -r * PIXEL
                    scene.polygon(((x + 0.06, y - PIXEL + 0.04), (x + PIXEL - 0.04, y - 0.06)), edge="#a0a0a0",
                                  width=0.8, layer=2)
        x, y = c0 * PIXEL + PIXEL / 2, -r0 * PIXEL - PIXEL / 2
        scene.text(x, y, "$x_i$", fontsize=NOTE_FONT)
        if kind == kinds[0]:
            _legend(scene, -size * PIXEL - 0.3, [(PAST.fill, False, "read"), (BLIND.fill, True, "past, not read"),
                                                (FUTURE.fill, False, "later")])
        panels.append(Diagram(scene, ""))
        titles.append(f"Row LSTM ({layers} layer{'s' if layers > 1 else ''}, k = {k})" if kind == "row"
                      else "Diagonal BiLSTM")
    described = {"row": ("the Row LSTM sees a cone of the rows above that widens by "
                         f"{k} column{'s' if k > 1 else ''} per row, and the pixels just left of the target; "
                         "the rest of the past, to the upper right, is a blind spot"),
                 "diagonal": "the Diagonal BiLSTM sees every earlier pixel"}
    alt = (f"{size} by {size} images with the pixel at row {r0}, column {c0} being predicted. "
           + "; ".join(described[kind] for kind in kinds).capitalize() + ".")
    return _arrange(panels, titles, alt, gap=0.5)


def diagonal_skew(size: int = 4, *, pixel: tuple[int, int] | None = (2, 1)) -> Diagram:
    """The skew that lets the Diagonal BiLSTM compute a whole diagonal at once (chapter 12).

    Shifting row :math:`r` right by :math:`r` positions turns the diagonals of the image (pixels
    with the same :math:`r + j`, one shade each) into the columns of the skewed map. A state at
    :math:`(r, j)` reads its left neighbour :math:`(r, j - 1)` and its upper neighbour
    :math:`(r - 1, j)`; after the skew both sit in the previous column, so a sweep over the
    :math:`2 \\cdot \\text{size} - 1` columns computes every state.

    Args:
        size: pixels per side, 2 to 6.
        pixel: ``(row, column)`` of a state to outline (orange) with the two it reads (green), or
            ``None``.

    Returns:
        The image and its skewed map, side by side.

    Raises:
        ValueError: a size out of range or a pixel outside the image.
    """
    _check_steps(size, 2, 6, "size")
    if pixel is not None:
        _check_pixel(size, pixel, "diagonal_skew")
    shades = _shades(2 * size - 1)
    image, skewed = Scene(), Scene()
    for r in range(size):
        for c in range(size):
            x, y = _pixel(image, r, c, shades[r + c])
            image.text(x, y, f"{r},{c}", fontsize=NOTE_FONT - 1)
            x, y = _pixel(skewed, r, c + r, shades[r + c])
            skewed.text(x, y, f"{r},{c}", fontsize=NOTE_FONT - 1)
    for c in range(2 * size - 1):  # the empty places of the skewed map
        for r in range(size):
            if not 0 <= c - r < size:
                _pixel(skewed, r, c, "none", edge="#d0d0d0", width=0.6, layer=0)
        skewed.text(c * PIXEL + PIXEL / 2, -size * PIXEL - 0.1, str(c + 1), fontsize=NOTE_FONT - 1, va="top",
                    colour=MUTED_COLOUR)
    skewed.text((2 * size - 1) * PIXEL / 2, -size * PIXEL - 0.34, "step of the sweep", fontsize=NOTE_FONT,
                va="top", colour=MUTED_COLOUR)
    image.text(size * PIXEL / 2, -size * PIXEL - 0.1, "rows $r$, columns $j$", fontsize=NOTE_FONT, va="top",
               colour=MUTED_COLOUR)
    if pixel is not None:  # one state and the two it reads, outlined in both panels
        r, c = pixel
        for scene, skew in ((image, 0), (skewed, 1)):
            for rr, cc, role in ((r, c - 1, PAST), (r - 1, c, PAST), (r, c, TARGET)):
                if rr >= 0 and cc >= 0:
                    _pixel(scene, rr, cc + skew * rr, "none", edge=role.edge, width=2.4, layer=3)
        image.text(size * PIXEL / 2, -size * PIXEL - 0.34, f"state {r},{c} reads {r},{c - 1} and {r - 1},{c}"
                   if r > 0 and c > 0 else "", fontsize=NOTE_FONT, va="top", colour=MUTED_COLOUR)
    panels = [Diagram(image, ""), Diagram(skewed, "")]
    titles = ["Image", f"Skewed: row $r$ shifted right by $r$"]
    alt = (f"A {size} by {size} image whose pixels are shaded by diagonal, r + j, and the same pixels after "
           "row r is shifted right by r places: each diagonal becomes one column, numbered by the step of the "
           "sweep that computes it."
           + (" One state is outlined with the two states it reads, its left and upper neighbours; after the "
              "skew both sit in the column just before it." if pixel is not None else ""))
    return _arrange(panels, titles, alt, gap=0.6)


def _legend(scene: Scene, y: float, items: list[tuple[str, bool, str]]) -> None:
    """A row of small pixels with what each fill means, starting at ``x = 0`` and height ``y``."""
    x = 0.0
    for fill, hatched, text in items:
        scene.rectangle(x, y - 0.2, x + 0.2, y, fill=fill, edge=GRID_EDGE, width=0.8, layer=1)
        if hatched:
            scene.polygon(((x + 0.03, y - 0.17), (x + 0.17, y - 0.03)), edge="#a0a0a0", width=0.8, layer=2)
        scene.text(x + 0.27, y - 0.1, text, fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)
        x += 0.27 + 0.065 * len(text) + 0.3


def _shades(n: int) -> list[str]:
    """``n`` light shades of the hidden-state blue, from pale to deeper, for the diagonals."""
    low, high = (0xf1, 0xf6, 0xfc), (0x9f, 0xc5, 0xe8)
    shades = []
    for i in range(n):
        f = i / max(n - 1, 1)
        shades.append("#" + "".join(f"{round(a + f * (b - a)):02x}" for a, b in zip(low, high)))
    return shades
