"""No update is lost: concurrent read-modify-write of one incident keeps every change.

8 threads x 50 updates, and 2 OS processes x 200 updates, on SQLite and PostgreSQL,
through `session_scope` and `get_for_update` as the app's flows use them.
"""

import datetime as dt
import multiprocessing
import threading

import pytest
from sqlalchemy.orm.exc import StaleDataError

from db.engine import make_engine, session_scope
from db.models import Account, Incident
from db.rows import get_for_update
from tests.conftest import clean_main_module

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _incident(engine) -> int:
    with session_scope(engine) as s:
        account = Account(name="Concurrency Co", tier="pro")
        s.add(account)
        s.flush()
        incident = Incident(
            title="race", summary="", account_id=account.id, policy_name="default",
            policy_version=1, answers={}, triage_result={}, severity="P1",
            status="new", detected_at=NOW,
        )
        s.add(incident)
        s.flush()
        return incident.id


def _append(engine, incident_id: int, times: int, mark: str) -> None:
    for _ in range(times):
        with session_scope(engine) as s:
            incident = get_for_update(s, Incident, incident_id)
            incident.summary = incident.summary + mark


def _worker(url: str, incident_id: int, times: int, mark: str) -> None:
    engine = make_engine(url)
    _append(engine, incident_id, times, mark)
    engine.dispose()


def test_threads_keep_every_update(engine):
    incident_id = _incident(engine)
    threads = [threading.Thread(target=_append, args=(engine, incident_id, 50, "x")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(engine) as s:
        incident = s.get(Incident, incident_id)
        assert len(incident.summary) == 400
        assert incident.version == 401


def test_two_processes_keep_every_update(engine):
    incident_id = _incident(engine)
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, incident_id, 200, m)) for m in "ab"]
    with clean_main_module():
        for p in procs:
            p.start()
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    with session_scope(engine) as s:
        summary = s.get(Incident, incident_id).summary
    assert (len(summary), summary.count("a"), summary.count("b")) == (400, 200, 200)


def test_stale_write_is_refused_not_lost(engine):
    """Two sessions that read the same version: the second write fails instead of overwriting."""
    incident_id = _incident(engine)
    with session_scope(engine) as s:
        first = s.get(Incident, incident_id)
        s.expunge(first)
    with session_scope(engine) as s:
        s.get(Incident, incident_id).title = "edited by Alice"
    with pytest.raises(StaleDataError), session_scope(engine) as s:
        stale = s.merge(first, load=False)
        stale.title = "edited by Bob from an old copy"
    with session_scope(engine) as s:
        assert s.get(Incident, incident_id).title == "edited by Alice"
