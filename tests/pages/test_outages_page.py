"""Platform outages page (AppTest): a lead opens one, posts one update to every client and resolves it with
its incidents; a CSM sees it and reaches only their own clients."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Communication, Incident, Outage
from tests.pages.conftest import app_test, open_test_incident, page_as, texts

PAGE = "pages/outages.py"
OUTAGE = {"business_impact": "stopped", "complete_outage": True, "outage_minutes": 90}


@pytest.fixture
def linked(workspace, app_db):
    """An incident on Acme (csm1's) and one on Globex (nobody's), both still outside any outage."""
    return [open_test_incident(app_db, "Acme Corp", OUTAGE, title="Acme payments failing", policy="red-status"),
            open_test_incident(app_db, "Globex", OUTAGE, title="Globex payments failing", policy="red-status")]


def _scalar(app_db, stmt):
    with session_scope(app_db) as s:
        return s.scalar(stmt)


def _open_outage(linked) -> None:
    at = page_as(PAGE, "lead1")
    at.text_input(key="outage_title").input("Payments API returning errors")
    at.text_area(key="outage_impact").input("Card payments may fail.")
    at.multiselect(key="outage_link").set_value(linked)
    at.button[[b.label for b in at.button].index("Open the outage")].click().run()
    assert not at.exception, at.exception
    # Opening lands on the new outage, its linked incidents listed.
    assert "#1 · Payments API returning errors" in texts(at)
    assert [f.value["Account"].tolist() for f in at.dataframe if f.key.startswith("outage_linked_")] == [
        ["Acme Corp", "Globex"]]


def test_a_lead_opens_updates_every_client_and_resolves_with_the_incidents(linked, app_db):
    _open_outage(linked)
    outage_id = _scalar(app_db, select(Outage.id))
    assert _scalar(app_db, select(func.count()).select_from(Incident).where(Incident.outage_id == outage_id)) == 2

    at = app_test(PAGE, "lead1", timeout=60, query={"id": str(outage_id)}).run()
    assert not at.exception, at.exception
    assert "Payments API returning errors" in texts(at)
    at.text_area(key=f"outage_{outage_id}_current_status").input("We rolled back the change.").run()
    shown = texts(at)
    assert "Acme Corp" in shown and "Globex" in shown, "the preview shows the first two clients' messages"
    post = next(b for b in at.button if b.key == f"outage_{outage_id}_post")
    assert post.label == "Post to 2 clients"
    post.click().run()
    assert not at.exception, at.exception
    assert _scalar(app_db, select(func.count()).select_from(Communication)
                   .where(Communication.channel == "status_page")) == 2
    assert "Posted to 2 clients." in texts(at)

    at.button[[b.label for b in at.button].index("Resolve the outage")].click().run()
    assert not at.exception, at.exception
    assert _scalar(app_db, select(Outage.status)) == "resolved"
    assert _scalar(app_db, select(func.count()).select_from(Incident).where(Incident.status == "resolved")) == 2


def test_a_csm_sees_the_outage_and_reaches_only_their_own_clients(linked, app_db):
    _open_outage(linked)
    outage_id = _scalar(app_db, select(Outage.id))
    at = app_test(PAGE, "csm1", timeout=60, query={"id": str(outage_id)}).run()
    assert not at.exception, at.exception
    assert "You may write to 1 of the 2 open clients" in texts(at)
    assert "Leads, admins and the outage's owner resolve it." in texts(at)
    post = next(b for b in at.button if b.key == f"outage_{outage_id}_post")
    assert post.label == "Post to 1 client"
    post.click().run()
    assert not at.exception, at.exception
    posted = _scalar(app_db, select(func.count()).select_from(Communication)
                     .where(Communication.channel == "status_page", Communication.incident_id == linked[0]))
    assert posted == 1
    assert _scalar(app_db, select(func.count()).select_from(Communication)) == 1
