"""Where a notebook's kernel runs: a bubblewrap sandbox of its own (see "Exercises and grading").

Every kernel the grader starts gets

* its own PID, mount, IPC, UTS and network namespaces: it sees no other process, has no network
  but its own loopback, and every process it starts dies with it (``--die-with-parent``, and the
  end of its PID namespace);
* a file system of read-only binds (the system's ``/usr``, a few files of ``/etc``, Python, the
  virtual environment, minigrad's package directory) and one tmpfs of limited size that holds its
  working folder ``/sandbox/work`` (with a read-only copy of that one submission), ``$HOME``,
  ``/tmp``, its sockets and its reports;
* a minimal environment (nothing of the grader's);
* hard resource limits on memory, CPU time, processes, open files and file size, applied by
  :mod:`minigrad.grading.kernel` before the student's first cell;
* a user of its own: under root, an unprivileged uid per job slot, which no other process uses
  and no other grader holds, so that even a process that escaped its namespaces could not write
  the grader's files (bubblewrap runs privileged and the kernel's boot code drops to that uid),
  and its process limit counts its own processes only; otherwise a user namespace of its own, in
  which it cannot make further namespaces.

Without bubblewrap (``--no-sandbox``) the kernel runs on the grader's machine with the same
environment, limits and grading code, but none of the isolation; every report says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from minigrad.grading.kernel import BOOT

__all__ = ["Limits", "Sandbox", "SandboxUnavailable", "Launch", "SandboxedKernelManager", "NO_SANDBOX_WARNING"]

NO_SANDBOX_WARNING = ("graded WITHOUT a sandbox (--no-sandbox): the notebook ran with the grader's file "
                      "system, network and processes in reach")
_INSIDE = Path("/sandbox")
_UID_BASE = 2_147_000_000  # a range no distribution assigns: one uid per job slot under root
_UID_RANGE = 4096
_UID_LOCKS: dict[int, int] = {}  # uid -> the open file whose lock holds it for this grader
# Variables of the grader's environment a kernel may see: they choose floating-point paths, and
# make the run the same as the instructor's (see `make test-portable`).
_PASSED_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                     "NPY_DISABLE_CPU_FEATURES", "LANG")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
        "alternatives", "fonts", "mime.types", "matplotlibrc")
# Packages a kernel imports; each is bound read-only where it lives if no other bind covers it.
_KERNEL_PACKAGES = ("minigrad", "ipykernel", "IPython", "jupyter_client", "zmq", "numpy", "sympy", "matplotlib",
                    "traitlets", "tornado")


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one notebook's kernel and every process it starts.

    Attributes:
        memory_bytes: address space of each process (``RLIMIT_AS``).
        cpu_seconds: CPU time of each process (``RLIMIT_CPU``).
        processes: processes and threads the sandbox's user may add to those it has (``RLIMIT_NPROC``).
        open_files: open file descriptors of each process (``RLIMIT_NOFILE``).
        file_bytes: size of any one file it writes (``RLIMIT_FSIZE``).
        disk_bytes: everything it writes together (the size of its tmpfs; bubblewrap only).
    """

    memory_bytes: int = 4 << 30
    cpu_seconds: int = 660
    processes: int = 256
    open_files: int = 1024
    file_bytes: int = 256 << 20
    disk_bytes: int = 512 << 20


def _uid_of(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _claim_uid(taken: Sequence[int]) -> int:
    """A uid of :data:`_UID_BASE`'s range that no process uses and no other grader holds, locked for this one.

    The lock (``flock`` on a file in the system's temporary folder) lasts as long as this process,
    so that two graders on one machine never share a sandbox user (nor its process limit).
    """
    import fcntl

    for uid in range(_UID_BASE, _UID_BASE + _UID_RANGE):
        if uid in taken or uid in _UID_LOCKS or _tasks_of(uid):
            continue
        path = os.path.join(tempfile.gettempdir(), f"minigrad-grade-uid-{uid}.lock")
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            continue
        _UID_LOCKS[uid] = handle
        return uid
    raise SandboxUnavailable(f"no free uid for a sandbox in {_UID_BASE}..{_UID_BASE + _UID_RANGE - 1}")


def _tasks_of(uid: int) -> int:
    """How many processes and threads the user ``uid`` has now (``RLIMIT_NPROC`` counts them all)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


@dataclass
class Sandbox:
    """How this grader confines kernels: ``bwrap`` or ``none``, as which users, with which limits.

    Use :meth:`find` rather than the constructor.
    """

    kind: str
    limits: Limits
    user: str | None = None
    bwrap: str | None = None
    uids: tuple[int, ...] = ()
    _read_only: list[str] = field(default_factory=list)

    @classmethod
    def find(cls, limits: Limits, no_sandbox: bool = False, user: str | None = None) -> "Sandbox":
        """The sandbox this machine offers.

        Args:
            limits: resource limits for every kernel.
            no_sandbox: run kernels without bubblewrap (the instructor asked for it).
            user: the user kernels run as (root only); default: an unused uid per job slot.

        Raises:
            SandboxUnavailable: bubblewrap is missing or cannot make namespaces, and
                ``no_sandbox`` is false; or ``user`` is given by someone other than root.
        """
        if user is not None:
            if os.geteuid() != 0:
                raise SandboxUnavailable("--user needs the grader to run as root")
            try:
                _uid_of(user)
            except (KeyError, OverflowError) as error:
                raise SandboxUnavailable(f"no such user: {user}") from error
        if no_sandbox:
            return cls("none", limits, user)
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed: install Debian's bubblewrap package, "
                                     "or grade with --no-sandbox to run notebooks unconfined")
        sandbox = cls("bwrap", limits, user, bwrap)
        sandbox._read_only = sandbox._read_only_paths()
        done = subprocess.run([bwrap, *sandbox.bwrap_options(), "--", "/usr/bin/env", "true"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap cannot make a sandbox here ({done.stderr.strip()[:200]}); "
                                     "grade with --no-sandbox to run notebooks unconfined")
        return sandbox

    @property
    def warning(self) -> str | None:
        """What every report must say about this sandbox (``None`` for bubblewrap)."""
        return NO_SANDBOX_WARNING if self.kind == "none" else None

    def claim_users(self, jobs: int) -> None:
        """Under root, without ``user``: hold a uid of its own for each of ``jobs`` job slots (see :meth:`user_of`)."""
        if self.user is None and os.geteuid() == 0 and self.kind == "bwrap":
            while len(self.uids) < jobs:
                self.uids = (*self.uids, _claim_uid(self.uids))

    def user_of(self, slot: int) -> tuple[int, int] | None:
        """(uid, gid) a kernel of job slot ``slot`` runs as; ``None`` to keep the grader's.

        Under root that is ``user``, else the slot's uid of :meth:`claim_users`.
        """
        if self.user is not None:
            return _uid_of(self.user)
        if os.geteuid() == 0 and self.kind == "bwrap":
            if slot >= len(self.uids):
                raise SandboxUnavailable(f"no uid claimed for job slot {slot} (call claim_users first)")
            return self.uids[slot], self.uids[slot]
        return None

    # ----------------------------------------------------------------------------- bubblewrap
    def bwrap_options(self) -> list[str]:
        """bubblewrap's options for a kernel's namespaces and file system (without its own notebook)."""
        return [*self._namespaces(), *self._file_system()]

    def _namespaces(self) -> list[str]:
        args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "sandbox", "--die-with-parent", "--new-session"]
        if os.geteuid() == 0:  # bwrap is privileged: the kernel's boot code drops to the sandbox's uid
            return [*args, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return ["--unshare-user", "--disable-userns", *args]

    @staticmethod
    def _read_only_paths() -> list[str]:
        """Host directories bound read-only, at the same paths, outermost first."""
        import importlib.util

        paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
        paths.add(os.path.dirname(os.path.realpath(sys.executable)))
        for package in _KERNEL_PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.origin:
                paths.add(os.path.dirname(os.path.realpath(spec.origin)))
        paths.discard("/usr")
        kept: list[str] = []
        for path in sorted(paths):  # a directory inside another bound one needs no bind of its own
            if not path.startswith("/usr/") and not any(path == k or path.startswith(k + "/") for k in kept):
                kept.append(path)
        return kept

    def _file_system(self) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if os.path.islink(f"/{top}"):
                args += ["--symlink", os.readlink(f"/{top}"), f"/{top}"]
            elif os.path.isdir(f"/{top}"):
                args += ["--ro-bind", f"/{top}", f"/{top}"]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        created: set[str] = set()
        # The course itself may live under /tmp (a clone in a scratch folder): then /tmp is a tmpfs of
        # its own, as limited as the sandbox's, with the course's folders bound inside it.
        under_tmp = any(path == "/tmp" or path.startswith("/tmp/") for path in self._read_only)
        if under_tmp:
            args += ["--size", str(self.limits.disk_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
            created.add("/tmp")
        for path in self._read_only:
            for parent in reversed(Path(path).parents):  # made 0755, or a uid of its own cannot reach it
                if str(parent) != "/" and str(parent) not in created:
                    created.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.limits.disk_bytes), "--perms", "0755", "--tmpfs", str(_INSIDE)]
        for name in ("work", "home", "tmp", "ipc", "out"):
            args += ["--perms", "1777" if name == "tmp" else "0777", "--dir", str(_INSIDE / name)]
        if under_tmp:
            return args
        return [*args, "--symlink", str(_INSIDE / "tmp"), "/tmp"]

    # ----------------------------------------------------------------------------- one kernel
    def launch(self, slot: int, root: Path, submission: Path, name: str, config: dict) -> "Launch":
        """How to start one notebook's kernel.

        Args:
            slot: the job slot (0 .. jobs - 1), which chooses the uid under root.
            root: a private directory of the grader's for this notebook (removed afterwards).
            submission: the private copy of the submitted file, bound read-only.
            name: the notebook's file name inside the working folder.
            config: the kernel's configuration (:func:`minigrad.grading.kernel.main`), without
                the paths and limits this method adds; its ``matplotlib_cache`` is bound read-only.
        """
        ids = self.user_of(slot)
        tasks = _tasks_of(ids[0] if ids else os.getuid())
        deadline = time.monotonic() + 10
        while ids is not None and tasks and time.monotonic() < deadline:  # the slot's last kernel is still ending
            time.sleep(0.05)
            tasks = _tasks_of(ids[0])
        limits = {"RLIMIT_AS": self.limits.memory_bytes, "RLIMIT_CPU": self.limits.cpu_seconds,
                  "RLIMIT_NOFILE": self.limits.open_files, "RLIMIT_FSIZE": self.limits.file_bytes,
                  "RLIMIT_CORE": 0,
                  "RLIMIT_NPROC": self.limits.processes + tasks}
        if self.kind == "bwrap":
            inside = {key: str(_INSIDE / key) for key in ("work", "home", "tmp", "out")}
        else:
            inside = {key: str(root / key) for key in ("work", "home", "tmp", "out")}
            for path in inside.values():
                os.mkdir(path, 0o700)
                if ids is not None:
                    os.chown(path, *ids)
            shutil.copyfile(submission, Path(inside["work"]) / name)
        fonts = config.get("matplotlib_cache") or None
        if fonts and self.kind == "bwrap":
            config = {**config, "matplotlib_cache": str(_INSIDE / "fonts")}  # bound there, read-only
        config = {**config, "limits": limits, "outbox": inside["out"], "workdir": inside["work"], "notebook": name,
                  "uid": ids[0] if ids and self.kind == "bwrap" else None,
                  "gid": ids[1] if ids and self.kind == "bwrap" else None}
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", "HOME": inside["home"],
               "TMPDIR": inside["tmp"], "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": inside["home"] + "/.matplotlib",
               "IPYTHONDIR": inside["home"] + "/.ipython", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        env.update({key: os.environ[key] for key in _PASSED_VARIABLES if key in os.environ})
        return Launch(self, root, submission, name, config, env, ids, fonts)


@dataclass
class Launch:
    """Everything that starts one kernel, and what the grader needs to reach it afterwards."""

    sandbox: Sandbox
    root: Path
    submission: Path
    name: str
    config: dict
    env: dict
    ids: tuple[int, int] | None
    fonts: str | None = None
    pid: int | None = None
    _info: int | None = None  # bubblewrap's --info-fd: the pipe's write end, passed to bwrap
    _info_read: int | None = None  # and its read end, where the sandbox's PID arrives

    @property
    def transport(self) -> str:
        return "ipc" if self.sandbox.kind == "bwrap" else "tcp"

    @property
    def kernel_ip(self) -> str:
        """The address the kernel binds (a socket path prefix inside the sandbox)."""
        return str(_INSIDE / "ipc" / "kernel") if self.sandbox.kind == "bwrap" else "127.0.0.1"

    def client_ip(self) -> str:
        """The address the grader connects to: the sandbox's sockets, through its root in /proc."""
        return f"/proc/{self.pid}/root{self.kernel_ip}" if self.sandbox.kind == "bwrap" else self.kernel_ip

    def outbox(self) -> Path:
        """Where the kernel's signed reports appear, seen from the grader."""
        if self.sandbox.kind == "bwrap":
            return Path(f"/proc/{self.pid}/root{self.config['outbox']}")
        return Path(self.config["outbox"])

    def command(self, connection_file: str) -> tuple[list[str], dict]:
        """The command line and the extra ``Popen`` arguments that start the kernel."""
        config_read, config_write = os.pipe()
        os.write(config_write, json.dumps(self.config).encode("utf-8"))
        os.close(config_write)
        python = [sys.executable, "-I", "-c", BOOT, str(Path(self.config["package"]).parent), str(config_read)]
        ipython = ["--HistoryManager.enabled=False", "--IPKernelApp.parent_handle=0"]
        popen: dict[str, Any] = {"pass_fds": [config_read], "env": dict(self.env),
                                 "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        os.chmod(connection_file, 0o644)  # the kernel reads it as the sandbox's user
        if self.sandbox.kind == "none":
            popen["cwd"] = self.config["workdir"]
            if self.ids is not None:
                popen.update(user=self.ids[0], group=self.ids[1], extra_groups=[])
            return [*python, "-f", connection_file, *ipython], popen
        self._info_read, self._info = os.pipe()
        popen["pass_fds"].append(self._info)
        args = [self.sandbox.bwrap, *self.sandbox.bwrap_options(),
                "--ro-bind", str(self.submission), str(_INSIDE / "work" / self.name),
                "--ro-bind", connection_file, str(_INSIDE / "connection.json"),
                "--chdir", str(_INSIDE / "work"), "--info-fd", str(self._info), "--clearenv"]
        if self.fonts:
            args += ["--ro-bind", self.fonts, str(_INSIDE / "fonts")]
        for key, value in self.env.items():
            args += ["--setenv", key, value]
        popen["env"] = {"PATH": "/usr/bin:/bin"}
        return [*args, "--", *python, "-f", str(_INSIDE / "connection.json"), *ipython], popen

    def started(self, pid: int, timeout: float = 60.0) -> None:
        """Learn the sandbox's PID from bubblewrap (``--info-fd``) once the kernel process started."""
        if self.sandbox.kind == "none":
            self.pid = pid
            return
        os.close(self._info)
        data = b""
        try:
            while b"}" not in data:
                ready, _, _ = select.select([self._info_read], [], [], timeout)
                chunk = os.read(self._info_read, 4096) if ready else b""
                if not chunk:
                    raise RuntimeError("bubblewrap did not start the sandbox")
                data += chunk
        finally:
            os.close(self._info_read)
        self.pid = int(json.loads(data.decode("utf-8"))["child-pid"])


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel as :class:`Launch` says (interrupts by message), and
    whose clients drop any message larger than ``max_message_bytes``."""

    def __init__(self, launch: Launch, max_message_bytes: int, **kwargs: Any) -> None:
        super().__init__(transport=launch.transport, ip=launch.kernel_ip, **kwargs)
        self.launch = launch
        self.max_message_bytes = max_message_bytes
        self._kernel_spec = KernelSpec(argv=[], display_name="graded notebook", language="python",
                                       interrupt_mode="message")
        self._extra_popen: dict = {}

    def client(self, **kwargs: Any) -> Any:
        """A client whose sockets drop any message larger than ``max_message_bytes`` before reading it."""
        client = super().client(**kwargs)
        client.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        return client

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command, self._extra_popen = self.launch.command(self.connection_file)
        return command

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kw.update(self._extra_popen)
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            for fd in self._extra_popen.get("pass_fds", []):
                if fd != self.launch._info:
                    os.close(fd)
        await asyncio.to_thread(self.launch.started, self.provisioner.pid)
        self.ip = self.launch.client_ip()
