"""Chapter 14's graded questions: references checked independently, right answers pass, common slips
fail with their reason, and the course's solution and exercise notebooks score full marks and zero."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from minigrad.bptt import central_differences
from minigrad.grading import ch14
from minigrad.grading.wire import build_argument
from minigrad.scan import loop_recurrence

from grading_helpers import outcome

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = {q.qid: q for q in ch14.QUESTIONS}


def _cases(qid):
    question = QUESTIONS[qid]
    cases = list(question.visible) + list(question.hidden(np.random.default_rng(0)))
    return [[build_argument(spec) for spec in case["args"]] for case in cases]


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


# ------------------------------------------------------------- answers written out independently
def attention_by_loops(x, w_q, w_k, w_v):
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
    out = []
    for t in range(len(x)):
        scores = np.array([q[t] @ k[s] for s in range(t + 1)]) / np.sqrt(q.shape[1])
        weights = np.exp(scores - scores.max())
        out.append((weights / weights.sum()) @ v[:t + 1])
    return np.array(out)


def hillis_steele(a, b, h0, combine_earlier_first=True):
    A, B = a.copy(), b.copy()
    B[0] = B[0] + A[0] * h0
    d = 1
    while d < len(a):
        if combine_earlier_first:
            B[d:] = A[d:] * B[:-d] + B[d:]
        else:
            B[d:] = A[:-d] * B[d:] + B[:-d]
        A[d:] = A[d:] * A[:-d]
        d *= 2
    return B


def gradients_by_hand(a, b, h0, grad_h, coefficient_shift=1, previous=True):
    h = hillis_steele(a, b, h0)
    g, carry = np.zeros_like(grad_h), np.zeros_like(h0)
    for t in reversed(range(len(a))):
        coefficient = a[t + coefficient_shift] if t + coefficient_shift < len(a) else 0.0
        carry = grad_h[t] + coefficient * carry
        g[t] = carry
    states = np.concatenate([h0[None], h[:-1]]) if previous else h
    return np.stack([g * states, g])


def min_gru_by_loop(x, weight_ih, bias_ih, h0):
    hidden = len(bias_ih) // 2
    h, states = h0, []
    for x_t in x:
        pre = x_t @ weight_ih.T + bias_ih
        z = _sigmoid(pre[:, :hidden])
        h = (1 - z) * h + z * pre[:, hidden:]
        states.append(h)
    return np.array(states)


# ------------------------------------------------------------------------------ the references
def test_chapter_14_is_registered():
    from minigrad.grading.questions import QUESTIONS as ALL

    assert {"14.1", "14.2", "14.3", "14.4", "14.5"} <= set(ALL)
    assert sum(q.points for q in ch14.QUESTIONS) == 17


def test_references_match_independent_loops():
    for args in _cases("14.1"):
        np.testing.assert_allclose(ch14.reference_causal_attention(*args), attention_by_loops(*args), atol=1e-12)
    for args in _cases("14.2"):
        np.testing.assert_allclose(ch14.reference_recurrence(*args), hillis_steele(*args), atol=1e-12)
    for args in _cases("14.4"):
        np.testing.assert_allclose(ch14.reference_min_gru(*args), min_gru_by_loop(*args), atol=1e-12)


def test_gradient_reference_matches_finite_differences():
    for a, b, h0, grad_h in _cases("14.3"):
        loss = lambda p: float(np.sum(grad_h * hillis_steele(p["a"], p["b"], h0)))  # noqa: E731
        finite = central_differences(loss, {"a": a, "b": b})
        reference = ch14.reference_recurrence_gradients(a, b, h0, grad_h)
        np.testing.assert_allclose(reference[0], finite["a"], atol=1e-7)
        np.testing.assert_allclose(reference[1], finite["b"], atol=1e-7)


# ------------------------------------------------------------------------------ the diagnoses
def _masked_softmax_attention(x, w_q, w_k, w_v, scale=True, mask="causal", axis=1, zero_after=False):
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
    scores = q @ k.T / (np.sqrt(q.shape[1]) if scale else 1.0)
    later = np.triu(np.ones(scores.shape, dtype=bool), 1)
    hidden = {"causal": later, "reversed": later.T, "none": np.zeros_like(later)}[mask]
    if not zero_after:
        scores = np.where(hidden, -np.inf, scores)
    weights = np.exp(scores - scores.max(axis=axis, keepdims=True))
    weights /= weights.sum(axis=axis, keepdims=True)
    return np.where(later, 0.0, weights) @ v if zero_after else weights @ v


@pytest.mark.parametrize("options, status, reason", [
    ({}, "passed", "matches causal scaled dot-product attention"),
    ({"scale": False}, "failed", "not divided by √d"),
    ({"mask": "none"}, "failed", "later positions: mask"),
    ({"zero_after": True}, "failed", "zeroed after the softmax"),
    ({"mask": "reversed"}, "failed", "wrong way round"),
    ({"axis": 0}, "failed", "runs over the queries"),
])
def test_causal_self_attention(options, status, reason):
    result = outcome("14.1", lambda *args: _masked_softmax_attention(*args, **options))
    assert result.status == status and reason in result.message, result.message


@pytest.mark.parametrize("answer, status, reason", [
    (hillis_steele, "passed", "matches the loop"),
    (lambda a, b, h0: loop_recurrence(a, b, h0)[0], "passed", "matches the loop"),
    (lambda a, b, h0: hillis_steele(a, b, 0 * h0), "failed", "h0 is left out"),
    (lambda a, b, h0: np.concatenate([h0[None], hillis_steele(a, b, h0)[:-1]]), "failed", "shifted"),
    (lambda a, b, h0: hillis_steele(a, b, h0, combine_earlier_first=False), "failed", "wrong order"),
    (lambda a, b, h0: hillis_steele(a, b, h0)[::-1], "failed", "differs from the loop"),
])
def test_parallel_scan(answer, status, reason):
    result = outcome("14.2", answer)
    assert result.status == status and reason in result.message, result.message


@pytest.mark.parametrize("answer, score, reasons", [
    (gradients_by_hand, 4, ["match autograd"]),
    (lambda a, b, h0, g: gradients_by_hand(a, b, h0, g, previous=False), 2,
     ["∂L/∂a differs", "not h_t"]),
    (lambda a, b, h0, g: gradients_by_hand(a, b, h0, g, coefficient_shift=0), 0,
     ["∂L/∂b differs", "multiplies by a_t"]),
    (lambda a, b, h0, g: np.stack([g * np.concatenate([h0[None], hillis_steele(a, b, h0)[:-1]]), g]), 0,
     ["only the direct term"]),
    (lambda a, b, h0, g: gradients_by_hand(a, b, h0, g)[:, :1], 0, ["returns shape"]),
])
def test_recurrence_gradients(answer, score, reasons):
    result = outcome("14.3", answer)
    assert result.score == score, result.message
    assert all(reason in result.message for reason in reasons), result.message


def _min_gru_slip(x, weight_ih, bias_ih, h0, **slip):
    return ch14._min_gru_by(x, weight_ih, bias_ih, h0, **slip)


@pytest.mark.parametrize("answer, status, reason", [
    (min_gru_by_loop, "passed", "matches nn.MinGRU"),
    (lambda *args: _min_gru_slip(*args, keep_is_z=True), "failed", "swapped: z is the fraction overwritten"),
    (lambda *args: _min_gru_slip(*args, squash=True), "failed", "no tanh"),
    (lambda *args: _min_gru_slip(*args, gate_first=False), "failed", "blocks are swapped"),
    (lambda x, w, b, h0: min_gru_by_loop(x, w, b, 0 * h0), "failed", "h0 is left out"),
])
def test_min_gru(answer, status, reason):
    result = outcome("14.4", answer)
    assert result.status == status and reason in result.message, result.message


# ------------------------------------------------------------------------------ 14.5, minGRU's weights
def min_gru_gradients_by_loop(x, weight_ih, bias_ih, h0, grad_h, carry=True, gate_difference=True, sigma_prime=True,
                              previous=True):
    """[dL/dweight_ih | dL/dbias_ih] by a plain backward loop over t, written out here, with the slips the
    options name."""
    hidden = len(bias_ih) // 2
    h = min_gru_by_loop(x, weight_ih, bias_ih, h0)
    before = np.concatenate([h0[None], h[:-1]])
    grad_w, grad_b = np.zeros_like(weight_ih), np.zeros_like(bias_ih)
    g_next, keep_next = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(len(x))):
        pre = x[t] @ weight_ih.T + bias_ih
        z, candidate = _sigmoid(pre[:, :hidden]), pre[:, hidden:]
        g = grad_h[t] + (keep_next * g_next if carry else 0)
        factor = (candidate - (before[t] if previous else h[t])) if gate_difference else 1.0
        delta = np.concatenate([g * factor * (z * (1 - z) if sigma_prime else z), g * z], axis=1)
        grad_w += delta.T @ x[t]
        grad_b += delta.sum(axis=0)
        g_next, keep_next = g, 1 - z
    return np.column_stack([grad_w, grad_b])


def test_min_gru_gradient_reference_matches_finite_differences_and_an_independent_loop():
    for x, weight_ih, bias_ih, h0, grad_h in _cases("14.5"):
        references = ch14.reference_min_gru_gradients(x, weight_ih, bias_ih, h0, grad_h)
        loss = lambda p: float(np.sum(grad_h * min_gru_by_loop(x, p["w"], p["b"], h0)))  # noqa: E731
        finite = central_differences(loss, {"w": weight_ih, "b": bias_ih})
        np.testing.assert_allclose(references["autograd"], np.column_stack([finite["w"], finite["b"]]), atol=1e-7)
        np.testing.assert_allclose(references["finite"], references["autograd"], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(min_gru_gradients_by_loop(x, weight_ih, bias_ih, h0, grad_h),
                                   references["autograd"], atol=1e-12)


def test_14_5_is_a_derivation_the_chapter_does_not_print():
    question = QUESTIONS["14.5"]
    assert question.difficulty == 3 and question.points == 4 and 2 <= len(question.hints) <= 3
    assert {"minigrad.autograd.backward", "minigrad.nn.MinGRU", "minigrad.scan.LinearRecurrence"} <= set(
        question.borrowed)
    cells = json.loads((ROOT / "book" / "14_rnns_today.ipynb").read_text(encoding="utf-8"))["cells"]
    chapter = "\n".join("".join(cell["source"]) for cell in cells)
    assert r"\tilde h_t" in chapter  # the search below reads LaTeX as the chapter writes it
    for derived in (r"\partial W_z", r"\partial z_t", r"\tilde h_t - h_{t-1}", "weight_ih.grad"):
        assert derived not in chapter, derived


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"carry": False}, "drop the carried term"),
    ({"gate_difference": False}, "leave out the factor (h̃_t - h_(t-1))"),
    ({"sigma_prime": False}, "write σ' as σ"),
    ({"previous": False}, "use h_t instead of h_(t-1)"),
])
def test_min_gru_gradients_pass_and_the_slips_are_named(options, words):
    result = outcome("14.5", lambda *args: min_gru_gradients_by_loop(*args, **options), seed=3)
    if words is None:
        assert result.status == "passed" and result.score == 4, result.message
        assert "matches autograd and finite differences on the visible case and 3 hidden cases" in result.message
    else:
        assert result.status == "failed" and result.score == 0, result.message
        assert words in result.message and "visible case" in result.message, result.message


def test_min_gru_gradients_fitted_to_the_visible_case_or_without_biases_fail():
    visible = [build_argument(spec) for spec in QUESTIONS["14.5"].visible[0]["args"]]
    fitted = min_gru_gradients_by_loop(*visible)
    result = outcome("14.5", lambda *args: fitted)
    assert result.status == "failed" and "hidden case" in result.message, result.message
    no_bias = outcome("14.5", lambda *args: min_gru_gradients_by_loop(*args)[:, :-1])
    assert no_bias.status == "failed" and "shape (4, 3), expected (4, 4)" in no_bias.message, no_bias.message


def test_check_refuses_min_gru_gradients_taken_from_autograd(capsys):
    from minigrad import nn
    from minigrad.grading import check
    from minigrad.tensor import Tensor

    def min_gru_gradients(x, weight_ih, bias_ih, h0, grad_h):  # the name check reads the answer from
        layer = nn.MinGRU(x.shape[2], len(bias_ih) // 2, rng=np.random.default_rng(0))
        layer.load_state_dict({"weight_ih": weight_ih, "bias_ih": bias_ih})
        output, _ = layer(Tensor(x), Tensor(h0[None]))
        (output * Tensor(grad_h)).sum().backward()
        return np.column_stack([layer.weight_ih.grad, layer.bias_ih.grad])

    capsys.readouterr()
    check("14.5", min_gru_gradients)
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert line.startswith("✗ 14.5 (0/4) calls minigrad."), line


def test_min_gru_gradients_blank_scores_zero():
    def blank(*args):
        raise NotImplementedError("write min_gru_gradients")

    assert outcome("14.5", blank).score == 0


# ------------------------------------------------------------------------------ the notebooks
def _notebook_functions(path: Path) -> dict:
    """Run the code cells of a course notebook in one namespace (check() calls only print)."""
    namespace: dict = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)  # noqa: S102 (our own notebook)
    return namespace


def test_the_solution_scores_full_marks_and_the_exercise_zero(capsys):
    solved = _notebook_functions(ROOT / "solutions" / "14_rnns_today.ipynb")
    untouched = _notebook_functions(ROOT / "exercises" / "14_rnns_today.ipynb")
    capsys.readouterr()
    for seed in (0, 1):
        for question in ch14.QUESTIONS:
            full = outcome(question.qid, solved[question.answer], seed=seed)
            assert full.status == "passed" and full.score == question.points, full.message
            empty = outcome(question.qid, untouched[question.answer], seed=seed)
            assert empty.status == "not attempted" and empty.score == 0, empty.message
