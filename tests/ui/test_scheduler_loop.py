"""The scheduler that runs itself: a real `streamlit run server.py` process, no browser, alerts arrive.

Also the loop's own behaviour in-process: a failing pass is logged and the loop carries on, and
stop() waits for the pass under way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import urllib.request

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Notification
from tests.browser.conftest import Server
from tests.ui.test_ack_route import _seed
from ui.scheduler_loop import DEFAULT_PERIOD, LoopStatus, SchedulerLoop, enabled_from, period_from

PERIOD = 1.0


def _inbox(engine, owner: int) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return [(n.rule, n.state) for n in s.scalars(select(Notification).where(
            Notification.user_id == owner, Notification.channel == "inbox"))]


def test_a_served_app_alerts_the_owner_in_the_app_within_one_period_with_no_browser_open(tmp_path):
    server = Server(tmp_path, env={"ESCALATION_DESK_TICK_SECONDS": str(PERIOD)})
    engine = make_engine(server.db_url)
    upgrade(engine)
    server.start()
    try:
        # Written once the server is up (its start took over 4 s on a loaded machine): a P1 whose acknowledge
        # warning falls due 4 s from now, so nothing is queued before that.
        ids = _seed(engine, queue=False, detected_ago=dt.timedelta(minutes=10) - dt.timedelta(seconds=4))
        due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=4)
        assert _inbox(engine, ids["owner"]) == []
        arrived = None
        while arrived is None and dt.datetime.now(dt.UTC) < due + dt.timedelta(seconds=30):
            if ("warn:acknowledge", "sent") in _inbox(engine, ids["owner"]):
                arrived = dt.datetime.now(dt.UTC)
            time.sleep(0.1)
        log = (tmp_path / "server.log").read_text()
        assert arrived is not None, log
        print(f"in-app alert stored {(arrived - due).total_seconds():.2f} s after it fell due (period {PERIOD} s)")
        # Within one scheduler period of falling due (plus the pass's own time and this poll's).
        assert (arrived - due).total_seconds() <= PERIOD + 2.0, (arrived - due)
        with urllib.request.urlopen(f"{server.url}/api/health", timeout=10) as answer:
            health = json.loads(answer.read())["scheduler"]
        assert health["enabled"] is True and health["period_seconds"] == PERIOD and health["passes"] >= 2
        assert health["failures"] == 0, log
    finally:
        server.stop()
        engine.dispose()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.mark.parametrize("raw, expected", [
    (None, DEFAULT_PERIOD), ("", DEFAULT_PERIOD), ("5", 5.0), ("0.5", 0.5), ("0", DEFAULT_PERIOD),
    ("-3", DEFAULT_PERIOD), ("soon", DEFAULT_PERIOD), ("999999", DEFAULT_PERIOD),
])
def test_the_period_setting(raw, expected):
    assert period_from(raw) == expected


@pytest.mark.parametrize("raw, expected", [(None, True), ("", True), ("on", True), ("off", False),
                                           ("OFF", False), ("false", False), ("0", False)])
def test_the_switch(raw, expected):
    assert enabled_from(raw) is expected


def test_a_failing_pass_is_counted_and_the_loop_carries_on_then_stops_after_the_pass_under_way():
    calls: list[dt.datetime] = []
    finished = threading.Event()

    def run_pass(now: dt.datetime) -> dict:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database restarting at smtp://secret@host")
        time.sleep(0.2)
        finished.set()
        return {"due": 1, "sent": 1, "failed": 0, "retrying": 0}

    async def scenario() -> LoopStatus:
        status = LoopStatus()
        loop = SchedulerLoop(run_pass, 0.05, status)
        loop.start()
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        await loop.stop()  # the second pass is under way: stop waits for it
        assert finished.is_set()
        return status

    # In a thread of its own: after the browser tests, Playwright's sync API keeps an event loop
    # running in the main thread, and asyncio.run refuses to start inside it.
    results: list[LoopStatus] = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(scenario())))
    runner.start()
    runner.join(timeout=30)
    assert results, "the scenario did not finish"
    status = results[0]
    report = status.as_dict()
    assert (report["failures"], report["passes"], report["last_failure"]) == (1, 1, "RuntimeError")
    assert report["last_summary"] == {"due": 1, "sent": 1, "failed": 0, "retrying": 0}
    assert "secret" not in json.dumps(report) and report["enabled"] is False
    assert len(calls) == 2  # stopped: no pass after the one under way
