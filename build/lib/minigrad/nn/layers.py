"""Feed-forward layers with PyTorch's names: ``Linear``, ``Embedding``, ``Dropout`` (chapters 3, 6 and 7)."""

from __future__ import annotations

import numpy as np

from minigrad import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor

__all__ = ["Linear", "Embedding", "Dropout"]


class Linear(Module):
    """An affine map :math:`y = x W^\\top + b`, as ``torch.nn.Linear`` (chapter 3).

    The output layer of pattern A, :math:`o^{(t)} = c + V h^{(t)}`, is a ``Linear`` with
    ``weight`` :math:`V` and ``bias`` :math:`c`. Weight and bias start from
    :math:`\\mathcal{U}(-1/\\sqrt{\\text{in}}, 1/\\sqrt{\\text{in}})`, PyTorch's default.

    Args:
        in_features: size of each input.
        out_features: size of each output.
        bias: learn the additive bias :math:`b`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        input :math:`(\\ast, \\text{in})`, output :math:`(\\ast, \\text{out})`; ``weight``
        :math:`(\\text{out}, \\text{in})`, ``bias`` :math:`(\\text{out},)`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.in_features, self.out_features = in_features, out_features
        self.weight = init.uniform_parameter((out_features, in_features), in_features, rng, dtype)
        self.bias = init.uniform_parameter((out_features,), in_features, rng, dtype) if bias else None

    def forward(self, input: Tensor) -> Tensor:
        """Return :math:`x W^\\top + b`."""
        if input.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input with last dimension in_features={self.in_features}, "
                             f"got shape {tuple(input.shape)}")
        out = input @ self.weight.T
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table of vectors, one row per token id, as ``torch.nn.Embedding`` (chapter 6).

    :math:`\\text{Embedding}(i) = E_{i,:}`, the same as the one-hot product
    :math:`\\mathbf{1}_i^\\top E` without building the one-hot vector. Rows start from
    :math:`\\mathcal{N}(0, 1)`, PyTorch's default.

    Args:
        num_embeddings: vocabulary size :math:`V`.
        embedding_dim: vector size :math:`E`.
        rng: generator for the initial weights.
        dtype: ``np.float64`` (default) or ``np.float32``.

    Shape:
        input: integer array or tensor of any shape :math:`(\\ast)`; output :math:`(\\ast, E)`;
        ``weight`` :math:`(V, E)`.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype))

    def forward(self, input) -> Tensor:
        """Return the rows of ``weight`` named by ``input``."""
        return F.embedding(input, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout`` (chapter 7).

    In training mode each element is zeroed with probability :math:`p` and the survivors are
    scaled by :math:`1/(1-p)`, so the expected value is unchanged:
    :math:`y = x \\odot m / (1 - p)`, :math:`m_i \\sim \\text{Bernoulli}(1-p)`. In evaluation mode
    (``model.eval()``) it is the identity.

    Args:
        p: the probability of dropping an element.
        rng: generator for the masks.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, input: Tensor) -> Tensor:
        """Return :math:`x \\odot m/(1-p)` in training mode, :math:`x` in evaluation mode."""
        return F.dropout(input, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
