"""PixelRNN with Row LSTM or Diagonal BiLSTM layers: an autoregressive image model (van den Oord et al. 2016; chapter 12).

An image with pixels :math:`x_1, \\dots, x_n` in raster order (row by row, left to right) gets the
probability :math:`p(x) = \\prod_i p(x_i \\mid x_{<i})`, each factor a softmax over the
:math:`K` intensity levels. A Row LSTM computes a whole row at once: its state at (row
:math:`r`, column :math:`j`) comes from the previous row's states at columns :math:`j-k..j+k`
(a 1-D convolution, *state-to-state*) and from the inputs of the row above and of the current
row left of :math:`j` (a *masked* convolution, *input-to-state*). The mask keeps the model
causal: the prediction for pixel :math:`i` never sees pixel :math:`i` or anything after it.
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad import functional as F
from minigrad.autograd import no_grad
from minigrad.nn import init
from minigrad.nn.decoding import categorical_sample
from minigrad.nn.layers import Embedding, Linear
from minigrad.nn.module import Module, ModuleList
from minigrad.nn.recurrent import lstm_update
from minigrad.tensor import Tensor

__all__ = ["RowLSTM", "DiagonalBiLSTM", "PixelRNN"]


def _shifted_columns(x: Tensor, offsets: range) -> Tensor:
    """Concatenate copies of ``x`` :math:`(\\ldots, C, D)` shifted along the column axis (-2).

    The copy for offset :math:`s` holds, at column :math:`j`, the vector of column :math:`j + s`
    (zeros outside the image): a 1-D convolution is then one matrix product with the result.
    """
    pad = max(abs(s) for s in offsets)
    zeros = minigrad.zeros((*x.shape[:-2], pad, x.shape[-1]), dtype=x.dtype)
    padded = minigrad.cat([zeros, x, zeros], axis=-2)
    columns = x.shape[-2]
    lead = (slice(None),) * (x.ndim - 2)
    return minigrad.cat([padded[lead + (slice(pad + s, pad + s + columns),)] for s in offsets], axis=-1)


def _shifted_down(x: Tensor) -> Tensor:
    """``x`` :math:`(B, R, \\ldots)` moved down one row: row :math:`r` holds row :math:`r - 1`, row 0 zeros."""
    zeros = minigrad.zeros((x.shape[0], 1, *x.shape[2:]), dtype=x.dtype)
    return minigrad.cat([zeros, x[:, :-1]], axis=1)


class RowLSTM(Module):
    """One Row LSTM layer (chapter 12).

    For row :math:`r` of inputs :math:`x_r` :math:`(B, C, D)` and previous-row states
    :math:`h_{r-1}`, with :math:`\\circledast` a convolution along the row:

    .. math::
        [i; f; g; o] &= [\\sigma; \\sigma; \\tanh; \\sigma](K^{ss} \\circledast h_{r-1} + K^{is} \\circledast [x_{r-1}; x_r] + b) \\\\
        c_r &= f \\odot c_{r-1} + i \\odot g, \\qquad h_r = o \\odot \\tanh(c_r)

    :math:`K^{ss}` spans columns :math:`j - k .. j + k` of the previous row (:math:`k` =
    ``kernel_size // 2``). :math:`K^{is}` is a masked two-row convolution: it spans columns
    :math:`j - k .. j + k` of the input row above and, in the current row, columns
    :math:`j - k .. j - 1` with mask ``"A"`` (first layer, reading pixels: never pixel :math:`j`
    itself) or :math:`j - k .. j` with mask ``"B"`` (later layers, reading states that are
    already causal).

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        kernel_size: odd width :math:`2k + 1` of the convolutions.
        mask: ``"A"`` or ``"B"``.
        rng: generator for the initial weights (:math:`\\mathcal{U}(-1/\\sqrt{n}, 1/\\sqrt{n})`,
            n the fan-in).
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        input :math:`(B, R, C, D)`; output :math:`h` :math:`(B, R, C, H)`. Parameters
        ``weight_is`` :math:`(4H, n_\\text{taps} D)`, ``weight_ss`` :math:`(4H, (2k+1) H)`, ``bias``
        :math:`(4H,)`.
    """

    def __init__(self, input_size: int, hidden_size: int, kernel_size: int = 3, mask: str = "A",
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"RowLSTM: kernel_size must be odd and >= 3, got {kernel_size}")
        if mask not in ("A", "B"):
            raise ValueError(f"RowLSTM: mask must be 'A' or 'B', got {mask!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.kernel_size, self.mask = input_size, hidden_size, kernel_size, mask
        k = kernel_size // 2
        self.input_offsets = range(-k, 0 if mask == "A" else 1)
        self.state_offsets = range(-k, k + 1)
        fan_is = (len(self.input_offsets) + len(self.state_offsets)) * input_size
        fan_ss = kernel_size * hidden_size
        fan_in = fan_is + fan_ss
        self.weight_is = init.uniform_parameter((4 * hidden_size, fan_is), fan_in, rng, dtype)
        self.weight_ss = init.uniform_parameter((4 * hidden_size, fan_ss), fan_in, rng, dtype)
        self.bias = init.uniform_parameter((4 * hidden_size,), fan_in, rng, dtype)

    def forward(self, x: Tensor) -> Tensor:
        """Run the rows top to bottom; return every state :math:`h` :math:`(B, R, C, H)`."""
        if x.ndim != 4 or x.shape[-1] != self.input_size:
            raise ValueError(f"RowLSTM: expected input (B, R, C, input_size={self.input_size}), got {tuple(x.shape)}")
        batch, rows, columns = x.shape[:3]
        taps = minigrad.cat([_shifted_columns(_shifted_down(x), self.state_offsets),
                             _shifted_columns(x, self.input_offsets)], axis=-1)
        input_terms = taps @ self.weight_is.T + self.bias
        h = c = minigrad.zeros((batch, columns, self.hidden_size), dtype=x.dtype)
        states = []
        for r in range(rows):
            h, c = lstm_update(input_terms[:, r] + _shifted_columns(h, self.state_offsets) @ self.weight_ss.T, c)
            states.append(h)
        return minigrad.stack(states, axis=1)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, kernel_size={self.kernel_size}, mask={self.mask!r}"


class DiagonalBiLSTM(Module):
    """One Diagonal BiLSTM layer (van den Oord et al. 2016; chapter 12).

    Each direction is an LSTM that sweeps the image along diagonals: the state at (row
    :math:`r`, column :math:`j`) comes from the states on its left, :math:`(r, j-1)`, and above,
    :math:`(r-1, j)`, through a 2 x 1 convolution. *Skewing* the image (shifting row :math:`r`
    right by :math:`r`) puts both neighbours in the previous column, so a whole diagonal is one
    step (the memory cell runs along the row, from the left neighbour):

    .. math::
        [i; f; g; o] &= [\\sigma; \\sigma; \\tanh; \\sigma](K^{is} x_{r,j} + K^{ss} [h_{r-1,j}; h_{r,j-1}] + b) \\\\
        c_{r,j} &= f \\odot c_{r,j-1} + i \\odot g, \\qquad h_{r,j} = o \\odot \\tanh(c_{r,j})

    The left-to-right direction sees everything above and to the left, the right-to-left
    direction (run on the mirrored image) everything above and to the right; the second is
    shifted down one row and the two are added, so the output at :math:`(r, j)` depends on the
    whole of rows :math:`< r` and on row :math:`r` left of :math:`j`. With mask ``"A"`` (first
    layer, reading pixels) the left-to-right direction reads the input one column to the left,
    so that pixel :math:`(r, j)` itself is never seen; with mask ``"B"`` (later layers) both read
    the input in place.

    Args:
        input_size: :math:`D`.
        hidden_size: :math:`H`.
        mask: ``"A"`` or ``"B"``.
        rng: generator for the initial weights (:math:`\\mathcal{U}(-1/\\sqrt{n}, 1/\\sqrt{n})`,
            n the fan-in).
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        input :math:`(B, R, C, D)`; output :math:`(B, R, C, H)`. Parameters per direction
        (``_reverse`` for right-to-left): ``weight_is`` :math:`(4H, D)`, ``weight_ss``
        :math:`(4H, 2H)`, ``bias`` :math:`(4H,)`.
    """

    def __init__(self, input_size: int, hidden_size: int, mask: str = "A",
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if mask not in ("A", "B"):
            raise ValueError(f"DiagonalBiLSTM: mask must be 'A' or 'B', got {mask!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.input_size, self.hidden_size, self.mask = input_size, hidden_size, mask
        fan_in = input_size + 2 * hidden_size
        for suffix in ("", "_reverse"):
            for name, shape in (("weight_is", (4 * hidden_size, input_size)),
                                ("weight_ss", (4 * hidden_size, 2 * hidden_size)),
                                ("bias", (4 * hidden_size,))):
                setattr(self, name + suffix, init.uniform_parameter(shape, fan_in, rng, dtype))

    def _sweep(self, x: Tensor, suffix: str) -> Tensor:
        """The left-to-right diagonal LSTM over ``x`` :math:`(B, R, C, D)`; states :math:`(B, R, C, H)`."""
        batch, rows, columns = x.shape[:3]
        size = self.hidden_size
        terms = x @ getattr(self, "weight_is" + suffix).T + getattr(self, "bias" + suffix)

        def zeros(*shape):
            return minigrad.zeros(shape, dtype=x.dtype)

        # Skew: row r moves r columns right. The padding gets no input and no bias, so its
        # states stay exactly 0, as if the image were surrounded by zeros.
        skewed = minigrad.stack([minigrad.cat([zeros(batch, r, 4 * size), terms[:, r],
                                               zeros(batch, rows - 1 - r, 4 * size)], axis=1)
                                 for r in range(rows)], axis=1)
        weight_ss = getattr(self, "weight_ss" + suffix)
        h = c = zeros(batch, rows, size)
        states = []
        for j in range(rows + columns - 1):
            h, c = lstm_update(skewed[:, :, j] + minigrad.cat([_shifted_down(h), h], axis=-1) @ weight_ss.T, c)
            states.append(h)
        row_index = np.arange(rows)[:, None]
        return minigrad.stack(states, axis=2)[:, row_index, row_index + np.arange(columns)]  # unskew

    def forward(self, x: Tensor) -> Tensor:
        """Both diagonal sweeps, the right-to-left one shifted down a row; return their sum."""
        if x.ndim != 4 or x.shape[-1] != self.input_size:
            raise ValueError(f"DiagonalBiLSTM: expected input (B, R, C, input_size={self.input_size}), "
                             f"got {tuple(x.shape)}")
        left_input = _shifted_columns(x, range(-1, 0)) if self.mask == "A" else x  # column j reads j - 1
        left = self._sweep(left_input, "")
        right = self._sweep(x[:, :, ::-1], "_reverse")[:, :, ::-1]
        return left + _shifted_down(right)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, mask={self.mask!r}"


class PixelRNN(Module):
    """An autoregressive image model: embedding, stacked recurrent layers and a K-way softmax per pixel (chapter 12).

    .. math:: \\log p(x) = \\sum_{i=1}^{n} \\log \\text{softmax}(V h_i + c)_{x_i}

    where :math:`h_i` is the last layer's state at pixel :math:`i`, which depends only on pixels
    before :math:`i` in raster order (the first layer uses mask A, later ones mask B). The layers
    are :class:`RowLSTM` (``layer="row"``: a triangular context above, fast) or
    :class:`DiagonalBiLSTM` (``layer="diagonal"``: the whole context, about twice the steps).

    Args:
        height: image rows :math:`R` (used by :meth:`sample`).
        width: image columns :math:`C`.
        levels: intensity levels :math:`K`; pixels are integers in :math:`[0, K)`.
        hidden_size: :math:`H` of every recurrent layer.
        embedding_dim: size of the vector that stands for each intensity.
        num_layers: stacked recurrent layers.
        kernel_size: the Row LSTM convolution width (unused by the Diagonal BiLSTM).
        layer: ``"row"`` or ``"diagonal"``.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        ``forward(images)``: integer images :math:`(N, R, C)` to logits :math:`(N, R, C, K)`.
    """

    def __init__(self, height: int, width: int, levels: int, hidden_size: int, embedding_dim: int = 8,
                 num_layers: int = 1, kernel_size: int = 3, layer: str = "row",
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        if layer not in ("row", "diagonal"):
            raise ValueError(f"PixelRNN: layer must be 'row' or 'diagonal', got {layer!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.height, self.width, self.levels, self.layer = height, width, levels, layer
        self.embedding = Embedding(levels, embedding_dim, rng=rng, dtype=dtype)
        layers = []
        for depth in range(num_layers):
            size_in, mask = (embedding_dim, "A") if depth == 0 else (hidden_size, "B")
            if layer == "row":
                layers.append(RowLSTM(size_in, hidden_size, kernel_size, mask=mask, rng=rng, dtype=dtype))
            else:
                layers.append(DiagonalBiLSTM(size_in, hidden_size, mask=mask, rng=rng, dtype=dtype))
        self.layers = ModuleList(layers)
        self.output = Linear(hidden_size, levels, rng=rng, dtype=dtype)

    def _check(self, images) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype.kind not in "iu":
            raise ValueError(f"PixelRNN: expected integer images (N, R, C), got {images.dtype} {images.shape}")
        F.check_range(images, self.levels, "PixelRNN: pixel values")
        return images

    def forward(self, images) -> Tensor:
        """Return the logits of :math:`p(x_i \\mid x_{<i})` for every pixel, :math:`(N, R, C, K)`."""
        h = self.embedding(self._check(images))
        for layer in self.layers:
            h = layer(h)
        return self.output(h)

    def log_prob(self, images) -> Tensor:
        """:math:`\\log p(x)` in nats for every image, :math:`(N,)` (divide by :math:`RC \\ln 2` for bits per pixel)."""
        images = self._check(images)
        logits = self(images).reshape(-1, self.levels)
        nats = F.cross_entropy(logits, images.reshape(-1), reduction="none")
        return -nats.reshape(images.shape[0], -1).sum(axis=1)

    def sample(self, n: int, rng: np.random.Generator, top=None) -> np.ndarray:
        """Draw ``n`` images pixel by pixel in raster order, :math:`x_i \\sim p(x_i \\mid x_{<i})`.

        Args:
            n: number of images.
            rng: the random generator.
            top: optional integer rows :math:`(n, R_0, C)` to keep as the top of every image: only
                the rows below them are drawn, from :math:`p(x_i \\mid x_{<i})` given those rows
                (completion of partial images).

        Returns:
            Integer images :math:`(n, R, C)`.
        """
        images = np.zeros((n, self.height, self.width), dtype=np.int64)
        given = 0
        if top is not None:
            top = self._check(top)
            if top.shape[0] != n or top.shape[1] > self.height or top.shape[2] != self.width:
                raise ValueError(f"PixelRNN.sample: top must have shape ({n}, rows <= {self.height}, {self.width}), "
                                 f"got {top.shape}")
            given = top.shape[1]
            images[:, :given] = top
        with no_grad():
            for r in range(given, self.height):
                for j in range(self.width):
                    # Rows below r cannot influence row r, so the model only needs rows 0..r.
                    probs = F.softmax(self(images[:, : r + 1])[:, r, j], axis=-1).data
                    images[:, r, j] = categorical_sample(probs, rng)
        return images

    def extra_repr(self) -> str:
        return f"height={self.height}, width={self.width}, levels={self.levels}, layer={self.layer!r}"
