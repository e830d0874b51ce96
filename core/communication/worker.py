"""Message templates render in small worker processes with hard CPU, memory and wall-clock limits.

The sandbox's own budgets are checked between template operations, so one
long built-in call (a huge `sum`, `str()` of a tuple nested by reference)
would run to its end holding the interpreter lock and freeze every session
of the app. Here every render and every check runs in a separate program,
`python -m core.communication.worker`, which imports only Jinja2,
core.communication.sandbox and core.communication.parts, caps its address space at its own baseline plus
MAX_RENDER_MEGABYTES and its CPU time per request, and is killed by the app
when a request runs a quarter second past MAX_RENDER_SECONDS. The app side
keeps a small pool of such workers (created lazily, shared by all threads of
the process); a thread waits on the worker's pipe, which releases the
interpreter lock, so other sessions keep working. A worker that hit a limit
is replaced, never reused. Messages go both ways as length-prefixed JSON
(never pickle). This module must never import pydantic, YAML, SQLAlchemy or
Streamlit (the worker loads it), nor render a template in the app's process.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import resource
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from core.communication import parts, sandbox
from core.communication.sandbox import MEMORY_LIMIT_MESSAGE, TIME_LIMIT_MESSAGE, PartProblem, RenderError

POOL_SIZE = 2
GRACE_SECONDS = 0.25       # past MAX_RENDER_SECONDS before the app kills a worker (its own check speaks first)
STARTUP_SECONDS = 20.0     # a cold worker on a loaded machine; normally 0.2-0.4 s
QUEUE_SECONDS = 30.0       # how long a render waits for a free worker
MAX_FRAME_BYTES = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")
_ROOT = Path(__file__).resolve().parents[2]
_EXIT_RETIRED = 3          # the worker ran out of memory once and stopped itself


# --------------------------------------------------------------------------
# Framing, shared by both sides.


def _frame(message: Mapping[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# --------------------------------------------------------------------------
# The worker program.


def _address_space() -> int:
    """This process's mapped address space in bytes (what RLIMIT_AS counts)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _limit_memory() -> tuple[int, int]:
    baseline = _address_space()
    limit = baseline + sandbox.MAX_RENDER_MEGABYTES * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # SIGXCPU would otherwise dump core
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file writes at all (pipes are not files)
    return baseline, limit


def _arm_cpu_limit() -> None:
    """Give this request MAX_RENDER_SECONDS of CPU (plus the limit's one-second rounding); SIGXCPU ends it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + sandbox.MAX_RENDER_SECONDS) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _handle(request: Mapping[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + sandbox.MAX_RENDER_SECONDS
    if request["op"] == "render":
        try:
            text = parts.render_part(request["html"], request["source"], request["label"], request["variables"],
                                       deadline=deadline)
        except RenderError as exc:
            kind = sandbox.error_kind(exc.__cause__)
            return {"ok": False, "line": exc.line, "message": exc.message, "kind": kind,
                    "retire": kind == "MemoryError"}
        return {"ok": True, "text": text}
    if request["op"] == "check":
        problems = parts.check_part(request["html"], request["source"], request["label"],
                                      fields=frozenset(request["fields"]), internal=frozenset(request["internal"]),
                                      contexts=request["contexts"], deadline=deadline)
        return {"ok": True, "problems": [[p.line, p.message, p.kind] for p in problems],
                "retire": any(p.kind == "MemoryError" for p in problems)}
    return {"ok": False, "line": None, "message": f"unknown request {request['op']!r}", "kind": "ValueError"}


def main() -> int:
    """The worker: announce its limits, then answer one request at a time until stdin closes."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the frames
    parts.warm_up()
    baseline, limit = _limit_memory()
    replies.write(_frame({"ready": True, "pid": os.getpid(), "baseline": baseline, "limit": limit}))
    replies.flush()
    while True:
        header = _read_exactly(requests, _HEADER.size)
        if header is None:
            return 0
        body = _read_exactly(requests, _HEADER.unpack(header)[0])
        if body is None:
            return 0
        _arm_cpu_limit()
        try:
            reply = _handle(json.loads(body))
        except MemoryError:
            reply = {"ok": False, "line": None, "message": MEMORY_LIMIT_MESSAGE, "kind": "MemoryError",
                     "retire": True}
        except Exception as exc:
            reply = {"ok": False, "line": None, "kind": type(exc).__name__,
                     "message": f"the template could not be rendered: {exc}"[:sandbox.MAX_MESSAGE_CHARS]}
        replies.write(_frame(reply))
        replies.flush()
        if reply.get("retire"):
            return _EXIT_RETIRED  # memory ran out once: this process may be in a bad state, start afresh


# --------------------------------------------------------------------------
# The app side: one worker, and the pool.


class WorkerFailed(Exception):
    """A worker stopped or overran; `message` says what to tell the person, `kind` the error behind it."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.message = message
        self.kind = kind


class _Worker:
    """One `python -m core.communication.worker` process and its pipes; used by one thread at a time."""

    def __init__(self) -> None:
        # -E -s: no PYTHON* variables, no user site; the project root is the working directory, so
        # `-m core.communication.worker` imports this checkout's code.
        self.proc = subprocess.Popen(
            [sys.executable, "-E", "-s", "-m", "core.communication.worker"], cwd=_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.info: dict[str, Any] | None = None
        self.killed_by_us = False

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its reply; WorkerFailed (worker killed) past the time limit."""
        if self.info is None:
            self.info = self._receive(time.monotonic() + STARTUP_SECONDS, starting=True)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(_frame(request))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._failure() from None
        return self._receive(time.monotonic() + sandbox.MAX_RENDER_SECONDS + GRACE_SECONDS, starting=False)

    def _receive(self, deadline: float, *, starting: bool) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = bytearray()
        needed = _HEADER.size
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while len(buffer) < needed:
                left = deadline - time.monotonic()
                # Waiting in select releases the interpreter lock: other sessions run meanwhile.
                if left <= 0 or not selector.select(left):
                    self.kill()
                    if starting:
                        raise WorkerFailed("the template renderer did not start; try again in a moment", "RenderError")
                    raise WorkerFailed(TIME_LIMIT_MESSAGE, "TemplateLimitError")
                chunk = os.read(fd, min(needed - len(buffer), 1 << 20))
                if not chunk:
                    raise self._failure(starting)
                buffer += chunk
                if needed == _HEADER.size and len(buffer) >= _HEADER.size:
                    size = _HEADER.unpack(bytes(buffer[:_HEADER.size]))[0]
                    if size > MAX_FRAME_BYTES:
                        self.kill()
                        raise WorkerFailed("the template renderer sent an oversized reply", "RenderError")
                    needed = _HEADER.size + size
        reply: dict[str, Any] = json.loads(bytes(buffer[_HEADER.size:needed]))
        return reply

    def _failure(self, starting: bool = False) -> WorkerFailed:
        """Why the worker stopped, from its exit status (it is reaped here)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if starting:
            return WorkerFailed(f"the template renderer did not start (exit status {code}); tell an admin",
                                "RenderError")
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and self.killed_by_us):
            return WorkerFailed(TIME_LIMIT_MESSAGE, "TemplateLimitError")
        # Out of address space the interpreter may abort or crash outright rather than raise.
        return WorkerFailed(MEMORY_LIMIT_MESSAGE, "MemoryError")

    def kill(self) -> None:
        """Stop the process now and reap it."""
        if self.alive():
            self.killed_by_us = True
            self.proc.kill()
        self.proc.wait()
        self.close_pipes()

    def stop(self) -> None:
        """Ask a ready worker to finish (closing its stdin), kill it if it does not within a second.

        A worker still starting up is killed at once: it would only see the
        closed pipe after loading Jinja.
        """
        if self.info is not None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def close_pipes(self) -> None:
        """Close the parent's ends of the pipes."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


class TemplateWorkerPool:
    """Up to `size` workers shared by every thread of this process; each render borrows one."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._changed = threading.Condition()
        self._closed = False

    def pids(self) -> list[int]:
        """The process ids of the workers this pool holds now (idle and busy)."""
        with self._changed:
            return sorted(w.pid for w in [*self._idle, *self._busy])

    def limits(self) -> list[dict[str, Any]]:
        """What each started worker announced: pid, baseline and address-space limit in bytes."""
        with self._changed:
            return [dict(w.info) for w in [*self._idle, *self._busy] if w.info]

    def prestart(self) -> None:
        """Start one worker now, without waiting for it, unless one is already there."""
        with self._changed:
            if not self._closed and not self._idle and not self._busy:
                self._idle.append(_Worker())

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Run one request on a free worker; WorkerFailed when it overran or died (it is then replaced)."""
        worker = self._acquire()
        reusable = False
        try:
            reply = worker.call(request)
            reusable = not reply.get("retire")
            return reply
        finally:
            self._release(worker, reusable)

    def _acquire(self) -> _Worker:
        deadline = time.monotonic() + QUEUE_SECONDS
        with self._changed:
            while True:
                if self._closed:
                    raise WorkerFailed("the template renderer is shutting down", "RenderError")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._busy.add(worker)
                        return worker
                    worker.kill()  # died while idle (killed from outside): drop it
                if len(self._busy) < self.size:
                    worker = _Worker()
                    self._busy.add(worker)
                    return worker
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerFailed("every template renderer is busy; try again in a moment", "RenderError")
                self._changed.wait(left)

    def _release(self, worker: _Worker, reusable: bool) -> None:
        with self._changed:
            self._busy.discard(worker)
            if reusable and not self._closed and worker.alive():
                self._idle.append(worker)
            else:
                worker.kill()
                if not self._closed:
                    # Started now, so the next render finds a process already loading.
                    self._idle.append(_Worker())
            self._changed.notify()

    def shutdown(self) -> None:
        """Stop every worker (idle ones politely, busy ones at once); the pool takes no more requests."""
        with self._changed:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._changed.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.kill()


_POOL: TemplateWorkerPool | None = None
_POOL_PID: int | None = None
_POOL_LOCK = threading.Lock()


def pool() -> TemplateWorkerPool:
    """This process's pool, created on first use (a forked child gets its own)."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or os.getpid() != _POOL_PID:
            _POOL, _POOL_PID = TemplateWorkerPool(), os.getpid()
        return _POOL


def shutdown() -> None:
    """Stop this process's workers; the next render starts a fresh pool. Runs at exit too."""
    global _POOL
    with _POOL_LOCK:
        current, _POOL = (_POOL if os.getpid() == _POOL_PID else None), None
    if current is not None:
        current.shutdown()


atexit.register(shutdown)


def render_part(*, html: bool, source: str, label: str, variables: Mapping[str, Any]) -> str:
    """Render one template part in a worker; RenderError naming `label` (and the line when known)."""
    try:
        reply = pool().call({"op": "render", "html": html, "source": source, "label": label,
                             "variables": dict(variables)})
    except WorkerFailed as failed:
        raise RenderError(label, None, failed.message) from sandbox.rebuild_cause(failed.kind, failed.message, None)
    if reply["ok"]:
        return str(reply["text"])
    line, message = reply.get("line"), reply["message"]
    raise RenderError(label, line, message) from sandbox.rebuild_cause(reply.get("kind", ""), message, line)


def check_part(*, html: bool, source: str, label: str, fields: Collection[str], internal: Collection[str],
               contexts: Sequence[Mapping[str, Any]]) -> list[PartProblem]:
    """Check one template part in a worker (see core.communication.parts.check_part); a limit hit is a problem too."""
    try:
        reply = pool().call({"op": "check", "html": html, "source": source, "label": label,
                             "fields": sorted(fields), "internal": sorted(internal),
                             "contexts": [dict(c) for c in contexts]})
    except WorkerFailed as failed:
        return [PartProblem(None, failed.message, failed.kind)]
    if not reply["ok"]:
        return [PartProblem(reply.get("line"), reply["message"], reply.get("kind", "RenderError"))]
    return [PartProblem(line, message, kind) for line, message, kind in reply["problems"]]


if __name__ == "__main__":
    sys.exit(main())
