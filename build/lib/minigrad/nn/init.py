"""Weight initialisation, in place, with PyTorch's names (chapter 13).

Each function with a trailing underscore overwrites the values of a :class:`~minigrad.Tensor` (or
of a numpy array, which may be a view such as one gate's block of a stacked weight matrix) and
returns it; :func:`uniform_parameter` makes a new parameter the way every layer of ``minigrad.nn``
does. Random ones draw from the ``numpy.random.Generator`` they are given, so a seeded notebook
is reproducible.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from minigrad.nn.module import Parameter
from minigrad.tensor import Tensor

__all__ = ["uniform_parameter", "uniform_", "zeros_", "xavier_uniform_", "orthogonal_", "orthogonal_blocks_", "lstm_forget_bias_"]

Target = TypeVar("Target", Tensor, np.ndarray)


def _array(tensor: Tensor | np.ndarray) -> np.ndarray:
    """The numpy array behind ``tensor`` (the array itself if it is one)."""
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"init needs a Tensor or a numpy array, got {type(tensor).__name__}")


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng() if rng is None else rng


def uniform_(tensor: Target, a: float = 0.0, b: float = 1.0,
             rng: np.random.Generator | None = None) -> Target:
    """Fill with draws from :math:`\\mathcal{U}(a, b)` (chapter 13).

    PyTorch's default for recurrent weights is :math:`\\mathcal{U}(-1/\\sqrt{H}, 1/\\sqrt{H})`
    with :math:`H` the hidden size.

    Args:
        tensor: what to fill.
        a: lower bound.
        b: upper bound.
        rng: the random generator.

    Returns:
        ``tensor``.
    """
    array = _array(tensor)
    array[...] = _rng(rng).uniform(a, b, size=array.shape)
    return tensor


def uniform_parameter(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator | None = None,
                      dtype=np.float64) -> Parameter:
    """A new parameter drawn from :math:`\\mathcal{U}(-1/\\sqrt{n}, 1/\\sqrt{n})`, :math:`n` = ``fan_in``.

    PyTorch's default for the weights and biases of linear and recurrent layers, where :math:`n`
    is the number of inputs of a unit (the hidden size, for a recurrent layer).
    """
    bound = 1.0 / math.sqrt(fan_in)
    return Parameter(uniform_(np.empty(shape, dtype=dtype), -bound, bound, rng))


def zeros_(tensor: Target) -> Target:
    """Fill with zeros, :math:`w = 0` (chapter 13); the usual start for biases. Returns ``tensor``."""
    _array(tensor)[...] = 0
    return tensor


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def xavier_uniform_(tensor: Target, gain: float = 1.0,
                    rng: np.random.Generator | None = None) -> Target:
    """Glorot and Bengio's uniform initialisation (chapter 13).

    Draws from :math:`\\mathcal{U}(-a, a)` with
    :math:`a = \\text{gain} \\sqrt{6 / (\\text{fan\\_in} + \\text{fan\\_out})}`, which keeps the
    variance of activations and of gradients roughly equal across layers. For a weight of shape
    ``(out, in)``, fan_in is ``in`` and fan_out is ``out``.

    Args:
        tensor: a tensor with at least 2 dimensions.
        gain: scale factor (e.g. 5/3 before tanh).
        rng: the random generator.

    Returns:
        ``tensor``.
    """
    array = _array(tensor)
    fan_in, fan_out = _fans(array.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    array[...] = _rng(rng).uniform(-bound, bound, size=array.shape)
    return tensor


def orthogonal_(tensor: Target, gain: float = 1.0,
                rng: np.random.Generator | None = None) -> Target:
    """Fill with a random (semi-)orthogonal matrix :math:`Q` times ``gain`` (chapter 13).

    :math:`Q` comes from the QR decomposition of a Gaussian matrix, with the signs fixed so
    that it is uniformly distributed (Saxe et al. 2014). All singular values of :math:`Q` are
    1, so a recurrent matrix :math:`W = Q` neither shrinks nor blows up :math:`h` in the linear
    regime: the product :math:`\\prod_t W` of chapter 8 keeps norm 1. Extra dimensions are
    flattened into columns, as in PyTorch. To make each gate's block of a stacked LSTM weight
    orthogonal, pass the blocks: ``orthogonal_(cell.weight_hh.data[k*H:(k+1)*H])``.

    Args:
        tensor: a tensor with at least 2 dimensions.
        gain: scale factor.
        rng: the random generator.

    Returns:
        ``tensor``.
    """
    array = _array(tensor)
    if array.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {array.shape}")
    rows = array.shape[0]
    cols = array.size // rows
    gaussian = _rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    array[...] = (gain * q).reshape(array.shape)
    return tensor


def orthogonal_blocks_(tensor: Target, gain: float = 1.0,
                       rng: np.random.Generator | None = None) -> Target:
    """Fill each gate's square block of a stacked recurrent weight with its own :math:`\\text{gain} \\cdot Q_k` (chapters 9, 10).

    A recurrent weight ``weight_hh`` of shape :math:`(G H, H)` stacks one :math:`H \\times H`
    matrix per gate: :math:`G = 1` for ``RNNCell`` (:math:`W`), 3 for ``GRUCell``
    (:math:`W^r, W^z, W^n`), 4 for ``LSTMCell`` (:math:`W^i, W^f, W^g, W^o`). Block :math:`k`
    becomes :math:`\\text{gain} \\cdot Q_k` with :math:`Q_k` a random orthogonal matrix from
    :func:`orthogonal_`, drawn in block order from ``rng``. Every gate's recurrent matrix then has
    all its eigenvalues on the circle of radius ``gain`` and all its singular values equal to
    ``gain``, the spectral radius :math:`\\rho` of chapter 8's lag plots, which chapters 9 and 10
    repeat for gated cells. (:func:`orthogonal_` on the whole stacked matrix instead makes its
    :math:`H` columns orthonormal, which leaves each block's spectrum uncontrolled.)

    Args:
        tensor: a weight of shape :math:`(G H, H)`, e.g. ``cell.weight_hh``.
        gain: the spectral radius :math:`\\rho` of every block.
        rng: the random generator.

    Returns:
        ``tensor``.

    Raises:
        ValueError: ``tensor`` is not 2-D with a row count that is a multiple of its column count.
    """
    array = _array(tensor)
    if array.ndim != 2 or array.shape[1] == 0 or array.shape[0] % array.shape[1]:
        raise ValueError(f"orthogonal_blocks_ needs a stacked recurrent weight of shape (G*H, H), "
                         f"got shape {array.shape}")
    for block in np.split(array, array.shape[0] // array.shape[1]):
        orthogonal_(block, gain=gain, rng=rng)
    return tensor


def lstm_forget_bias_(module, value: float = 1.0):
    """Set the forget-gate bias of every LSTM cell or layer in ``module`` to ``value`` (chapter 10).

    With :math:`f_t = \\sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})`, a bias of 1 starts
    the forget gate near :math:`\\sigma(1) \\approx 0.73`, so the cell remembers by default and
    gradients flow through :math:`c_{t-1} \\to c_t` from the first step (Jozefowicz et al. 2015).
    The forget gate is the second block (gate order i, f, g, o); ``bias_ih`` gets ``value`` and
    ``bias_hh`` gets 0 so that their sum is ``value``.

    Args:
        module: an :class:`~minigrad.nn.LSTMCell`, :class:`~minigrad.nn.LSTM`, or any module
            containing them.
        value: the forget-gate bias.

    Returns:
        ``module``.

    Raises:
        ValueError: ``module`` contains no LSTM.
    """
    from minigrad.nn.recurrent import LSTM, LSTMCell

    lstms = [m for m in module.modules() if isinstance(m, (LSTM, LSTMCell))]
    if not lstms:
        raise ValueError(f"lstm_forget_bias_: {type(module).__name__} contains no LSTM or LSTMCell")
    for lstm in lstms:
        size = lstm.hidden_size
        for name, param in lstm.named_parameters():
            if name.startswith("bias_ih"):
                param.data[size:2 * size] = value
            elif name.startswith("bias_hh"):
                param.data[size:2 * size] = 0.0
    return module
