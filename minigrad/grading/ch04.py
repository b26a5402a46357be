"""Chapter 4's graded questions: backpropagation through time for pattern A, by hand.

4.1–4.4 give the student one forward pass of pattern A (one sequence, no batch axis) and ask for
∇_{h^(t)} L and the gradients of V, W and U as numpy code. Every answer is compared with
``minigrad`` autograd (an ``ElmanRNN`` holding the same weights) and with central finite
differences in float64, and the message names the first entry that disagrees.
4.5 asks for dL/dw of the scalar network with a logistic output as a SymPy expression; it is
compared with SymPy's own derivative of the unrolled graph, by ``expand``/``cancel``; a wrong one is
compared with the slips it may come from (only the direct terms, h_t for h_(t-1), ŷ at the wrong step),
and its form is read for what any code with such a slip shows (an error ŷ_t - y_t mixing two steps,
no h_0).
4.6, harder, asks for ∇_W L of a cell the chapter does not treat, the leaky-integrator RNN
h^(t) = (1 - α) h^(t-1) + α tanh(a^(t)), whose states are no longer tanh outputs; it is compared
with autograd (``Tensor`` operations) and with central finite differences.

The arguments of 4.1–4.4 are ``(x, Y, h, y_hat, U, W, V)``: ``x`` (τ, D), ``Y`` (τ, O) the one-hot
targets 1_{y^(t)}, ``h`` (τ + 1, H) with ``h[0]`` = h^(0), ``y_hat`` (τ, O), and the weights.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import numbers, same_expression, three_ways, versus, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression
from minigrad.symbolic import abbreviate, equal, substitute, unexpected_symbols

__all__ = ["QUESTIONS", "forward_case", "reference_gradients", "scalar_gradient", "leaky_case",
           "reference_leaky_gradient"]

_RTOL = 1e-6
_ARGUMENTS = ("x", "Y", "h", "y_hat", "U", "W", "V")


# ------------------------------------------------------------------------- cases and references
def forward_case(label: str, seed: int, steps: int, inputs: int, hidden: int, outputs: int,
                 biases: bool = True) -> dict:
    """One forward pass of pattern A with random weights, as the plain data a case carries.

    ``h^(0)`` is random (not zero), so the first step's contribution to dL/dW is tested too.
    With ``biases=False``, b and c are zero, so that the notebook can rebuild the network from the
    arguments alone (the answers never read b or c).
    """
    from minigrad.bptt import elman_forward

    rng = np.random.default_rng(seed)
    params = {"U": rng.normal(scale=0.8, size=(hidden, inputs)),
              "W": rng.normal(scale=0.8, size=(hidden, hidden)),
              "V": rng.normal(scale=0.8, size=(outputs, hidden)),
              "b": rng.normal(scale=0.3, size=hidden), "c": rng.normal(scale=0.3, size=outputs)}
    if not biases:
        params["b"], params["c"] = np.zeros(hidden), np.zeros(outputs)
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
                                            f"got {versus(got[index], finite[index])} "
                                            f"({case['label']})")
            hint = ""
            arrays = dict(zip(_ARGUMENTS, (build_argument(spec) for spec in case["args"])))
            for why, wrong in mistakes(arrays).items():
                if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-9, atol=1e-12):
                    hint = f"; this is what you get if you {why}"
                    break
            return Outcome("failed", 0, f"{symbol} differs from autograd at entry {index}: got "
                                        f"{versus(got[index], expected[index])}{hint} "
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


_VISIBLE = (
    # The notebook's example (check.case("4.1")), then one with other sizes, so that code that
    # reads a size from the example's globals (n_hidden) fails before it is handed in.
    forward_case("visible case, the notebook's example, τ = 5, D = 2, H = 3, O = 3", 404, 5, 2, 3, 3, biases=False),
    forward_case("visible case 2, τ = 3, D = 4, H = 2, O = 4", 405, 3, 4, 2, 4),
)


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


def _scalar_by_hand(steps: int, direct_only: bool = False, weight_state: int = -1, carried_tanh_state: int = 1,
                    yhat_shift: int = 0, target_shift: int = 0) -> Any:
    """dL/dw of the scalar network derived by hand, or with the slips the options name.

    dL/dh_t = v (ŷ_t - y_t) + w (1 - h_(t+1)²) dL/dh_(t+1) and dL/dw = Σ_t dL/dh_t (1 - h_t²) h_(t-1).
    The options change one index: ``weight_state`` is the k of h_(t+k) in the last factor (-1),
    ``carried_tanh_state`` that of the tanh derivative on the path through h_(t+1) (1), and
    ``yhat_shift``/``target_shift`` take ŷ_(t+k)/y_(t+k), wrapping round as a negative Python index does;
    ``direct_only`` leaves out the path through h_(t+1).
    """
    import sympy

    v, w = sympy.symbols("v w")
    names = _scalar_symbols(steps)
    h, yhat, y = (sympy.symbols(names[k]) for k in ("h", "y_hat", "y"))
    total, carried = 0, 0
    for t in range(steps, 0, -1):
        grad = v * (yhat[(t - 1 + yhat_shift) % steps] - y[(t - 1 + target_shift) % steps])
        if t < steps and not direct_only:
            grad += w * (1 - h[t + carried_tanh_state] ** 2) * carried
        total += grad * (1 - h[t] ** 2) * h[t + weight_state]
        carried = grad
    return total


def _scalar_slips(steps: int) -> dict[str, Any]:
    """The wrong answers 4.5's messages name, by what was done wrong."""
    slips = {
        "use h_t instead of h_(t-1) in ∂a^(t)/∂w = h_(t-1)": _scalar_by_hand(steps, weight_state=0),
        "use 1 - h_t² instead of 1 - h_(t+1)² on the path through h_(t+1)":
            _scalar_by_hand(steps, carried_tanh_state=0),
    }
    if steps > 1:
        slips.update({
            "keep only the direct term of each step: add the path from h^(t) through h^(t+1) to later losses":
                _scalar_by_hand(steps, direct_only=True),
            "take ŷ one step early, ŷ_(t-1) - y_t (y_hat[t - 2], which wraps round to ŷ_τ at t = 1): the "
            "error of step t is ŷ_t - y_t, y_hat[t - 1] - y[t - 1]": _scalar_by_hand(steps, yhat_shift=-1),
            "take the error of the previous step, ŷ_(t-1) - y_(t-1) (index t - 2, which wraps round to step τ "
            "at t = 1): h_t produces ŷ_t, so its own error is ŷ_t - y_t":
                _scalar_by_hand(steps, yhat_shift=-1, target_shift=-1),
        })
    return slips


def _scalar_structure(got: Any, steps: int) -> str:
    """What the form of a wrong answer shows, whatever the code that made it: an error ŷ_t - y_t that is not
    of one step, or no h_0 (h_t written for h_(t-1)). Empty when neither shows."""
    import sympy

    names = _scalar_symbols(steps)
    matched = {sympy.Symbol(p): sympy.Symbol(q) for p, q in zip(names["y_hat"], names["y"])}
    problems = []
    if not equal(sympy.sympify(got).xreplace(matched), 0):
        problems.append("it does not vanish when every ŷ_t equals its y_t, so some ŷ is taken at another step "
                        "than its y (or one of them is missing): the error of step t is ŷ_t - y_t, "
                        "y_hat[t - 1] - y[t - 1]")
    if sympy.Symbol("h_0") not in sympy.sympify(got).free_symbols:
        problems.append("h_0 does not appear: the term of step t has the factor ∂a^(t)/∂w = h_(t-1), which "
                        "is h_0 at t = 1 (h_t written for h_(t-1)?)")
    return "; ".join(problems)


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
    return (f"on a forward pass with w = {w}, v = {v} "
            f"{three_ways(substitute(got, values), w_leaf.grad, finite)}")


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
        if same_expression(got, expected):
            continue
        slip = next((why for why, wrong in _scalar_slips(steps).items() if equal(got, wrong)), None)
        if slip:
            return Outcome("failed", 0, f"differs from SymPy's derivative of the unrolled loss: this is what you "
                                        f"get if you {slip} ({case['label']})")
        structure = _scalar_structure(got, steps)
        return Outcome("failed", 0, f"differs from SymPy's derivative of the unrolled loss "
                                    f"({case['label']}): {_scalar_numbers(got, steps)}"
                                    f"{'; ' + structure if structure else ''}")
    return Outcome("passed", 3, f"equals SymPy's derivative of the unrolled loss {where(cases)}")


# ------------------------------------------------------------------------- 4.6, the leaky cell
def _leaky_forward(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray, alpha: float) -> tuple:
    """States (τ + 1, H), ŷ (τ, O) and the summed cross-entropy of the leaky-integrator RNN."""
    states, probabilities, loss = [h0], [], 0.0
    for t in range(x.shape[0]):
        a = params["b"] + params["W"] @ states[-1] + params["U"] @ x[t]
        states.append((1 - alpha) * states[-1] + alpha * np.tanh(a))
        o = params["c"] + params["V"] @ states[-1]
        loss += float(np.logaddexp.reduce(o) - o[targets[t]])
        probabilities.append(np.exp(o - np.logaddexp.reduce(o)))
    return np.array(states), np.array(probabilities), loss


def leaky_case(label: str, seed: int, steps: int, inputs: int, hidden: int, outputs: int, alpha: float) -> dict:
    """One forward pass of the leaky-integrator RNN (biases zero, h^(0) random), as plain data."""
    rng = np.random.default_rng(seed)
    params = {"U": rng.normal(scale=0.8, size=(hidden, inputs)), "W": rng.normal(scale=0.8, size=(hidden, hidden)),
              "V": rng.normal(scale=0.8, size=(outputs, hidden)), "b": np.zeros(hidden), "c": np.zeros(outputs)}
    x = rng.normal(size=(steps, inputs))
    targets = rng.integers(0, outputs, size=steps)
    h, y_hat, _ = _leaky_forward(params, x, targets, rng.uniform(-0.5, 0.5, size=hidden), alpha)
    arrays = {"x": x, "Y": np.eye(outputs)[targets], "h": h, "y_hat": y_hat,
              "U": params["U"], "W": params["W"], "V": params["V"]}
    return {"label": label, "args": [{"array": arrays[name].tolist()} for name in _ARGUMENTS] + [{"number": alpha}]}


def reference_leaky_gradient(case: dict) -> dict[str, np.ndarray]:
    """∇_W L of a leaky case by autograd (``Tensor`` operations) and by central differences."""
    from minigrad import Tensor
    from minigrad import functional as F
    from minigrad.bptt import central_differences

    a = dict(zip(_ARGUMENTS, (build_argument(spec) for spec in case["args"])))
    alpha = float(case["args"][-1]["number"])
    targets = a["Y"].argmax(axis=1)
    hidden, outputs = a["W"].shape[0], a["V"].shape[0]
    params = {"U": a["U"], "W": a["W"], "V": a["V"], "b": np.zeros(hidden), "c": np.zeros(outputs)}
    W = Tensor(a["W"].copy(), requires_grad=True)
    state, loss = Tensor(a["h"][0]), None
    for t in range(a["x"].shape[0]):
        state = state * (1 - alpha) + (W @ state + Tensor(a["U"] @ a["x"][t])).tanh() * alpha
        term = F.cross_entropy((Tensor(a["V"]) @ state).reshape(1, -1), targets[t:t + 1], reduction="sum")
        loss = term if loss is None else loss + term
    loss.backward()
    finite = central_differences(lambda p: _leaky_forward({**params, **p}, a["x"], targets, a["h"][0], alpha)[2],
                                 {"W": a["W"]})["W"]
    return {"autograd": W.grad.copy(), "finite": finite}


def _leaky_mistakes(a: dict, alpha: float) -> dict[str, np.ndarray]:
    """∇_W L with one step of the derivation done wrong."""
    h = a["h"]
    squashed = (h[1:] - (1 - alpha) * h[:-1]) / alpha  # tanh(a^(t)), recovered from the states

    def gradient(leak: bool, derivative: np.ndarray) -> np.ndarray:
        steps = a["x"].shape[0]
        grad_h = np.zeros((steps, h.shape[1]))
        for t in range(steps, 0, -1):
            grad_h[t - 1] = a["V"].T @ (a["y_hat"][t - 1] - a["Y"][t - 1])
            if t < steps:
                back = alpha * derivative[t] * grad_h[t]
                grad_h[t - 1] += a["W"].T @ back + ((1 - alpha) * grad_h[t] if leak else 0)
        return (alpha * derivative * grad_h).T @ h[:-1]

    return {
        "use 1 - (h^(t))² as the tanh derivative: here h^(t) is not tanh(a^(t)); recover tanh(a^(t)) = "
        "(h^(t) - (1 - α) h^(t-1)) / α": gradient(True, 1 - h[1:] ** 2),
        "leave out the leak path: h^(t+1) depends on h^(t) also through (1 - α) h^(t)":
            gradient(False, 1 - squashed ** 2),
    }


def _grade_leaky(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        got, references = numbers(answer), reference_leaky_gradient(case)
        expected = references["autograd"]
        if got.shape != expected.shape:
            return Outcome("failed", 0, f"dL/dW has shape {got.shape}, expected W's shape {expected.shape} "
                                        f"({case['label']})")
        index = _first_disagreement(got, expected, _RTOL)
        if index is None:
            index = _first_disagreement(got, references["finite"], 1e-5)
            if index is None:
                continue
            return Outcome("failed", 0, f"dL/dW differs from finite differences at entry {index}: got "
                                        f"{versus(got[index], references['finite'][index])} ({case['label']})")
        arrays = dict(zip(_ARGUMENTS, (build_argument(spec) for spec in case["args"])))
        hint = next((f"; this is what you get if you {why}"
                     for why, wrong in _leaky_mistakes(arrays, float(case["args"][-1]["number"])).items()
                     if np.allclose(got, wrong, rtol=1e-9, atol=1e-12)), "")
        return Outcome("failed", 0, f"dL/dW differs from autograd at entry {index}: got "
                                    f"{versus(got[index], expected[index])}{hint} ({case['label']})")
    return Outcome("passed", 4, f"dL/dW of the leaky cell matches autograd and finite differences {where(cases)}")


def _hidden_leaky(rng: np.random.Generator) -> tuple[dict, ...]:
    sizes = [(1, 2, 3, 2), (int(rng.integers(5, 9)), int(rng.integers(1, 4)), int(rng.integers(2, 6)),
                            int(rng.integers(2, 5)))]
    return tuple(leaky_case(f"hidden case, τ = {s[0]}, D = {s[1]}, H = {s[2]}, O = {s[3]}, α = {alpha}",
                            int(rng.integers(1 << 30)), *s, alpha)
                 for s, alpha in zip(sizes, (0.5, round(float(rng.uniform(0.2, 0.9)), 2))))


QUESTIONS = (
    Question(
        qid="4.1", points=3, title="The gradient with respect to every hidden state", answer="grad_h",
        kind="numbers", visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("h", "dL/dh", "(τ, H)", 3, _mistakes_h),
        borrowed=("minigrad.autograd.backward",), difficulty=2, minutes=20,
        hints=("h^(t) has two children in the graph: o^(t), through V, and a^(t+1), through W. Add the "
               "gradient that comes back along each.",
               "Work backwards from t = τ, where only the output term exists: row τ - 1 is "
               "V^T (ŷ^(τ) - 1_y^(τ)). Keep every row: the row below needs it.",
               "The path through a^(t+1) is W.T @ ((1 - h[t + 1] ** 2) * grads[t]) for row t - 1: the tanh "
               "derivative of step t + 1 (not t), and W transposed."),
        reference=lambda case: reference_gradients(case)["autograd"]["h"],
    ),
    Question(
        qid="4.2", points=2, title="The gradient of V", answer="grad_V", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("V", "dL/dV", "V's shape (O, H)", 2, _mistakes_v),
        borrowed=("minigrad.autograd.backward",), difficulty=1, minutes=5,
        hints=("o^(t) = c + V h^(t), so step t contributes the outer product ∇_o^(t) L (h^(t))^T.",
               "Summed over t, that is one matrix product of the rows of ŷ - Y and of h[1:] (not h[:-1]): "
               "(y_hat - Y).T @ h[1:]."),
        reference=lambda case: reference_gradients(case)["autograd"]["V"],
    ),
    Question(
        qid="4.3", points=3, title="The gradient of W", answer="grad_W", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("W", "dL/dW", "W's shape (H, H)", 3, _mistakes_w),
        borrowed=("minigrad.autograd.backward",), difficulty=2, minutes=10,
        hints=("W is used at every step, in a^(t) = b + W h^(t-1) + U x^(t): step t contributes "
               "∇_a^(t) L (h^(t-1))^T.",
               "∇_a^(t) L = (1 - (h^(t))²) ⊙ ∇_h^(t) L, rows from your grad_h times (1 - h[1:] ** 2); pair "
               "row t - 1 with h[t - 1]: grad_a.T @ h[:-1]. h^(0) is not zero, so t = 1 counts."),
        reference=lambda case: reference_gradients(case)["autograd"]["W"],
    ),
    Question(
        qid="4.4", points=2, title="The gradient of U", answer="grad_U", kind="numbers",
        visible=_VISIBLE, hidden=_hidden_forward,
        grade=_numeric_grader("U", "dL/dU", "U's shape (H, D)", 2, _mistakes_u),
        borrowed=("minigrad.autograd.backward",), difficulty=1, minutes=5,
        hints=("As in 4.3, with x^(t) in place of h^(t-1).",
               "grad_a.T @ x: row t - 1 of x is x^(t), the same step as row t - 1 of grad_a."),
        reference=lambda case: reference_gradients(case)["autograd"]["U"],
    ),
    Question(
        qid="4.5", points=3, title="dL/dw of the scalar network, symbolically", answer="dL_dw_scalar",
        kind="sympy", visible=({"label": "visible case, τ = 3", "args": _scalar_args(3)},),
        hidden=_hidden_scalar, grade=_grade_scalar,
        borrowed=("sympy.diff",), difficulty=2, minutes=15,
        hints=("Do 4.1 with scalars: dL/dh_t = v (ŷ_t - y_t) + w (1 - h_(t+1)²) dL/dh_(t+1).",
               "Then dL/dw = Σ_t dL/dh_t (1 - h_t²) h_(t-1). Build both in one loop from t = τ down to 1, "
               "with SymPy expressions: h[t] is h_t and y_hat[t - 1] is ŷ_t."),
    ),
    Question(
        qid="4.6", points=4, title="dL/dW of a leaky-integrator RNN, derived", answer="grad_W_leaky",
        kind="numbers",
        visible=(leaky_case("visible case, τ = 4, D = 2, H = 3, O = 3, α = 0.3", 406, 4, 2, 3, 3, 0.3),),
        hidden=_hidden_leaky, grade=_grade_leaky,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=30,
        hints=("Draw one step: h^(t) feeds o^(t), a^(t+1) (through W) and h^(t+1) directly (through "
               "(1 - α) h^(t)). Each child adds a term to ∇_h^(t) L.",
               "∇_h^(t) L = V^T ∇_o^(t) L + W^T (α (1 - s_(t+1)²) ⊙ ∇_h^(t+1) L) + (1 - α) ∇_h^(t+1) L, "
               "where "
               "s_t = tanh(a^(t)); and ∇_W L = Σ_t α (1 - s_t²) ⊙ ∇_h^(t) L (h^(t-1))^T.",
               "h^(t) is not tanh(a^(t)) here: s_t = (h[t] - (1 - alpha) * h[t - 1]) / alpha."),
        reference=lambda case: reference_leaky_gradient(case)["autograd"],
    ),
)
