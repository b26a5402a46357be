"""Running text for character language models: Python's own documentation (chapter 6).

Every Python installation ships the text that ``help("topic")`` prints in the interpreter, the
language reference's pages on statements, expressions, data model and built-in types, as the
dictionary ``pydoc_data.topics.topics`` (79 topics, about 465,000 characters in Python 3.11).
:func:`python_docs` turns it into a corpus of documents, one per topic, split by document into
training, validation and test text that share no passage, with a fixed character vocabulary.

A model reads the corpus as a stream of character ids. :func:`stream_windows` cuts a stream into
the consecutive windows of truncated backpropagation through time, and
:func:`truncated_bptt_loss` carries a model's state from one window to the next. To look for hidden
units that track something in the text, :func:`text_features` describes every position of a text
and :func:`unit_correlations` correlates each unit's activation with such a description.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from typing import Callable, NamedTuple

import numpy as np

from minigrad import functional as F
from minigrad.data import Vocabulary
from minigrad.tensor import Tensor

__all__ = ["END", "TextCorpus", "python_docs", "shared_lines", "StreamWindow", "stream_windows",
           "truncated_bptt_loss", "text_features", "unit_correlations"]

END = "\x00"
"""The end-of-document symbol (id 0), which also starts every document."""

_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2026": "...", "\u2013": "-", "\u2014": "--", "\t": "    "})
_CHARACTERS = "\n" + "".join(chr(c) for c in range(32, 127))
_SHARED_LINE = 40  # characters: a line this long found in two topics means they share a passage


class TextCorpus(NamedTuple):
    """The documents of :func:`python_docs`.

    Attributes:
        train, valid, test: the documents of each split, ``{topic: text}``.
        vocabulary: :data:`END` (id 0), the newline and the 95 printable ASCII characters.
        fingerprint: a SHA-256 digest of the three splits, to tell whether two Python versions
            give the same corpus.
    """

    train: dict[str, str]
    valid: dict[str, str]
    test: dict[str, str]
    vocabulary: Vocabulary
    fingerprint: str

    def encode(self, documents: dict[str, str]) -> list[np.ndarray]:
        """Each document as character ids followed by :data:`END`: the sequences a model predicts."""
        end = self.vocabulary.index[END]
        return [np.append(self.vocabulary.encode(text), end) for text in documents.values()]

    def stream(self, documents: dict[str, str]) -> np.ndarray:
        """The documents as one stream of ids, each after an :data:`END` (the start) and ending with one."""
        end = self.vocabulary.index[END]
        return np.concatenate([[end], *self.encode(documents)])


def _normalise(text: str) -> str:
    """Typographic quotes and dashes as ASCII; any other character outside the vocabulary as ``?``."""
    text = text.translate(_TYPOGRAPHY)
    return "".join(c if c in _CHARACTERS else "?" for c in text)


def shared_lines(documents: dict[str, str], others: dict[str, str]) -> int:
    """How many lines of at least 40 characters (stripped) of ``documents`` also occur in ``others``."""
    seen = {line.strip() for text in others.values() for line in text.splitlines()}
    return sum(len(line.strip()) >= _SHARED_LINE and line.strip() in seen
               for text in documents.values() for line in text.splitlines())


def _groups(topics: dict[str, str]) -> list[list[str]]:
    """Topics joined when they share a line of at least 40 characters, as connected groups."""
    parent = {name: name for name in topics}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    owner: dict[str, str] = {}
    for name in sorted(topics):
        for line in topics[name].splitlines():
            line = line.strip()
            if len(line) >= _SHARED_LINE:
                if line in owner:
                    parent[root(name)] = root(owner[line])
                else:
                    owner[line] = name
    groups = defaultdict(list)
    for name in sorted(topics):
        groups[root(name)].append(name)
    return list(groups.values())


def python_docs(held_out: float = 0.1, largest: float = 0.15) -> TextCorpus:
    """The topics of Python's documentation, split by document into training, validation and test text.

    Many topics repeat passages of others (the page on compound statements contains the pages on
    ``if``, ``while``, ``try`` ...). Topics that share a line of at least 40 characters are
    therefore kept together, in one group, and whole groups are dealt out: in the order of the
    CRC-32 checksum of each group's first topic name (a fixed order that favours no topic), test
    takes groups until it holds ``held_out`` of the characters, then validation likewise; a group
    larger than ``largest`` of the characters always goes to training.

    Args:
        held_out: the fraction of the characters wanted in each of the validation and test sets.
        largest: the largest fraction of the characters a held-out group may have.

    Returns:
        A :class:`TextCorpus`.
    """
    from pydoc_data.topics import topics as raw  # the standard library's documentation text

    topics = {name: _normalise(text) for name, text in raw.items()}
    total = sum(map(len, topics.values()))
    splits: dict[str, dict[str, str]] = {"test": {}, "valid": {}, "train": {}}
    order = sorted(_groups(topics), key=lambda group: zlib.crc32(group[0].encode()))
    for group in order:
        size = sum(len(topics[name]) for name in group)
        split = "train"
        if size <= largest * total:
            split = next((s for s in ("test", "valid")
                          if sum(map(len, splits[s].values())) < held_out * total), "train")
        splits[split].update((name, topics[name]) for name in group)
    splits = {key: dict(sorted(value.items())) for key, value in splits.items()}
    digest = hashlib.sha256()
    for key in ("train", "valid", "test"):
        for name, text in splits[key].items():
            digest.update(f"{key}\0{name}\0{text}\0".encode())
    vocabulary = Vocabulary(_CHARACTERS, specials=(END,))
    return TextCorpus(splits["train"], splits["valid"], splits["test"], vocabulary, digest.hexdigest())


class StreamWindow(NamedTuple):
    """One window of a stream: inputs and targets :math:`(T, B)`, and whether it starts a pass."""

    inputs: np.ndarray
    targets: np.ndarray
    first: bool


def stream_windows(stream: np.ndarray, batch_size: int, steps: int, epochs: int = 1,
                   rng: np.random.Generator | None = None) -> list[StreamWindow]:
    """Cut a token stream into the windows of truncated backpropagation through time (chapter 6).

    The stream is cut into ``batch_size`` contiguous rows of equal length, read side by side; a
    pass walks along them in windows of ``steps`` tokens, so that the window after window
    :math:`w` continues each row where :math:`w` stopped, and a model can carry its state over.
    The targets are the inputs shifted by one token. With ``rng``, every pass starts at a random
    offset below ``steps``, so that the cuts fall elsewhere in each pass.

    Args:
        stream: integer tokens, 1-D.
        batch_size: :math:`B`, rows read side by side.
        steps: :math:`T`, tokens per window.
        epochs: passes over the stream.
        rng: draws each pass's offset (``None``: offset 0).

    Returns:
        The windows of all passes, in order.
    """
    stream = np.asarray(stream)
    if stream.ndim != 1 or batch_size < 1 or steps < 1 or len(stream) < batch_size * steps + steps + 1:
        raise ValueError(f"stream_windows: need a 1-D stream longer than (batch_size + 1) * steps, got "
                         f"{stream.shape} with batch_size={batch_size}, steps={steps}")
    windows = []
    for _ in range(epochs):
        offset = int(rng.integers(steps)) if rng is not None else 0
        length = (len(stream) - offset - 1) // batch_size // steps * steps
        rows = stream[offset:offset + batch_size * length].reshape(batch_size, length)
        next_rows = stream[offset + 1:offset + 1 + batch_size * length].reshape(batch_size, length)
        for start in range(0, length, steps):
            windows.append(StreamWindow(rows[:, start:start + steps].T, next_rows[:, start:start + steps].T,
                                        start == 0))
    return windows


def truncated_bptt_loss(model) -> Callable[[StreamWindow], Tensor]:
    """The batch loss of truncated BPTT over a stream, for :func:`minigrad.training.fit` (chapter 6).

    The returned function runs ``model`` (a :class:`~minigrad.models.CharLanguageModel`) over a
    window from the final state of the previous window, detached from its graph, so that the
    state carries information across windows while the gradient stops at the window's start; the
    first window of a pass starts from the model's initial state. The loss is the mean
    cross-entropy per token of the window.
    """
    carried = None

    def loss(window: StreamWindow) -> Tensor:
        nonlocal carried
        logits, state = model(window.inputs, None if window.first else carried)
        carried = tuple(part.detach() for part in state) if isinstance(state, tuple) else state.detach()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window.targets.reshape(-1))

    return loss


def text_features(text: str) -> dict[str, np.ndarray]:
    """What a reader knows at each character of ``text``, after reading it (chapter 6).

    For position :math:`i`, counting ``text[:i + 1]``:

    * ``"inside quotes"``: 1 after an odd number of double quotes, else 0;
    * ``"inside parentheses"``: 1 while more ``(`` than ``)`` have been read, else 0;
    * ``"column"``: the position in the line, from 0 (a newline is the last character of its line);
    * ``"code line"``: 1 on a line that starts with at least three spaces (the documentation's
      examples and grammar rules), else 0.

    Returns:
        Each feature as a float array of ``len(text)`` values.
    """
    characters = np.array(list(text)) if text else np.zeros(0, dtype="<U1")
    newline = characters == "\n"
    line = np.cumsum(newline) - newline  # the line each character belongs to, a newline ending its own
    starts = np.flatnonzero(np.r_[True, newline[:-1]])  # where each line starts
    column = np.arange(len(text)) - starts[line]
    indented = np.array([text.startswith("   ", start) for start in starts], dtype=bool)
    depth = np.cumsum(characters == "(") - np.cumsum(characters == ")")
    return {"inside quotes": (np.cumsum(characters == '"') % 2).astype(np.float64),
            "inside parentheses": (depth > 0).astype(np.float64),
            "column": column.astype(np.float64),
            "code line": indented[line].astype(np.float64)}


def unit_correlations(states: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson's correlation of each unit's activation with a feature, over the positions of a text (chapter 6).

    .. math:: r_j = \\frac{\\sum_t (h_{tj} - \\bar h_j)(f_t - \\bar f)}
        {\\sqrt{\\sum_t (h_{tj} - \\bar h_j)^2 \\sum_t (f_t - \\bar f)^2}}

    Args:
        states: activations :math:`(N, H)`, one row per position.
        feature: :math:`(N,)`, one value per position.

    Returns:
        :math:`(H,)` correlations in :math:`[-1, 1]` (0 for a unit that never changes).
    """
    states, feature = np.asarray(states, dtype=np.float64), np.asarray(feature, dtype=np.float64)
    if states.ndim != 2 or feature.shape != states.shape[:1] or len(feature) < 2:
        raise ValueError(f"unit_correlations: need states (N, H) and a feature (N,) with N >= 2, got "
                         f"{states.shape} and {feature.shape}")
    h, f = states - states.mean(axis=0), feature - feature.mean()
    scale = np.sqrt((h ** 2).sum(axis=0) * (f ** 2).sum())
    return np.divide(h.T @ f, scale, out=np.zeros(states.shape[1]), where=scale > 0)
