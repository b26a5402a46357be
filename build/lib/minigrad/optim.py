"""Optimisers and gradient clipping, with PyTorch's names and update rules (chapters 3, 8 and 13).

An optimiser holds a list of parameters and, at each ``step()``, moves every parameter that has
a gradient. Updates write into ``param.data`` directly: they are not part of any graph.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "Adagrad", "clip_grad_norm_", "clip_grad_value_"]


def _parameter_list(params: Iterable[Tensor], who: str) -> list[Tensor]:
    params = list(params)
    if not params:
        raise ValueError(f"{who} got an empty parameter list")
    for p in params:
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError(f"{who} needs tensors with requires_grad=True, got {p!r:.60}")
    return params


class Optimizer:
    """Base class: holds the parameters, a learning rate and per-parameter state (chapter 3).

    Args:
        params: the parameters to update (e.g. ``model.parameters()``).
        lr: the learning rate :math:`\\eta`.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be >= 0, got {lr}")
        self.params = _parameter_list(params, type(self).__name__)
        self.lr = lr
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, np.asarray(p.grad, dtype=p.data.dtype), state)

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and weight decay (chapters 3 and 8).

    With :math:`g = \\nabla_\\theta L + \\lambda \\theta`, momentum :math:`\\mu` and velocity
    :math:`v` (starting as :math:`v_1 = g_1`):

    .. math:: v \\leftarrow \\mu v + g, \\qquad \\theta \\leftarrow \\theta - \\eta v

    (plain SGD when :math:`\\mu = 0`), exactly PyTorch's ``torch.optim.SGD``.

    Args:
        params: the parameters.
        lr: learning rate :math:`\\eta`.
        momentum: :math:`\\mu`.
        weight_decay: :math:`\\lambda` (L2 penalty).
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = momentum
        self.weight_decay = weight_decay

    def _update(self, data, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if self.momentum:
            if "velocity" in state:
                state["velocity"] = self.momentum * state["velocity"] + grad
            else:
                state["velocity"] = grad.copy()
            grad = state["velocity"]
        data -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015), as ``torch.optim.Adam`` (chapter 13).

    With :math:`g = \\nabla_\\theta L + \\lambda\\theta` at step :math:`t`:

    .. math::
        m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta \\, \\frac{m / (1-\\beta_1^t)}{\\sqrt{v/(1-\\beta_2^t)} + \\epsilon}

    Args:
        params: the parameters.
        lr: learning rate :math:`\\eta`.
        betas: :math:`(\\beta_1, \\beta_2)`.
        eps: :math:`\\epsilon`.
        weight_decay: :math:`\\lambda` (L2 penalty added to the gradient).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay

    def _update(self, data, grad, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if not state:
            state["m"] = np.zeros_like(data)
            state["v"] = np.zeros_like(data)
            state["t"] = 0
        state["t"] += 1
        state["m"] = beta1 * state["m"] + (1 - beta1) * grad
        state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
        m_hat = state["m"] / (1 - beta1 ** state["t"])
        v_hat = state["v"] / (1 - beta2 ** state["t"])
        data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as ``torch.optim.Adagrad`` (chapter 13).

    Each coordinate's step shrinks with the sum of its squared gradients:

    .. math:: G \\leftarrow G + g^2, \\qquad \\theta \\leftarrow \\theta - \\eta \\, \\frac{g}{\\sqrt{G} + \\epsilon}

    with :math:`g = \\nabla_\\theta L + \\lambda\\theta`.

    Args:
        params: the parameters.
        lr: learning rate :math:`\\eta`.
        weight_decay: :math:`\\lambda`.
        initial_accumulator_value: the starting value of :math:`G`.
        eps: :math:`\\epsilon`.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps

    def _update(self, data, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if not state:
            state["sum"] = np.full_like(data, self.initial_accumulator_value)
        state["sum"] = state["sum"] + grad * grad
        data -= self.lr * grad / (np.sqrt(state["sum"]) + self.eps)


def _with_grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Rescale all gradients together so that their joint norm is at most ``max_norm`` (chapter 8).

    With :math:`\\|g\\|` the norm of all gradients concatenated into one vector,

    .. math:: g \\leftarrow g \\cdot \\min\\!\\left(1, \\frac{\\text{max\\_norm}}{\\|g\\| + 10^{-6}}\\right)

    which keeps the direction of the step and caps its size: the remedy for the cliffs of
    chapter 8 (Pascanu et al. 2013).

    Args:
        parameters: the parameters whose ``.grad`` to clip (those without one are skipped).
        max_norm: the largest allowed norm.
        norm_type: the p of the p-norm (``math.inf`` for the largest absolute value).

    Returns:
        The total norm *before* clipping, as a float.
    """
    params = _with_grads(parameters)
    if not params:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(p.grad))) for p in params)
    else:
        total = float(sum(np.sum(np.abs(p.grad) ** norm_type) for p in params) ** (1.0 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad = p.grad * np.asarray(scale, dtype=p.grad.dtype)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into :math:`[-c, c]` (chapter 8).

    .. math:: g_i \\leftarrow \\max(-c, \\min(c, g_i))

    Unlike :func:`clip_grad_norm_` this can change the direction of the step.

    Args:
        parameters: the parameters whose ``.grad`` to clip.
        clip_value: :math:`c > 0`.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be > 0, got {clip_value}")
    for p in _with_grads(parameters):
        p.grad = np.clip(p.grad, -clip_value, clip_value)
