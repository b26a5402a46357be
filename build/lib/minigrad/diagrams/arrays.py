"""Arrays as pictures: the time-major batch (chapter 3) and the fused gate product (chapter 13).

A matrix or a vector is a grid of cells; a block of rows that plays one part (one gate's rows,
one time step) is outlined and named.
"""

from __future__ import annotations

from typing import Sequence

from minigrad.diagrams.language import GATE_SIZE, MUTED_COLOUR, NOTE_FONT, ROLES, TEXT_COLOUR, Scene
from minigrad.diagrams.patterns import _check_steps
from minigrad.diagrams.render import Diagram

__all__ = ["batch_layout", "fused_gates"]

CELL = 0.16  # inches per array entry
GRID = "#9a9a9a"


def _grid(scene: Scene, x0: float, y0: float, columns: int, rows: int, fill: str, edge: str,
          cell: float = CELL, width: float = 1.2) -> None:
    """An array of ``rows`` by ``columns`` entries with its lower left corner at ``(x0, y0)``."""
    scene.rectangle(x0, y0, x0 + columns * cell, y0 + rows * cell, fill=fill, edge=edge, width=width, layer=1)
    for c in range(1, columns):
        scene.polygon(((x0 + c * cell, y0), (x0 + c * cell, y0 + rows * cell)), edge=GRID, width=0.5, layer=2)
    for r in range(1, rows):
        scene.polygon(((x0, y0 + r * cell), (x0 + columns * cell, y0 + r * cell)), edge=GRID, width=0.5, layer=2)


def batch_layout(steps: int = 5, batch: int = 4, features: int = 3, *, highlight: int = 2) -> Diagram:
    """A batch of sequences stored time-major, as an array of shape :math:`(\\tau, B, D)` (chapter 3).

    The array is a row of :math:`\\tau` matrices, one per time step; matrix :math:`t` holds the
    inputs :math:`x^{(t)}` of all :math:`B` sequences of the batch, one row per sequence and one
    column per feature. ``x[t]`` (highlighted) is what one step of the network reads.

    Args:
        steps: time steps :math:`\\tau`, 2 to 6.
        batch: sequences :math:`B`, 1 to 6.
        features: features :math:`D`, 1 to 4.
        highlight: the step drawn in colour, counted from 0 as in ``x[t]``.

    Returns:
        The diagram.

    Raises:
        ValueError: a count out of range.
    """
    _check_steps(steps, 2, 6)
    _check_steps(batch, 1, 6, "batch")
    _check_steps(features, 1, 4, "features")
    _check_steps(highlight, 0, steps - 1, "highlight")
    scene = Scene()
    gap = 0.3
    width = features * CELL
    for t in range(steps):
        x0 = t * (width + gap)
        chosen = t == highlight
        role = ROLES["input"] if chosen else ROLES["neutral"]
        _grid(scene, x0, 0.0, features, batch, role.fill, role.edge, width=2.0 if chosen else 1.0)
        scene.text(x0 + width / 2, -0.12, f"x[{t}]", fontsize=NOTE_FONT, va="top",
                   colour=TEXT_COLOUR if chosen else MUTED_COLOUR, bold=chosen)
    top = batch * CELL
    right = steps * (width + gap) - gap
    # the three axes: time along the row, batch down a matrix, features across it
    scene.arrow((0.0, top + 0.22), (right, top + 0.22), key="axis.time", width=1.0)
    scene.text(right / 2, top + 0.3, r"time $t$: axis 0, $\tau$ steps", fontsize=NOTE_FONT, va="bottom")
    scene.arrow((-0.12, top), (-0.12, 0.0), key="axis.batch", width=1.0)
    scene.text(-0.2, top / 2, r"batch: $B$", fontsize=NOTE_FONT, ha="right")
    scene.arrow((0.0, -0.42), (width, -0.42), key="axis.features", width=1.0)
    scene.text(width + 0.08, -0.42, r"features: $D$", fontsize=NOTE_FONT, ha="left")
    alt = (f"An array of shape (tau, B, D) drawn as a row of {steps} matrices, one per time step, each with "
           f"{batch} rows (the sequences of the batch) and {features} columns (the features). The matrix "
           f"x[{highlight}] is highlighted: the inputs of every sequence at one step.")
    return Diagram(scene, alt)


GATE_NAMES = ("i", "f", "g", "o")


def fused_gates(gates: Sequence[str] = GATE_NAMES) -> Diagram:
    """All gate pre-activations in one matrix product (chapter 13).

    The recurrent matrices of the gates are stacked into one :math:`4H \\times H` matrix and the
    input matrices into one :math:`4H \\times D` matrix (PyTorch's ``weight_hh`` and
    ``weight_ih``, blocks in the order :math:`i, f, g, o`), so one product each gives every
    pre-activation; the result is cut into one block per gate, each passed through its
    nonlinearity (:math:`\\tanh` for :math:`g`, :math:`\\sigma` for the others).

    Args:
        gates: the names of the blocks, top to bottom (any order, 1 to 4 of them; ``g`` is the
            candidate and gets :math:`\\tanh`).

    Returns:
        The diagram.

    Raises:
        ValueError: no gates, more than 4, or a name repeated.
    """
    gates = tuple(str(g) for g in gates)
    if not 1 <= len(gates) <= 4 or len(set(gates)) != len(gates):
        raise ValueError(f"fused_gates: give 1 to 4 distinct gate names, got {gates}")
    scene = Scene()
    n = len(gates)
    hidden, inputs = 3, 2  # entries per block drawn for H and D
    block = hidden * CELL
    height = n * block
    weight = ROLES["neutral"]
    x = 0.0

    def stacked(x0: float, columns: int, name: str) -> None:
        for k, gate in enumerate(gates):
            y0 = height - (k + 1) * block
            fill = "#e9e9e9" if k % 2 == 0 else "#f6f6f6"
            scene.rectangle(x0, y0, x0 + columns * CELL, y0 + block, fill=fill, edge=weight.edge, width=1.0, layer=1)
            scene.text(x0 + columns * CELL / 2, y0 + block / 2, f"${name}^{{{gate}}}$", fontsize=12)

    def vector(x0: float, rows: int, role: str, label: str) -> None:
        y0 = (height - rows * CELL) / 2
        _grid(scene, x0, y0, 1, rows, ROLES[role].fill, ROLES[role].edge)
        scene.text(x0 + CELL / 2, y0 - 0.1, label, fontsize=12, va="top")

    stacked(x, hidden, "W")
    x += hidden * CELL + 0.3
    vector(x, hidden, "hidden", "$h^{(t-1)}$")
    x += CELL + 0.45
    scene.text(x - 0.22, height / 2, "$+$", fontsize=14)
    stacked(x, inputs, "U")
    x += inputs * CELL + 0.25
    vector(x, inputs, "input", "$x^{(t)}$")
    x += CELL + 0.45
    scene.text(x - 0.22, height / 2, "$+$", fontsize=14)
    for k, gate in enumerate(gates):
        y0 = height - (k + 1) * block
        scene.rectangle(x, y0, x + CELL, y0 + block, fill="#f6f6f6" if k % 2 else "#e9e9e9", edge=weight.edge,
                        width=1.0, layer=1)
    scene.text(x + CELL / 2, -0.1, "$b$", fontsize=12, va="top")
    x += CELL + 0.45
    scene.text(x - 0.22, height / 2, "$=$", fontsize=14)
    for k, gate in enumerate(gates):
        y0 = height - (k + 1) * block
        _grid(scene, x, y0, 1, hidden, ROLES["gate"].fill, ROLES["gate"].edge)
        scene.text(x + CELL + 0.06, y0 + block / 2 + 0.13, f"$a_{{{gate}}}^{{(t)}}$", fontsize=10, ha="left")
        centre = y0 + block / 2
        scene.gate(f"gate.{gate}", x + 0.85, centre, r"$\tanh$" if gate == "g" else r"$\sigma$",
                   size=(GATE_SIZE[0], min(GATE_SIZE[1], block - 0.06)))
        scene.arrow((x + CELL, centre), f"gate.{gate}", key=f"a->{gate}")
        scene.state(f"out.{gate}", x + 1.6, centre, f"${gate}^{{(t)}}$", "neutral",
                    size=(0.5, min(0.36, block - 0.06)))
        scene.arrow(f"gate.{gate}", f"out.{gate}")
    scene.text(0.0, -0.55, f"one product with a ${n}H \\times H$ matrix and one with a ${n}H \\times D$ "
               f"matrix, instead of {n} of each", fontsize=NOTE_FONT, ha="left", colour=MUTED_COLOUR)
    alt = (f"The {n} gates' recurrent matrices W^{', W^'.join(gates)} stacked into one matrix that multiplies "
           f"h(t-1), plus the stacked input matrices U^{', U^'.join(gates)} times x(t), plus the stacked bias, "
           "gives one long vector of pre-activations, cut into one block per gate; each block passes through "
           "its nonlinearity (tanh for g, sigmoid for the others) to give the gate.")
    return Diagram(scene, alt)
