"""Chapter 14's graded questions: causal self-attention, the parallel scan, its backward pass, minGRU, and the
gradient of minGRU's weights.

14.1 asks for one head of causal self-attention in numpy, compared with
``minigrad.nn.attention.dot_product_attention`` under the causal mask. 14.2 asks for the states of
the diagonal linear recurrence :math:`h_t = a_t h_{t-1} + b_t` computed by a parallel scan; the
reference is the plain loop ``minigrad.scan.loop_recurrence``. 14.3 asks for the derivation's
result, the gradients :math:`\\partial L/\\partial a` and :math:`\\partial L/\\partial b` of
:math:`L = \\sum_t \\bar h_t \\cdot h_t`; the reference is autograd through the recurrence unrolled
step by step in tensor operations. 14.4 asks for a minGRU layer's outputs in numpy, compared with
``minigrad.nn.MinGRU`` loaded with the same weights. 14.5, harder, asks for what the chapter does not
print: the gradient of a loss with respect to minGRU's weights and biases, through the gate and the
candidate, derived by hand; it is graded three ways by :func:`~minigrad.grading.common.grade_derivation`
(autograd through ``nn.MinGRU``, central finite differences in float64, and the slips it names). Each
wrong answer is compared with the answers of common slips, to say which one it is.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, grade_derivation, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_causal_attention", "reference_recurrence", "reference_recurrence_gradients",
           "reference_min_gru", "reference_min_gru_gradients"]


def _uniform_array(rng: np.random.Generator, shape: tuple[int, ...], low: float, high: float) -> dict:
    """An ``array`` argument of uniform draws in ``[low, high)``, rounded to 3 decimals."""
    return {"array": np.round(rng.uniform(low, high, size=shape), 3).tolist()}


def _first_slip(got: np.ndarray, slips: Sequence[tuple[Callable[[], np.ndarray], str]]) -> str | None:
    """The explanation of the first slip whose answer ``got`` equals, or ``None``."""
    for answer, explanation in slips:
        slipped = answer()
        if got.shape == slipped.shape and close(got, slipped):
            return explanation
    return None


def _grade_against(reference: Callable[..., np.ndarray], slips: Callable[..., list], describe: str,
                   points: int) -> Callable[[Sequence[dict], Sequence[Any]], Outcome]:
    """A ``grade`` function: full points if the answer is close to ``reference`` on every case, else 0
    with the first slip it matches (or the first entry that differs). ``describe`` names the reference."""

    def grade(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
        for case, answer in zip(cases, answers):
            args = [build_argument(spec) for spec in case["args"]]
            got, expected = numbers(answer), reference(*args)
            if close(got, expected):
                continue
            slip = _first_slip(got, slips(*args))
            reason = slip or f"differs from {describe}: {first_difference(got, expected)}"
            return Outcome("failed", 0, f"{reason} ({case['label']})")
        return Outcome("passed", points, f"matches {describe} {where(cases)}")

    return grade


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    from minigrad import functional as F
    from minigrad.tensor import Tensor

    return F.softmax(Tensor(scores), axis=axis).data


# ---------------------------------------------------------------------------------- 14.1
def reference_causal_attention(x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray) -> np.ndarray:
    """:math:`y_t = \\sum_{s \\le t} \\alpha_{ts} v_s`, the output of ``dot_product_attention`` under the causal mask."""
    from minigrad.nn.attention import causal_mask, dot_product_attention

    output, _ = dot_product_attention(x @ w_q.T, x @ w_k.T, x @ w_v.T, causal_mask(x.shape[0]))
    return output.data


def _attention_slips(x, w_q, w_k, w_v) -> list[tuple[Callable[[], np.ndarray], str]]:
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
    scores = q @ k.T / math.sqrt(q.shape[1])
    future = np.triu(np.ones(scores.shape, dtype=bool), 1)  # s > t
    return [
        (lambda: _softmax(np.where(future, -np.inf, q @ k.T)) @ v,
         "the scores are not divided by √d, with d the size of a query"),
        (lambda: _softmax(scores) @ v,
         "position t also looks at later positions: mask the scores of s > t with -inf before the softmax"),
        (lambda: np.where(future, 0.0, _softmax(scores)) @ v,
         "the later positions are zeroed after the softmax, so the weights no longer sum to 1: mask "
         "the scores before it"),
        (lambda: _softmax(np.where(future.T, -np.inf, scores)) @ v,
         "the mask is the wrong way round: position t must see s <= t, not s >= t"),
        (lambda: _softmax(np.where(future, -np.inf, scores), axis=0) @ v,
         "the softmax runs over the queries (axis 0); it must run over the keys, so that each row of "
         "weights sums to 1"),
    ]


def _attention_case(label: str, rng: np.random.Generator, steps: int, inputs: int, size: int,
                    values: int) -> dict:
    return {"label": label, "args": [random_array(rng, (steps, inputs)),
                                     random_array(rng, (size, inputs), 1 / math.sqrt(inputs)),
                                     random_array(rng, (size, inputs), 1 / math.sqrt(inputs)),
                                     random_array(rng, (values, inputs), 1 / math.sqrt(inputs))]}


def _hidden_attention(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_attention_case("hidden case, T = 7, D = 3, d = 5, d_v = 2", rng, 7, 3, 5, 2),
            _attention_case("hidden case, T = 1, D = 2, d = 2, d_v = 3", rng, 1, 2, 2, 3),
            _attention_case("hidden case, T = 12, D = 6, d = 9, d_v = 4", rng, 12, 6, 9, 4))


# ---------------------------------------------------------------------------------- 14.2
def reference_recurrence(a: np.ndarray, b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """:math:`h_1, \\dots, h_T` of :math:`h_t = a_t h_{t-1} + b_t`, by the plain loop."""
    from minigrad.scan import loop_recurrence

    return loop_recurrence(a, b, h0)[0]


def _scan_slips(a, b, h0) -> list[tuple[Callable[[], np.ndarray], str]]:
    def swapped_pairs() -> np.ndarray:  # (A_s, B_s) • (A_t, B_t) taken as (A_s A_t, A_s B_t + B_s)
        A, B = a.copy(), b.copy()
        B[0] += A[0] * h0
        distance = 1
        while distance < len(a):
            B[distance:] = A[:-distance] * B[distance:] + B[:-distance]
            A[distance:] = A[distance:] * A[:-distance]
            distance *= 2
        return B

    return [
        (lambda: reference_recurrence(a, b, np.zeros_like(h0)), "h0 is left out: fold it into the first step, "
                                                                 "b_1 + a_1 h0"),
        (lambda: np.concatenate([h0[None], reference_recurrence(a, b, h0)[:-1]]),
         "the states are shifted by one step: return h_1 .. h_T, not h_0 .. h_(T-1)"),
        (swapped_pairs, "the pairs are combined in the wrong order: the earlier pair (A_s, B_s) comes first, "
                        "(A_s, B_s) • (A_t, B_t) = (A_t A_s, A_t B_s + B_t)"),
    ]


def _scan_case(label: str, rng: np.random.Generator, steps: int, width: int) -> dict:
    return {"label": label, "args": [_uniform_array(rng, (steps, width), -1.0, 1.0),
                                     random_array(rng, (steps, width)), random_array(rng, (width,))]}


def _hidden_scan(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_scan_case("hidden case, T = 13, H = 3", rng, 13, 3),
            _scan_case("hidden case, T = 1, H = 2", rng, 1, 2),
            _scan_case("hidden case, T = 64, H = 1", rng, 64, 1),
            _scan_case("hidden case, T = 100, H = 5", rng, 100, 5))


# ---------------------------------------------------------------------------------- 14.3
def reference_recurrence_gradients(a: np.ndarray, b: np.ndarray, h0: np.ndarray, grad_h: np.ndarray) -> np.ndarray:
    """``[dL/da, dL/db]`` for :math:`L = \\sum_t \\bar h_t \\cdot h_t`, by autograd through the unrolled loop."""
    from minigrad import stack
    from minigrad.tensor import Tensor

    a_t, b_t = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    h, states = Tensor(h0), []
    for t in range(a.shape[0]):
        h = a_t[t] * h + b_t[t]
        states.append(h)
    (stack(states) * Tensor(grad_h)).sum().backward()
    return np.stack([a_t.grad, b_t.grad])


def _reverse_recurrence(a: np.ndarray, grad_h: np.ndarray, shift: int) -> np.ndarray:
    """:math:`g_t = \\bar h_t + a_{t+\\text{shift}}\\, g_{t+1}` from the last step down (a coefficient past
    the end is 0); ``shift=1`` is the right recurrence, ``shift=0`` a common slip."""
    g = np.zeros_like(grad_h)
    carry = np.zeros_like(grad_h[0])
    for t in range(a.shape[0] - 1, -1, -1):
        coefficient = a[t + shift] if t + shift < a.shape[0] else 0.0
        carry = grad_h[t] + coefficient * carry
        g[t] = carry
    return g


def _gradient_case(label: str, rng: np.random.Generator, steps: int, width: int) -> dict:
    return {"label": label, "args": [_uniform_array(rng, (steps, width), -1.0, 1.0),
                                     random_array(rng, (steps, width)), random_array(rng, (width,)),
                                     random_array(rng, (steps, width))]}


def _hidden_gradients(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_gradient_case("hidden case, T = 9, H = 3", rng, 9, 3),
            _gradient_case("hidden case, T = 1, H = 4", rng, 1, 4),
            _gradient_case("hidden case, T = 40, H = 2", rng, 40, 2))


_NOT_ACCUMULATED = ("only the direct term h̄_t is counted: add the paths through later states, "
                    "g_t = h̄_t + a_(t+1) g_(t+1)")
_OWN_COEFFICIENT = ("the reverse recurrence multiplies by a_t; h_t reaches h_(t+1) through a_(t+1), so "
                    "g_t = h̄_t + a_(t+1) g_(t+1)")


def _grade_gradients(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    a_problem = b_problem = ""
    for case, answer in zip(cases, answers):
        a, b, h0, grad_h = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), reference_recurrence_gradients(a, b, h0, grad_h)
        if got.shape != expected.shape:
            return Outcome("failed", 0, f"returns shape {got.shape}; return np.stack([dL_da, dL_db]), shape "
                                        f"{expected.shape} ({case['label']})")
        states = reference_recurrence(a, b, h0)
        before = np.concatenate([h0[None], states[:-1]])
        g, g_own = _reverse_recurrence(a, grad_h, shift=1), _reverse_recurrence(a, grad_h, shift=0)
        if not b_problem and not close(got[1], expected[1]):
            slip = _first_slip(got[1], [(lambda: grad_h, _NOT_ACCUMULATED), (lambda: g_own, _OWN_COEFFICIENT)])
            b_problem = (f"∂L/∂b differs from autograd{': ' + slip if slip else ''} "
                         f"({first_difference(got[1], expected[1])}, {case['label']})")
        if not a_problem and not close(got[0], expected[0]):
            slip = _first_slip(got[0], [
                (lambda: g * states, "∂L/∂a_t = g_t h_(t-1): a_t multiplies the previous state, not h_t"),
                (lambda: g, "this is g_t; ∂L/∂a_t multiplies it by the previous state h_(t-1)"),
                (lambda: grad_h * before, _NOT_ACCUMULATED),
                (lambda: g_own * before, _OWN_COEFFICIENT)])
            a_problem = (f"∂L/∂a differs from autograd{': ' + slip if slip else ''} "
                         f"({first_difference(got[0], expected[0])}, {case['label']})")
    if a_problem or b_problem:
        return Outcome("failed", 2 * (not a_problem) + 2 * (not b_problem),
                       "; ".join(problem for problem in (b_problem, a_problem) if problem))
    return Outcome("passed", 4, f"∂L/∂a and ∂L/∂b match autograd through the unrolled recurrence {where(cases)}")


# ---------------------------------------------------------------------------------- 14.4
def reference_min_gru(x: np.ndarray, weight_ih: np.ndarray, bias_ih: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """The outputs :math:`(T, B, H)` of ``minigrad.nn.MinGRU`` loaded with the given weights, from ``h0``."""
    from minigrad import nn
    from minigrad.tensor import Tensor

    layer = nn.MinGRU(weight_ih.shape[1], weight_ih.shape[0] // 2, method="loop", rng=np.random.default_rng(0))
    layer.load_state_dict({"weight_ih": weight_ih, "bias_ih": bias_ih})
    output, _ = layer(Tensor(x), Tensor(h0[None]))
    return output.data


def _min_gru_by(x, weight_ih, bias_ih, h0, gate_first=True, keep_is_z=False, squash=False) -> np.ndarray:
    """minGRU step by step, with the slips the options name."""
    gate, candidate = np.split(x @ weight_ih.T + bias_ih, 2, axis=-1)
    if not gate_first:
        gate, candidate = candidate, gate
    z = 1.0 / (1.0 + np.exp(-gate))
    candidate = np.tanh(candidate) if squash else candidate
    h, states = h0, []
    for t in range(x.shape[0]):
        h = z[t] * h + (1 - z[t]) * candidate[t] if keep_is_z else (1 - z[t]) * h + z[t] * candidate[t]
        states.append(h)
    return np.stack(states)


def _min_gru_slips(x, weight_ih, bias_ih, h0) -> list[tuple[Callable[[], np.ndarray], str]]:
    return [
        (lambda: _min_gru_by(x, weight_ih, bias_ih, h0, keep_is_z=True),
         "z and 1 - z are swapped: z is the fraction overwritten, h_t = (1 - z_t) h_(t-1) + z_t h̃_t"),
        (lambda: _min_gru_by(x, weight_ih, bias_ih, h0, squash=True),
         "the candidate has no tanh in minGRU: h̃_t = W_h x_t + b_h"),
        (lambda: _min_gru_by(x, weight_ih, bias_ih, h0, gate_first=False),
         "the blocks are swapped: rows 0..H-1 of weight_ih are the gate's, rows H..2H-1 the candidate's"),
        (lambda: _min_gru_by(x, weight_ih, bias_ih, np.zeros_like(h0)), "h0 is left out: the first step "
                                                                         "mixes into h0, not into zeros"),
    ]


def _min_gru_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int, hidden: int) -> dict:
    scale = 1.0 / math.sqrt(hidden)
    return {"label": label, "args": [random_array(rng, (steps, batch, inputs)),
                                     random_array(rng, (2 * hidden, inputs), scale),
                                     random_array(rng, (2 * hidden,), scale), random_array(rng, (batch, hidden))]}


def _hidden_min_gru(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_min_gru_case("hidden case, T = 6, B = 3, D = 2, H = 4", rng, 6, 3, 2, 4),
            _min_gru_case("hidden case, T = 1, B = 1, D = 5, H = 1", rng, 1, 1, 5, 1),
            _min_gru_case("hidden case, T = 33, B = 2, D = 3, H = 2", rng, 33, 2, 3, 2))


# ---------------------------------------------------------------------------------- 14.5
def reference_min_gru_gradients(x: np.ndarray, weight_ih: np.ndarray, bias_ih: np.ndarray, h0: np.ndarray,
                                grad_h: np.ndarray) -> dict[str, np.ndarray]:
    """``[∂L/∂weight_ih | ∂L/∂bias_ih]`` :math:`(2H, D + 1)` for :math:`L = \\sum_t \\bar h_t \\cdot h_t` of
    ``nn.MinGRU``, by autograd and by central finite differences (float64) through the loop."""
    from minigrad import nn
    from minigrad.bptt import central_differences
    from minigrad.tensor import Tensor

    layer = nn.MinGRU(weight_ih.shape[1], weight_ih.shape[0] // 2, method="loop", rng=np.random.default_rng(0))
    layer.load_state_dict({"weight_ih": weight_ih, "bias_ih": bias_ih})
    output, _ = layer(Tensor(x), Tensor(h0[None]))
    (output * Tensor(grad_h)).sum().backward()
    finite = central_differences(
        lambda p: float(np.sum(grad_h * _min_gru_by(x, p["weight_ih"], p["bias_ih"], h0))),
        {"weight_ih": weight_ih, "bias_ih": bias_ih})
    return {"autograd": np.column_stack([layer.weight_ih.grad, layer.bias_ih.grad]),
            "finite": np.column_stack([finite["weight_ih"], finite["bias_ih"]])}


def _min_gru_gradients_by(x, weight_ih, bias_ih, h0, grad_h, carry="next", gate_factor="difference",
                          sigmoid_derivative="z(1 - z)", candidate_gated=True, batch_mean=False) -> np.ndarray:
    """``[∂L/∂weight_ih | ∂L/∂bias_ih]`` derived by hand, or with the slips the options name.

    g_t = h̄_t + (1 - z_(t+1)) ⊙ g_(t+1) (``carry``: ``"next"``, ``"own"`` for 1 - z_t, ``"none"``);
    ∂L/∂z_t = g_t ⊙ (h̃_t - h_(t-1)) (``gate_factor``: ``"difference"``, ``"one"``, ``"candidate"`` for
    h̃_t alone, ``"current"`` for h̃_t - h_t); the gate's pre-activation gets ∂L/∂z_t ⊙ z_t (1 - z_t)
    (``sigmoid_derivative``: ``"z(1 - z)"``, ``"z"``, ``"1"``) and the candidate g_t ⊙ z_t (or g_t).
    """
    hidden = weight_ih.shape[0] // 2
    pre = x @ weight_ih.T + bias_ih
    z, candidate = 1.0 / (1.0 + np.exp(-pre[..., :hidden])), pre[..., hidden:]
    states = _min_gru_by(x, weight_ih, bias_ih, h0)
    g, carried = np.zeros_like(grad_h), np.zeros_like(h0)
    for t in range(x.shape[0] - 1, -1, -1):
        later = {"next": 1 - z[t + 1] if t + 1 < x.shape[0] else 0.0, "own": 1 - z[t], "none": 0.0}[carry]
        carried = grad_h[t] + later * carried
        g[t] = carried
    before = np.concatenate([h0[None], states[:-1]])
    grad_z = g * {"difference": candidate - before, "one": 1.0, "candidate": candidate,
                  "current": candidate - states}[gate_factor]
    grad_pre = np.concatenate([grad_z * {"z(1 - z)": z * (1 - z), "z": z, "1": 1.0}[sigmoid_derivative],
                               g * z if candidate_gated else g], axis=-1).reshape(-1, 2 * hidden)
    gradient = np.column_stack([grad_pre.T @ x.reshape(len(grad_pre), -1), grad_pre.sum(axis=0)])
    return gradient / x.shape[1] if batch_mean else gradient


def _min_gru_gradient_mistakes(x, weight_ih, bias_ih, h0, grad_h) -> dict[str, np.ndarray]:
    """``{why: wrong answer}`` for the slips 14.5's messages name."""
    def slip(**options) -> np.ndarray:
        return _min_gru_gradients_by(x, weight_ih, bias_ih, h0, grad_h, **options)

    hidden = weight_ih.shape[0] // 2
    right = slip()
    return {
        "leave out the factor (h̃_t - h_(t-1)) of the gate: ∂h_t/∂z_t = h̃_t - h_(t-1)": slip(gate_factor="one"),
        "treat 1 - z_t as a constant: z_t also takes -h_(t-1), ∂h_t/∂z_t = h̃_t - h_(t-1), not h̃_t":
            slip(gate_factor="candidate"),
        "use h_t instead of h_(t-1) in ∂h_t/∂z_t = h̃_t - h_(t-1)": slip(gate_factor="current"),
        "drop the carried term: h_t also reaches later states, g_t = h̄_t + (1 - z_(t+1)) ⊙ g_(t+1)":
            slip(carry="none"),
        "carry g_(t+1) back with 1 - z_t; h_t enters h_(t+1) through 1 - z_(t+1)": slip(carry="own"),
        "write σ' as σ: σ'(a) = σ(a)(1 - σ(a)) = z_t (1 - z_t)": slip(sigmoid_derivative="z"),
        "leave out σ' of the gate: ∂z_t/∂a = z_t (1 - z_t)": slip(sigmoid_derivative="1"),
        "leave out z_t on the candidate's path: ∂h_t/∂h̃_t = z_t": slip(candidate_gated=False),
        "start from h_0 = 0: h0 is given; it enters every state and the gate's factor h̃_1 - h_0":
            _min_gru_gradients_by(x, weight_ih, bias_ih, np.zeros_like(h0), grad_h),
        "stack the blocks as [candidate; gate]: rows 0..H-1 belong to W_z and b_z":
            np.concatenate([right[hidden:], right[:hidden]]),
        "average over the batch: L is a sum over the batch, and so are the gradients":
            slip(batch_mean=True),
    }


def _min_gru_gradient_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int,
                           hidden: int) -> dict:
    case = _min_gru_case(label, rng, steps, batch, inputs, hidden)
    case["args"].append(random_array(rng, (steps, batch, hidden)))
    return case


def _hidden_min_gru_gradients(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_min_gru_gradient_case("hidden case, T = 9, B = 3, D = 2, H = 4", rng, 9, 3, 2, 4),
            _min_gru_gradient_case("hidden case, T = 1, B = 1, D = 3, H = 2", rng, 1, 1, 3, 2),
            _min_gru_gradient_case("hidden case, T = 30, B = 2, D = 4, H = 1", rng, 30, 2, 4, 1))


_grade_min_gru_gradients = grade_derivation("[∂L/∂weight_ih | ∂L/∂bias_ih]", reference_min_gru_gradients,
                                            _min_gru_gradient_mistakes, 4, "of minGRU")


_VISIBLE_RNG = np.random.default_rng(2014)

QUESTIONS = (
    Question(
        qid="14.1", points=3, title="Causal self-attention", answer="causal_self_attention", kind="numbers",
        visible=(_attention_case("visible case, T = 5, D = 4, d = 3, d_v = 3", _VISIBLE_RNG, 5, 4, 3, 3),),
        hidden=_hidden_attention,
        grade=_grade_against(reference_causal_attention, _attention_slips, "causal scaled dot-product attention", 3),
        borrowed=("minigrad.nn.SelfAttention", "minigrad.nn.attention.dot_product_attention"), difficulty=1,
        minutes=15,
        hints=("This is equation (eq-today-self) without W_o and the biases: the queries, keys and values of all "
               "positions are three matrix products, q = x @ w_q.T and so on.",
               "scores = q @ k.T / np.sqrt(d) is (T, T): row t holds position t's score against every key s. "
               "The entries with s > t lie above the diagonal (np.triu(..., 1)); set them to -inf.",
               "Take the softmax of each row (axis 1, over the keys) after subtracting the row's maximum: the "
               "-inf entries become weights of exactly 0. Then y = weights @ v."),
    ),
    Question(
        qid="14.2", points=3, title="The linear recurrence by a parallel scan", answer="parallel_scan",
        kind="numbers", visible=(_scan_case("visible case, T = 10, H = 2", _VISIBLE_RNG, 10, 2),),
        hidden=_hidden_scan,
        grade=_grade_against(reference_recurrence, _scan_slips, "the loop h_t = a_t h_(t-1) + b_t", 3),
        borrowed=("minigrad.scan.scan_recurrence", "minigrad.scan.loop_recurrence", "minigrad.scan.linear_recurrence"),
        difficulty=1, minutes=20,
        hints=("Work on copies A and B of a and b, and fold h0 into step 1 first: B[0] = B[0] + A[0] * h0. "
               "When every pair covers its whole prefix, B holds h_1 .. h_T.",
               "In the round with distance d, position t takes (A_(t-d), B_(t-d)) • (A_t, B_t) = "
               "(A_t A_(t-d), A_t B_(t-d) + B_t), for every t ≥ d at once: slices [d:] and [:-d].",
               "Per round, update B[d:] from A[d:], B[:-d] and B[d:] before A[d:] = A[d:] * A[:-d] (B needs the "
               "old A); double d while d < T."),
    ),
    Question(
        qid="14.3", points=4, title="The backward pass of the linear recurrence",
        answer="recurrence_gradients", kind="numbers",
        visible=(_gradient_case("visible case, T = 6, H = 2", _VISIBLE_RNG, 6, 2),),
        hidden=_hidden_gradients, grade=_grade_gradients,
        borrowed=("minigrad.autograd.backward", "minigrad.scan.linear_recurrence"), difficulty=2,
        minutes=25,
        hints=("h_t reaches L directly, through h̄_t · h_t, and through h_(t+1) = a_(t+1) ⊙ h_t + b_(t+1): g_t "
               "collects both, from t = T down (the chapter's equation eq-today-backward).",
               "The recurrence for g is 14.2's with time reversed: coefficients a_(t+1) (0 after the last step) "
               "and inputs h̄_t. Reverse the arrays along time, scan from a zero start, reverse back.",
               "∂L/∂b_t = g_t and ∂L/∂a_t = g_t ⊙ h_(t-1), where the first row of h_(t-1) is h0: "
               "np.concatenate([h0[None], h[:-1]])."),
    ),
    Question(
        qid="14.4", points=3, title="A minGRU layer", answer="min_gru", kind="numbers",
        visible=(_min_gru_case("visible case, T = 4, B = 2, D = 3, H = 2", _VISIBLE_RNG, 4, 2, 3, 2),),
        hidden=_hidden_min_gru, grade=_grade_against(reference_min_gru, _min_gru_slips, "nn.MinGRU", 3),
        borrowed=("minigrad.nn.MinGRU",), difficulty=1, minutes=10,
        hints=("minGRU is 14.2's recurrence h_t = a_t ⊙ h_(t-1) + b_t with a_t = 1 - z_t and b_t = z_t ⊙ h̃_t: the "
               "gate and the candidate read only x_t, so they can all be computed before the scan.",
               "pre = x @ weight_ih.T + bias_ih has shape (T, B, 2H): its first H columns are the gate's "
               "pre-activation, the last H the candidate itself (no tanh in minGRU).",
               "Pass a = 1 - z and b = z ⊙ h̃, both (T, B, H), with h0 to your parallel_scan: it works on any "
               "trailing shape."),
    ),
    Question(
        qid="14.5", points=4, title="The gradient of minGRU's weights, derived", answer="min_gru_gradients",
        kind="numbers",
        visible=(_min_gru_gradient_case("visible case, T = 5, B = 2, D = 3, H = 2", _VISIBLE_RNG, 5, 2, 3, 2),),
        hidden=_hidden_min_gru_gradients, grade=_grade_min_gru_gradients,
        borrowed=("minigrad.autograd.backward", "minigrad.nn.MinGRU", "minigrad.scan.LinearRecurrence",
                  "minigrad.scan.linear_recurrence", "minigrad.scan.scan_recurrence", "minigrad.scan.loop_recurrence"),
        difficulty=3, minutes=35,
        hints=("minGRU is the recurrence of eq-today-linear with a_t = 1 - z_t and b_t = z_t ⊙ h̃_t, so 14.3 "
               "gives ∂L/∂a_t and ∂L/∂b_t; what remains is the chain rule from a_t and b_t back to the "
               "weights, through z_t = σ(·) and h̃_t.",
               "z_t appears twice, in a_t = 1 - z_t and in b_t = z_t ⊙ h̃_t: ∂L/∂z_t = ∂L/∂b_t ⊙ h̃_t - ∂L/∂a_t "
               "= g_t ⊙ (h̃_t - h_(t-1)); ∂L/∂h̃_t = g_t ⊙ z_t. The gate's pre-activation gets "
               "∂L/∂z_t ⊙ z_t ⊙ (1 - z_t).",
               "Put the two pre-activation gradients side by side, δ of shape (T, B, 2H), gate first. Every "
               "step and sequence adds δ_(tb) x_(tb)^T: with rows = δ.reshape(-1, 2H), ∂L/∂weight_ih = "
               "rows.T @ x.reshape(-1, D) and ∂L/∂bias_ih = rows.sum(axis=0)."),
        reference=lambda case: reference_min_gru_gradients(
            *(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
