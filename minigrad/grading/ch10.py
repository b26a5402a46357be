"""Chapter 10's graded questions: the LSTM cell, the carousel Jacobian, and a scalar derivative.

10.1 asks for one ``LSTMCell`` step in numpy from PyTorch-ordered weights (gate order i, f, g, o),
returned as ``np.stack([h', c'])`` and compared with ``minigrad.nn.LSTMCell``. 10.2 asks for the
Jacobian ∂c'/∂c of one step for one sequence, compared with autograd through ``LSTMCell`` (one
backward pass per row) and finite differences. 10.3 asks for ∂c'/∂h of the scalar cell as a SymPy
expression, compared with SymPy's own derivative by expansion, and on failure with autograd
(``Value``) and finite differences. 10.4, harder, asks for ∂L/∂c of a peephole LSTM step (gates that
also read the cell), which the chapter does not treat, compared with autograd (``Tensor``
operations) and finite differences.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import (close, first_difference, grade_derivation, numbers, random_array,
                                     same_expression, three_ways, where)
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.symbolic import equal, sigmoid, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "reference_lstm_step", "reference_cell_jacobian", "scalar_dc_dh",
           "reference_peephole_cell_gradient"]


def _cell(weight_ih, weight_hh, bias_ih, bias_hh):
    from minigrad import nn

    cell = nn.LSTMCell(weight_ih.shape[1], weight_hh.shape[1], rng=np.random.default_rng(0))
    cell.load_state_dict({"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh})
    return cell


def _cell_args(rng: np.random.Generator, batch: int | None, inputs: int, hidden: int) -> list[dict]:
    scale = 1.0 / math.sqrt(hidden)
    lead = () if batch is None else (batch,)
    return [random_array(rng, lead + (inputs,)), random_array(rng, lead + (hidden,)),
            random_array(rng, lead + (hidden,)),
            random_array(rng, (4 * hidden, inputs), scale), random_array(rng, (4 * hidden, hidden), scale),
            random_array(rng, (4 * hidden,), scale), random_array(rng, (4 * hidden,), scale)]


# ---------------------------------------------------------------------------------- 10.1
def reference_lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> np.ndarray:
    """``np.stack([h', c'])`` of ``minigrad.nn.LSTMCell`` with the given weights."""
    from minigrad.tensor import Tensor

    h_next, c_next = _cell(weight_ih, weight_hh, bias_ih, bias_hh)(Tensor(x), (Tensor(h), Tensor(c)))
    return np.stack([h_next.data, c_next.data])


def _with_gate_order(order: str, x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> np.ndarray:
    """The step computed as if the blocks were stored in ``order`` (e.g. Keras's "ifco" = i, f, g, o)."""
    blocks = dict(zip(order, np.split(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 4, axis=-1)))
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    c_next = sig(blocks["f"]) * c + sig(blocks["i"]) * np.tanh(blocks["g"])
    return np.stack([sig(blocks["o"]) * np.tanh(c_next), c_next])


def _lstm_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    return {"label": label, "args": _cell_args(rng, batch, inputs, hidden)}


def _hidden_lstm(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_lstm_case("hidden case, B = 3, D = 2, H = 5", rng, 3, 2, 5),
            _lstm_case("hidden case, B = 1, D = 4, H = 1", rng, 1, 4, 1))


def _grade_lstm(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        got, expected = numbers(answer), reference_lstm_step(*args)
        if close(got, expected):
            continue
        if got.shape == expected.shape and close(got[::-1], expected):
            return Outcome("failed", 0, f"h' and c' are swapped: return np.stack([h', c']) "
                                        f"({case['label']})")
        for order in ("ifog", "fiog", "igfo", "figo"):
            if got.shape == expected.shape and close(got, _with_gate_order(order, *args)):
                return Outcome("failed", 0, f"the weight blocks were read in the order "
                                            f"{', '.join(order)}; LSTMCell stores i, f, g, o "
                                            f"({case['label']})")
        return Outcome("failed", 0, f"differs from nn.LSTMCell: {first_difference(got, expected)} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"matches nn.LSTMCell {where(cases)}")


# ---------------------------------------------------------------------------------- 10.2
def reference_cell_jacobian(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> np.ndarray:
    """∂c'/∂c (H x H) of one ``LSTMCell`` step, by autograd, one backward pass per row."""
    from minigrad.tensor import Tensor

    cell = _cell(weight_ih, weight_hh, bias_ih, bias_hh)
    rows = []
    for i in range(len(c)):
        c_leaf = Tensor(np.array(c, dtype=np.float64), requires_grad=True)
        _, c_next = cell(Tensor(x), (Tensor(h), c_leaf))
        c_next[i].backward()
        rows.append(c_leaf.grad)
    return np.array(rows)


def _jacobian_case(label: str, rng: np.random.Generator, inputs: int, hidden: int) -> dict:
    return {"label": label, "args": _cell_args(rng, None, inputs, hidden)}


def _hidden_jacobian(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_jacobian_case("hidden case, D = 2, H = 5", rng, 2, 5),
            _jacobian_case("hidden case, D = 3, H = 1", rng, 3, 1))


def _grade_jacobian(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        got, expected = numbers(answer), reference_cell_jacobian(*args)
        if close(got, expected):
            continue
        hidden = expected.shape[0]
        if got.shape == (hidden,) and close(got, np.diag(expected)):
            return Outcome("failed", 0, f"returns the diagonal only: return the {hidden} x {hidden} "
                                        f"Jacobian ({case['label']})")
        x, h, c, weight_ih, weight_hh, bias_ih, bias_hh = args
        pre = np.split(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 4)
        for name, block in (("input gate i", 0), ("output gate o", 3)):
            if close(got, np.diag(1.0 / (1.0 + np.exp(-pre[block])))):
                return Outcome("failed", 0, f"this is diag({name}); c' = f ⊙ c + i ⊙ g, and f is "
                                            f"block 1 of the weights ({case['label']})")
        return Outcome("failed", 0, f"differs from autograd and finite differences: "
                                    f"{first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 2, f"matches autograd and finite differences {where(cases)}")


# ---------------------------------------------------------------------------------- 10.3
_GATES = "ifgo"


def _pre(k: str, h, x, w, v, b):
    j = _GATES.index(k)
    return b[j] + w[j] * h + v[j] * x


def scalar_dc_dh(h, c, x, w, v, b) -> Any:
    """SymPy's ∂c'/∂h of the scalar LSTM cell; ``w``, ``v``, ``b`` list the gates i, f, g, o."""
    import sympy

    i, f = sigmoid(_pre("i", h, x, w, v, b)), sigmoid(_pre("f", h, x, w, v, b))
    g = sympy.tanh(_pre("g", h, x, w, v, b))
    return sympy.diff(f * c + i * g, h)


def _scalar_c_next(values: dict, h: Any, cls=None) -> Any:
    """c' of the scalar cell, with floats or with ``Value``s."""
    w, v, b = values["w"], values["v"], values["b"]
    pre = {k: _pre(k, h, values["x"], w, v, b) for k in _GATES}
    if cls is None:
        sig = lambda a: 1.0 / (1.0 + math.exp(-a))  # noqa: E731
        return sig(pre["f"]) * values["c"] + sig(pre["i"]) * math.tanh(pre["g"])
    return pre["f"].sigmoid() * values["c"] + pre["i"].sigmoid() * pre["g"].tanh()


def _scalar_case(label: str, suffix: str = "") -> dict:
    gate_symbols = lambda letter: {"symbols": [f"{letter}_{k}{suffix}" for k in _GATES]}  # noqa: E731
    return {"label": label, "args": [{"symbol": "h" + suffix}, {"symbol": "c" + suffix},
                                     {"symbol": "x" + suffix}, gate_symbols("w"), gate_symbols("v"),
                                     gate_symbols("b")]}


def _hidden_scalar(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_scalar_case("hidden case, the symbols renamed", str(int(rng.integers(1, 9)))),)


def _grade_scalar(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    import sympy

    from minigrad.scalar import Value

    for case, tree in zip(cases, answers):
        h, c, x, w, v, b = (build_argument(spec) for spec in case["args"])
        got = decode_expression(tree)
        extra = unexpected_symbols(got, [h, c, x, *w, *v, *b])
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}, which are not arguments of "
                                        f"lstm_dc_dh ({case['label']})")
        expected = scalar_dc_dh(h, c, x, w, v, b)
        if same_expression(got, expected):
            continue
        f = sigmoid(_pre("f", h, x, w, v, b))
        if equal(got, expected - c * f * (1 - f) * w[1]):
            return Outcome("failed", 0, f"misses the path through the forget gate: f depends on h, "
                                        f"so f ⊙ c contributes c f (1 - f) w_f ({case['label']})")
        numbers_at = [round(0.2 + 0.11 * k, 2) for k in range(15)]
        values = {"h": numbers_at[0], "c": numbers_at[1], "x": numbers_at[2], "w": numbers_at[3:7],
                  "v": numbers_at[7:11], "b": numbers_at[11:15]}
        point = dict(zip([h, c, x, *w, *v, *b], numbers_at))
        h_value = Value(values["h"])
        _scalar_c_next(values, h_value, Value).backward()
        eps = 1e-6
        finite = (_scalar_c_next(values, values["h"] + eps) - _scalar_c_next(values, values["h"] - eps)) / (2 * eps)
        return Outcome("failed", 0, f"differs from ∂c'/∂h ({case['label']}): at h = {values['h']}, "
                                    f"c = {values['c']}, … "
                                    f"{three_ways(sympy.N(substitute(got, point)), h_value.grad, finite)}")
    return Outcome("passed", 3, f"equals SymPy's derivative of the cell {where(cases)}")


_VISIBLE_RNG = np.random.default_rng(2010)

# ---------------------------------------------------------------------------------- 10.4
def _peephole_step(x: Any, h: Any, c: Any, weight_ih: Any, weight_hh: Any, bias: Any, peephole: Any) -> Any:
    """h' of a peephole LSTM step, for numpy arrays or ``Tensor``s alike (gate order i, f, g, o).

    i = σ(a_i + p_i ⊙ c), f = σ(a_f + p_f ⊙ c), g = tanh(a_g), c' = f ⊙ c + i ⊙ g,
    o = σ(a_o + p_o ⊙ c'), h' = o ⊙ tanh(c'), where a = x W_ih^T + h W_hh^T + b and ``peephole``
    (3, H) holds the rows p_i, p_f, p_o.
    """
    hidden = weight_hh.shape[1]
    a = x @ weight_ih.T + h @ weight_hh.T + bias

    def block(k: int) -> Any:
        return a[..., k * hidden:(k + 1) * hidden]

    def sig(z: Any) -> Any:
        return z.sigmoid() if hasattr(z, "sigmoid") else 1.0 / (1.0 + np.exp(-z))

    def tanh(z: Any) -> Any:
        return z.tanh() if hasattr(z, "tanh") else np.tanh(z)

    i, f = sig(block(0) + peephole[0] * c), sig(block(1) + peephole[1] * c)
    c_next = f * c + i * tanh(block(2))
    return sig(block(3) + peephole[2] * c_next) * tanh(c_next)


def reference_peephole_cell_gradient(x, h, c, weight_ih, weight_hh, bias, peephole, grad_out) -> dict:
    """∂L/∂c for L = Σ grad_out ⊙ h' of a peephole LSTM step, by autograd and by central differences."""
    from minigrad.tensor import Tensor

    leaf = Tensor(c.copy(), requires_grad=True)
    tensors = [Tensor(a) for a in (x, h)] + [leaf] + [Tensor(a) for a in (weight_ih, weight_hh, bias, peephole)]
    (_peephole_step(*tensors) * Tensor(grad_out)).sum().backward()
    finite = np.zeros_like(c)
    for index in np.ndindex(*c.shape):
        step = np.zeros_like(c)
        step[index] = 1e-6
        plus = np.sum(grad_out * _peephole_step(x, h, c + step, weight_ih, weight_hh, bias, peephole))
        minus = np.sum(grad_out * _peephole_step(x, h, c - step, weight_ih, weight_hh, bias, peephole))
        finite[index] = (plus - minus) / 2e-6
    return {"autograd": leaf.grad.copy(), "finite": finite}


def _peephole_mistakes(x, h, c, weight_ih, weight_hh, bias, peephole, grad_out) -> dict[str, np.ndarray]:
    """∂L/∂c with one path left out."""
    a = np.split(x @ weight_ih.T + h @ weight_hh.T + bias, 4, axis=-1)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    i, f, g = sig(a[0] + peephole[0] * c), sig(a[1] + peephole[1] * c), np.tanh(a[2])
    c_next = f * c + i * g
    o = sig(a[3] + peephole[2] * c_next)
    through_tanh = grad_out * o * (1 - np.tanh(c_next) ** 2)
    through_o = grad_out * np.tanh(c_next) * o * (1 - o) * peephole[2]
    carousel = f
    gates = c * f * (1 - f) * peephole[1] + g * i * (1 - i) * peephole[0]
    return {
        "leave out the peepholes of the input and forget gates: i and f depend on c":
            (through_tanh + through_o) * carousel,
        "leave out the output gate's peephole: o depends on c' and so on c": through_tanh * (carousel + gates),
        "treat ∂L/∂c' as grad_out ⊙ o ⊙ (1 - tanh²(c')) and the gates as constants (the plain LSTM's answer)":
            through_tanh * carousel,
    }


def _peephole_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    scale = 1.0 / math.sqrt(hidden)
    return {"label": label, "args": [random_array(rng, (batch, inputs)), random_array(rng, (batch, hidden)),
                                     random_array(rng, (batch, hidden)),
                                     random_array(rng, (4 * hidden, inputs), scale),
                                     random_array(rng, (4 * hidden, hidden), scale),
                                     random_array(rng, (4 * hidden,), scale), random_array(rng, (3, hidden)),
                                     random_array(rng, (batch, hidden))]}


def _hidden_peephole(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_peephole_case("hidden case, B = 3, D = 2, H = 5", rng, 3, 2, 5),
            _peephole_case("hidden case, B = 1, D = 4, H = 1", rng, 1, 4, 1))


_grade_peephole = grade_derivation("∂L/∂c", reference_peephole_cell_gradient, _peephole_mistakes, 4, "of the peephole LSTM")


QUESTIONS = (
    Question(
        qid="10.1", points=3, title="An LSTM cell forward", answer="lstm_cell", kind="numbers",
        difficulty=1, minutes=15,
        hints=("One product per side: x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh has shape (B, 4H); "
               "split it into four blocks of H columns with np.split(..., 4, axis=-1).",
               "The blocks are i, f, g, o, in that order: σ for i, f and o, tanh for g. Then c' = f ⊙ c + i ⊙ g.",
               "h' = o ⊙ tanh(c') uses the new cell c', not the old c; return np.stack([h_next, c_next]), "
               "h' first."),
        visible=(_lstm_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_lstm, grade=_grade_lstm,
        borrowed=("minigrad.nn.LSTMCell", "minigrad.nn.LSTM"),
    ),
    Question(
        qid="10.2", points=2, title="The carousel Jacobian ∂c_t/∂c_(t-1)", answer="cell_jacobian",
        difficulty=1, minutes=10,
        hints=("With x and h held fixed, the gates are constants: which term of c' = f ⊙ c + i ⊙ g depends "
               "on c, and how?",
               "c'_j = f_j c_j + i_j g_j depends on c_k only for k = j: the Jacobian is diagonal, with f on the "
               "diagonal (the chapter's carousel equation).",
               "For one sequence, f = σ(block 1 of weight_ih @ x + bias_ih + weight_hh @ h + bias_hh), the "
               "second of four blocks of H rows; return np.diag(f)."),
        kind="numbers",
        visible=(_jacobian_case("visible case, D = 3, H = 4", _VISIBLE_RNG, 3, 4),),
        hidden=_hidden_jacobian, grade=_grade_jacobian,
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="10.3", points=3, title="∂c'/∂h of the scalar LSTM cell", answer="lstm_dc_dh", kind="sympy",
        difficulty=1, minutes=10,
        hints=("h reaches c' = σ(a_f) c + σ(a_i) tanh(a_g) through three pre-activations, a_i, a_f and a_g, "
               "each with ∂a_k/∂h = w_k (a_o does not enter c').",
               "Product rule: σ(a_f) c gives c σ'(a_f) w_f, and σ(a_i) tanh(a_g) gives one term for each factor; "
               "σ'(a) = σ(a)(1 - σ(a)) and tanh'(a) = 1 - tanh²(a).",
               "∂c'/∂h = c f (1 - f) w_f + g i (1 - i) w_i + i (1 - g²) w_g, with i = σ(a_i), f = σ(a_f) and "
               "g = tanh(a_g); w[0], w[1] and w[2] are w_i, w_f and w_g."),
        visible=(_scalar_case("visible case"),),
        hidden=_hidden_scalar, grade=_grade_scalar,
        borrowed=("sympy.diff",),
    ),
    Question(
        qid="10.4", points=4, title="∂L/∂c of a peephole LSTM step, derived", answer="peephole_cell_gradient",
        kind="numbers", visible=(_peephole_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_peephole, grade=_grade_peephole,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=30,
        hints=("Draw the step: c reaches h' through c' = f ⊙ c + i ⊙ g, and c' reaches h' twice, through "
               "tanh(c') and through the output gate o, which now reads c'.",
               "Everything is elementwise. ∂L/∂c' = grad_out ⊙ (o (1 - tanh²(c')) + tanh(c') o (1 - o) p_o).",
               "∂c'/∂c = f + c f (1 - f) p_f + g i (1 - i) p_i: the forget and input gates read c too."),
        reference=lambda case: reference_peephole_cell_gradient(
            *(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
