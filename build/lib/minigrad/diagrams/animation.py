"""An animated diagram: the gradient travelling back through an unrolled network (chapter 4).

An :class:`Animation` is one SVG drawing in which every frame adds a group of shapes, with a
small player (buttons and a slider, plain JavaScript, nothing loaded from anywhere) that shows
frames 0 to :math:`k`. It is one self-contained piece of HTML, a few tens of kilobytes, that
works offline. Without JavaScript (or in an untrusted notebook) the last frame, the whole story,
is what the reader sees.
"""

from __future__ import annotations

import html
import io
import math
import re
from typing import Mapping, Sequence

from minigrad.diagrams.language import MUTED_COLOUR, NOTE_FONT, STATE_SIZE, Scene
from minigrad.diagrams.patterns import _check_steps, _label
from minigrad.diagrams.render import STYLE, SVG_METADATA, Diagram, _draw

__all__ = ["Animation", "gradient_animation"]

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class Animation:
    """A diagram whose frames a reader steps through, shown as HTML with its own player.

    Use it in a notebook as a :class:`~minigrad.diagrams.render.Diagram` is used: the last value
    of a cell, or ``glue("diagram-...", animation, display=False)`` and a ``{glue:figure}``.

    Attributes:
        base: what every frame shows.
        frames: what each frame adds, in order; frame :math:`k` shows ``base`` and
            ``frames[0]`` to ``frames[k]``.
        alt: a description of the whole animation for readers who cannot see it.
        name: the id of the player on the page (lowercase letters, digits and hyphens); two
            animations on one page need two names.
        captions: one line of text per frame, shown under the drawing.
        interval: milliseconds per frame when playing.
    """

    def __init__(self, base: Scene, frames: Sequence[Scene], alt: str, *, name: str,
                 captions: Sequence[str], interval: int = 900) -> None:
        if not _NAME.match(name):
            raise ValueError(f"Animation: name must be lowercase letters, digits and hyphens, got {name!r}")
        if len(captions) != len(frames) or not frames:
            raise ValueError(f"Animation: {len(frames)} frames need as many captions, got {len(captions)}")
        self.base, self.frames, self.alt = base, list(frames), alt
        self.name, self.captions, self.interval = name, list(captions), interval

    def still(self, frame: int = -1) -> Diagram:
        """Frame ``frame`` (the last when -1) as a still :class:`~minigrad.diagrams.render.Diagram`."""
        count = len(self.frames)
        if not -count <= frame < count:
            raise ValueError(f"Animation.still: frame must be from {-count} to {count - 1}, got {frame}")
        scene = Scene()
        scene.place(self.base, 0.0, 0.0)
        for j in range(frame % count + 1):
            scene.place(self.frames[j], 0.0, 0.0, prefix=f"frame{j}.")
        return Diagram(scene, self.alt)

    def to_svg(self) -> str:
        """The drawing with every frame shown, as an SVG document (the same text on every run)."""
        from matplotlib import style

        with style.context(["default", STYLE]):
            figure, _ = _draw(self.base, self.frames, frame_id=f"{self.name}-frame")
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata=SVG_METADATA, facecolor="white")
        return buffer.getvalue().decode("utf-8")

    def to_html(self) -> str:
        """The animation as one self-contained piece of HTML: the SVG, the player and its script."""
        svg = self.to_svg()
        svg = svg[svg.index("<svg"):]  # drop the XML prologue: the SVG is inline in the page
        label = html.escape(self.alt, quote=True)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="diagram-animation-svg" ', 1)
        last = len(self.frames) - 1
        captions = ",".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in self.captions)
        return _PLAYER.format(name=self.name, svg=svg, last=last, interval=self.interval, captions=captions,
                              caption=html.escape(self.captions[-1]), count=len(self.frames))

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"Animation({self.alt!r})"


# The player: buttons and a slider that show frames 0..k by hiding the SVG elements of later
# frames (their ids start with "<name>-frame-<j>-"). No external resource, no global name.
_PLAYER = """<div class="diagram-animation" id="{name}">
<style>
#{name} .diagram-animation-svg {{ display: block; max-width: 100%; height: auto; }}
#{name} .diagram-animation-controls {{ display: flex; flex-wrap: wrap; align-items: center; gap: 0.4em;
  margin-top: 0.4em; font-size: 0.9em; }}
#{name} button {{ font: inherit; color: inherit; background: transparent; border: 1px solid currentColor;
  border-radius: 0.3em; padding: 0.1em 0.6em; cursor: pointer; }}
#{name} input[type=range] {{ flex: 1 1 8em; min-width: 6em; }}
#{name} .diagram-animation-caption {{ margin: 0.3em 0 0 0; }}
</style>
{svg}
<div class="diagram-animation-controls" role="group" aria-label="Animation controls">
<button type="button" data-step="first" aria-label="First step">First</button>
<button type="button" data-step="back" aria-label="Previous step">Back</button>
<button type="button" data-step="play" aria-label="Play from the start">Play</button>
<button type="button" data-step="next" aria-label="Next step">Next</button>
<input type="range" min="0" max="{last}" value="{last}" step="1" aria-label="Step">
<span class="diagram-animation-count">step {count} of {count}</span>
</div>
<p class="diagram-animation-caption" aria-live="polite">{caption}</p>
<script>
(function () {{
  var root = document.getElementById("{name}");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "yes";
  var last = {last}, captions = [{captions}], timer = null, shown = last;
  var slider = root.querySelector("input[type=range]");
  var count = root.querySelector(".diagram-animation-count");
  var caption = root.querySelector(".diagram-animation-caption");
  function show(k) {{
    shown = Math.max(0, Math.min(last, k));
    for (var j = 0; j <= last; j++) {{
      var parts = root.querySelectorAll('[id^="{name}-frame-' + j + '-"]');
      for (var i = 0; i < parts.length; i++) parts[i].style.display = j <= shown ? "" : "none";
    }}
    slider.value = shown;
    count.textContent = "step " + (shown + 1) + " of " + (last + 1);
    caption.textContent = captions[shown];
  }}
  function stop() {{ if (timer) {{ clearInterval(timer); timer = null; }} }}
  function play() {{
    stop(); show(0);
    timer = setInterval(function () {{ if (shown >= last) stop(); else show(shown + 1); }}, {interval});
  }}
  root.addEventListener("click", function (event) {{
    var step = event.target.getAttribute && event.target.getAttribute("data-step");
    if (!step) return;
    if (step === "play") {{ play(); return; }}
    stop();
    show(step === "first" ? 0 : step === "back" ? shown - 1 : shown + 1);
  }});
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  show(last);
}})();
</script>
</div>"""


def gradient_animation(steps: int = 6, factors: Sequence[float] = (0.6, 1.5), *,
                       norms: Mapping[str, Sequence[float]] | None = None,
                       name: str = "gradient-animation") -> Animation:
    """The gradient of :math:`L^{(\\tau)}` travelling back through an unrolled RNN, step by step (chapter 4).

    One chain of states per row; frame :math:`k` shows the gradient after it has gone back
    :math:`k` steps from :math:`h^{(\\tau)}`, each arrow as thick as the gradient's norm is large
    and each reached state labelled with :math:`\\|\\nabla_{h^{(t)}} L^{(\\tau)}\\|`. With the
    default ``factors`` every step multiplies the norm by the same number, so one row shrinks
    geometrically and the other grows (chapter 8 measures it on real networks; pass those
    measurements as ``norms``).

    Args:
        steps: the length :math:`\\tau` of each chain, 2 to 6.
        factors: one row per factor: the norm at :math:`h^{(t)}` is ``factor ** (tau - t)``.
        norms: instead of ``factors``, one row per entry, ``label -> norms``, the norm at
            :math:`h^{(\\tau)}, h^{(\\tau-1)}, \\dots, h^{(1)}` (``steps`` positive numbers).
        name: the id of the player on the page.

    Returns:
        The animation, ``steps`` frames.

    Raises:
        ValueError: a count out of range, a factor or norm that is not positive, or norms of
            the wrong length.
    """
    _check_steps(steps, 2, 6)
    if norms is None:
        if not factors or any(not f > 0 for f in factors):
            raise ValueError(f"gradient_animation: factors must be positive numbers, got {tuple(factors)}")
        rows = {_factor_label(f): [f ** k for k in range(steps)] for f in factors}
    else:
        rows = {str(k): [float(v) for v in values] for k, values in norms.items()}
        for label, values in rows.items():
            if len(values) != steps or any(not v > 0 or not math.isfinite(v) for v in values):
                raise ValueError(f"gradient_animation: norms[{label!r}] must be {steps} positive numbers")
    if not 1 <= len(rows) <= 3:
        raise ValueError(f"gradient_animation: draw 1 to 3 rows, got {len(rows)}")
    base, step, band = Scene(), 0.95, 1.2
    frames = [Scene() for _ in range(steps)]
    small = (0.55, STATE_SIZE[1])
    for row, (label, values) in enumerate(rows.items()):
        y = -row * band
        base.text(-0.3, y + 0.42, label, fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)
        for t in range(1, steps + 1):
            base.state(f"{row}.h{t}", (t - 1) * step, y, _label("h", str(t)), "hidden", size=small)
            if t > 1:
                base.arrow(f"{row}.h{t - 1}", f"{row}.h{t}", offset=0.07, key=f"{row}.h{t - 1}->h{t}", width=1.0)
        base.state(f"{row}.L", steps * step, y, _label("L", r"\tau"), "loss", size=small)
        base.arrow(f"{row}.h{steps}", f"{row}.L", offset=0.07, width=1.0)
        for k, value in enumerate(values):  # frame k: the gradient has reached h^(tau - k)
            t = steps - k
            target = base.shapes[f"{row}.h{t}"]
            scene = frames[k]
            source = base.shapes[f"{row}.L"] if k == 0 else base.shapes[f"{row}.h{t + 1}"]
            scene.arrow((source.left, source.y - 0.07), (target.right, target.y - 0.07), role="gradient",
                        width=_width(value), key=f"{row}.g{k}")
            scene.text(target.x, target.bottom - 0.08, f"{value:.2g}", fontsize=NOTE_FONT, va="top",
                       colour="#b04a00")
    base.text(-0.3, 0.8, r"Under each state: $\|\nabla_{h^{(t)}} L^{(\tau)}\|$. Arrows are as thick as the gradient.",
              fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)
    captions = [f"The gradient has gone back {k} step{'s' if k != 1 else ''} from h({steps})." if k
                else f"The loss L sends its gradient into h({steps})." for k in range(steps)]
    described = "; ".join(f"{label}: from {values[0]:.2g} at h({steps}) to {values[-1]:.2g} at h(1)"
                          for label, values in rows.items())
    alt = (f"An animation in {steps} steps of the gradient of the loss at the last step travelling back through "
           f"an unrolled network of {steps} states, one row per case, each arrow as thick as the gradient's norm. "
           f"{described}.")
    return Animation(base, frames, alt, name=name, captions=captions)


def _factor_label(factor: float) -> str:
    kind = "vanishes" if factor < 1 else ("explodes" if factor > 1 else "keeps its size")
    return f"Each step multiplies the norm by {factor:g}: it {kind}."


def _width(norm: float) -> float:
    """Arrow width in points for a gradient of this norm: a square root, kept between 0.5 and 7."""
    return min(7.0, max(0.5, 2.0 * math.sqrt(norm)))
