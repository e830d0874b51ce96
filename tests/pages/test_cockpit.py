"""The incident cockpit (issue 15, first part): the most urgent thing owed on top, counting down, clocks in
urgency order, the status move preset to an allowed one, and a notice when someone else saved meanwhile."""

from __future__ import annotations

import datetime as dt

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.people.users import SYSTEM
from db.engine import session_scope
from tests.pages.conftest import open_test_incident, texts
from tests.pages.test_incident_pages import incident_page


def _headline(at) -> str:
    return next(str(m.value) for m in at.markdown if str(m.value).startswith("### :"))


def test_the_most_urgent_thing_owed_is_on_top_and_moves_on_when_it_is_done(workspace, app_db):
    # growth-engine P1, detected 30 minutes ago: the 15-minute acknowledgment is already late.
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert not at.exception
    assert _headline(at).startswith("### :red[Acknowledge: overdue 15m ")  # to the second: "15m 02s"
    assert "the most urgent of 4 things owed" in texts(at)
    at.button(key="ms_acknowledged").click().run()
    assert not at.exception
    # Next: Level 3 within 1 hour of detection, half an hour from now (orange: due within 30 minutes).
    assert _headline(at).startswith("### :orange[Reach the required escalation level: in 29m ")
    assert "the most urgent of 3 things owed" in texts(at)


def test_the_status_move_offers_the_allowed_moves_first(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    move = at.selectbox(key="status_target")
    assert move.value == "acknowledged"  # not "New", which is no allowed move from New
    assert move.options[0] == "Acknowledged"


def test_someone_elses_save_is_seen_with_what_they_changed(workspace, app_db):
    # The cockpit fragment asks for this stamp every 10 seconds; a newer version shows who changed what.
    from core.incident.views import incident_stamp
    from ui.auth import utcnow

    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert "Someone else saved this incident" not in texts(at)
    seen = incident_stamp(iid, since=0)
    assert seen is not None
    assert incident_stamp(iid, since=seen.version) == type(seen)(seen.version, ())
    with session_scope(app_db) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM, now=utcnow())
    stamp = incident_stamp(iid, since=seen.version)
    assert stamp is not None and stamp.version == seen.version + 1
    assert len(stamp.changes) == 1 and stamp.changes[0].action == "milestone:acknowledged"
    assert stamp.changes[0].at.utcoffset() == dt.timedelta(0), "UTC: the page shows it in the reader's zone"
    assert incident_stamp(10_000, since=1) is None
