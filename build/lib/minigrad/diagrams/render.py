"""Drawing a :class:`~minigrad.diagrams.language.Scene` with matplotlib, and the :class:`Diagram` a notebook shows.

One data unit is one inch, so every diagram is drawn at the same scale and its text at the same
size in points, whatever it shows. The drawing uses matplotlib's default style plus the few
settings in :data:`STYLE`, never the reader's ``matplotlibrc``, and the SVG is written with a
fixed hash salt and no date: the same call gives the same bytes on every run.

matplotlib is imported only when a diagram is drawn, so ``import minigrad.diagrams`` needs only
numpy.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from minigrad.diagrams.language import (
    HIGHLIGHT_WIDTH, GRADIENT_WIDTH, LINE_WIDTH, ROLES, TEXT_COLOUR, TITLE_FONT,
    Arrow, Region, Scene, Shape, Text,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from matplotlib.figure import Figure

__all__ = ["Diagram", "STYLE", "column", "row"]

# matplotlib settings on top of its defaults: Computer Modern for the mathematics (close to the
# MathJax of the page), text as paths (it looks the same in every browser), a fixed SVG salt.
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "cm",
    "svg.fonttype": "path",
    "svg.hashsalt": "minigrad.diagrams",
    "path.simplify": False,
}
SVG_METADATA = {"Date": None, "Creator": "minigrad.diagrams"}
MARGIN = 0.08  # inches of white around the drawing
FAINT_ALPHA = 0.3


class Diagram:
    """A drawn network: shown as SVG in a notebook, glued into the book with a caption.

    A notebook shows a diagram as the last value of a cell, or glues it for a
    ``{glue:figure}`` with a name, a caption and alt text (README, "Drawing diagrams")::

        glue("diagram-rnn-a", diagrams.unrolled_rnn(steps=4), display=False)

    Attributes:
        scene: what is drawn.
        alt: a one-sentence description of the picture for readers who cannot see it; copy it
            (or write a better one) into the ``:alt:`` of the figure.
    """

    def __init__(self, scene: Scene, alt: str) -> None:
        self.scene = scene
        self.alt = alt

    def labels(self) -> list[str]:
        """Every text the diagram shows (in boxes, on arrows, free), in drawing order."""
        return self.scene.labels()

    def figure(self) -> Figure:
        """A new matplotlib Figure of the diagram, sized to it (not registered with pyplot)."""
        from matplotlib import style

        with style.context(["default", STYLE]):
            return _draw(self.scene)[0]

    def to_svg(self) -> str:
        """The diagram as an SVG document: the same text on every run."""
        return self._save("svg").decode("utf-8")

    def to_png(self, dpi: float = 200) -> bytes:
        """The diagram as PNG bytes at ``dpi`` pixels per inch."""
        return self._save("png", dpi=dpi)

    def save(self, path: str | Path, dpi: float = 200) -> Path:
        """Write the diagram to ``path``; its suffix, ``.svg`` or ``.png``, picks the format."""
        path = Path(path)
        formats = {".svg": "svg", ".png": "png"}
        if path.suffix not in formats:
            raise ValueError(f"Diagram.save: the file name must end in .svg or .png, got {path.name!r}")
        path.write_bytes(self._save(formats[path.suffix], dpi=dpi))
        return path

    def size(self) -> tuple[float, float]:
        """Width and height in inches, as drawn."""
        width, height = self.figure().get_size_inches()
        return float(width), float(height)

    def _save(self, fmt: str, dpi: float = 72) -> bytes:
        from matplotlib import style

        with style.context(["default", STYLE]):
            figure, _ = _draw(self.scene)
            buffer = io.BytesIO()
            metadata = SVG_METADATA if fmt == "svg" else {"Software": "minigrad.diagrams"}
            figure.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")
        return buffer.getvalue()

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def __repr__(self) -> str:
        return f"Diagram({self.alt!r})"


def row(*diagrams: Diagram, titles: Sequence[str] | None = None, gap: float = 0.45,
        alt: str | None = None) -> Diagram:
    """Place diagrams side by side, left to right, each under its title.

    The panels keep their own vertical coordinates, so panels drawn with their bottom row at
    ``y = 0`` (as every function of this package draws them) line up on that row.

    Args:
        diagrams: the panels, left to right.
        titles: one title per panel, or ``None`` for none.
        gap: the space between two panels, in inches.
        alt: the alt text of the whole; the panels' alt texts joined when ``None``.

    Returns:
        One diagram holding every panel.

    Raises:
        ValueError: no diagrams, or not one title per diagram.
    """
    _check_panels(diagrams, titles, "row")
    scene = Scene()
    top = max(d.scene.bounds()[3] for d in diagrams)
    x = 0.0
    for i, diagram in enumerate(diagrams):
        x0, _, x1, _ = diagram.scene.bounds()
        scene.place(diagram.scene, x - x0, 0.0, prefix=f"panel{i}.")
        if titles is not None:
            scene.text(x + (x1 - x0) / 2, top + 0.3, titles[i], fontsize=TITLE_FONT, bold=True)
        x += (x1 - x0) + gap
    return Diagram(scene, alt if alt is not None else " ".join(d.alt for d in diagrams))


def column(*diagrams: Diagram, gap: float = 0.4, alt: str | None = None) -> Diagram:
    """Stack diagrams from top to bottom, each centred horizontally.

    Args:
        diagrams: the panels, top first.
        gap: the space between two panels, in inches.
        alt: the alt text of the whole; the panels' alt texts joined when ``None``.

    Returns:
        One diagram holding every panel.

    Raises:
        ValueError: no diagrams.
    """
    _check_panels(diagrams, None, "column")
    scene = Scene()
    width = max(d.scene.bounds()[2] - d.scene.bounds()[0] for d in diagrams)
    y = 0.0
    for i, diagram in enumerate(diagrams):
        x0, y0, x1, y1 = diagram.scene.bounds()
        scene.place(diagram.scene, (width - (x1 - x0)) / 2 - x0, y - y1, prefix=f"panel{i}.")
        y -= (y1 - y0) + gap
    return Diagram(scene, alt if alt is not None else " ".join(d.alt for d in diagrams))


def _check_panels(diagrams: Sequence[Diagram], titles: Sequence[str] | None, who: str) -> None:
    if not diagrams:
        raise ValueError(f"{who} needs at least one diagram")
    bad = [type(d).__name__ for d in diagrams if not isinstance(d, Diagram)]
    if bad:
        raise TypeError(f"{who} takes Diagrams, got {', '.join(bad)}")
    if titles is not None and len(titles) != len(diagrams):
        raise ValueError(f"{who}: {len(diagrams)} diagrams but {len(titles)} titles")


# --- drawing --------------------------------------------------------------------------------------
def _draw(scene: Scene, frames: Sequence[Scene] = (), frame_id: str = "frame"
          ) -> tuple[Figure, dict[int, list[Any]]]:
    """Draw ``scene`` on a new Figure sized to it.

    Args:
        scene: what to draw.
        frames: scenes drawn on top, for an animation: the artists of ``frames[k]`` get the SVG
            ids ``"<frame_id>-<k>-<n>"``, so that a player can show or hide each frame.
        frame_id: the prefix of those ids.

    Returns:
        The Figure, and for tests the artists of each scene item (keyed by ``id(item)``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)  # measures the texts
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    artists: dict[int, list[Any]] = {}
    for k, part in enumerate((scene, *frames)):
        drawn = _draw_items(ax, part)
        if k:
            for n, artist in enumerate(a for items in drawn.values() for a in items):
                artist.set_gid(f"{frame_id}-{k - 1}-{n}")
        artists.update(drawn)

    # Size the figure to everything drawn, texts included: one data unit stays one inch.
    corners = [part.bounds() for part in (scene, *frames)]
    x0, y0 = min(c[0] for c in corners), min(c[1] for c in corners)
    x1, y1 = max(c[2] for c in corners), max(c[3] for c in corners)
    figure.set_size_inches(max(x1 - x0, 0.1) + 2 * MARGIN, max(y1 - y0, 0.1) + 2 * MARGIN)
    ax.set_xlim(x0 - MARGIN, x1 + MARGIN)
    ax.set_ylim(y0 - MARGIN, y1 + MARGIN)
    renderer = figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    for items in artists.values():
        for artist in items:
            if artist.get_label() == "text":
                (ex0, ey0), (ex1, ey1) = to_data.transform(artist.get_window_extent(renderer).get_points())
                x0, y0, x1, y1 = min(x0, ex0), min(y0, ey0), max(x1, ex1), max(y1, ey1)
    figure.set_size_inches(x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN)
    ax.set_xlim(x0 - MARGIN, x1 + MARGIN)
    ax.set_ylim(y0 - MARGIN, y1 + MARGIN)
    return figure, artists


def _draw_items(ax, scene: Scene) -> dict[int, list[Any]]:
    """Add the artists of every item of ``scene`` to ``ax``: regions, arrows, shapes, texts."""
    artists: dict[int, list[Any]] = {}
    for region in sorted(scene.regions, key=lambda r: r.layer):
        artists[id(region)] = [_draw_region(ax, region)]
    for arrow in scene.arrows:
        artists[id(arrow)] = _draw_arrow(ax, arrow)
    for shape in scene.shapes.values():
        artists[id(shape)] = _draw_shape(ax, shape)
    for text in scene.texts:
        artists[id(text)] = [_draw_text(ax, text)]
    return artists


def _alpha(emphasis: str) -> float:
    return FAINT_ALPHA if emphasis == "faint" else 1.0


def _draw_region(ax, region: Region):
    from matplotlib.patches import FancyBboxPatch, Polygon

    style = {"facecolor": region.fill, "edgecolor": region.edge, "linewidth": region.width,
             "linestyle": (0, (4, 3)) if region.dashed else "-", "zorder": 0.5 + 0.01 * region.layer}
    if region.rounded:
        xs = [x for x, _ in region.points]
        ys = [y for _, y in region.points]
        patch = FancyBboxPatch((min(xs), min(ys)), max(xs) - min(xs), max(ys) - min(ys),
                               boxstyle=f"round,pad=0,rounding_size={region.rounded}", **style)
    else:
        patch = Polygon(region.points, closed=True, joinstyle="miter", **style)
    ax.add_patch(patch)
    return patch


def _draw_shape(ax, shape: Shape) -> list[Any]:
    from matplotlib.patches import Circle, FancyBboxPatch

    role = ROLES[shape.role]
    width = {"strong": 2.4, "normal": 1.3, "faint": 1.0}[shape.emphasis]
    style = {"facecolor": role.fill, "edgecolor": role.edge, "linewidth": width,
             "alpha": _alpha(shape.emphasis), "zorder": 3,
             "linestyle": (0, (3, 2)) if shape.dashed else "-"}
    if shape.kind == "circle":
        patch = Circle((shape.x, shape.y), shape.w / 2, **style)
    else:
        rounding = min(0.07, shape.h / 4, shape.w / 4)
        patch = FancyBboxPatch((shape.left, shape.bottom), shape.w, shape.h,
                               boxstyle=f"round,pad=0,rounding_size={rounding}", **style)
    ax.add_patch(patch)
    drawn = [patch]
    if shape.text:
        drawn.append(ax.text(shape.x, shape.y, shape.text, ha="center", va="center",
                             fontsize=shape.fontsize, color=TEXT_COLOUR, zorder=4,
                             alpha=_alpha(shape.emphasis), label="text"))
    return drawn


def _arrow_colour(arrow: Arrow) -> str:
    return ROLES[arrow.role].edge


def _draw_arrow(ax, arrow: Arrow) -> list[Any]:
    import matplotlib.patheffects as effects
    from matplotlib.patches import ArrowStyle, FancyArrowPatch
    from matplotlib.path import Path as MplPath

    if arrow.curve == "quad":
        codes = [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3]
    elif arrow.curve == "cubic":
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4]
    else:
        codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(arrow.points) - 1)
    if arrow.width is not None:
        width = arrow.width
    elif arrow.emphasis == "strong":
        width = HIGHLIGHT_WIDTH
    else:
        width = GRADIENT_WIDTH if arrow.role == "gradient" else LINE_WIDTH
    head = ArrowStyle("-|>", head_length=0.55, head_width=0.26) if arrow.head else ArrowStyle("-")
    colour = _arrow_colour(arrow)
    patch = FancyArrowPatch(
        path=MplPath(arrow.points, codes), arrowstyle=head, mutation_scale=10 + 1.5 * width,
        color=colour, linewidth=width, linestyle=(0, (4, 2.5)) if arrow.dashed else "-",
        alpha=_alpha(arrow.emphasis), zorder=2.2 if arrow.bridge else 2, joinstyle="round", capstyle="butt",
    )
    if arrow.bridge:  # a gap in the lines this one crosses
        patch.set_path_effects([effects.withStroke(linewidth=width + 5, foreground=arrow.bridge), effects.Normal()])
    ax.add_patch(patch)
    drawn = [patch]
    if arrow.label:
        (x, y), ha, va = arrow.label_anchor()
        drawn.append(ax.text(
            x, y, arrow.label, ha=ha, va=va, fontsize=arrow.fontsize, zorder=5, label="text",
            color=colour if arrow.role == "gradient" else TEXT_COLOUR, alpha=_alpha(arrow.emphasis),
        ))
    return drawn


def _draw_text(ax, text: Text):
    return ax.text(text.x, text.y, text.text, ha=text.ha, va=text.va, fontsize=text.fontsize,
                   color=text.colour, fontweight="bold" if text.bold else "normal",
                   rotation=text.rotation, zorder=5, label="text")

