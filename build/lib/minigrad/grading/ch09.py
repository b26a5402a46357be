"""Chapter 9's graded questions: the GRU cell, its update gate's gradient, and the scalar derivative.

9.1 asks for one ``GRUCell`` step in numpy from PyTorch-ordered weights (gate order r, z, n; the
reset gate applied after the matrix product), compared with ``minigrad.nn.GRUCell``. 9.2 asks, for
L = Σ grad_out ⊙ h', for ∂L/∂u and ∂L/∂a_u, where u = 1 - z is the book's update gate and a_u its
pre-activation; the reference is autograd on a graph in which u is a leaf, checked against finite
differences. 9.3 asks for dh'/dh of the scalar simplified GRU as a SymPy expression, compared with
SymPy's own derivative by expansion, and on failure with autograd (``Value``) and finite differences.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.symbolic import equal, short_number, sigmoid, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "reference_gru_step", "reference_update_gate_gradients",
           "simplified_gru_derivative"]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _cell_args(rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> list[dict]:
    scale = 1.0 / math.sqrt(hidden)
    return [random_array(rng, (batch, inputs)), random_array(rng, (batch, hidden)),
            random_array(rng, (3 * hidden, inputs), scale), random_array(rng, (3 * hidden, hidden), scale),
            random_array(rng, (3 * hidden,), scale), random_array(rng, (3 * hidden,), scale)]


# ---------------------------------------------------------------------------------- 9.1
def reference_gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> np.ndarray:
    """h' of ``minigrad.nn.GRUCell`` with the given weights, on a batch."""
    from minigrad import nn
    from minigrad.tensor import Tensor

    cell = nn.GRUCell(weight_ih.shape[1], weight_hh.shape[1], rng=np.random.default_rng(0))
    cell.load_state_dict({"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh})
    return cell(Tensor(x), Tensor(h)).data


def _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple[np.ndarray, ...]:
    """r, z, n and the hidden-side candidate part W_hn h + b_hn."""
    x_r, x_z, x_n = np.split(x @ weight_ih.T + bias_ih, 3, axis=-1)
    h_r, h_z, h_n = np.split(h @ weight_hh.T + bias_hh, 3, axis=-1)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    return r, z, np.tanh(x_n + r * h_n)


def _gru_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    return {"label": label, "args": _cell_args(rng, batch, inputs, hidden)}


def _hidden_gru(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_gru_case("hidden case, B = 4, D = 2, H = 5", rng, 4, 2, 5),
            _gru_case("hidden case, B = 1, D = 6, H = 1", rng, 1, 6, 1))


def _grade_gru(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        got, expected = numbers(answer), reference_gru_step(*args)
        if close(got, expected):
            continue
        x, h, weight_ih, weight_hh, bias_ih, bias_hh = args
        r, z, n = _gates(*args)
        if close(got, z * n + (1 - z) * h):
            return Outcome("failed", 0, f"z and 1 - z are swapped: in PyTorch's GRUCell z is the "
                                        f"fraction of the old state kept, h' = (1 - z) n + z h "
                                        f"({case['label']})")
        x_n = np.split(x @ weight_ih.T + bias_ih, 3, axis=-1)[2]
        W_hn, b_hn = np.split(weight_hh, 3)[2], np.split(bias_hh, 3)[2]
        n_before = np.tanh(x_n + (r * h) @ W_hn.T + b_hn)
        if close(got, (1 - z) * n_before + z * h):
            return Outcome("failed", 0, f"the reset gate is applied before the matrix product; "
                                        f"GRUCell uses n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) "
                                        f"({case['label']})")
        return Outcome("failed", 0, f"differs from nn.GRUCell: {first_difference(got, expected)} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"matches nn.GRUCell {where(cases)}")


# ---------------------------------------------------------------------------------- 9.2
def reference_update_gate_gradients(x, h, weight_ih, weight_hh, bias_ih, bias_hh,
                                    grad_out) -> np.ndarray:
    """[∂L/∂u, ∂L/∂a_u] for L = Σ grad_out ⊙ h', u = 1 - z = σ(a_u), by autograd with u as a leaf."""
    from minigrad.tensor import Tensor

    _, _, n = _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    pre_z = np.split(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 3, axis=-1)[1]
    a_u = Tensor(-pre_z, requires_grad=True)  # u = 1 - z = σ(-pre_z)
    u = a_u.sigmoid().retain_grad()
    h_next = u * Tensor(n) + (1 - u) * Tensor(h)
    (h_next * Tensor(grad_out)).sum().backward()
    return np.stack([u.grad, a_u.grad])


def _update_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    return {"label": label,
            "args": _cell_args(rng, batch, inputs, hidden) + [random_array(rng, (batch, hidden))]}


def _hidden_update(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_update_case("hidden case, B = 3, D = 4, H = 2", rng, 3, 4, 2),
            _update_case("hidden case, B = 1, D = 1, H = 6", rng, 1, 1, 6))


def _grade_update(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    gate_problem = pre_problem = ""
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        got = numbers(answer)
        expected = reference_update_gate_gradients(*args)
        if got.shape != expected.shape:
            return Outcome("failed", 0, f"returns shape {got.shape}; return np.stack([dL_du, dL_da_u]), "
                                        f"shape {expected.shape} ({case['label']})")
        if not gate_problem and not close(got[0], expected[0]):
            hint = (": this is ∂L/∂z, PyTorch's gate; the book's u is 1 - z, so the sign flips"
                    if close(got[0], -expected[0]) else "")
            gate_problem = (f"∂L/∂u differs from autograd and finite differences{hint}: "
                            f"{first_difference(got[0], expected[0])} ({case['label']})")
        if not pre_problem and not close(got[1], expected[1]):
            pre_problem = (f"∂L/∂a_u differs from autograd: {first_difference(got[1], expected[1])}; "
                           f"σ'(a) = σ(a)(1 - σ(a)) ({case['label']})")
    if gate_problem or pre_problem:
        score = 2 * (not gate_problem) + (not pre_problem)
        return Outcome("failed", score, "; ".join(p for p in (gate_problem, pre_problem) if p))
    return Outcome("passed", 3, f"∂L/∂u and ∂L/∂a_u match autograd and finite differences {where(cases)}")


# ---------------------------------------------------------------------------------- 9.3
_SCALAR_NAMES = ("h", "x", "w_u", "v_u", "b_u", "w", "v", "b")


def simplified_gru_derivative(h, x, w_u, v_u, b_u, w, v, b) -> Any:
    """SymPy's dh'/dh of h' = u tanh(b + w h + v x) + (1 - u) h, u = σ(b_u + w_u h + v_u x)."""
    import sympy

    u = sigmoid(b_u + w_u * h + v_u * x)
    return sympy.diff(u * sympy.tanh(b + w * h + v * x) + (1 - u) * h, h)


def _scalar_step(values: dict) -> float:
    u = 1.0 / (1.0 + math.exp(-(values["b_u"] + values["w_u"] * values["h"] + values["v_u"] * values["x"])))
    return u * math.tanh(values["b"] + values["w"] * values["h"] + values["v"] * values["x"]) + (1 - u) * values["h"]


def _autograd_scalar(values: dict) -> float:
    from minigrad.scalar import Value

    h = Value(values["h"])
    u = (values["b_u"] + values["w_u"] * h + values["v_u"] * values["x"]).sigmoid()
    out = u * (values["b"] + values["w"] * h + values["v"] * values["x"]).tanh() + (1 - u) * h
    out.backward()
    return h.grad


def _scalar_case(label: str, names: Sequence[str]) -> dict:
    return {"label": label, "args": [{"symbol": name} for name in names]}


def _hidden_scalar(rng: np.random.Generator) -> tuple[dict, ...]:
    suffix = str(int(rng.integers(1, 9)))
    return (_scalar_case("hidden case, the symbols renamed", [name + suffix for name in _SCALAR_NAMES]),)


def _grade_scalar(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    import sympy

    for case, tree in zip(cases, answers):
        symbols = [build_argument(spec) for spec in case["args"]]
        got = decode_expression(tree)
        extra = unexpected_symbols(got, symbols)
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}, which are not arguments of "
                                        f"simplified_gru_derivative ({case['label']})")
        expected = simplified_gru_derivative(*symbols)
        if equal(got, expected):
            continue
        u = sigmoid(symbols[4] + symbols[2] * symbols[0] + symbols[3] * symbols[1])
        if equal(got, expected - (1 - u)):
            return Outcome("failed", 0, f"misses the copy path: h' contains (1 - u) h, whose "
                                        f"derivative includes 1 - u ({case['label']})")
        point = {s: round(0.3 + 0.17 * k, 2) for k, s in enumerate(symbols)}
        named = {name: point[s] for name, s in zip(_SCALAR_NAMES, symbols)}
        eps = 1e-6
        finite = (_scalar_step({**named, "h": named["h"] + eps})
                  - _scalar_step({**named, "h": named["h"] - eps})) / (2 * eps)
        yours = short_number(sympy.N(substitute(got, point)))
        return Outcome("failed", 0, f"differs from dh'/dh ({case['label']}): at "
                                    f"{', '.join(f'{s} = {v}' for s, v in list(point.items())[:3])}, … "
                                    f"it is {yours}, autograd gives {_autograd_scalar(named):.6f} and "
                                    f"finite differences {finite:.6f}")
    return Outcome("passed", 3, f"equals SymPy's derivative of the cell {where(cases)}")


_VISIBLE_RNG = np.random.default_rng(2009)

QUESTIONS = (
    Question(
        qid="9.1", points=3, title="A GRU cell forward", answer="gru_cell", kind="numbers",
        visible=(_gru_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_gru, grade=_grade_gru,
        borrowed=("minigrad.nn.GRUCell", "minigrad.nn.GRU"),
    ),
    Question(
        qid="9.2", points=3, title="The gradient with respect to the update gate",
        answer="update_gate_gradients", kind="numbers",
        visible=(_update_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_update, grade=_grade_update,
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="9.3", points=3, title="dh'/dh of the scalar simplified GRU",
        answer="simplified_gru_dh", kind="sympy",
        visible=(_scalar_case("visible case", _SCALAR_NAMES),),
        hidden=_hidden_scalar, grade=_grade_scalar,
        borrowed=("sympy.diff",),
    ),
)
