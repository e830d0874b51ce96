"""Templates render in isolated worker processes: hostile templates are refused in bounded time, and the
app process's other threads never wait for them.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.communication import worker as template_worker
from core.communication.catalog import check_part, shipped_sources, template_spec
from core.communication.context import sample_context
from core.communication.render import RenderedMessage, render
from core.communication.sandbox import RenderError, TemplateLimitError
from tests.core.hostile_templates import HOSTILE, LIST_OF_LISTS, NESTED, WORST

ROOT = Path(__file__).resolve().parents[2]
REFUSAL_SECONDS = 5.0


@pytest.fixture(autouse=True)
def fresh_pool():
    """Each test starts and ends without worker processes (none may leak into other tests)."""
    template_worker.shutdown()
    yield
    pids = template_worker.pool().pids()
    template_worker.shutdown()
    for pid in pids:
        assert not _running(pid), f"worker {pid} still running after shutdown"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Ticker(threading.Thread):
    """A thread of the app process that wakes every 5 ms and records the longest gap between wake-ups."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.max_gap = 0.0
        self.ticks = 0
        self._done = threading.Event()

    def run(self) -> None:
        last = time.perf_counter()
        while not self._done.is_set():
            time.sleep(0.005)
            now = time.perf_counter()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    def stop(self) -> float:
        """Stop ticking; the longest gap in seconds."""
        self._done.set()
        self.join()
        return self.max_gap


def _render_text(source: str) -> RenderedMessage:
    return render("custom", sample_context(), text_src=source)


@pytest.mark.slow  # the whole corpus, each payload rendered and checked in a worker
def test_every_hostile_template_is_refused_within_five_seconds():
    assert len(HOSTILE) >= 60
    blocked, slowest = 0, (0.0, "")
    for payload in HOSTILE:
        started = time.monotonic()
        with pytest.raises(RenderError) as refused:
            _render_text(payload)
        assert refused.value.template == "custom (text part)" and refused.value.message
        rendered_in = time.monotonic() - started
        started = time.monotonic()
        problems = check_part("text", payload)
        checked_in = time.monotonic() - started
        assert problems, f"check found nothing wrong in {payload[:80]!r}"
        assert max(rendered_in, checked_in) < REFUSAL_SECONDS, (payload[:80], rendered_in, checked_in)
        slowest = max(slowest, (max(rendered_in, checked_in), payload[:60]))
        blocked += 1
    print(f"hostile templates: {len(HOSTILE)} checked, {blocked} blocked; slowest {slowest[0]:.2f} s "
          f"({slowest[1]!r})")
    assert blocked == len(HOSTILE)


@pytest.mark.parametrize(
    "payload, message, cause",
    [
        pytest.param(LIST_OF_LISTS + "{{ rows|sum(start=[])|length }}", "this template took more than 2 s to render",
                     TemplateLimitError, marks=pytest.mark.slow),  # runs into the 2 s limit
        (NESTED + "{{ big|string }}", "this template needed more than 64 MB to render", MemoryError),
        (NESTED + "{{ '%s' % (big,) }}", "this template needed more than 64 MB to render", MemoryError),
    ],
)
def test_a_limit_hit_says_which_limit_and_names_the_part(payload, message, cause):
    with pytest.raises(RenderError) as refused:
        render("status_update", sample_context(), text_src="x\n" + payload)
    assert refused.value.template == "status_update.txt.j2"
    assert refused.value.message.startswith(message)
    assert refused.value.line in (None, 2)  # a MemoryError raised inside the worker still knows its line
    assert str(refused.value).startswith("status_update.txt.j2") and message in str(refused.value)
    assert isinstance(refused.value.__cause__, cause)
    assert [(p.part, p.message[:len(message)]) for p in check_part("text", payload)] == [("text", message)]


@pytest.mark.slow  # each worst template runs into a worker's limit
def test_other_threads_keep_ticking_while_the_worst_templates_render():
    ticker = Ticker()
    ticker.start()
    failures: list[str] = []

    def render_all(payloads: list[str]) -> None:
        for payload in payloads:
            try:
                _render_text(payload)
                failures.append(payload)
            except RenderError:
                pass

    started = time.monotonic()
    # Two sessions at once, so both workers of the pool are busy.
    threads = [threading.Thread(target=render_all, args=(WORST[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    max_gap = ticker.stop()
    print(f"stall: {len(WORST)} worst templates in {elapsed:.1f} s; ticker max gap {max_gap * 1000:.0f} ms "
          f"over {ticker.ticks} ticks")
    assert failures == []
    assert max_gap < 0.100


def test_workers_are_separate_programs_with_a_memory_limit_of_baseline_plus_64_mb():
    _render_text("{{ title }}")
    [info] = template_worker.pool().limits()
    assert info["limit"] == info["baseline"] + 64 * 1024 * 1024
    assert info["baseline"] < 128 * 1024 * 1024
    pid = info["pid"]
    assert template_worker.pool().pids() == [pid] and pid != os.getpid()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[-3:-1] == [b"-m", b"core.communication.worker"]  # spawned as its own program, not forked
    limits = Path(f"/proc/{pid}/limits").read_text()
    address_space = next(line for line in limits.splitlines() if line.startswith("Max address space"))
    assert address_space.split()[3:5] == [str(info["limit"])] * 2
    cpu = next(line for line in limits.splitlines() if line.startswith("Max cpu time"))
    assert cpu.split()[3] != "unlimited"


def test_the_worker_imports_only_jinja_and_the_sandbox():
    probe = ("import sys, core.communication.worker; "
             "print(sorted(m for m in sys.modules if m == 'core.communication.render' or m.split('.')[0] in "
             "{'pydantic', 'yaml', 'sqlalchemy', 'streamlit', 'pandas', 'db'}))")
    done = subprocess.run([sys.executable, "-E", "-s", "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.slow  # waits for a worker to hit its time limit
def test_a_worker_that_hit_a_limit_is_replaced_never_reused():
    _render_text("{{ title }}")
    [first] = template_worker.pool().pids()
    with pytest.raises(RenderError, match="needed more than 64 MB"):
        _render_text(NESTED + "{{ big }}")
    assert not _running(first)
    with pytest.raises(RenderError, match="took more than 2 s"):
        _render_text(LIST_OF_LISTS + "{{ rows|sum(start=[])|length }}")
    assert _render_text("Hello {{ greeting }}").text == "Hello Ana Martin"
    assert first not in template_worker.pool().pids()
    assert len(template_worker.pool().pids()) == 1


def test_a_worker_killed_from_outside_is_replaced():
    _render_text("{{ title }}")
    [pid] = template_worker.pool().pids()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break
        time.sleep(0.01)
    assert _render_text("{{ incident_ref }}").text == "INC-1042"


def test_many_sessions_share_at_most_two_workers():
    results: list[str] = []
    seen: set[int] = set()

    def session(number: int) -> None:
        for _ in range(5):
            results.append(_render_text(f"{number}: {{{{ incident_ref }}}}").text)
            seen.update(template_worker.pool().pids())

    threads = [threading.Thread(target=session, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(f"{n}: INC-1042" for n in range(6) for _ in range(5))
    assert len(seen) <= template_worker.POOL_SIZE


def test_a_warm_preview_takes_at_most_150_ms():
    context = sample_context()
    spec = template_spec("status_update")
    sources = shipped_sources("status_update")
    template_worker.shutdown()
    started = time.monotonic()
    render(spec, context, subject_src=sources.subject, text_src=sources.text, html_src=sources.html)
    cold = time.monotonic() - started
    times = []
    for _ in range(25):
        started = time.monotonic()
        render(spec, context, subject_src=sources.subject, text_src=sources.text, html_src=sources.html)
        times.append(time.monotonic() - started)
    median = statistics.median(times)
    print(f"preview render: cold {cold * 1000:.0f} ms, warm median {median * 1000:.1f} ms "
          f"(max {max(times) * 1000:.1f} ms, {len(times)} renders)")
    assert median <= 0.150


def test_shutdown_stops_every_worker():
    threads = [threading.Thread(target=_render_text, args=("{{ title }}",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = template_worker.pool().pids()
    assert pids
    template_worker.shutdown()
    assert [pid for pid in pids if _running(pid)] == []
