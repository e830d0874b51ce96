"""Triage and the incident page meet platform outages: the triage form asks "Part of a platform outage?" only
when other customers are affected and an outage is open, and opening attaches; the incident page's line
shows the outage with Unlink for an editor, the outage alone for a reader, and an attach picker when
it applies."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.outage import linking
from core.people.users import SYSTEM
from db.engine import session_scope
from db.models import Incident, Outage
from tests.pages.conftest import open_test_incident, page_as, texts
from tests.pages.test_incident_pages import incident_page

AFFECTED = {"business_impact": "major", "other_customers_affected": "yes"}


def _outage(app_db, title: str = "Payments API down", status: str = linking.OPEN) -> int:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)
    with session_scope(app_db) as s:
        outage = Outage(title=title, severity="P0", status=status, started_at=started, created_at=started,
                        updated_at=started)
        s.add(outage)
        s.flush()
        return outage.id


def _outage_of(app_db, incident_id: int) -> int | None:
    with session_scope(app_db) as s:
        return s.get(Incident, incident_id).outage_id


def _triage(other_customers: str):
    at = page_as("pages/triage.py", "csm1")
    at.selectbox(key="triage_account").select_index(0)
    at.text_input(key="triage_title").input("Card payments fail").run()
    at.selectbox(key="answer_other_customers_affected").select(other_customers).run()
    return at


@pytest.mark.parametrize("answer,outages,asked", [
    ("yes", ("open",), True),
    ("yes", ("resolved",), False),
    ("yes", (), False),
    ("no", ("open",), False),
    ("unknown", ("open",), False),
])
def test_the_triage_form_asks_for_an_outage_only_when_it_applies(workspace, app_db, answer, outages, asked):
    for status in outages:
        _outage(app_db, status=status)
    at = _triage(answer)
    assert not at.exception
    pickers = [box for box in at.selectbox if box.key == "triage_outage"]
    assert bool(pickers) is asked
    assert ("Part of a platform outage?" in [box.label for box in at.selectbox]) is asked
    if asked:
        assert pickers[0].value == 0 and pickers[0].options[0] == "none: it stands alone"


def test_opening_with_an_outage_chosen_attaches_in_the_opening(workspace, app_db):
    _outage(app_db, "Older outage")
    wanted = _outage(app_db)
    at = _triage("yes")
    at.selectbox(key="triage_outage").select(wanted).run()
    at.button(key="triage_open").click().run()
    assert not at.exception
    with session_scope(app_db) as s:
        incident = s.scalars(select(Incident)).one()
    assert incident.outage_id == wanted
    assert f"part of platform outage #{wanted}" in texts(at)
    # It lands on the incident, whose line names the outage.
    assert f"Part of platform outage #{wanted}: Payments API down (1 account)" in texts(at)


def test_opening_without_choosing_points_to_attaching_later(workspace, app_db):
    _outage(app_db)
    at = _triage("yes")
    at.button(key="triage_open").click().run()
    assert not at.exception
    with session_scope(app_db) as s:
        incident = s.scalars(select(Incident)).one()
    assert incident.outage_id is None
    shown = texts(at)
    assert "Other customers are affected: attach it to a platform outage" in shown
    assert "Platform outages page" in shown
    # The incident page it lands on offers the attach picker.
    assert f"outage_pick_{incident.id}" in {box.key for box in at.selectbox}


def test_an_editor_attaches_from_the_incident_page_then_unlinks(workspace, app_db):
    outage_id = _outage(app_db)
    iid = open_test_incident(app_db, "Acme Corp", AFFECTED)
    at = incident_page("csm1", iid)  # the account's CSM
    assert not at.exception
    at.button(key=f"outage_attach_{iid}").click().run()
    assert not at.exception
    assert _outage_of(app_db, iid) == outage_id
    assert f"Part of platform outage #{outage_id}: Payments API down (1 account)" in texts(at)
    assert f"outage_attach_{iid}" not in {b.key for b in at.button}
    at.button(key=f"outage_unlink_{iid}").click().run()
    assert not at.exception
    assert _outage_of(app_db, iid) is None


def test_a_stale_page_does_not_attach(workspace, app_db):
    _outage(app_db)
    iid = open_test_incident(app_db, "Acme Corp", AFFECTED)
    at = incident_page("csm1", iid)
    with session_scope(app_db) as s:
        s.get(Incident, iid).summary = "A newer summary."
    at.button(key=f"outage_attach_{iid}").click().run()
    assert _outage_of(app_db, iid) is None
    assert "was changed by someone else while you were looking at it" in texts(at)


def test_a_reader_sees_the_outage_but_no_unlink_and_no_picker(workspace, app_db):
    outage_id = _outage(app_db)
    linked = open_test_incident(app_db, "Globex", AFFECTED, title="Globex checkout down")
    standalone = open_test_incident(app_db, "Globex", AFFECTED, title="Globex login down")
    with session_scope(app_db) as s:
        linking.attach(s, incident_id=linked, outage_id=outage_id, actor=SYSTEM, now=dt.datetime.now(dt.UTC))
    at = incident_page("csm1", linked)  # csm1 does not own Globex: a reader
    assert not at.exception
    assert f"Part of platform outage #{outage_id}: Payments API down (1 account)" in texts(at)
    assert f"outage_unlink_{linked}" not in {b.key for b in at.button}
    other = incident_page("csm1", standalone)
    assert f"outage_pick_{standalone}" not in {box.key for box in other.selectbox}
    assert "Part of platform outage" not in texts(other)


def test_nothing_about_outages_on_an_incident_whose_triage_did_not_say_yes(workspace, app_db):
    _outage(app_db)
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("lead1", iid)
    assert not at.exception
    assert f"outage_pick_{iid}" not in {box.key for box in at.selectbox}
    assert "outage" not in texts(at).lower().replace("outages", "")


def test_the_list_and_the_board_mark_an_incident_that_is_part_of_an_outage(workspace, app_db):
    outage_id = _outage(app_db)
    linked = open_test_incident(app_db, "Acme Corp", AFFECTED, title="Checkout down in the outage")
    alone = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"}, title="Reports late")
    with session_scope(app_db) as s:
        linking.attach(s, incident_id=linked, outage_id=outage_id, actor=SYSTEM, now=dt.datetime.now(dt.UTC))
    listed = page_as("pages/incidents.py", "lead1")
    assert not listed.exception
    table = listed.dataframe[0].value.set_index("ID")
    assert (table.loc[linked, "Outage"], table.loc[alone, "Outage"]) == (f"outage #{outage_id}", "")
    board = page_as("pages/board.py", "lead1")
    assert not board.exception
    assert [c.value for c in board.caption if c.value.startswith("outage #")] == [f"outage #{outage_id}"]
