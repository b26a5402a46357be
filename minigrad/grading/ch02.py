"""Chapter 2's graded questions: unfolding, the gradient of an unrolled recurrence, a new ``Value`` op.

2.1 unfolds the logistic map s^(t) = f(s^(t-1); θ) = θ s^(t-1) (1 - s^(t-1)) by hand.
2.2 asks for dL/dw of h_t = tanh(w h_(t-1) + x_t), L = h_τ, as a SymPy expression in w and the
states; it is compared with SymPy's own derivative of the unrolled graph.
2.3 asks for the per-step contributions to dL/dw of L = ½ Σ_t (h_t - y_t)², computed by hand; they
are compared with autograd on a graph that gives each step its own copy of w, and their sum with
finite differences.
2.4 asks for softplus(a) = log(1 + e^a) as one ``Value`` node with its local derivative.
2.5, harder, asks for dL/dw_1 and dL/dw_2 of a second-order recurrence the chapter does not treat,
h_t = tanh(w_1 h_(t-1) + w_2 h_(t-2) + x_t), in which every state has two recurrent children; it is
compared with autograd and with float64 finite differences, and the common slips are named.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close_scalar, grade_derivation, numbers, same_expression, three_ways, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.scalar import Value
from minigrad.symbolic import equal, short_number, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "logistic", "unrolled_gradient", "reference_contributions", "loss",
           "second_order_states", "second_order_case", "reference_second_order_gradient"]

# ---------------------------------------------------------------------------------- 2.1
def logistic(s: Any, theta: Any) -> Any:
    """The logistic map f(s; θ) = θ s (1 - s), the transition function of exercise 2.1."""
    return theta * s * (1 - s)


def _iterate(s: Any, theta: Any, steps: int) -> Any:
    for _ in range(steps):
        s = logistic(s, theta)
    return s


def _hidden_unfold(rng: np.random.Generator) -> tuple[dict, ...]:
    s1 = [int(rng.integers(1, 8)), 9]
    theta = [int(rng.integers(11, 40)), 10]
    return (
        {"label": "hidden case, symbols named s and r", "args": [{"symbol": "s"}, {"symbol": "r"}]},
        {"label": f"hidden case, s^(1) = {s1[0]}/9, θ = {theta[0]}/10",
         "args": [{"rational": s1}, {"rational": theta}]},
    )


def _grade_unfold(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, tree in zip(cases, answers):
        s1, theta = (build_argument(spec) for spec in case["args"])
        got = decode_expression(tree)
        extra = unexpected_symbols(got, [s1, theta])
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}, which are not arguments of "
                                        f"unfold_s3 ({case['label']})")
        if equal(got, _iterate(s1, theta, 2)):
            continue
        for steps, name in ((0, "s^(1)"), (1, "s^(2)"), (3, "s^(4)")):
            if equal(got, _iterate(s1, theta, steps)):
                return Outcome("failed", 0, f"this is {name}, not s^(3) = f(f(s^(1))): apply f "
                                            f"exactly twice ({case['label']})")
        point = {s: v for s, v in ((s1, Fraction(1, 3)), (theta, Fraction(5, 2))) if not s.is_number}
        at = ", ".join(f"{s} = {v}" for s, v in point.items())
        return Outcome(
            "failed", 0,
            f"differs from f(f(s^(1))) ({case['label']}): "
            f"{'at ' + at + ' ' if at else ''}it is {short_number(substitute(got, point))}, "
            f"expected {short_number(substitute(_iterate(s1, theta, 2), point))}",
        )
    return Outcome("passed", 2, f"equals f(f(s^(1))) by SymPy expansion {where(cases)}")


# ---------------------------------------------------------------------------------- 2.2
def _state_symbols(tau: int) -> list[str]:
    return [f"h_{t}" for t in range(tau + 1)]


@functools.lru_cache(maxsize=None)
def unrolled_gradient(tau: int) -> Any:
    """dL/dw for h_t = tanh(w h_(t-1) + x_t), L = h_τ, derived by SymPy and written in w, h_0..h_τ.

    SymPy differentiates the unrolled graph (nested ``tanh``); each ``tanh`` subtree is then
    replaced by the state symbol it defines, which removes every x_t.
    """
    import sympy

    w = sympy.Symbol("w")
    h = sympy.symbols(_state_symbols(tau))
    x = sympy.symbols([f"x_{t}" for t in range(1, tau + 1)])
    states = [h[0]]
    for t in range(1, tau + 1):
        states.append(sympy.tanh(w * states[-1] + x[t - 1]))
    gradient = sympy.diff(states[-1], w).xreplace({states[t]: h[t] for t in range(tau, 0, -1)})
    assert not unexpected_symbols(gradient, [w, *h]), "the substitution left an x_t behind"
    return gradient


def _step_term(tau: int, t: int) -> Any:
    """The contribution of step t: [∏_(k>t) w (1 - h_k²)] (1 - h_t²) h_(t-1)."""
    import sympy

    w = sympy.Symbol("w")
    h = sympy.symbols(_state_symbols(tau))
    term = (1 - h[t] ** 2) * h[t - 1]
    for k in range(t + 1, tau + 1):
        term *= w * (1 - h[k] ** 2)
    return term


def _tau_of(case: dict) -> int:
    return len(case["args"][1]["symbols"]) - 1


def _numeric_gradient_message(got: Any, tau: int, label: str) -> str:
    """Evaluate an expression on a real forward pass and compare with autograd and finite differences."""
    rng = np.random.default_rng(tau)
    w, h0, xs = 0.7, 0.3, [float(v) for v in rng.normal(size=tau)]
    w_leaf, h = Value(w), Value(h0)
    states = [h0]
    for x in xs:
        h = (w_leaf * h + x).tanh()
        states.append(h.data)
    h.backward()

    def last_state(w_value: float) -> float:
        state = h0
        for x in xs:
            state = math.tanh(w_value * state + x)
        return state

    eps = 1e-6
    finite = (last_state(w + eps) - last_state(w - eps)) / (2 * eps)
    values = {"w": w, **{name: value for name, value in zip(_state_symbols(tau), states)}}
    return (f"differs from the derivative of the unrolled graph ({label}): on a forward pass "
            f"with w = 0.7 {three_ways(substitute(got, values), w_leaf.grad, finite)}")


def _hidden_recurrence(rng: np.random.Generator) -> tuple[dict, ...]:
    return tuple(
        {"label": f"hidden case, τ = {tau}",
         "args": [{"symbol": "w"}, {"symbols": _state_symbols(tau)}]}
        for tau in (1, int(rng.integers(4, 7)))
    )


def _grade_recurrence(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, tree in zip(cases, answers):
        tau = _tau_of(case)
        got = decode_expression(tree)
        allowed = ["w", *_state_symbols(tau)]
        extra = unexpected_symbols(got, allowed)
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}; write dL/dw in w and "
                                        f"h_0 … h_{tau} only ({case['label']})")
        expected = unrolled_gradient(tau)
        if same_expression(got, expected):
            continue
        for t in range(1, tau + 1):
            if tau > 1 and equal(got, expected - _step_term(tau, t)):
                return Outcome("failed", 0, f"misses the contribution of step t = {t}: w is used "
                                            f"at every step, so dL/dw sums one term per step "
                                            f"({case['label']})")
        if tau > 1 and equal(got, _step_term(tau, tau)):
            return Outcome("failed", 0, f"only the last step's direct term (1 - h_{tau}²) "
                                        f"h_{tau - 1}: add the paths through earlier steps "
                                        f"({case['label']})")
        return Outcome("failed", 0, _numeric_gradient_message(got, tau, case["label"]))
    return Outcome("passed", 3, f"equals SymPy's derivative of the unrolled graph {where(cases)}")


# ---------------------------------------------------------------------------------- 2.3
def loss(w: float, xs: Sequence[float], ys: Sequence[float], h0: float) -> float:
    """L = ½ Σ_t (h_t - y_t)² with h_t = tanh(w h_(t-1) + x_t), in plain floats."""
    h, total = h0, 0.0
    for x, y in zip(xs, ys):
        h = math.tanh(w * h + x)
        total += 0.5 * (h - y) ** 2
    return total


def reference_contributions(w: float, xs: Sequence[float], ys: Sequence[float], h0: float) -> list[float]:
    """Per-step contributions to dL/dw by autograd: step t uses its own copy w_t of w, and
    ∂L/∂w_t is its contribution (the chain rule sums them: dL/dw = Σ_t ∂L/∂w_t)."""
    copies = [Value(w) for _ in xs]
    h, total = Value(h0), Value(0.0)
    for w_t, x, y in zip(copies, xs, ys):
        h = (w_t * h + float(x)).tanh()
        total = total + 0.5 * (h - float(y)) ** 2
    total.backward()
    return [w_t.grad for w_t in copies]


def _bptt_case(label: str, rng: np.random.Generator, tau: int) -> dict:
    return {
        "label": label,
        "args": [
            {"number": round(float(rng.uniform(0.5, 1.2)), 3)},
            {"array": [round(float(v), 3) for v in rng.normal(size=tau)]},
            {"array": [round(float(v), 3) for v in rng.uniform(-0.9, 0.9, size=tau)]},
            {"number": round(float(rng.uniform(-0.5, 0.5)), 3)},
        ],
    }


def _hidden_bptt(rng: np.random.Generator) -> tuple[dict, ...]:
    return tuple(_bptt_case(f"hidden case, τ = {tau}", rng, tau)
                 for tau in (1, int(rng.integers(6, 10)), int(rng.integers(20, 30))))


def _grade_bptt(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    total_problem = step_problem = ""
    for case, answer in zip(cases, answers):
        w, xs, ys, h0 = (build_argument(spec) for spec in case["args"])
        tau = len(xs)
        got = numbers(answer)
        shape = got.shape
        if shape != (tau,):
            what = "one number" if shape == () else f"an array of shape {shape}"
            return Outcome("failed", 0, f"returns {what}: return τ = {tau} numbers, one "
                                        f"contribution per step ({case['label']})")
        expected = reference_contributions(w, xs, ys, h0)
        eps = 1e-6
        finite = (loss(w + eps, xs, ys, h0) - loss(w - eps, xs, ys, h0)) / (2 * eps)
        if not total_problem and not (close_scalar(got.sum(), sum(expected)) and close_scalar(got.sum(), finite, 1e-5)):
            total_problem = (f"their sum dL/dw is {got.sum():.4f}, autograd gives "
                             f"{sum(expected):.4f} and finite differences {finite:.4f} ({case['label']})")
        wrong = [t for t in range(tau) if not close_scalar(got[t], expected[t])]
        if not step_problem and wrong:
            t = wrong[0]
            step_problem = (f"the contribution of step t = {t + 1} is {got[t]:.4f}, autograd gives "
                            f"{expected[t]:.4f} ({case['label']})")
    if total_problem or step_problem:
        score = 2 * (not total_problem) + (not step_problem)
        return Outcome("failed", score, "; ".join(p for p in (total_problem, step_problem) if p))
    return Outcome("passed", 3, f"dL/dw and each step's contribution match autograd and finite "
                                f"differences {where(cases)}")


# ---------------------------------------------------------------------------------- 2.4
def _softplus(x: float) -> float:
    return float(np.logaddexp(0.0, x))


def _hidden_softplus(rng: np.random.Generator) -> tuple[dict, ...]:
    points = [round(float(v), 3) for v in rng.uniform(-8.0, 8.0, size=5)]
    return ({"label": "hidden case, 5 points in [-8, 8]", "points": points,
             "inner": round(float(rng.uniform(0.5, 3.0)), 3), "outer": round(float(rng.uniform(-2.0, 2.0)), 3)},)


def _grade_softplus(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    forward_problem = backward_problem = ""
    eps = 1e-6
    for case, answer in zip(cases, answers):
        points = answer["points"]
        if len(points) != len(case["points"]):
            raise ValueError("one result per point expected")
        for x, point in zip(case["points"], points):
            data, grad, chain = float(point["data"]), float(point["grad"]), float(point["chain_grad"])
            expected = _softplus(x)
            finite = (_softplus(x + eps) - _softplus(x - eps)) / (2 * eps)
            if not forward_problem and not close_scalar(data, expected, 1e-9):
                forward_problem = (f"softplus({x:g}) is {data:.4f}, expected log(1 + e^{x:g}) = "
                                   f"{expected:.4f} ({case['label']})")
            if backward_problem:
                continue
            if point["nodes"] != 2 or point["inputs_are_the_argument"] is not True:
                backward_problem = (f"softplus(a) is a graph of {point['nodes']} nodes: make it "
                                    f"one node whose only input is a, with its local derivative")
            elif not close_scalar(grad, finite, 1e-5):
                backward_problem = (f"d softplus/da at a = {x:g} is {grad:.4f}, finite "
                                    f"differences give {finite:.4f} ({case['label']})")
            elif not close_scalar(chain, finite * case["inner"] * case["outer"], 1e-5):
                backward_problem = (f"inside y = {case['outer']:g}·softplus({case['inner']:g}·w) "
                                    f"dy/dw is {chain:.4f}, expected "
                                    f"{finite * case['inner'] * case['outer']:.4f}: multiply the "
                                    f"local derivative by the gradient flowing in")
    score = (not forward_problem) + (not backward_problem)
    if score == 2:
        return Outcome("passed", 2, f"forward values and gradients match log(1 + e^a) and finite "
                                    f"differences {where(cases)}")
    return Outcome("failed", score, "; ".join(p for p in (forward_problem, backward_problem) if p))


# ---------------------------------------------------------------------------------- 2.5
def second_order_states(w: Sequence[float], xs: Sequence[float], h_start: Sequence[float]) -> list[float]:
    """h_(-1), h_0, h_1, …, h_τ of h_t = tanh(w_1 h_(t-1) + w_2 h_(t-2) + x_t), as floats."""
    states = [float(h_start[0]), float(h_start[1])]
    for x in xs:
        states.append(math.tanh(float(w[0]) * states[-1] + float(w[1]) * states[-2] + float(x)))
    return states


def _second_order_loss(w: Sequence[float], xs: Sequence[float], ys: Sequence[float], h_start: Sequence[float]) -> float:
    """L = ½ Σ_t (h_t - y_t)² of the second-order recurrence."""
    states = second_order_states(w, xs, h_start)
    return 0.5 * sum((h - float(y)) ** 2 for h, y in zip(states[2:], ys))


def reference_second_order_gradient(w: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                                    h_start: np.ndarray) -> dict[str, np.ndarray]:
    """[dL/dw_1, dL/dw_2] by autograd on the unrolled ``Value`` graph and by central differences."""
    w1, w2 = Value(float(w[0])), Value(float(w[1]))
    before, h = Value(float(h_start[0])), Value(float(h_start[1]))
    total = Value(0.0)
    for x, y in zip(xs, ys):
        before, h = h, (w1 * h + w2 * before + float(x)).tanh()
        total = total + 0.5 * (h - float(y)) ** 2
    total.backward()
    eps = 1e-6
    finite = [(_second_order_loss(w + eps * e, xs, ys, h_start) - _second_order_loss(w - eps * e, xs, ys, h_start))
              / (2 * eps) for e in np.eye(2)]
    return {"autograd": np.array([w1.grad, w2.grad]), "finite": np.array(finite)}


def _second_order_backward(w: np.ndarray, xs: np.ndarray, ys: np.ndarray, h_start: np.ndarray, *,
                           skip_path: bool = True, skip_slope_step: int = 2, w2_reads: int = 2,
                           first_step: int = 1) -> np.ndarray:
    """[dL/dw_1, dL/dw_2] by hand; the keywords do one step of the derivation wrong, for the slips.

    ∂L/∂h_t = (h_t - y_t) + w_1 (1 - h_(t+1)²) ∂L/∂h_(t+1) + w_2 (1 - h_(t+2)²) ∂L/∂h_(t+2), and with
    g_t = (1 - h_t²) ∂L/∂h_t, dL/dw_1 = Σ_t g_t h_(t-1) and dL/dw_2 = Σ_t g_t h_(t-2).
    """
    h = second_order_states(w, xs, h_start)  # h[t + 1] is h_t, from h_(-1)
    tau = len(xs)
    slope = [0.0] + [1 - state ** 2 for state in h[2:]] + [0.0, 0.0]  # slope[t] = 1 - h_t², zero beyond τ
    grad_h = np.zeros(tau + 3)  # grad_h[t] = ∂L/∂h_t, zero beyond τ
    for t in range(tau, 0, -1):
        grad_h[t] = h[t + 1] - float(ys[t - 1]) + w[0] * slope[t + 1] * grad_h[t + 1]
        if skip_path:
            grad_h[t] += w[1] * slope[t + skip_slope_step] * grad_h[t + 2]
    steps = range(first_step, tau + 1)
    return np.array([sum(slope[t] * grad_h[t] * h[t] for t in steps),
                     sum(slope[t] * grad_h[t] * h[t + 1 - w2_reads] for t in steps)])


def _second_order_mistakes(w, xs, ys, h_start) -> dict[str, np.ndarray]:
    """[dL/dw_1, dL/dw_2] with one of the usual slips."""
    right = _second_order_backward(w, xs, ys, h_start)
    return {
        "leave out the skip path: h_t also reaches h_(t+2), through w_2":
            _second_order_backward(w, xs, ys, h_start, skip_path=False),
        "take the tanh derivative of step t + 1 on the skip path h_t → h_(t+2); it belongs to step t + 2":
            _second_order_backward(w, xs, ys, h_start, skip_slope_step=1),
        "multiply ∂L/∂a_t by h_(t-1) for dL/dw_2 too; w_2 multiplies h_(t-2)":
            _second_order_backward(w, xs, ys, h_start, w2_reads=1),
        "start the sums at t = 3, where h_(t-2) is first a computed state; steps 1 and 2 count too":
            _second_order_backward(w, xs, ys, h_start, first_step=3),
        "start from h_(-1) = h_0 = 0; the initial states are the argument h_start":
            _second_order_backward(w, xs, ys, np.zeros(2)),
        "return them in the wrong order: [dL/dw_1, dL/dw_2] is expected": right[::-1],
    }


def second_order_case(label: str, rng: np.random.Generator, tau: int) -> dict:
    """Weights, inputs, targets and the two initial states, rounded to 3 decimals."""
    return {
        "label": label,
        "args": [
            {"array": [round(float(rng.uniform(0.4, 1.0)), 3), round(float(rng.uniform(-0.8, 0.8)), 3)]},
            {"array": [round(float(v), 3) for v in rng.normal(size=tau)]},
            {"array": [round(float(v), 3) for v in rng.uniform(-0.9, 0.9, size=tau)]},
            {"array": [round(float(v), 3) for v in rng.uniform(-0.8, 0.8, size=2)]},
        ],
    }


def _hidden_second_order(rng: np.random.Generator) -> tuple[dict, ...]:
    return tuple(second_order_case(f"hidden case, τ = {tau}", rng, tau)
                 for tau in (1, 2, int(rng.integers(7, 12)), int(rng.integers(20, 30))))


_grade_second_order = grade_derivation("[dL/dw_1, dL/dw_2]", reference_second_order_gradient,
                                       _second_order_mistakes, 4, "of the second-order recurrence")


QUESTIONS = (
    Question(
        qid="2.1", points=2, title="Unfolding by hand", answer="unfold_s3", kind="sympy",
        difficulty=1, minutes=5,
        visible=({"label": "visible case, s^(1) and θ as symbols",
                  "args": [{"symbol": "s1"}, {"symbol": "theta"}]},),
        hidden=_hidden_unfold, grade=_grade_unfold,
        hints=("Unfolding is composition: s^(2) = f(s^(1); θ) and s^(3) = f(s^(2); θ).",
               "Name the middle state: compute s^(2) from s1 and theta, then apply the same formula to s^(2), "
               "not to s1 again. Applying f once or three times are the usual slips."),
    ),
    Question(
        qid="2.2", points=3, title="dL/dw of the unrolled recurrence, symbolically",
        difficulty=2, minutes=15,
        answer="dL_dw_expression", kind="sympy",
        visible=({"label": "visible case, τ = 3",
                  "args": [{"symbol": "w"}, {"symbols": _state_symbols(3)}]},),
        hidden=_hidden_recurrence, grade=_grade_recurrence,
        hints=("dL/dw is a sum over the steps, as in the chapter's sum over time: step t's term is ∂L/∂h^(t) "
               "times the direct effect (1 - (h^(t))²) h^(t-1).",
               "∂L/∂h^(τ) = 1 here (L = h^(τ)), and ∂L/∂h^(t-1) = ∂L/∂h^(t) (1 - (h^(t))²) w, the chapter's "
               "backward recursion.",
               "Loop t from τ down to 1 with SymPy expressions: add dL_dh * (1 - h[t]**2) * h[t - 1] to the "
               "total, then multiply dL_dh by (1 - h[t]**2) * w."),
        borrowed=("sympy.diff",),
    ),
    Question(
        qid="2.3", points=3, title="Backpropagation through time, step by step",
        difficulty=2, minutes=20,
        answer="bptt_contributions", kind="numbers",
        visible=(_bptt_case("visible case, τ = 4", np.random.default_rng(2023), 4),),
        hidden=_hidden_bptt, grade=_grade_bptt,
        hints=("As in the chapter's code cell: a forward pass that keeps h^(0) … h^(τ), then a backward loop "
               "from t = τ to 1 carrying ∂L/∂h^(t), with each step's contribution.",
               "Every step has its own loss term now, so ∂L/∂h^(t) = (h^(t) - y^(t)) + ∂L/∂h^(t+1) (1 - "
               "(h^(t+1))²) w: the second term comes from later steps.",
               "At step t, first add the step's own loss term h^(t) - y^(t) to what came back from later "
               "steps; multiplied by 1 - (h^(t))² it is ∂L/∂a^(t), which times h^(t-1) is the contribution and "
               "times w is what goes down to step t - 1. h^(0) need not be 0."),
        borrowed=("minigrad.scalar.Value.backward",),
    ),
    Question(
        qid="2.4", points=2, title="A new Value op: softplus", answer="softplus", kind="value_op",
        difficulty=2, minutes=15,
        visible=({"label": "visible case, a = -1.5, 0, 2", "points": [-1.5, 0.0, 2.0],
                  "inner": 2.0, "outer": -1.5},),
        hidden=_hidden_softplus, grade=_grade_softplus,
        hints=("Look at Value.tanh in the chapter: compute the output from a.data with plain math, and hand "
               "Value.from_op the output, the inputs (a,) and the local derivative.",
               "The local derivative of log(1 + e^a) is e^a / (1 + e^a) = σ(a). Write both the output and σ so "
               "that neither calls math.exp of a large positive number.",
               "output = max(x, 0) + math.log1p(math.exp(-abs(x))); σ(x) = 1 / (1 + e^-x) for x ≥ 0 and e^x / "
               "(1 + e^x) for x < 0."),
    ),
    Question(
        qid="2.5", points=4, title="dL/dw of a second-order recurrence, derived", answer="second_order_gradient",
        kind="numbers",
        visible=(second_order_case("visible case, τ = 5", np.random.default_rng(205), 5),),
        hidden=_hidden_second_order, grade=_grade_second_order,
        borrowed=("minigrad.scalar.Value.backward", "minigrad.autograd.backward"), difficulty=3, minutes=30,
        hints=("Draw two steps of the graph: h_t now has three children, its own loss term, a_(t+1) (through "
               "w_1) and a_(t+2) (through w_2). ∂L/∂h_t adds what comes back along each.",
               "With g_t = ∂L/∂a_t = (1 - h_t²) ∂L/∂h_t: ∂L/∂h_t = (h_t - y_t) + w_1 g_(t+1) + w_2 g_(t+2), "
               "with g = 0 beyond τ; then dL/dw_1 = Σ_t g_t h_(t-1) and dL/dw_2 = Σ_t g_t h_(t-2).",
               "Keep every g_t of the backward loop (the step below needs the two above it), and every state "
               "from h_(-1) on: the sums run over t = 1 … τ, and steps 1 and 2 read h_(-1) and h_0."),
    ),
)
