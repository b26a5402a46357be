"""The book's visual language: roles and their colours, sizes, and a scene of shapes and arrows.

Every diagram of the book is built from the same few pieces, placed on a plane measured in inches
(``y`` grows upwards):

- a **state** is a rounded box coloured by its role: input (green), hidden or cell state (blue),
  output (orange), loss (purple), target (grey);
- an **operation** is a small white circle with its symbol (``⊙``, ``+``, ``1−``, ``tanh``);
- a **gate** is a small yellow block with its nonlinearity (``σ`` or ``tanh``): a learned layer;
- an **arrow** carries a value forward (dark grey) or a gradient backward (vermillion), and may be
  labelled with the weight it applies (``U``, ``W``, ``V``, ...).

A :class:`Scene` only records what to draw; nothing here imports matplotlib, which
:mod:`minigrad.diagrams.render` uses to draw a scene. Arrows are clipped to the outline of the
shapes they join when they are added, so an arrow always starts on the edge of its source and its
tip touches the edge of its target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

Point = tuple[float, float]

__all__ = ["ROLES", "Arrow", "Region", "Role", "Scene", "Shape", "Text"]


@dataclass(frozen=True)
class Role:
    """What a part of a diagram stands for, and the colours that say so.

    Attributes:
        edge: the outline colour (also the colour of an arrow of this role).
        fill: the fill colour, a light tint of ``edge``.
    """

    edge: str
    fill: str


# Okabe-Ito hues (distinguishable with every common colour-vision deficiency), darkened for the
# outlines and lightened for the fills so that dark text reads on every fill.
ROLES: dict[str, Role] = {
    "input": Role(edge="#00805c", fill="#d4eee5"),
    "hidden": Role(edge="#0067a5", fill="#d7e7f5"),
    "output": Role(edge="#b56d00", fill="#fbe7c6"),
    "loss": Role(edge="#9c4a7c", fill="#f2dcea"),
    "target": Role(edge="#6b6b6b", fill="#ececec"),
    "gate": Role(edge="#8c7300", fill="#fbf0b9"),
    "op": Role(edge="#3d3d3d", fill="#ffffff"),
    "forward": Role(edge="#3d3d3d", fill="#ffffff"),
    "gradient": Role(edge="#d55e00", fill="#fbe0cc"),
    "neutral": Role(edge="#8a8a8a", fill="#f4f4f4"),
    "mark": Role(edge="#1a1a1a", fill="#1a1a1a"),  # junction dots and the delay square
}
TEXT_COLOUR = "#1a1a1a"
MUTED_COLOUR = "#6b6b6b"

# Sizes in inches and points, the same in every diagram so that all figures share one scale.
STATE_SIZE = (0.62, 0.40)
GATE_SIZE = (0.40, 0.28)
OP_RADIUS = 0.12
STATE_FONT = 12.0
LABEL_FONT = 11.0
OP_FONT = 11.0
NOTE_FONT = 10.0
TITLE_FONT = 11.0
LABEL_GAP = 0.05  # between an arrow and its label
LINE_WIDTH = 1.2
GRADIENT_WIDTH = 1.8
HIGHLIGHT_WIDTH = 2.6


@dataclass(frozen=True)
class Shape:
    """A state box, a gate block or an operation circle.

    Attributes:
        key: the name arrows use to refer to the shape.
        kind: ``"box"`` or ``"circle"``.
        x, y: the centre, in inches.
        w, h: the size, in inches (a circle has ``w == h``, its diameter).
        text: the label drawn inside (matplotlib mathtext between ``$``).
        role: a key of :data:`ROLES`.
        fontsize: of ``text``, in points.
        emphasis: ``"normal"``, ``"strong"`` (thick outline) or ``"faint"`` (drawn pale).
        dashed: a dashed outline (a value that is not there, e.g. a padded step).
    """

    key: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    text: str = ""
    role: str = "hidden"
    fontsize: float = STATE_FONT
    emphasis: str = "normal"
    dashed: bool = False

    def contains(self, point: Point) -> bool:
        """Whether ``point`` lies inside the shape's outline."""
        dx, dy = point[0] - self.x, point[1] - self.y
        if self.kind == "circle":
            return dx * dx + dy * dy <= (self.w / 2) ** 2
        return abs(dx) <= self.w / 2 and abs(dy) <= self.h / 2

    def moved(self, dx: float, dy: float) -> Shape:
        return replace(self, x=self.x + dx, y=self.y + dy)

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def top(self) -> float:
        return self.y + self.h / 2

    @property
    def bottom(self) -> float:
        return self.y - self.h / 2


@dataclass(frozen=True)
class Arrow:
    """A directed connection, already clipped to the shapes it joins.

    Attributes:
        key: ``"<source>-><target>"`` unless given.
        points: the path: a polyline, or with ``curve`` the control points of one Bézier curve.
        curve: ``None`` (polyline), ``"quad"`` (3 points) or ``"cubic"`` (4 points).
        role: ``"forward"`` or ``"gradient"``, or a state role to colour the arrow by.
        label: text beside the arrow (mathtext).
        label_at: where along the arrow the label sits, from 0 (start) to 1 (tip).
        label_side: ``"left"`` or ``"right"`` of the direction of travel, or ``"on"`` (centred
            on the line).
        head: whether the arrow has a head (``False`` draws a plain line).
        emphasis: ``"normal"``, ``"strong"`` or ``"faint"``.
        dashed: a dashed line (a value carried but not differentiated, a sampled token).
        width: the line width in points; the role's default when ``None``.
        fontsize: of the label, in points.
        label_gap: the distance from the line to the label, in inches.
        bridge: the background colour to outline the line with, so that where it crosses an
            earlier line, that line seems to pass under it; ``None`` for no outline.
        source, target: the keys of the shapes the arrow leaves and enters, if any.
    """

    key: str
    points: tuple[Point, ...]
    curve: str | None = None
    role: str = "forward"
    label: str = ""
    label_at: float = 0.5
    label_side: str = "left"
    head: bool = True
    emphasis: str = "normal"
    dashed: bool = False
    width: float | None = None
    fontsize: float = LABEL_FONT
    label_gap: float = LABEL_GAP
    bridge: str | None = None
    source: str | None = None
    target: str | None = None

    def moved(self, dx: float, dy: float) -> Arrow:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def point_at(self, s: float) -> tuple[Point, Point]:
        """The point a fraction ``s`` of the way along the arrow, and the unit direction there."""
        if self.curve is not None:
            return _bezier(self.points, s), _unit(_bezier_tangent(self.points, s))
        segments = list(zip(self.points, self.points[1:]))
        remaining = s * sum(_distance(a, b) for a, b in segments)
        for a, b in segments:
            length = _distance(a, b)
            if remaining <= length and length > 0:
                f = remaining / length
                return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])), _unit((b[0] - a[0], b[1] - a[1]))
            remaining -= length
        a, b = segments[-1]
        return b, _unit((b[0] - a[0], b[1] - a[1]))

    def label_anchor(self) -> tuple[Point, str, str]:
        """Where the label goes and its alignment: ``(point, ha, va)``."""
        (x, y), (dx, dy) = self.point_at(self.label_at)
        if self.label_side == "on":
            return (x, y), "center", "center"
        nx, ny = (-dy, dx) if self.label_side == "left" else (dy, -dx)
        point = (x + self.label_gap * nx, y + self.label_gap * ny)
        if abs(nx) >= abs(ny):
            return point, ("left" if nx > 0 else "right"), "center"
        return point, "center", ("bottom" if ny > 0 else "top")


@dataclass(frozen=True)
class Text:
    """Free text: a note, a panel title, a token under an input, an axis name."""

    x: float
    y: float
    text: str
    fontsize: float = NOTE_FONT
    ha: str = "center"
    va: str = "center"
    colour: str = TEXT_COLOUR
    bold: bool = False
    rotation: float = 0.0

    def moved(self, dx: float, dy: float) -> Text:
        return replace(self, x=self.x + dx, y=self.y + dy)


@dataclass(frozen=True)
class Region:
    """A background area: a polygon (``points``) or a rounded rectangle (``x0, y0, x1, y1``).

    Regions group parts of a diagram (the inside of a cell, a chunk of truncated BPTT, a pixel of
    an image); they are drawn below every shape and arrow.
    """

    points: tuple[Point, ...]
    fill: str = "none"
    edge: str = "none"
    width: float = 1.0
    dashed: bool = False
    rounded: float = 0.0
    layer: int = 0

    def moved(self, dx: float, dy: float) -> Region:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))


@dataclass
class Scene:
    """What one diagram draws: shapes, arrows, regions and texts, in inches.

    The drawing functions of :mod:`minigrad.diagrams` build a scene with the methods below, then
    wrap it in a :class:`~minigrad.diagrams.render.Diagram`.
    """

    shapes: dict[str, Shape] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)

    # --- shapes -------------------------------------------------------------------------------
    def _add(self, shape: Shape) -> Shape:
        if shape.key in self.shapes:
            raise ValueError(f"the diagram already has a shape named {shape.key!r}")
        if shape.role not in ROLES:
            raise ValueError(f"unknown role {shape.role!r}; the roles are {sorted(ROLES)}")
        self.shapes[shape.key] = shape
        return shape

    def state(self, key: str, x: float, y: float, text: str, role: str = "hidden", *,
              size: tuple[float, float] = STATE_SIZE, fontsize: float = STATE_FONT,
              emphasis: str = "normal", dashed: bool = False) -> Shape:
        """A state box (an input, hidden state, output, loss or target value)."""
        return self._add(Shape(key, "box", x, y, size[0], size[1], text, role, fontsize, emphasis, dashed))

    def gate(self, key: str, x: float, y: float, text: str = r"$\sigma$", *,
             size: tuple[float, float] = GATE_SIZE, fontsize: float = OP_FONT,
             emphasis: str = "normal") -> Shape:
        """A gate block: a learned layer followed by ``σ`` or ``tanh``."""
        return self._add(Shape(key, "box", x, y, size[0], size[1], text, "gate", fontsize, emphasis))

    def op(self, key: str, x: float, y: float, text: str, *, radius: float = OP_RADIUS,
           fontsize: float = OP_FONT, emphasis: str = "normal") -> Shape:
        """An operation circle: ``⊙``, ``+``, ``1−``, ``tanh`` applied element-wise."""
        return self._add(Shape(key, "circle", x, y, 2 * radius, 2 * radius, text, "op", fontsize, emphasis))

    def dot(self, key: str, x: float, y: float) -> Shape:
        """A junction: a small black dot where a line splits in two."""
        return self._add(Shape(key, "circle", x, y, 0.07, 0.07, "", "mark", STATE_FONT))

    def delay(self, key: str, x: float, y: float, size: float = 0.13) -> Shape:
        """The one-step delay of a folded recurrence: a small black square on its loop."""
        return self._add(Shape(key, "box", x, y, size, size, "", "mark", STATE_FONT))

    # --- arrows -------------------------------------------------------------------------------
    def arrow(self, source: str | Point, target: str | Point, label: str = "", *,
              via: Sequence[Point] = (), bend: float = 0.0, controls: Sequence[Point] | None = None,
              key: str | None = None, role: str = "forward", label_at: float = 0.5,
              label_side: str = "left", head: bool = True, emphasis: str = "normal",
              dashed: bool = False, width: float | None = None, gap: float = 0.0,
              offset: float = 0.0, label_gap: float = LABEL_GAP, fontsize: float = LABEL_FONT,
              bridge: str | None = None) -> Arrow:
        """An arrow from ``source`` to ``target``, each a shape's key or a point.

        The path is straight, or a polyline through ``via``, or a quadratic curve bowed sideways
        by ``bend`` (a fraction of its length; positive bows to the left of the direction of
        travel), or a cubic curve through the two ``controls``. It is cut where it leaves the
        source's outline and where it enters the target's, so it touches both. A straight arrow
        may be shifted sideways by ``offset`` (positive to the left of the direction of travel),
        so that a gradient can run back beside the forward arrow it mirrors.

        Raises:
            KeyError: a key names no shape of the scene.
            ValueError: an unknown role or label side, or a path that does not leave its source.
        """
        if role not in ROLES:
            raise ValueError(f"unknown arrow role {role!r}; the roles are {sorted(ROLES)}")
        if label_side not in ("left", "right", "on"):
            raise ValueError(f"label_side must be 'left', 'right' or 'on', got {label_side!r}")
        start, end = self._centre(source), self._centre(target)
        if controls is not None:
            points, curve = (start, *controls, end), "cubic"
        elif bend:
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            dx, dy = end[0] - start[0], end[1] - start[1]
            points, curve = (start, (mx - bend * dy, my + bend * dx), end), "quad"
        else:
            if offset and not via:
                nx, ny = _unit((start[1] - end[1], end[0] - start[0]))
                start = (start[0] + offset * nx, start[1] + offset * ny)
                end = (end[0] + offset * nx, end[1] + offset * ny)
            points, curve = (start, *via, end), None
        points = _clip(points, curve, self._shape(source), self._shape(target), gap)
        name = key or f"{_name(source)}->{_name(target)}"
        arrow = Arrow(name, points, curve, role, label, label_at, label_side, head, emphasis,
                      dashed, width, fontsize, label_gap, bridge,
                      source if isinstance(source, str) else None, target if isinstance(target, str) else None)
        self.arrows.append(arrow)
        return arrow

    def _shape(self, end: str | Point) -> Shape | None:
        if isinstance(end, str):
            if end not in self.shapes:
                raise KeyError(f"no shape named {end!r} in the diagram")
            return self.shapes[end]
        return None

    def _centre(self, end: str | Point) -> Point:
        shape = self._shape(end)
        return (shape.x, shape.y) if shape is not None else (float(end[0]), float(end[1]))

    # --- the rest -----------------------------------------------------------------------------
    def text(self, x: float, y: float, text: str, **style) -> Text:
        """Free text at ``(x, y)``; ``style`` as :class:`Text`'s fields."""
        item = Text(x, y, text, **style)
        self.texts.append(item)
        return item

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, *, fill: str = "none",
                  edge: str = "none", width: float = 1.0, dashed: bool = False,
                  rounded: float = 0.0, layer: int = 0) -> Region:
        """A background rectangle from corner ``(x0, y0)`` to ``(x1, y1)``."""
        return self.polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), fill=fill, edge=edge,
                            width=width, dashed=dashed, rounded=rounded, layer=layer)

    def polygon(self, points: Iterable[Point], *, fill: str = "none", edge: str = "none",
                width: float = 1.0, dashed: bool = False, rounded: float = 0.0,
                layer: int = 0) -> Region:
        """A background polygon (a face of a block, a pixel, a skewed row)."""
        region = Region(tuple(points), fill, edge, width, dashed, rounded, layer)
        self.regions.append(region)
        return region

    def labels(self) -> list[str]:
        """Every text the scene shows: in shapes, on arrows, and free."""
        return ([s.text for s in self.shapes.values() if s.text] + [a.label for a in self.arrows if a.label]
                + [t.text for t in self.texts])

    def bounds(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` of the shapes, arrows and regions (texts are measured when drawn)."""
        xs, ys = [], []
        for s in self.shapes.values():
            xs += [s.left, s.right]
            ys += [s.bottom, s.top]
        for a in self.arrows:
            xs += [x for x, _ in a.points]
            ys += [y for _, y in a.points]
        for r in self.regions:
            xs += [x for x, _ in r.points]
            ys += [y for _, y in r.points]
        for t in self.texts:
            xs.append(t.x)
            ys.append(t.y)
        if not xs:
            return (0.0, 0.0, 0.0, 0.0)
        return (min(xs), min(ys), max(xs), max(ys))

    def place(self, other: Scene, dx: float, dy: float, prefix: str = "") -> None:
        """Copy ``other`` into this scene, moved by ``(dx, dy)``, its keys prefixed by ``prefix``."""
        for shape in other.shapes.values():
            self._add(replace(shape.moved(dx, dy), key=prefix + shape.key))
        self.arrows += [replace(a.moved(dx, dy), key=prefix + a.key,
                                source=a.source and prefix + a.source, target=a.target and prefix + a.target)
                        for a in other.arrows]
        self.regions += [r.moved(dx, dy) for r in other.regions]
        self.texts += [t.moved(dx, dy) for t in other.texts]


def _name(end: str | Point) -> str:
    return end if isinstance(end, str) else f"({end[0]:g},{end[1]:g})"


def _distance(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _unit(v: Point) -> Point:
    n = math.hypot(*v)
    return (0.0, 0.0) if n == 0 else (v[0] / n, v[1] / n)


def _bezier(points: Sequence[Point], s: float) -> Point:
    """De Casteljau: the point at parameter ``s`` of the Bézier curve with these control points."""
    pts = list(points)
    while len(pts) > 1:
        pts = [((1 - s) * a[0] + s * b[0], (1 - s) * a[1] + s * b[1]) for a, b in zip(pts, pts[1:])]
    return pts[0]


def _bezier_tangent(points: Sequence[Point], s: float) -> Point:
    n = len(points) - 1
    diffs = [(n * (b[0] - a[0]), n * (b[1] - a[1])) for a, b in zip(points, points[1:])]
    return _bezier(diffs, s) if len(diffs) > 1 else diffs[0]


def _split(points: Sequence[Point], s: float) -> tuple[list[Point], list[Point]]:
    """Split a Bézier curve at ``s`` into the control points of its two halves."""
    left, right, pts = [points[0]], [points[-1]], list(points)
    while len(pts) > 1:
        pts = [((1 - s) * a[0] + s * b[0], (1 - s) * a[1] + s * b[1]) for a, b in zip(pts, pts[1:])]
        left.append(pts[0])
        right.append(pts[-1])
    return left, right[::-1]


def _exit_parameter(inside, s_in: float, s_out: float) -> float:
    """Bisect for the parameter where ``inside(s)`` turns from true (at ``s_in``) to false."""
    for _ in range(48):
        mid = (s_in + s_out) / 2
        if inside(mid):
            s_in = mid
        else:
            s_out = mid
    return s_out


def _clip(points: tuple[Point, ...], curve: str | None, source: Shape | None, target: Shape | None,
          gap: float) -> tuple[Point, ...]:
    """Cut a path where it leaves ``source`` and where it enters ``target`` (each may be None)."""
    if curve is not None:
        pts = list(points)
        if source is not None and source.contains(pts[0]):
            if source.contains(_bezier(pts, 1.0)):
                raise ValueError(f"the arrow from {source.key!r} ends inside it")
            s = _exit_parameter(lambda t: source.contains(_bezier(pts, t)), 0.0, 1.0)
            pts = _split(pts, s)[1]
        if target is not None and target.contains(pts[-1]):
            s = _exit_parameter(lambda t: target.contains(_bezier(pts, 1.0 - t)), 0.0, 1.0)
            pts = _split(pts, 1.0 - s)[0]
        return tuple(pts)
    pts = list(points)
    if source is not None and source.contains(pts[0]):
        first = 0  # the last point of the leading run of points inside the source
        while first + 1 < len(pts) and source.contains(pts[first + 1]):
            first += 1
        if first == len(pts) - 1:
            raise ValueError(f"the arrow from {source.key!r} does not leave it")
        a, b = pts[first], pts[first + 1]
        s = _exit_parameter(lambda t: source.contains((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))), 0.0, 1.0)
        pts = [(a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1]))] + pts[first + 1:]
    if target is not None and target.contains(pts[-1]):
        last = len(pts) - 1  # the first point of the trailing run of points inside the target
        while last - 1 > 0 and target.contains(pts[last - 1]):
            last -= 1
        a, b = pts[last], pts[last - 1]
        s = _exit_parameter(lambda t: target.contains((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))), 0.0, 1.0)
        pts = pts[:last] + [(a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1]))]
    if gap:
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        ux, uy = _unit((bx - ax, by - ay))
        pts[-1] = (bx - gap * ux, by - gap * uy)
    return tuple(pts)
