"""Chapter 7's graded questions: a bidirectional wrapper, masked pooling, a tagger's masked accuracy.

7.1 asks for a bidirectional Elman layer built from two unidirectional passes; it is compared with
``minigrad.nn.RNN(..., bidirectional=True)`` carrying the same weights.
7.2 asks for last-state, mean and max pooling of a padded batch; each is compared with
:func:`minigrad.models.pool_states`, on batches whose padded steps hold large values.
7.3 asks for a tagger's accuracy over real tokens; it is compared with
:func:`minigrad.metrics.masked_accuracy`.
7.4 asks for the backward pass of concat pooling, s = [ends; mean; max] of a bidirectional layer's
padded outputs, which the chapter runs only forward: ∂L/∂outputs for L = Σ g ⊙ s, graded against
autograd through :func:`minigrad.models.pool_states` and finite differences, naming the usual slips.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close, first_difference, grade_derivation, numbers, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_bidirectional", "concat_pool", "reference_pool_gradient"]


def _same(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-7, atol=1e-9))


_first_difference = functools.partial(first_difference, rtol=1e-7, atol=1e-9, digits=4)


# ---------------------------------------------------------------------------------- 7.1
def _one_direction(x: np.ndarray, U: np.ndarray, W: np.ndarray) -> np.ndarray:
    """h^(t) = tanh(U x^(t) + W h^(t-1)) from h^(0) = 0, for x of shape (T, B, D)."""
    h = np.zeros((x.shape[1], U.shape[0]))
    states = []
    for x_t in x:
        h = np.tanh(x_t @ U.T + h @ W.T)
        states.append(h)
    return np.stack(states)


def reference_bidirectional(x, U_f, W_f, U_b, W_b) -> np.ndarray:
    """The output of ``minigrad.nn.RNN(D, H, bias=False, bidirectional=True)`` with these weights."""
    import minigrad
    from minigrad import nn

    rnn = nn.RNN(U_f.shape[1], U_f.shape[0], bias=False, bidirectional=True)
    rnn.load_state_dict({"weight_ih_l0": U_f, "weight_hh_l0": W_f,
                         "weight_ih_l0_reverse": U_b, "weight_hh_l0_reverse": W_b})
    with minigrad.no_grad():
        output, _ = rnn(minigrad.tensor(x))
    return output.data


def _bidirectional_case(label: str, rng: np.random.Generator, steps: int, batch: int, inputs: int,
                        hidden: int) -> dict:
    def array(*shape):
        return {"array": np.round(rng.normal(size=shape) * 0.8, 4).tolist()}

    return {"label": label, "args": [array(steps, batch, inputs), array(hidden, inputs),
                                     array(hidden, hidden), array(hidden, inputs), array(hidden, hidden)]}


def _hidden_bidirectional(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_bidirectional_case("hidden case, T = 1", rng, 1, 2, 3, 2),
            _bidirectional_case("hidden case, T = 9, B = 4, D = 3, H = 5", rng, 9, 4, 3, 5))


def _grade_bidirectional(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        x, U_f, W_f, U_b, W_b = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        shape = got.shape
        expected = reference_bidirectional(x, U_f, W_f, U_b, W_b)
        if shape != expected.shape:
            return Outcome("failed", 0, f"returns shape {shape}, expected (T, B, 2H) = "
                                        f"{expected.shape} ({case['label']})")
        if _same(got, expected):
            continue
        forward = _one_direction(x, U_f, W_f)
        backward_read = _one_direction(x[::-1], U_b, W_b)
        slips = {
            "the backward states are in reading order: flip them back so that position t holds "
            "the state after reading x^(τ) … x^(t)": np.concatenate([forward, backward_read], axis=-1),
            "the backward direction reads the sequence left to right: run it on the reversed "
            "sequence": np.concatenate([forward, _one_direction(x, U_b, W_b)], axis=-1),
            "the halves are swapped: forward states first, then backward":
                np.concatenate([backward_read[::-1], forward], axis=-1),
        }
        for slip, value in slips.items():
            if _same(got, value):
                return Outcome("failed", 0, f"{slip} ({case['label']})")
        half = expected.shape[-1] // 2
        if _same(got[..., :half], expected[..., :half]):
            return Outcome("failed", 0, f"the forward half is right, the backward half is not: "
                                        f"{_first_difference(got[..., half:], expected[..., half:])} "
                                        f"of the backward half ({case['label']})")
        return Outcome("failed", 0, f"{_first_difference(got, expected)} ({case['label']})")
    return Outcome("passed", 3, f"equals minigrad.nn.RNN(bidirectional=True) with the same weights "
                                f"{where(cases)}")


# ---------------------------------------------------------------------------------- 7.2
def _pool_case(label: str, rng: np.random.Generator, steps: int, batch: int, hidden: int) -> dict:
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps
    lengths[-1] = 1
    outputs = rng.normal(size=(steps, batch, hidden)) - 1.0
    for b, n in enumerate(lengths):
        outputs[n:, b] = rng.uniform(3.0, 9.0, size=(steps - n, hidden))  # padding: never counted
    return {"label": label, "args": [{"array": np.round(outputs, 4).tolist()},
                                     {"integers": [int(n) for n in lengths]}]}


def _hidden_pool(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_pool_case("hidden case, T = 7, B = 5, H = 3", rng, 7, 5, 3),
            _pool_case("hidden case, T = 12, B = 8, H = 4", rng, 12, 8, 4))


def _reference_pools(outputs: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    import minigrad
    from minigrad.models import pool_states

    with minigrad.no_grad():
        tensor = minigrad.tensor(outputs)
        return {method: pool_states(tensor, lengths, method).data for method in ("last", "mean", "max")}


def _grade_pool(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    problems: dict[str, str] = {}
    for case, answer in zip(cases, answers):
        outputs, lengths = (build_argument(spec) for spec in case["args"])
        steps, batch, hidden = outputs.shape
        got = numbers(answer)
        shape = got.shape
        if shape != (3, batch, hidden):
            return Outcome("failed", 0, f"returns shape {shape}: stack [last, mean, max], each "
                                        f"(B, H), into shape {(3, batch, hidden)} ({case['label']})")
        expected = _reference_pools(outputs, lengths)
        padded_slips = {"last": outputs[-1], "mean": outputs.mean(axis=0), "max": outputs.max(axis=0)}
        for k, method in enumerate(("last", "mean", "max")):
            if method in problems or _same(got[k], expected[method]):
                continue
            if _same(got[k], padded_slips[method]):
                problems[method] = (f"{method} pooling uses the padded steps: only steps t < length "
                                    f"count ({case['label']})")
            else:
                problems[method] = f"{method} pooling: {_first_difference(got[k], expected[method])} ({case['label']})"
    if problems:
        return Outcome("failed", 3 - len(problems), "; ".join(problems.values()))
    return Outcome("passed", 3, f"last, mean and max equal minigrad.models.pool_states, padding "
                                f"ignored, {where(cases)}")


# ---------------------------------------------------------------------------------- 7.3
def _accuracy_case(label: str, rng: np.random.Generator, steps: int, batch: int, tags: int) -> dict:
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0] = steps
    logits = rng.normal(size=(steps, batch, tags))
    targets = rng.integers(0, tags, size=(steps, batch))
    right = rng.random((steps, batch)) < 0.6  # make the tagger right about 60% of the time
    targets = np.where(right, logits.argmax(axis=-1), targets)
    for b, n in enumerate(lengths):
        targets[n:, b] = -1
        logits[n:, b, 0] += 5.0
    return {"label": label, "args": [{"array": np.round(logits, 4).tolist()},
                                     {"integers": targets.tolist()}, {"number": -1}]}


def _hidden_accuracy(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_accuracy_case("hidden case, T = 6, B = 10, 4 tags", rng, 6, 10, 4),
            _accuracy_case("hidden case, T = 15, B = 30, 9 tags", rng, 15, 30, 9))


def _grade_accuracy(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    from minigrad.metrics import masked_accuracy

    for case, answer in zip(cases, answers):
        logits, targets, pad = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        shape = got.shape
        if shape != ():
            return Outcome("failed", 0, f"returns shape {shape}: return one number ({case['label']})")
        got = float(got)
        expected = masked_accuracy(logits, targets, ignore_index=pad)
        if abs(got - expected) <= 1e-9:
            continue
        predicted = logits.argmax(axis=-1)
        real = targets != pad
        per_sentence = [(predicted[:, b] == targets[:, b])[real[:, b]].mean() for b in range(targets.shape[1])]
        slips = {
            "counts the padded positions: leave out every position whose tag is the padding value":
                float((predicted == targets).mean()),
            "averages the per-sentence accuracies, so short sentences weigh as much as long ones: "
            "pool all real tokens": float(np.mean(per_sentence)),
            "divides by all positions, padding included: divide by the number of real tokens":
                float((predicted == targets)[real].sum() / targets.size),
        }
        for slip, value in slips.items():
            if abs(got - value) <= 1e-9 and abs(value - expected) > 1e-9:
                return Outcome("failed", 0, f"{slip} ({case['label']})")
        return Outcome("failed", 0, f"gives {got:.4f}, expected {expected:.4f} ({case['label']})")
    return Outcome("passed", 2, f"equals minigrad.metrics.masked_accuracy {where(cases)}")


# ---------------------------------------------------------------------------------- 7.4
_CONCAT = ("ends", "mean", "max")
"""The poolings of 7.4, in the order their blocks of 2H columns appear in s."""


def concat_pool(outputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """s = [ends; mean; max] of each sequence's real steps, shape (B, 6H), in numpy (float64)."""
    steps, batch, size = outputs.shape
    real = (np.arange(steps)[:, None] < lengths[None, :])[:, :, None]
    rows = np.arange(batch)
    ends = np.concatenate([outputs[lengths - 1, rows, :size // 2], outputs[0, :, size // 2:]], axis=-1)
    mean = (outputs * real).sum(axis=0) / lengths[:, None]
    return np.concatenate([ends, mean, np.where(real, outputs, -np.inf).max(axis=0)], axis=-1)


def reference_pool_gradient(outputs, lengths, grad_pooled) -> dict[str, np.ndarray]:
    """∂L/∂outputs for L = Σ grad_pooled ⊙ s, by autograd through ``pool_states`` and by central differences."""
    import minigrad
    from minigrad.models import pool_states

    lengths = lengths.astype(int)
    leaf = minigrad.Tensor(outputs.copy(), requires_grad=True)
    pooled = minigrad.cat([pool_states(leaf, lengths, method) for method in _CONCAT], axis=-1)
    (pooled * minigrad.Tensor(grad_pooled)).sum().backward()
    finite = np.zeros_like(outputs)
    for index in np.ndindex(*outputs.shape):
        step = np.zeros_like(outputs)
        step[index] = 1e-6
        finite[index] = np.sum(grad_pooled * (concat_pool(outputs + step, lengths)
                                              - concat_pool(outputs - step, lengths))) / 2e-6
    return {"autograd": leaf.grad.copy(), "finite": finite}


def _pool_gradient_parts(outputs, lengths, grad_pooled, *, mean_over=None, max_over_padding=False,
                         mean_to_padding=False, backward_end_at_last=False, forward_end_at_T=False) -> list:
    """The gradients the three poolings send to the states, one array (T, B, 2H) each; the options make slips."""
    steps, batch, size = outputs.shape
    half, rows = size // 2, np.arange(batch)
    g_ends, g_mean, g_max = np.split(grad_pooled, 3, axis=-1)
    real = (np.arange(steps)[:, None] < lengths[None, :])[:, :, None]
    ends = np.zeros_like(outputs)
    ends[steps - 1 if forward_end_at_T else lengths - 1, rows, :half] = g_ends[:, :half]
    ends[lengths - 1 if backward_end_at_last else 0, rows, half:] = g_ends[:, half:]
    divisor = lengths[:, None] if mean_over is None else mean_over
    mean = np.broadcast_to(g_mean / divisor, outputs.shape) * (True if mean_to_padding else real)
    winners = (outputs if max_over_padding else np.where(real, outputs, -np.inf)).argmax(axis=0)
    largest = np.zeros_like(outputs)
    np.put_along_axis(largest, winners[None], g_max[None], axis=0)
    return [ends, mean, largest]


def _pool_gradient_mistakes(outputs, lengths, grad_pooled) -> dict[str, np.ndarray]:
    lengths = lengths.astype(int)

    def slip(**option):
        return sum(_pool_gradient_parts(outputs, lengths, grad_pooled, **option))

    return {
        "divide the mean's gradient by the padded length T: a sequence of length n shares it among its n "
        "real steps": slip(mean_over=outputs.shape[0]),
        "let the padded steps win the max: the gradient of each unit's max goes to the real step that "
        "holds it": slip(max_over_padding=True),
        "send the mean's gradient to the padded steps as well: only the real steps were averaged":
            slip(mean_to_padding=True),
        "take the backward half's end at step n: the backward direction has read the whole sequence at "
        "step 1": slip(backward_end_at_last=True),
        "take the forward half's end at the padded last step T instead of step n": slip(forward_end_at_T=True),
    }


def _pool_gradient_case(label: str, rng: np.random.Generator, steps: int, batch: int, hidden: int) -> dict:
    """Padded outputs (T, B, 2H) whose padding holds large values, lengths from 1 to T, and ∂L/∂s (B, 6H)."""
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[0], lengths[-1] = steps, 1
    outputs = np.round(rng.normal(size=(steps, batch, 2 * hidden)), 6)
    for b, n in enumerate(lengths):
        outputs[n:, b] = np.round(rng.uniform(3.0, 9.0, size=(steps - n, 2 * hidden)), 6)  # never counted
        # each max has one clear winner, also for finite differences: no two real values within 1e-4
        while n > 1 and np.diff(np.sort(outputs[:n, b], axis=0), axis=0).min() < 1e-4:
            outputs[:n, b] = np.round(rng.normal(size=(n, 2 * hidden)), 6)
    return {"label": label, "args": [{"array": outputs.tolist()}, {"integers": [int(n) for n in lengths]},
                                     {"array": np.round(rng.normal(size=(batch, 6 * hidden)), 3).tolist()}]}


def _hidden_pool_gradient(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_pool_gradient_case("hidden case, T = 7, B = 5, H = 3", rng, 7, 5, 3),
            _pool_gradient_case("hidden case, T = 12, B = 6, H = 2", rng, 12, 6, 2))


_grade_against_autograd = grade_derivation("∂L/∂outputs", reference_pool_gradient, _pool_gradient_mistakes, 4,
                                           "of concat pooling")


def _grade_pool_gradient(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    """:func:`grade_derivation`'s outcome, which also says when only the states that two poolings share
    are wrong (one pooling's gradient overwrote another's, in whatever order they were written)."""
    outcome = _grade_against_autograd(cases, answers)
    if outcome.status == "passed" or "this is what you get" in outcome.message:
        return outcome
    for case, answer in zip(cases, answers):
        outputs, lengths, grad_pooled = (build_argument(spec) for spec in case["args"])
        parts = _pool_gradient_parts(outputs, lengths.astype(int), grad_pooled)
        got, expected = numbers(answer), sum(parts)
        if not close(got, expected):
            shared = sum(part != 0 for part in parts) >= 2
            if got.shape == expected.shape and close(got[~shared], expected[~shared]):
                label = f" ({case['label']})"
                return Outcome("failed", 0, f"{outcome.message.removesuffix(label)}; only the states that two "
                                            f"poolings reach are wrong (step n or 1 where it also holds a max, or "
                                            f"a sequence of length 1): there their gradients add, none overwrites "
                                            f"another{label}")
            break
    return outcome


QUESTIONS = (
    Question(
        qid="7.1", points=3, title="A bidirectional wrapper", answer="bidirectional_rnn",
        difficulty=2, minutes=15,
        hints=("As in chapter 7's bidirectional RNN equation, the forward half is run_rnn on x as it is, the backward half is "
               "run_rnn with the other weights on the sequence read from the end.",
               "x[::-1] reverses the time axis. The state the backward layer computes first belongs to "
               "position τ, so reverse its output again before you join the halves.",
               "np.concatenate([forward, backward], axis=-1): forward states in the first H columns."),
        kind="numbers",
        visible=(_bidirectional_case("visible case, T = 4, B = 2, D = 3, H = 2",
                                     np.random.default_rng(71), 4, 2, 3, 2),),
        hidden=_hidden_bidirectional, grade=_grade_bidirectional,
    ),
    Question(
        qid="7.2", points=3, title="Pooling a padded batch", answer="masked_pool", kind="numbers",
        difficulty=1, minutes=15,
        hints=("Chapter 7's pooling equation, over the real steps t < n_b only; a boolean mask "
               "np.arange(T)[:, None] < lengths[None, :], of shape (T, B), marks them.",
               "Last: outputs[lengths - 1, np.arange(B)]. Mean: multiply by the mask (with a trailing axis), "
               "sum over time and divide by lengths[:, None], not by T.",
               "Max: put -np.inf at the padded steps with np.where(mask[:, :, None], outputs, -np.inf), "
               "then take .max(axis=0); stack the three with np.stack."),
        visible=(_pool_case("visible case, T = 5, B = 3, H = 2", np.random.default_rng(72), 5, 3, 2),),
        hidden=_hidden_pool, grade=_grade_pool,
    ),
    Question(
        qid="7.3", points=2, title="A tagger's accuracy with padding masked", answer="tagging_accuracy",
        difficulty=1, minutes=10,
        hints=("The predicted tag is logits.argmax(axis=-1), shape (T, B); a position is real where tags != pad.",
               "Compare predictions and tags everywhere, then keep only the real positions with the boolean "
               "mask and take the mean of what is left: one pool of tokens for the whole batch."),
        kind="numbers",
        visible=(_accuracy_case("visible case, T = 4, B = 3, 3 tags", np.random.default_rng(73), 4, 3, 3),),
        hidden=_hidden_accuracy, grade=_grade_accuracy,
    ),
    Question(
        qid="7.4", points=4, title="The backward pass of concat pooling, derived", answer="concat_pool_backward",
        kind="numbers",
        visible=(_pool_gradient_case("visible case, T = 5, B = 3, H = 2", np.random.default_rng(73), 5, 3, 2),),
        hidden=_hidden_pool_gradient, grade=_grade_pool_gradient,
        borrowed=("minigrad.autograd.backward",), difficulty=3, minutes=30,
        hints=("Treat the three blocks of s separately and add what each sends back: every entry of s is one "
               "state, a mean of states or a max of states, and only the real steps t < n_b take part.",
               "Ends: g's first H entries go to step n_b - 1 (forward half), the next H to step 0 (backward "
               "half). Mean: each real step gets its block of g divided by n_b. Max: each unit's block of g goes "
               "to the one real step that holds its maximum.",
               "Find the winners with np.where(mask, outputs, -np.inf).argmax(axis=0) and write them with "
               "np.put_along_axis; accumulate with +=, since two poolings can reach the same state."),
        reference=lambda case: reference_pool_gradient(*(build_argument(spec) for spec in case["args"]))["autograd"],
    ),
)
