"""The grader's part of a notebook's kernel, set up before the student's first cell runs.

The grader starts every kernel with :data:`BOOT` (``python -I -c BOOT DIR CONFIG_FD -f CONNECTION_FILE``),
and :func:`main`, before the kernel runs any cell:

1. reads its configuration from an inherited pipe, so that the key signing its reports is held
   by this process alone (:func:`_prepare`);
2. applies the resource limits and, when started as root, becomes the sandbox's own user;
3. sets IPython up (which runs none of the notebook's code: its profile and ``$HOME`` are new);
4. imports minigrad's grading code and the routines the questions count as borrowed machinery,
   and snapshots them: every member of their modules and classes, every function's code;
5. installs an audit hook (:func:`sys.addaudithook`), which Python code cannot remove.

The hook

* refuses what would reach the grader's state inside the process: the garbage collector's object
  lists, other threads' frames, new audit hooks, ctypes objects made from raw addresses or
  buffers, Python's C API through ctypes, ``/proc/*/mem``, the defaults of the grader's own
  functions, new code for the snapshotted functions;
* serves the grader's requests. Each injected cell raises the audit event
  ``minigrad.grading.request``, which a notebook can neither intercept nor unregister. The hook
  resets the signal handlers, compares the snapshot, calls the student's function in a thread of
  its own (where frame introspection, tracing and new processes are refused, and calls into
  borrowed machinery are recorded), reads ``Value`` graphs through the trusted class
  (:func:`minigrad.grading.wire.read_answer`), compares the snapshot again and writes its report,
  signed with HMAC-SHA-256, to the sandbox's outbox.

The key is reachable from no object the notebook can get to: the configuration that carried it is
gone before the first cell (:func:`_prepare`); the hook raises a fresh exception from a frame that
leads nowhere; the probe thread's frames hold no state; and the hook's per-event code holds none
of the key, which only :func:`_serve` holds, after the garbage collector is turned off and the
notebook's signal handlers are removed.

A notebook that interferes with a request gets no signed report, and then no credit. What this
cannot stop (a notebook that takes over its own interpreter) is stated on the book's "Exercises and
grading" page.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["BOOT", "REQUEST_EVENT", "main", "request_cell"]

BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); del sys.argv[1]; "
        "from minigrad.grading.kernel import main; main()")
"""The ``-c`` program that starts a graded kernel: ``BOOT PACKAGE_PARENT CONFIG_FD -f CONNECTION_FILE``."""
REQUEST_EVENT = "minigrad.grading.request"
"""The audit event an injected cell raises (the hook's code spells it out: it reaches no globals)."""


def request_cell(request_json: str) -> str:
    """The source of the cell the grader injects to send a request (a JSON object) to the hook."""
    return f"__import__('sys').audit({REQUEST_EVENT!r}, {request_json!r}, globals())\n"


# ------------------------------------------------------------------------------ boot
def main() -> None:
    """Boot a graded kernel: ``CONFIG_FD -f CONNECTION_FILE`` in ``sys.argv``, then IPython's own options.

    Every cell runs in a frame above this one, so it holds the kernel application only: the
    configuration, with its key, lives in :func:`_prepare`'s frame, which is gone before the first cell.
    """
    _prepare().start()


def _prepare() -> Any:
    """Read the configuration, apply it, install the hook; return the kernel application, ready to start.

    The configuration comes through an inherited pipe and is gone once read: ``key`` (hex) signs
    the reports; ``limits`` (rlimit name to value); ``uid`` and ``gid`` to become, or ``None``;
    ``imports``, ``references`` and ``borrowed`` (see :func:`_install_hook`); ``outbox``,
    ``workdir`` and ``notebook``; ``matplotlib_cache``, a directory whose font list is copied
    into ``$MPLCONFIGDIR`` (so that no kernel spends a second building it).
    """
    with os.fdopen(int(sys.argv.pop(1)), encoding="utf-8") as handle:
        config = json.load(handle)
    _apply_limits(config["limits"])
    if config.get("uid") is not None:
        os.setgroups([])
        os.setresgid(config["gid"], config["gid"], config["gid"])
        os.setresuid(config["uid"], config["uid"], config["uid"])
    _copy_font_list(config.get("matplotlib_cache"))
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # IPython's own setup first: its debugger resolves C functions through ctypes, which the hook
    # refuses. It runs none of the notebook's code (its profile and $HOME are new and empty).
    app.initialize(sys.argv[1:])
    _install_hook(config)
    return app


def _copy_font_list(source: str | None) -> None:
    import shutil

    target = os.environ.get("MPLCONFIGDIR")
    if not source or not target or not os.path.isdir(source):
        return
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name.startswith("fontlist") and name.endswith(".json"):
            shutil.copyfile(os.path.join(source, name), os.path.join(target, name))


def _apply_limits(limits: dict) -> None:
    """Hard resource limits for this process and everything it starts."""
    import resource

    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(getattr(resource, name), (value, value))


def _resolve(dotted: str) -> Any:
    """The object a dotted name points to (``minigrad.nn.GRUCell``), importing its module."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(f"cannot resolve {dotted}")


def _functions_of(owner: Any) -> list:
    """The Python functions an object stands for: itself, a class's own methods, a module's own functions."""
    import types

    if isinstance(owner, types.FunctionType):
        return [getattr(owner, "__wrapped__", owner), owner]
    members = vars(owner).values() if isinstance(owner, (type, types.ModuleType)) else ()
    found = []
    for member in members:
        for candidate in (getattr(member, "__func__", None), getattr(member, "fget", None), member,
                          getattr(member, "__wrapped__", None)):
            if isinstance(candidate, types.FunctionType) and (
                    not isinstance(owner, types.ModuleType) or candidate.__module__ == owner.__name__):
                found.append(candidate)
    if isinstance(owner, types.ModuleType):
        found += [f for cls in members if isinstance(cls, type) and cls.__module__ == owner.__name__
                  for f in _functions_of(cls)]
    return found


def _snapshot() -> tuple[dict, dict]:
    """What the hook compares later, for every minigrad module and every class defined in one.

    Returns:
        ``owner id -> (module or class, its name, {member name: member})`` and
        ``function id -> (function, its code)``.
    """
    import types

    owners, functions = {}, {}
    for name, module in list(sys.modules.items()):
        if not (name == "minigrad" or name.startswith("minigrad.")) or not isinstance(module, types.ModuleType):
            continue
        owners[id(module)] = (module, name, dict(vars(module)))
        for member in vars(module).values():
            if isinstance(member, type) and member.__module__ == name:
                owners[id(member)] = (member, f"{name}.{member.__qualname__}", dict(vars(member)))
        for function in _functions_of(module):
            functions[id(function)] = (function, function.__code__)
    return owners, functions


def _install_hook(config: dict) -> None:
    """Import and snapshot what grading relies on, build the hook's private namespace, install the hook."""
    import _hashlib
    import _thread
    import builtins
    import ctypes
    import gc
    import signal
    import threading  # noqa: F401 - imported now, so that its import is not a probe's
    import types
    from json import scanner
    from json.decoder import JSONDecoder
    from json.encoder import c_make_encoder, encode_basestring_ascii

    import minigrad.grading
    from minigrad.grading import wire

    for module in config["imports"]:
        _resolve(module)
    references = {}
    for module in config["references"]:
        for function in _functions_of(_resolve(module)):
            references[function.__code__] = f"{module}.{function.__qualname__}"
    borrowed = {}
    for qid, names in config["borrowed"].items():
        borrowed[qid] = {function.__code__: dotted for dotted in names for function in _functions_of(_resolve(dotted))}
    owners, functions = _snapshot()
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc  # resolved now: the hook refuses it later
    set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
    # What the hook needs for every event (_handle's state). It holds no secret and nothing that
    # leads to one: a notebook that catches the hook at work (in a signal handler) may read it, but
    # cannot change what is refused (frozen sets, behind a read-only mapping).
    probe_threads: dict[int, bool] = {}  # every thread that ever called an answer (restricted for good)
    hook_state: dict[str, Any] = {
        "harness_ids": frozenset(), "function_ids": frozenset(functions),
        "function_names": types.MappingProxyType({key: function.__qualname__ for key, (function, _) in functions.items()}),
        "probe_threads": types.MappingProxyType(probe_threads), "records": [], "refused": [], "unwatched": [], "serving": [False],
        "get_ident": _thread.get_ident, "main_ident": _thread.get_ident(),
        "gc_disable": gc.disable, "gc_enable": gc.enable, "gc_isenabled": gc.isenabled,
        "signal": signal.signal, "getsignal": signal.getsignal, "signals": tuple(signal.valid_signals()),
        "SIG_DFL": signal.SIG_DFL, "SIG_IGN": signal.SIG_IGN, "SIGINT": signal.SIGINT,
        "default_int_handler": signal.default_int_handler,
    }
    # What the probe thread's profile function needs: it records the borrowed routines an answer calls.
    watch: dict[str, Any] = {"references": references, "current": {}, "calls": []}
    # What serving a request needs (_serve's state): the key, the snapshot, and the hook's and the
    # profiler's records.
    state: dict[str, Any] = {
        "key": bytes.fromhex(config["key"]), "outbox": config["outbox"], "workdir": config["workdir"],
        "notebook": config["notebook"], "records": hook_state["records"], "refused": hook_state["refused"],
        "unwatched": hook_state["unwatched"],
        "probe_threads": probe_threads,
        "borrowed_calls": watch["calls"], "current_borrowed": watch["current"], "graveyard": [],
        "owners": owners, "functions": functions,
        "modules": {name: module for name, module in sys.modules.items() if id(module) in owners},
        "sys_modules": sys.modules, "borrowed": borrowed, "check": minigrad.grading.check,
        # What the harness calls, captured before any of the student's code runs.
        "scan": scanner.c_make_scanner(JSONDecoder()),
        "encode": c_make_encoder(None, _refuse_to_encode, encode_basestring_ascii, None, ":", ",", True,
                                 False, True),
        "hmac": _hashlib.hmac_digest, "sha256": _hashlib.openssl_sha256,
        "os_open": os.open, "os_write": os.write, "os_close": os.close, "listdir": os.listdir,
        "flags": os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        "start_thread": _thread.start_new_thread, "allocate_lock": _thread.allocate_lock,
        "set_async_exc": set_async_exc, "setprofile": sys.setprofile,
        "value_op_arguments": wire.value_op_arguments, "call_answer": wire.call_answer,
        "read_answer": wire.read_answer, "raised": wire.raised, "type_name": wire.type_name,
        "function_name": types.FunctionType.__dict__["__qualname__"].__get__, "FunctionType": types.FunctionType,
        "module_dict": types.ModuleType.__dict__["__dict__"].__get__, "ModuleType": types.ModuleType,
        "class_dict": type.__dict__["__dict__"].__get__, "code_of": types.FunctionType.__dict__["__code__"].__get__,
    }
    # The harness's functions run in a namespace of their own, with a copy of the builtins: nothing
    # the notebook can reach (a module's globals, the builtins module) changes what they call. The
    # namespace holds functions only; the states are default arguments, of _handle, _serve and the
    # profiler, which the hook refuses to hand out, and reach the other functions as arguments.
    # The key is reachable from _serve's frames alone, which run with the garbage collector off and
    # the notebook's signal handlers removed, and call none of the notebook's code: no frame the
    # notebook can reach (the hook's, in the traceback of what it raises; the probe thread's) and
    # no function it can reach leads to it.
    namespace: dict[str, Any] = {"__builtins__": dict(vars(builtins))}
    defaults = {_handle: (types.MappingProxyType(hook_state),), _serve: (state,)}
    harness = []
    for function in (_hook, _handle, _serve, _answer, _work, _plain, _check_state, _written, _compare, _report,
                     _record):
        namespace[function.__name__] = types.FunctionType(function.__code__, namespace, function.__name__,
                                                          defaults.get(function, function.__defaults__))
        harness.append(namespace[function.__name__])
    # The probe thread's profile function can be reached with sys.getprofile(): it gets a namespace
    # of its own, empty.
    profiler = types.FunctionType(_profiler.__code__, {"__builtins__": {}}, "_profiler", (watch,))
    state["profiler"], state["work"] = profiler, namespace["_work"]
    hook_state["harness_ids"] = frozenset(id(function) for function in (*harness, profiler))
    sys.addaudithook(namespace["_hook"])


def _refuse_to_encode(value: Any) -> Any:
    raise TypeError("not plain data")


# ------------------------------------------------------------------------------ the hook and what it calls
# The functions below run as copies made by _install_hook, in a namespace of their own; _S is the
# state built there, passed along as an argument. They touch the student's objects only in the probe
# thread (_work, which holds no state), and compare the notebook's keys and members only when they
# are exact strings, so no code of the notebook's runs in the thread that holds the key.
def _hook(event: str, args: tuple) -> None:
    """The audit hook: :func:`_handle` the event, and let no exception out with the grader's frames.

    What ``_handle`` raised is dropped and the same kind raised again here, outside the ``except``
    clauses, so with no context: its traceback holds this frame only, whose names lead to no
    state. The ``except`` clauses call nothing, so no asynchronous exception can start in them.
    """
    failure, message = None, ()
    try:
        _handle(event, args)
    except KeyboardInterrupt:
        failure = KeyboardInterrupt
    except RecursionError:  # the notebook's recursion reached the limit: the hook was called at the limit too
        failure, message = RecursionError, ("maximum recursion depth exceeded",)
    except PermissionError as error:
        failure, message = PermissionError, error.args
    except BaseException:  # noqa: BLE001 - whatever went wrong, the notebook learns only that it was refused
        failure, message = PermissionError, ("refused by the grader",)
    if failure is not None:
        raise failure(*message)


def _handle(event: str, args: tuple, _S: Any = None) -> None:
    """Refuse what reaches the grader's state, record tampering, serve requests (``_S``: the hook's state).

    A request is served with the garbage collector off (no finaliser of the notebook's runs in this
    thread) and the notebook's signal handlers removed, both before :func:`_serve`, which holds
    the key, is called.
    """
    if event == "object.__getattr__":
        if id(args[0]) in _S["harness_ids"] and args[1] in ("__defaults__", "__kwdefaults__"):
            raise PermissionError("the grader's functions cannot be read")
        if args[1] in {"tb_frame", "gi_frame", "cr_frame", "ag_frame"} and _S["get_ident"]() in _S["probe_threads"]:
            _S["refused"].append(f"frame access ({args[1]})")
            raise PermissionError("frames are not available while the grader calls your function")
        return
    if event == "object.__setattr__" or event == "object.__delattr__":
        target = id(args[0])
        if target in _S["harness_ids"] or (target in _S["function_ids"] and args[1] in (
                "__code__", "__defaults__", "__kwdefaults__")):
            _record(f"tried to replace {args[1]} of {_S['function_names'].get(target, 'the grader code')}", _S)
            raise PermissionError("minigrad's grading code cannot be changed")
        return
    if event == "minigrad.grading.request":
        if _S["serving"][0] or _S["get_ident"]() != _S["main_ident"]:
            raise PermissionError("a grading request while another one runs")
        gc_was_enabled = _S["gc_isenabled"]()
        _S["gc_disable"]()
        _S["serving"][0] = True
        try:
            for number in _S["signals"]:
                try:
                    if number == _S["SIGINT"]:
                        _S["signal"](number, _S["default_int_handler"])
                    elif _S["getsignal"](number) not in (_S["SIG_DFL"], _S["SIG_IGN"], None):
                        _S["signal"](number, _S["SIG_DFL"])
                except (OSError, ValueError, RuntimeError):
                    continue
            _serve(args)
        finally:
            _S["serving"][0] = False
            if gc_was_enabled:
                _S["gc_enable"]()
        return
    if event in {"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                 "sys.addaudithook", "ctypes.cdata", "ctypes.cdata/buffer"}:
        _record(f"called {event}", _S)
        raise PermissionError(f"{event} is not available in a graded notebook")
    if event == "ctypes.dlsym":
        if type(args[1]) is str and args[1].startswith(("Py", "_Py")):
            _record(f"used ctypes to reach Python's C API ({args[1][:40]})", _S)
            raise PermissionError("Python's C API is not available in a graded notebook")
        return
    if event == "open":
        path = args[0]
        if type(path) is bytes:
            path = path.decode("utf-8", "replace")
        if type(path) is str and path.startswith("/proc/") and path.rstrip("/").endswith("/mem"):
            _record("opened a process's memory through /proc", _S)
            raise PermissionError("/proc/*/mem is not available in a graded notebook")
        return
    if _S["get_ident"]() not in _S["probe_threads"]:  # the rest is refused to the threads that call answers
        return
    if event == "sys.setprofile":
        # CPython drops a thread's profiler when an exception starts inside it: the grader's stopping
        # exception, or a RecursionError as the answer recurses too deeply. The answer's exception then
        # goes on as it would, and the rest of its call is unwatched (the grader credits no such answer).
        if _S["probe_threads"][_S["get_ident"]()] and "profiler removed" not in _S["unwatched"]:
            _S["unwatched"].append("profiler removed")
        return
    if event == "sys.settrace":
        _record(f"called {event} while the grader called its function", _S)
        raise PermissionError("tracing is not available while the grader calls your function")
    if event == "sys._getframe":
        _S["refused"].append("sys._getframe")
        raise PermissionError("frames are not available while the grader calls your function")
    if event in {"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "subprocess.Popen"}:
        _S["refused"].append(f"a new process ({event})")
        raise PermissionError("new processes are not available while the grader calls your function")


def _record(message: str, _S: Any) -> None:
    if len(_S["records"]) < 50 and message not in _S["records"]:
        _S["records"].append(message)


def _serve(args: tuple, _S: Any = None) -> None:
    """Handle one request: ``(request_json, namespace)`` from an injected cell (``_S``: the state, with the key)."""
    if len(args) != 2 or type(args[0]) is not str or type(args[1]) is not dict:
        raise PermissionError("malformed grading request")
    request, end = _S["scan"](args[0], 0)
    if type(request) is not dict or end != len(args[0]) or type(request.get("nonce")) is not str \
            or not request["nonce"].isalnum() or len(request["nonce"]) > 64:
        raise PermissionError("malformed grading request")
    payload = {"request": _S["sha256"](args[0].encode("utf-8")).hexdigest(), "nonce": request["nonce"]}
    before = _compare(_S)
    if request.get("task") == "answer":
        payload["answer"] = _answer(request, args[1], _S)
    else:
        payload["check"] = _check_state(args[1], _S)
        payload["written"] = _written(_S)
    after = _compare(_S)
    payload["tampering"] = sorted({*before[0], *after[0], *_S["records"]})
    payload["notes"] = sorted({*before[1], *after[1]})
    _report(request["nonce"], payload, _S)


def _answer(request: dict, namespace: dict, _S: Any) -> dict:
    """Probe the function a request names on each of its cases, each call in a thread of its own."""
    if type(request.get("name")) is not str or type(request.get("cases")) is not list:
        raise PermissionError("malformed grading request")
    answer, defined = None, False
    for key, value in list(namespace.items()):
        if type(key) is str and key == request["name"]:
            answer, defined = value, True
    if not defined:
        return {"defined": False, "results": []}
    _S["borrowed_calls"].clear()
    _S["refused"].clear()
    _S["unwatched"].clear()
    _S["current_borrowed"].clear()
    _S["current_borrowed"].update(_S["borrowed"].get(request.get("qid"), {}))
    results = []
    for case in request["cases"]:
        arguments = _S["value_op_arguments"](case) if request["kind"] == "value_op" else None
        box = [None, None]
        # The thread sets its profile function, then the grader marks it as a probe's (which may not
        # set one), then it calls the answer: four locks, each held by the grader until its step.
        locks = [_S["allocate_lock"]() for _ in range(4)]
        for lock in locks:
            lock.acquire()
        setup, ready, go, done = locks
        try:
            ident = _S["start_thread"](_S["work"], (_S["setprofile"], _S["profiler"], _S["call_answer"], _S["raised"],
                                                    request["kind"], answer, case, arguments, box, locks))
            _S["probe_threads"].pop(ident, None)  # the mark of a dead thread with the same identifier
            setup.release()
            while not ready.acquire(True, 0.05):
                pass
            _S["probe_threads"][ident] = True  # until it returns: a thread that runs over its time stays restricted
            go.release()
            try:
                while not done.acquire(True, 0.05):  # short waits: an interrupt (a timeout) reaches this thread
                    pass
                _S["probe_threads"].pop(ident, None)
            except BaseException:
                _S["probe_threads"][ident] = False  # stopped: still restricted, and may drop its profiler
                _S["set_async_exc"](ident, KeyboardInterrupt)  # and stops the answer that ran over its time
                raise
        finally:
            _S["graveyard"].append(box)  # the student's objects are never freed in the grader's frames
        status, value = box
        if status == "called":
            try:
                value = {"ok": _S["read_answer"](request["kind"], case, arguments, value)}
            except Exception as error:  # noqa: BLE001 - a graph the trusted reader refuses
                value = {"raised": _S["type_name"](type(error)), "message": str(error)[:300]}
        try:
            results.append(_plain(value, 0, _S))
        except ValueError as error:
            results.append({"raised": "TypeError", "message": str(error)})
    return {"defined": True, "results": results, "borrowed": list(_S["borrowed_calls"]),
            "refused": sorted(set(_S["refused"])), "unwatched": bool(_S["unwatched"])}


def _work(setprofile: Any, profiler: Any, call_answer: Any, raised: Any, kind: str, answer: Any, case: dict,
          arguments: Any, box: list, locks: list) -> None:
    """The probe thread: call the student's function with borrowed machinery watched.

    Everything it uses comes as an argument, and none of it is the state: frames of this thread
    (which the student's code can reach through a traceback it keeps) lead to no key.
    """
    setup, ready, go, done = locks
    setup.acquire()
    try:
        setprofile(profiler)
    finally:
        ready.release()
    go.acquire()
    try:
        box[1] = call_answer(kind, answer, case, arguments)
        box[0] = "called"
    except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are answers too
        try:
            box[1], box[0] = raised(error), "raised"
        except BaseException:  # noqa: BLE001
            box[1], box[0] = {"raised": "Exception", "message": ""}, "raised"
    finally:
        done.release()


def _profiler(frame: Any, event: str, arg: Any, _s: Any = None) -> None:
    """Profile function of the probe thread: record every call into the grader's or a borrowed routine."""
    if event == "call":
        code = frame.f_code
        name = _s["references"].get(code) or _s["current"].get(code)
        if name is not None and name not in _s["calls"]:
            _s["calls"].append(name)


def _plain(value: Any, depth: int, _S: Any) -> Any:
    """A copy of ``value`` made of exact dicts, lists, strings, numbers, booleans and None only."""
    kind = type(value)
    if depth > 40:
        raise ValueError("the answer is nested too deeply")
    if kind is dict:
        return {"".join((key,)): _plain(item, depth + 1, _S) for key, item in list(value.items()) if type(key) is str}
    if kind is list or kind is tuple:
        return [_plain(item, depth + 1, _S) for item in list(value)]
    if kind is str or kind is float or kind is int or kind is bool or value is None:
        return value
    raise ValueError(f"the answer holds a {_S['type_name'](kind)}")


def _check_state(namespace: dict, _S: Any) -> str:
    """``package``, ``absent`` or ``other: <name>``: what ``check`` is bound to in the notebook."""
    for key, value in list(namespace.items()):
        if type(key) is str and key == "check":
            if value is _S["check"]:
                return "package"
            kind = type(value)
            return "other: " + (_S["function_name"](value) if kind is _S["FunctionType"] else _S["type_name"](kind))
    return "absent"


def _written(_S: Any) -> list:
    """Files the notebook left next to itself in its working folder (the first ten names)."""
    try:
        names = _S["listdir"](_S["workdir"])
    except OSError:
        return []
    return sorted(name for name in names if name != _S["notebook"])[:10]


def _compare(_S: Any) -> tuple[list, list]:
    """(tampering, notes) found by comparing minigrad's modules and classes with the snapshot."""
    tampering, notes = [], []
    present = {name: module for name, module in list(_S["sys_modules"].items()) if type(name) is str}
    replaced = sorted((not name.startswith(("minigrad.grading", "minigrad.scalar")) and name != "minigrad", name)
                      for name, module in _S["modules"].items() if present.get(name) is not module)
    if replaced:
        names = ", ".join(name for _, name in replaced[:6]) + (" …" if len(replaced) > 6 else "")
        tampering.append(f"replaced minigrad modules in sys.modules: {names}")
    for owner, owner_name, original in _S["owners"].values():
        if type(owner) is _S["ModuleType"]:
            members = _S["module_dict"](owner)
        elif type(owner) is type:
            members = _S["class_dict"](owner)
        else:
            tampering.append(f"changed the type of {owner_name}")
            continue
        seen = set()
        for name, member in list(members.items()):
            if type(name) is not str:
                notes.append(f"added a member that is not a string to {owner_name}")
                continue
            seen.add(name)
            if name not in original:
                if present.get(f"{owner_name}.{name}") is not member:  # an imported submodule is no news
                    notes.append(f"added {owner_name}.{name}")
            elif member is not original[name]:
                tampering.append(f"replaced {owner_name}.{name}")
        tampering += [f"deleted {owner_name}.{name}" for name in original if name not in seen]
    for function, code in _S["functions"].values():
        if _S["code_of"](function) is not code:
            tampering.append(f"replaced the code of {_S['function_name'](function)}")
    return tampering[:50], notes[:50]


def _report(nonce: str, payload: dict, _S: Any) -> None:
    """Serialise, sign and write one report to ``<outbox>/<nonce>.json``."""
    body = "".join(_S["encode"](payload, 0)).encode("ascii")
    signed = _S["hmac"](_S["key"], body, "sha256").hex().encode("ascii") + b"\n" + body
    handle = _S["os_open"](_S["outbox"] + "/" + nonce + ".json", _S["flags"], 0o600)
    try:
        while signed:
            signed = signed[_S["os_write"](handle, signed):]
    finally:
        _S["os_close"](handle)
