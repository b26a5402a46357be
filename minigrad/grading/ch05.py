"""Chapter 5's graded questions: teacher forcing, running free, pattern C's readout, parameter counts.

5.1 asks for the inputs z^(t-1) that teacher forcing feeds pattern B: the one-hot previous targets,
with the zero vector at t = 1. 5.2 asks for the logits of pattern B running free, feeding back
softmax(o^(t-1)). 5.3 asks for pattern C's output o = c + V h^(n) of every sequence of a padded
batch, read at each sequence's own length n. 5.4 asks for the parameter counts of patterns A, B and
C. Every answer is compared, on hidden random inputs of other sizes, with ``minigrad``'s own
modules (``JordanRNN``, ``SummaryRNN``, ``ElmanRNN``). Sequences are time-major: ``x`` is
(τ, B, D), and the weights have the book's shapes, U (H, D), W (H, H) or (H, O), V (O, H).
5.5, harder, asks for ∇_W L of pattern B running free, where the gradient flows back through the
fed-back softmax, which the chapter does not derive; it is compared with autograd (``Tensor``
operations) and finite differences.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, numbers, random_array, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_teacher_inputs", "reference_free_run", "reference_readout",
           "reference_counts", "reference_free_run_gradient"]

_ATOL = 1e-9


def _same(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and np.allclose(
        got, expected, rtol=0, atol=_ATOL)


_first_difference = functools.partial(first_difference, rtol=0, atol=_ATOL, digits=4)


# ---------------------------------------------------------------------------------- 5.1
def reference_teacher_inputs(y: np.ndarray, num_classes: int) -> np.ndarray:
    """z^(t-1) under teacher forcing: 0 at t = 1, then the one-hot code of y^(t-1); (τ, B, O)."""
    previous = np.concatenate([np.full((1, y.shape[1]), -1), y[:-1]], axis=0)
    return np.eye(num_classes)[previous] * (previous >= 0)[..., None]


def _teacher_case(label: str, rng: np.random.Generator, steps: int, batch: int, classes: int) -> dict:
    return {"label": label,
            "args": [{"integers": rng.integers(0, classes, size=(steps, batch)).tolist()}, {"number": classes}]}



def _wrong_shape(got: np.ndarray, expected: np.ndarray, axes: str, case: dict) -> Outcome:
    """The failure for an answer of the wrong shape, naming the axes the expected shape stands for."""
    return Outcome("failed", 0, f"returns shape {got.shape}, expected {axes} = {expected.shape} ({case['label']})")

def _hidden_teacher(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_teacher_case("hidden case, τ = 1, B = 2, O = 3", rng, 1, 2, 3),
            _teacher_case("hidden case, τ = 7, B = 5, O = 6", rng, 7, 5, 6))


def _grade_teacher(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        y, classes = (build_argument(spec) for spec in case["args"])
        expected = reference_teacher_inputs(y, classes)
        got = numbers(answer)
        if got.shape != expected.shape:
            return _wrong_shape(got, expected, "(τ, B, O)", case)
        if _same(got, expected):
            continue
        if _same(got, np.eye(classes)[y]):
            return Outcome("failed", 0, f"step t is fed its own target y^(t), which it would simply copy: "
                                        f"feed the previous target y^(t-1) ({case['label']})")
        if y.shape[0] > 1 and _same(got[1:], expected[1:]):
            return Outcome("failed", 1, f"right from t = 2 on, but at t = 1 there is no previous output: "
                                        f"feed the zero vector there ({case['label']})")
        return Outcome("failed", 0, f"{_first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 2, f"equals the teacher-forced inputs {where(cases)}")


# ---------------------------------------------------------------------------------- 5.2
_JORDAN_ARGS = ("x", "U", "W", "V", "b", "c")


def _jordan(weights: dict, feedback: str) -> Any:
    from minigrad.nn import JordanRNN

    hidden, inputs = weights["U"].shape
    model = JordanRNN(inputs, hidden, weights["V"].shape[0], feedback=feedback, rng=np.random.default_rng(0))
    model.load_state_dict(weights)
    return model


def reference_free_run(x: np.ndarray, U: np.ndarray, W: np.ndarray, V: np.ndarray, b: np.ndarray,
                       c: np.ndarray, feedback: str = "softmax") -> np.ndarray:
    """Logits (τ, B, O) of ``JordanRNN`` running free with these weights."""
    from minigrad.autograd import no_grad

    with no_grad():
        return _jordan({"U": U, "W": W, "V": V, "b": b, "c": c}, feedback)(x)[0].data


def _no_feedback(x: np.ndarray, U, W, V, b, c) -> np.ndarray:
    """The logits with z^(t-1) = 0 at every step: the loop never feeds anything back."""
    from minigrad.autograd import no_grad

    with no_grad():
        model = _jordan({"U": U, "W": W, "V": V, "b": b, "c": c}, "softmax")
        return model(x, np.zeros(x.shape[:2] + (V.shape[0],)))[0].data


def _free_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int, hidden: int,
               outputs: int) -> dict:
    return {"label": label,
            "args": [random_array(rng, (steps, batch, inputs)), random_array(rng, (hidden, inputs), 0.8),
                     random_array(rng, (hidden, outputs), 1.5), random_array(rng, (outputs, hidden), 1.5),
                     random_array(rng, (hidden,), 0.3), random_array(rng, (outputs,), 0.3)]}


def _hidden_free(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_free_case("hidden case, τ = 1, B = 1, D = 2, H = 3, O = 2", rng, 1, 1, 2, 3, 2),
            _free_case("hidden case, τ = 8, B = 3, D = 4, H = 5, O = 3", rng, 8, 3, 4, 5, 3))


def _grade_free(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        args = [build_argument(spec) for spec in case["args"]]
        expected = reference_free_run(*args)
        got = numbers(answer)
        if got.shape != expected.shape:
            return _wrong_shape(got, expected, "(τ, B, O)", case)
        if _same(got, expected):
            continue
        if expected.shape[0] > 1 and _same(got, _no_feedback(*args)):
            return Outcome("failed", 0, f"these are the logits with z^(t-1) = 0 at every step: feed back "
                                        f"softmax(o^(t-1)) from each step to the next ({case['label']})")
        if _same(got, reference_free_run(*args, feedback="identity")):
            return Outcome("failed", 1, f"you feed back the logits o^(t-1); feed back the prediction "
                                        f"softmax(o^(t-1)) ({case['label']})")
        return Outcome("failed", 0, f"{_first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 3, f"equals JordanRNN running free {where(cases)}")


# ---------------------------------------------------------------------------------- 5.3
def _summary(weights: dict) -> Any:
    from minigrad.nn import SummaryRNN

    hidden, inputs = weights["U"].shape
    model = SummaryRNN(inputs, hidden, weights["V"].shape[0], rng=np.random.default_rng(0))
    model.load_state_dict(weights)
    return model


def reference_readout(x: np.ndarray, lengths: np.ndarray, U, W, V, b, c) -> np.ndarray:
    """o = c + V h^(n_b) for each sequence b of a padded batch, by ``SummaryRNN`` on each sequence alone."""
    from minigrad.autograd import no_grad

    model = _summary({"U": U, "W": W, "V": V, "b": b, "c": c})
    with no_grad():
        return np.concatenate([model(x[:int(n), column:column + 1]).data for column, n in enumerate(lengths)])


def _readout_case(label: str, rng: np.random.Generator, steps: int, lengths: list[int], inputs: int,
                  hidden: int, outputs: int) -> dict:
    x = np.round(rng.normal(size=(steps, len(lengths), inputs)), 3)
    for column, n in enumerate(lengths):
        x[n:, column] = np.round(rng.normal(scale=3.0, size=(steps - n, inputs)), 3)  # padding: junk
    return {"label": label,
            "args": [{"array": x.tolist()}, {"integers": lengths}, random_array(rng, (hidden, inputs), 0.8),
                     random_array(rng, (hidden, hidden), 0.8), random_array(rng, (outputs, hidden), 1.0),
                     random_array(rng, (hidden,), 0.3), random_array(rng, (outputs,), 0.3)]}


def _hidden_readouts(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_readout_case("hidden case, T = 1, B = 1", rng, 1, [1], 2, 3, 2),
            _readout_case("hidden case, T = 7, B = 4", rng, 7, [1, 7, 3, int(rng.integers(2, 7))], 3, 5, 4))


def _grade_readout(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        x, lengths, U, W, V, b, c = (build_argument(spec) for spec in case["args"])
        expected = reference_readout(x, lengths, U, W, V, b, c)
        got = numbers(answer)
        if got.shape != expected.shape:
            return _wrong_shape(got, expected, "(B, O)", case)
        if _same(got, expected):
            continue
        at_end = reference_readout(x, np.full_like(lengths, x.shape[0]), U, W, V, b, c)
        if _same(got, at_end):
            return Outcome("failed", 1, f"you read every sequence at the padded end t = T: read sequence b "
                                        f"at its own length n_b, before the padding ({case['label']})")
        bad = [column for column in range(len(lengths)) if not _same(got[column], expected[column])]
        return Outcome("failed", 0, f"sequence {bad[0]} (length {int(lengths[bad[0]])}): "
                                    f"{_first_difference(got[bad[0]], expected[bad[0]])} ({case['label']})")
    return Outcome("passed", 3, f"equals SummaryRNN run on each sequence alone {where(cases)}")


# ---------------------------------------------------------------------------------- 5.4
def reference_counts(input_size: int, hidden_size: int, output_size: int) -> np.ndarray:
    """Numbers of parameters of ``ElmanRNN``, ``JordanRNN`` and ``SummaryRNN`` of these sizes."""
    from minigrad.nn import ElmanRNN, JordanRNN, SummaryRNN

    sizes = (input_size, hidden_size, output_size)
    return np.array([sum(p.data.size for p in cls(*sizes, rng=np.random.default_rng(0)).parameters())
                     for cls in (ElmanRNN, JordanRNN, SummaryRNN)], dtype=np.float64)


def _count_case(label: str, sizes: tuple[int, int, int]) -> dict:
    return {"label": label, "args": [{"number": n} for n in sizes]}


def _hidden_counts(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_count_case("hidden case, D = 1, H = 1, O = 1", (1, 1, 1)),
            _count_case("hidden case, larger sizes",
                        (int(rng.integers(5, 30)), int(rng.integers(31, 80)), int(rng.integers(2, 10)))))


def _grade_counts(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    names = ("pattern A", "pattern B", "pattern C")
    for case, answer in zip(cases, answers):
        sizes = tuple(build_argument(spec) for spec in case["args"])
        expected = reference_counts(*sizes)
        got = numbers(answer)
        shape = got.shape
        if shape != (3,):
            return Outcome("failed", 0, f"returns shape {shape}: return three counts, for patterns A, B "
                                        f"and C ({case['label']})")
        if np.array_equal(got, expected):
            continue
        wrong = [i for i in range(3) if got[i] != expected[i]]
        hint = ""
        if 1 in wrong and got[1] == expected[0]:
            hint = ": in pattern B, W maps the output back to the hidden layer, so it is H × O, not H × H"
        first = wrong[0]
        return Outcome("failed", 0, f"{names[first]} has {expected[first]:.0f} parameters with D, H, O = "
                                    f"{sizes}, you say {got[first]:g}{hint} ({case['label']})")
    return Outcome("passed", 2, f"the three counts match the modules' parameters {where(cases)}")


# ---------------------------------------------------------------------------------- 5.5
_FREE_GRADIENT_ARGS = ("x", "Y", "h", "y_hat", "U", "W", "V")


def _free_forward(x: Any, params: dict, softmax: Any) -> tuple[list, list]:
    """States and outputs of pattern B running free on one sequence (numpy arrays or ``Tensor``s)."""
    fed_back, states, outputs = None, [], []
    for t in range(len(x)):
        a = params["U"] @ x[t]
        if fed_back is not None:
            a = a + params["W"] @ fed_back
        states.append(a.tanh() if hasattr(a, "tanh") else np.tanh(a))
        outputs.append(softmax(params["V"] @ states[-1]))
        fed_back = outputs[-1]
    return states, outputs


def _numpy_softmax(o: np.ndarray) -> np.ndarray:
    return np.exp(o - np.logaddexp.reduce(o))


def _free_gradient_case(label: str, seed: int, steps: int, inputs: int, hidden: int, classes: int) -> dict:
    """One sequence of pattern B running free (biases zero), with its forward pass, as plain data."""
    rng = np.random.default_rng(seed)
    params = {"U": rng.normal(size=(hidden, inputs)), "W": rng.normal(scale=1.5, size=(hidden, classes)),
              "V": rng.normal(size=(classes, hidden))}
    x = rng.normal(size=(steps, inputs))
    states, outputs = _free_forward(x, params, _numpy_softmax)
    arrays = {"x": x, "Y": np.eye(classes)[rng.integers(0, classes, size=steps)], "h": np.array(states),
              "y_hat": np.array(outputs), **params}
    return {"label": label, "args": [{"array": arrays[name].tolist()} for name in _FREE_GRADIENT_ARGS]}


def reference_free_run_gradient(case: dict) -> dict[str, np.ndarray]:
    """∇_W L of pattern B running free, L = -Σ_t log ŷ^(t)_{y^(t)}, by autograd and by central differences."""
    from minigrad import Tensor
    from minigrad import functional as F
    from minigrad.bptt import central_differences

    a = dict(zip(_FREE_GRADIENT_ARGS, (build_argument(spec) for spec in case["args"])))
    W = Tensor(a["W"].copy(), requires_grad=True)
    _, outputs = _free_forward([Tensor(row) for row in a["x"]], {"U": Tensor(a["U"]), "W": W, "V": Tensor(a["V"])},
                               F.softmax)
    loss = None
    for y_hat, target in zip(outputs, a["Y"]):
        term = -(y_hat * Tensor(target)).sum().log()
        loss = term if loss is None else loss + term
    loss.backward()

    def numpy_loss(p: dict) -> float:
        _, probabilities = _free_forward(a["x"], {"U": a["U"], "W": p["W"], "V": a["V"]}, _numpy_softmax)
        return float(-sum(np.log(y @ target) for y, target in zip(probabilities, a["Y"])))

    return {"autograd": W.grad.copy(), "finite": central_differences(numpy_loss, {"W": a["W"]})["W"]}


def _free_gradient_mistakes(a: dict) -> dict[str, np.ndarray]:
    """∇_W L with the feedback path handled wrongly."""
    steps = a["x"].shape[0]
    grad_o_direct = a["y_hat"] - a["Y"]

    def gradient(through_softmax: bool, feedback: bool) -> np.ndarray:
        grad_a = np.zeros_like(a["h"])
        for t in range(steps - 1, -1, -1):
            grad_o = grad_o_direct[t].copy()
            if feedback and t + 1 < steps:
                grad_z = a["W"].T @ grad_a[t + 1]
                y = a["y_hat"][t]
                grad_o += (y * grad_z - y * (y @ grad_z)) if through_softmax else grad_z
            grad_a[t] = (1 - a["h"][t] ** 2) * (a["V"].T @ grad_o)
        return grad_a[1:].T @ a["y_hat"][:-1]

    return {
        "treat the fed-back outputs as constants (as under teacher forcing): ŷ^(t) depends on W too":
            gradient(True, False),
        "pass the gradient back through the fed-back ŷ^(t) without the softmax's Jacobian diag(ŷ) - ŷ ŷ^T":
            gradient(False, True),
    }


def _grade_free_gradient(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        got, references = numbers(answer), reference_free_run_gradient(case)
        if close(got, references["autograd"]):
            if close(got, references["finite"], 1e-6):
                continue
            return Outcome("failed", 0, f"dL/dW differs from finite differences: "
                                        f"{first_difference(got, references['finite'])} ({case['label']})")
        arrays = dict(zip(_FREE_GRADIENT_ARGS, (build_argument(spec) for spec in case["args"])))
        hint = next((f"; this is what you get if you {why}" for why, wrong in _free_gradient_mistakes(arrays).items()
                     if close(got, wrong)), "")
        return Outcome("failed", 0, f"dL/dW differs from autograd: {first_difference(got, references['autograd'])}"
                                    f"{hint} ({case['label']})")
    return Outcome("passed", 4, f"dL/dW of pattern B running free matches autograd and finite differences "
                                f"{where(cases)}")


def _hidden_free_gradient(rng: np.random.Generator) -> tuple[dict, ...]:
    sizes = [(2, 1, 2, 2), (int(rng.integers(5, 8)), int(rng.integers(1, 4)), int(rng.integers(2, 5)),
                            int(rng.integers(2, 5)))]
    return tuple(_free_gradient_case(f"hidden case, τ = {s[0]}, D = {s[1]}, H = {s[2]}, O = {s[3]}",
                                     int(rng.integers(1 << 30)), *s) for s in sizes)


QUESTIONS = (
    Question(
        qid="5.1", points=2, title="Teacher-forced inputs", answer="teacher_forced_inputs", kind="numbers",
        difficulty=1, minutes=10,
        hints=("Row t - 1 of z is what step t is fed: the one-hot code of the previous target y^(t-1), and at "
               "t = 1, where there is no previous output, the zero vector.",
               "np.eye(O)[y] turns the integer targets (τ, B) into one-hot vectors (τ, B, O) in one step; what "
               "step t needs is the code of the step before, so shift them one step later in time.",
               "Start from zeros of shape (τ, B, O) and fill the steps from t = 2 on with the one-hot codes of "
               "the targets of steps 1 to τ - 1 (y[:-1])."),
        visible=(_teacher_case("visible case, τ = 4, B = 2, O = 3", np.random.default_rng(501), 4, 2, 3),),
        hidden=_hidden_teacher, grade=_grade_teacher,
    ),
    Question(
        qid="5.2", points=3, title="Pattern B running free", answer="jordan_free_run", kind="numbers",
        difficulty=1, minutes=15,
        hints=("The chapter's JordanRNN.forward runs free when it is given no y_prev: one step at a time, since "
               "step t + 1 needs softmax(o^(t)). Start from z = 0 of shape (B, O).",
               "With a batch in the rows, a step is h = tanh(b + z @ W.T + x_t @ U.T), o = c + h @ V.T; keep "
               "every o (the logits, not the softmax) and return them stacked, (τ, B, O).",
               "The stable softmax of each row: e = np.exp(o - o.max(axis=-1, keepdims=True)), then "
               "z = e / e.sum(axis=-1, keepdims=True)."),
        visible=(_free_case("visible case, τ = 5, B = 2, D = 3, H = 4, O = 3", np.random.default_rng(502),
                            5, 2, 3, 4, 3),),
        hidden=_hidden_free, grade=_grade_free,
        borrowed=("minigrad.nn.JordanRNN",),
    ),
    Question(
        qid="5.3", points=3, title="Pattern C on a padded batch", answer="summary_readout", kind="numbers",
        difficulty=2, minutes=15,
        hints=("Run the recurrence over all T steps for the whole batch, and keep each sequence's state at its own "
               "last step n_i: what comes after it is padding, which must not reach the output.",
               "Number the steps from 1: right after computing h^(t), the rows with lengths == t are the "
               "sequences that end at step t. Copy those rows into an array of last states (B, H).",
               "Inside the loop: last[lengths == t] = h[lengths == t]. After it, apply the readout c + V h to "
               "every row of last."),
        visible=(_readout_case("visible case, T = 5, B = 3", np.random.default_rng(503), 5, [5, 2, 4], 2, 4, 3),),
        hidden=_hidden_readouts, grade=_grade_readout,
        borrowed=("minigrad.nn.SummaryRNN",),
    ),
    Question(
        qid="5.4", points=2, title="Counting parameters of the three patterns", answer="parameter_counts",
        difficulty=1, minutes=10,
        hints=("The three patterns all have U (H × D), V (O × H), b (H entries) and c (O entries); they differ "
               "only in the shape of W.",
               "W maps the previous hidden state (H × H) in patterns A and C, and the previous output "
               "(H × O) in pattern B: add H·H, H·O and H·H to the shared count."),
        kind="numbers", visible=(_count_case("visible case, D = 3, H = 8, O = 2", (3, 8, 2)),),
        hidden=_hidden_counts, grade=_grade_counts,
        borrowed=("minigrad.nn.ElmanRNN", "minigrad.nn.JordanRNN", "minigrad.nn.SummaryRNN"), on_borrowed="review",
    ),
    Question(
        qid="5.5", points=4, title="BPTT through pattern B running free, derived", answer="free_run_grad_W",
        kind="numbers",
        visible=(_free_gradient_case("visible case, τ = 4, D = 2, H = 3, O = 3", 505, 4, 2, 3, 3),),
        hidden=_hidden_free_gradient, grade=_grade_free_gradient,
        borrowed=("minigrad.autograd.backward", "minigrad.nn.JordanRNN"), difficulty=3, minutes=35,
        hints=("Running free, ŷ^(t) is both an output (with its loss) and the next step's input z^(t): the "
               "gradient at o^(t) collects the loss term and what comes back from step t + 1.",
               "From step t + 1: ∇_z^(t) L = W^T ∇_a^(t+1) L, and z^(t) = softmax(o^(t)) has the Jacobian "
               "diag(ŷ) - ŷ ŷ^T, so ∇_o^(t) L = (ŷ^(t) - 1_y) + ŷ ⊙ g - ŷ (ŷ · g) with g = ∇_z^(t) L.",
               "∇_a^(t) L = (1 - (h^(t))²) ⊙ V^T ∇_o^(t) L, and ∇_W L = Σ_{t ≥ 2} ∇_a^(t) L "
               "(ŷ^(t-1))^T: step 1 sees z^(0) = 0."),
        reference=lambda case: reference_free_run_gradient(case)["autograd"],
    ),
)
