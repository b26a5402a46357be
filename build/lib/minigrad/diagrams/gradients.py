"""How gradients travel back through an unrolled network: BPTT, its truncation, and the product
of Jacobians (chapters 4 and 8).

Forward arrows are dark grey; each gradient runs back beside the arrow it mirrors, in vermillion.
"""

from __future__ import annotations

from minigrad.diagrams.language import MUTED_COLOUR, NOTE_FONT, ROLES, STATE_SIZE, Scene
from minigrad.diagrams.patterns import ROW, _check_steps, _label, _legend, _times
from minigrad.diagrams.render import Diagram

__all__ = ["gradient_flow", "jacobian_chain", "truncated_bptt"]

BESIDE = 0.07  # inches between a forward arrow and the gradient running back beside it


def gradient_flow(steps: int = 3, *, focus: int | None = None) -> Diagram:
    """Backpropagation through time in pattern A: the two children of :math:`h^{(t)}` (chapter 4).

    Each step is drawn with its pre-activation :math:`a^{(t)} = b + W h^{(t-1)} + U x^{(t)}`
    and its state :math:`h^{(t)} = \\tanh(a^{(t)})`. Gradients (vermillion) run back beside
    every forward arrow, from each loss :math:`L^{(t)}`. The state :math:`h^{(t)}` of the
    ``focus`` step has two children, :math:`o^{(t)}` and :math:`a^{(t+1)}`, so its gradient is
    the sum of the two labelled messages,
    :math:`\\nabla_{h^{(t)}} L = V^\\top \\nabla_{o^{(t)}} L + W^\\top \\nabla_{a^{(t+1)}} L`.

    Args:
        steps: time steps drawn (labelled around :math:`t`), 2 or 3.
        focus: the step, from 1 to ``steps - 1``, whose state is highlighted; the middle one
            (:math:`t`) when ``None``.

    Returns:
        The diagram.

    Raises:
        ValueError: a step count or focus out of range.
    """
    _check_steps(steps, 2, 3)
    if focus is None:
        focus = (steps + 1) // 2
    _check_steps(focus, 1, steps - 1, "focus")
    times = _times(steps, "relative")
    scene = Scene()
    step, half = 2.0, 0.5
    small = (0.55, STATE_SIZE[1])
    y_h = ROW
    for i in range(1, steps + 1):
        x, t = (i - 1) * step, times[i]
        strong = "strong" if i == focus else "normal"
        scene.state(f"x{i}", x - half, 0.0, _label("x", t), "input", size=small)
        scene.state(f"a{i}", x - half, y_h, _label("a", t), "hidden", size=small)
        scene.state(f"h{i}", x + half, y_h, _label("h", t), "hidden", emphasis=strong)
        scene.state(f"o{i}", x + half, y_h + ROW, _label("o", t), "output")
        scene.state(f"L{i}", x + half, y_h + 2 * ROW, _label("L", t), "loss")
        first = i == 1
        scene.arrow(f"x{i}", f"a{i}", "$U$" if first else "")
        scene.arrow(f"a{i}", f"h{i}", r"$\tanh$" if first else "", offset=BESIDE, label_gap=0.1)
        scene.arrow(f"h{i}", f"o{i}", "$V$" if first else "", offset=BESIDE)
        scene.arrow(f"o{i}", f"L{i}", offset=BESIDE)
        if i > 1:
            scene.arrow(f"h{i - 1}", f"a{i}", "$W$" if i == 2 else "", offset=BESIDE, label_gap=0.1)
        # the gradients, back beside each forward arrow
        at_focus = i == focus
        scene.arrow(f"L{i}", f"o{i}", r"$\hat{y}^{(%s)} - \mathbf{1}_{y^{(%s)}}$" % (t, t) if at_focus else "",
                    role="gradient", offset=BESIDE, label_side="left")
        scene.arrow(f"o{i}", f"h{i}", r"$V^{\top} \nabla_{o^{(%s)}} L$" % t if at_focus else "",
                    role="gradient", offset=BESIDE, emphasis="strong" if at_focus else "normal")
        scene.arrow(f"h{i}", f"a{i}", role="gradient", offset=BESIDE)
        if i > 1:
            scene.arrow(f"a{i}", f"h{i - 1}",
                        r"$W^{\top} \nabla_{a^{(%s)}} L$" % t if i - 1 == focus else "",
                        role="gradient", offset=BESIDE, label_gap=0.32,
                        emphasis="strong" if i - 1 == focus else "normal")
    # the sequence goes on at both ends
    a1, hn = scene.shapes["a1"], scene.shapes[f"h{steps}"]
    scene.arrow((a1.left - 0.5, a1.y + BESIDE), (a1.left, a1.y + BESIDE), key="in")
    scene.arrow((a1.left, a1.y - BESIDE), (a1.left - 0.5, a1.y - BESIDE), key="in.gradient", role="gradient")
    scene.arrow((hn.right, hn.y + BESIDE), (hn.right + 0.5, hn.y + BESIDE), key="out")
    scene.arrow((hn.right + 0.5, hn.y - BESIDE), (hn.right, hn.y - BESIDE), key="out.gradient", role="gradient")
    _legend(scene, a1.left - 0.5, -0.55, "gradient of the loss, running back", dashed=False, role="gradient")
    t = times[focus]
    alt = (f"Pattern A unrolled over {steps} steps, each step drawn as x(t) entering the pre-activation a(t) "
           "through U, a(t) giving h(t) through tanh, h(t) giving o(t) through V and o(t) giving the loss L(t); "
           "h(t-1) enters a(t) through W. Gradient arrows run back beside every forward arrow. The state "
           f"h({t}) is highlighted: it receives two gradients, V transpose times the gradient at o({t}) and "
           f"W transpose times the gradient at the next pre-activation, which add up.")
    return Diagram(scene, alt)


def truncated_bptt(steps: int = 6, chunk: int = 3) -> Diagram:
    """Truncated BPTT: the sequence is cut into chunks; the state crosses a cut, the gradient does not (chapter 4).

    Every step has a loss. Within a chunk, gradients (vermillion) run back from each loss and
    along the chain; at a chunk boundary the state is carried forward as a constant (detached),
    so no gradient crosses it (the bars).

    Args:
        steps: time steps, 2 to 8 (fewer with short chunks, so that the figure fits the page).
        chunk: steps per chunk, 1 to ``steps``.

    Returns:
        The diagram.

    Raises:
        ValueError: a count out of range, or a figure too wide for the page.
    """
    _check_steps(steps, 2, 8)
    _check_steps(chunk, 1, steps, "chunk")
    cuts = (steps - 1) // chunk
    if 0.86 * (steps - 1) + 0.3 * cuts > 6.5:
        raise ValueError(f"truncated_bptt: {steps} steps in chunks of {chunk} are too wide for the page; "
                         "draw fewer steps or longer chunks")
    scene = Scene()
    step, small, cut = 0.86, (0.52, STATE_SIZE[1]), 0.3  # a cut widens the gap between two steps
    gradient = ROLES["gradient"].edge
    xs = [(i - 1) * step + ((i - 1) // chunk) * cut for i in range(1, steps + 1)]
    for i in range(1, steps + 1):
        x = xs[i - 1]
        scene.state(f"x{i}", x, 0.0, _label("x", str(i)), "input", size=small)
        scene.state(f"h{i}", x, ROW, _label("h", str(i)), "hidden", size=small)
        scene.state(f"L{i}", x, 2 * ROW, _label("L", str(i)), "loss", size=small)
        scene.arrow(f"x{i}", f"h{i}")
        scene.arrow(f"h{i}", f"L{i}", offset=-BESIDE)
        scene.arrow(f"L{i}", f"h{i}", role="gradient", offset=-BESIDE)
        if i > 1:
            scene.arrow(f"h{i - 1}", f"h{i}", offset=BESIDE)
            if (i - 1) % chunk:
                scene.arrow(f"h{i}", f"h{i - 1}", role="gradient", offset=BESIDE)
            else:  # a cut: the gradient stops at the chunk's edge, drawn as a bar
                edge = xs[i - 1] - small[0] / 2 - cut / 2 - 0.06
                scene.arrow(f"h{i}", (edge, ROW - BESIDE), role="gradient", head=False, key=f"h{i}->cut")
                scene.polygon(((edge - 0.02, ROW - 0.16), (edge + 0.02, ROW - 0.16),
                               (edge + 0.02, ROW + 0.02), (edge - 0.02, ROW + 0.02)),
                              fill=gradient, edge=gradient, width=0.5, layer=9)
    for k, first in enumerate(range(1, steps + 1, chunk)):
        last = min(first + chunk - 1, steps)
        x0, x1 = xs[first - 1] - 0.34, xs[last - 1] + 0.34
        scene.rectangle(x0, -0.32, x1, 2 * ROW + 0.32, fill="#f4f4f4", edge="#c8c8c8", rounded=0.08)
        scene.text((x0 + x1) / 2, 2 * ROW + 0.42, f"chunk {k + 1}", fontsize=NOTE_FONT, colour=MUTED_COLOUR,
                   va="bottom")
    _legend(scene, -0.34, -0.62, "gradient; it stops where the state crosses into the next chunk",
            dashed=False, role="gradient")
    n_chunks = -(-steps // chunk)
    alt = (f"A chain of {steps} steps, each with an input x(t), a state h(t) and a loss L(t), cut into "
           f"{n_chunks} chunks of {chunk} steps. The state passes from each chunk into the next, but the "
           "gradient arrows, which run back from each loss and along the chain, stop at every chunk boundary.")
    return Diagram(scene, alt)


def jacobian_chain(steps: int = 2) -> Diagram:
    """The gradient from :math:`h^{(\\tau)}` back to :math:`h^{(t)}` as a product of Jacobians (chapter 8).

    Each step multiplies by the Jacobian
    :math:`J^{(k)} = \\partial h^{(k)} / \\partial h^{(k-1)} = \\operatorname{diag}(\\tanh'(a^{(k)}))\\, W`,
    and the gradient travelling back by its transpose, so
    :math:`\\partial h^{(\\tau)} / \\partial h^{(t)} = J^{(\\tau)} \\cdots J^{(t+1)}`: a product
    of :math:`\\tau - t` factors that shrinks or grows geometrically.

    Args:
        steps: the explicit steps after :math:`h^{(t)}` before the gap to :math:`h^{(\\tau)}`, 1 to 3.

    Returns:
        The diagram.

    Raises:
        ValueError: a step count out of range.
    """
    _check_steps(steps, 1, 3)
    scene = Scene()
    step = 1.45
    names = ["t"] + [f"t+{k}" for k in range(1, steps + 1)] + [r"\tau"]
    for i, name in enumerate(names):
        x = i * step + (0.35 if i == len(names) - 1 else 0.0)
        scene.state(f"h{i}", x, 0.0, _label("h", name), "hidden")
    scene.state("L", scene.shapes[f"h{len(names) - 1}"].x, ROW, r"$L^{(\tau)}$", "loss")
    scene.arrow(f"h{len(names) - 1}", "L", offset=-BESIDE)
    scene.arrow("L", f"h{len(names) - 1}", role="gradient", offset=-BESIDE)
    for i in range(1, len(names)):
        dots = i == len(names) - 1
        name = names[i] if not dots else r"\tau"
        scene.arrow(f"h{i - 1}", f"h{i}", "" if dots else f"$J^{{({name})}}$", offset=BESIDE, dashed=dots)
        scene.arrow(f"h{i}", f"h{i - 1}", "" if dots else f"$\\times J^{{({name})\\top}}$", role="gradient",
                    offset=BESIDE, dashed=dots)
        if dots:
            mid = (scene.shapes[f"h{i - 1}"].right + scene.shapes[f"h{i}"].left) / 2
            scene.text(mid, 0.3, r"$\cdots$", fontsize=NOTE_FONT)
    left, right = scene.shapes["h0"].left, scene.shapes[f"h{len(names) - 1}"].right
    brace_y = -0.55
    scene.arrow((left, brace_y + 0.1), (left, brace_y), head=False, key="brace.left", width=1.0)
    scene.arrow((left, brace_y), (right, brace_y), head=False, key="brace", width=1.0)
    scene.arrow((right, brace_y + 0.1), (right, brace_y), head=False, key="brace.right", width=1.0)
    scene.text((left + right) / 2, brace_y - 0.1,
               r"$\dfrac{\partial h^{(\tau)}}{\partial h^{(t)}} = J^{(\tau)} \cdots J^{(t+2)} J^{(t+1)},"
               r"\qquad J^{(k)} = \dfrac{\partial h^{(k)}}{\partial h^{(k-1)}}"
               r" = \mathrm{diag}\left(\tanh^{\prime}(a^{(k)})\right) W$",
               fontsize=12, va="top")
    alt = ("A chain of hidden states h(t), h(t+1), ... up to h(tau), which gives the loss L(tau). Each forward "
           "arrow multiplies by the Jacobian J(k) = diag(tanh'(a(k))) W, and the gradient running back "
           "multiplies by its transpose, so the derivative of h(tau) with respect to h(t) is the product "
           "J(tau) ... J(t+2) J(t+1).")
    return Diagram(scene, alt)
