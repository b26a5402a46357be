"""Chapter 4's graded questions: backpropagation through time for pattern A, by hand.

4.1–4.4 give the student one forward pass of pattern A (one sequence, no batch axis) and ask for
∇_{h^(t)} L and the gradients of V, W and U as numpy code. Every answer is compared with
``minigrad`` autograd (an ``ElmanRNN`` holding the same weights) and with central finite
differences in float64, and the message names the first entry that disagrees.
4.5 asks for dL/dw of the scalar network with a logistic output as a SymPy expression; it is
compared with SymPy's own derivative of the unrolled graph, by ``expand``/``cancel``.

The arguments of 4.1–4.4 are ``(x, Y, h, y_hat, U, W, V)``: ``x`` (τ, D), ``Y`` (τ, O) the one-hot
targets 1_{y^(t)}, ``h`` (τ + 1, H) with ``h[0]`` = h^(0), ``y_hat`` (τ, O), and the weights.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import numbers, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.symbolic import abbreviate, equal, short_number, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "forward_case", "reference_gradients", "scalar_gradient"]

_RTOL = 1e-6
_ARGUMENTS = ("x", "Y", "h", "y_hat", "U", "W", "V")


# ------------------------------------------------------------------------- cases and references
def forward_case(label: str, seed: int, steps: int, inputs: int, hidden: int, outputs: int) -> dict:
    """One forward pass of pattern A with random weights, as the plain data a case carries.

    ``h^(0)`` is random (not zero), so the first step's contribution to dL/dW is tested too.
    """
    from minigrad.bptt import elman_forward

    rng = np.random.default_rng(seed)
    params = {"U": rng.normal(scale=0.8, size=(hidden, inputs)),
              "W": rng.normal(scale=0.8, size=(hidden, hidden)),
              "V": rng.normal(scale=0.8, size=(outputs, hidden)),
              "b": rng.normal(scale=0.3, size=hidden), "c": rng.normal(scale=0.3, size=outputs)}
    x = rng.normal(size=(steps, inputs))
    targets = rng.integers(0, outputs, size=steps)
    h0 = rng.uniform(-0.5, 0.5, size=hidden)
    forward = elman_forward(params, x[:, None], targets[:, None], h0[None])
    arrays = {"x": x, "Y": np.eye(outputs)[targets], "h": forward.h[:, 0], "y_hat": forward.y_hat[:, 0],
              "U": params["U"], "W": params["W"], "V": params["V"]}
    return {
        "label": label,
        "args": [{"array": arrays[name].tolist()} for name in _ARGUMENTS],
        "biases": {"b": params["b"].tolist(), "c": params["c"].tolist()},
        "targets": targets.tolist(),
    }


def _unpack(case: dict) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Parameters, x (τ, 1, D), targets (τ, 1) and h0 (1, H) of a case."""
    args = dict(zip(_ARGUMENTS, (build_argument(spec) for spec in case["args"])))
    params = {"U": args["U"], "W": args["W"], "V": args["V"],
              "b": np.array(case["biases"]["b"], dtype=np.float64),
              "c": np.array(case["biases"]["c"], dtype=np.float64)}
    x = args["x"].reshape(args["x"].shape[0], 1, -1)
    targets = np.array(case["targets"], dtype=np.int64)[:, None]
    return params, x, targets, args["h"][:1]


def reference_gradients(case: dict) -> dict[str, dict[str, np.ndarray]]:
    """∇_h L and the gradients of U, V, W from autograd and from finite differences.

    Autograd differentiates an ``ElmanRNN`` loaded with the case's weights; finite differences
    perturb the weights (and, for ∇_h L, the state h^(t) itself, rerunning the steps after t).
    """
    from minigrad import Tensor
    from minigrad import functional as F
    from minigrad.bptt import central_differences, elman_forward

    params, x, targets, h0 = _unpack(case)
    model = _model(params)
    o, _ = model(x, h0=Tensor(h0))
    F.cross_entropy(o.reshape(-1, o.shape[-1]), targets.reshape(-1), reduction="sum").backward()
    autograd = {name: getattr(model, name).grad.copy() for name in ("U", "W", "V")}
    autograd["h"] = _total_state_gradients(params, x, targets, h0)
    finite = central_differences(lambda p: elman_forward(p, x, targets, h0).loss, params)
    finite["h"] = _state_gradients_by_differences(params, x, targets, h0)
    return {"autograd": autograd, "finite": finite}


def _model(params: dict) -> Any:
    """An ``ElmanRNN`` holding the given weights."""
    from minigrad.nn import ElmanRNN

    hidden, inputs = params["U"].shape
    model = ElmanRNN(inputs, hidden, params["V"].shape[0], rng=np.random.default_rng(0))
    model.load_state_dict(params)
    return model


def _total_state_gradients(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """∇_{h^(t)} L by autograd: restart the network at step t from a leaf holding h^(t).

    The loss from step t on is a function of h^(t) only, so the gradient of that leaf is the total
    derivative of L with respect to h^(t), through every later step.
    """
    from minigrad import Tensor
    from minigrad import functional as F
    from minigrad.bptt import elman_forward

    states = elman_forward(params, x, targets, h0).h
    model = _model(params)
    V, c = model.V, model.c
    grads = []
    for t in range(1, x.shape[0] + 1):
        leaf = Tensor(states[t].copy(), requires_grad=True)
        loss = F.cross_entropy(leaf @ V.T + c, targets[t - 1], reduction="sum")
        if t < x.shape[0]:
            o, _ = model(x[t:], h0=leaf)
            loss = loss + F.cross_entropy(o.reshape(-1, o.shape[-1]), targets[t:].reshape(-1), reduction="sum")
        loss.backward()
        grads.append(leaf.grad[0].copy())
    return np.array(grads)


def _state_gradients_by_differences(params, x, targets, h0, eps: float = 1e-6) -> np.ndarray:
    """∇_{h^(t)} L by central differences: perturb h^(t) and rerun the loss from step t on."""
    from minigrad.bptt import elman_forward

    states = elman_forward(params, x, targets, h0).h
    V, c = params["V"], params["c"]

    def rest(t: int, state: np.ndarray) -> float:
        o = V @ state[0] + c
        direct = float(np.logaddexp.reduce(o) - o[targets[t - 1, 0]])
        later = elman_forward(params, x[t:], targets[t:], state).loss if t < x.shape[0] else 0.0
        return direct + later

    grads = np.zeros((x.shape[0], h0.shape[1]))
    for t in range(1, x.shape[0] + 1):
        for i in range(h0.shape[1]):
            plus, minus = states[t].copy(), states[t].copy()
            plus[0, i] += eps
            minus[0, i] -= eps
            grads[t - 1, i] = (rest(t, plus) - rest(t, minus)) / (2 * eps)
    return grads


# ------------------------------------------------------------------------- numeric questions
def _first_disagreement(got: np.ndarray, expected: np.ndarray, rtol: float) -> tuple | None:
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    bad = ~(np.isfinite(got) & (np.abs(got - expected) <= rtol * scale))
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _numeric_grader(key: str, symbol: str, shape_text: str, points: int,
                    mistakes: Callable[[dict], dict[str, np.ndarray]]) -> Callable:
    """A ``grade`` function for one gradient, compared with autograd and finite differences."""

    def grade(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
        for case, answer in zip(cases, answers):
            got = numbers(answer)
            references = reference_gradients(case)
            expected = references["autograd"][key]
            if got.shape != expected.shape:
                return Outcome("failed", 0, f"{symbol} has shape {got.shape}, expected {shape_text} = "
                                            f"{expected.shape} ({case['label']})")
            index = _first_disagreement(got, expected, _RTOL)
            if index is None:
                finite = references["finite"][key]
                index = _first_disagreement(got, finite, 1e-5)
                if index is None:
                    continue
                return Outcome("failed", 0, f"{symbol} differs from finite differences at entry {index}: "
                                            f"got {got[index]:.4g}, expected {finite[index]:.4g} "
                                            f"({case['label']})")
            hint = ""
            arrays = dict(zip(_ARGUMENTS, (build_argument(spec) for spec in case["args"])))
            for why, wrong in mistakes(arrays).items():
                if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-9, atol=1e-12):
                    hint = f"; this is what you get if you {why}"
                    break
            return Outcome("failed", 0, f"{symbol} differs from autograd at entry {index}: got "
                                        f"{got[index]:.4g}, expected {expected[index]:.4g}{hint} "
                                        f"({case['label']})")
        return Outcome("passed", points, f"{symbol} matches autograd and finite differences {where(cases)}")

    return grade


def _grad_o(a: dict) -> np.ndarray:
    return a["y_hat"] - a["Y"]


def _state_gradients(a: dict, recurrent: Callable[[np.ndarray, int], np.ndarray] | None) -> np.ndarray:
    """∇_h with a given recurrent term (None: no term through h^(t+1))."""
    go, steps = _grad_o(a), a["x"].shape[0]
    grads = np.zeros((steps, a["h"].shape[1]))
    for t in range(steps, 0, -1):
        grads[t - 1] = a["V"].T @ go[t - 1]
        if t < steps and recurrent is not None:
            grads[t - 1] += recurrent(grads[t], t)
    return grads


def _true_state_gradients(a: dict) -> np.ndarray:
    return _state_gradients(a, lambda g_next, t: a["W"].T @ ((1 - a["h"][t + 1] ** 2) * g_next))


def _grad_a(a: dict) -> np.ndarray:
    return _true_state_gradients(a) * (1 - a["h"][1:] ** 2)


def _mistakes_h(a: dict) -> dict[str, np.ndarray]:
    return {
        "leave out the path through h^(t+1) (only V^T ∇_o L)": _state_gradients(a, None),
        "leave out the tanh derivative diag(1 - (h^(t+1))²)": _state_gradients(
            a, lambda g, t: a["W"].T @ g),
        "use W instead of W^T": _state_gradients(a, lambda g, t: a["W"] @ ((1 - a["h"][t + 1] ** 2) * g)),
        "use h^(t) instead of h^(t+1) in the tanh derivative": _state_gradients(
            a, lambda g, t: a["W"].T @ ((1 - a["h"][t] ** 2) * g)),
    }


def _mistakes_v(a: dict) -> dict[str, np.ndarray]:
    go = _grad_o(a)
    return {
        "use h^(t-1) instead of h^(t)": go.T @ a["h"][:-1],
        "use ŷ instead of ŷ - 1_y": a["y_hat"].T @ a["h"][1:],
        "keep only the last step": np.outer(go[-1], a["h"][-1]),
        "transpose the result": a["h"][1:].T @ go,
    }


def _mistakes_w(a: dict) -> dict[str, np.ndarray]:
    ga = _grad_a(a)
    gh = _true_state_gradients(a)
    direct = _state_gradients(a, None) * (1 - a["h"][1:] ** 2)
    return {
        "use h^(t) instead of h^(t-1)": ga.T @ a["h"][1:],
        "leave out the tanh derivative (use ∇_h instead of ∇_a)": gh.T @ a["h"][:-1],
        "use only the direct term V^T ∇_o at each step, without the path through later steps":
            direct.T @ a["h"][:-1],
        "transpose the result": (ga.T @ a["h"][:-1]).T,
        "start the sum at t = 2 (h^(0) is not zero here)": ga[1:].T @ a["h"][1:-1],
    }


def _mistakes_u(a: dict) -> dict[str, np.ndarray]:
    ga = _grad_a(a)
    gh = _true_state_gradients(a)
    direct = _state_gradients(a, None) * (1 - a["h"][1:] ** 2)
    return {
        "leave out the tanh derivative (use ∇_h instead of ∇_a)": gh.T @ a["x"],
        "use only the direct term V^T ∇_o at each step, without the path through later steps":
            direct.T @ a["x"],
        "use x^(t-1) instead of x^(t)": ga[1:].T @ a["x"][:-1],
    }


def _hidden_forward(rng: np.random.Generator) -> tuple[dict, ...]:
    sizes = [(1, 2, 3, 2), (int(rng.integers(6, 10)), int(rng.integers(1, 4)), int(rng.integers(2, 6)),
                            int(rng.integers(2, 5)))]
    return tuple(forward_case(f"hidden case, τ = {s[0]}, D = {s[1]}, H = {s[2]}, O = {s[3]}",
                              int(rng.integers(1 << 30)), *s) for s in sizes)


_VISIBLE = (forward_case("visible case, τ = 4, D = 2, H = 3, O = 3", 404, 4, 2, 3, 3),)


# ------------------------------------------------------------------------- 4.5, symbolic
def _scalar_symbols(steps: int) -> dict[str, list[str]]:
    return {"h": [f"h_{t}" for t in range(steps + 1)],
            "y_hat": [f"yhat_{t}" for t in range(1, steps + 1)],
            "y": [f"y_{t}" for t in range(1, steps + 1)]}


def scalar_gradient(steps: int) -> Any:
    """dL/dw of the scalar network with a logistic output, by SymPy, in w, v, h_t, yhat_t and y_t.

    The network is :func:`minigrad.bptt.symbolic_loss` with one input, one hidden unit and a
    logistic output, targets y_t as symbols. SymPy differentiates the unrolled loss; then each
    nested ``tanh`` state is named h_t and each e^{-o^(t)} is written (1 - yhat_t) / yhat_t, which
    holds because yhat_t = 1 / (1 + e^{-o^(t)}).
    """
    import sympy

    from minigrad.bptt import symbolic_loss, symbolic_names

    names = _scalar_symbols(steps)
    y = sympy.symbols(names["y"])
    unrolled = symbolic_loss(steps, 1, 1, 1, list(y))
    derivative = sympy.diff(unrolled["loss"], unrolled["params"]["W"][0])
    renames = {}
    for key, symbol in symbolic_names(unrolled).items():
        kind, t, _ = str(symbol).split("_")
        if kind == "h":
            renames[key] = sympy.Symbol(f"h_{t}")
        else:  # e_t_0 stands for exp(-o^(t))
            yhat = sympy.Symbol(f"yhat_{t}")
            renames[key] = (1 - yhat) / yhat
    renames.update({unrolled["h"][0][0]: sympy.Symbol("h_0"), unrolled["params"]["W"][0]: sympy.Symbol("w"),
                    unrolled["params"]["V"][0]: sympy.Symbol("v")})
    gradient = sympy.expand(sympy.together(abbreviate(derivative, renames)))  # a polynomial
    allowed = ["w", "v", *names["h"], *names["y_hat"], *names["y"]]
    assert not unexpected_symbols(gradient, allowed), "a nested state was not named"
    return gradient


def _scalar_args(steps: int) -> list[dict]:
    names = _scalar_symbols(steps)
    return [{"symbol": "w"}, {"symbol": "v"}, {"symbols": names["h"]}, {"symbols": names["y_hat"]},
            {"symbols": names["y"]}]


def _scalar_direct_only(steps: int) -> Any:
    """The sum of the direct terms only: v (yhat_t - y_t)(1 - h_t²) h_(t-1), no path through later steps."""
    import sympy

    v = sympy.Symbol("v")
    names = _scalar_symbols(steps)
    h, yhat, y = (sympy.symbols(names[k]) for k in ("h", "y_hat", "y"))
    return sum(v * (yhat[t - 1] - y[t - 1]) * (1 - h[t] ** 2) * h[t - 1] for t in range(1, steps + 1))


def _scalar_numbers(got: Any, steps: int) -> str:
    """Evaluate an answer on a forward pass and compare with autograd and finite differences."""
    from minigrad.bptt import central_differences
    from minigrad.scalar import Value

    rng = np.random.default_rng(steps)
    w, v, u, b, c = 0.9, 1.3, 0.7, 0.1, -0.2
    xs, ys, h0 = rng.normal(size=steps), rng.integers(0, 2, size=steps), 0.4

    def loss(p: dict) -> float:
        state, total = h0, 0.0
        for x, y in zip(xs, ys):
            state = math.tanh(p["w"][0] * state + u * float(x) + b)
            o = c + v * state
            total += float(np.logaddexp(0.0, -o) if y == 1 else np.logaddexp(0.0, o))
        return total

    w_leaf, state, total = Value(w), Value(h0), Value(0.0)
    values = {"w": w, "v": v, "h_0": h0}
    for t, (x, y) in enumerate(zip(xs, ys), start=1):
        state = (w_leaf * state + u * float(x) + b).tanh()
        p = (state * v + c).sigmoid()
        total = total - (p.log() if y == 1 else (1 - p).log())
        values.update({f"h_{t}": state.data, f"yhat_{t}": p.data, f"y_{t}": int(y)})
    total.backward()
    finite = central_differences(loss, {"w": np.array([w])})["w"][0]
    yours = short_number(substitute(got, values))
    return (f"on a forward pass with w = {w}, v = {v} it gives {yours}, autograd gives "
            f"{w_leaf.grad:.4f} and finite differences {finite:.4f}")


def _hidden_scalar(rng: np.random.Generator) -> tuple[dict, ...]:
    return tuple({"label": f"hidden case, τ = {steps}", "args": _scalar_args(steps)}
                 for steps in (1, int(rng.integers(4, 6))))


def _grade_scalar(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, tree in zip(cases, answers):
        steps = len(case["args"][3]["symbols"])
        got = decode_expression(tree)
        allowed = [spec["symbol"] for spec in case["args"][:2]] + [
            name for spec in case["args"][2:] for name in spec["symbols"]]
        extra = unexpected_symbols(got, allowed)
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}; write dL/dw in w, v, h_0 … h_{steps}, "
                                        f"yhat_1 … yhat_{steps} and y_1 … y_{steps} ({case['label']})")
        expected = scalar_gradient(steps)
        if equal(got, expected):
            continue
        if steps > 1 and equal(got, _scalar_direct_only(steps)):
            return Outcome("failed", 0, f"this is only the direct term of each step: add the path "
                                        f"from h^(t) through h^(t+1) to later losses ({case['label']})")
        return Outcome("failed", 0, f"differs from SymPy's derivative of the unrolled loss "
                                    f"({case['label']}): {_scalar_numbers(got, steps)}")
    return Outcome("passed", 3, f"equals SymPy's derivative of the unrolled loss {where(cases)}")


QUESTIONS = (
    Question(
        qid="4.1", points=3, title="The gradient with respect to every hidden state", answer="grad_h",
        kind="numbers", visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("h", "dL/dh", "(τ, H)", 3, _mistakes_h),
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="4.2", points=2, title="The gradient of V", answer="grad_V", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("V", "dL/dV", "V's shape (O, H)", 2, _mistakes_v),
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="4.3", points=3, title="The gradient of W", answer="grad_W", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("W", "dL/dW", "W's shape (H, H)", 3, _mistakes_w),
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="4.4", points=2, title="The gradient of U", answer="grad_U", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("U", "dL/dU", "U's shape (H, D)", 2, _mistakes_u),
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="4.5", points=3, title="dL/dw of the scalar network, symbolically", answer="dL_dw_scalar",
        kind="sympy", visible=({"label": "visible case, τ = 3", "args": _scalar_args(3)},),
        hidden=_hidden_scalar, grade=_grade_scalar,
        borrowed=("sympy.diff",),
    ),
)
