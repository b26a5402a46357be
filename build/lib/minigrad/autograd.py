"""The reverse-mode machinery behind :class:`minigrad.Tensor` (chapter 4 and the minigrad appendix).

An operation is a small :class:`Function`: ``forward`` maps numpy arrays to a numpy array and
saves what the backward pass needs on ``ctx``; ``backward`` maps the gradient of the output,
:math:`\\bar{y} = \\partial L/\\partial y`, to one gradient per input,
:math:`\\bar{x}_i = (\\partial y/\\partial x_i)^\\top \\bar{y}` (or ``None``). Everything else lives
here, once:

* the graph: each operation's ``ctx`` is a node that points to the nodes of its inputs (the
  ``ctx`` of an input made by an operation, or the input itself if it is a leaf). It holds the
  arrays ``forward`` saved, not the intermediate tensors, so an intermediate result nobody
  needs is freed at once, as in PyTorch;
* :func:`backward` visits the graph in reverse topological order, found with an explicit stack,
  so that a graph 100,000 operations deep backpropagates;
* :func:`accumulate` is the one place where gradients are summed into their tensors: it undoes
  numpy broadcasting (sum away leading axes, then size-1 axes), checks that every gradient has
  its tensor's shape, and scatter-adds the gradient of an indexing operation into one buffer of
  the indexed tensor instead of a full-size array per index. The gradient meant for a view
  ``x[t]`` goes straight into ``x``'s buffer, so that a time step taken out of a sequence costs
  no visit of its own in the backward pass;
* :class:`no_grad` turns graph recording off, :class:`detect_anomaly` turns NaN/inf checks on.
"""

from __future__ import annotations

import contextlib
import importlib
import operator
from typing import Any

import numpy as np

__all__ = [
    "Function",
    "IndexedGrad",
    "accumulate",
    "backward",
    "detect_anomaly",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
    "unbroadcast",
]

_grad_enabled = True
_anomaly_enabled = False
_new = object.__new__
_ndarray = np.ndarray
_requires_grad_of = operator.attrgetter("_requires_grad")
_data_of = operator.attrgetter("data")
_tensor_node = operator.attrgetter("_node")
# needs_input_grad of one and of two inputs, indexed by their requires_grad flags: shared tuples
# rather than a new one per operation.
_NEEDS_OF_ONE = ((False,), (True,))
_NEEDS_OF_TWO = (((False, False), (False, True)), ((True, False), (True, True)))


# --------------------------------------------------------------------------------- switches
class no_grad(contextlib.ContextDecorator):
    """Context manager (and decorator) in which operations record no graph.

    Use it for evaluation and for parameter updates; in-place updates of tensors that require
    gradients are allowed only inside it.

    Example:
        >>> import minigrad
        >>> w = minigrad.ones(3, requires_grad=True)
        >>> with minigrad.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    def __enter__(self) -> no_grad:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager in which every forward and backward result is checked for NaN and inf.

    The first non-finite value raises :class:`FloatingPointError` naming the operation that made
    it. The checks cost a pass over every array, so use it to debug, not to train.
    """

    def __enter__(self) -> detect_anomaly:
        global _anomaly_enabled
        self._previous = _anomaly_enabled
        _anomaly_enabled = True
        return self

    def __exit__(self, *exc: object) -> None:
        global _anomaly_enabled
        _anomaly_enabled = self._previous


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph (``False`` inside :class:`no_grad`)."""
    return _grad_enabled


# ---------------------------------------------------------------------------------- Function
class Function:
    """One differentiable operation, and the node it leaves in the graph; subclass it and call :meth:`apply`.

    A subclass defines ``forward(ctx, *arrays, **kwargs) -> np.ndarray`` and
    ``backward(ctx, grad_out) -> gradient or tuple of gradients`` (one per input, ``None`` where
    an input needs none). ``ctx`` is the node: ``ctx.save_for_backward(...)`` keeps arrays for
    the backward pass, ``ctx.needs_input_grad[i]`` tells whether input ``i`` needs a gradient.
    Broadcasting is undone by the engine, so ``backward`` may return a gradient with the shape
    of ``grad_out`` for an input that was broadcast.

    Attributes:
        parents: one graph node per input: the ``ctx`` of an input made by an operation, the
            tensor itself for a leaf.
        needs_input_grad: one bool per input, whether it requires grad.
        out_shape: the shape of the output, which its gradient must have.
        views_input: True for a node whose output is the view ``x[ctx.index]`` of its only input
            for a basic index (ints and slices). Unless its gradient is retained,
            :func:`accumulate` adds the gradient meant for such a node straight into its
            input's buffer at ``ctx.index``: the node's backward pass, done on the edge.

    Example:
        >>> import numpy as np, minigrad
        >>> class Square(Function):
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     def backward(ctx, grad_out):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x * grad_out
        >>> x = minigrad.tensor([1.0, 3.0], requires_grad=True)
        >>> Square.apply(x).sum().backward()
        >>> x.grad
        array([2., 6.])
    """

    __slots__ = ("parents", "needs_input_grad", "out_shape", "saved_tensors", "__dict__")
    retained = None  # a weak reference to the output tensor, set by Tensor.retain_grad()
    views_input = False

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on the inputs' arrays and, if any input requires grad, record the node.

        Args:
            *inputs: tensors (anything else is first made a constant tensor).
            **kwargs: passed on to ``forward`` (axes, shapes, exponents...).

        Returns:
            A new :class:`minigrad.Tensor` holding the result.
        """
        ctx = _new(cls)
        n_inputs = len(inputs)
        # One and two inputs, the common cases, are spelled out so that they build no maps.
        try:
            if n_inputs == 2:
                a, b = inputs
                needs = _NEEDS_OF_TWO[a._requires_grad][b._requires_grad]
                data = cls.forward(ctx, a.data, b.data, **kwargs)
            elif n_inputs == 1:
                (a,) = inputs
                needs = _NEEDS_OF_ONE[a._requires_grad]
                data = cls.forward(ctx, a.data, **kwargs)
            else:
                needs = tuple(map(_requires_grad_of, inputs))
                data = cls.forward(ctx, *map(_data_of, inputs), **kwargs)
        except AttributeError:
            if all(isinstance(x, _tensor.Tensor) for x in inputs):
                raise  # from inside forward
            return cls.apply(*map(_tensor.as_tensor, inputs), **kwargs)  # make numbers and arrays constants
        except (ValueError, IndexError, TypeError) as error:
            name, message = cls.op_name(), str(error)
            message = message.removeprefix(f"{name}: ")
            raise type(error)(f"{name}: {message} ({_describe(inputs)})") from None
        if data.__class__ is not _ndarray:
            data = np.asarray(data)
        if _anomaly_enabled and data.dtype.kind in "fc" and not np.isfinite(data).all():
            raise FloatingPointError(
                f"detect_anomaly: {cls.op_name()} produced nan or inf in its forward pass "
                f"(output shape {data.shape}; {_describe(inputs)})"
            )
        if not (_grad_enabled and True in needs):
            return _tensor.Tensor._constant(data)
        # An input's node is the ctx of the operation that made it (a Function is always true)
        # or, for a leaf, the tensor itself.
        if n_inputs == 2:
            parents = (a._ctx or a, b._ctx or b)
        elif n_inputs == 1:
            parents = (a._ctx or a,)
        else:
            parents = tuple(map(_tensor_node, inputs))
        return ctx._record(data, parents, needs)

    def _record(self, data: np.ndarray, parents: tuple, needs_input_grad: tuple) -> Any:
        """The tensor over ``data`` (an array), made by this node from the inputs whose nodes are ``parents``."""
        self.parents = parents
        self.needs_input_grad = needs_input_grad
        self.out_shape = data.shape
        out = _new(_tensor.Tensor)
        out.data = data
        out.grad = None
        out._requires_grad = True
        out._ctx = self
        return out

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (or anything else) for ``backward``, as ``ctx.saved_tensors``."""
        self.saved_tensors = arrays

    @classmethod
    def op_name(cls) -> str:
        """The operation's name in messages: the class name in lower case (``MatMul`` -> ``matmul``)."""
        return cls.__name__.lower()

    def forward(ctx, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:  # noqa: N805 (ctx is the node)
        raise NotImplementedError(f"{type(ctx).__name__}.forward")

    def backward(ctx, grad_out: np.ndarray) -> Any:  # noqa: N805
        raise NotImplementedError(f"{type(ctx).__name__}.backward")


class IndexedGrad:
    """The gradient of ``x[index]``: ``values`` to be added into ``x``'s gradient at ``index``.

    Returned by the backward pass of indexing instead of a full-size array that would be zero
    almost everywhere; :func:`accumulate` adds it into one gradient buffer of ``x``.
    """

    __slots__ = ("index", "values", "basic")

    def __init__(self, index: Any, values: np.ndarray, basic: bool) -> None:
        self.index = index
        self.values = values
        self.basic = basic  # basic slicing selects each element at most once


def _name(op: type | None) -> str:
    return "backward" if op is None else f"{op.op_name()} backward"


def _describe(inputs: tuple) -> str:
    parts = [f"{x.dtype} {tuple(x.shape)}" for x in inputs]
    return "input " + parts[0] if len(parts) == 1 else "inputs " + ", ".join(parts)


# ------------------------------------------------------------------- the backward pass
def topological_order(root: Any) -> list:
    """Every graph node that ``root`` (a node) depends on and that gradients flow through, each after all of its inputs.

    Nodes are :class:`Function` contexts and the leaf tensors that require grad. Depth-first
    search with an explicit stack (no recursion), so graphs of any depth work: an operation's node
    is pushed, then a ``None`` marker, then its inputs; when the marker comes back off the stack,
    all the inputs are done and the node below it joins the order. A leaf has no inputs, so it
    joins at once (or not at all, if it is a constant).
    """
    order = []
    visited = set()
    stack = [root]
    push, pop, extend, visit, append = stack.append, stack.pop, stack.extend, visited.add, order.append
    while stack:
        node = pop()
        if node is None:
            append(pop())
        elif node not in visited:
            visit(node)
            if isinstance(node, Function):
                push(node)
                push(None)
                extend(node.parents)
            elif node._requires_grad:
                append(node)
    return order


def unbroadcast(grad: np.ndarray, shape: tuple, op: type | None = None, position: int = 0) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing numpy broadcasting, and check the result.

    Broadcasting prepends axes and stretches size-1 axes; its adjoint sums over the prepended
    (leading) axes, then over the stretched axes with ``keepdims=True``:
    :math:`\\bar{x}_{j} = \\sum_{i \\,:\\, i \\text{ broadcasts to } j} \\bar{y}_i`.

    Raises:
        RuntimeError: if ``grad`` cannot be the gradient of a tensor of ``shape``; the message
            names the operation (the :class:`Function` subclass ``op``) whose backward produced
            it and the input ``position``.
    """
    if grad.shape == shape:
        return grad
    original_shape = grad.shape
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if extra >= 0:
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        if grad.shape == shape:
            return grad
    raise RuntimeError(
        f"{_name(op)}: the gradient for input {position} has shape {original_shape}, which does "
        f"not reduce to the input's shape {shape}"
    )


def accumulate(grads: dict, owned: set, node: Any, grad: Any, op: type | None = None, position: int = 0) -> None:
    """Add one gradient contribution for ``node`` into ``grads[node]``: the only place this happens.

    ``grad`` is a numpy array (summed down to the node's shape by :func:`unbroadcast` and checked)
    or an :class:`IndexedGrad` (scatter-added into a buffer of the node's shape). The first
    contribution is stored as it is, without a copy: it may be a view that other nodes share, so
    it is never written into. A second contribution makes a new array that this node owns
    (``node in owned``); later ones are added into it in place. Nodes are keyed by identity.

    An array meant for a node that ``views_input`` (the view ``x[index]``, with its gradient not
    retained) is scatter-added at once into ``x``'s buffer, which is what that node's backward
    pass would do: the view never holds a gradient of its own.
    """
    if grad.__class__ is IndexedGrad:
        _scatter_add(grads, owned, node, grad.index, grad.values, grad.basic, op, position)
        return
    is_operation = isinstance(node, Function)
    shape = node.out_shape if is_operation else node.data.shape
    if grad.shape != shape:
        grad = unbroadcast(grad, shape, op, position)
    if is_operation and node.views_input and node.retained is None:
        _scatter_add(grads, owned, node.parents[0], node.index, grad, True, op, position)
        return
    current = grads.get(node)
    if current is None:
        grads[node] = grad
    elif node in owned:
        current += grad
    else:
        total = current + grad
        grads[node] = total if total.__class__ is _ndarray else np.asarray(total)
        owned.add(node)


def _scatter_add(grads: dict, owned: set, node: Any, index: Any, values: np.ndarray, basic: bool,
                 op: type | None, position: int) -> None:
    """Add ``values`` into ``node``'s gradient at ``index``, in one buffer that the node owns (see :func:`accumulate`)."""
    current = grads.get(node)
    if current is None:
        shape = node.out_shape if isinstance(node, Function) else node.data.shape
        current = np.zeros(shape, dtype=values.dtype)
        owned.add(node)
    elif node not in owned:
        current = np.array(current, dtype=np.result_type(current, values))
        owned.add(node)
    if basic:
        target = current[index]
        if target.shape != values.shape:
            raise RuntimeError(
                f"{_name(op)}: gradient of shape {values.shape} for a slice of shape "
                f"{target.shape} of input {position}"
            )
        if target.__class__ is _ndarray:
            target += values
        else:  # an integer for every axis selects a numpy scalar, a copy rather than a view
            current[index] = target + values
    else:
        np.add.at(current, index, values)
    grads[node] = current


def backward(root: Any, grad: np.ndarray | None = None) -> None:
    """Backpropagate from ``root``: fill ``.grad`` of every leaf tensor it depends on that requires grad.

    Leaves (tensors not made by an operation) accumulate into ``.grad`` across calls, as in
    PyTorch, and own their gradient array. Intermediate tensors keep no gradient unless
    ``retain_grad()`` was called on them; they then get this pass's gradient, overwritten on
    the next call and possibly a read-only view shared with other tensors. The graph is kept,
    so ``backward`` may be called again.

    Args:
        root: the tensor to differentiate, usually a scalar loss.
        grad: :math:`\\partial L/\\partial\\,\\text{root}`; may be omitted for a scalar ``root``
            (it is then 1).

    Raises:
        RuntimeError: if ``root`` does not require grad, or is not a scalar and ``grad`` is None,
            or ``grad`` does not have ``root``'s shape.
    """
    shape = root.data.shape
    if not root._requires_grad:
        raise RuntimeError(
            f"backward: this tensor ({root.dtype} {shape}) does not require grad: none of the "
            "tensors it was computed from has requires_grad=True (or it was computed under no_grad)"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be omitted only for a scalar output, but this tensor has shape "
                f"{shape}; reduce it first (e.g. .sum() or .mean()) or pass grad= of shape {shape}"
            )
        grad = np.ones(shape, dtype=root.data.dtype)
    else:
        grad = np.asarray(getattr(grad, "data", grad), dtype=root.data.dtype)
        if grad.shape != shape:
            raise RuntimeError(f"backward: grad has shape {grad.shape} but the tensor has shape {shape}")
    root_node = root._node
    grads = {root_node: grad}
    owned: set = set()
    anomaly = _anomaly_enabled
    for node in reversed(topological_order(root_node)):
        grad_out = grads.pop(node, None)
        if grad_out is None:
            continue
        if not isinstance(node, Function):  # a leaf tensor
            if node not in owned or grad_out.dtype != node.data.dtype:
                grad_out = np.array(grad_out, dtype=node.data.dtype)
            node.grad = grad_out if node.grad is None else node.grad + grad_out
            continue
        if node.retained is not None:
            _keep_grad(node, grad_out)
        cls = node.__class__
        input_grads = cls.backward(node, grad_out)
        parents, needs = node.parents, node.needs_input_grad
        if input_grads.__class__ is not tuple:  # one gradient: for an operation's only input
            input_grads = (input_grads,)
        if len(input_grads) != len(parents):
            raise RuntimeError(
                f"{_name(cls)}: returned {len(input_grads)} gradient(s) for {len(parents)} inputs; "
                "return one gradient (or None) per input, as a tuple when there are several"
            )
        for position, input_grad in enumerate(input_grads):
            if input_grad is not None and needs[position]:
                if anomaly:
                    _check_backward(cls, position, parents[position], input_grad)
                accumulate(grads, owned, parents[position], input_grad, cls, position)


def _keep_grad(node: Function, grad: np.ndarray) -> None:
    tensor = node.retained()
    if tensor is not None:
        tensor.grad = grad if grad.dtype == tensor.dtype else grad.astype(tensor.dtype)


def _check_backward(cls: type, position: int, parent: Any, grad: Any) -> None:
    values = grad.values if grad.__class__ is IndexedGrad else grad
    if not np.isfinite(values).all():
        shape = parent.out_shape if isinstance(parent, Function) else parent.shape
        raise FloatingPointError(
            f"detect_anomaly: {cls.op_name()} produced nan or inf in its backward pass, in the "
            f"gradient for input {position} (shape {tuple(shape)})"
        )


# Tensor is built on Function: bind its module late to break the import cycle (by its full name:
# the package's attribute ``minigrad.tensor`` is the function that makes tensors).
_tensor = importlib.import_module("minigrad.tensor")
