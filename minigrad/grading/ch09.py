"""Chapter 9's graded questions: the GRU cell, its update gate's gradient, and the scalar derivative.

9.1 asks for one ``GRUCell`` step in numpy from PyTorch-ordered weights (gate order r, z, n; the
reset gate applied after the matrix product), compared with ``minigrad.nn.GRUCell``. 9.2 asks, for
L = Σ grad_out ⊙ h', for ∂L/∂u and ∂L/∂a_u, where u = 1 - z is the book's update gate and a_u its
pre-activation; the reference is autograd on a graph in which u is a leaf, checked against finite
differences. 9.3 asks for dh'/dh of the scalar simplified GRU as a SymPy expression, compared with
SymPy's own derivative by expansion, and on failure with autograd (``Value``) and finite differences.
9.4, harder, asks for ∂L/∂h of a cell the chapter does not treat, the minimal gated unit (one gate
f that both resets the state the candidate sees and mixes the new state), compared with autograd
(``Tensor`` operations) and with finite differences.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import (close, first_difference, grade_derivation, numbers, random_array,
                                     same_expression, three_ways, where)
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.symbolic import sigmoid, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "reference_gru_step", "reference_update_gate_gradients",
           "simplified_gru_derivative", "reference_mgu_state_gradient"]


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
        order = _gate_order(got, args, reference_gru_step)
        if order:
            return _wrong_order(order, case)
        return Outcome("failed", 0, f"differs from nn.GRUCell: {first_difference(got, expected)} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"matches nn.GRUCell {where(cases)}")


def _gate_order(got: np.ndarray, args: list, step: Callable[..., np.ndarray]) -> str:
    """The wrong gate order (``"z, r, n"``) whose reading of the stacked blocks makes ``step`` (a
    reference, called on the case's arguments) give ``got``, or ``""``."""
    x, h, weight_ih, weight_hh, bias_ih, bias_hh, *rest = args
    names = ("r", "z", "n")
    for order in itertools.permutations(range(3)):
        if order == (0, 1, 2):
            continue
        # A student who believes the blocks are stacked in `order` takes block k for gate order[k].
        where_is = [order.index(g) for g in range(3)]

        def restack(a: np.ndarray) -> np.ndarray:
            blocks = np.split(a, 3)
            return np.concatenate([blocks[where_is[g]] for g in range(3)])

        misread = (restack(weight_ih), restack(weight_hh), restack(bias_ih), restack(bias_hh))
        if close(got, step(x, h, *misread, *rest)):
            return ", ".join(names[g] for g in order)
    return ""


def _wrong_order(order: str, case: dict) -> Outcome:
    return Outcome("failed", 0, f"this is what you get if you read the blocks of weight_ih, weight_hh and the "
                                f"biases in the order {order}; GRUCell stacks them as r, z, n ({case['label']})")


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
        if close(got[0], expected[0]) and close(got[1], expected[1]):
            continue
        if close(got[::-1], expected):
            return Outcome("failed", 0, f"∂L/∂u and ∂L/∂a_u are right but stacked in the wrong order: return "
                                        f"np.stack([dL_du, dL_da_u]), ∂L/∂u first ({case['label']})")
        order = _gate_order(got, args, reference_update_gate_gradients)
        if order:
            return _wrong_order(order, case)
        if not gate_problem and not close(got[0], expected[0]):
            hint = (": this is ∂L/∂z, PyTorch's gate; the book's u is 1 - z, so the sign flips"
                    if close(got[0], -expected[0]) else "")
            gate_problem = (f"∂L/∂u differs from autograd and finite differences{hint}: "
                            f"{first_difference(got[0], expected[0])} ({case['label']})")
        if not pre_problem and not close(got[1], expected[1]):
            if close(got[1], -expected[1]):
                why = "it is exactly minus the expected one: a_u = -(W_iz x + b_iz + W_hz h + b_hz), so u = σ(a_u)"
            elif gate_problem:
                why = "it follows from ∂L/∂u, which is wrong too"
            else:
                why = "σ'(a) = σ(a)(1 - σ(a))"
            pre_problem = (f"∂L/∂a_u differs from autograd: {first_difference(got[1], expected[1])}; {why} "
                           f"({case['label']})")
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
        if same_expression(got, expected):
            continue
        h, x, w_u, v_u, b_u, w, v, b = symbols
        u = sigmoid(b_u + w_u * h + v_u * x)
        if same_expression(got, expected - (1 - u)):
            return Outcome("failed", 0, f"misses the copy path: h' contains (1 - u) h, whose "
                                        f"derivative includes 1 - u ({case['label']})")
        if same_expression(got, expected - (sympy.tanh(b + w * h + v * x) - h) * w_u * u * (1 - u)):
            return Outcome("failed", 0, f"treats u as a constant: u = σ(b_u + w_u h + v_u x) depends on h too, "
                                        f"which adds (tanh(·) - h) du/dh with du/dh = w_u u (1 - u) "
                                        f"({case['label']})")
        point = {s: round(0.3 + 0.17 * k, 2) for k, s in enumerate(symbols)}
        named = {name: point[s] for name, s in zip(_SCALAR_NAMES, symbols)}
        eps = 1e-6
        finite = (_scalar_step({**named, "h": named["h"] + eps})
                  - _scalar_step({**named, "h": named["h"] - eps})) / (2 * eps)
        yours = sympy.N(substitute(got, point))
        return Outcome("failed", 0, f"differs from dh'/dh ({case['label']}): at "
                                    f"{', '.join(f'{s} = {v}' for s, v in list(point.items())[:3])}, … "
                                    f"{three_ways(yours, _autograd_scalar(named), finite)}")
    return Outcome("passed", 3, f"equals SymPy's derivative of the cell {where(cases)}")


# ---------------------------------------------------------------------------------- 9.4
def _mgu_step(x: Any, h: Any, weight_ih: Any, weight_hh: Any, bias: Any) -> Any:
    """h' of the minimal gated unit on a batch, for numpy arrays or ``Tensor``s alike.

    f = σ(x W_if^T + h W_hf^T + b_f), n = tanh(x W_in^T + (f ⊙ h) W_hn^T + b_n), h' = (1 - f) ⊙ h + f ⊙ n,
    with ``weight_ih`` (2H, D), ``weight_hh`` (2H, H) and ``bias`` (2H,) stacking the f and n blocks.
    """
    hidden = weight_hh.shape[1]
    pre_f = x @ weight_ih[:hidden].T + h @ weight_hh[:hidden].T + bias[:hidden]
    f = pre_f.sigmoid() if hasattr(pre_f, "sigmoid") else _sigmoid(pre_f)
    pre_n = x @ weight_ih[hidden:].T + (f * h) @ weight_hh[hidden:].T + bias[hidden:]
    n = pre_n.tanh() if hasattr(pre_n, "tanh") else np.tanh(pre_n)
    return (1 - f) * h + f * n


def reference_mgu_state_gradient(x, h, weight_ih, weight_hh, bias, grad_out) -> dict[str, np.ndarray]:
    """∂L/∂h for L = Σ grad_out ⊙ h' of the minimal gated unit, by autograd and by central differences."""
    from minigrad.tensor import Tensor

    leaf = Tensor(h.copy(), requires_grad=True)
    (_mgu_step(Tensor(x), leaf, Tensor(weight_ih), Tensor(weight_hh), Tensor(bias)) * Tensor(grad_out)).sum().backward()
    finite = np.zeros_like(h)
    for index in np.ndindex(*h.shape):
        step = np.zeros_like(h)
        step[index] = 1e-6
        plus = np.sum(grad_out * _mgu_step(x, h + step, weight_ih, weight_hh, bias))
        minus = np.sum(grad_out * _mgu_step(x, h - step, weight_ih, weight_hh, bias))
        finite[index] = (plus - minus) / 2e-6
    return {"autograd": leaf.grad.copy(), "finite": finite}


def _mgu_mistakes(x, h, weight_ih, weight_hh, bias, grad_out) -> dict[str, np.ndarray]:
    """∂L/∂h with one of its four paths left out."""
    hidden = h.shape[1]
    W_if, W_in, W_hf, W_hn = weight_ih[:hidden], weight_ih[hidden:], weight_hh[:hidden], weight_hh[hidden:]
    f = _sigmoid(x @ W_if.T + h @ W_hf.T + bias[:hidden])
    n = np.tanh(x @ W_in.T + (f * h) @ W_hn.T + bias[hidden:])
    grad_n_pre = grad_out * f * (1 - n ** 2)
    through_candidate = grad_n_pre @ W_hn  # ∂L/∂(f ⊙ h)
    copy = grad_out * (1 - f)
    reset = through_candidate * f
    grad_f = grad_out * (n - h) + through_candidate * h
    gate = (grad_f * f * (1 - f)) @ W_hf
    gate_mix_only = (grad_out * (n - h) * f * (1 - f)) @ W_hf
    return {
        "leave out the copy path (1 - f) ⊙ h": reset + gate,
        "leave out the path through the gate f, which depends on h": copy + reset,
        "leave out that f also reaches the candidate through f ⊙ h (the reset role of the gate)":
            copy + reset + gate_mix_only,
    }


def _mgu_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    scale = 1.0 / math.sqrt(hidden)
    return {"label": label, "args": [random_array(rng, (batch, inputs)), random_array(rng, (batch, hidden)),
                                     random_array(rng, (2 * hidden, inputs), 1.5 * scale),
                                     random_array(rng, (2 * hidden, hidden), 1.5 * scale),
                                     random_array(rng, (2 * hidden,), scale), random_array(rng, (batch, hidden))]}


def _hidden_mgu(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_mgu_case("hidden case, B = 3, D = 2, H = 5", rng, 3, 2, 5),
            _mgu_case("hidden case, B = 1, D = 4, H = 1", rng, 1, 4, 1))


_grade_mgu = grade_derivation("∂L/∂h", reference_mgu_state_gradient, _mgu_mistakes, 4, "of the minimal gated unit")


_VISIBLE_RNG = np.random.default_rng(2009)

QUESTIONS = (
    Question(
        qid="9.1", points=3, title="A GRU cell forward", answer="gru_cell", kind="numbers",
        visible=(_gru_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_gru, grade=_grade_gru,
        borrowed=("minigrad.nn.GRUCell", "minigrad.nn.GRU"), difficulty=1, minutes=15,
        hints=("Compute x @ weight_ih.T + bias_ih and h @ weight_hh.T + bias_hh once each, and split each "
               "into three blocks with np.split(..., 3, axis=-1).",
               "The blocks are in the order r, z, n. The reset gate multiplies the hidden side's candidate "
               "block after its product: n = tanh(x_n + r * h_n).",
               "h' = (1 - z) * n + z * h: PyTorch's z is the fraction of the old state kept."),
        reference=lambda case: reference_gru_step(*(build_argument(spec) for spec in case["args"])),
    ),
    Question(
        qid="9.2", points=3, title="The gradient with respect to the update gate",
        answer="update_gate_gradients", kind="numbers",
        visible=(_update_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_update, grade=_grade_update,
        borrowed=("minigrad.autograd.backward",), difficulty=2, minutes=10,
        hints=("With n and h fixed, h' = u ⊙ n + (1 - u) ⊙ h is linear in u, and ∂L/∂h' = grad_out.",
               "∂L/∂u = grad_out ⊙ (n - h), and ∂L/∂a_u = ∂L/∂u ⊙ u (1 - u) since u = σ(a_u).",
               "a_u = -(x_z + h_z), so u = σ(-(x_z + h_z)) = 1 - z: compute u from it, not z."),
        reference=lambda case: reference_update_gate_gradients(*(build_argument(spec) for spec in case["args"])),
    ),
    Question(
        qid="9.3", points=3, title="dh'/dh of the scalar simplified GRU",
        answer="simplified_gru_dh", kind="sympy",
        visible=(_scalar_case("visible case", _SCALAR_NAMES),),
        hidden=_hidden_scalar, grade=_grade_scalar,
        borrowed=("sympy.diff",), difficulty=2, minutes=10,
        hints=("h appears in three places: the copy term (1 - u) h, the gate u, and the argument of tanh.",
               "dh'/dh = (1 - u) + (tanh(·) - h) du/dh + u (1 - tanh²(·)) w, with du/dh = w_u u (1 - u)."),
    ),
    Question(
        qid="9.4", points=4, title="∂L/∂h of a minimal gated unit, derived", answer="mgu_state_gradient",
        kind="numbers", visible=(_mgu_case("visible case, B = 2, D = 3, H = 4", _VISIBLE_RNG, 2, 3, 4),),
        hidden=_hidden_mgu, grade=_grade_mgu,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=35,
        hints=("Draw the cell: h reaches h' four ways: directly through (1 - f) ⊙ h, through the gate f "
               "(in two places: the mix and the product f ⊙ h), and through the candidate via f ⊙ h.",
               "Let g = grad_out, δ_n = g ⊙ f ⊙ (1 - n²) and m = δ_n W_hn (the gradient at f ⊙ h). Then "
               "∂L/∂f = g ⊙ (n - h) + m ⊙ h.",
               "∂L/∂h = g ⊙ (1 - f) + m ⊙ f + (∂L/∂f ⊙ f ⊙ (1 - f)) W_hf, with W_hf and W_hn the first "
               "and second blocks of H rows of weight_hh."),
        reference=lambda case: reference_mgu_state_gradient(
            *(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
