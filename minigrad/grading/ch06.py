"""Chapter 6's graded questions: perplexity, sampling with a temperature, one step of beam search.

6.1 asks for the perplexity of a test set from per-word losses and lengths; it is compared with
:func:`minigrad.metrics.perplexity`, and the usual slips (averaging per word, per-word
perplexities, bits) are named.
6.2 asks for a sampler that draws one token per row of logits at a temperature, by inverting the
cumulative distribution at given uniform numbers, the rule :func:`minigrad.nn.sample` uses.
6.3 asks for one step of beam search: the ``k`` best extensions of ``k`` beams, as
:func:`minigrad.nn.beam_search` chooses them.
6.4 asks for the perplexity of a test string under a bigram model with absolute discounting and
*backoff* (Katz's scheme with a fixed discount), which the chapter does not treat: its Witten–Bell and
Kneser–Ney smoothings interpolate. The student derives the backoff weight that makes each context's
distribution sum to 1; the reference is :func:`reference_backoff_probabilities`, and the messages
name interpolation, a weight that is not renormalised, and the usual perplexity slips.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.grading.common import close_scalar, numbers, versus, where
from minigrad.grading.registry import Outcome, Question
from minigrad.grading.wire import build_argument
from minigrad.metrics import perplexity

__all__ = ["QUESTIONS", "reference_sample", "reference_beam_step", "reference_backoff_probabilities"]


# ---------------------------------------------------------------------------------- 6.1
def _perplexity_case(label: str, rng: np.random.Generator, words: int) -> dict:
    lengths = rng.integers(2, 13, size=words)
    losses = lengths * rng.uniform(1.5, 3.5, size=words)
    return {"label": label, "args": [{"array": [round(float(v), 4) for v in losses]},
                                     {"integers": [int(n) for n in lengths]}]}


def _hidden_perplexity(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_perplexity_case("hidden case, 1 word", rng, 1),
            _perplexity_case("hidden case, 50 words", rng, 50))


def _perplexity_slips(losses: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    per_word = losses / lengths
    return {
        "the mean of the per-word perplexities exp(L_i / n_i); pool the tokens: "
        "exp(Σ L_i / Σ n_i)": float(np.mean(np.exp(per_word))),
        "exp of the mean per-word cross-entropy, which weighs a short word like a long one; "
        "divide the total loss by the total number of tokens": float(np.exp(per_word.mean())),
        "exp of the mean loss per word: divide by the number of tokens, not of words":
            float(np.exp(losses.mean())),
        "in base 2: the losses are in nats, so use exp": float(2 ** (losses.sum() / lengths.sum())),
        "the cross-entropy itself: perplexity is its exponential": float(losses.sum() / lengths.sum()),
    }


def _grade_perplexity(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        losses, lengths = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        shape = got.shape
        if shape != ():
            return Outcome("failed", 0, f"returns an array of shape {shape}: return one number "
                                        f"({case['label']})")
        expected = perplexity(losses, lengths)
        got = float(got)
        if close_scalar(got, expected):
            continue
        for slip, value in _perplexity_slips(losses, lengths).items():
            if close_scalar(got, value) and not close_scalar(value, expected):
                return Outcome("failed", 0, f"this is {slip} ({case['label']})")
        return Outcome("failed", 0, f"gives {got:.4f}, expected exp(Σ L_i / Σ n_i) = {expected:.4f} "
                                    f"({case['label']})")
    return Outcome("passed", 2, f"matches minigrad.metrics.perplexity {where(cases)}")


# ---------------------------------------------------------------------------------- 6.2
def reference_sample(logits: np.ndarray, temperature: float, uniforms: np.ndarray) -> np.ndarray:
    """For each row, the first token whose cumulative probability under p_T reaches u."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    probs = np.exp(scaled)
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cumulative < uniforms[:, None]).sum(axis=1), logits.shape[1] - 1)


def _sample_case(label: str, rng: np.random.Generator, rows: int, vocab: int, temperature: float,
                 scale: float) -> dict:
    logits = rng.normal(size=(rows, vocab)) * scale
    return {"label": label, "args": [{"array": np.round(logits, 4).tolist()}, {"number": temperature},
                                     {"array": np.round(rng.uniform(0.001, 0.999, size=rows), 6).tolist()}]}


def _hidden_sample(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_sample_case("hidden case, 300 rows, 27 tokens, T = 0.5", rng, 300, 27, 0.5, 2.0),
            _sample_case("hidden case, 300 rows, 27 tokens, T = 1.8", rng, 300, 27, 1.8, 2.0),
            {**_sample_case("hidden case, logits of size 1000, T = 1", rng, 50, 10, 1.0, 1000.0),
             "large": True})


def _grade_sample(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        logits, temperature, uniforms = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        shape = got.shape
        rows = logits.shape[0]
        if shape != (rows,):
            return Outcome("failed", 0, f"returns shape {shape}: return one token per row, shape "
                                        f"({rows},) ({case['label']})")
        expected = reference_sample(logits, temperature, uniforms)
        if np.array_equal(got, expected):
            continue
        if not np.isfinite(got).all() or case.get("large"):
            return Outcome("failed", 0, f"right on small logits but not on large ones, where exp "
                                        f"overflows: subtract each row's maximum before "
                                        f"exponentiating ({case['label']})")
        slips = {
            "ignores the temperature": reference_sample(logits, 1.0, uniforms),
            "multiplies the logits by T: divide them by T": reference_sample(logits, 1.0 / temperature, uniforms),
            "takes the arg max: draw with the uniform numbers instead": logits.argmax(axis=1),
        }
        for slip, value in slips.items():
            if np.array_equal(got, value) and not np.array_equal(value, expected):
                return Outcome("failed", 0, f"{slip} ({case['label']})")
        first = int(np.flatnonzero(got != expected)[0])
        return Outcome("failed", 0, f"row {first} gives token {got[first]:.0f}, expected "
                                    f"{expected[first]} ({case['label']})")
    return Outcome("passed", 3, f"draws the same tokens as inverting p_T's cumulative distribution "
                                f"{where(cases)}")


# ---------------------------------------------------------------------------------- 6.3
def reference_beam_step(beam_log_probs: np.ndarray, next_log_probs: np.ndarray,
                        beam_width: int) -> np.ndarray:
    """``[parents, tokens, scores]`` of the ``beam_width`` best extensions, best first."""
    candidates = beam_log_probs[:, None] + next_log_probs
    best = np.argsort(-candidates, axis=None, kind="stable")[:beam_width]
    parents, tokens = np.divmod(best, candidates.shape[1])
    return np.stack([parents, tokens, candidates[parents, tokens]]).astype(np.float64)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _beam_case(label: str, rng: np.random.Generator, beams: int, vocab: int, width: int) -> dict:
    beam = np.sort(rng.uniform(-8.0, -1.0, size=beams))[::-1]
    step = _log_softmax(rng.normal(size=(beams, vocab)) * 2.0)
    return {"label": label, "args": [{"array": np.round(beam, 6).tolist()},
                                     {"array": np.round(step, 6).tolist()}, {"number": width}]}


def _hidden_beam(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_beam_case("hidden case, 1 beam, 27 tokens, width 5", rng, 1, 27, 5),
            _beam_case("hidden case, 10 beams, 27 tokens, width 10", rng, 10, 27, 10))


def _grade_beam(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        beam, step, width = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        shape = got.shape
        if shape != (3, width):
            return Outcome("failed", 0, f"returns shape {shape}: return (parents, tokens, scores), "
                                        f"{width} of each ({case['label']})")
        expected = reference_beam_step(beam, step, width)
        if np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            continue
        own = [(b, int(t), beam[b] + step[b, t]) for b, t in enumerate(step.argmax(axis=1))]
        slips = {
            "ranks by the next token's log-probability alone: add each beam's log p(y_<t)":
                reference_beam_step(np.zeros_like(beam), step, width)[:2],
            "keeps the worst extensions: sort by decreasing log-probability":
                np.stack(np.divmod(np.argsort(beam[:, None] + step, axis=None, kind="stable")[:width],
                                   step.shape[1])),
        }
        for slip, value in slips.items():
            if np.array_equal(got[:2], value) and not np.array_equal(value, expected[:2]):
                return Outcome("failed", 0, f"{slip} ({case['label']})")
        if len(own) >= width and sorted(zip(got[0], got[1])) == sorted((b, t) for b, t, _ in own[:width]):
            return Outcome("failed", 0, f"extends each beam by its own best token: choose the best "
                                        f"{width} of all beams × tokens extensions together ({case['label']})")
        if sorted(map(tuple, got.T.tolist())) == sorted(map(tuple, expected.T.tolist())):
            return Outcome("failed", 0, f"finds the right extensions in the wrong order: best first "
                                        f"({case['label']})")
        if np.array_equal(got[:2], expected[:2]):
            return Outcome("failed", 0, f"right parents and tokens, but the scores differ: a score is "
                                        f"log p(y_<t) + log p(y_t | y_<t) ({case['label']})")
        return Outcome("failed", 0, f"the {width} best extensions differ: expected parents "
                                    f"{expected[0].astype(int).tolist()[:5]} and tokens "
                                    f"{expected[1].astype(int).tolist()[:5]} first, got "
                                    f"{got[0].astype(int).tolist()[:5]} and {got[1].astype(int).tolist()[:5]} "
                                    f"({case['label']})")
    return Outcome("passed", 3, f"keeps the same extensions, in the same order, with the same "
                                f"scores as minigrad.nn.beam_search {where(cases)}")


# ---------------------------------------------------------------------------------- 6.4
def reference_backoff_probabilities(counts: np.ndarray, unigram: np.ndarray, discount: float, *,
                                    interpolate: bool = False, renormalise: bool = True) -> np.ndarray:
    """p(v | u) of the bigram model with absolute discounting and backoff to ``unigram``, one row per u.

    With c(u) = Σ_v C(u, v) and N_1+(u) the number of tokens seen after u:
    p(v | u) = (C(u, v) - D) / c(u) when C(u, v) > 0, and α(u) p_1(v) otherwise, with
    α(u) = (D N_1+(u) / c(u)) / Σ_{v' : C(u, v') = 0} p_1(v'), so that each row sums to 1;
    a context never seen (c(u) = 0) uses p_1 itself. ``interpolate`` and ``renormalise=False`` make the
    two slips that 6.4 names.
    """
    totals = counts.sum(axis=1, keepdims=True)
    seen = counts > 0
    reserved = discount * seen.sum(axis=1, keepdims=True) / np.maximum(totals, 1)  # D N_1+(u) / c(u)
    discounted = np.maximum(counts - discount, 0.0) / np.maximum(totals, 1)
    if interpolate:
        probs = discounted + reserved * unigram
    else:
        weight = reserved / ((unigram * ~seen).sum(axis=1, keepdims=True) if renormalise else 1.0)
        probs = np.where(seen, discounted, weight * unigram)
    return np.where(totals > 0, probs, unigram)


def _log_probs(probs: np.ndarray, test: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probs[test[:-1], test[1:]])


def _backoff_slips(counts, unigram, discount, test) -> dict[str, float]:
    right = _log_probs(reference_backoff_probabilities(counts, unigram, discount), test)
    seen_context = counts[test[:-1]].sum(axis=1) > 0
    return {
        "interpolated absolute discounting: in a backoff model a seen pair gets only its discounted count, "
        "and the reserved mass D N_1+(u) / c(u) goes to the unseen tokens alone":
            float(np.exp(-_log_probs(reference_backoff_probabilities(counts, unigram, discount, interpolate=True),
                                     test).mean())),
        "a backoff weight that is not renormalised: the probabilities of a context sum to less than 1; divide "
        "D N_1+(u) / c(u) by the unigram mass of the tokens unseen after u":
            float(np.exp(-_log_probs(reference_backoff_probabilities(counts, unigram, discount, renormalise=False),
                                     test).mean())),
        "the perplexity averaged over all the tokens of the string: the first is only a context, so there are "
        "len(test) - 1 predictions": float(np.exp(-right.sum() / len(test))),
        "the perplexity without the predictions from a context never seen: they count, with the unigram "
        "probability": float(np.exp(-right[seen_context].mean())),
        "a uniform guess after a context never seen: back off to the unigram model there":
            float(np.exp(-np.where(seen_context, right, -np.log(len(unigram))).mean())),
        "in base 2: the probabilities are natural, so use exp(-mean ln p)": float(2 ** -right.mean()),
        "the cross-entropy itself: perplexity is its exponential": float(-right.mean()),
    }


def _backoff_case(label: str, rng: np.random.Generator, vocab: int, discount: float, words: int) -> dict:
    """Bigram counts with one context never seen, an add-one unigram model, and a test string of words."""
    while True:
        counts = rng.integers(1, 7, size=(vocab, vocab)) * (rng.random((vocab, vocab)) < 0.45)
        unseen_context = int(rng.integers(1, vocab))
        counts[unseen_context] = 0
        test = [0]
        for _ in range(words):
            test += [int(v) for v in rng.integers(1, vocab, size=rng.integers(2, 6))] + [0]
        test = np.array(test)
        seen = counts > 0
        pairs = seen[test[:-1], test[1:]]
        has_context = seen[test[:-1]].any(axis=1)
        rows = seen[np.arange(vocab) != unseen_context]
        if (rows.any(axis=1).all() and (~rows).sum(axis=1).min() >= 2 and pairs.any()
                and (~pairs & has_context).any() and (~has_context).any()):
            break
    unigram = counts.sum(axis=0) + 1.0
    return {"label": label, "args": [{"integers": counts.tolist()}, {"array": (unigram / unigram.sum()).tolist()},
                                     {"number": discount}, {"integers": test.tolist()}]}


def _hidden_backoff(rng: np.random.Generator) -> tuple[dict, ...]:
    return (_backoff_case("hidden case, 9 tokens, D = 0.5", rng, 9, 0.5, 12),
            _backoff_case("hidden case, 14 tokens, D = 0.9", rng, 14, 0.9, 30))


def _grade_backoff(cases: Sequence[dict], answers: Sequence[Any]) -> Outcome:
    for case, answer in zip(cases, answers):
        counts, unigram, discount, test = (build_argument(spec) for spec in case["args"])
        got = numbers(answer)
        if got.shape != ():
            return Outcome("failed", 0, f"returns an array of shape {got.shape}: return one number ({case['label']})")
        got = float(got)
        expected = float(np.exp(-_log_probs(reference_backoff_probabilities(counts, unigram, discount), test).mean()))
        if close_scalar(got, expected, rtol=1e-8):
            continue
        if not np.isfinite(got):
            return Outcome("failed", 0, f"gives {got}: some pair of the test string got probability 0 (an unseen "
                                        f"pair gets a share of the reserved mass) or a context never seen divided "
                                        f"by zero (use the unigram model there) ({case['label']})")
        for slip, value in _backoff_slips(counts, unigram, discount, test).items():
            if close_scalar(got, value, rtol=1e-8) and not close_scalar(value, expected, rtol=1e-8):
                return Outcome("failed", 0, f"this is {slip} ({case['label']})")
        return Outcome("failed", 0, f"gives {versus(got, expected)} ({case['label']})")
    return Outcome("passed", 4, f"equals the perplexity of the backoff model {where(cases)}")


QUESTIONS = (
    Question(
        qid="6.1", points=2, title="Perplexity from losses", answer="perplexity_from_losses",
        difficulty=1, minutes=5,
        hints=("Perplexity is the exponential of the cross-entropy per token (chapter 6), and that "
               "cross-entropy pools every token of the set, not word by word.",
               "Add up all the losses and all the token counts first, divide once, then exponentiate: "
               "np.exp(total loss / total tokens). The losses are in nats, so use exp, not 2 **."),
        kind="numbers",
        visible=({"label": "visible case, 4 words",
                  "args": [{"array": [9.5, 4.1, 20.3, 11.0]}, {"integers": [4, 2, 8, 5]}]},),
        hidden=_hidden_perplexity, grade=_grade_perplexity,
    ),
    Question(
        qid="6.2", points=3, title="Sampling with a temperature", answer="sample_with_temperature",
        difficulty=1, minutes=10,
        hints=("Divide the logits by T, then take a softmax of each row: a small T sharpens p_T, a large T "
               "flattens it.",
               "Subtract each row's maximum from logits / T before np.exp, normalise the rows, and take "
               "np.cumsum along axis 1 to get F(v).",
               "The first v with F(v) >= u is the number of entries of F that are below u: "
               "(F < u[:, None]).sum(axis=1); clip it to V - 1 against rounding."),
        kind="numbers",
        visible=(_sample_case("visible case, 6 rows, 5 tokens, T = 0.7", np.random.default_rng(60),
                              6, 5, 0.7, 1.5),),
        hidden=_hidden_sample, grade=_grade_sample,
    ),
    Question(
        qid="6.3", points=3, title="One step of beam search", answer="beam_step", kind="numbers",
        difficulty=2, minutes=20,
        hints=("Score every (beam, token) pair at once: s_b + ℓ_(b, v) is a K × V array, by broadcasting "
               "beam_log_probs[:, None] + next_log_probs.",
               "Rank all K V scores together: np.argsort(-scores, axis=None) sorts the flattened array, best "
               "first; keep the first beam_width indices.",
               "A flat index i is the pair (i // V, i % V): np.divmod(best, V) gives the parents and the "
               "tokens, and scores[parents, tokens] their scores."),
        visible=(_beam_case("visible case, 3 beams, 6 tokens, width 3", np.random.default_rng(61),
                            3, 6, 3),),
        hidden=_hidden_beam, grade=_grade_beam,
        borrowed=("minigrad.nn.beam_search",),
    ),
    Question(
        qid="6.4", points=4, title="The perplexity of a backoff bigram model, derived", answer="backoff_perplexity",
        kind="numbers", difficulty=3, minutes=30,
        visible=(_backoff_case("visible case, 6 tokens, D = 0.75", np.random.default_rng(64), 6, 0.75, 5),),
        hidden=_hidden_backoff, grade=_grade_backoff,
        hints=("Work one context u (one row of counts) at a time: the seen tokens keep (C(u, v) - D) / c(u); "
               "what is left for the unseen ones is 1 minus the sum of those, and it must be shared in proportion "
               "to p_1(v).",
               "Subtracting D from each of the N_1+(u) seen counts frees D N_1+(u) / c(u). So α(u) = "
               "(D N_1+(u) / c(u)) / Σ_(v unseen after u) p_1(v): the unseen tokens' unigram mass, not all of it.",
               "Build the V × V table of p(v | u) with np.where(counts > 0, …, …), replace the rows with c(u) = 0 "
               "by the unigram, then take exp(-mean(log p[test[:-1], test[1:]]))."),
    ),
)
