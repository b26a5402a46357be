"""Gated cells: the GRU and the LSTM in the book's notation, the cell state through time, and the
fused gate product (chapters 9, 10 and 13).

Inside a cell (the grey area) a yellow block is a learned layer followed by its nonlinearity
(``σ`` for a gate, ``tanh`` for a candidate), a white circle an element-wise operation, and a
black dot a line that splits. Lines carry vectors from left to right and from bottom to top.
"""

from __future__ import annotations

from minigrad.diagrams.language import NOTE_FONT, OP_FONT, STATE_SIZE, Scene
from minigrad.diagrams.patterns import _check_steps, _label, _legend
from minigrad.diagrams.render import Diagram

__all__ = ["cell_state_path", "gru_cell", "lstm_cell"]

CELL_FILL, CELL_EDGE = "#f6f6f6", "#b9b9b9"
TANH_RADIUS = 0.19
SIGMA, TANH = r"$\sigma$", r"$\tanh$"


def _cell_body(scene: Scene, x0: float, y0: float, x1: float, y1: float) -> None:
    scene.rectangle(x0, y0, x1, y1, fill=CELL_FILL, edge=CELL_EDGE, width=1.2, rounded=0.15)


def lstm_cell(*, weights: bool = True) -> Diagram:
    """The LSTM cell in the book's notation (chapter 10; after Olah 2015).

    The cell state :math:`c^{(t-1)}` runs along the top: the forget gate :math:`f^{(t)}`
    scales it and the input gate :math:`i^{(t)}` adds the candidate :math:`g^{(t)}`,
    :math:`c^{(t)} = f^{(t)} \\odot c^{(t-1)} + i^{(t)} \\odot g^{(t)}`. The hidden state
    :math:`h^{(t-1)}` and the input :math:`x^{(t)}` run along the bottom into the four blocks,
    :math:`\\sigma(b^\\cdot + W^\\cdot h^{(t-1)} + U^\\cdot x^{(t)})` for the gates and
    :math:`\\tanh` for the candidate, and the output gate reads out
    :math:`h^{(t)} = o^{(t)} \\odot \\tanh(c^{(t)})`. PyTorch stacks the four blocks in the
    order :math:`i, f, g, o`.

    Args:
        weights: write each block's weights (:math:`W^f, U^f`, ...) beside it.

    Returns:
        The diagram.
    """
    scene = Scene()
    top, bus, gates = 2.35, 0.4, 1.05
    x_f, x_i, x_g, x_o, x_out = 1.05, 1.85, 2.65, 3.45, 4.15
    _cell_body(scene, 0.0, 0.0, 4.7, 2.75)
    scene.state("c0", -0.7, top, _label("c", "t-1"), "hidden")
    scene.state("h0", -0.7, bus, _label("h", "t-1"), "hidden")
    scene.state("x", 0.55, -0.6, _label("x", "t"), "input")
    scene.state("c1", 5.4, top, _label("c", "t"), "hidden")
    scene.state("h1", 5.4, bus, _label("h", "t"), "hidden")
    # the cell state's path along the top
    scene.op("forget", x_f, top, r"$\odot$")
    scene.op("add", x_g - 0.4, top, "$+$")
    scene.dot("c.split", x_out, top)
    scene.arrow("c0", "forget", head=True)
    scene.arrow("forget", "add")
    scene.arrow("add", "c.split", head=False)
    scene.arrow("c.split", "c1")
    # the bottom bus: [h^(t-1); x^(t)] into the four blocks
    scene.dot("x.join", 0.55, bus)
    scene.arrow("h0", "x.join", head=False)
    scene.arrow("x", "x.join", head=False)
    scene.arrow("x.join", (x_o, bus), head=False, key="bus")
    names = {"f": (x_f, SIGMA), "i": (x_i, SIGMA), "g": (x_g, TANH), "o": (x_o, SIGMA)}
    for gate, (x, text) in names.items():
        if gate != "o":
            scene.dot(f"bus.{gate}", x, bus)
        scene.gate(gate, x, gates, text)
        source = f"bus.{gate}" if gate != "o" else (x_o, bus)
        scene.arrow(source, gate, _gate_weights(gate) if weights else "", key=f"bus->{gate}",
                    label_side="right", fontsize=NOTE_FONT)
    # forget: f scales the old cell
    scene.arrow("f", "forget", _label("f", "t"), label_at=0.45, label_side="right")
    # input: i ⊙ g is added
    scene.op("write", x_g - 0.4, 1.75, r"$\odot$")
    scene.arrow("i", "write", _label("i", "t"), via=((x_i, 1.75),), label_at=0.3, label_side="right")
    scene.arrow("g", "write", _label("g", "t"), via=((x_g, 1.75),), label_at=0.3)
    scene.arrow("write", "add")
    # output: h = o ⊙ tanh(c)
    scene.op("squash", x_out, 1.75, TANH, radius=TANH_RADIUS, fontsize=OP_FONT - 2)
    scene.op("read", x_out, gates, r"$\odot$")
    scene.arrow("c.split", "squash")
    scene.arrow("squash", "read")
    scene.arrow("o", "read", _label("o", "t"), label_gap=0.03)
    scene.arrow("read", "h1", via=((x_out, bus),))
    alt = ("The LSTM cell. The cell state c(t-1) runs along the top: it is multiplied element-wise by the "
           "forget gate f(t), then the product of the input gate i(t) and the candidate g(t) is added, giving "
           "c(t). Below, h(t-1) and x(t) join into one line that feeds four blocks: sigmoid blocks for f(t), "
           "i(t) and the output gate o(t), and a tanh block for g(t). The new hidden state h(t) is o(t) times "
           "tanh of c(t).")
    return Diagram(scene, alt)



def gru_cell(*, reset: bool = True, weights: bool = True) -> Diagram:
    r"""The GRU cell in the book's notation (chapter 9).

    The state :math:`h^{(t-1)}` runs along the top. The update gate :math:`u^{(t)}` mixes it with
    the candidate :math:`\tilde h^{(t)}`,
    :math:`h^{(t)} = u^{(t)} \odot \tilde h^{(t)} + (1 - u^{(t)}) \odot h^{(t-1)}`. With
    ``reset`` the reset gate :math:`r^{(t)}` scales the old state before the candidate reads it,
    :math:`\tilde h^{(t)} = \tanh(b + W (r^{(t)} \odot h^{(t-1)}) + U x^{(t)})` (the book's
    form: PyTorch applies :math:`r` after the product with :math:`W`); without it, this is the
    simplified GRU with an update gate only. Where two lines cross without a dot they do not
    meet.

    Args:
        reset: draw the reset gate (the full GRU); ``False`` for the simplified GRU.
        weights: write the weights on the arrows into each block.

    Returns:
        The diagram.
    """
    scene = Scene()
    top, bus, low, gates, middle = 2.55, 0.45, 0.15, 1.05, 1.7
    x_tap, x_x, x_r, x_c, x_u, x_keep, x_mix = 0.3, 0.65, 1.1, 1.95, 2.8, 3.55, 4.3
    _cell_body(scene, 0.0, 0.0, 4.75, 2.9)
    scene.state("h0", -0.7, top, _label("h", "t-1"), "hidden")
    scene.state("x", x_x, -0.6, _label("x", "t"), "input")
    scene.state("h1", 5.45, top, _label("h", "t"), "hidden")
    # the state's path along the top: keep (1 - u) of it, add u of the candidate
    scene.dot("tap.bus", x_tap, top)
    scene.dot("tap.reset", x_r, top)
    scene.op("keep", x_keep, top, r"$\odot$")
    scene.op("add", x_mix, top, "$+$")
    scene.arrow("h0", "tap.bus", head=False)
    scene.arrow("tap.bus", "tap.reset", head=False)
    scene.arrow("tap.reset", "keep")
    scene.arrow("keep", "add")
    scene.arrow("add", "h1")
    # the gates read [h^(t-1); x^(t)] from the bottom line
    scene.dot("x.join", x_x, bus)
    scene.dot("x.split", x_x, low)
    scene.arrow("tap.bus", (x_tap, bus), via=(), head=False, key="tap->bus")
    scene.arrow((x_tap, bus), "x.join", head=False, key="bus.h")
    scene.arrow("x", "x.split", head=False)
    scene.arrow("x.split", "x.join", head=False)
    scene.arrow("x.join", (x_u, bus), head=False, key="bus")
    scene.gate("u", x_u, gates, SIGMA)
    scene.arrow((x_u, bus), "u", _gate_weights("u") if weights else "", key="bus->u", label_side="right",
                fontsize=NOTE_FONT)
    # the candidate reads x^(t) through U and the (reset) old state through W
    scene.gate("cand", x_c, middle, TANH)
    scene.arrow("x.split", "cand", "$U$" if weights else "", via=((x_c, low),), key="x->cand", label_side="right",
                label_at=0.85, bridge=CELL_FILL)
    if reset:
        scene.dot("bus.r", x_r, bus)
        scene.gate("r", x_r, gates, SIGMA)
        scene.arrow("bus.r", "r", _gate_weights("r") if weights else "", label_side="right", fontsize=NOTE_FONT)
        scene.op("reset", x_r, middle, r"$\odot$")
        scene.arrow("r", "reset", _label("r", "t"), label_side="right", label_gap=0.04)
        scene.arrow("tap.reset", "reset")
        scene.arrow("reset", "cand", "$W$" if weights else "", label_gap=0.04)
    else:
        scene.arrow("tap.reset", "cand", "$W$" if weights else "", via=((x_r, middle),), label_at=0.8)
    # the update gate: 1 - u keeps the old state, u writes the candidate
    scene.dot("u.split", x_u, 1.45)
    scene.op("complement", x_u, 2.05, r"$1{-}$", fontsize=OP_FONT - 1)
    scene.op("write", x_mix, middle, r"$\odot$")
    scene.arrow("u", "u.split", head=False, key="u->split")
    scene.arrow("u.split", "complement")
    scene.arrow("complement", "keep", via=((x_keep, 2.05),))
    scene.arrow("u.split", "write", _label("u", "t"), via=((x_mix, 1.45),), label_at=0.3, label_side="right")
    scene.arrow("cand", "write", _label(r"\tilde{h}", "t"), label_at=0.75, bridge=CELL_FILL)
    scene.arrow("write", "add")
    gate = "the reset gate r(t) and " if reset else ""
    alt = (f"The GRU cell{'' if reset else ' with an update gate only (the simplified GRU)'}. The state "
           f"h(t-1) runs along the top. Below, h(t-1) and x(t) join into one line that feeds {gate}the "
           "update gate u(t), sigmoid blocks. "
           + ("The old state, multiplied element-wise by r(t), enters the tanh block of the candidate through W "
              if reset else "The old state enters the tanh block of the candidate through W ")
           + "and x(t) enters it through U. Along the top, the old state is multiplied by 1 - u(t), and u(t) "
           "times the candidate is added, giving h(t).")
    return Diagram(scene, alt)



def cell_state_path(steps: int = 3, *, gradient: bool = True) -> Diagram:
    r"""The LSTM's cell state through time: the constant error carousel (chapter 10).

    Each step is drawn as a compact cell: one block stands for the four gates, read from
    :math:`h^{(t-1)}` and :math:`x^{(t)}`, and the cell state runs along the top through a
    ``⊙`` (the forget gate) and a ``+`` (the input gate's write). The path of the cell state is
    drawn thick: it meets no weight matrix and no :math:`\tanh'`, so the gradient running back
    along it (vermillion) is only multiplied by the forget gates,
    :math:`\partial c^{(t)} / \partial c^{(t-1)} = \operatorname{diag}(f^{(t)})`.

    Args:
        steps: time steps, 1 to 3.
        gradient: draw the gradient running back along the cell state.

    Returns:
        The diagram.

    Raises:
        ValueError: a step count out of range.
    """
    _check_steps(steps, 1, 3)
    scene = Scene()
    step, top, low = 1.9, 1.35, 0.5
    scene.state("c0", -1.25, top, _label("c", "0"), "hidden")
    scene.state("h0", -1.25, low, _label("h", "0"), "hidden")
    previous_c, previous_h = "c0", "h0"
    for k in range(1, steps + 1):
        x = (k - 1) * step
        _cell_body(scene, x - 0.72, 0.0, x + 0.72, 1.75)
        scene.op(f"forget{k}", x - 0.3, top, r"$\odot$")
        scene.op(f"add{k}", x + 0.3, top, "$+$")
        scene.gate(f"gates{k}", x, low, r"$f\;i\;g\;o$", size=(0.72, 0.3))
        scene.state(f"x{k}", x, -0.55, _label("x", str(k)), "input")
        scene.arrow(f"x{k}", f"gates{k}")
        scene.arrow(previous_c, f"forget{k}", emphasis="strong", key=f"c{k - 1}->forget{k}")
        scene.arrow(f"forget{k}", f"add{k}", emphasis="strong", key=f"forget{k}->add{k}")
        scene.arrow(previous_h, f"gates{k}", key=f"h{k - 1}->gates{k}")
        scene.arrow(f"gates{k}", f"forget{k}", _label("f", str(k)), via=((x - 0.3, low + 0.15),),
                    label_at=0.7, label_side="right", key=f"gates{k}->forget{k}")
        scene.arrow(f"gates{k}", f"add{k}", via=((x + 0.3, low + 0.15),), key=f"gates{k}->add{k}")
        scene.dot(f"c.split{k}", x + 0.55, top)
        scene.dot(f"h.out{k}", x + 0.55, low)
        scene.arrow(f"add{k}", f"c.split{k}", head=False, emphasis="strong")
        scene.arrow(f"c.split{k}", f"h.out{k}", key=f"c{k}->h{k}")
        scene.arrow(f"gates{k}", f"h.out{k}", head=False, key=f"gates{k}->h{k}")
        previous_c, previous_h = f"c.split{k}", f"h.out{k}"
    end = (steps - 1) * step + 1.25
    scene.state("c.end", end, top, _label("c", str(steps)), "hidden")
    scene.state("h.end", end, low, _label("h", str(steps)), "hidden")
    scene.arrow(previous_c, "c.end", emphasis="strong")
    scene.arrow(previous_h, "h.end")
    if gradient:
        above = top + 0.62
        for k in range(steps, 0, -1):  # through cell k the gradient is multiplied by f^(k)
            x = (k - 1) * step
            scene.arrow((x + 0.72, above), (x - 0.72, above), f"$\\times f^{{({k})}}$", role="gradient",
                        key=f"gradient{k}", label_side="right")
        _legend(scene, -1.25 - STATE_SIZE[0] / 2, -1.1,
                "gradient along the cell state: multiplied only by the forget gates", dashed=False,
                role="gradient")
    alt = (f"An LSTM unrolled over {steps} steps. Each step is a cell in which one block computes the gates f, i, g "
           "and o from h(t-1) and x(t). The cell state runs along the top, drawn thick, through each step's "
           "forget multiplication and input addition, from c(0) to c(%d)." % steps
           + (" A gradient arrow runs back above it, multiplied at each step by that step's forget gate f(t)."
              if gradient else ""))
    return Diagram(scene, alt)


def _gate_weights(gate: str) -> str:
    """The label of the arrow into a gate block: the weights that block applies."""
    return f"$W^{{{gate}}}\\!,\\,U^{{{gate}}}$" if gate else "$W\\!,\\,U$"
