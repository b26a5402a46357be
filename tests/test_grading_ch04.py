"""Chapter 4's graded questions (minigrad.grading.ch04): right answers pass on visible and hidden
cases, common wrong answers fail with a message that names the first entry that differs or the
mistake, and the references agree with the package's hand-derived BPTT."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from minigrad.bptt import bptt_gradients, elman_forward, relative_difference
from minigrad.grading import QUESTIONS
from minigrad.grading.ch04 import forward_case, reference_gradients, scalar_gradient
from minigrad.grading.registry import score_answer
from minigrad.grading.wire import build_argument, probe


def _grad_h(x, Y, h, y_hat, U, W, V):
    steps, grad_o = x.shape[0], y_hat - Y
    grads = np.zeros((steps, h.shape[1]))
    for t in range(steps, 0, -1):
        grads[t - 1] = V.T @ grad_o[t - 1]
        if t < steps:
            grads[t - 1] += W.T @ ((1 - h[t + 1] ** 2) * grads[t])
    return grads


def _grad_a(*args):
    return _grad_h(*args) * (1 - args[2][1:] ** 2)


RIGHT = {
    "4.1": _grad_h,
    "4.2": lambda x, Y, h, y_hat, U, W, V: (y_hat - Y).T @ h[1:],
    "4.3": lambda *a: _grad_a(*a).T @ a[2][:-1],
    "4.4": lambda *a: _grad_a(*a).T @ a[0],
}


def _grade(qid, answer, seed=0):
    question = QUESTIONS[qid]
    cases = [*question.visible, *question.hidden(np.random.default_rng(seed))]
    results = [probe(question.kind, answer, case) for case in cases]
    return score_answer(question, cases, {"defined": True, "results": results})


@pytest.mark.parametrize("qid", sorted(RIGHT))
def test_right_numeric_answers_pass(qid):
    outcome = _grade(qid, RIGHT[qid], seed=3)
    assert outcome.status == "passed", outcome.message
    assert outcome.score == QUESTIONS[qid].points
    assert "2 hidden cases" in outcome.message


def test_hidden_cases_change_with_the_seed_and_differ_from_the_visible_one():
    question = QUESTIONS["4.3"]
    first, second = question.hidden(np.random.default_rng(1)), question.hidden(np.random.default_rng(2))
    assert first[1]["label"] != second[1]["label"] or first[1]["args"] != second[1]["args"]
    assert all(case["args"] != question.visible[0]["args"] for case in first)


def test_answer_fitted_to_the_visible_case_fails():
    visible = QUESTIONS["4.3"].visible[0]
    fixed = RIGHT["4.3"](*(build_argument(spec) for spec in visible["args"]))
    outcome = _grade("4.3", lambda *args: fixed)
    assert outcome.status == "failed"
    assert "visible case 2" in outcome.message  # the second visible case already catches it


def test_the_first_visible_case_is_the_notebooks_example_and_the_second_catches_global_sizes():
    """Issue 22: check used τ = 4 while the notebook showed τ = 5; a size read from the example's
    globals passed check and failed only when graded."""
    from minigrad.grading import check

    x, Y, h, y_hat, U, W, V = check.case("4.1")
    assert (x.shape, Y.shape, h.shape) == ((5, 2), (5, 3), (6, 3)) and h[0].any()
    assert "τ = 5, D = 2, H = 3, O = 3" in QUESTIONS["4.1"].visible[0]["label"]
    np.testing.assert_array_equal(check.case("4.2")[2], h)  # every question shares the example
    n_hidden = 3

    def sized_from_globals(x, Y, h, y_hat, U, W, V):
        grads = np.zeros((x.shape[0], n_hidden))
        grads[:] = RIGHT["4.1"](x, Y, h, y_hat, U, W, V)
        return grads

    question = QUESTIONS["4.1"]
    results = [probe(question.kind, sized_from_globals, case) for case in question.visible]
    outcome = score_answer(question, question.visible, {"defined": True, "results": results})
    assert outcome.status == "error" and "visible case 2" in outcome.message


@pytest.mark.parametrize("qid, wrong, words", [
    ("4.1", lambda x, Y, h, y_hat, U, W, V: (y_hat - Y) @ V, "leave out the path through h^(t+1)"),
    ("4.1", lambda x, Y, h, y_hat, U, W, V: RIGHT["4.1"](x, Y, h, y_hat, U, W.T, V), "use W instead of W^T"),
    ("4.2", lambda x, Y, h, y_hat, U, W, V: (y_hat - Y).T @ h[:-1], "use h^(t-1) instead of h^(t)"),
    ("4.2", lambda x, Y, h, y_hat, U, W, V: h[1:].T @ (y_hat - Y), "transpose the result"),
    ("4.3", lambda *a: _grad_a(*a).T @ a[2][1:], "use h^(t) instead of h^(t-1)"),
    ("4.3", lambda *a: _grad_h(*a).T @ a[2][:-1], "leave out the tanh derivative"),
    ("4.3", lambda *a: _grad_a(*a)[1:].T @ a[2][1:-1], "start the sum at t = 2"),
    ("4.4", lambda *a: _grad_h(*a).T @ a[0], "leave out the tanh derivative"),
])
def test_common_mistakes_are_named(qid, wrong, words):
    outcome = _grade(qid, wrong)
    assert outcome.status == "failed" and outcome.score == 0
    assert "differs from autograd at entry (" in outcome.message
    assert "got" in outcome.message and "expected" in outcome.message
    assert words in outcome.message, outcome.message


def test_wrong_shape_is_reported():
    outcome = _grade("4.2", lambda x, Y, h, y_hat, U, W, V: (y_hat - Y).sum(axis=0))
    assert outcome.status == "failed"
    assert "has shape" in outcome.message and "expected V's shape (O, H)" in outcome.message


def test_an_unexplained_wrong_entry_is_located():
    def off_by_a_bit(*args):
        grad = RIGHT["4.3"](*args)
        grad[1, 0] += 0.05
        return grad

    outcome = _grade("4.3", off_by_a_bit)
    assert outcome.status == "failed"
    assert "dL/dW differs from autograd at entry (1, 0)" in outcome.message


def test_references_agree_with_hand_derived_bptt():
    case = forward_case("test", 11, 6, 2, 4, 3)
    references = reference_gradients(case)
    args = [build_argument(spec) for spec in case["args"]]
    x, Y, h, y_hat, U, W, V = args
    params = {"U": U, "W": W, "V": V, "b": np.array(case["biases"]["b"]), "c": np.array(case["biases"]["c"])}
    ours = bptt_gradients(params, elman_forward(params, x[:, None], np.array(case["targets"])[:, None], h[:1]))
    for key in ("U", "W", "V"):
        assert relative_difference(references["autograd"][key], ours[key]) < 1e-12
        assert relative_difference(references["finite"][key], ours[key]) < 1e-7
    assert relative_difference(references["autograd"]["h"], ours["h"][:, 0]) < 1e-12
    assert relative_difference(references["finite"]["h"], ours["h"][:, 0]) < 1e-7


def _scalar_right(w, v, h, y_hat, y):
    total, grad_next = 0, 0
    for t in range(len(y), 0, -1):
        grad_t = v * (y_hat[t - 1] - y[t - 1]) + (w * (1 - h[t + 1] ** 2) * grad_next if t < len(y) else 0)
        total += grad_t * (1 - h[t] ** 2) * h[t - 1]
        grad_next = grad_t
    return total


def test_scalar_symbolic_question():
    assert _grade("4.5", _scalar_right).status == "passed"
    direct = _grade("4.5", lambda w, v, h, y_hat, y: sum(
        v * (y_hat[t - 1] - y[t - 1]) * (1 - h[t] ** 2) * h[t - 1] for t in range(1, len(y) + 1)))
    assert direct.status == "failed" and "only the direct term" in direct.message
    sign = _grade("4.5", lambda *args: -_scalar_right(*args))
    assert sign.status == "failed" and "autograd gives" in sign.message and "finite differences" in sign.message
    stray = _grade("4.5", lambda w, v, h, y_hat, y: _scalar_right(w, v, h, y_hat, y) + __import__("sympy").Symbol("x_1"))
    assert stray.status == "failed" and "uses x_1" in stray.message


def _scalar_slip(previous=-1, yhat_index=lambda t, steps: t - 1, target_index=lambda t, steps: t - 1):
    """_scalar_right with one index changed, as a student's loop would change it."""
    def answer(w, v, h, y_hat, y):
        total, grad_next = 0, 0
        for t in range(len(y), 0, -1):
            grad_t = v * (y_hat[yhat_index(t, len(y))] - y[target_index(t, len(y))])
            if t < len(y):
                grad_t += w * (1 - h[t + 1] ** 2) * grad_next
            total += grad_t * (1 - h[t] ** 2) * h[t + previous]
            grad_next = grad_t
        return total

    return answer


@pytest.mark.parametrize("answer, words", [
    # The two slips of the student walk-through that got a generic message (issue 22).
    (_scalar_slip(previous=0), "use h_t instead of h_(t-1)"),
    (_scalar_slip(yhat_index=lambda t, steps: t - 2), "take ŷ one step early"),
    (_scalar_slip(yhat_index=lambda t, steps: t - 2, target_index=lambda t, steps: t - 2),
     "take the error of the previous step"),
    # Other code with the same slips is recognised by the form of its answer.
    (_scalar_slip(yhat_index=lambda t, steps: min(t, steps - 1)), "some ŷ is taken at another step than its y"),
    (_scalar_slip(previous=0, yhat_index=lambda t, steps: t % steps),
     "some ŷ is taken at another step than its y"),
    (_scalar_slip(previous=0, yhat_index=lambda t, steps: t % steps), "h_0 does not appear"),
    (lambda w, v, h, y_hat, y: _scalar_right(w, v, [h[1], *h[1:]], y_hat, y), "h_0 does not appear"),
])
def test_4_5_names_the_index_slips(answer, words):
    outcome = _grade("4.5", answer, seed=2)
    assert outcome.status == "failed" and outcome.score == 0, outcome.message
    assert words in outcome.message, outcome.message
    assert "visible case" in outcome.message  # check catches it before hand-in


def test_4_5_structure_is_silent_on_a_wrong_answer_of_the_right_form():
    outcome = _grade("4.5", lambda *args: 2 * _scalar_right(*args))
    assert outcome.status == "failed" and "autograd gives" in outcome.message
    assert "another step" not in outcome.message and "h_0 does not appear" not in outcome.message


def test_scalar_reference_is_sympy_derivative_in_named_symbols():
    gradient = scalar_gradient(2)
    names = {str(s) for s in gradient.free_symbols}
    assert names <= {"w", "v", "h_0", "h_1", "h_2", "yhat_1", "yhat_2", "y_1", "y_2"}
    w, v, h0, h1, h2, p1, p2, y1, y2 = sympy.symbols("w v h_0 h_1 h_2 yhat_1 yhat_2 y_1 y_2")
    expected = (v * (p2 - y2) * (1 - h2 ** 2) * h1
                + (v * (p1 - y1) + w * (1 - h2 ** 2) * v * (p2 - y2)) * (1 - h1 ** 2) * h0)
    assert sympy.expand(gradient - expected) == 0


# ------------------------------------------------------------------------------ 4.6, the leaky cell
def grad_W_leaky(x, Y, h, y_hat, U, W, V, alpha, leak=True, tanh_from_states=True):
    steps = x.shape[0]
    s = (h[1:] - (1 - alpha) * h[:-1]) / alpha if tanh_from_states else h[1:]
    grad_h = np.zeros((steps, h.shape[1]))
    for t in range(steps, 0, -1):
        grad_h[t - 1] = V.T @ (y_hat[t - 1] - Y[t - 1])
        if t < steps:
            grad_h[t - 1] += W.T @ (alpha * (1 - s[t] ** 2) * grad_h[t]) + (1 - alpha) * grad_h[t] * leak
    return (alpha * (1 - s ** 2) * grad_h).T @ h[:-1]


def test_the_leaky_reference_agrees_with_finite_differences():
    from minigrad.grading.ch04 import reference_leaky_gradient

    for case in [*QUESTIONS["4.6"].visible, *QUESTIONS["4.6"].hidden(np.random.default_rng(5))]:
        references = reference_leaky_gradient(case)
        np.testing.assert_allclose(references["autograd"], references["finite"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"leak": False}, "leave out the leak path"),
    ({"tanh_from_states": False}, "here h^(t) is not tanh(a^(t))"),
])
def test_4_6_passes_the_derivation_and_names_its_two_traps(options, words):
    outcome = _grade("4.6", lambda *args: grad_W_leaky(*args, **options), seed=4)
    if words is None:
        assert outcome.status == "passed" and outcome.score == 4, outcome.message
    else:
        assert outcome.score == 0 and words in outcome.message, outcome.message
