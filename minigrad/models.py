"""Whole networks built from :mod:`minigrad.nn`: an encoder–decoder, with or without attention, a language
model, a tagger, a pooled classifier (chapters 5, 6, 7 and 14), a read-out of a recurrent layer (chapters 8
to 10 and 14).

The networks of chapters 5 to 7 read integer tokens time-major, :math:`(T, B)`, embed them, run a
recurrent layer (``"rnn"``, ``"gru"`` or ``"lstm"``, any depth, one or two directions) and map
the states to scores with a ``Linear`` output layer. Padded batches pass ``lengths``, so that
padding changes nothing (see :class:`minigrad.nn.RNN`). :class:`RecurrentReadout` reads feature
vectors :math:`(T, B, D)` instead, for the long-range tasks of :mod:`minigrad.longrange`.
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.data import sequence_batch
from minigrad.nn import GRU, LSTM, RNN, Embedding, Linear, MinGRU, Module
from minigrad.nn.attention import DecoderAttention
from minigrad.nn.recurrent import length_mask
from minigrad.tensor import Tensor
from minigrad.training import History, fit, minibatches

__all__ = ["CharLanguageModel", "EncoderDecoder", "RNNTagger", "PooledClassifier", "RecurrentReadout", "TreeClassifier",
           "fit_language_model", "pool_states", "POOLINGS", "READOUTS"]

_CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}
_READOUT_CELLS = {**_CELLS, "mingru": MinGRU}
POOLINGS = ("last", "mean", "max", "ends")
"""The pooling methods of :func:`pool_states`."""
READOUTS = ("last", "every")
"""What :class:`RecurrentReadout` reads: the last state, or the state at every step."""


def _recurrent_layer(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                     bidirectional: bool, rng: np.random.Generator, dtype=np.float64):
    if cell not in _CELLS:
        raise ValueError(f"cell must be one of {tuple(_CELLS)}, got {cell!r}")
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                        bidirectional=bidirectional, rng=rng, dtype=dtype)


class CharLanguageModel(Module):
    """An autoregressive recurrent language model (chapter 6).

    The input at step :math:`t` is the embedding of the previous token,
    :math:`x^{(t)} = E[y_{t-1}]`; the recurrent layer summarises the history in :math:`h^{(t)}`
    and the output layer gives :math:`o^{(t)} = c + V h^{(t)}`, the logits of
    :math:`p(y_t \\mid y_{<t}) = \\operatorname{softmax}(o^{(t)})`.

    Args:
        vocab_size: :math:`V`, tokens (including the end-of-sequence token).
        embedding_dim: size of :math:`x^{(t)}`.
        hidden_size: size of :math:`h^{(t)}`.
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers (training mode only).
        rng: generator for the initial weights and dropout.
        dtype: ``np.float64`` (default) or ``np.float32`` (faster, for long training runs).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, cell: str = "rnn",
                 num_layers: int = 1, dropout: float = 0.0, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng, dtype=dtype)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, num_layers, dropout, False, rng, dtype)
        self.output = Linear(hidden_size, vocab_size, rng=rng, dtype=dtype)

    def forward(self, inputs, state=None, lengths=None) -> tuple[Tensor, object]:
        """Logits :math:`(T, B, V)` for the inputs :math:`(T, B)`, and the final state."""
        hidden, state = self.rnn(self.embedding(inputs), state, lengths=lengths)
        return self.output(hidden), state

    def loss(self, inputs, targets, lengths=None, ignore_index: int = -1) -> Tensor:
        """Mean cross-entropy per real token, :math:`-\\frac{1}{N}\\sum_t \\log p(y_t \\mid y_{<t})` (nats)."""
        logits, _ = self(inputs, lengths=lengths)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), np.asarray(targets).reshape(-1),
                               ignore_index=ignore_index)

    def token_log_probs(self, sequences, start_token: int, batch_size: int = 256,
                        window: int = 500) -> np.ndarray:
        """:math:`\\log p(y_t \\mid y_{<t})` in nats for every token of every sequence, in order.

        Each sequence (ending with its end token) is read from the model's initial state with
        ``start_token`` as the first input, the previous token after that, as in training. The
        sequences go through in padded batches of ``batch_size``, each cut into windows of
        ``window`` steps that carry the state over, so that long documents fit in memory. The
        cross-entropy per token (chapter 6) is minus the mean of the result.

        Args:
            sequences: 1-D integer sequences.
            start_token: the first input of every sequence (for the book's models, the end token).
            batch_size: sequences run side by side.
            window: time steps run at once.
        """
        sequences = [np.asarray(sequence, dtype=np.int64).reshape(-1) for sequence in sequences]
        if not sequences or min(map(len, sequences)) == 0:
            raise ValueError("token_log_probs: need at least one sequence, and no empty sequence")
        was_training = self.training
        self.eval()
        pieces = []
        with minigrad.no_grad():
            for first in range(0, len(sequences), batch_size):
                batch = sequences[first:first + batch_size]
                lengths = np.array([len(sequence) for sequence in batch])
                targets = np.zeros((lengths.max(), len(batch)), dtype=np.int64)
                for column, sequence in enumerate(batch):
                    targets[:len(sequence), column] = sequence
                inputs = np.concatenate([np.full((1, len(batch)), start_token), targets[:-1]])
                log_probs, state = np.zeros(targets.shape), None
                for start in range(0, len(targets), window):
                    steps = np.clip(lengths - start, 0, window)
                    logits, state = self(inputs[start:start + window], state, lengths=steps)
                    scores = F.log_softmax(logits, axis=-1).data
                    chunk = targets[start:start + window]
                    log_probs[start:start + window] = np.take_along_axis(scores, chunk[..., None], axis=-1)[..., 0]
                pieces.extend(log_probs[:n, column] for column, n in enumerate(lengths))
        self.train(was_training)
        return np.concatenate(pieces)

    def hidden_states(self, tokens, start_token: int, window: int = 2000) -> np.ndarray:
        """The last recurrent layer's state after reading each token of one sequence, :math:`(n, H)` (chapter 6).

        The model reads ``start_token`` and then ``tokens``, from its initial state, in windows of
        ``window`` steps that carry the state over; row :math:`i` is the state after ``tokens[i]``
        (for an LSTM, its output :math:`h`, not its memory cell).
        """
        inputs = np.concatenate([[start_token], np.asarray(tokens, dtype=np.int64).reshape(-1)])[:, None]
        pieces, state = [], None
        with minigrad.no_grad():
            for start in range(0, len(inputs), window):
                hidden, state = self.rnn(self.embedding(inputs[start:start + window]), state)
                pieces.append(hidden.data[:, 0])
        return np.concatenate(pieces)[1:]

    def step(self, tokens, state=None) -> tuple[Tensor, object]:
        """One step for :mod:`minigrad.nn.decoding`: logits :math:`(B, V)` after the tokens :math:`(B,)`.

        The state is returned batch-first, :math:`(B, L, H)` (a pair of them for an LSTM), as the
        decoders expect when they reorder a beam; the recurrent layer's own is :math:`(L, B, H)`.
        """
        logits, state = self(np.asarray(tokens)[None, :], _swap_batch_axis(state))
        return logits[0], _swap_batch_axis(state)


def fit_language_model(model: CharLanguageModel, train, valid, start_token: int, rng: np.random.Generator, *,
                       lr: float = 0.005, batch_size: int = 64, max_epochs: int = 40, patience: int = 2,
                       clip_norm: float = 1.0) -> History:
    """Train a language model on whole sequences until the validation cross-entropy stops falling (chapter 6).

    Adam on shuffled mini-batches of ``batch_size`` sequences (:func:`minigrad.training.fit`), with
    the gradient clipped to norm ``clip_norm``. The validation cross-entropy per token is measured
    after every epoch; training stops after ``patience`` epochs without a new lowest value (or
    after ``max_epochs``), and the model keeps the parameters of its best epoch.

    Args:
        model: the model to train, in place.
        train, valid: token sequences, each ending with its end token.
        start_token: the first input of every sequence.
        rng: shuffles the training sequences.
        lr: Adam's learning rate.
        batch_size: sequences per step.
        max_epochs: the most passes over ``train``.
        patience: epochs without improvement before stopping.
        clip_norm: the largest gradient norm.

    Returns:
        The :class:`~minigrad.training.History`; ``evaluations`` holds the validation cross-entropy
        (nats per token) after each epoch, ``best_value`` the one kept.
    """
    steps_per_epoch = -(-len(train) // batch_size)
    batches = (sequence_batch([train[i] for i in rows], start_token)
               for rows in minibatches(len(train), batch_size, rng, max_epochs))
    return fit(lambda batch: model.loss(*batch), model, batches, lr=lr, clip_norm=clip_norm,
               evaluate=lambda: -model.token_log_probs(valid, start_token).mean(), every=steps_per_epoch,
               keep_best=True, patience=patience)


def _swap_batch_axis(state):
    """Swap the first two axes of a state tensor, or of each tensor of a tuple (``None`` stays)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(part.transpose(1, 0, 2) for part in state)
    return state.transpose(1, 0, 2)


class EncoderDecoder(Module):
    """An encoder–decoder: read a source sequence into a context vector, then generate a target from it (chapter 5).

    The *encoder* embeds the source tokens and runs a recurrent layer over them; its summary is
    the context :math:`C`: the last state :math:`h^{(n)}` of a one-directional encoder (pattern C)
    or, for a bidirectional one, :math:`C = [\\overrightarrow{h}^{(n)}; \\overleftarrow{h}^{(1)}]`,
    the state of each direction after it has read the whole source (:func:`pool_states`,
    ``"ends"``). The *decoder* is a language model conditioned on :math:`C`, which enters its first
    state and every step's input, as in Cho et al. (2014):

    .. math::
        s^{(0)} = \\tanh(W_C C + b_C), \\qquad
        s^{(t)} = f\\big(s^{(t-1)}, [E y^{(t-1)}; C]\\big), \\qquad
        o^{(t)} = c + V s^{(t)},

    with :math:`f` one step of the decoder's recurrent layer, :math:`E` the target embedding,
    :math:`y^{(0)}` the start token and :math:`\\operatorname{softmax}(o^{(t)})` the distribution of
    :math:`y^{(t)}`. Training feeds the true previous targets (teacher forcing: :meth:`forward`,
    :meth:`loss`); generation feeds the decoder's own tokens through :meth:`start` and :meth:`step`
    with :func:`minigrad.nn.decoding.greedy_decode_batch` or
    :func:`minigrad.nn.decoding.beam_search_batch`.

    With ``attention=True`` (chapter 14) every decoder state :math:`s^{(t)}` also looks back at all
    encoder states :math:`e^{(1)}, \\dots, e^{(n)}` (padding excluded) through
    :class:`~minigrad.nn.attention.DecoderAttention`, and the output layer reads the result,
    :math:`o^{(t)} = c + V \\tanh\\big(W_c [a^{(t)}; s^{(t)}] + b_c\\big)` with
    :math:`a^{(t)} = \\sum_j \\alpha^{(t)}_j e^{(j)}` (Luong et al. 2015).

    Args:
        source_vocab: source tokens (padding included).
        target_vocab: target tokens (the start/end token included).
        embedding_dim: size of both embeddings.
        hidden_size: size of the decoder state and of each encoder direction's state.
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``, for both recurrent layers.
        bidirectional: read the source in both directions.
        attention: add attention over the encoder states.
        rng: generator for the initial weights.
    """

    def __init__(self, source_vocab: int, target_vocab: int, embedding_dim: int, hidden_size: int,
                 cell: str = "gru", bidirectional: bool = True, attention: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.bidirectional = bidirectional
        context_size = hidden_size * (2 if bidirectional else 1)
        self.source_embedding = Embedding(source_vocab, embedding_dim, rng=rng)
        self.encoder = _recurrent_layer(cell, embedding_dim, hidden_size, 1, 0.0, bidirectional, rng)
        self.target_embedding = Embedding(target_vocab, embedding_dim, rng=rng)
        self.bridge = Linear(context_size, hidden_size, rng=rng)
        self.decoder = _recurrent_layer(cell, embedding_dim + context_size, hidden_size, 1, 0.0, False, rng)
        self.output = Linear(hidden_size, target_vocab, rng=rng)
        self.attention = DecoderAttention(hidden_size, key_size=context_size, rng=rng) if attention else None

    def encode(self, source, source_lengths) -> Tensor:
        """The context :math:`C`, :math:`(B, H)` or :math:`(B, 2H)`, of the source tokens :math:`(S, B)`."""
        return self._encode(source, source_lengths)[1]

    def _encode(self, source, source_lengths) -> tuple[Tensor, Tensor]:
        """The encoder states :math:`(S, B, H)` or :math:`(S, B, 2H)`, and the context :math:`C`."""
        states, _ = self.encoder(self.source_embedding(source), lengths=source_lengths)
        return states, pool_states(states, source_lengths, "ends" if self.bidirectional else "last")

    def _first_state(self, context: Tensor):
        """:math:`s^{(0)} = \\tanh(W_C C + b_C)` as the decoder layer takes it, :math:`(1, B, H)` (and a zero cell for an LSTM)."""
        h0 = self.bridge(context).tanh()[None]
        return (h0, minigrad.zeros(tuple(h0.shape), dtype=h0.dtype)) if isinstance(self.decoder, LSTM) else h0

    def decode(self, inputs, context: Tensor, state, lengths=None, memory=None) -> tuple[Tensor, object]:
        """Run the decoder over the tokens ``inputs`` :math:`(T, B)` from ``state`` (as its layer takes it).

        Each step reads :math:`[E y^{(t-1)}; C]`, the previous token's embedding beside the context.
        With attention, ``memory`` is ``(encoder states, source lengths)``, time-major as
        :meth:`_encode` returns them. Returns the logits :math:`(T, B, V)` and the decoder's last state.
        """
        logits, state, _ = self._decode(inputs, context, state, lengths, memory)
        return logits, state

    def _decode(self, inputs, context: Tensor, state, lengths=None, memory=None) -> tuple[Tensor, object, Tensor | None]:
        """:meth:`decode`, and the attention weights :math:`(B, T, S)` (``None`` without attention)."""
        steps = np.asarray(inputs).shape[0]
        x = minigrad.cat([self.target_embedding(inputs), minigrad.stack([context] * steps, axis=0)], axis=2)
        states, state = self.decoder(x, state, lengths=lengths)
        if self.attention is None:
            return self.output(states), state, None
        if memory is None:
            raise ValueError("EncoderDecoder.decode: a model with attention needs memory=(encoder states, source lengths)")
        features, weights = self.attention(states, *memory)
        return self.output(features), state, weights

    def _teacher_forced(self, source, source_lengths, decoder_inputs, target_lengths=None) -> tuple[Tensor, Tensor | None]:
        states, context = self._encode(source, source_lengths)
        logits, _, weights = self._decode(decoder_inputs, context, self._first_state(context), target_lengths,
                                          (states, source_lengths))
        return logits, weights

    def forward(self, source, source_lengths, decoder_inputs, target_lengths=None) -> Tensor:
        """Teacher-forced logits :math:`(T, B, V)`: ``decoder_inputs[t]`` is :math:`y^{(t)}`'s predecessor."""
        return self._teacher_forced(source, source_lengths, decoder_inputs, target_lengths)[0]

    def attention_weights(self, source, source_lengths, decoder_inputs) -> np.ndarray:
        """The attention weights :math:`\\alpha^{(t)}_j`, :math:`(B, T, S)`, of the teacher-forced decoder.

        Fed the model's own greedy output (after the start token), they are the weights it used
        while generating it.
        """
        if self.attention is None:
            raise ValueError("EncoderDecoder.attention_weights: this model has no attention")
        with minigrad.no_grad():
            return self._teacher_forced(source, source_lengths, decoder_inputs)[1].data

    def loss(self, source, source_lengths, decoder_inputs, targets, target_lengths=None,
             ignore_index: int = -1) -> Tensor:
        """Mean cross-entropy per real target token, :math:`-\\frac{1}{N}\\sum_t \\log p(y^{(t)} \\mid y^{(<t)}, x)` (nats)."""
        logits = self(source, source_lengths, decoder_inputs, target_lengths)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), np.asarray(targets).reshape(-1),
                               ignore_index=ignore_index)

    def start(self, source, source_lengths) -> tuple:
        """The decoding state of every source sequence, batch along axis 0, for :meth:`step`: ``(s, C)``,
        and with attention also the encoder states :math:`(B, S, \\cdot)` and the source lengths."""
        states, context = self._encode(source, source_lengths)
        state = (_swap_batch_axis(self._first_state(context)), context)
        if self.attention is None:
            return state
        return state + (states.transpose(1, 0, 2), np.asarray(source_lengths))

    def step(self, tokens, state) -> tuple[Tensor, tuple]:
        """One decoder step for :mod:`minigrad.nn.decoding`: logits :math:`(B, V)` after the tokens :math:`(B,)`."""
        decoder_state, context, *memory = state
        if memory:
            memory = (memory[0].transpose(1, 0, 2), memory[1])
        logits, decoder_state = self.decode(np.asarray(tokens)[None, :], context, _swap_batch_axis(decoder_state),
                                            memory=memory or None)
        return logits[0], (_swap_batch_axis(decoder_state), context, *state[2:])


class RNNTagger(Module):
    """A sequence tagger: one tag per token, :math:`\\hat{y}^{(t)} = \\operatorname{softmax}(c + V h^{(t)})` (chapter 7).

    With ``bidirectional=True`` the state at step :math:`t` is
    :math:`[\\overrightarrow{h}^{(t)}; \\overleftarrow{h}^{(t)}]`, which has read the whole sentence.

    Args:
        vocab_size: words.
        num_tags: tags.
        embedding_dim: size of the word embeddings.
        hidden_size: size of each direction's state.
        bidirectional: add a right-to-left direction.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers (training mode only).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        rng: generator for the initial weights and dropout.
    """

    def __init__(self, vocab_size: int, num_tags: int, embedding_dim: int, hidden_size: int,
                 bidirectional: bool = False, num_layers: int = 1, dropout: float = 0.0,
                 cell: str = "rnn", rng: np.random.Generator | None = None) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, num_layers, dropout,
                                    bidirectional, rng)
        self.output = Linear(hidden_size * (2 if bidirectional else 1), num_tags, rng=rng)

    def forward(self, words, lengths=None) -> Tensor:
        """Tag logits :math:`(T, B, C)` for the words :math:`(T, B)`."""
        hidden, _ = self.rnn(self.embedding(words), lengths=lengths)
        return self.output(hidden)


def pool_states(outputs: Tensor, lengths, method: str) -> Tensor:
    """Summarise the states of a padded batch in one vector per sequence (chapter 7).

    With :math:`n` the length of a sequence and :math:`h^{(1)}, \\dots, h^{(n)}` its states:

    * ``"last"``: :math:`h^{(n)}`;
    * ``"mean"``: :math:`\\frac{1}{n}\\sum_{t=1}^{n} h^{(t)}`;
    * ``"max"``: :math:`\\max_{t \\le n} h^{(t)}`, element-wise;
    * ``"ends"`` (bidirectional outputs :math:`[\\overrightarrow{h}; \\overleftarrow{h}]`):
      :math:`[\\overrightarrow{h}^{(n)}; \\overleftarrow{h}^{(1)}]`, the state of each direction
      after it has read the whole sequence.

    Steps at or beyond a sequence's length never count, whatever they hold.

    Args:
        outputs: states :math:`(T, B, H)` (:math:`H` even for ``"ends"``).
        lengths: :math:`B` integers in :math:`[1, T]`.
        method: one of :data:`POOLINGS`.

    Returns:
        :math:`(B, H)`.
    """
    steps, batch, size = outputs.shape
    lengths, mask = length_mask(lengths, steps, batch, "pool_states", shortest=1)
    rows = np.arange(batch)
    if method == "last":
        return outputs[lengths - 1, rows]
    if method == "mean":
        total = (outputs * Tensor(mask.astype(outputs.dtype))).sum(axis=0)
        return total / Tensor(lengths[:, None].astype(outputs.dtype))
    if method == "max":
        return (outputs + Tensor(np.where(mask, 0.0, -np.inf).astype(outputs.dtype))).max(axis=0)
    if method == "ends":
        if size % 2:
            raise ValueError(f"pool_states: 'ends' needs bidirectional outputs (even size), got {size}")
        half = size // 2
        return minigrad.cat([outputs[lengths - 1, rows, :half], outputs[0, :, half:]], axis=-1)
    raise ValueError(f"pool_states: method must be one of {POOLINGS}, got {method!r}")


class PooledClassifier(Module):
    """A sequence classifier: pool the recurrent states, then :math:`\\hat{y} = \\operatorname{softmax}(c + V s)` (chapter 7).

    Args:
        vocab_size: tokens.
        num_classes: classes.
        embedding_dim: size of the token embeddings.
        hidden_size: size of each direction's state.
        pooling: one of :data:`POOLINGS` (see :func:`pool_states`).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        rng: generator for the initial weights.
        bidirectional: read the sequence in both directions, and pool the concatenated states
            :math:`[\\overrightarrow{h}^{(t)}; \\overleftarrow{h}^{(t)}]`; ``None`` (the default) makes
            only ``"ends"`` bidirectional, which it must be.
    """

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int, hidden_size: int,
                 pooling: str = "last", cell: str = "rnn", rng: np.random.Generator | None = None,
                 bidirectional: bool | None = None) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"PooledClassifier: pooling must be one of {POOLINGS}, got {pooling!r}")
        if bidirectional is None:
            bidirectional = pooling == "ends"
        if pooling == "ends" and not bidirectional:
            raise ValueError("PooledClassifier: pooling 'ends' needs a bidirectional layer")
        rng = np.random.default_rng() if rng is None else rng
        self.pooling = pooling
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng)
        self.rnn = _recurrent_layer(cell, embedding_dim, hidden_size, 1, 0.0, bidirectional, rng)
        self.output = Linear(hidden_size * (2 if bidirectional else 1), num_classes, rng=rng)

    def forward(self, tokens, lengths) -> Tensor:
        """Class logits :math:`(B, C)` for the tokens :math:`(T, B)`."""
        hidden, _ = self.rnn(self.embedding(tokens), lengths=lengths)
        return self.output(pool_states(hidden, lengths, self.pooling))


class RecurrentReadout(Module):
    """One recurrent layer and a linear read-out, :math:`o = c + V h` (chapters 8 to 10).

    The layer (``"rnn"``, ``"gru"`` or ``"lstm"``) reads feature vectors :math:`x^{(t)}` (for tokens,
    their one-hot codes: the input weights then act as an embedding). With ``readout="last"`` the
    output layer reads only the last state, :math:`o = c + V h^{(T)}`: one prediction per sequence
    (the adding problem, the agreement task). With ``readout="every"`` it reads every state,
    :math:`o^{(t)} = c + V h^{(t)}` (the copy problem).

    Args:
        input_size: :math:`D`, features per step.
        hidden_size: :math:`H`.
        output_size: outputs per prediction (1 for a regression, the classes for a classifier).
        cell: ``"rnn"``, ``"gru"``, ``"lstm"`` or ``"mingru"`` (:class:`~minigrad.nn.MinGRU`, chapter 14).
        readout: one of :data:`READOUTS`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.
        options: passed on to the layer (``method="loop"`` for a minGRU).
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, cell: str = "lstm",
                 readout: str = "last", rng: np.random.Generator | None = None, dtype=np.float64,
                 **options) -> None:
        super().__init__()
        if cell not in _READOUT_CELLS:
            raise ValueError(f"RecurrentReadout: cell must be one of {tuple(_READOUT_CELLS)}, got {cell!r}")
        if readout not in READOUTS:
            raise ValueError(f"RecurrentReadout: readout must be one of {READOUTS}, got {readout!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.cell, self.readout = cell, readout
        self.rnn = _READOUT_CELLS[cell](input_size, hidden_size, rng=rng, dtype=dtype, **options)
        self.output = Linear(hidden_size, output_size, rng=rng, dtype=dtype)

    def forward(self, x) -> Tensor:
        """Outputs :math:`(B, O)` (``"last"``) or :math:`(T, B, O)` (``"every"``) for ``x`` :math:`(T, B, D)`."""
        hidden, _ = self.rnn(x if isinstance(x, Tensor) else Tensor(x))
        return self.output(hidden[-1] if self.readout == "last" else hidden)


class TreeClassifier(Module):
    """A tree network with a softmax output at every node, :math:`\\hat{y}_j = \\operatorname{softmax}(c + V h_j)` (chapter 11).

    Every node :math:`j`, leaves included, gets class scores from its vector :math:`h_j`, so a
    tree whose sub-trees are all labelled (a parse with a value at every phrase) gives a loss
    term at every node; the scores of the roots classify whole trees.

    Args:
        encoder: a :class:`~minigrad.nn.TreeRNN` or :class:`~minigrad.nn.TreeLSTM`.
        num_classes: classes.
        rng: generator for the output layer's initial weights.
    """

    def __init__(self, encoder: Module, num_classes: int, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.output = Linear(encoder.hidden_size, num_classes, rng=np.random.default_rng() if rng is None else rng)

    def forward(self, trees) -> tuple[Tensor, Tensor]:
        """Scores of the roots :math:`(N_\\text{trees}, C)` and of every node :math:`(N_\\text{nodes}, C)`, in post-order."""
        roots, states = self.encoder(trees)
        return self.output(roots), self.output(states)
