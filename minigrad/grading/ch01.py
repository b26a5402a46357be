"""Chapter 1's graded questions: windows over a sequence, parameter counts, receptive fields.

1.1 asks for the sliding windows of a token sequence (the input of a window MLP or a convolution
at every position); it is compared with a reference on sequences and widths the student has not
seen.
1.2 asks for the parameter counts of chapter 1's window MLP and of an ``ElmanRNN``; they are
compared with the counts of the ``minigrad.nn`` modules built with the same sizes.
1.3 asks for the receptive field of a stack of one-dimensional convolutions; it is compared with
the number of inputs that one output of such a stack actually depends on, found by pushing a
unit impulse through it.
1.4, harder, asks for the receptive field of a stack with dilations and strides as a formula (a SymPy
expression in the layers' widths, dilations and strides), which the chapter does not print: it is
compared with the span of the inputs one output actually reads, traced backwards through the stack
on random integer sizes, and with the formula by expansion, and the common slips are named.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import numbers, same_expression, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument, decode_expression

__all__ = ["QUESTIONS", "reference_windows", "reference_counts", "measured_receptive_field", "traced_span",
           "span_formula"]


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


# ---------------------------------------------------------------------------------- 1.4
def traced_span(kernel_sizes: Sequence[int], dilations: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """Trace output 0 of the last layer back to the inputs (:func:`minigrad.analysis.conv_inputs_read`).

    Returns:
        The span (last input read - first input read + 1) and the number of distinct inputs read.
    """
    from minigrad.analysis import conv_inputs_read

    read = conv_inputs_read(kernel_sizes, dilations, strides)
    return read[-1] - read[0] + 1, len(read)


def span_formula(k: Sequence[Any], d: Sequence[Any], s: Sequence[Any], *, own_stride: bool = False,
                 strides_above: bool = False, width: int = 1, one: int = 1) -> Any:
    """1 + Σ_ℓ (k_ℓ - 1) d_ℓ Π_(j<ℓ) s_j, and, through the keywords, the usual slips of its derivation."""
    import sympy

    terms = []
    for layer in range(len(k)):
        below = s[layer + 1:] if strides_above else s[:layer + 1 if own_stride else layer]
        terms.append((k[layer] - width) * d[layer] * sympy.Mul(*below))
    return one + sympy.Add(*terms)


def _span_mistakes(k: list, d: list, s: list) -> dict[str, Any]:
    return {
        "leave out the dilations: layer ℓ spreads its k_ℓ reads d_ℓ positions apart":
            span_formula(k, [1] * len(k), s),
        "leave out the strides: a stride s multiplies the spacing of every layer above it":
            span_formula(k, d, [1] * len(s)),
        "multiply layer ℓ's term by its own stride s_ℓ too; only the strides of the layers below it count":
            span_formula(k, d, s, own_stride=True),
        "multiply by the strides of the layers above; it is the layers below that spread the positions":
            span_formula(k, d, s, strides_above=True),
        "count k_ℓ d_ℓ per layer; a layer of width k adds (k - 1) gaps of d positions":
            span_formula(k, d, s, width=0),
        "leave out the 1 of the output's own position": span_formula(k, d, s, one=0),
    }


def _span_case(label: str, layers: int) -> dict:
    return {"label": label, "args": [{"symbols": [f"{name}_{i}" for i in range(1, layers + 1)]}
                                     for name in ("k", "d", "s")]}


def _hidden_spans(rng: np.random.Generator) -> tuple[dict, ...]:
    layers = int(rng.integers(5, 8))
    return (_span_case("hidden case, 1 layer", 1), _span_case("hidden case, 2 layers", 2),
            _span_case(f"hidden case, {layers} layers", layers))


_EXAMPLE = ((3, 2, 2, 3), (1, 1, 2, 4), (1, 1, 2, 1))
"""The notebook's example, tried first on the visible case: widths, dilations and strides of four layers."""


def _grade_span(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    from minigrad.symbolic import substitute, unexpected_symbols

    rng = np.random.default_rng(14)
    for case, tree in zip(cases, answers):
        k, d, s = (build_argument(spec) for spec in case["args"])
        got = decode_expression(tree)
        extra = unexpected_symbols(got, [*k, *d, *s])
        if extra:
            return Outcome("failed", 0, f"uses {', '.join(extra)}; write the receptive field in the symbols "
                                        f"k, d and s it is given ({case['label']})")
        layers = len(k)
        drawn = [(rng.integers(1, 6, layers), rng.integers(1, 5, layers), rng.integers(1, 4, layers))
                 for _ in range(3)]
        for widths, spacings, steps in [_EXAMPLE] * (layers == len(_EXAMPLE[0])) + drawn:
            values = {symbol: int(v) for symbols, sizes in ((k, widths), (d, spacings), (s, steps))
                      for symbol, v in zip(symbols, sizes)}
            span, distinct = traced_span(widths, spacings, steps)
            yours = substitute(got, values)
            if yours == span:
                continue
            stack = (f"widths {[int(v) for v in widths]}, dilations {[int(v) for v in spacings]}, "
                     f"strides {[int(v) for v in steps]}")
            why = next((f"; this is what you get if you {why}" for why, wrong in _span_mistakes(k, d, s).items()
                        if same_expression(got, wrong)), "")
            if not why and yours == distinct:
                why = ("; that is how many inputs it reads: the receptive field is their span, from the first "
                       "to the last, holes included")
            return Outcome("failed", 0, f"for {stack} one output reads inputs spanning {span} positions, your "
                                        f"formula gives {yours}{why} ({case['label']})")
        if not same_expression(got, span_formula(k, d, s)):
            return Outcome("failed", 0, f"agrees with the traced spans of the sizes tried but is not "
                                        f"1 + Σ (k_ℓ - 1) d_ℓ s_1 ⋯ s_(ℓ-1) for every size ({case['label']})")
    return Outcome("passed", 4, f"equals the span traced through the stack, and the formula, {where(cases)}")


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
               "Start from one output position (a field of 1) and add k - 1 for every layer: 1 + Σ (k_ℓ - 1). "
               "A layer of width 1 adds nothing."),
    ),
    Question(
        qid="1.4", points=4, title="The receptive field of a dilated, strided stack, derived",
        answer="receptive_field_formula", kind="sympy",
        difficulty=3, minutes=25,
        visible=(_span_case("visible case, 4 layers", 4),),
        hidden=_hidden_spans, grade=_grade_span,
        hints=("Work from the top down: one output of the last layer reads k_L positions of the layer below, "
               "d_L apart, so they span (k_L - 1) d_L + 1 positions of that layer.",
               "Each layer adds (k_ℓ - 1) d_ℓ positions of its own input. A stride s below a layer makes one "
               "step of that layer's input s steps of the layer under it: multiply by the strides of every "
               "layer below ℓ, not ℓ's own.",
               "1 + Σ_ℓ (k_ℓ - 1) d_ℓ times the product of s_1 … s_(ℓ-1) (1 for the first layer); build it in a "
               "loop over the layers, keeping the product of the strides seen so far."),
    ),
)
