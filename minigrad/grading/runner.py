"""Run a private copy of a notebook in a fresh kernel, then read its answers out as plain data.

The student's cells run one by one with a per-cell timeout inside a total time budget. Then the
grader injects one cell per question (and one integrity cell): each execs the *grader's* copy of
:mod:`minigrad.grading.wire` in a fresh namespace, calls the student's function on the grader's
cases and writes the results as JSON to a file in a directory the notebook does not run in.
Nothing the notebook prints is used for scoring.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from minigrad.grading.tamper import cell_output_text

__all__ = ["RunLimits", "RunResult", "Request", "run_notebook", "WIRE_SOURCE"]

WIRE_SOURCE = (Path(__file__).with_name("wire.py")).read_text(encoding="utf-8")
"""The grader's copy of the kernel-side code, read once when the grader starts."""

_MAX_PAYLOAD_BYTES = 20_000_000


@dataclass(frozen=True)
class RunLimits:
    """Time and output limits for one notebook.

    Attributes:
        cell_timeout: seconds any one cell (the student's or the grader's) may run.
        total_timeout: seconds for the whole notebook, kernel start included.
        max_output_bytes: output kept from the student's cells; the rest is dropped.
    """

    cell_timeout: float = 60.0
    total_timeout: float = 600.0
    max_output_bytes: int = 2_000_000


@dataclass(frozen=True)
class Request:
    """One injected cell's job: ``{"task": "answer", ...}`` or ``{"task": "integrity", ...}``."""

    key: str
    body: dict


@dataclass
class RunResult:
    """What happened when a notebook ran.

    Attributes:
        status: ``completed``, ``timeout``, ``kernel died`` or ``error`` (the kernel did not start).
        message: one line for the report.
        cell_errors: ``(cell number, "Error: message")`` for each of the student's cells that raised.
        output_text: the text the student's cells printed or displayed (capped).
        payloads: request key to the payload read back, or to ``None`` when none came back.
        request_status: request key to ``done``, ``timeout`` or ``kernel died``.
        dropped_output_bytes: output beyond ``max_output_bytes``, not kept.
        kernel_seconds, notebook_seconds, probe_seconds: time to start the kernel, to run the
            student's cells and to run the injected cells.
    """

    status: str = "completed"
    message: str = ""
    cell_errors: list[tuple[int, str]] = field(default_factory=list)
    output_text: list[str] = field(default_factory=list)
    payloads: dict[str, Any] = field(default_factory=dict)
    request_status: dict[str, str] = field(default_factory=dict)
    dropped_output_bytes: int = 0
    kernel_seconds: float = 0.0
    notebook_seconds: float = 0.0
    probe_seconds: float = 0.0


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


def _injected_source(request: dict) -> str:
    return (
        "__minigrad_grading__ = {'__name__': 'minigrad_grading_wire'}\n"
        f"exec(compile({WIRE_SOURCE!r}, '<minigrad-grading>', 'exec'), __minigrad_grading__)\n"
        f"__minigrad_grading__['answer_request'](globals(), {json.dumps(request)!r})\n"
        "del __minigrad_grading__\n"
    )


def _read_payload(path: Path, nonce: str) -> Any:
    """The payload an injected cell wrote, or ``None`` when it is missing, too big or not ours."""
    try:
        if path.stat().st_size > _MAX_PAYLOAD_BYTES:
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, not JSON, or nested to crash the parser
        return None
    if not isinstance(payload, dict) or payload.get("nonce") != nonce:
        return None
    return payload


async def run_notebook(
    notebook: Any, workdir: Path, payload_dir: Path, requests: list[Request], limits: RunLimits,
) -> RunResult:
    """Execute ``notebook`` (already a private copy) with its working directory ``workdir``.

    Args:
        notebook: an nbformat v4 notebook; it is modified (outputs added, cells appended).
        workdir: where the kernel runs (the notebook's copy lives there).
        payload_dir: where the injected cells write their answers.
        requests: what to read out of the kernel after the student's cells.
        limits: timeouts and output cap.

    Returns:
        A :class:`RunResult`; this function does not raise for anything the notebook does.
    """
    result = RunResult()
    start = time.monotonic()
    deadline = start + limits.total_timeout
    timeout = max(1, int(round(limits.cell_timeout)))
    client = _GradingClient(
        notebook, limits.max_output_bytes, timeout=timeout, allow_errors=True,
        interrupt_on_timeout=True, kernel_name=NATIVE_KERNEL_NAME, record_timing=False,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran over {timeout} s",
                          "traceback": []},
        shutdown_kernel="immediate", iopub_timeout=2, startup_timeout=60,
    )
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "Agg"}
    student_cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    cell_number = {i: n for n, (i, _) in enumerate(student_cells, start=1)}

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

    try:
        # The kernel's own stdout and stderr (not the cells' output, which comes over ZeroMQ) are
        # dropped, so that a notebook cannot write to the grader's terminal.
        async with client.async_setup_kernel(cwd=str(workdir), env=env, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL):
            result.kernel_seconds = time.monotonic() - start
            for index, cell in student_cells:
                state = await run_cell(cell, index)
                result.output_text.append(cell_output_text(cell))
                errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                if state == "timeout":
                    result.cell_errors.append((cell_number[index], f"timed out after {timeout} s"))
                elif errors:
                    error = errors[0]
                    result.cell_errors.append(
                        (cell_number[index], f"{error.get('ename')}: {str(error.get('evalue'))[:200]}"))
                if state in ("total timeout", "kernel died", "stuck"):
                    result.status = "kernel died" if state == "kernel died" else "timeout"
                    where = f"in cell {cell_number[index]}"
                    result.message = {
                        "total timeout": f"ran over the total time limit of {limits.total_timeout:g} s {where}",
                        "stuck": f"did not stop when interrupted after {timeout} s {where}",
                        "kernel died": f"the kernel died {where} (os._exit, exit() or a crash)",
                    }[state]
                    break
            result.notebook_seconds = time.monotonic() - start - result.kernel_seconds
            probe_start = time.monotonic()
            for request in requests:
                if result.status != "completed":
                    result.request_status[request.key] = result.status
                    continue
                nonce = secrets.token_hex(8)
                path = payload_dir / f"{nonce}.json"
                body = {**request.body, "path": str(path), "nonce": nonce}
                notebook.cells.append(nbformat.v4.new_code_cell(_injected_source(body)))
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
                result.payloads[request.key] = _read_payload(path, nonce)
            result.probe_seconds = time.monotonic() - probe_start
    except DeadKernelError:
        result.status, result.message = "kernel died", "the kernel died"
    except (RuntimeError, OSError, TimeoutError) as error:
        if result.status == "completed" and not result.payloads:
            result.status, result.message = "error", f"the kernel could not run: {error}"
    result.dropped_output_bytes = client.dropped_output_bytes
    return result
