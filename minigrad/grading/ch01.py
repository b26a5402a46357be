"""Chapter 1's graded questions: windows over a sequence, parameter counts, receptive fields.

1.1 asks for the sliding windows of a token sequence (the input of a window MLP or a convolution
at every position); it is compared with a reference on sequences and widths the student has not
seen.
1.2 asks for the parameter counts of chapter 1's window MLP and of an ``ElmanRNN``; they are
compared with the counts of the ``minigrad.nn`` modules built with the same sizes.
1.3 asks for the receptive field of a stack of one-dimensional convolutions; it is compared with
the number of inputs that one output of such a stack actually depends on, found by pushing a
unit impulse through it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import numbers, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument

__all__ = ["QUESTIONS", "reference_windows", "reference_counts", "measured_receptive_field"]


# ---------------------------------------------------------------------------------- 1.1
def reference_windows(tokens: np.ndarray, width: int, pad: float) -> np.ndarray:
    """Row t holds tokens t - width//2 .. t + width//2, with ``pad`` outside the sequence."""
    half = width // 2
    padded = np.concatenate([np.full(half, pad), np.asarray(tokens, dtype=np.float64), np.full(half, pad)])
    return np.stack([padded[t:t + width] for t in range(len(tokens))]) if len(tokens) else np.zeros((0, width))


def _window_case(label: str, rng: np.random.Generator, length: int, width: int) -> dict:
    return {"label": label,
            "args": [{"array": [int(v) for v in rng.integers(1, 50, size=length)]},
                     {"number": width}, {"number": 0}]}


def _hidden_windows(rng: np.random.Generator) -> tuple[dict, ...]:
    narrow = _window_case("hidden case, width 1", rng, 4, 1)
    wider_than_tokens = _window_case("hidden case, width 7 on 3 tokens", rng, 3, 7)
    length = int(rng.integers(9, 15))
    return narrow, wider_than_tokens, _window_case(f"hidden case, width 5 on {length} tokens", rng, length, 5)


def _grade_windows(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        tokens, width, pad = (build_argument(spec) for spec in case["args"])
        expected = reference_windows(tokens, width, pad)
        got = numbers(answer)
        shape = got.shape
        if shape != expected.shape:
            return Outcome("failed", 0, f"returns shape {shape}, expected {expected.shape}: one row of "
                                        f"{width} tokens per position ({case['label']})")
        wrong = np.argwhere(got != expected)
        if len(wrong):
            t = int(wrong[0][0])
            return Outcome("failed", 0, f"the window at position {t} is {got[t].astype(int).tolist()}, "
                                        f"expected {expected[t].astype(int).tolist()} ({case['label']})")
    return Outcome("passed", 2, f"every window matches {where(cases)}")


# ---------------------------------------------------------------------------------- 1.2
def reference_counts(vocab_size: int, length: int, hidden: int) -> tuple[int, int]:
    """Parameters of the window MLP ``Linear(length * vocab, hidden)``, tanh, ``Linear(hidden, length)``,
    and of ``ElmanRNN(vocab, hidden, 1)``, counted on the modules themselves."""
    from minigrad import nn

    rng = np.random.default_rng(0)
    mlp = [nn.Linear(length * vocab_size, hidden, rng=rng), nn.Linear(hidden, length, rng=rng)]
    rnn = nn.ElmanRNN(vocab_size, hidden, 1, rng=rng)
    def count(modules: list) -> int:
        return sum(p.data.size for m in modules for p in m.parameters())

    return count(mlp), count([rnn])


def _count_case(label: str, vocab_size: int, length: int, hidden: int) -> dict:
    return {"label": label, "args": [{"number": vocab_size}, {"number": length}, {"number": hidden}]}


def _hidden_counts(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_count_case("hidden case, |V| = 2, T = 1, H = 1", 2, 1, 1),
            _count_case("hidden case, larger sizes", int(rng.integers(50, 90)), int(rng.integers(10, 30)),
                        int(rng.integers(5, 40))))


def _grade_counts(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    problems = []
    for case, answer in zip(cases, answers):
        got = numbers(answer)
        shape = got.shape
        if shape != (2,):
            return Outcome("failed", 0, f"returns shape {shape}: return two numbers, [window MLP, "
                                        f"ElmanRNN] ({case['label']})")
        vocab_size, length, hidden = (build_argument(spec) for spec in case["args"])
        for name, value, expected in zip(("window MLP", "ElmanRNN"), got, reference_counts(vocab_size, length, hidden)):
            if value != expected and not any(p.startswith(name) for p in problems):
                problems.append(f"{name} has {expected:,} parameters for |V| = {vocab_size}, T = {length}, "
                                f"H = {hidden}, you give {value:,.0f}: count every weight matrix and bias "
                                f"({case['label']})")
    if problems:
        score = 2 - len(problems)
        return Outcome("failed", score, "; ".join(problems))
    return Outcome("passed", 2, f"both counts equal those of the minigrad.nn modules {where(cases)}")


# ---------------------------------------------------------------------------------- 1.3
def measured_receptive_field(kernel_sizes: Sequence[int]) -> int:
    """How many inputs one output of stacked stride-1 convolutions depends on: push a unit
    impulse through kernels of ones and count the outputs it reaches."""
    signal = np.zeros(1 + 2 * sum(int(k) for k in kernel_sizes))
    signal[len(signal) // 2] = 1.0
    for k in kernel_sizes:
        signal = np.convolve(signal, np.ones(int(k)), mode="same")
    return int(np.count_nonzero(signal))


def _field_case(label: str, kernel_sizes: Sequence[int]) -> dict:
    return {"label": label, "args": [{"array": [int(k) for k in kernel_sizes]}]}


def _hidden_fields(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_field_case("hidden case, one layer of width 1", [1]),
            _field_case("hidden case, widths 2 and 4", [2, 4]),
            _field_case("hidden case, 6 layers of mixed widths", rng.choice([2, 3, 5, 7], size=6).tolist()))


def _grade_fields(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        got = numbers(answer)
        shape = got.shape
        (kernel_sizes,) = (build_argument(spec) for spec in case["args"])
        if shape != ():
            return Outcome("failed", 0, f"returns shape {shape}: return one number ({case['label']})")
        expected = measured_receptive_field(kernel_sizes)
        if float(got) != expected:
            widths = [int(k) for k in kernel_sizes]
            return Outcome("failed", 0, f"for kernel widths {widths} one output depends on {expected} "
                                        f"inputs, you give {float(got):g} ({case['label']})")
    return Outcome("passed", 2, f"matches the impulse response of the stack {where(cases)}")


QUESTIONS = (
    Question(
        qid="1.1", points=2, title="Sliding windows", answer="sliding_windows", kind="numbers",
        difficulty=1, minutes=10,
        visible=(_window_case("visible case, width 3 on 6 tokens", np.random.default_rng(101), 6, 3),),
        hidden=_hidden_windows, grade=_grade_windows,
        hints=("Pad first, then slide: put width // 2 copies of pad before the tokens and as many after them.",
               "In the padded sequence, the window of position t starts at index t (not t - width // 2): it is "
               "padded[t:t + width].",
               "Stack one such slice per position t = 0 … len(tokens) - 1 into an array of shape (len(tokens), "
               "width); a width of 1 has no padding at all."),
    ),
    Question(
        qid="1.2", points=2, title="Parameters of a window MLP and of an RNN", answer="parameter_counts",
        difficulty=1, minutes=10,
        kind="numbers",
        visible=(_count_case("visible case, |V| = 83, T = 18, H = 32", 83, 18, 32),),
        hidden=_hidden_counts, grade=_grade_counts,
        hints=("A Linear(n_in, n_out) layer has an n_out × n_in weight matrix and a bias of n_out numbers.",
               "The window MLP's first layer reads T |V| numbers and its second writes T scores: (T |V| H + H) "
               "+ (H T + T).",
               "ElmanRNN(|V|, H, 1) has U (H × |V|), W (H × H), V (1 × H), b (H) and c (1): add the five sizes."),
        borrowed=("minigrad.nn.Linear", "minigrad.nn.ElmanRNN"), on_borrowed="review",
    ),
    Question(
        qid="1.3", points=2, title="The receptive field of stacked convolutions", answer="receptive_field",
        difficulty=2, minutes=10,
        kind="numbers",
        visible=(_field_case("visible case, three layers of width 3", [3, 3, 3]),),
        hidden=_hidden_fields, grade=_grade_fields,
        hints=("A layer of width k widens the receptive field by k - 1 positions: it adds (k - 1) // 2 on each "
               "side for odd k, and k - 1 in total for any k.",
               "Start from one output position (a field of 1) and add k - 1 for every layer: 1 + Σ (k_ℓ - 1). A"
               " layer of width 1 adds nothing."),
    ),
)
