"""The grader's own work on a submission, each piece in a child process with a time and memory limit.

Reading a notebook, running it and scoring each answer handle data a student controls, so each
runs in a child process: a huge source, a decode bomb or a flood of kernel messages costs that
child its limits, and the grader records the failure as that notebook's row.

Children are forked from a fork server that imported the grader's code when the grader started
(:func:`start`), before any notebook ran, so a child runs that code even if files on disk change
later. Each child gets ``RLIMIT_AS`` (its size at birth plus a budget) and ``RLIMIT_CPU``, a
wall-clock timeout enforced by the grader, and dies with the grader (``PR_SET_PDEATHSIG``).
Results come back as JSON text, never as pickles.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import multiprocessing
import os
import resource
import signal
from typing import Any, Callable

__all__ = ["ChildFailed", "start", "run_child"]

_CONTEXT = multiprocessing.get_context("forkserver")
# What the fork server imports once: everything a child runs (the checks import some of these only
# when they run), so that no child imports from disk.
_PRELOAD = ["minigrad.grading.grader", "sympy", "nbformat", "minigrad.nn", "minigrad.optim", "minigrad.bptt",
            "minigrad.metrics", "minigrad.models", "minigrad.functional", "minigrad.autograd"]
_MAX_RESULT_BYTES = 64_000_000


class ChildFailed(Exception):
    """A child ran out of time or memory, or died: ``reason`` says which, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def start() -> None:
    """Start the fork server now (it imports the grader's modules) and check that a child runs."""
    _CONTEXT.set_forkserver_preload(_PRELOAD)
    asyncio.run(run_child(_pong, (), timeout=300, memory_bytes=1 << 30))


def _pong() -> str:
    return "pong"


def _size_now() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


def _child(function: Callable, args: tuple, connection: Any, memory_bytes: int, cpu_seconds: int) -> None:
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the fork server
    except (OSError, AttributeError):
        pass
    quiet = os.open(os.devnull, os.O_WRONLY)  # libraries' warnings must not reach the grader's terminal
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    limit = _size_now() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, resource.RLIM_INFINITY))
    try:
        reply = {"result": function(*args)}
    except MemoryError:
        reply = {"failed": "ran out of memory"}
    except BaseException as error:  # noqa: BLE001 - everything becomes the notebook's row
        reply = {"failed": f"{type(error).__name__}: {str(error)[:300]}"}
    try:
        connection.send_bytes(json.dumps(reply).encode("utf-8"))
    except (MemoryError, ValueError, TypeError, OSError):
        os._exit(3)
    connection.close()


def _receive(connection: Any) -> bytes | None:
    try:
        return connection.recv_bytes(_MAX_RESULT_BYTES)
    except (EOFError, OSError):
        return None


async def run_child(function: Callable, args: tuple, timeout: float, memory_bytes: int) -> Any:
    """Run ``function(*args)`` in a fresh child; return its (JSON-able) result.

    Args:
        function: a module-level function of the grader's (it is passed by name).
        args: its arguments (picklable, the grader's own data).
        timeout: wall-clock seconds; CPU seconds are limited to the same.
        memory_bytes: address space the child may add to what it had when forked.

    Raises:
        ChildFailed: the child ran out of time or memory, raised, or died.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(function, args, sender, memory_bytes, int(timeout) + 1),
                               daemon=True)
    try:
        process.start()
        sender.close()
        try:
            data = await asyncio.wait_for(asyncio.to_thread(_receive, receiver), timeout)
        except asyncio.TimeoutError:
            raise ChildFailed(f"took more than {timeout:g} s") from None
        if data is None:
            raise ChildFailed("died (out of memory or killed)")
        reply = json.loads(data)
        if "failed" in reply:
            raise ChildFailed(reply["failed"])
        return reply["result"]
    finally:
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            await asyncio.to_thread(process.join, 10)
        receiver.close()
