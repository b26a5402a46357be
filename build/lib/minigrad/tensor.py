"""The numpy tensor engine: :class:`Tensor`, its operations, and the functions that make tensors.

A :class:`Tensor` wraps a numpy array. Each operation is a small :class:`~minigrad.autograd.Function`
whose ``backward`` returns the gradient of the loss with respect to each input, written with the
book's notation :math:`\\bar{x} = \\partial L/\\partial x`; the engine in :mod:`minigrad.autograd`
undoes broadcasting and accumulates. Chapter 4 derives these gradients for the RNN; the minigrad
appendix shows how the pieces fit.
"""

from __future__ import annotations

import weakref
from numbers import Number
from typing import Any, Iterator, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from minigrad import autograd
from minigrad.autograd import Function, IndexedGrad

__all__ = ["Tensor", "as_tensor", "cat", "ones", "randn", "stack", "tensor", "zeros"]

_new = object.__new__
_ndarray = np.ndarray
_apply = Function.apply.__func__  # Function.apply without binding a class method on every call
_dot = np.dot  # for two matrices: the same BLAS product as @, with less overhead per call


# ======================================================================= elementwise arithmetic
class Add(Function):
    """:math:`y = a + b`, so :math:`\\bar{a} = \\bar{y}` and :math:`\\bar{b} = \\bar{y}` (before unbroadcasting)."""

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, grad_out):
        return grad_out, grad_out


class Sub(Function):
    """:math:`y = a - b`, so :math:`\\bar{a} = \\bar{y}` and :math:`\\bar{b} = -\\bar{y}`."""

    def forward(ctx, a, b):
        return a - b

    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """:math:`y = a \\odot b`, so :math:`\\bar{a} = \\bar{y} \\odot b` and :math:`\\bar{b} = \\bar{y} \\odot a`."""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad_out * b if need_a else None), (grad_out * a if need_b else None)


class Div(Function):
    """:math:`y = a / b`, so :math:`\\bar{a} = \\bar{y} / b` and :math:`\\bar{b} = -\\bar{y} \\odot y / b`."""

    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    def backward(ctx, grad_out):
        b, out = ctx.saved_tensors
        grad_a = grad_out / b
        return grad_a, (-grad_a * out if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """:math:`y = -x`, so :math:`\\bar{x} = -\\bar{y}`."""

    def forward(ctx, x):
        return -x

    def backward(ctx, grad_out):
        return -grad_out


class PowConst(Function):
    """:math:`y = x^k` for a constant :math:`k`, so :math:`\\bar{x} = k x^{k-1} \\bar{y}`."""

    def forward(ctx, x, exponent):
        ctx.save_for_backward(x, exponent)
        return x**exponent

    def backward(ctx, grad_out):
        x, k = ctx.saved_tensors
        return grad_out * (k * x ** (k - 1))

    @classmethod
    def op_name(cls) -> str:
        return "pow"


class Pow(Function):
    """:math:`y = a^b` elementwise, so :math:`\\bar{a} = b a^{b-1} \\bar{y}` and :math:`\\bar{b} = y \\ln a \\, \\bar{y}`.

    :math:`\\bar{b}` is taken as 0 where :math:`a = 0` (the limit of :math:`a^b \\ln a` for b > 0).
    """

    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_out * b * a ** (b - 1) if need_a else None
        grad_b = None
        if need_b:
            positive = a > 0
            grad_b = grad_out * out * np.log(np.where(positive, a, 1)) * positive
        return grad_a, grad_b


# ============================================================================ linear algebra
class MatMul(Function):
    """:math:`Y = A B` (numpy ``@``: 1-D, 2-D and batched), so :math:`\\bar{A} = \\bar{Y} B^\\top`, :math:`\\bar{B} = A^\\top \\bar{Y}`.

    A 1-D operand is a row (left) or column (right) vector, as in numpy; batch axes broadcast,
    and the engine sums the gradient over them.
    """

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if b.ndim == 2:
            if a.ndim == 2:
                return _dot(a, b)
            if a.ndim > 2:  # a stack of rows times one matrix: a single matrix product
                return _dot(a.reshape(-1, a.shape[-1]), b).reshape(*a.shape[:-1], b.shape[1])
        return a @ b

    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (_dot(grad_out, b.T) if need_a else None), (_dot(a.T, grad_out) if need_b else None)
        if a.ndim > 2 and b.ndim == 2:
            rows = grad_out.reshape(-1, b.shape[1])
            grad_a = _dot(rows, b.T).reshape(a.shape) if need_a else None
            return grad_a, (_dot(a.reshape(-1, a.shape[-1]).T, rows) if need_b else None)
        if a.ndim == 1 and b.ndim == 1:  # dot product: grad_out is a scalar
            return (grad_out * b if need_a else None), (grad_out * a if need_b else None)
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
            g = grad_out[..., None, :]
            grad_a = (g @ np.swapaxes(b, -1, -2))[..., 0, :] if need_a else None
            return grad_a, (a[:, None] * g if need_b else None)
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
            g = grad_out[..., :, None]
            grad_b = (np.swapaxes(a, -1, -2) @ g)[..., 0] if need_b else None
            return (g * b if need_a else None), grad_b
        grad_a = grad_out @ np.swapaxes(b, -1, -2) if need_a else None
        grad_b = np.swapaxes(a, -1, -2) @ grad_out if need_b else None
        return grad_a, grad_b


# ================================================================================ reductions
def _expand_reduced(grad_out: np.ndarray, axis: tuple | None, keepdims: bool) -> np.ndarray:
    """Put back the axes a reduction removed, so that ``grad_out`` broadcasts against its input."""
    if axis is None or keepdims:
        return grad_out
    return np.expand_dims(grad_out, axis)


def _axis_tuple(axis: int | Sequence[int] | None, ndim: int) -> tuple | None:
    return None if axis is None else normalize_axis_tuple(axis, ndim)


class Sum(Function):
    """:math:`y = \\sum_{i \\in \\text{axis}} x_i`, so :math:`\\bar{x}_i = \\bar{y}` (copied along the summed axes)."""

    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, _axis_tuple(axis, x.ndim), keepdims
        return x.sum(axis=ctx.axis, keepdims=keepdims)

    def backward(ctx, grad_out):
        return np.broadcast_to(_expand_reduced(grad_out, ctx.axis, ctx.keepdims), ctx.shape)


class Mean(Function):
    """:math:`y = \\frac{1}{n} \\sum_{i \\in \\text{axis}} x_i`, so :math:`\\bar{x}_i = \\bar{y} / n`."""

    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, _axis_tuple(axis, x.ndim), keepdims
        out = x.mean(axis=ctx.axis, keepdims=keepdims)
        ctx.count = x.size // max(out.size, 1) if x.size else 0
        return out

    def backward(ctx, grad_out):
        grad = _expand_reduced(grad_out, ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)


class Max(Function):
    """:math:`y = \\max_{i \\in \\text{axis}} x_i`; :math:`\\bar{y}` goes to the maximum, split evenly between ties."""

    def forward(ctx, x, axis=None, keepdims=False):
        axis = _axis_tuple(axis, x.ndim)
        out = x.max(axis=axis, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))

    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        is_max = x == out
        share = _expand_reduced(grad_out, ctx.axis, ctx.keepdims) / is_max.sum(axis=ctx.axis, keepdims=True)
        return is_max * share


# ============================================================================ elementwise maps
class Exp(Function):
    """:math:`y = e^x`, so :math:`\\bar{x} = y \\, \\bar{y}`."""

    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad_out):
        return grad_out * ctx.saved_tensors[0]


class Log(Function):
    """:math:`y = \\ln x`, so :math:`\\bar{x} = \\bar{y} / x`."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    def backward(ctx, grad_out):
        return grad_out / ctx.saved_tensors[0]


class Tanh(Function):
    """:math:`y = \\tanh x`, so :math:`\\bar{x} = (1 - y^2) \\, \\bar{y}` (chapter 4)."""

    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad_out):
        out = ctx.saved_tensors[0]
        if out.ndim == 0:
            return grad_out * (1 - out * out)
        grad = out * out  # one new array, then in place: fewer allocations in a long BPTT
        np.subtract(out.dtype.type(1), grad, out=grad)
        grad *= grad_out
        return grad


class Sigmoid(Function):
    """:math:`y = \\sigma(x) = 1/(1 + e^{-x})`, so :math:`\\bar{x} = y (1 - y) \\, \\bar{y}`.

    Computed as :math:`\\tfrac12(1 + \\tanh(x/2))`, which never overflows.
    """

    def forward(ctx, x):
        out = 0.5 * (1 + np.tanh(0.5 * x))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad_out):
        out = ctx.saved_tensors[0]
        if out.ndim == 0:
            return grad_out * (out * (1 - out))
        grad = 1 - out  # one new array, then in place
        grad *= out
        grad *= grad_out
        return grad


class ReLU(Function):
    """:math:`y = \\max(x, 0)`, so :math:`\\bar{x} = \\bar{y}` where :math:`x > 0` and 0 elsewhere (also at 0, as PyTorch)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    def backward(ctx, grad_out):
        return grad_out * (ctx.saved_tensors[0] > 0)


# ========================================================================== shape and indexing
class Reshape(Function):
    """Same numbers, new shape; :math:`\\bar{x}` is :math:`\\bar{y}` reshaped back."""

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.shape)


class Transpose(Function):
    """Permute axes (all reversed by default); :math:`\\bar{x}` is :math:`\\bar{y}` permuted back."""

    def forward(ctx, x, axes=None):
        out = x.transpose(axes)
        ctx.axes = None if axes is None else normalize_axis_tuple(axes, x.ndim)  # argsort needs them >= 0
        return out

    def backward(ctx, grad_out):
        return grad_out.transpose(None if ctx.axes is None else np.argsort(ctx.axes))


class Index(Function):
    """:math:`y = x[\\text{index}]` (numpy basic and integer-array indexing).

    The backward pass returns an :class:`~minigrad.autograd.IndexedGrad`: the engine adds
    :math:`\\bar{y}` into the indexed positions of one gradient buffer of ``x`` (``np.add.at`` for
    integer arrays, so that a repeated index receives every contribution). Taking ``x[t]`` for
    every time step therefore costs one buffer, not one full-size gradient per step. A basic
    index makes a view (``views_input``), whose gradient the engine sends on to ``x``'s buffer
    as it arrives, without calling this backward pass at all.
    """

    __slots__ = ("index", "views_input")  # no per-node dict: this op runs once per time step

    def forward(ctx, x, index):
        ctx.index = index
        ctx.views_input = index.__class__ is int or _is_basic(index)
        return x[index]

    def backward(ctx, grad_out):
        return IndexedGrad(ctx.index, grad_out, ctx.views_input)


def _take(x: Tensor, t: int) -> Tensor:
    """``x[t]`` for one integer: the tensor and node that ``Index.apply(x, index=t)`` makes, built directly.

    A recurrent network written as a loop takes ``x[t]`` at every time step, so this one operation
    skips the general path of :meth:`Function.apply` (keyword arguments, the checks for other
    kinds of input), which would cost as much as the step's own ``Tanh``. Anything unusual, an
    index out of range, a 0-d tensor or ``detect_anomaly``, takes the general path.
    """
    if autograd._anomaly_enabled:
        return _apply(Index, x, index=t)
    try:
        data = x.data[t]
    except IndexError:
        return _apply(Index, x, index=t)  # which raises, naming the operation and the shapes
    if data.__class__ is not _ndarray:  # an integer for every axis selects a numpy scalar
        data = np.asarray(data)
    if not (x._requires_grad and autograd._grad_enabled):
        return Tensor._constant(data)
    ctx = _new(Index)
    ctx.index = t
    ctx.views_input = True
    return ctx._record(data, (x._ctx or x,), (True,))


def _is_basic(index: Any) -> bool:
    """Whether ``index`` is basic indexing (ints, slices, None, ...): a view, each element at most once."""
    if index.__class__ is tuple:
        return all(i is None or i is Ellipsis or i.__class__ in (int, slice) for i in index)
    return index is None or index is Ellipsis or index.__class__ in (int, slice)


def _index_key(index: Any) -> Any:
    """Turn tensors and lists inside an index into numpy arrays."""
    if index.__class__ is tuple:
        return tuple([_index_key(i) for i in index])
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, np.integer):
        return int(index)
    return index


class Cat(Function):
    """Join arrays along an existing axis; :math:`\\bar{x}_k` is the matching slice (a view) of :math:`\\bar{y}`."""

    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.boundaries = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(ctx, grad_out):
        return tuple(np.split(grad_out, ctx.boundaries, axis=ctx.axis))


class Stack(Function):
    """Join arrays along a new axis; :math:`\\bar{x}_k` is the k-th slice (a view) of :math:`\\bar{y}` along it."""

    def forward(ctx, *arrays, axis=0):
        # np.array joins same-shaped arrays along a new first axis as np.stack does, in a third of
        # the time; np.stack says which shapes differ
        try:
            out = np.array(arrays) if axis == 0 else np.stack(arrays, axis=axis)
        except ValueError:
            out = np.stack(arrays, axis=axis)
        ctx.axis = normalize_axis_tuple(axis, out.ndim)[0]
        return out

    def backward(ctx, grad_out):
        return tuple(np.moveaxis(grad_out, ctx.axis, 0) if ctx.axis else grad_out)


# ==================================================================================== Tensor
class Tensor:
    """An n-dimensional array that records the operations made with it, for reverse-mode autodiff.

    Args:
        data: numbers, nested lists or a numpy array (copied). Python numbers become float64
            unless ``dtype`` says otherwise; numpy arrays keep their dtype.
        requires_grad: whether ``backward`` should compute :math:`\\partial L/\\partial\\,\\text{self}`.
        dtype: numpy dtype to convert to (float64, float32, or an integer type for indices).

    Attributes:
        data: the numpy array.
        grad: after ``loss.backward()``, :math:`\\partial L/\\partial\\,\\text{self}`, a numpy array
            of the same shape (or None). Leaves accumulate it across calls; set it to None to reset.
            Tensors made by operations keep it only after :meth:`retain_grad`.

    Raises:
        TypeError: for an integer or boolean tensor with ``requires_grad=True``, or data that is
            not numeric.

    Example:
        >>> import minigrad
        >>> W = minigrad.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
        >>> h = minigrad.tensor([1.0, 2.0])
        >>> (W @ h).tanh().sum().backward()
        >>> W.grad.shape
        (2, 2)
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "__weakref__")
    __array_ufunc__ = None  # numpy defers to Tensor's operators: ndarray + Tensor is a Tensor
    __hash__ = object.__hash__  # by identity: the backward pass keys gradients by tensor

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            array = np.array(data)
            if array.dtype.kind in "biu":
                array = array.astype(np.float64)
        else:
            array = np.array(data, dtype=dtype)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"tensor: data must be numeric, got dtype {array.dtype} from {type(data).__name__}")
        self.data = array
        self.grad = None
        self._requires_grad = False
        self._ctx = None
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _constant(data: np.ndarray) -> Tensor:
        """A tensor outside the graph over ``data``, an array (no checks, no copy)."""
        out = _new(Tensor)
        out.data = data
        out.grad = None
        out._requires_grad = False
        out._ctx = None
        return out

    # ---------------------------------------------------------------------------- attributes
    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor. Settable on leaves (tensors not made by an op)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._ctx is not None:
            raise RuntimeError(
                f"requires_grad can be set only on a leaf tensor; this {self.dtype} {self.shape} tensor "
                f"was made by {self._ctx.op_name()} (use .detach() for a leaf with the same data)"
            )
        if value and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: a tensor of dtype {self.data.dtype} (shape {self.shape}) cannot require "
                "gradients; only floating-point tensors can (integer tensors hold indices and targets)"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set :attr:`requires_grad` in place and return ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for a tensor made by the user rather than by an operation."""
        return self._ctx is None

    @property
    def op(self) -> str:
        """The name of the operation that made this tensor (``""`` for a leaf or without a graph)."""
        return "" if self._ctx is None else self._ctx.op_name()

    @property
    def _node(self) -> Tensor | Function:
        """This tensor's node in the graph: the ``ctx`` of the operation that made it, or itself for a leaf."""
        ctx = self._ctx
        return self if ctx is None else ctx

    # ------------------------------------------------------------------------- conversions
    def backward(self, grad: Any = None) -> None:
        """Compute :math:`\\partial\\,\\text{self}/\\partial x` for every tensor x that requires grad.

        Args:
            grad: the gradient of the final loss with respect to ``self``; omit it for a scalar.

        See :func:`minigrad.autograd.backward`.
        """
        autograd.backward(self, grad)

    def retain_grad(self) -> Tensor:
        """Keep this intermediate tensor's gradient in ``.grad`` on the next ``backward()`` (as in PyTorch).

        Leaves always keep theirs. Useful to watch :math:`\\partial L/\\partial h^{(t)}` shrink
        over time steps (chapter 8). Returns ``self``.
        """
        if self._ctx is not None:
            self._ctx.retained = weakref.ref(self)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._constant(self.data)

    def item(self) -> float | int:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a number, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = "" if self.data.dtype == np.float64 else f", dtype={self.data.dtype}"
        if self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __format__(self, spec: str) -> str:
        if spec and self.data.size == 1:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    # ------------------------------------------------------------------------- arithmetic
    def _operand(self, other: Any) -> Tensor:
        """``other`` as a tensor; a Python number takes this tensor's floating dtype (float32 stays float32)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, Number) and self.data.dtype.kind == "f":
            return Tensor._constant(np.asarray(other, dtype=self.data.dtype))
        return as_tensor(other)

    def __add__(self, other: Any) -> Tensor:
        return _apply(Add, self, other if other.__class__ is Tensor else self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return _apply(Add, self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return _apply(Sub, self, other if other.__class__ is Tensor else self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return _apply(Sub, self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return _apply(Mul, self, other if other.__class__ is Tensor else self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return _apply(Mul, self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _apply(Div, self, other if other.__class__ is Tensor else self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _apply(Div, self._operand(other), self)

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Number):
            return _apply(PowConst, self, exponent=exponent)
        return _apply(Pow, self, self._operand(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        return _apply(Pow, self._operand(base), self)

    def __neg__(self) -> Tensor:
        return _apply(Neg, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _apply(MatMul, self, other if other.__class__ is Tensor else self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _apply(MatMul, self._operand(other), self)

    # ------------------------------------------------------------ in place: only without a graph
    def _in_place(self, symbol: str, ufunc: np.ufunc, other: Any) -> Tensor:
        if self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                f"in-place {symbol} on a tensor that requires grad ({self.dtype} {self.shape}) would "
                f"corrupt its gradient: write x = x {symbol[0]} y, or update it inside minigrad.no_grad()"
            )
        ufunc(self.data, getattr(other, "data", other), out=self.data)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("+=", np.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("-=", np.subtract, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("*=", np.multiply, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("/=", np.divide, other)

    def __setitem__(self, index: Any, value: Any) -> None:
        if self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                f"in-place assignment x[...] = ... on a tensor that requires grad ({self.dtype} "
                f"{self.shape}) would corrupt its gradient: build a new tensor (e.g. with minigrad.cat) "
                "or assign inside minigrad.no_grad()"
            )
        self.data[_index_key(index)] = getattr(value, "data", value)

    # ------------------------------------------------------------------------- reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        return _apply(Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default)."""
        return _apply(Mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis`` (all axes by default); ties share the gradient."""
        return _apply(Max, self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima along ``axis``, an integer tensor outside the graph."""
        return Tensor._constant(np.asarray(self.data.argmax(axis=axis)))

    # ----------------------------------------------------------------------- elementwise
    def exp(self) -> Tensor:
        return _apply(Exp, self)

    def log(self) -> Tensor:
        return _apply(Log, self)

    def tanh(self) -> Tensor:
        return _apply(Tanh, self)

    def sigmoid(self) -> Tensor:
        return _apply(Sigmoid, self)

    def relu(self) -> Tensor:
        return _apply(ReLU, self)

    # ----------------------------------------------------------------------------- shape
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same numbers in a new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; one -1 allowed."""
        return _apply(Reshape, self, shape=_unpacked(shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (``x.transpose(1, 0, 2)``); without arguments, reverse them."""
        return _apply(Transpose, self, axes=_unpacked(axes) or None)

    @property
    def T(self) -> Tensor:  # noqa: N802 (numpy's name)
        """The tensor with its axes reversed (the matrix transpose for 2-D)."""
        return _apply(Transpose, self)

    def __getitem__(self, index: Any) -> Tensor:
        """``x[index]``: basic slicing and integer-array indexing, differentiable (scatter-add backward)."""
        if index.__class__ is int:
            return _take(self, index)
        return _apply(Index, self, index=_index_key(index))

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Split into pieces along ``axis``, as ``torch.split``.

        Args:
            split_size_or_sections: the length of every piece (the last may be shorter), or a list
                of lengths that add up to ``self.shape[axis]``.
            axis: the axis to split.
        """
        axis = normalize_axis_tuple(axis, self.ndim)[0]
        length = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: the piece length must be positive, got {split_size_or_sections}")
            sizes = [min(split_size_or_sections, length - start) for start in range(0, length, split_size_or_sections)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length or any(s < 0 for s in sizes):
                raise ValueError(
                    f"split: sections {sizes} do not add up to the length {length} of axis {axis} "
                    f"of a tensor of shape {self.shape}"
                )
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self[(slice(None),) * axis + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        """Split into ``chunks`` pieces of equal length along ``axis`` (the last may be shorter), as ``torch.chunk``."""
        if chunks <= 0:
            raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
        length = self.shape[normalize_axis_tuple(axis, self.ndim)[0]]
        return self.split(max(-(-length // chunks), 1), axis)


# ================================================================================ construction
def as_tensor(x: Any) -> Tensor:
    """``x`` itself if it is a tensor, else a constant tensor over ``np.asarray(x)`` (no copy)."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"expected a tensor, a number or a numeric array, got {type(x).__name__} (dtype {array.dtype})")
    return Tensor._constant(array)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a :class:`Tensor` (same arguments)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _unpacked(sizes: tuple) -> tuple[int, ...]:
    """Integers given as ``f(2, 3)`` or as ``f((2, 3))``, as one tuple."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        return tuple(sizes[0])
    return tuple(sizes)


def zeros(*shape: int | Sequence[int], dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return Tensor(np.zeros(_unpacked(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: int | Sequence[int], dtype: Any = np.float64, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return Tensor(np.ones(_unpacked(shape), dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: int | Sequence[int],
    rng: np.random.Generator | None = None,
    dtype: Any = np.float64,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples from ``rng`` (a fresh unseeded generator if omitted)."""
    rng = np.random.default_rng() if rng is None else rng
    return Tensor(rng.standard_normal(_unpacked(shape)).astype(dtype), requires_grad=requires_grad)


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Concatenate tensors along an existing ``axis``."""
    if len(tensors) == 0:
        raise ValueError("cat: needs at least one tensor")
    return _apply(Cat, *tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Stack tensors of one shape along a new ``axis`` (e.g. hidden states over time: T x (B, H) -> (T, B, H))."""
    if len(tensors) == 0:
        raise ValueError("stack: needs at least one tensor")
    return _apply(Stack, *tensors, axis=axis)
