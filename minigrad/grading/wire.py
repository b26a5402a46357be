"""The plain-data boundary between a student's kernel and the grader.

Everything in this module runs in two places. ``check()`` imports it in the student's kernel to
probe an answer on the visible cases. The grader reads this file's *source* when it starts and
injects it into the kernel it grades, so that a notebook that patches ``minigrad.grading`` cannot
change how its answers are read. What crosses the boundary is JSON-able data only: numbers,
lists, strings, and SymPy expressions encoded as trees of whitelisted node names, which the grader
rebuilds without ``eval`` (:func:`decode_expression`).

Only the standard library is imported at module level; numpy, SymPy and ``minigrad.Value`` are
imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
from typing import Any, Callable

__all__ = [
    "MAX_TREE_NODES",
    "build_argument",
    "probe",
    "encode_expression",
    "decode_expression",
    "describe_module",
    "collect_answer",
    "collect_integrity",
    "answer_request",
]

MAX_TREE_NODES = 200_000
"""Largest SymPy expression (in tree nodes) an answer may have."""

_NUMBER_TAGS = ("int", "rat", "float")
_FUNCTIONS = ("Add", "Mul", "Pow", "exp", "log", "tanh", "sinh", "cosh", "sech", "sin", "cos", "Abs")
_CONSTANTS = ("E", "pi")


# ------------------------------------------------------------------------------ SymPy trees
def encode_expression(expr: Any) -> list:
    """Encode a SymPy expression (or a Python number) as a nested list of whitelisted nodes.

    Nodes: ``["sym", name]``, ``["int", "12"]``, ``["rat", "1", "3"]``, ``["float", "0.25"]``,
    ``["E"]``, ``["pi"]`` and ``[func, child, ...]`` for ``func`` in Add, Mul, Pow, exp, log,
    tanh, sinh, cosh, sech, sin, cos, Abs.

    Raises:
        TypeError: for anything else (another type, or a SymPy function outside the list).
        ValueError: for an expression of more than :data:`MAX_TREE_NODES` nodes.
    """
    import sympy

    if isinstance(expr, bool) or not isinstance(expr, (int, float, sympy.Basic)):
        raise TypeError(f"expected a SymPy expression, got {type(expr).__name__}")
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
            name = type(node).__name__
            if name not in _FUNCTIONS:
                raise TypeError(f"the expression uses {name}, which the grader does not read")
            slot.append(name)
            for arg in node.args:
                child: list = []
                slot.append(child)
                stack.append((arg, child))
    return root


def decode_expression(tree: Any) -> Any:
    """Rebuild a SymPy expression from :func:`encode_expression`'s tree, accepting only its nodes.

    Raises:
        ValueError: when the tree is malformed or names a node outside the whitelist.
    """
    import sympy

    builders: dict[str, Callable[..., Any]] = {name: getattr(sympy, name) for name in _FUNCTIONS}
    constants = {"E": sympy.E, "pi": sympy.pi}
    # Iterative post-order rebuild: deep expressions must not hit the recursion limit.
    results: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(tree, False)]
    count = 0
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise ValueError(f"malformed expression tree node: {str(node)[:60]}")
        tag, args = node[0], node[1:]
        if not children_done:
            count += 1
            if count > MAX_TREE_NODES:
                raise ValueError(f"expression has more than {MAX_TREE_NODES} nodes")
            if tag in builders:
                stack.append((node, True))
                stack.extend((child, False) for child in args)
                continue
        if tag == "sym" and len(args) == 1 and isinstance(args[0], str):
            results[id(node)] = sympy.Symbol(args[0])
        elif tag in _NUMBER_TAGS and args and all(isinstance(a, str) for a in args):
            try:
                if tag == "int" and len(args) == 1:
                    results[id(node)] = sympy.Integer(int(args[0]))
                elif tag == "rat" and len(args) == 2:
                    results[id(node)] = sympy.Rational(int(args[0]), int(args[1]))
                elif tag == "float" and len(args) == 1:
                    results[id(node)] = sympy.Float(float(args[0]))
                else:
                    raise ValueError
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"malformed number node: {str(node)[:60]}") from None
        elif tag in constants and not args:
            results[id(node)] = constants[tag]
        elif tag in builders and children_done:
            results[id(node)] = builders[tag](*(results[id(child)] for child in args))
        else:
            raise ValueError(f"unknown expression node {tag!r}")
    return results[id(tree)]


# ------------------------------------------------------------------------------ probing answers
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
        import numpy

        return numpy.array(spec["array"], dtype=numpy.float64)
    if "integers" in spec:  # token ids, lengths, tags: an int64 array of any nesting
        import numpy

        return numpy.array(spec["integers"], dtype=numpy.int64)
    return spec["number"]


def _encode_numbers(result: Any) -> dict:
    """A number or a 1-D sequence of numbers as ``{"shape": [...], "values": [...]}``."""
    import numpy

    array = numpy.asarray(result)
    if array.dtype == object or not (
        numpy.issubdtype(array.dtype, numpy.number) or array.dtype == bool
    ):
        raise TypeError(f"expected numbers, got {type(result).__name__}")
    return {"shape": list(array.shape), "values": [float(v) for v in array.astype(float).ravel()]}


def _probe_value_op(answer: Callable, case: dict) -> dict:
    """Call a unary ``Value`` op on each point: forward value, gradient, graph size, chain rule."""
    from minigrad.scalar import Value

    points = []
    for x in case["points"]:
        a = Value(x)
        out = answer(a)
        if not isinstance(out, Value):
            raise TypeError(f"expected a Value, got {type(out).__name__}")
        data = out.data
        out.backward()
        # The same op inside a longer graph: y = c * op(k * w), so dy/dw = c * k * op'(k w).
        w = Value(x / case["inner"])
        y = answer(w * case["inner"]) * case["outer"]
        y.backward()
        points.append(
            {
                "data": float(data),
                "grad": float(a.grad),
                "nodes": len(out.topological_order()),
                "inputs_are_the_argument": list(out.inputs()) == [a],
                "chain_grad": float(w.grad),
            }
        )
    return {"points": points}


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
        if kind == "value_op":
            return {"ok": _probe_value_op(answer, case)}
        result = answer(*[build_argument(spec) for spec in case["args"]])
        if kind == "sympy":
            return {"ok": encode_expression(result)}
        return {"ok": _encode_numbers(result)}
    except Exception as error:  # the student's code may raise anything: report it as data
        return {"raised": type(error).__name__, "message": str(error)[:300]}


# ------------------------------------------------------------------------------ integrity
def _constant_text(const: Any) -> str:
    """A constant of a code object as text that is the same in every process (sets sorted)."""
    if isinstance(const, types.CodeType):
        return _code_digest(const)
    if isinstance(const, frozenset):
        return "frozenset" + repr(sorted(_constant_text(item) for item in const))
    if isinstance(const, tuple):
        return "(" + ", ".join(_constant_text(item) for item in const) + ")"
    return repr(const)


def _code_digest(code: types.CodeType) -> str:
    """A digest of a code object: its bytecode, names and constants, nested code included."""
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    parts += [_constant_text(const).encode() for const in code.co_consts]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _describe(obj: Any, depth: int, home: str) -> Any:
    """A JSON-able fingerprint of an object found in module ``home``: code digests for the functions
    ``home`` defines (a function from elsewhere is named, and fingerprinted with its own module),
    members for classes, items for containers and dataclasses."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, types.FunctionType):
        if obj.__module__ != home:
            return f"function {obj.__module__}.{obj.__qualname__}"
        defaults = [_describe(value, 0, home) for value in obj.__defaults__ or ()]
        return f"function {_code_digest(obj.__code__)} defaults {defaults}"
    if isinstance(obj, types.ModuleType):
        return "module " + obj.__name__
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return repr(obj)
    if depth <= 0:
        return "object " + type(obj).__qualname__
    if isinstance(obj, type):
        return {name: _describe(value, depth - 1, home) for name, value in sorted(vars(obj).items())
                if name not in ("__dict__", "__weakref__", "__doc__")}
    if isinstance(obj, (list, tuple)):
        return [_describe(item, depth - 1, home) for item in obj]
    if isinstance(obj, (set, frozenset)):  # no order of its own: sort, the same in every process
        return sorted((_describe(item, depth - 1, home) for item in obj), key=repr)
    if isinstance(obj, dict):
        return {str(key): _describe(value, depth - 1, home) for key, value in obj.items()}
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields:
        return {name: _describe(getattr(obj, name, None), depth - 1, home) for name in fields}
    return "object " + type(obj).__qualname__


def describe_module(module: types.ModuleType) -> dict:
    """Fingerprint of a module: code digests of what it defines, the origin of what it imports."""
    own = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("__") and name != "__all__":
            continue
        if isinstance(value, types.ModuleType):
            continue  # submodules appear as attributes depending on what was imported
        origin = getattr(value, "__module__", module.__name__)
        if isinstance(value, (types.FunctionType, type)) and origin != module.__name__:
            # Imported from elsewhere: where it comes from is enough (a replacement shows up).
            own[name] = f"from {origin}.{getattr(value, '__qualname__', name)}"
        else:
            own[name] = _describe(value, 4, module.__name__)
    return {"file": getattr(module, "__file__", None), "members": own}


def collect_integrity(namespace: dict, trusted: list) -> dict:
    """What the grader needs to tell whether a kernel tampered with ``minigrad``.

    Args:
        namespace: the notebook's global namespace.
        trusted: names of the modules grading relies on.

    Returns:
        The fingerprint of every trusted module the kernel has loaded, and what the name
        ``check`` is bound to in the notebook's namespace.
    """
    modules = {
        name: describe_module(sys.modules[name])
        for name in sorted(trusted)
        if isinstance(sys.modules.get(name), types.ModuleType)
    }
    package_check = getattr(sys.modules.get("minigrad.grading"), "check", None)
    bound = namespace.get("check", None)
    if "check" not in namespace:
        check_state = "absent"
    elif bound is package_check and package_check is not None:
        check_state = "package"
    else:
        check_state = "other: " + getattr(bound, "__qualname__", type(bound).__qualname__)
    return {"modules": modules, "check": check_state}


def collect_answer(namespace: dict, name: str, kind: str, cases: list) -> dict:
    """Probe the answer bound to ``name`` in the notebook's namespace on every case."""
    if name not in namespace:
        return {"defined": False, "results": []}
    return {"defined": True, "results": [probe(kind, namespace[name], case) for case in cases]}


def answer_request(namespace: dict, request_json: str) -> None:
    """Entry point of the cells the grader injects: do one request, write its payload to a file.

    Args:
        namespace: the notebook's global namespace.
        request_json: ``{"task": "answer", "name", "kind", "cases", "path", "nonce"}`` or
            ``{"task": "integrity", "trusted", "path", "nonce"}``.
    """
    request = json.loads(request_json)
    if request["task"] == "integrity":
        payload = collect_integrity(namespace, request["trusted"])
    else:
        payload = collect_answer(namespace, request["name"], request["kind"], request["cases"])
    payload["nonce"] = request["nonce"]
    with open(request["path"], "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
