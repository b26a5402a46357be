"""Backpropagation through time for pattern A, derived by hand (chapter 4; reused in chapters 8 and 13).

The network is the book's pattern A (:class:`minigrad.nn.ElmanRNN`) with the summed
negative log-likelihood,

.. math::
    a^{(t)} = b + W h^{(t-1)} + U x^{(t)}, \\quad h^{(t)} = \\tanh(a^{(t)}), \\quad
    o^{(t)} = c + V h^{(t)}, \\quad \\hat{y}^{(t)} = \\operatorname{softmax}(o^{(t)}), \\quad
    L = -\\sum_t \\log \\hat{y}^{(t)}_{y^{(t)}} .

:func:`bptt_gradients` implements the backward recursion of chapter 4 in numpy,

.. math::
    \\nabla_{o^{(t)}} L = \\hat{y}^{(t)} - \\mathbf{1}_{y^{(t)}}, \\qquad
    \\nabla_{h^{(\\tau)}} L = V^\\top \\nabla_{o^{(\\tau)}} L, \\qquad
    \\nabla_{h^{(t)}} L = W^\\top \\operatorname{diag}\\big(1 - (h^{(t+1)})^2\\big)
        \\nabla_{h^{(t+1)}} L + V^\\top \\nabla_{o^{(t)}} L,

and the parameter gradients as sums over time. Arrays are time-major with a batch axis, as in
``ElmanRNN``: :math:`x` is :math:`(\\tau, B, D)`, so every vector of the book is a row here and
:math:`W^\\top g` is written ``g @ W``. The :func:`symbolic_loss` and :func:`symbolic_gradients`
pair builds the same network in SymPy (imported only there) for the exact checks of chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.gradcheck import central_difference
from minigrad.nn.patterns import elman_states
from minigrad.tensor import as_tensor

__all__ = [
    "PARAMETER_NAMES",
    "ElmanForward",
    "elman_forward",
    "bptt_gradients",
    "central_differences",
    "relative_difference",
    "symbolic_loss",
    "symbolic_gradients",
    "symbolic_names",
    "symbolic_agreement",
]

PARAMETER_NAMES = ("U", "W", "V", "b", "c")
"""The parameters of pattern A, in the order of :class:`minigrad.nn.ElmanRNN`."""


@dataclass(frozen=True)
class ElmanForward:
    """What the backward pass needs from the forward pass of pattern A.

    Attributes:
        x: inputs :math:`x^{(1..\\tau)}`, :math:`(\\tau, B, D)`.
        targets: class indices :math:`y^{(1..\\tau)}`, integers :math:`(\\tau, B)`.
        h: hidden states :math:`h^{(0..\\tau)}`, :math:`(\\tau + 1, B, H)`; ``h[0]`` is
            :math:`h^{(0)}`, so ``h[t]`` is :math:`h^{(t)}`.
        y_hat: predictions :math:`\\hat{y}^{(1..\\tau)}`, :math:`(\\tau, B, O)`.
        loss: :math:`L = -\\sum_{t, n} \\log \\hat{y}^{(t)}_{n, y^{(t)}_n}`, summed over time and batch.
    """

    x: np.ndarray
    targets: np.ndarray
    h: np.ndarray
    y_hat: np.ndarray
    loss: float


def _check_parameters(params: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise KeyError(f"pattern A needs parameters {', '.join(PARAMETER_NAMES)}; missing {', '.join(missing)}")
    hidden, inputs = np.shape(params["U"])
    outputs = np.shape(params["V"])[0]
    expected = {"U": (hidden, inputs), "W": (hidden, hidden), "V": (outputs, hidden),
                "b": (hidden,), "c": (outputs,)}
    for name, shape in expected.items():
        if np.shape(params[name]) != shape:
            raise ValueError(f"parameter {name} has shape {np.shape(params[name])}, expected {shape} "
                             f"(U is {(hidden, inputs)}, V is {(outputs, hidden)})")
    return inputs, hidden, outputs


def elman_forward(params: Mapping[str, np.ndarray], x: Any, targets: Any, h0: Any = None) -> ElmanForward:
    """Run pattern A forward (with the package's :func:`~minigrad.nn.patterns.elman_states`) and keep the states.

    Args:
        params: ``U`` :math:`(H, D)`, ``W`` :math:`(H, H)`, ``V`` :math:`(O, H)`, ``b`` :math:`(H,)`,
            ``c`` :math:`(O,)`, as numpy arrays (e.g. ``{n: p.data for n, p in
            model.named_parameters()}`` of an ``ElmanRNN``).
        x: inputs, :math:`(\\tau, B, D)`.
        targets: class indices, integers :math:`(\\tau, B)`.
        h0: :math:`h^{(0)}`, :math:`(B, H)`; zeros if omitted.

    Returns:
        The :class:`ElmanForward` record.

    Raises:
        ValueError: for shapes that do not fit together, or targets out of range.
    """
    inputs, hidden, outputs = _check_parameters(params)
    x = np.asarray(x, dtype=np.float64)
    targets = np.asarray(targets)
    if x.ndim != 3 or x.shape[2] != inputs:
        raise ValueError(f"x must have shape (tau, B, D={inputs}), got {x.shape}")
    steps, batch = x.shape[:2]
    if targets.shape != (steps, batch) or targets.dtype.kind not in "iu":
        raise ValueError(f"targets must be integers of shape (tau, B) = {(steps, batch)}, "
                         f"got {targets.dtype} {targets.shape}")
    F.check_range(targets, outputs, "targets")
    h0 = np.zeros((batch, hidden)) if h0 is None else np.asarray(h0, dtype=np.float64)
    if h0.shape != (batch, hidden):
        raise ValueError(f"h0 must have shape (B, H) = {(batch, hidden)}, got {h0.shape}")
    with no_grad():
        U, W, V, b, c = (as_tensor(np.asarray(params[n], dtype=np.float64)) for n in PARAMETER_NAMES)
        states = elman_states(as_tensor(x), as_tensor(h0), U, W, b)
        h = np.stack([h0] + [s.data for s in states])
        o = as_tensor(h[1:]) @ V.T + c
        y_hat = F.softmax(o, axis=-1).data
        log_probs = F.log_softmax(o, axis=-1).data
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)
    return ElmanForward(x=x, targets=targets, h=h, y_hat=y_hat, loss=float(-picked.sum()))


def bptt_gradients(params: Mapping[str, np.ndarray], forward: ElmanForward,
                   truncation: int | None = None) -> dict[str, np.ndarray]:
    r"""The gradients of pattern A's loss by backpropagation through time, written out by hand.

    Going backward from :math:`t = \tau` to 1 (vectors as rows, batch rows summed):

    .. math::
        \nabla_{o^{(t)}} L &= \hat{y}^{(t)} - \mathbf{1}_{y^{(t)}} \\
        \nabla_{h^{(t)}} L &= W^\top \operatorname{diag}\big(1 - (h^{(t+1)})^2\big)
            \nabla_{h^{(t+1)}} L + V^\top \nabla_{o^{(t)}} L
            \quad (\text{no first term at } t = \tau) \\
        \nabla_{a^{(t)}} L &= \operatorname{diag}\big(1 - (h^{(t)})^2\big) \nabla_{h^{(t)}} L \\
        \nabla_c L &= \sum_t \nabla_{o^{(t)}} L, \qquad
            \nabla_V L = \sum_t \nabla_{o^{(t)}} L \, h^{(t)\top} \\
        \nabla_b L &= \sum_t \nabla_{a^{(t)}} L, \qquad
            \nabla_W L = \sum_t \nabla_{a^{(t)}} L \, h^{(t-1)\top}, \qquad
            \nabla_U L = \sum_t \nabla_{a^{(t)}} L \, x^{(t)\top} \\
        \nabla_{h^{(0)}} L &= W^\top \nabla_{a^{(1)}} L

    With ``truncation=k`` the sequence is cut into chunks of ``k`` steps (steps 1..k, k+1..2k, …)
    and no gradient crosses a chunk boundary: the first term of the recursion is dropped at
    :math:`t = k, 2k, \dots`, exactly what detaching the hidden state every ``k`` steps does
    (truncated BPTT, chapter 4).

    Args:
        params: ``U, W, V, b, c`` as for :func:`elman_forward`.
        forward: the forward pass, from :func:`elman_forward`.
        truncation: chunk length ``k`` for truncated BPTT; ``None`` (default) for full BPTT.

    Returns:
        ``{"U", "W", "V", "b", "c"}``: the parameter gradients, each of its parameter's shape;
        ``"h"``: :math:`\nabla_{h^{(t)}} L` for :math:`t = 1..\tau`, :math:`(\tau, B, H)`
        (the total gradient, through every later step); ``"o"``: :math:`\nabla_{o^{(t)}} L`,
        :math:`(\tau, B, O)`; ``"h0"``: :math:`\nabla_{h^{(0)}} L`, :math:`(B, H)`.

    Raises:
        ValueError: for a truncation length below 1.
    """
    if truncation is not None and truncation < 1:
        raise ValueError(f"truncation must be a positive number of steps or None, got {truncation}")
    _check_parameters(params)
    W, V = np.asarray(params["W"], dtype=np.float64), np.asarray(params["V"], dtype=np.float64)
    x, h, steps = forward.x, forward.h, forward.x.shape[0]
    grad_o = forward.y_hat.copy()
    np.put_along_axis(grad_o, forward.targets[..., None],
                      np.take_along_axis(grad_o, forward.targets[..., None], axis=-1) - 1.0, axis=-1)
    grad_h = np.zeros_like(h[1:])
    grad_a = np.zeros_like(h[1:])
    for t in range(steps, 0, -1):  # t is the book's time index; row t - 1 of the arrays
        grad_h[t - 1] = grad_o[t - 1] @ V
        crosses_boundary = truncation is not None and t % truncation == 0
        if t < steps and not crosses_boundary:
            grad_h[t - 1] += grad_a[t] @ W  # W^T diag(1 - h^(t+1)^2) grad_h^(t+1)
        grad_a[t - 1] = grad_h[t - 1] * (1.0 - h[t] ** 2)
    return {
        "U": np.einsum("tbh,tbd->hd", grad_a, x),
        "W": np.einsum("tbh,tbk->hk", grad_a, h[:-1]),
        "V": np.einsum("tbo,tbh->oh", grad_o, h[1:]),
        "b": grad_a.sum(axis=(0, 1)),
        "c": grad_o.sum(axis=(0, 1)),
        "h": grad_h,
        "o": grad_o,
        "h0": grad_a[0] @ W,
    }


def central_differences(loss: Callable[[Mapping[str, np.ndarray]], float],
                        params: Mapping[str, np.ndarray], eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Gradients by central finite differences in float64 (chapter 4), one entry at a time.

    .. math:: \\frac{\\partial L}{\\partial \\theta_i} \\approx
        \\frac{L(\\theta + \\varepsilon e_i) - L(\\theta - \\varepsilon e_i)}{2 \\varepsilon}

    Args:
        loss: a function of a parameter dictionary returning a float.
        params: name to array; copied to float64, never modified.
        eps: the step :math:`\\varepsilon`.

    Returns:
        Name to gradient array, each of its parameter's shape.
    """
    point = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    grads = {}
    for name, array in point.items():
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            grad[index] = central_difference(lambda: loss(point), array, index, eps)
        grads[name] = grad
    return grads


def relative_difference(a: Any, b: Any) -> float:
    """The largest entry-wise difference relative to the largest entry: :math:`\\max_i |a_i - b_i| / \\max_i \\max(|a_i|, |b_i|)`.

    Measuring against the largest entry, not entry by entry, keeps tiny entries (where a finite
    difference has only absolute accuracy) from dominating. Returns 0 when both are all zero.

    Raises:
        ValueError: when the shapes differ.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_difference: shapes differ, {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


# ------------------------------------------------------------------------------------ SymPy
def symbolic_loss(steps: int, inputs: int, hidden: int, outputs: int, targets: Any) -> dict:
    """Pattern A unrolled in SymPy, for one sequence with symbolic parameters, inputs and :math:`h^{(0)}`.

    Entries are symbols named ``U_i_j``, ``W_i_j``, ``V_i_j``, ``b_i``, ``c_i``, ``x_t_j`` and
    ``h0_i``. The hidden states are the nested ``tanh`` expressions of the unrolled graph. With
    ``outputs == 1`` the output is the logistic unit :math:`\\hat{y}^{(t)} = \\sigma(o^{(t)})`
    (two-class softmax of :math:`(o^{(t)}, 0)`) with targets in {0, 1} and
    :math:`L^{(t)} = -y^{(t)} \\log \\hat{y}^{(t)} - (1 - y^{(t)}) \\log(1 - \\hat{y}^{(t)})`; otherwise
    :math:`L^{(t)} = -o^{(t)}_{y^{(t)}} + \\log \\sum_k e^{o^{(t)}_k}`.

    Args:
        steps: :math:`\\tau`.
        inputs, hidden, outputs: :math:`D`, :math:`H`, :math:`O`.
        targets: :math:`\\tau` class indices (0/1 labels, or SymPy symbols for them, when
            ``outputs == 1``).

    Returns:
        ``{"loss", "params" (name to Matrix of symbols), "x" (list of Matrix), "h" (list of Matrix,
        h[0] the symbols h0_i), "o" (list of Matrix), "y_hat" (list of Matrix), "targets"}``.
    """
    import sympy

    def matrix(name: str, rows: int, cols: int | None = None) -> Any:
        if cols is None:
            return sympy.Matrix(rows, 1, lambda i, _: sympy.Symbol(f"{name}_{i}"))
        return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}_{i}_{j}"))

    targets = [y if isinstance(y, sympy.Basic) and outputs == 1 else int(y) for y in targets]
    if len(targets) != steps:
        raise ValueError(f"symbolic_loss: {steps} steps need {steps} targets, got {len(targets)}")
    params = {"U": matrix("U", hidden, inputs), "W": matrix("W", hidden, hidden),
              "V": matrix("V", outputs, hidden), "b": matrix("b", hidden), "c": matrix("c", outputs)}
    xs = [matrix(f"x_{t}", inputs) for t in range(1, steps + 1)]
    hs, os, y_hats, loss = [matrix("h0", hidden)], [], [], sympy.Integer(0)
    for t in range(steps):
        a = params["b"] + params["W"] * hs[-1] + params["U"] * xs[t]
        hs.append(a.applyfunc(sympy.tanh))
        o = params["c"] + params["V"] * hs[-1]
        os.append(o)
        if outputs == 1:
            p = 1 / (1 + sympy.exp(-o[0]))
            y_hats.append(sympy.Matrix([p]))
            loss += -targets[t] * sympy.log(p) - (1 - targets[t]) * sympy.log(1 - p)
        else:
            exps = o.applyfunc(sympy.exp)
            total = sum(exps)
            y_hats.append(exps / total)
            loss += -o[targets[t]] + sympy.log(total)
    return {"loss": loss, "params": params, "x": xs, "h": hs, "o": os, "y_hat": y_hats,
            "targets": targets}


def symbolic_gradients(unrolled: Mapping[str, Any]) -> dict:
    """The backward recursion of :func:`bptt_gradients`, applied to the SymPy graph of :func:`symbolic_loss`.

    The same equations with column vectors: :math:`\\nabla_{o^{(t)}} L = \\hat{y}^{(t)} -
    \\mathbf{1}_{y^{(t)}}`, :math:`\\nabla_{h^{(t)}} L = W^\\top \\operatorname{diag}(1 -
    (h^{(t+1)})^2) \\nabla_{h^{(t+1)}} L + V^\\top \\nabla_{o^{(t)}} L`, and the sums over time.

    Returns:
        Name (``U, W, V, b, c``) to a Matrix of the parameter's shape, and ``"h"``: the list of
        :math:`\\nabla_{h^{(t)}} L` for :math:`t = 1..\\tau`.
    """
    import sympy

    params, xs, hs = unrolled["params"], unrolled["x"], unrolled["h"]
    W, V = params["W"], params["V"]
    steps = len(xs)
    outputs = V.shape[0]
    grads = {name: sympy.zeros(*value.shape) for name, value in params.items()}
    grad_h: list[Any] = [None] * steps
    grad_a_next = None
    for t in range(steps, 0, -1):
        target = unrolled["targets"][t - 1]
        one_hot = sympy.Matrix([target]) if outputs == 1 else sympy.Matrix(
            outputs, 1, lambda i, _: 1 if i == target else 0)
        grad_o = unrolled["y_hat"][t - 1] - one_hot
        g = V.T * grad_o
        if grad_a_next is not None:
            g += W.T * grad_a_next
        grad_h[t - 1] = g
        grad_a = g.multiply_elementwise(hs[t].applyfunc(lambda v: 1 - v ** 2))
        grads["c"] += grad_o
        grads["V"] += grad_o * hs[t].T
        grads["b"] += grad_a
        grads["W"] += grad_a * hs[t - 1].T
        grads["U"] += grad_a * xs[t - 1].T
        grad_a_next = grad_a
    grads["h"] = grad_h
    return grads


def symbolic_names(unrolled: Mapping[str, Any]) -> dict:
    """Names for the repeated subexpressions of :func:`symbolic_loss`'s graph, for :func:`minigrad.symbolic.abbreviate`.

    Each nested state entry :math:`\\tanh(a^{(t)}_i)` becomes the symbol ``h_t_i`` and each
    exponential of an output, :math:`e^{o^{(t)}_k}` (or :math:`e^{-o^{(t)}}` for the logistic
    output), the symbol ``e_t_k``. After the replacement a derivative is a rational function of
    symbols, which :func:`minigrad.symbolic.equal` decides exactly.
    """
    import sympy

    names = {}
    for t, state in enumerate(unrolled["h"][1:], start=1):
        for i, entry in enumerate(state):
            names[entry] = sympy.Symbol(f"h_{t}_{i}")
    for t, o in enumerate(unrolled["o"], start=1):
        sign = -1 if len(o) == 1 else 1
        for k, entry in enumerate(o):
            names[sympy.exp(sign * entry)] = sympy.Symbol(f"e_{t}_{k}")
    return names


def symbolic_agreement(unrolled: Mapping[str, Any], formulas: Mapping[str, Any]) -> dict[str, list[bool]]:
    """Whether SymPy's derivative of the unrolled loss equals each entry of the hand-derived gradients.

    For every parameter entry :math:`\\theta`, SymPy differentiates :func:`symbolic_loss`'s
    ``loss`` with respect to :math:`\\theta`; the derivative and the formula's entry (from
    :func:`symbolic_gradients`) are rewritten with :func:`symbolic_names` and compared exactly with
    :func:`minigrad.symbolic.equal` (``expand``/``cancel``, never ``simplify``).

    Returns:
        Parameter name to one boolean per entry, in row-major order.
    """
    import sympy

    from minigrad.symbolic import abbreviate, equal

    names = symbolic_names(unrolled)
    agreement = {}
    for name, symbols in unrolled["params"].items():
        agreement[name] = []
        for i, symbol in enumerate(symbols):
            derivative = abbreviate(sympy.diff(unrolled["loss"], symbol), names)
            if derivative.atoms(sympy.tanh, sympy.exp):
                raise ValueError(f"d L / d {symbol}: a nested state or exponential was not named")
            agreement[name].append(bool(equal(derivative, abbreviate(formulas[name][i], names))))
    return agreement
