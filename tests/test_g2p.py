"""Grapheme-to-phoneme data from the CMU dictionary (minigrad.g2p, chapter 5)."""

import numpy as np
import pytest

from minigrad.data import EOS
from minigrad.g2p import LETTERS, PHONEMES, g2p_batch, g2p_split, pronunciations


@pytest.fixture(scope="module")
def words():
    return pronunciations()


def test_pronunciations_are_unstressed_phonemes_of_lowercase_words(words):
    by_word = dict(words)
    assert len(PHONEMES) == len(set(PHONEMES)) == 39
    assert by_word["knight"] == (("N", "AY", "T"),)
    assert set(by_word["read"]) == {("R", "EH", "D"), ("R", "IY", "D")}
    assert len(by_word) == len(words) > 100_000
    assert all(set(w) <= set(LETTERS) and 2 <= len(w) <= 12 for w, _ in words)
    assert all(set(pron) <= set(PHONEMES) for _, prons in words for pron in prons)
    assert all(len(set(prons)) == len(prons) for _, prons in words)


def test_g2p_split_is_disjoint_by_word_and_seeded():
    split = g2p_split(300, 50, 80, np.random.default_rng(3))
    spellings = [[e.spelling for e in part] for part in (split.train, split.valid, split.test)]
    assert [len(s) for s in spellings] == [300, 50, 80]
    assert len(set().union(*map(set, spellings))) == 430
    again = g2p_split(300, 50, 80, np.random.default_rng(3))
    assert again.test == split.test
    assert split.phonemes.index[EOS] == 0 and split.letters.index["<pad>"] == 0
    with pytest.raises(ValueError, match="words"):
        g2p_split(10 ** 6, 0, 0, np.random.default_rng(0))


def test_g2p_batch_pads_spellings_and_shifts_the_first_pronunciation():
    split = g2p_split(2, 0, 0, np.random.default_rng(0))
    examples = [split.train[0]._replace(spelling="ox", pronunciations=(("AA", "K", "S"),)),
                split.train[1]._replace(spelling="read", pronunciations=(("R", "EH", "D"), ("R", "IY", "D")))]
    source, source_lengths, inputs, targets, target_lengths = g2p_batch(examples, split.letters, split.phonemes)
    assert source.shape == (4, 2) and source_lengths.tolist() == [2, 4]
    assert split.letters.decode(source[:, 1]) == list("read") and source[2:, 0].tolist() == [0, 0]
    assert split.phonemes.decode(targets[:, 1]) == ["R", "EH", "D", EOS]
    assert split.phonemes.decode(inputs[:, 1]) == [EOS, "R", "EH", "D"]
    assert target_lengths.tolist() == [4, 4]
