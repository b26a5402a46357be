"""Chapter 8's graded questions: references agree with finite differences, right answers pass, slips are named."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad.grading import ch08
from minigrad.grading.questions import QUESTIONS
from minigrad.grading.wire import build_argument

from grading_helpers import outcome


def _cases(qid, seed=0):
    question = QUESTIONS[qid]
    for case in [*question.visible, *question.hidden(np.random.default_rng(seed))]:
        yield [build_argument(spec) for spec in case["args"]]


# ------------------------------------------------------------------------------ 8.4, a skip connection in time
def skip_jacobian(W, W_skip, d, states, t, skip=True, before_t=0.0, skip_derivative=True, transpose=False):
    """The recursion J_k = D_k (W J_(k-1) + W_skip J_(k-d)), written as a student would, with switches for slips."""
    H = W.shape[0]
    J = {t: np.eye(H)}
    for k in range(t + 1, len(states) + 1):
        D = np.diag(1 - states[k - 1] ** 2)
        earlier = J[k - d] if k - d >= t else (before_t * np.eye(H) if k - d >= 1 else np.zeros((H, H)))
        skipped = W_skip @ earlier if skip else np.zeros((H, H))
        J[k] = D @ W @ J[k - 1] + (D @ skipped if skip_derivative else skipped)
    return J[len(states)].T if transpose else J[len(states)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_8_4_reference_agrees_with_finite_differences_in_float64(seed):
    for args in _cases("8.4", seed):
        references = ch08.reference_skip_jacobian(*args)
        assert references["autograd"].dtype == np.float64
        np.testing.assert_allclose(references["autograd"], references["finite"], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(references["autograd"], skip_jacobian(*args), rtol=1e-12, atol=1e-14)


def test_8_4_reduces_to_8_1_without_the_skip_matrix():
    W, W_skip, d, states, t = next(_cases("8.4"))
    states = ch08.skip_rnn_states(W, 0 * W_skip, d, np.random.default_rng(1).normal(size=states.shape))
    expected = ch08.reference_jacobian_product(W, states, t)
    np.testing.assert_allclose(ch08.reference_skip_jacobian(W, 0 * W_skip, d, states, t)["autograd"], expected,
                               rtol=1e-12, atol=1e-14)


def test_8_4_states_are_what_the_recurrence_gives():
    rng = np.random.default_rng(3)
    W, W_skip, drives = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(6, 3))
    states = ch08.skip_rnn_states(W, W_skip, 2, drives)
    padded = np.vstack([np.zeros((2, 3)), states])
    for k in range(1, 7):  # padded[k + 1] is h^(k)
        np.testing.assert_allclose(padded[k + 1], np.tanh(W @ padded[k] + W_skip @ padded[k - 1] + drives[k - 1]))


def test_8_4_right_answer_scores_full_marks_on_several_seeds():
    for seed in range(4):
        result = outcome("8.4", skip_jacobian, seed=seed)
        assert result.status == "passed" and result.score == 4 and "3 hidden cases" in result.message, result.message


@pytest.mark.parametrize("options, words", [
    ({"skip": False}, "only the one-step path"),
    ({"before_t": 1.0}, "zero, not the identity"),
    ({"skip_derivative": False}, "inside the tanh"),
    ({"transpose": True}, "transpose"),
])
def test_8_4_names_each_slip(options, words):
    result = outcome("8.4", lambda *args: skip_jacobian(*args, **options))
    assert result.status == "failed" and result.score == 0 and words in result.message, result.message


def test_8_4_stub_blank_and_fitted_answers_score_nothing():
    def stub(*args):
        raise NotImplementedError("replace this line with your code")

    assert outcome("8.4", stub).status == "not attempted"
    blank = outcome("8.4", lambda W, *args: np.zeros_like(W))
    assert blank.status == "failed" and blank.score == 0
    fixed = skip_jacobian(*next(_cases("8.4")))
    fitted = outcome("8.4", lambda *args: fixed)
    assert fitted.score == 0 and "hidden case" in fitted.message, fitted.message


def test_8_4_is_labelled_hard_bans_autograd_and_has_hints():
    question = QUESTIONS["8.4"]
    assert (question.difficulty, question.points) == (3, 4) and 2 <= len(question.hints) <= 3
    assert question.borrowed == ("minigrad.autograd.backward",)
