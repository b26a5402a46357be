"""Chapter 3's graded questions: the forward pass of pattern A, in numpy.

3.1 asks for one step h^(t) = tanh(b + W h^(t-1) + U x^(t)) on a batch; 3.2 for the stacked matrix
W_a with W_a [h; x] = W h + U x; 3.3 for the summed negative log-likelihood of a sequence, stable
for large logits; 3.4 for the logits of a whole batch of sequences. Every answer is compared, on
hidden random inputs of other sizes, with ``minigrad``'s own implementation: ``elman_states`` and
``ElmanRNN`` of :mod:`minigrad.nn.patterns` and ``functional.cross_entropy``. 3.5, harder, asks for
the logits of a residual RNN, h^(t) = h^(t-1) + tanh(b + W h^(t-1) + U x^(t)), a cell the chapter does
not treat; it is compared with steps of ``elman_states`` plus the skip, and the common misreadings of
the cell are named. Batches are rows:
``x`` is (B, D) and ``h`` is (B, H), so W h^(t-1) is ``h @ W.T`` for a whole batch.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import first_difference, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_step", "reference_stacked", "reference_nll", "reference_forward",
           "reference_residual_forward"]

_ATOL = 1e-9


_first_difference = functools.partial(first_difference, rtol=0, atol=_ATOL, digits=4)


def _compare(name: str, got_answer: Any, expected: np.ndarray, label: str) -> str:
    """An empty string when the answer equals ``expected`` to 1e-9, else why not."""
    got = numbers(got_answer)
    shape = got.shape
    if shape != expected.shape:
        return f"{name} has shape {shape}, expected {expected.shape} ({label})"
    if np.all(np.isfinite(got)) and np.allclose(got, expected, rtol=0, atol=_ATOL):
        return ""
    return f"{name}: {_first_difference(got, expected)} ({label})"


# ---------------------------------------------------------------------------------- 3.1
def reference_step(x: np.ndarray, h_prev: np.ndarray, U: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """h^(t) for a batch, from ``minigrad.nn.patterns.elman_states`` run for one step."""
    from minigrad.nn.patterns import elman_states
    from minigrad.tensor import as_tensor

    (h,) = elman_states(as_tensor(x[None]), as_tensor(h_prev), as_tensor(U), as_tensor(W), as_tensor(b))
    return h.data


def _step_case(label: str, rng: np.random.Generator, batch: int, inputs: int, hidden: int) -> dict:
    return {"label": label,
            "args": [random_array(rng, (batch, inputs)), {"array": np.round(rng.uniform(-1, 1, (batch, hidden)), 3).tolist()},
                     random_array(rng, (hidden, inputs), 0.7), random_array(rng, (hidden, hidden), 0.7),
                     random_array(rng, (hidden,), 0.3)]}


def _hidden_steps(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_step_case("hidden case, B = 1, D = 1, H = 1", rng, 1, 1, 1),
            _step_case("hidden case, B = 5, D = 6, H = 3", rng, 5, 6, 3))


def _grade_step(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        x, h_prev, U, W, b = (build_argument(spec) for spec in case["args"])
        expected = reference_step(x, h_prev, U, W, b)
        problem = _compare("h^(t)", answer, expected, case["label"])
        if not problem:
            continue
        got = numbers(answer)
        shape = got.shape
        a = b + h_prev @ W.T + x @ U.T
        if shape == expected.shape and np.allclose(got, a, rtol=0, atol=_ATOL):
            return Outcome("failed", 0, f"this is the pre-activation a^(t): apply tanh ({case['label']})")
        if shape == expected.shape and W.shape[0] > 1 and np.allclose(got, np.tanh(b + h_prev @ W + x @ U.T),
                                                                      rtol=0, atol=_ATOL):
            return Outcome("failed", 0, f"h_prev @ W computes Wᵀ h for each row: use h_prev @ W.T "
                                        f"({case['label']})")
        return Outcome("failed", 0, problem)
    return Outcome("passed", 3, f"equals minigrad's elman_states {where(cases)}")


# ---------------------------------------------------------------------------------- 3.2
def reference_stacked(W: np.ndarray, U: np.ndarray) -> np.ndarray:
    """W_a = [W  U], so that W_a [h; x] = W h + U x."""
    return np.hstack([W, U])


def _stack_case(label: str, rng: np.random.Generator, inputs: int, hidden: int) -> dict:
    return {"label": label, "args": [random_array(rng, (hidden, hidden)), random_array(rng, (hidden, inputs))]}


def _hidden_stacks(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_stack_case("hidden case, D = 1, H = 1", rng, 1, 1),
            _stack_case("hidden case, D = 5, H = 2", rng, 5, 2))


def _grade_stacked(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        W, U = (build_argument(spec) for spec in case["args"])
        expected = reference_stacked(W, U)
        got = numbers(answer)
        shape = got.shape
        if shape == expected.shape and np.allclose(got, np.hstack([U, W]), rtol=0, atol=_ATOL) \
                and not np.allclose(got, expected, rtol=0, atol=_ATOL):
            return Outcome("failed", 0, f"this is [U W]: it multiplies [x; h], but the input vector is "
                                        f"[h; x], so W's columns come first ({case['label']})")
        problem = _compare("W_a", answer, expected, case["label"])
        if problem:
            return Outcome("failed", 0, problem)
    return Outcome("passed", 2, f"W_a [h; x] equals W h + U x {where(cases)}")


# ---------------------------------------------------------------------------------- 3.3
def reference_nll(o: np.ndarray, Y: np.ndarray) -> float:
    """L = -Σ_t log softmax(o^(t))_{y^(t)}, by ``functional.cross_entropy(reduction="sum")``."""
    from minigrad import functional as F

    return float(F.cross_entropy(o, Y.argmax(axis=1), reduction="sum").data)


def _nll_case(label: str, rng: np.random.Generator, steps: int, classes: int, scale: float = 1.0) -> dict:
    return {"label": label,
            "args": [random_array(rng, (steps, classes), scale),
                     {"array": np.eye(classes)[rng.integers(0, classes, size=steps)].tolist()}]}


def _hidden_nlls(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_nll_case("hidden case, τ = 1, 2 classes", rng, 1, 2),
            _nll_case("hidden case, τ = 9, 7 classes", rng, 9, 7),
            _nll_case("hidden case, logits of size about 1000", rng, 4, 3, 1000.0))


def _grade_nll(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        o, Y = (build_argument(spec) for spec in case["args"])
        expected = reference_nll(o, Y)
        got = numbers(answer)
        shape = got.shape
        if shape != ():
            return Outcome("failed", 0, f"returns shape {shape}: return one number, the sum over the "
                                        f"steps ({case['label']})")
        value = float(got)
        if math.isfinite(value) and abs(value - expected) <= 1e-9 * (1 + abs(expected)):
            continue
        steps = o.shape[0]
        if steps > 1 and math.isfinite(value) and abs(value * steps - expected) <= 1e-9 * (1 + abs(expected)):
            return Outcome("failed", 0, f"this is the mean over the {steps} steps: L is their sum ({case['label']})")
        if not math.isfinite(value):
            return Outcome("failed", 0, f"returns {value} ({case['label']}): subtract the largest logit "
                                        f"before exponentiating, log-softmax(o) = o - max o - log Σ exp(o - max o)")
        return Outcome("failed", 0, f"L is {value:.6f}, expected {expected:.6f} ({case['label']})")
    return Outcome("passed", 3, f"equals minigrad's cross_entropy(reduction='sum') {where(cases)}")


# ---------------------------------------------------------------------------------- 3.4
def reference_forward(x: np.ndarray, h0: np.ndarray, U: np.ndarray, W: np.ndarray, V: np.ndarray,
                      b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The logits o of ``minigrad.nn.ElmanRNN`` holding these weights, shape (T, B, O)."""
    from minigrad import nn

    model = nn.ElmanRNN(U.shape[1], U.shape[0], V.shape[0])
    model.load_state_dict({"U": U, "W": W, "V": V, "b": b, "c": c})
    o, _ = model(x, h0)
    return o.data


def _forward_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int, hidden: int,
                  outputs: int) -> dict:
    return {"label": label,
            "args": [random_array(rng, (steps, batch, inputs)),
                     {"array": np.round(rng.uniform(-1, 1, (batch, hidden)), 3).tolist()},
                     random_array(rng, (hidden, inputs), 0.7), random_array(rng, (hidden, hidden), 0.7),
                     random_array(rng, (outputs, hidden), 0.7), random_array(rng, (hidden,), 0.3), random_array(rng, (outputs,), 0.3)]}


def _hidden_forwards(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_forward_case("hidden case, τ = 1, B = 1", rng, 1, 1, 2, 3, 2),
            _forward_case("hidden case, τ = 8, B = 3, D = 4, H = 5, O = 6", rng, 8, 3, 4, 5, 6))


def _grade_forward(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        x, h0, U, W, V, b, c = (build_argument(spec) for spec in case["args"])
        expected = reference_forward(x, h0, U, W, V, b, c)
        problem = _compare("o", answer, expected, case["label"])
        if not problem:
            continue
        got = numbers(answer)
        shape = got.shape
        from_zero = reference_forward(x, np.zeros_like(h0), U, W, V, b, c)
        if shape == expected.shape and np.allclose(got, from_zero, rtol=0, atol=_ATOL):
            return Outcome("failed", 0, f"these are the logits from h^(0) = 0: start from the h0 "
                                        f"argument ({case['label']})")
        return Outcome("failed", 0, problem)
    return Outcome("passed", 3, f"equals minigrad's ElmanRNN {where(cases)}")


# ---------------------------------------------------------------------------------- 3.5
def reference_residual_forward(x: np.ndarray, h0: np.ndarray, U: np.ndarray, W: np.ndarray, V: np.ndarray,
                               b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The logits o^(t) = c + V h^(t) of the residual RNN, h^(t) = h^(t-1) + tanh(b + W h^(t-1) + U x^(t)),
    shape (T, B, O): each tanh branch is one step of ``minigrad.nn.patterns.elman_states``."""
    h, logits = h0, []
    for x_t in x:
        h = h + reference_step(x_t, h, U, W, b)
        logits.append(h @ V.T + c)
    return np.stack(logits)


def _residual_misreadings(x, h0, U, W, V, b, c) -> dict[str, np.ndarray]:
    """The logits of the cell as it is often misread, each with why it is wrong."""
    def logits(new_state, read=lambda h, branch: h, start=h0) -> np.ndarray:
        h, out = start, []
        for x_t in x:
            a = b + h @ W.T + x_t @ U.T
            h, branch = new_state(h, a), np.tanh(a)
            out.append(read(h, branch) @ V.T + c)
        return np.stack(out)

    return {
        "this is pattern A, h^(t) = tanh(a^(t)): add the skip h^(t-1) to the tanh":
            logits(lambda h, a: np.tanh(a)),
        "the skip is inside the tanh, tanh(h^(t-1) + a^(t)); it is added outside, h^(t-1) + tanh(a^(t))":
            logits(lambda h, a: np.tanh(h + a)),
        "the logits read only the tanh branch; o^(t) = c + V h^(t) reads the whole new state":
            logits(lambda h, a: h + np.tanh(a), read=lambda h, branch: branch),
        "the skip adds h^(0) at every step; it adds the previous state h^(t-1)":
            logits(lambda h, a: h0 + np.tanh(a)),
        "these are the logits from h^(0) = 0: start from the h0 argument":
            logits(lambda h, a: h + np.tanh(a), start=np.zeros_like(h0)),
    }


def _hidden_residuals(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_forward_case("hidden case, τ = 1, B = 1", rng, 1, 1, 2, 3, 2),
            _forward_case("hidden case, τ = 9, B = 3, D = 2, H = 5, O = 4", rng, 9, 3, 2, 5, 4))


def _grade_residual(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        expected = reference_residual_forward(*args)
        problem = _compare("o", answer, expected, case["label"])
        if not problem:
            continue
        got = numbers(answer)
        why = next((why for why, wrong in _residual_misreadings(*args).items()
                    if got.shape == wrong.shape and np.allclose(got, wrong, rtol=0, atol=_ATOL)), "")
        return Outcome("failed", 0, f"{why} ({case['label']})" if why else problem)
    return Outcome("passed", 4, f"equals steps of minigrad's elman_states with the skip added {where(cases)}")


QUESTIONS = (
    Question(
        qid="3.1", points=3, title="One forward step", answer="elman_step", kind="numbers",
        difficulty=1, minutes=10,
        visible=(_step_case("visible case, B = 2, D = 3, H = 4", np.random.default_rng(301), 2, 3, 4),),
        hidden=_hidden_steps, grade=_grade_step,
        hints=("This is equation (eq-fw-preact) followed by (eq-fw-hidden), for every row of the batch at once.",
               "With states as rows, W h^(t-1) for every row is h_prev @ W.T, and U x^(t) is x @ U.T; b "
               "broadcasts over the rows.",
               "The usual slips: returning the pre-activation without its tanh, and h_prev @ W, which computes "
               "W^T h for each row."),
    ),
    Question(
        qid="3.2", points=2, title="The stacked weight matrix", answer="stacked_weight", kind="numbers",
        difficulty=1, minutes=10,
        visible=(_stack_case("visible case, D = 3, H = 4", np.random.default_rng(302), 3, 4),),
        hidden=_hidden_stacks, grade=_grade_stacked,
        hints=("Equation (eq-fw-stacked): the block rule of matrix multiplication, [W U] [h; x] = W h + U x.",
               "The first H columns of W_a meet h, the last D columns meet x: place W and U side by side, W "
               "first (np.hstack), giving shape (H, H + D)."),
    ),
    Question(
        qid="3.3", points=3, title="The summed negative log-likelihood", answer="sequence_nll", kind="numbers",
        difficulty=1, minutes=10,
        visible=(_nll_case("visible case, τ = 5, 3 classes", np.random.default_rng(303), 5, 3),),
        hidden=_hidden_nlls, grade=_grade_nll,
        hints=("Equation (eq-fw-loss): one term -log ŷ_y per step, added up over the steps (a sum, not a mean).",
               "log softmax(o)_i = o_i - m - log Σ_j e^(o_j - m) with m = max_j o_j, row by row: o.max(axis=1, "
               "keepdims=True).",
               "Y is one-hot, so (Y * log_probabilities).sum() picks the target's entry of every row; return "
               "minus that, as one float."),
        borrowed=("minigrad.functional.cross_entropy",),
    ),
    Question(
        qid="3.4", points=3, title="The forward pass of a batch", answer="elman_forward", kind="numbers",
        difficulty=2, minutes=15,
        visible=(_forward_case("visible case, τ = 4, B = 2, D = 3, H = 4, O = 2", np.random.default_rng(304),
                               4, 2, 3, 4, 2),),
        hidden=_hidden_forwards, grade=_grade_forward,
        hints=("Loop over the first axis of x (time): each x[t] is a (B, D) batch, and one call of your "
               "elman_step gives the states of step t.",
               "Start the loop from the h0 argument, not from zeros, and compute the logits h @ V.T + c after "
               "each step.",
               "Collect the (B, O) logits of each step in a list and np.stack it into shape (τ, B, O)."),
        borrowed=("minigrad.nn.ElmanRNN",),
    ),
    Question(
        qid="3.5", points=4, title="The forward pass of a residual RNN", answer="residual_forward", kind="numbers",
        difficulty=3, minutes=25,
        visible=(_forward_case("visible case, τ = 5, B = 2, D = 3, H = 4, O = 2", np.random.default_rng(305),
                               5, 2, 3, 4, 2),),
        hidden=_hidden_residuals, grade=_grade_residual,
        hints=("Draw one step: h^(t-1) reaches h^(t) along two paths, through W and the tanh (the branch), "
               "and straight across (the skip). The new state is their sum, and the logits read the new state.",
               "a^(t) = b + W h^(t-1) + U x^(t) as in pattern A; then h^(t) = h^(t-1) + tanh(a^(t)), outside "
               "the tanh, and o^(t) = c + V h^(t).",
               "In the loop over time, keep the previous state until the new one is computed: the skip adds "
               "h^(t-1), not h^(0), and the loop starts from the h0 argument."),
        borrowed=("minigrad.nn.ElmanRNN", "minigrad.nn.RNNCell", "minigrad.nn.patterns.elman_states"),
        reference=lambda case: reference_residual_forward(*(build_argument(spec) for spec in case["args"])),
    ),
)
