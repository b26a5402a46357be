"""The scalar reverse-mode engine: one :class:`Value` per number (chapter 2).

Every operation creates a new :class:`Value` that remembers its inputs (``_prev``) and the
local derivative of its output with respect to each input (``_local_grads``), evaluated at the
forward values. Backpropagation then needs no closures: walking the graph from the output back
to the leaves in reverse topological order, each node passes on

.. math::  \\bar{x}_i \\mathrel{+}= \\frac{\\partial y}{\\partial x_i} \\, \\bar{y},

the chain rule for a node ``y`` with inputs ``x_i``. Storing numbers instead of closures keeps the
graph free of reference cycles (a closure that refers to its own output node is a cycle), so the
graph is freed as soon as the last reference to the output goes, and Python's cycle collector
has nothing to scan.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Iterator

__all__ = ["Value"]


class Value:
    """A scalar that records how it was computed, so that gradients can flow back through it.

    Args:
        data: the number.
        label: an optional name, shown by :func:`minigrad.viz.draw_graph`.

    Attributes:
        data: the forward value, a Python ``float``.
        grad: :math:`\\partial L / \\partial \\text{self}` after ``L.backward()``.

    Example:
        >>> w, x = Value(0.5), Value(2.0)
        >>> y = (w * x).tanh()
        >>> y.backward()
        >>> round(w.grad, 4)  # (1 - tanh(1)^2) * x
        0.8399
    """

    __slots__ = ("data", "grad", "label", "_prev", "_local_grads", "_op")

    def __init__(
        self,
        data: float,
        label: str = "",
    ) -> None:
        if isinstance(data, bool) or not isinstance(data, Real):
            raise TypeError(
                f"Value needs a real number, got {type(data).__name__} {data!r}"
            )
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._prev: tuple[Value, ...] = ()
        self._local_grads: tuple[float, ...] = ()
        self._op = ""

    @classmethod
    def from_op(cls, data: float, inputs: tuple[Value, ...], local_grads: tuple[float, ...], op: str) -> Value:
        """The output node of an operation: how every op, built in or your own, makes its result.

        Args:
            data: the output's value :math:`y = f(x_1, \\dots, x_k)`.
            inputs: the input nodes :math:`x_1, \\dots, x_k`.
            local_grads: :math:`\\partial y / \\partial x_i` at the forward values, one per input.
            op: the operation's name, shown by :func:`minigrad.viz.draw_graph`.

        Example:
            >>> a = Value(0.5)
            >>> y = Value.from_op(a.data**3, (a,), (3 * a.data**2,), "cube")
            >>> y.backward(); a.grad
            0.75
        """
        out = object.__new__(cls)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._prev = inputs
        out._local_grads = local_grads
        out._op = op
        return out

    # ----------------------------------------------------------------------------- primitives
    def __add__(self, other: Value | float) -> Value:
        """Sum :math:`y = a + b`, with :math:`\\partial y/\\partial a = \\partial y/\\partial b = 1`."""
        other = _as_value(other, "+")
        return Value.from_op(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other: Value | float) -> Value:
        """Product :math:`y = ab`, with :math:`\\partial y/\\partial a = b`, :math:`\\partial y/\\partial b = a`."""
        other = _as_value(other, "*")
        return Value.from_op(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, exponent: float) -> Value:
        """Power by a constant :math:`y = a^k`, with :math:`\\partial y/\\partial a = k a^{k-1}`."""
        if isinstance(exponent, Value) or isinstance(exponent, bool) or not isinstance(exponent, Real):
            raise TypeError(
                f"Value ** supports a constant int or float exponent, got {type(exponent).__name__}"
            )
        if self.data == 0.0 and exponent < 0:
            raise ZeroDivisionError(f"Value ** {exponent}: 0 raised to a negative power")
        out = self.data**exponent
        if isinstance(out, complex):
            raise ValueError(
                f"Value ** {exponent}: a negative base ({self.data}) to a fractional power is not real"
            )
        local = exponent * self.data ** (exponent - 1) if exponent != 0 else 0.0
        return Value.from_op(out, (self,), (local,), f"**{exponent:g}")

    def tanh(self) -> Value:
        """Hyperbolic tangent :math:`y = \\tanh a`, with :math:`\\partial y/\\partial a = 1 - y^2`."""
        y = math.tanh(self.data)
        return Value.from_op(y, (self,), (1.0 - y * y,), "tanh")

    def sigmoid(self) -> Value:
        """Logistic sigmoid :math:`y = 1/(1+e^{-a})`, with :math:`\\partial y/\\partial a = y(1-y)`."""
        a = self.data
        # Two forms so that exp never overflows.
        y = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
        return Value.from_op(y, (self,), (y * (1.0 - y),), "sigmoid")

    def exp(self) -> Value:
        """Exponential :math:`y = e^a`, with :math:`\\partial y/\\partial a = y`."""
        try:
            y = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"Value.exp overflows at {self.data}") from None
        return Value.from_op(y, (self,), (y,), "exp")

    def log(self) -> Value:
        """Natural logarithm :math:`y = \\ln a` for :math:`a > 0`, with :math:`\\partial y/\\partial a = 1/a`."""
        if self.data <= 0.0:
            raise ValueError(f"Value.log needs a positive number, got {self.data}")
        return Value.from_op(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def relu(self) -> Value:
        """Rectifier :math:`y = \\max(0, a)`; its derivative is 1 for :math:`a > 0` and 0 otherwise (0 at 0)."""
        positive = self.data > 0.0
        return Value.from_op(self.data if positive else 0.0, (self,), (1.0 if positive else 0.0,), "relu")

    # -------------------------------------------------------------------------- derived ops
    def __neg__(self) -> Value:
        """Negation :math:`-a = a \\cdot (-1)`."""
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        """Difference :math:`a - b = a + (-b)`."""
        return self + (-_as_value(other, "-"))

    def __truediv__(self, other: Value | float) -> Value:
        """Quotient :math:`a / b = a \\cdot b^{-1}`."""
        return self * _as_value(other, "/") ** -1

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return _as_value(other, "-") - self

    def __rtruediv__(self, other: float) -> Value:
        return _as_value(other, "/") / self

    # ------------------------------------------------------------------------- backpropagation
    def backward(self) -> None:
        """Fill ``.grad`` of every node this value depends on with :math:`\\partial\\,\\text{self}/\\partial\\,\\text{node}`.

        Leaves (values made by the user) accumulate into ``.grad``, as in PyTorch, so zero them
        between steps. Intermediate nodes are reset first, so calling ``backward()`` twice never
        double counts through them.
        """
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0 if self._prev else self.grad + 1.0
        for node in reversed(order):
            grad_out = node.grad
            for child, local in zip(node._prev, node._local_grads):
                child.grad += local * grad_out

    def topological_order(self) -> list[Value]:
        """Every node reachable from ``self``, each after all of its inputs (iterative, so deep graphs work)."""
        order: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in visited:
                    stack.append((child, False))
        return order

    def inputs(self) -> Iterator[Value]:
        """The values this one was computed from (empty for a leaf)."""
        return iter(self._prev)

    @property
    def op(self) -> str:
        """The name of the operation that made this value (``""`` for a leaf)."""
        return self._op

    def __repr__(self) -> str:
        name = f"{self.label}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"


def _as_value(x: Value | float, op: str) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(
            f"unsupported operand for Value {op}: {type(x).__name__} {x!r} (expected a Value or a real number)"
        )
    return Value(float(x))
