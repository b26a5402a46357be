"""The plain-data boundary between a student's function and the grader.

``check()`` uses this module in the student's kernel to probe an answer on the visible cases, and
the grader's part of a sandboxed kernel (:mod:`minigrad.grading.kernel`) uses it to probe the
hidden ones. What crosses the boundary is JSON-able data only: numbers, lists, strings, and SymPy
expressions encoded as trees of whitelisted node names. The grader rebuilds those trees with
:func:`decode_expression`, which never evaluates text and checks size, depth, literals and
exponents *before* SymPy builds anything.

A ``value_op`` answer (a new :class:`~minigrad.scalar.Value` operation) is read through the
trusted class: :func:`read_value_op` accepts only objects whose type *is* ``Value``, reads their
slots through the descriptors this module captured when it was imported, and backpropagates on its
own, so a subclass or a patched method cannot change what the grader sees (chapter 2).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.scalar import Value

__all__ = [
    "MAX_TREE_NODES",
    "build_argument",
    "call_answer",
    "read_answer",
    "probe",
    "encode_expression",
    "decode_expression",
    "value_op_arguments",
    "read_value_op",
    "collect_answer",
    "type_name",
    "UnreadableAnswer",
]

MAX_TREE_NODES = 200_000
"""Largest SymPy expression (in tree nodes) an answer may have."""
MAX_TREE_DEPTH = 1_000
"""Deepest nesting of a SymPy expression tree."""
MAX_LITERAL_DIGITS = 60
"""Longest integer (in decimal digits) an expression tree may hold, numerator and denominator alike."""
MAX_EXPONENT = 100
"""Largest absolute numeric exponent of a power in an expression tree."""
MAX_NUMBER_BITS = 20_000
"""Largest exact number (in bits) that decoding may compute from numeric powers and products."""
MAX_GRAPH_NODES = 100_000
"""Largest ``Value`` graph a ``value_op`` answer may build."""
MAX_NUMBERS = 200_000
"""Most numbers a ``numbers`` answer may return."""

_NUMBER_TAGS = ("int", "rat", "float")
_FUNCTIONS = ("Add", "Mul", "Pow", "exp", "log", "tanh", "sinh", "cosh", "sech", "sin", "cos", "Abs")
_CONSTANTS = ("E", "pi")
type_name: Callable[[type], str] = type.__dict__["__name__"].__get__
"""A class's own name, read without running any of its (or its metaclass's) code."""



class UnreadableAnswer(TypeError):
    """An answer returned something its question does not read (``None``, a string, ...).

    Raised by the grader's readers, not by the student's code; reports say what was returned.
    """

    def __init__(self, expected: str, returned: Any) -> None:
        kind = type_name(type(returned))
        super().__init__(f"returned None, not {expected} (is a `return` missing?)" if returned is None
                         else f"returned a {kind}, not {expected}")

# ------------------------------------------------------------------------------ SymPy trees
def encode_expression(expr: Any) -> list:
    """Encode a SymPy expression (or a Python number) as a nested list of whitelisted nodes.

    Nodes: ``["sym", name]``, ``["int", "12"]``, ``["rat", "1", "3"]``, ``["float", "0.25"]``,
    ``["E"]``, ``["pi"]`` and ``[func, child, ...]`` for ``func`` in Add, Mul, Pow, exp, log,
    tanh, sinh, cosh, sech, sin, cos, Abs.

    Raises:
        UnreadableAnswer: for another type (``None``, a string, ...).
        TypeError: for a SymPy function outside the list.
        ValueError: for an expression of more than :data:`MAX_TREE_NODES` nodes.
    """
    import sympy

    if isinstance(expr, bool) or not isinstance(expr, (int, float, sympy.Basic)):
        raise UnreadableAnswer("a SymPy expression", expr)
    root: list = []
    stack: list[tuple[Any, list]] = [(sympy.sympify(expr), root)]
    count = 0
    while stack:
        node, slot = stack.pop()
        count += 1
        if count > MAX_TREE_NODES:
            raise ValueError(f"expression has more than {MAX_TREE_NODES} nodes")
        if node.is_Symbol:
            slot.extend(["sym", str(node.name)])
        elif node.is_Integer:
            slot.extend(["int", str(int(node))])
        elif node.is_Rational:
            slot.extend(["rat", str(int(node.p)), str(int(node.q))])
        elif node.is_Float:
            slot.extend(["float", str(node)])
        elif node is sympy.E or node is sympy.pi:
            slot.append("E" if node is sympy.E else "pi")
        else:
            name = type_name(type(node))
            if name not in _FUNCTIONS:
                raise TypeError(f"the expression uses {name}, which the grader does not read")
            slot.append(name)
            for arg in node.args:
                child: list = []
                slot.append(child)
                stack.append((arg, child))
    return root


def _integer(text: Any) -> int:
    if type(text) is not str or not 0 < len(text.lstrip("-")) <= MAX_LITERAL_DIGITS:
        raise ValueError(f"an integer literal must be at most {MAX_LITERAL_DIGITS} digits")
    return int(text)


def _leaf(tag: str, args: list, sympy: Any) -> Any:
    """A symbol, number or constant node, with its literals bounded."""
    if tag == "sym" and len(args) == 1 and type(args[0]) is str and 0 < len(args[0]) <= 100:
        return sympy.Symbol(args[0])
    if tag == "int" and len(args) == 1:
        return sympy.Integer(_integer(args[0]))
    if tag == "rat" and len(args) == 2:
        denominator = _integer(args[1])
        if denominator == 0:
            raise ValueError("a rational with denominator 0")
        return sympy.Rational(_integer(args[0]), denominator)
    if tag == "float" and len(args) == 1 and type(args[0]) is str and len(args[0]) <= 40:
        value = float(args[0])
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a float literal that is not finite")
        return sympy.Float(value)
    if tag in _CONSTANTS and not args:
        return sympy.E if tag == "E" else sympy.pi
    raise ValueError(f"unknown expression node {tag!r}" if tag not in (*_NUMBER_TAGS, "sym")
                     else f"malformed {tag} node")


def _bits(number: Any) -> int:
    """Bits of an exact number (numerator plus denominator), 0 for anything else."""
    if number.is_Rational:
        return int(number.p).bit_length() + int(number.q).bit_length()
    return 0


def _check_operation(tag: str, children: list) -> None:
    """Refuse a power or product whose exact result would be too large to compute."""
    if tag == "Pow" and len(children) == 2:
        base, exponent = children
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise ValueError(f"an exponent larger than {MAX_EXPONENT}")
        if exponent.is_Rational and _bits(base) * abs(int(exponent.p)) > MAX_NUMBER_BITS:
            raise ValueError(f"a power larger than {MAX_NUMBER_BITS} bits")
    elif tag == "Mul" and sum(_bits(child) for child in children) > MAX_NUMBER_BITS:
        raise ValueError(f"a product larger than {MAX_NUMBER_BITS} bits")


def decode_expression(tree: Any) -> Any:
    """Rebuild a SymPy expression from :func:`encode_expression`'s tree, accepting only its nodes.

    The tree is checked as it is read: at most :data:`MAX_TREE_NODES` nodes and
    :data:`MAX_TREE_DEPTH` levels, integer literals of at most :data:`MAX_LITERAL_DIGITS` digits,
    finite floats, numeric exponents of at most :data:`MAX_EXPONENT` and exact numeric powers and
    products of at most :data:`MAX_NUMBER_BITS` bits. SymPy's constructors run only on nodes that
    passed, so ``Pow(3, 10**8)`` is refused before anything is computed.

    Raises:
        ValueError: when the tree is malformed, too large, or names a node outside the whitelist.
    """
    import sympy

    builders: dict[str, Callable[..., Any]] = {name: getattr(sympy, name) for name in _FUNCTIONS}
    # Iterative post-order rebuild: deep expressions must not hit the recursion limit.
    results: dict[int, Any] = {}
    stack: list[tuple[Any, bool, int]] = [(tree, False, 1)]
    count = 0
    while stack:
        node, children_done, depth = stack.pop()
        if type(node) is not list or not node or type(node[0]) is not str:
            raise ValueError(f"malformed expression tree node: {str(node)[:60]}")
        tag, args = node[0], node[1:]
        if not children_done:
            count += 1
            if count > MAX_TREE_NODES:
                raise ValueError(f"expression has more than {MAX_TREE_NODES} nodes")
            if depth > MAX_TREE_DEPTH:
                raise ValueError(f"expression is nested more than {MAX_TREE_DEPTH} levels deep")
            if tag in builders:
                if not args:
                    raise ValueError(f"a {tag} node without arguments")
                stack.append((node, True, depth))
                stack.extend((child, False, depth + 1) for child in args)
                continue
            results[id(node)] = _leaf(tag, args, sympy)
            continue
        children = [results[id(child)] for child in args]
        _check_operation(tag, children)
        results[id(node)] = builders[tag](*children)
    return results[id(tree)]


# ------------------------------------------------------------------------------ arguments
def build_argument(spec: dict) -> Any:
    """Turn one argument description of a case into the object the answer is called with."""
    if "symbol" in spec:
        import sympy

        return sympy.Symbol(spec["symbol"])
    if "symbols" in spec:
        import sympy

        return [sympy.Symbol(name) for name in spec["symbols"]]
    if "rational" in spec:
        import sympy

        return sympy.Rational(*spec["rational"])
    if "array" in spec:
        return np.array(spec["array"], dtype=np.float64)
    if "integers" in spec:  # token ids, lengths, tags: an int64 array of any nesting
        return np.array(spec["integers"], dtype=np.int64)
    return spec["number"]


def _encode_numbers(result: Any) -> dict:
    """A number or a 1-D sequence of numbers as ``{"shape": [...], "values": [...]}``."""
    array = np.asarray(result)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise UnreadableAnswer("numbers", result)
    if array.size > MAX_NUMBERS:
        raise ValueError(f"returns {array.size} numbers, more than the {MAX_NUMBERS} the grader reads")
    return {"shape": [int(n) for n in array.shape], "values": [float(v) for v in array.astype(float).ravel()]}


# ------------------------------------------------------------------------------ Value ops, read through the trusted class
_SLOTS = {name: Value.__dict__[name] for name in Value.__slots__}
_NUMPY_REALS = frozenset({np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8})


def _real(x: Any, what: str, _type: Any = type, _float: Any = float, _reals: Any = _NUMPY_REALS) -> float:
    """``x`` as a float when it is exactly a Python or numpy real number (no subclass, no student code)."""
    kind = _type(x)
    if kind is _float:
        return x
    if kind is int or kind in _reals:
        return _float(x)
    raise TypeError(f"{what} is a {type_name(kind)}, not a number")


def new_value(data: float, inputs: tuple = (), local_grads: tuple = (), op: str = "",
              _new: Any = object.__new__, _Value: Any = Value, _slots: Any = _SLOTS) -> Value:
    """A ``Value`` made without calling any of its methods (which a notebook may have replaced)."""
    node = _new(_Value)
    for name, value in (("data", data), ("grad", 0.0), ("label", ""), ("_prev", inputs),
                        ("_local_grads", local_grads), ("_op", op)):
        _slots[name].__set__(node, value)
    return node


def _graph(out: Any, _type: Any = type, _id: Any = id, _Value: Any = Value,
           _prev: Any = _SLOTS["_prev"].__get__, _locals: Any = _SLOTS["_local_grads"].__get__) -> list:
    """``(node, inputs, local gradients)`` for every node ``out`` depends on, inputs before outputs.

    Every node must be exactly a ``Value`` whose inputs and local gradients are tuples (or lists)
    of the same length; they are read through the slot descriptors, never through the object.
    """
    if _type(out) is not _Value:
        raise UnreadableAnswer("a Value", out)
    order: list = []
    seen: set[int] = set()
    stack: list = [(out, None)]
    while stack:
        node, parts = stack.pop()
        if parts is not None:
            order.append((node, *parts))
            continue
        if _id(node) in seen:
            continue
        if len(seen) >= MAX_GRAPH_NODES:
            raise ValueError(f"the graph has more than {MAX_GRAPH_NODES} nodes")
        seen.add(_id(node))
        inputs, local = _prev(node, _Value), _locals(node, _Value)
        if _type(inputs) not in (tuple, list) or _type(local) not in (tuple, list) or len(inputs) != len(local):
            raise TypeError("a node's inputs and local gradients must be two tuples of the same length")
        inputs = tuple(inputs)
        for child in inputs:
            if _type(child) is not _Value:
                raise TypeError(f"the graph holds a {type_name(_type(child))}, not a Value")
        parts = (inputs, tuple(_real(g, "a local gradient") for g in local))
        stack.append((node, parts))
        stack.extend((child, None) for child in inputs if _id(child) not in seen)
    return order


def _gradients(order: list, _id: Any = id) -> dict[int, float]:
    """d(last node)/d(node) for every node of :func:`_graph`'s order, by the chain rule."""
    grads = {_id(order[-1][0]): 1.0}
    for node, inputs, local in reversed(order):
        upstream = grads.get(_id(node), 0.0)
        for child, derivative in zip(inputs, local):
            grads[_id(child)] = grads.get(_id(child), 0.0) + derivative * upstream
    return grads


def value_op_arguments(case: dict) -> list[tuple[Value, Value, Value]]:
    """For each point x of a ``value_op`` case: a leaf ``a = x``, and ``inner * w`` with a leaf ``w = x / inner``."""
    inner = float(case["inner"])
    arguments = []
    for x in case["points"]:
        w = new_value(float(x) / inner)
        scaled = new_value(float(x) / inner * inner, (w,), (inner,), "*")
        arguments.append((new_value(float(x)), w, scaled))
    return arguments


def read_value_op(case: dict, arguments: list, outputs: list, _id: Any = id,
                  _data: Any = _SLOTS["data"].__get__, _Value: Any = Value) -> dict:
    """Describe a unary ``Value`` op from what it returned: forward value, gradient, graph size, chain rule.

    Args:
        case: the case (``points``, ``inner``, ``outer``).
        arguments: :func:`value_op_arguments` of the case.
        outputs: ``(op(a), op(inner * w))`` for each point.

    Returns:
        ``{"points": [{"data", "grad", "nodes", "inputs_are_the_argument", "chain_grad"}, ...]}``;
        ``chain_grad`` is dy/dw for ``y = outer * op(inner * w)``.
    """
    points = []
    for (a, w, _), (out, out_of_scaled) in zip(arguments, outputs):
        order = _graph(out)
        chain = _graph(out_of_scaled)
        inputs = order[-1][1]
        points.append({
            "data": _real(_data(out, _Value), "the output's data"),
            "grad": _gradients(order).get(_id(a), 0.0),
            "nodes": len(order),
            "inputs_are_the_argument": len(inputs) == 1 and inputs[0] is a,
            "chain_grad": float(case["outer"]) * _gradients(chain).get(_id(w), 0.0),
        })
    return {"points": points}


# ------------------------------------------------------------------------------ probing answers
def call_answer(kind: str, answer: Callable, case: dict, arguments: list | None = None) -> Any:
    """The part of a probe that runs the student's code: call ``answer`` on one case.

    Returns plain data for ``sympy`` and ``numbers``; for ``value_op`` the ``Value`` objects
    returned for ``arguments`` (:func:`value_op_arguments`), to be read by :func:`read_answer`.
    """
    if kind == "value_op":
        return [(answer(a), answer(scaled)) for a, _, scaled in arguments]
    result = answer(*[build_argument(spec) for spec in case["args"]])
    return encode_expression(result) if kind == "sympy" else _encode_numbers(result)


def read_answer(kind: str, case: dict, arguments: list | None, called: Any) -> Any:
    """The part of a probe that runs none of the student's code: plain data from :func:`call_answer`."""
    return read_value_op(case, arguments, called) if kind == "value_op" else called


def probe(kind: str, answer: Callable, case: dict) -> dict:
    """Call ``answer`` on one case and describe what it returned as plain data.

    Args:
        kind: ``"sympy"`` (returns an expression), ``"numbers"`` (returns a number or a
            sequence of numbers) or ``"value_op"`` (a unary op on :class:`minigrad.Value`).
        answer: the student's function.
        case: the arguments, as plain data (see :func:`build_argument`).

    Returns:
        ``{"ok": data}``, or ``{"raised": exception name, "message": text}``.
    """
    try:
        arguments = value_op_arguments(case) if kind == "value_op" else None
        return {"ok": read_answer(kind, case, arguments, call_answer(kind, answer, case, arguments))}
    except Exception as error:  # the student's code may raise anything: report it as data
        return raised(error)


def raised(error: BaseException) -> dict:
    """``{"raised": name, "message": text}`` for an exception the student's code raised."""
    try:
        message = "".join((str(error),))[:300]
    except Exception:  # noqa: BLE001 - a message that cannot be read is a message too
        message = "(the exception's message could not be read)"
    return {"raised": type_name(type(error)), "message": message}


def collect_answer(namespace: dict, name: str, kind: str, cases: list) -> dict:
    """Probe the answer bound to ``name`` in a namespace on every case (how ``check()`` reads answers)."""
    if name not in namespace:
        return {"defined": False, "results": []}
    return {"defined": True, "results": [probe(kind, namespace[name], case) for case in cases]}
