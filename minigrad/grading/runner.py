"""Run one notebook in its sandboxed kernel, then read its answers out as signed plain data.

The student's code cells run one by one with a per-cell timeout inside a total time budget. Then
the grader injects one cell per request (:func:`minigrad.grading.kernel.request_cell`): the
kernel's audit hook answers each with a report signed with a key only the hook holds, written to
the sandbox's outbox. A report that is missing, too large, not signed with that key, or made for
another request counts as none. Nothing the notebook prints is used for scoring: its "✓" lines are
only collected, to compare with the grader's results.

The grader calls :func:`run_notebook` in a child process of its own (see
:mod:`minigrad.grading.children`), so that a flood of messages from the kernel costs that child
its memory limit, not the grader its batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from minigrad.grading.kernel import request_cell
from minigrad.grading.sandbox import Launch, SandboxedKernelManager
from minigrad.grading.tamper import cell_output_text, claims

__all__ = ["RunLimits", "RunResult", "Request", "run_notebook", "read_report"]

_MAX_REPORT_BYTES = 20_000_000
_MAX_MESSAGE_BYTES = 256_000_000  # a larger message is dropped by ZeroMQ before it is read


@dataclass(frozen=True)
class RunLimits:
    """Time and output limits for one notebook.

    Attributes:
        cell_timeout: seconds any one cell (the student's or the grader's) may run.
        total_timeout: seconds for the whole notebook, kernel start included.
        max_output_bytes: output kept from the student's cells; the rest is dropped. A single
            message larger than 256 MB is dropped by ZeroMQ before it is read.
    """

    cell_timeout: float = 60.0
    total_timeout: float = 600.0
    max_output_bytes: int = 2_000_000


@dataclass(frozen=True)
class Request:
    """One injected cell's job: ``{"task": "answer", "qid", "name", "kind", "cases"}`` or ``{"task": "integrity"}``."""

    key: str
    body: dict


@dataclass
class RunResult:
    """What happened when a notebook ran.

    Attributes:
        status: ``completed``, ``timeout``, ``kernel died`` or ``error`` (the kernel did not start).
        message: one line for the report.
        cell_errors: ``(cell number, "Error: message")`` for each of the student's cells that raised.
        claims: question id to the first "✓ id (n/n) …" line the student's cells printed.
        payloads: request key to the signed report read back, or ``None`` when none came back.
        request_status: request key to ``done``, ``timeout`` or ``kernel died``.
        dropped_output_bytes: output beyond ``max_output_bytes``, not kept.
        kernel_seconds, notebook_seconds, probe_seconds: time to start the kernel, to run the
            student's cells and to run the injected cells.
    """

    status: str = "completed"
    message: str = ""
    cell_errors: list[tuple[int, str]] = field(default_factory=list)
    claims: dict[str, str] = field(default_factory=dict)
    payloads: dict[str, Any] = field(default_factory=dict)
    request_status: dict[str, str] = field(default_factory=dict)
    dropped_output_bytes: int = 0
    kernel_seconds: float = 0.0
    notebook_seconds: float = 0.0
    probe_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        result = cls(**data)
        result.cell_errors = [(int(n), str(e)) for n, e in result.cell_errors]
        return result


class _GradingClient(NotebookClient):
    """An nbclient that caps the output it keeps and remembers which cells timed out."""

    def __init__(self, nb: Any, max_output_bytes: int, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self.max_output_bytes = max_output_bytes
        self.kept_output_bytes = 0
        self.dropped_output_bytes = 0
        self.timed_out: list[Any] = []

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.kept_output_bytes + size > self.max_output_bytes:
            self.dropped_output_bytes += size
            return None
        self.kept_output_bytes += size
        return super().output(outs, msg, display_id, cell_index)

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
        if cell is not None:
            self.timed_out.append(cell)
        return await super()._async_handle_timeout(timeout, cell)


def read_report(path: Path, key: bytes, nonce: str, request: str) -> dict | None:
    """The kernel's report for one request, or ``None`` when it is missing, too big, unsigned or not for it.

    The file is opened without following a final symlink and read only if it is a regular file,
    at most 20 MB; its first line must be the HMAC-SHA-256 of the rest under ``key``, and the
    rest a JSON object naming ``nonce`` and the SHA-256 of the request's JSON text.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        data = b""
        while len(data) <= _MAX_REPORT_BYTES:
            chunk = os.read(handle, 1 << 20)
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        os.close(handle)
    mac, _, body = data.partition(b"\n")
    if len(data) > _MAX_REPORT_BYTES or not hmac.compare_digest(
            mac, hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")):
        return None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    digest = hashlib.sha256(request.encode("utf-8")).hexdigest()
    if not isinstance(payload, dict) or payload.get("nonce") != nonce or payload.get("request") != digest:
        return None
    return payload


async def run_notebook(sources: list[str], launch: Launch, requests: list[Request], limits: RunLimits) -> RunResult:
    """Execute the code cells ``sources`` in a kernel started as ``launch`` says, then serve ``requests``.

    Args:
        sources: the notebook's code cells, in order.
        launch: how to start and reach the kernel (:meth:`minigrad.grading.sandbox.Sandbox.launch`);
            its configuration holds the key of the kernel's reports.
        requests: what to read out of the kernel after the student's cells.
        limits: timeouts and output cap.

    Returns:
        A :class:`RunResult`; this function does not raise for anything the notebook does.
    """
    result = RunResult()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    key = bytes.fromhex(launch.config["key"])
    start = time.monotonic()
    deadline = start + limits.total_timeout
    timeout = max(1, int(round(limits.cell_timeout)))
    manager = SandboxedKernelManager(launch, _MAX_MESSAGE_BYTES)
    manager.connection_file = str(launch.root / "connection.json")
    client = _GradingClient(
        notebook, limits.max_output_bytes, km=manager, timeout=timeout, allow_errors=True,
        interrupt_on_timeout=True, record_timing=False,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran over {timeout} s", "traceback": []},
        shutdown_kernel="immediate", iopub_timeout=2, startup_timeout=60,
    )

    async def run_cell(cell: Any, index: int, after_timeout_check: bool = True) -> str:
        """``done``, ``timeout`` (the cell's limit), ``stuck`` (the kernel ignored the interrupt),
        ``total timeout`` or ``kernel died``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "total timeout"
        task = asyncio.ensure_future(client.async_execute_cell(cell, index))
        finished, _ = await asyncio.wait([task], timeout=remaining)
        if not finished:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return "total timeout"
        if isinstance(task.exception(), DeadKernelError):
            return "kernel died"
        if task.exception() is not None:
            raise task.exception()
        if not any(c is cell for c in client.timed_out):
            return "done"
        if not after_timeout_check:
            return "timeout"
        # The kernel was interrupted; if it ignored the interrupt, nothing more can run in it.
        alive = nbformat.v4.new_code_cell("pass")
        notebook.cells.append(alive)
        state = await run_cell(alive, len(notebook.cells) - 1, after_timeout_check=False)
        notebook.cells.pop()
        return "timeout" if state == "done" else "stuck" if state == "timeout" else state

    output_text: list[str] = []
    try:
        async with client.async_setup_kernel(cleanup_kc=True):
            result.kernel_seconds = time.monotonic() - start
            for index, cell in enumerate(list(notebook.cells)):
                number = index + 1
                state = await run_cell(cell, index)
                output_text.append(cell_output_text(cell))
                errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                if state == "timeout":
                    result.cell_errors.append((number, f"timed out after {timeout} s"))
                elif errors:
                    result.cell_errors.append((number, f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[:200]}"))
                if state in ("total timeout", "kernel died", "stuck"):
                    result.status = "kernel died" if state == "kernel died" else "timeout"
                    result.message = {
                        "total timeout": f"ran over the total time limit of {limits.total_timeout:g} s in code cell {number}",
                        "stuck": f"did not stop when interrupted after {timeout} s in code cell {number}",
                        "kernel died": f"the kernel died in code cell {number} (os._exit, exit() or a crash)",
                    }[state]
                    break
            result.notebook_seconds = time.monotonic() - start - result.kernel_seconds
            probe_start = time.monotonic()
            for request in requests:
                if result.status != "completed":
                    result.request_status[request.key] = result.status
                    continue
                nonce = secrets.token_hex(16)
                body = json.dumps({**request.body, "nonce": nonce})
                notebook.cells.append(nbformat.v4.new_code_cell(request_cell(body)))
                state = await run_cell(notebook.cells[-1], len(notebook.cells) - 1)
                if state in ("total timeout", "stuck"):
                    result.status, result.message = "timeout", (
                        f"ran over the total time limit of {limits.total_timeout:g} s"
                        if state == "total timeout" else f"did not stop when interrupted after {timeout} s"
                    ) + " while the grader called its functions"
                elif state == "kernel died":
                    result.status = "kernel died"
                    result.message = "the kernel died while the grader called the notebook's functions"
                result.request_status[request.key] = "done" if state == "done" else (
                    "kernel died" if state == "kernel died" else "timeout")
                result.payloads[request.key] = read_report(launch.outbox() / f"{nonce}.json", key, nonce, body)
            result.probe_seconds = time.monotonic() - probe_start
    except DeadKernelError:
        result.status, result.message = "kernel died", "the kernel died"
    except (RuntimeError, OSError, TimeoutError) as error:
        if result.status == "completed" and not result.payloads:
            result.status, result.message = "error", f"the kernel could not run: {str(error)[:200]}"
    result.dropped_output_bytes = client.dropped_output_bytes
    result.claims = claims("".join(output_text))
    return result
