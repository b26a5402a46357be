"""Chapter 8's graded questions: the product of Jacobians behind vanishing gradients, and clipping.

8.1 asks for ∂h^(τ)/∂h^(t) = ∏_{k=t+1..τ} diag(1 - (h^(k))²) W of a vanilla tanh RNN, from its
recurrent matrix and stored states; 8.2 for the norms ||∂L/∂h^(t)|| at every lag, given the gradient
arriving at h^(τ); 8.3 for ``clip_grad_norm_`` done by hand on two gradients. The references are
the explicit products (8.1, 8.2; the tests check them against autograd through ``minigrad.nn.RNNCell``
and, through 8.4's reference with W_skip = 0, against finite differences) and
``minigrad.optim.clip_grad_norm_`` (8.3).
8.4 asks for ∂h^(τ)/∂h^(t) of an RNN with a skip connection in time,
h^(k) = tanh(W h^(k-1) + W_skip h^(k-d) + c^(k)), which the chapter lists as a remedy but does not
derive; it is graded against autograd and finite differences, naming the usual slips.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, grade_derivation, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_jacobian_product", "reference_gradient_norms", "reference_clip",
           "skip_rnn_states", "reference_skip_jacobian"]

# ---------------------------------------------------------------------------------- 8.1, 8.2
def _rnn_states(rng: np.random.Generator, hidden: int, tau: int) -> tuple[list, list]:
    """A recurrent matrix and the states h^(1..τ) of a tanh RNN it produced (rounded inputs)."""
    W = np.round(rng.normal(scale=1.2 / math.sqrt(hidden), size=(hidden, hidden)), 3)
    states, h = [], np.zeros(hidden)
    for _ in range(tau):
        h = np.tanh(W @ h + rng.normal(size=hidden))
        states.append(h)
    return W.tolist(), np.array(states).tolist()


def reference_jacobian_product(W: np.ndarray, states: np.ndarray, t: int) -> np.ndarray:
    """∂h^(τ)/∂h^(t) = ∏_{k=t+1..τ} diag(1 - (h^(k))²) W, with states[k - 1] = h^(k)."""
    product = np.eye(W.shape[0])
    for k in range(t + 1, len(states) + 1):
        product = (1 - states[k - 1] ** 2)[:, None] * W @ product
    return product


def _jacobian_case(label: str, rng: np.random.Generator, hidden: int, tau: int, t: int) -> dict:
    W, states = _rnn_states(rng, hidden, tau)
    return {"label": label, "args": [{"array": W}, {"array": states}, {"number": t}]}


def _hidden_jacobian(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_jacobian_case("hidden case, H = 5, τ = 9, t = 2", rng, 5, 9, 2),
            _jacobian_case("hidden case, H = 3, τ = 4, t = 4", rng, 3, 4, 4))


def _grade_jacobian(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        W, states, t = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        expected = reference_jacobian_product(W, states, t)
        if close(got, expected):
            continue
        if close(got, expected.T):
            return Outcome("failed", 0, f"this is the transpose of ∂h^(τ)/∂h^(t): row i should "
                                        f"hold the derivatives of h^(τ)_i ({case['label']})")
        if t >= 1 and close(got, expected @ ((1 - states[t - 1] ** 2)[:, None] * W)):
            return Outcome("failed", 0, f"one factor too many: the product runs over k = t+1 … τ, "
                                        f"so step t's own Jacobian is not in it ({case['label']})")
        reversed_order = np.eye(W.shape[0])
        for k in range(t + 1, len(states) + 1):
            reversed_order = reversed_order @ ((1 - states[k - 1] ** 2)[:, None] * W)
        if len(states) - t > 1 and close(got, reversed_order):
            return Outcome("failed", 0, f"the factors are multiplied in the wrong order: step τ's "
                                        f"Jacobian goes on the left ({case['label']})")
        return Outcome("failed", 0, f"differs from the product of Jacobians: "
                                    f"{first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 3, f"equals the product of Jacobians {where(cases)}")


def reference_gradient_norms(W: np.ndarray, states: np.ndarray, grad_last: np.ndarray) -> np.ndarray:
    """||∂L/∂h^(t)|| for t = τ, τ-1, …, 1 (lag 0, 1, …), backpropagating ``grad_last`` = ∂L/∂h^(τ)."""
    grad, norms = np.asarray(grad_last, dtype=np.float64), []
    for k in range(len(states), 0, -1):
        norms.append(np.linalg.norm(grad))
        grad = W.T @ ((1 - states[k - 1] ** 2) * grad)
    return np.array(norms)


def _norms_case(label: str, rng: np.random.Generator, hidden: int, tau: int) -> dict:
    W, states = _rnn_states(rng, hidden, tau)
    return {"label": label, "args": [{"array": W}, {"array": states}, random_array(rng, (hidden,))]}


def _hidden_norms(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_norms_case("hidden case, H = 6, τ = 12", rng, 6, 12),
            _norms_case("hidden case, H = 2, τ = 1", rng, 2, 1))


def _grade_norms(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        W, states, grad_last = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        expected = reference_gradient_norms(W, states, grad_last)
        if close(got, expected):
            continue
        if close(got, expected[::-1]):
            return Outcome("failed", 0, f"the norms are in time order; return them by lag, "
                                        f"starting with ||∂L/∂h^(τ)|| ({case['label']})")
        if got.shape == expected.shape and close(got[:1], expected[:1]) and not close(got[1:2], expected[1:2]):
            return Outcome("failed", 0, f"lag 0 is right but lag 1 is not: ∂L/∂h^(τ-1) = "
                                        f"Wᵀ (diag(1 - (h^(τ))²) ∂L/∂h^(τ)) ({case['label']})")
        return Outcome("failed", 0, f"differs from backpropagation: {first_difference(got, expected)} "
                                    f"({case['label']})")
    return Outcome("passed", 2, f"match the norms backpropagation gives at every lag {where(cases)}")


# ---------------------------------------------------------------------------------- 8.3
def reference_clip(weight_grad: np.ndarray, bias_grad: np.ndarray, max_norm: float) -> np.ndarray:
    """The two gradients after ``minigrad.optim.clip_grad_norm_``, flattened and concatenated."""
    from minigrad import optim
    from minigrad.tensor import Tensor

    params = [Tensor(np.zeros_like(weight_grad), requires_grad=True),
              Tensor(np.zeros_like(bias_grad), requires_grad=True)]
    params[0].grad, params[1].grad = np.array(weight_grad, dtype=np.float64), np.array(bias_grad, dtype=np.float64)
    optim.clip_grad_norm_(params, max_norm)
    return np.concatenate([p.grad.ravel() for p in params])


def _clip_case(label: str, rng: np.random.Generator, shape: tuple[int, int], max_norm: float) -> dict:
    return {"label": label, "args": [random_array(rng, shape), random_array(rng, (shape[0],)),
                                     {"number": max_norm}]}


def _hidden_clip(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_clip_case("hidden case, a 4 x 6 weight, norm above the threshold", rng, (4, 6), 0.5),
            _clip_case("hidden case, a 2 x 2 weight, norm below the threshold", rng, (2, 2), 100.0),
            _clip_case("hidden case, a 3 x 1 weight, bias dominates", rng, (3, 1), 1.0))


def _grade_clip(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        weight_grad, bias_grad, max_norm = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        expected = reference_clip(weight_grad, bias_grad, max_norm)
        if close(got, expected, 1e-6):
            continue
        flat = np.concatenate([weight_grad.ravel(), bias_grad.ravel()])
        separately = np.concatenate([g.ravel() * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
                                     for g in (weight_grad, bias_grad)])
        if got.shape == expected.shape and close(got, separately, 1e-6):
            return Outcome("failed", 0, f"each gradient was clipped on its own; clip_grad_norm_ uses "
                                        f"the norm of all gradients together ({case['label']})")
        if got.shape == expected.shape and close(got, flat * max_norm / np.linalg.norm(flat), 1e-6):
            return Outcome("failed", 0, f"the gradient was rescaled although its norm "
                                        f"{np.linalg.norm(flat):.4f} is below max_norm = {max_norm:g}: "
                                        f"only scale down ({case['label']})")
        return Outcome("failed", 0, f"differs from optim.clip_grad_norm_: "
                                    f"{first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 3, f"matches optim.clip_grad_norm_ {where(cases)}")


# ---------------------------------------------------------------------------------- 8.4
def _skip_step(W: Any, W_skip: Any, previous: Any, skipped: Any, drive: Any) -> Any:
    """h^(k) = tanh(W h^(k-1) + W_skip h^(k-d) + c^(k)), for numpy arrays or ``Tensor``s alike."""
    a = W @ previous + W_skip @ skipped + drive
    return a.tanh() if hasattr(a, "tanh") else np.tanh(a)


def skip_rnn_states(W: np.ndarray, W_skip: np.ndarray, d: int, drives: np.ndarray) -> np.ndarray:
    """The states h^(1..τ) (row k - 1 is h^(k)) of the skip RNN driven by c^(1..τ), with h^(j) = 0 for j ≤ 0."""
    states = np.zeros((len(drives) + d, W.shape[0]))  # d leading rows of zeros: h^(1-d) … h^(0)
    for k, drive in enumerate(drives, start=d):
        states[k] = _skip_step(W, W_skip, states[k - 1], states[k - d], drive)
    return states[d:]


def _drives(W: np.ndarray, W_skip: np.ndarray, d: int, states: np.ndarray) -> np.ndarray:
    """The drives c^(k) = artanh(h^(k)) - W h^(k-1) - W_skip h^(k-d) that produced the given states."""
    padded = np.concatenate([np.zeros((d, W.shape[0])), states])
    return np.arctanh(states) - padded[d - 1:-1] @ W.T - padded[:-d] @ W_skip.T


def _skip_forward_from(W, W_skip, d, states, t, h_t, drives) -> Any:
    """h^(τ) as a function of h^(t), the states before step t and the drives held fixed."""
    known = [np.zeros_like(states[0])] * d + list(states[:t - 1]) + [h_t]  # h^(1-d) … h^(t)
    for k in range(t + 1, len(states) + 1):
        known.append(_skip_step(W, W_skip, known[-1], known[-d], drives[k - 1]))
    return known[-1]


def reference_skip_jacobian(W, W_skip, d, states, t) -> dict[str, np.ndarray]:
    """∂h^(τ)/∂h^(t) of the skip RNN, by autograd (one backward pass per row) and by central differences."""
    from minigrad.tensor import Tensor

    d, t = int(d), int(t)
    drives = _drives(W, W_skip, d, states)
    size = W.shape[0]
    autograd = np.zeros((size, size))
    for i in range(size):
        leaf = Tensor(states[t - 1].copy(), requires_grad=True)
        last = _skip_forward_from(Tensor(W), Tensor(W_skip), d, [Tensor(s) for s in states], t, leaf,
                                  [Tensor(c) for c in drives])
        (last * Tensor(np.eye(size)[i])).sum().backward()
        autograd[i] = leaf.grad
    finite = np.zeros((size, size))
    for j in range(size):
        step = np.eye(size)[j] * 1e-6
        plus = _skip_forward_from(W, W_skip, d, states, t, states[t - 1] + step, drives)
        minus = _skip_forward_from(W, W_skip, d, states, t, states[t - 1] - step, drives)
        finite[:, j] = (plus - minus) / 2e-6
    return {"autograd": autograd, "finite": finite}


def _skip_recursion(W, W_skip, d, states, t, *, skip=True, skip_derivative=True, before="zero") -> np.ndarray:
    """J_k = D_k (W J_(k-1) + W_skip J_(k-d)) from J_t = I, D_k = diag(1 - (h^(k))²); the options make slips."""
    size = W.shape[0]
    zero = np.zeros((size, size))
    earlier = {"zero": zero, "identity": np.eye(size)}[before]
    jacobians = {t: np.eye(size)}
    for k in range(t + 1, len(states) + 1):
        scale = (1 - states[k - 1] ** 2)[:, None]
        skipped = jacobians.get(k - d, earlier if k - d >= 1 else zero) if skip else zero
        jacobians[k] = scale * (W @ jacobians[k - 1]) + (scale if skip_derivative else 1.0) * (W_skip @ skipped)
    return jacobians[len(states)]


def _skip_mistakes(W, W_skip, d, states, t) -> dict[str, np.ndarray]:
    d, t = int(d), int(t)
    right = _skip_recursion(W, W_skip, d, states, t)
    return {
        "follow only the one-step path (8.1's product): h^(k-d) reaches h^(k) through W_skip as well":
            _skip_recursion(W, W_skip, d, states, t, skip=False),
        "treat the states before step t as if they depended on h^(t): their Jacobian is zero, not the identity":
            _skip_recursion(W, W_skip, d, states, t, before="identity"),
        "leave out the tanh derivative on the skip path: W_skip h^(k-d) is inside the tanh":
            _skip_recursion(W, W_skip, d, states, t, skip_derivative=False),
        "transpose the result: row i holds the derivatives of h^(τ)_i": right.T,
    }


def _skip_case(label: str, rng: np.random.Generator, hidden: int, tau: int, d: int, t: int) -> dict:
    W = np.round(rng.normal(scale=0.9 / math.sqrt(hidden), size=(hidden, hidden)), 3)
    W_skip = np.round(rng.normal(scale=0.9 / math.sqrt(hidden), size=(hidden, hidden)), 3)
    states = skip_rnn_states(W, W_skip, d, rng.normal(size=(tau, hidden)))
    return {"label": label, "args": [{"array": W.tolist()}, {"array": W_skip.tolist()}, {"number": d},
                                     {"array": states.tolist()}, {"number": t}]}


def _hidden_skip(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_skip_case("hidden case, H = 4, τ = 10, d = 3, t = 2", rng, 4, 10, 3, 2),
            _skip_case("hidden case, H = 2, τ = 9, d = 4, t = 4", rng, 2, 9, 4, 4),
            _skip_case("hidden case, H = 3, τ = 5, d = 2, t = 5", rng, 3, 5, 2, 5))


_grade_skip = grade_derivation("∂h^(τ)/∂h^(t)", reference_skip_jacobian, _skip_mistakes, 4,
                               "of the RNN with a skip connection in time")


_VISIBLE_RNG = np.random.default_rng(2008)

QUESTIONS = (
    Question(
        qid="8.1", points=3, title="A product of Jacobians", answer="jacobian_product", kind="numbers",
        difficulty=1, minutes=10,
        hints=("Chapter 8's product of Jacobians: one factor diag(1 - (h^(k))²) W per step k = t + 1 … τ, and the "
               "identity when t = τ.",
               "Start from np.eye(H) and loop k from t + 1 to τ, multiplying the new factor on the left: "
               "product = D_k @ W @ product, where h^(k) is states[k - 1].",
               "np.diag(1 - states[k - 1] ** 2) @ W scales row i of W by 1 - (h^(k)_i)²."),
        visible=(_jacobian_case("visible case, H = 4, τ = 6, t = 1", _VISIBLE_RNG, 4, 6, 1),),
        hidden=_hidden_jacobian, grade=_grade_jacobian,
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="8.2", points=2, title="Gradient norms by lag", answer="gradient_norms_by_lag", kind="numbers",
        difficulty=1, minutes=10,
        hints=("Backpropagation as in chapter 8, one step at a time: never form the matrix, multiply the vector "
               "by one transposed Jacobian per step.",
               "Record the norm first, then step back: grad = W.T @ ((1 - states[k - 1] ** 2) * grad) for "
               "k = τ, τ - 1, …, 1, which needs h^(k), not h^(k-1).",
               "Lag 0 is np.linalg.norm(grad_last) itself; return the τ norms in the order you computed them."),
        visible=(_norms_case("visible case, H = 4, τ = 8", _VISIBLE_RNG, 4, 8),),
        hidden=_hidden_norms, grade=_grade_norms,
        borrowed=("minigrad.autograd.backward",),
    ),
    Question(
        qid="8.3", points=3, title="clip_grad_norm_ by hand", answer="clip_by_norm", kind="numbers",
        difficulty=1, minutes=10,
        hints=("Clipping by norm as in chapter 8, on all the gradients together: one norm for the weight and the "
               "bias joined into one vector.",
               "Flatten both with np.ravel, join them with np.concatenate, and multiply by "
               "min(1, max_norm / (norm + 1e-6)): a gradient shorter than max_norm is left as it is."),
        visible=(_clip_case("visible case, a 3 x 2 weight, max_norm = 1", _VISIBLE_RNG, (3, 2), 1.0),),
        hidden=_hidden_clip, grade=_grade_clip,
        borrowed=("minigrad.optim.clip_grad_norm_",),
    ),
    Question(
        qid="8.4", points=4, title="∂h^(τ)/∂h^(t) with a skip connection in time, derived",
        answer="skip_jacobian", kind="numbers",
        visible=(_skip_case("visible case, H = 3, τ = 7, d = 2, t = 2", np.random.default_rng(2084), 3, 7, 2, 2),),
        hidden=_hidden_skip, grade=_grade_skip,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=30,
        hints=("Draw the unrolled graph: h^(k) has two parents, h^(k-1) through W and h^(k-d) through W_skip, "
               "both inside the tanh. ∂h^(τ)/∂h^(t) adds up every path from h^(t) to h^(τ).",
               "Let J_k = ∂h^(k)/∂h^(t). Then J_t = I, J_j = 0 for j < t (earlier states do not depend on "
               "h^(t)), and the chain rule gives J_k = D_k (W J_(k-1) + W_skip J_(k-d)) for k > t.",
               "D_k = diag(1 - (h^(k))²), with h^(k) = states[k - 1]; build J_(t+1), …, J_τ in a loop, "
               "keeping every J_k in a dict, and use a zero matrix when k - d < t."),
        reference=lambda case: reference_skip_jacobian(*(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
