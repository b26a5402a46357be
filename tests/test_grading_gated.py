"""Chapters 8-10's graded questions: references against autograd and finite differences, and the
diagnoses a wrong answer gets."""

import numpy as np
import pytest
import sympy as sp

from minigrad import Tensor, nn
from minigrad.bptt import central_differences
from minigrad.grading import ch08, ch09, ch10
from minigrad.grading.wire import build_argument, decode_expression, encode_expression, probe
from minigrad.symbolic import equal, sigmoid


def _grade(question, answer, rng_seed=0):
    """Probe ``answer`` on the visible and hidden cases and grade it, as the grader does."""
    cases = list(question.visible) + list(question.hidden(np.random.default_rng(rng_seed)))
    results = [probe(question.kind, answer, case) for case in cases]
    assert all("ok" in r for r in results), results
    return question.grade(cases, [r["ok"] for r in results])


def _question(module, qid):
    return next(q for q in module.QUESTIONS if q.qid == qid)


# ------------------------------------------------------------------------------ chapter 8
def test_jacobian_product_matches_autograd_through_an_rnn_cell():
    rng = np.random.default_rng(0)
    cell = nn.RNNCell(2, 3, rng=rng)
    h, states = None, []
    for x in rng.normal(size=(5, 2)):
        h = cell(Tensor(x), h).retain_grad()
        states.append(h)
    h[1].backward()
    product = ch08.reference_jacobian_product(cell.weight_hh.data, np.array([s.data for s in states]), 2)
    np.testing.assert_allclose(product[1], states[1].grad, atol=1e-12)


def test_gradient_norms_match_the_jacobian_product():
    rng = np.random.default_rng(1)
    W, states = rng.normal(size=(4, 4)) / 2, np.tanh(rng.normal(size=(6, 4)))
    g = rng.normal(size=4)
    norms = ch08.reference_gradient_norms(W, states, g)
    for lag in range(6):
        expected = np.linalg.norm(ch08.reference_jacobian_product(W, states, 6 - lag).T @ g)
        assert norms[lag] == pytest.approx(expected, rel=1e-12)


def test_chapter_8_diagnoses():
    q81, q82, q83 = ch08.QUESTIONS[:3]
    transposed = lambda W, states, t: ch08.reference_jacobian_product(W, states, int(t)).T  # noqa: E731
    assert "transpose" in _grade(q81, transposed).message
    by_time = lambda W, states, g: ch08.reference_gradient_norms(W, states, g)[::-1]  # noqa: E731
    outcome = _grade(q82, by_time)
    assert outcome.status == "failed" and "time order" in outcome.message
    separately = lambda wg, bg, c: np.concatenate(  # noqa: E731
        [g.ravel() * min(1.0, c / np.linalg.norm(g)) for g in (wg, bg)])
    assert "on its own" in _grade(q83, separately).message
    assert _grade(q83, ch08.reference_clip).status == "passed"


# ------------------------------------------------------------------------------ chapter 9
def _cases(question):
    """The visible and the hidden cases of ``question``, each as its list of arguments."""
    cases = list(question.visible) + list(question.hidden(np.random.default_rng(0)))
    return [[build_argument(spec) for spec in case["args"]] for case in cases]


def test_update_gate_gradient_reference_matches_finite_differences():
    # the graders' messages say "differs from autograd and finite differences": hold them to it
    for args in _cases(_question(ch09, "9.2")):
        x, h, *weights, grad_out = args
        _, z, n = ch09._gates(x, h, *weights)
        finite = central_differences(lambda p: float(np.sum(grad_out * (p["u"] * n + (1 - p["u"]) * h))),
                                     {"u": 1 - z})["u"]
        np.testing.assert_allclose(ch09.reference_update_gate_gradients(*args)[0], finite, atol=1e-8)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's GRU step written out in numpy, independently of the grader's reference."""
    xr, xz, xn = np.split(x @ weight_ih.T + bias_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ weight_hh.T + bias_hh, 3, axis=-1)
    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def numpy_lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's LSTM step (gates i, f, g, o) in numpy: ``np.stack([h', c'])``."""
    i, f, g, o = np.split(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 4, axis=-1)
    c_next = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return np.stack([_sigmoid(o) * np.tanh(c_next), c_next])


def test_chapter_9_diagnoses():
    q91, q92, q93 = ch09.QUESTIONS[:3]
    assert _grade(q91, ch09.reference_gru_step).status == "passed"
    assert _grade(q91, numpy_gru_step).status == "passed"

    def swapped(x, h, *weights):
        r, z, n = ch09._gates(x, h, *weights)
        return z * n + (1 - z) * h

    assert "swapped" in _grade(q91, swapped).message

    def dL_dz(*args):
        good = ch09.reference_update_gate_gradients(*args)
        return np.stack([-good[0], good[1]])

    outcome = _grade(q92, dL_dz)
    assert outcome.score == 1 and "∂L/∂z" in outcome.message
    no_copy = lambda h, x, w_u, v_u, b_u, w, v, b: (  # noqa: E731
        ch09.simplified_gru_derivative(h, x, w_u, v_u, b_u, w, v, b) - (1 - sigmoid(b_u + w_u * h + v_u * x)))
    assert "copy path" in _grade(q93, no_copy).message
    wrong = lambda h, x, w_u, v_u, b_u, w, v, b: w * h  # noqa: E731
    message = _grade(q93, wrong).message
    assert "autograd gives" in message and "finite differences" in message


@pytest.mark.parametrize("order", ["z, r, n", "r, n, z", "n, z, r"])
def test_9_1_names_a_wrong_gate_order(order):
    """Issue 22: the blocks read in another order (z, r, n is some textbooks' order) are recognised."""
    q91 = _question(ch09, "9.1")
    position = {name: k for k, name in enumerate(order.split(", "))}

    def misread(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
        def gate(a, name):
            return np.split(a, 3, axis=-1)[position[name]]
        gi, gh = x @ weight_ih.T + bias_ih, h @ weight_hh.T + bias_hh
        r = 1 / (1 + np.exp(-(gate(gi, "r") + gate(gh, "r"))))
        z = 1 / (1 + np.exp(-(gate(gi, "z") + gate(gh, "z"))))
        n = np.tanh(gate(gi, "n") + r * gate(gh, "n"))
        return (1 - z) * n + z * h

    outcome = _grade(q91, misread)
    assert outcome.score == 0 and f"in the order {order}" in outcome.message


def test_9_2_names_the_two_gradients_stacked_in_the_wrong_order():
    """Student walk-through: np.stack([dL_da_u, dL_du]) was not recognised (only "the swapped numbers")."""
    swapped = lambda *args: ch09.reference_update_gate_gradients(*args)[::-1]  # noqa: E731
    outcome = _grade(_question(ch09, "9.2"), swapped)
    assert outcome.score == 0 and "stacked in the wrong order" in outcome.message, outcome.message
    assert "np.stack([dL_du, dL_da_u])" in outcome.message


@pytest.mark.parametrize("order", ["z, r, n", "r, n, z"])
def test_9_2_names_a_wrong_gate_order(order):
    """As in 9.1: u and n computed from weight blocks read in another order."""
    position = [order.split(", ").index(name) for name in ("r", "z", "n")]

    def misread(x, h, *blocks_and_grad):
        *weights, grad_out = blocks_and_grad
        restacked = [np.concatenate([np.split(w, 3)[k] for k in position]) for w in weights]
        return ch09.reference_update_gate_gradients(x, h, *restacked, grad_out)

    outcome = _grade(_question(ch09, "9.2"), misread)
    assert outcome.score == 0 and f"in the order {order}" in outcome.message, outcome.message


def test_9_3_names_u_treated_as_a_constant():
    """Student walk-through: treating u as constant got only the generic message."""
    def constant_u(h, x, w_u, v_u, b_u, w, v, b):
        u = sigmoid(b_u + w_u * h + v_u * x)
        return (1 - u) + u * (1 - sp.tanh(b + w * h + v * x) ** 2) * w

    outcome = _grade(_question(ch09, "9.3"), constant_u)
    assert outcome.score == 0 and "treats u as a constant" in outcome.message, outcome.message


def _gru_dh(tanh_prime):
    """A correct 9.3 answer with tanh'(a) written by ``tanh_prime``."""
    def answer(h, x, w_u, v_u, b_u, w, v, b):
        u = sigmoid(b_u + w_u * h + v_u * x)
        a = b + w * h + v * x
        du = w_u * u * (1 - u)
        return du * sp.tanh(a) + u * tanh_prime(a) * w + (1 - u) - du * h
    return answer


@pytest.mark.parametrize("tanh_prime", [lambda a: 1 - sp.tanh(a) ** 2, lambda a: sp.sech(a) ** 2,
                                        lambda a: 1 / sp.cosh(a) ** 2,
                                        lambda a: 4 * sp.exp(2 * a) / (sp.exp(2 * a) + 1) ** 2])
def test_9_3_accepts_every_form_of_tanh_prime(tanh_prime):
    """Issue 22, bug 1: sech² and 1/cosh² were marked wrong while printing three equal numbers."""
    assert _grade(_question(ch09, "9.3"), _gru_dh(tanh_prime)).status == "passed"


def test_9_3_prints_enough_digits_to_see_the_difference():
    wrong = _gru_dh(lambda a: 1 - sp.tanh(a) ** 2 + sp.Rational(1, 10**7))
    message = _grade(_question(ch09, "9.3"), wrong).message
    it, rest = message.split("it is ")[1].split(", autograd gives ")
    assert it != rest.split(" and ")[0], message


# ------------------------------------------------------------------------------ chapter 10
def test_cell_jacobian_reference_is_the_forget_gate_diagonal():
    case = _question(ch10, "10.2").visible[0]
    x, h, c, weight_ih, weight_hh, bias_ih, bias_hh = (build_argument(spec) for spec in case["args"])
    f = np.split(weight_ih @ x + bias_ih + weight_hh @ h + bias_hh, 4)[1]
    jacobian = ch10.reference_cell_jacobian(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    np.testing.assert_allclose(jacobian, np.diag(1 / (1 + np.exp(-f))), atol=1e-12)


def test_cell_jacobian_reference_matches_finite_differences():
    for x, h, c, *weights in _cases(_question(ch10, "10.2")):
        finite = [central_differences(lambda p: float(ch10.reference_lstm_step(x, h, p["c"], *weights)[1][i]),
                                      {"c": c})["c"] for i in range(len(c))]
        np.testing.assert_allclose(ch10.reference_cell_jacobian(x, h, c, *weights), finite, atol=1e-8)


def test_chapter_10_diagnoses():
    q101, q102, q103 = ch10.QUESTIONS[:3]
    assert _grade(q101, ch10.reference_lstm_step).status == "passed"
    assert _grade(q101, numpy_lstm_step).status == "passed"
    keras_order = lambda *args: ch10._with_gate_order("ifog", *args)  # noqa: E731
    assert "order i, f, o, g" in _grade(q101, keras_order).message
    diagonal = lambda *args: np.diag(ch10.reference_cell_jacobian(*args))  # noqa: E731
    assert "diagonal only" in _grade(q102, diagonal).message
    no_forget = lambda h, c, x, w, v, b: (  # noqa: E731
        ch10.scalar_dc_dh(h, c, x, w, v, b)
        - c * sigmoid(b[1] + w[1] * h + v[1] * x) * (1 - sigmoid(b[1] + w[1] * h + v[1] * x)) * w[1])
    assert "forget gate" in _grade(q103, no_forget).message
    assert _grade(q103, ch10.scalar_dc_dh).status == "passed"


def test_sigmoid_expressions_cross_the_wire_and_differentiate_as_expected():
    a, h, x = sp.symbols("a h x")
    assert equal(sp.diff(sigmoid(a), a), sigmoid(a) * (1 - sigmoid(a)))
    assert not equal(sp.diff(sigmoid(a), a), sigmoid(a))
    expr = sigmoid(h) * sp.tanh(x)
    assert equal(decode_expression(encode_expression(expr)), expr)


# ------------------------------------------------------------------------------ 9.4, the minimal gated unit
def mgu_state_gradient(x, h, weight_ih, weight_hh, bias, grad_out, copy=True, gate=True, reset_in_gate=True):
    H = h.shape[1]
    W_if, W_in, W_hf, W_hn = weight_ih[:H], weight_ih[H:], weight_hh[:H], weight_hh[H:]
    f = 1 / (1 + np.exp(-(x @ W_if.T + h @ W_hf.T + bias[:H])))
    n = np.tanh(x @ W_in.T + (f * h) @ W_hn.T + bias[H:])
    m = (grad_out * f * (1 - n ** 2)) @ W_hn
    grad_f = grad_out * (n - h) + (m * h if reset_in_gate else 0)
    return grad_out * (1 - f) * copy + m * f + ((grad_f * f * (1 - f)) @ W_hf) * gate


def test_the_mgu_reference_agrees_with_finite_differences():
    for args in _cases(_question(ch09, "9.4")):
        refs = ch09.reference_mgu_state_gradient(*args)
        np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"copy": False}, "copy path"),
    ({"gate": False}, "through the gate f"),
    ({"reset_in_gate": False}, "reset role"),
])
def test_9_4_passes_the_derivation_and_names_each_missing_path(options, words):
    outcome = _grade(_question(ch09, "9.4"), lambda *args: mgu_state_gradient(*args, **options))
    if words is None:
        assert outcome.status == "passed" and outcome.score == 4, outcome.message
    else:
        assert outcome.score == 0 and words in outcome.message, outcome.message


# ------------------------------------------------------------------------------ 10.4, the peephole LSTM
def peephole_cell_gradient(x, h, c, weight_ih, weight_hh, bias, peephole, grad_out, gate_peepholes=True,
                           output_peephole=True):
    a_i, a_f, a_g, a_o = np.split(x @ weight_ih.T + h @ weight_hh.T + bias, 4, axis=-1)
    p_i, p_f, p_o = peephole
    i, f, g = 1 / (1 + np.exp(-(a_i + p_i * c))), 1 / (1 + np.exp(-(a_f + p_f * c))), np.tanh(a_g)
    c_next = f * c + i * g
    o, t = 1 / (1 + np.exp(-(a_o + p_o * c_next))), np.tanh(c_next)
    grad_c_next = grad_out * (o * (1 - t ** 2) + t * o * (1 - o) * p_o * output_peephole)
    return grad_c_next * (f + (c * f * (1 - f) * p_f + g * i * (1 - i) * p_i) * gate_peepholes)


def test_the_peephole_reference_agrees_with_finite_differences():
    for args in _cases(_question(ch10, "10.4")):
        refs = ch10.reference_peephole_cell_gradient(*args)
        np.testing.assert_allclose(refs["autograd"], refs["finite"], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("options, words", [
    ({}, None),
    ({"gate_peepholes": False}, "peepholes of the input and forget gates"),
    ({"output_peephole": False}, "output gate's peephole"),
    ({"gate_peepholes": False, "output_peephole": False}, "the plain LSTM's answer"),
])
def test_10_4_passes_the_derivation_and_names_each_missing_path(options, words):
    outcome = _grade(_question(ch10, "10.4"), lambda *args: peephole_cell_gradient(*args, **options))
    if words is None:
        assert outcome.status == "passed" and outcome.score == 4, outcome.message
    else:
        assert outcome.score == 0 and words in outcome.message, outcome.message


def test_9_2_names_a_flipped_sign_and_does_not_blame_sigma_prime_for_a_wrong_du():
    """The student walkthrough: a minus sign in ∂L/∂a_u got only "σ'(a) = σ(a)(1 - σ(a))"."""
    q92 = _question(ch09, "9.2")

    def flipped(*args):
        good = ch09.reference_update_gate_gradients(*args)
        return np.stack([good[0], -good[1]])

    outcome = _grade(q92, flipped)
    assert outcome.score == 2 and "exactly minus the expected one" in outcome.message

    def dL_dz(*args):
        good = ch09.reference_update_gate_gradients(*args)
        return np.stack([-good[0], -good[1]])

    message = _grade(q92, dL_dz).message
    assert "∂L/∂z" in message and "σ'(a)" not in message
