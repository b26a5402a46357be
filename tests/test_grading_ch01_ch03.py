"""Chapters 1, 2 (question 2.5) and 3's graded questions: right answers pass, common slips fail with their reason."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading.ch01 import measured_receptive_field, reference_windows
from minigrad.grading.questions import QUESTIONS

from grading_helpers import outcome


# ------------------------------------------------------------------------------ chapter 1
def windows(tokens, width, pad):
    half = width // 2
    padded = np.concatenate([np.full(half, pad), tokens, np.full(half, pad)])
    return np.array([padded[t:t + width] for t in range(len(tokens))])


def counts(vocab, length, hidden):
    return [length * vocab * hidden + hidden + hidden * length + length, hidden * vocab + hidden ** 2 + 2 * hidden + 1]


def field(kernel_sizes):
    return 1 + sum(int(k) - 1 for k in kernel_sizes)


def test_reference_windows_pad_both_ends():
    expected = [[0, 5, 6], [5, 6, 7], [6, 7, 0]]
    assert reference_windows(np.array([5.0, 6.0, 7.0]), 3, 0).tolist() == expected


@pytest.mark.parametrize("kernel_sizes", [[1], [3], [3, 3, 3], [2, 4], [7, 2, 5, 2]])
def test_measured_receptive_field_is_one_plus_the_summed_overlaps(kernel_sizes):
    assert measured_receptive_field(kernel_sizes) == field(kernel_sizes)


@pytest.mark.parametrize("qid, answer", [("1.1", windows), ("1.2", counts), ("1.3", field)])
def test_chapter_1_answers_pass(qid, answer):
    result = outcome(qid, answer)
    assert result.status == "passed" and result.score == QUESTIONS[qid].points, result.message


@pytest.mark.parametrize("qid, answer, reason, score", [
    ("1.1", lambda t, w, p: windows(t, w, p)[:-1], "one row of", 0),
    ("1.1", lambda t, w, p: windows(t, w + 2, p)[:, 1:-1][:, ::-1], "the window at position", 0),
    ("1.2", lambda V, T, H: [T * V * H + H * T, counts(V, T, H)[1]], "window MLP has", 1),
    ("1.2", lambda V, T, H: [counts(V, T, H)[0], H * V + H * H], "ElmanRNN has", 1),
    ("1.3", lambda ks: float(sum(ks)), "one output depends on 7 inputs", 0),
])
def test_chapter_1_slips_fail_with_their_reason(qid, answer, reason, score):
    result = outcome(qid, answer)
    assert result.status == "failed" and result.score == score and reason in result.message, result.message


# ------------------------------------------------------------------------------ chapter 1, 1.4
def span(k, d, s, *, strides=True, dilations=True, own_stride=False, plus_one=1):
    """The receptive field formula of 1.4; the keywords make one of the usual slips."""
    total, spacing = plus_one, 1
    for width, dilation, stride in zip(k, d, s):
        spacing *= stride if own_stride else 1
        total += (width - 1) * (dilation if dilations else 1) * spacing
        spacing *= 1 if own_stride or not strides else stride
    return total


@pytest.mark.parametrize("sizes", [([1], [1], [1]), ([2] * 5, [1, 2, 4, 8, 16], [1] * 5), ([3] * 3, [1] * 3, [2] * 3),
                                   ([3, 2, 2, 3], [1, 1, 2, 4], [1, 1, 2, 1]), ([2, 2], [1, 3], [1, 1]), ([2, 2], [1, 1], [3, 1])])
def test_traced_span_is_the_formula_and_dilation_leaves_holes(sizes):
    from minigrad.grading.ch01 import span_formula, traced_span

    widths, dilations, strides = sizes
    assert traced_span(*sizes)[0] == span_formula(widths, dilations, strides) == span(*sizes)
    if sizes[0] == [2, 2] and sizes[1] != sizes[2]:
        # a dilation or a stride larger than the field below leaves a hole: both read inputs 0, 1, 3 and 4
        assert traced_span(*sizes) == (5, 4)


def test_receptive_field_formula_passes_and_a_stub_scores_nothing():
    result = outcome("1.4", span)
    assert result.status == "passed" and result.score == QUESTIONS["1.4"].points == 4, result.message
    assert QUESTIONS["1.4"].difficulty == 3

    def stub(k, d, s):
        raise NotImplementedError
    assert outcome("1.4", stub).status == "not attempted"


@pytest.mark.parametrize("slip, reason", [
    ({"strides": False}, "leave out the strides"),
    ({"dilations": False}, "leave out the dilations"),
    ({"own_stride": True}, "its own stride"),
    ({"plus_one": 0}, "leave out the 1"),
])
def test_receptive_field_slips_are_named(slip, reason):
    result = outcome("1.4", lambda k, d, s: span(k, d, s, **slip))
    assert result.status == "failed" and result.score == 0 and reason in result.message, result.message
    assert "spanning 22 positions" in result.message and "(visible case, 4 layers)" in result.message


def test_receptive_field_answers_fitted_to_the_visible_case_fail():
    import sympy as sp

    assert outcome("1.4", lambda k, d, s: sp.Integer(22)).score == 0
    four_layers = span(*[sp.symbols(f"{n}_1:5") for n in "kds"])
    result = outcome("1.4", lambda k, d, s: four_layers)
    assert result.score == 0 and "hidden case, 1 layer" in result.message, result.message


# ------------------------------------------------------------------------------ chapter 3
def step(x, h, U, W, b):
    return np.tanh(b + h @ W.T + x @ U.T)


def stacked(W, U):
    return np.hstack([W, U])


def nll(o, Y):
    shifted = o - o.max(axis=1, keepdims=True)
    return -float((Y * (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))).sum())


def forward(x, h0, U, W, V, b, c, start=None):
    h, out = (h0 if start is None else start), []
    for x_t in x:
        h = step(x_t, h, U, W, b)
        out.append(h @ V.T + c)
    return np.stack(out)


@pytest.mark.parametrize("qid, answer", [("3.1", step), ("3.2", stacked), ("3.3", nll), ("3.4", forward)])
def test_chapter_3_answers_pass(qid, answer):
    result = outcome(qid, answer)
    assert result.status == "passed" and result.score == QUESTIONS[qid].points, result.message


def naive_nll(o, Y):
    probabilities = np.exp(o) / np.exp(o).sum(axis=1, keepdims=True)
    return -(Y * np.log(probabilities)).sum()


@pytest.mark.parametrize("qid, answer, reason", [
    ("3.1", lambda x, h, U, W, b: b + h @ W.T + x @ U.T, "apply tanh"),
    ("3.1", lambda x, h, U, W, b: np.tanh(b + h @ W + x @ U.T), "use h_prev @ W.T"),
    ("3.2", lambda W, U: np.hstack([U, W]), "this is [U W]"),
    ("3.2", lambda W, U: np.hstack([W, U]).T, "has shape"),
    ("3.3", lambda o, Y: nll(o, Y) / len(o), "the mean over"),
    ("3.3", naive_nll, "subtract the largest logit"),
    ("3.4", lambda x, h0, U, W, V, b, c: forward(x, h0, U, W, V, b, c, start=np.zeros_like(h0)), "h^(0) = 0"),
    ("3.4", lambda x, h0, U, W, V, b, c: forward(x, h0, U, W, V, b, 0 * c), "entry (0, 0, 0)"),
])
def test_chapter_3_slips_fail_with_their_reason(qid, answer, reason):
    with np.errstate(all="ignore"):
        result = outcome(qid, answer)
    assert result.status == "failed" and result.score == 0 and reason in result.message, result.message


# ------------------------------------------------------------------------------ chapter 2, 2.5
def second_order(w, xs, ys, h_start, *, skip=True, w2_reads=2, start=None, reverse=False):
    """[dL/dw_1, dL/dw_2] of the second-order recurrence; the keywords make one of the usual slips."""
    h = list(np.zeros(2) if start == "zero" else h_start)
    for x in xs:
        h.append(np.tanh(w[0] * h[-1] + w[1] * h[-2] + x))
    tau = len(xs)
    grad_a, grads = np.zeros(tau + 3), np.zeros(2)
    for t in range(tau, 0, -1):
        dL_dh = h[t + 1] - ys[t - 1] + w[0] * grad_a[t + 1] + (w[1] * grad_a[t + 2] if skip else 0.0)
        grad_a[t] = dL_dh * (1 - h[t + 1] ** 2)
        grads += grad_a[t] * np.array([h[t], h[t + 1 - w2_reads]])
    return grads[::-1] if reverse else grads


def test_second_order_reference_agrees_with_float64_finite_differences():
    from minigrad.grading.ch02 import reference_second_order_gradient, second_order_case
    from minigrad.grading.wire import build_argument

    for tau in (1, 2, 5, 17):
        args = [build_argument(spec) for spec in second_order_case("", np.random.default_rng(tau), tau)["args"]]
        reference = reference_second_order_gradient(*args)
        assert np.allclose(reference["autograd"], reference["finite"], rtol=1e-7, atol=1e-8)
        assert np.allclose(second_order(*args), reference["autograd"], rtol=1e-12, atol=1e-13)


def test_second_order_answer_passes_and_a_stub_scores_nothing():
    result = outcome("2.5", second_order)
    assert result.status == "passed" and result.score == QUESTIONS["2.5"].points == 4, result.message
    assert QUESTIONS["2.5"].difficulty == 3
    assert outcome("2.5", lambda *args: np.zeros(2)).score == 0

    def stub(*args):
        raise NotImplementedError
    assert outcome("2.5", stub).status == "not attempted"


@pytest.mark.parametrize("slip, reason", [
    ({"skip": False}, "leave out the skip path"),
    ({"w2_reads": 1}, "w_2 multiplies h_(t-2)"),
    ({"start": "zero"}, "the initial states are the argument h_start"),
    ({"reverse": True}, "in the wrong order"),
])
def test_second_order_slips_are_named(slip, reason):
    result = outcome("2.5", lambda *args: second_order(*args, **slip))
    assert result.status == "failed" and result.score == 0 and reason in result.message, result.message
    assert "(visible case, τ = 5)" in result.message


def test_second_order_answer_fitted_to_the_visible_case_fails_a_hidden_case():
    question = QUESTIONS["2.5"]
    visible = [np.array(spec["array"]) for spec in question.visible[0]["args"]]
    fitted = second_order(*visible)

    def memorised(w, xs, ys, h_start):
        return fitted if len(xs) == 5 else second_order(w, xs, ys, h_start, skip=False)
    assert outcome("2.5", lambda *args: fitted.copy()).message.endswith("(hidden case, τ = 1)")
    result = outcome("2.5", memorised)
    assert result.score == 0 and "hidden case" in result.message and "skip path" in result.message, result.message


# ------------------------------------------------------------------------------ chapter 3, 3.5
def residual(x, h0, U, W, V, b, c, *, skip="outside", read="state", start=None):
    """Logits of the residual RNN; the keywords misread the cell in one of the usual ways."""
    h, out = (h0 if start is None else start), []
    for x_t in x:
        a = b + h @ W.T + x_t @ U.T
        h = {"outside": h + np.tanh(a), "none": np.tanh(a), "inside": np.tanh(h + a), "first": h0 + np.tanh(a)}[skip]
        out.append((h if read == "state" else np.tanh(a)) @ V.T + c)
    return np.stack(out)


def test_residual_reference_is_the_cell_by_hand():
    from minigrad.grading.ch03 import reference_residual_forward
    from minigrad.grading.wire import build_argument

    for case in QUESTIONS["3.5"].visible + QUESTIONS["3.5"].hidden(np.random.default_rng(5)):
        args = [build_argument(spec) for spec in case["args"]]
        assert np.allclose(reference_residual_forward(*args), residual(*args), rtol=0, atol=1e-12)


def test_residual_answer_passes_and_a_blank_scores_nothing():
    result = outcome("3.5", residual)
    assert result.status == "passed" and result.score == QUESTIONS["3.5"].points == 4, result.message
    assert QUESTIONS["3.5"].difficulty == 3
    blank = outcome("3.5", lambda x, h0, U, W, V, b, c: np.zeros((x.shape[0], x.shape[1], V.shape[0])))
    assert blank.status == "failed" and blank.score == 0


@pytest.mark.parametrize("slip, reason", [
    ({"skip": "none"}, "this is pattern A"),
    ({"skip": "inside"}, "the skip is inside the tanh"),
    ({"read": "branch"}, "the logits read only the tanh branch"),
    ({"skip": "first"}, "the skip adds h^(0) at every step"),
    ({"start": "zeros"}, "start from the h0 argument"),
])
def test_residual_misreadings_are_named(slip, reason):
    def answer(x, h0, *rest):
        start = np.zeros_like(h0) if slip.get("start") else None
        return residual(x, h0, *rest, **{**slip, "start": start})
    result = outcome("3.5", answer)
    assert result.status == "failed" and result.score == 0 and reason in result.message, result.message
    assert "visible case" in result.message


def test_residual_answer_fitted_to_the_visible_case_fails_a_hidden_case():
    visible = [np.array(spec["array"]) for spec in QUESTIONS["3.5"].visible[0]["args"]]
    fitted = residual(*visible)
    result = outcome("3.5", lambda *args: fitted.copy())
    assert result.score == 0 and "hidden case" in result.message, result.message
