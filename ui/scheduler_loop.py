"""The scheduler that runs itself: a background loop inside every app server process.

Started from `server.py`'s lifespan, it runs one scheduler pass (`core.alerts.scheduler.tick`:
queue what is due, deliver it) every `ESCALATION_DESK_TICK_SECONDS` (30 by default), each pass in
a worker thread, since a database query or an SMTP send on the event loop would stall every
browser session the process serves. A pass that fails is logged and the loop carries on; on
shutdown the loop finishes the pass under way (for a bounded time) and stops. With several
processes on one PostgreSQL database each notification is still sent once (the outbox's claims).
`ESCALATION_DESK_SCHEDULER=off` turns it off (for a separate `python -m core tick` worker or
cron). It must never run a pass on the event loop, and never let one failure end the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamlit.logger import get_logger

log = get_logger(__name__)  # Streamlit's format and level (make run shows warnings and errors)

PERIOD_ENV = "ESCALATION_DESK_TICK_SECONDS"
SWITCH_ENV = "ESCALATION_DESK_SCHEDULER"
DEFAULT_PERIOD = 30.0
# How long shutdown waits for a pass under way before leaving it to die with the process.
STOP_GRACE_SECONDS = 20.0

Pass = Callable[[dt.datetime], dict[str, Any]]


def period_from(raw: str | None) -> float:
    """The seconds between passes from the setting: a positive number, else the default (with a warning)."""
    if raw is None or not raw.strip():
        return DEFAULT_PERIOD
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        log.warning("Warning: %s=%r is not a number of seconds between 0 and 86400: using %s.",
                    PERIOD_ENV, raw, DEFAULT_PERIOD)
        return DEFAULT_PERIOD
    return value


def enabled_from(raw: str | None) -> bool:
    """False only when the setting says off (off, false, no, 0)."""
    return (raw or "").strip().lower() not in {"off", "false", "no", "0"}


def worker_name() -> str:
    """This process as the outbox's claims name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class LoopStatus:
    """What the loop has done so far, for /api/health: counts and times only, never an error's text."""

    enabled: bool = False
    period_seconds: float = DEFAULT_PERIOD
    passes: int = 0
    failures: int = 0
    last_pass_at: dt.datetime | None = None
    last_summary: dict[str, Any] = field(default_factory=dict)
    last_failure_at: dt.datetime | None = None
    last_failure: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        with self._lock:
            return {
                "enabled": self.enabled, "period_seconds": self.period_seconds, "passes": self.passes,
                "failures": self.failures,
                "last_pass_at": self.last_pass_at.isoformat() if self.last_pass_at else None,
                "last_summary": dict(self.last_summary),
                "last_failure_at": self.last_failure_at.isoformat() if self.last_failure_at else None,
                "last_failure": self.last_failure,
            }

    def passed(self, at: dt.datetime, summary: dict[str, Any]) -> None:
        """Record a pass that finished."""
        with self._lock:
            self.passes += 1
            self.last_pass_at = at
            self.last_summary = {k: v for k, v in summary.items() if isinstance(v, int | float)}

    def failed(self, at: dt.datetime, error: BaseException) -> None:
        """Record a pass that failed (the exception's type only: its text may name a server or an address)."""
        with self._lock:
            self.failures += 1
            self.last_failure_at = at
            self.last_failure = type(error).__name__


STATUS = LoopStatus()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SchedulerLoop:
    """Runs `run_pass(now)` every `period` seconds in a thread until `stop()`."""

    def __init__(self, run_pass: Pass, period: float, status: LoopStatus = STATUS,
                 clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.run_pass, self.period, self.status, self.clock = run_pass, period, status, clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self.status.enabled, self.status.period_seconds = True, self.period
        self._task = asyncio.get_running_loop().create_task(self._run(), name="escalation-desk-scheduler")

    async def _run(self) -> None:
        while not self._stop.is_set():
            now = self.clock()
            try:
                summary = await asyncio.to_thread(self.run_pass, now)
            except Exception as error:  # one bad pass (a database restart) must not end the loop
                log.exception("Scheduler pass at %s failed; the next pass runs in %s s.", now.isoformat(), self.period)
                self.status.failed(now, error)
            else:
                self.status.passed(now, summary)
                if any(summary.get(k) for k in ("due", "sent", "failed")):
                    log.info("Scheduler pass at %s: %s", now.isoformat(), summary)
            with contextlib.suppress(TimeoutError):  # the period passed: next pass
                await asyncio.wait_for(self._stop.wait(), timeout=self.period)

    async def stop(self) -> None:
        """Ask the loop to stop, wait for the pass under way (at most STOP_GRACE_SECONDS), then cancel it."""
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("Warning: the scheduler pass under way did not finish in %s s; leaving it.",
                        STOP_GRACE_SECONDS)
            self._task.cancel()
        self.status.enabled = False
