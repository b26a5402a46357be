"""Chapter 13's graded questions: a random orthogonal matrix, Keras weights into PyTorch's state dict, and
the gradient of an RNN with a tied recurrent dropout mask.

13.1 asks for the semi-orthogonal factor of a given Gaussian matrix with QR's signs fixed, compared
with ``minigrad.nn.init.orthogonal_`` fed the same Gaussian draw. 13.2 and 13.3 ask for the state
dict of ``nn.LSTM`` and ``nn.GRU`` made from weights in Keras's layout (kernels ``(D, G H)``, gate
orders i, f, c, o and z, r, h, the GRU's two biases as rows of one ``(2, 3H)`` array); the answer
function runs the loaded layer on a given batch, and its output is compared with the output of
the correctly converted layer. 13.4, harder, asks for ∂L/∂W of a tanh RNN whose recurrent
connection carries the same dropout mask at every step (Gal and Ghahramani's variational dropout),
which the chapter names but does not derive, compared with autograd (``Tensor`` operations) and
finite differences.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, grade_derivation, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_orthogonal", "keras_lstm_state_dict", "keras_gru_state_dict",
           "run_layer", "reference_tied_dropout_gradient", "tied_dropout_gradient"]


# ---------------------------------------------------------------------------------- 13.1
class _GivenDraw:
    """A stand-in random generator whose one Gaussian draw is a given matrix."""

    def __init__(self, gaussian: np.ndarray) -> None:
        self.gaussian = gaussian

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        assert tuple(shape) == self.gaussian.shape, (shape, self.gaussian.shape)
        return self.gaussian


def reference_orthogonal(gaussian: np.ndarray) -> np.ndarray:
    """``nn.init.orthogonal_`` of a ``gaussian.shape`` matrix whose Gaussian draw is ``gaussian``.

    For a tall matrix that is :math:`Q \\operatorname{diag}(\\operatorname{sign} r_{ii})` from
    :math:`G = QR`; for a wide one, the transpose of the same for :math:`G^\\top`.
    """
    from minigrad.nn import init

    rows, cols = gaussian.shape
    draw = gaussian if rows >= cols else gaussian.T
    return init.orthogonal_(np.empty(gaussian.shape), rng=_GivenDraw(draw))


def _unsigned_q(gaussian: np.ndarray) -> np.ndarray:
    """The orthogonal factor without the sign fix."""
    if gaussian.shape[0] >= gaussian.shape[1]:
        return np.linalg.qr(gaussian)[0]
    return np.linalg.qr(gaussian.T)[0].T


def _orthogonal_case(label: str, rng: np.random.Generator, rows: int, cols: int) -> dict:
    return {"label": label, "args": [random_array(rng, (rows, cols))]}


def _hidden_orthogonal(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_orthogonal_case("hidden case, 4 x 4", rng, 4, 4),
            _orthogonal_case("hidden case, 3 x 6 (wide)", rng, 3, 6),
            _orthogonal_case("hidden case, 7 x 2", rng, 7, 2))


def _grade_orthogonal(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        (gaussian,) = (build_argument(spec) for spec in case["args"])
        got, expected = numbers(answer), reference_orthogonal(gaussian)
        if close(got, expected):
            continue
        if got.shape != expected.shape:
            return Outcome("failed", 0, f"{first_difference(got, expected)}: return a matrix of the "
                                        f"Gaussian's shape ({case['label']})")
        small = min(got.shape)
        gram = got.T @ got if got.shape[0] >= got.shape[1] else got @ got.T
        error = float(np.abs(gram - np.eye(small)).max())
        if error > 1e-6:
            side = "columns" if got.shape[0] >= got.shape[1] else "rows"
            return Outcome("failed", 0, f"the {side} are not orthonormal: the largest entry of "
                                        f"Q^T Q - I (or Q Q^T - I) is {error:.3g} ({case['label']})")
        if close(got, _unsigned_q(gaussian)):
            return Outcome("failed", 0, f"orthogonal, but without the sign fix: multiply each column "
                                        f"of Q by the sign of R's diagonal entry ({case['label']})")
        return Outcome("failed", 0, f"orthonormal, but not the Q of the Gaussian's QR factorisation "
                                    f"with signs fixed: {first_difference(got, expected)} "
                                    f"({case['label']})")
    return Outcome("passed", 2, f"matches nn.init.orthogonal_ on the same draw {where(cases)}")


# ---------------------------------------------------------------------------- 13.2, 13.3
_KERAS_GRU_ORDER = (1, 0, 2)
"""Keras stores the GRU's blocks as z, r, h; block k of PyTorch's r, z, n is Keras block ORDER[k]."""


def _blocks(array: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Reorder the gate blocks along the first axis."""
    parts = np.split(array, len(order), axis=0)
    return np.concatenate([parts[k] for k in order], axis=0)


def keras_lstm_state_dict(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray) -> dict:
    """``nn.LSTM``'s state dict from Keras's LSTM weights (same gate order i, f, c/g, o; one bias)."""
    return {"weight_ih_l0": kernel.T, "weight_hh_l0": recurrent_kernel.T,
            "bias_ih_l0": bias, "bias_hh_l0": np.zeros_like(bias)}


def keras_gru_state_dict(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray,
                         order: Sequence[int] = _KERAS_GRU_ORDER, bias_rows: Sequence[int] = (0, 1)) -> dict:
    """``nn.GRU``'s state dict from Keras's GRU weights (``reset_after=True``: blocks z, r, h,
    ``bias[0]`` on the input side and ``bias[1]`` on the recurrent side)."""
    return {"weight_ih_l0": _blocks(kernel.T, order), "weight_hh_l0": _blocks(recurrent_kernel.T, order),
            "bias_ih_l0": _blocks(bias[bias_rows[0]], order), "bias_hh_l0": _blocks(bias[bias_rows[1]], order)}


def run_layer(kind: str, state: dict, x: np.ndarray) -> np.ndarray:
    """The output :math:`(T, B, H)` of a one-layer ``nn.LSTM`` or ``nn.GRU`` loaded with ``state``."""
    from minigrad import nn
    from minigrad.tensor import Tensor

    hidden = state["weight_hh_l0"].shape[1]
    layer = getattr(nn, kind)(x.shape[-1], hidden, rng=np.random.default_rng(0))
    layer.load_state_dict(state)
    output, _ = layer(Tensor(x))
    return output.data


def _keras_case(label: str, rng: np.random.Generator, gates: int, steps: int, batch: int,
                inputs: int, hidden: int) -> dict:
    scale = 1.0 / math.sqrt(hidden)
    bias_shape = (2, gates * hidden) if gates == 3 else (gates * hidden,)
    return {"label": label, "args": [random_array(rng, (inputs, gates * hidden), scale),
                                     random_array(rng, (hidden, gates * hidden), scale),
                                     random_array(rng, bias_shape), random_array(rng, (steps, batch, inputs))]}


def _hidden_keras(gates: int):
    def hidden(rng: np.random.Generator) -> tuple[dict, ...]:
        return (_keras_case("hidden case, T = 4, B = 3, D = 2, H = 5", rng, gates, 4, 3, 2, 5),
                _keras_case("hidden case, T = 2, B = 1, D = 3, H = 1", rng, gates, 2, 1, 3, 1))
    return hidden


def _grade_lstm(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        kernel, recurrent, bias, x = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        expected = run_layer("LSTM", keras_lstm_state_dict(kernel, recurrent, bias), x)
        if close(got, expected):
            continue
        twice = {**keras_lstm_state_dict(kernel, recurrent, bias), "bias_hh_l0": bias}
        if got.shape == expected.shape and close(got, run_layer("LSTM", twice, x)):
            return Outcome("failed", 0, f"the bias is counted twice: PyTorch adds bias_ih and bias_hh, "
                                        f"so one of them must be 0 ({case['label']})")
        return Outcome("failed", 0, f"the loaded nn.LSTM differs from the Keras layer: "
                                    f"{first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 2, f"the loaded nn.LSTM matches the Keras layer {where(cases)}")


def _grade_gru(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        kernel, recurrent, bias, x = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        expected = run_layer("GRU", keras_gru_state_dict(kernel, recurrent, bias), x)
        if close(got, expected):
            continue
        slips = (({"order": (0, 1, 2)}, "the gate blocks were kept in Keras's order z, r, h; "
                                        "PyTorch's is r, z, n"),
                 ({"bias_rows": (1, 0)}, "the biases are swapped: bias[0] is Keras's input bias "
                                         "(bias_ih), bias[1] its recurrent bias (bias_hh)"),
                 ({"order": (0, 1, 2), "bias_rows": (1, 0)}, "the gate blocks were kept in Keras's "
                                                             "order and the biases are swapped"))
        for options, reason in slips:
            if got.shape == expected.shape and close(got, run_layer("GRU", keras_gru_state_dict(
                    kernel, recurrent, bias, **options), x)):
                return Outcome("failed", 0, f"{reason} ({case['label']})")
        return Outcome("failed", 0, f"the loaded nn.GRU differs from the Keras layer: "
                                    f"{first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 3, f"the loaded nn.GRU matches the Keras layer {where(cases)}")


# ---------------------------------------------------------------------------------- 13.4
def _tied_dropout_states(x: Any, h0: Any, mask: Any, weight_hh: Any, weight_ih: Any, bias: Any) -> list:
    """h^(1), ..., h^(τ) of a tanh RNN with one dropout mask on its recurrent connection, numpy or ``Tensor``.

    h^(t) = tanh(b + (m ⊙ h^(t-1)) W^T + x^(t) U^T), the same m (entries 0 or 1/(1-p), one row per
    sequence) at every step (Gal and Ghahramani's variational dropout).
    """
    states, h = [], h0
    for x_t in x:
        a = (mask * h) @ weight_hh.T + x_t @ weight_ih.T + bias
        h = a.tanh() if hasattr(a, "tanh") else np.tanh(a)
        states.append(h)
    return states


def _tied_dropout_loss(x, h0, mask, weight_hh, weight_ih, bias, grad_out) -> Any:
    """L = Σ_t Σ grad_out^(t) ⊙ h^(t)."""
    terms = [(h * g).sum() for h, g in zip(_tied_dropout_states(x, h0, mask, weight_hh, weight_ih, bias), grad_out)]
    return sum(terms[1:], terms[0])


def reference_tied_dropout_gradient(x, h0, mask, weight_hh, weight_ih, bias, grad_out) -> dict:
    """∂L/∂W of the RNN with a tied recurrent dropout mask, by autograd and by central differences."""
    from minigrad.bptt import central_differences
    from minigrad.tensor import Tensor

    leaf = Tensor(weight_hh.copy(), requires_grad=True)
    fixed = [Tensor(a) for a in (x, h0, mask)]
    _tied_dropout_loss(*fixed, leaf, Tensor(weight_ih), Tensor(bias), [Tensor(g) for g in grad_out]).backward()
    finite = central_differences(lambda p: float(_tied_dropout_loss(x, h0, mask, p["W"], weight_ih, bias, grad_out)),
                                 {"W": weight_hh})["W"]
    return {"autograd": leaf.grad.copy(), "finite": finite}


def tied_dropout_gradient(x, h0, mask, weight_hh, weight_ih, bias, grad_out, mask_in_recursion: bool = True,
                          mask_in_product: bool = True, through_time: bool = True) -> np.ndarray:
    """∂L/∂W by backpropagation through time, with the mask's two places switchable (for the slips)."""
    states = [h0] + _tied_dropout_states(x, h0, mask, weight_hh, weight_ih, bias)
    grad_w, grad_h = np.zeros_like(weight_hh), np.zeros_like(h0)
    for t in range(len(x), 0, -1):
        grad_a = (1 - states[t] ** 2) * (grad_out[t - 1] + (grad_h if through_time else 0))
        grad_w += grad_a.T @ (mask * states[t - 1] if mask_in_product else states[t - 1])
        grad_h = (grad_a @ weight_hh) * (mask if mask_in_recursion else 1)
    return grad_w


def _tied_dropout_mistakes(*args) -> dict[str, np.ndarray]:
    return {
        "leave the mask out of the recursion: ∂L/∂h^(t-1) = m ⊙ (∇_a^(t) L W)":
            tied_dropout_gradient(*args, mask_in_recursion=False),
        "pair ∇_a^(t) L with h^(t-1): W multiplies the masked state m ⊙ h^(t-1)":
            tied_dropout_gradient(*args, mask_in_product=False),
        "leave the mask out of the backward pass (the plain RNN's BPTT on the dropped-out states)":
            tied_dropout_gradient(*args, mask_in_recursion=False, mask_in_product=False),
        "keep only each step's own term: h^(t) also reaches the loss through h^(t+1), h^(t+2), ...":
            tied_dropout_gradient(*args, through_time=False),
    }


def _tied_dropout_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int, hidden: int,
                       p: float) -> dict:
    keep = rng.random((batch, hidden)) >= p
    keep.flat[0] = True  # one unit kept
    if keep.size > 1:
        keep.flat[-1] = False  # and one dropped, so that a backward pass without the mask differs
    scale = 1.0 / math.sqrt(hidden)
    return {"label": label,
            "args": [random_array(rng, (steps, batch, inputs)), random_array(rng, (batch, hidden), 0.5),
                     {"array": (keep / (1 - p)).tolist()}, random_array(rng, (hidden, hidden), 1.5 * scale),
                     random_array(rng, (hidden, inputs), scale), random_array(rng, (hidden,), 0.3),
                     random_array(rng, (steps, batch, hidden))]}


def _hidden_tied_dropout(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_tied_dropout_case("hidden case, T = 5, B = 3, D = 2, H = 5, p = 0.3", rng, 5, 3, 2, 5, 0.3),
            _tied_dropout_case("hidden case, T = 2, B = 1, D = 3, H = 1, p = 0.2", rng, 2, 1, 3, 1, 0.2))


_grade_tied_dropout = grade_derivation("∂L/∂W", reference_tied_dropout_gradient, _tied_dropout_mistakes, 4,
                                       "of the RNN with a tied recurrent dropout mask")

_VISIBLE_RNG = np.random.default_rng(2013)

QUESTIONS = (
    Question(
        qid="13.1", points=2, title="A random orthogonal matrix", answer="orthogonal", kind="numbers",
        difficulty=1, minutes=10,
        visible=(_orthogonal_case("visible case, 5 x 3", _VISIBLE_RNG, 5, 3),),
        hidden=_hidden_orthogonal, grade=_grade_orthogonal,
        borrowed=("minigrad.nn.init.orthogonal_",),
        hints=("The chapter's recipe under (eq-tricks-orthogonal): factor G = QR with np.linalg.qr, then "
               "flip the sign of each column of Q whose diagonal entry of R is negative.",
               "For m >= n, np.linalg.qr(G) returns Q of shape (m, n) and R of shape (n, n); "
               "Q * np.sign(np.diag(R)) flips column j by the sign of r_jj (broadcast over the rows).",
               "For a wide G (m < n), do the same to G.T, which is tall, and return the transpose: its rows "
               "are orthonormal."),
    ),
    Question(
        qid="13.2", points=2, title="Keras LSTM weights into nn.LSTM", answer="lstm_from_keras",
        difficulty=2, minutes=15,
        kind="numbers",
        visible=(_keras_case("visible case, T = 3, B = 2, D = 3, H = 4", _VISIBLE_RNG, 4, 3, 2, 3, 4),),
        hidden=_hidden_keras(4), grade=_grade_lstm,
        hints=("Keras multiplies from the right (x @ kernel), PyTorch from the left (W_ih x, that is "
               "x @ W_ih.T): the weight matrices are each other's transposes.",
               "Keras's gate order i, f, c, o is PyTorch's i, f, g, o, so no blocks move: "
               "weight_ih_l0 = kernel.T and weight_hh_l0 = recurrent_kernel.T.",
               "nn.LSTM adds both bias_ih_l0 and bias_hh_l0 (the chapter's state-dict mapping: b = bias_ih_l0 "
               "+ bias_hh_l0); Keras has one bias. Put it in one of the two and zeros in the other."),
    ),
    Question(
        qid="13.3", points=3, title="Keras GRU weights into nn.GRU", answer="gru_from_keras",
        difficulty=2, minutes=20,
        kind="numbers",
        visible=(_keras_case("visible case, T = 3, B = 2, D = 3, H = 4", _VISIBLE_RNG, 3, 3, 2, 3, 4),),
        hidden=_hidden_keras(3), grade=_grade_gru,
        hints=("Three things change from 13.2: the kernels are transposed, the gate blocks are in another "
               "order, and the two biases are not interchangeable.",
               "Keras's blocks are z, r, h and nn.GRU's r, z, n: split each transposed kernel and each bias "
               "row into three blocks along the gate axis and put them back in the order r, z, n.",
               "The reset gate multiplies h R_h + b^h_h only, so the biases cannot be merged: bias[0], "
               "reordered, is bias_ih_l0 and bias[1], reordered, is bias_hh_l0."),
    ),
    Question(
        qid="13.4", points=4, title="∂L/∂W with a tied recurrent dropout mask, derived", answer="tied_dropout_grad_W",
        kind="numbers",
        visible=(_tied_dropout_case("visible case, T = 4, B = 2, D = 3, H = 4, p = 0.5", _VISIBLE_RNG, 4, 2, 3, 4,
                                    0.5),),
        hidden=_hidden_tied_dropout, grade=_grade_tied_dropout,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=30,
        hints=("Chapter 4's BPTT with one change: W now multiplies m ⊙ h^(t-1), not h^(t-1). Draw one step "
               "and mark where m sits between h^(t-1) and a^(t).",
               "Backwards from t = τ: ∇_a^(t) L = (1 - (h^(t))²) ⊙ (g^(t) + ∇_h^(t) L from step t + 1). The "
               "mask appears twice: in what ∇_a^(t) L is paired with for ∇_W, and on the way back to h^(t-1).",
               "∇_W L += (∇_a^(t) L)^T (m ⊙ h^(t-1)) summed over the batch, and ∇_h^(t-1) L = m ⊙ (∇_a^(t) L W): "
               "the same m at every step, so it is applied at every step of the recursion."),
        reference=lambda case: reference_tied_dropout_gradient(
            *(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
