"""Opening a page never writes, for anyone: every page, every role, and a CSM who does not own the account.

Each case seeds a workspace (an open and a resolved incident on an account
csm1 owns, nothing written about them yet), takes every row of every table,
opens one page as one person and compares every row again. A page added to
pages/ is checked without touching this file.
"""

import datetime as dt

import pytest
from sqlalchemy import select

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from db.engine import session_scope
from db.models import Account, Base
from tests.conftest import make_user
from tests.pages.conftest import REPO, app_test, open_test_incident, texts

PAGES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "pages").glob("*.py"))
# csm2 is a CSM who does not own the account the incidents are on.
READERS = ["csm1", "csm2", "lead1", "admin1"]
ANSWERS = {"business_impact": "stopped", "complete_outage": True, "revenue_impact_per_hour": 5000}


def test_every_page_is_covered():
    print(f"pages checked for writes on reading: {len(PAGES)} x {len(READERS)} readers")
    assert len(PAGES) >= 16 and "pages/report.py" in PAGES and "pages/postmortem.py" in PAGES


@pytest.fixture
def seeded(workspace, app_db):
    """The workspace plus csm2, an open incident and a resolved one on Acme (csm1's); returns the ids."""
    make_user(app_db, "csm2", "csm")
    open_test_incident(app_db, "Acme Corp", ANSWERS, title="Sync stalled", minutes_ago=20)
    resolved = open_test_incident(app_db, "Acme Corp", ANSWERS, title="Checkout down", policy="red-status",
                                  minutes_ago=180)
    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        incidents.record_milestone(s, incident_id=resolved, milestone=Milestone.RESOLVED, actor=SYSTEM, now=now,
                                   at=now - dt.timedelta(hours=1), reason="fixed by rollback")
        account = s.scalar(select(Account.id).where(Account.name == "Acme Corp"))
    return {"incident": resolved, "account": account}


def every_row(engine) -> dict[str, list]:
    """Every row of every table, in key order."""
    with session_scope(engine) as s:
        return {t.name: s.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in Base.metadata.sorted_tables}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("script", PAGES)
def test_opening_a_page_writes_nothing(seeded, app_db, script, reader):
    before = every_row(app_db)
    assert before["review_tasks"], "the resolution scheduled the reviews"
    assert not before["incident_reports"], "nothing is written about the incident yet"
    at = app_test(script, reader, timeout=60,
                  query={"id": str(seeded["account" if script == "pages/account.py" else "incident"])}).run()
    assert not at.exception, at.exception
    after = every_row(app_db)
    changed = {name: (len(before[name]), len(rows)) for name, rows in after.items() if rows != before[name]}
    assert not changed, f"{script} as {reader} wrote to: {changed} (rows before, after)"
    if script in ("pages/report.py", "pages/postmortem.py") and reader == "csm2":
        assert "is not written yet" in texts(at)
