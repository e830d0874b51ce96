"""The incident's Status page tab under AppTest: the CSM publishes, posts, makes a new link and is asked before
revoking; a stale screen posts nothing; a read-only viewer sees the page's state and posts but no form."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.people.users import SYSTEM
from core.statuspage import flows
from db.engine import session_scope
from db.models import Communication, StatusPage
from tests.pages.conftest import app_test, open_test_incident, texts


def _tab(username: str, incident_id: int):
    return app_test("pages/incident.py", username, query={"id": str(incident_id)}).run()


def _button(at, label: str):
    return at.button[[b.label for b in at.button].index(label)]


def _page(app_db, incident_id: int) -> StatusPage | None:
    with session_scope(app_db) as s:
        page = flows.page_of(s, incident_id)
        if page is not None:
            s.expunge(page)
        return page


def _posts(app_db, incident_id: int) -> int:
    with session_scope(app_db) as s:
        return s.scalar(select(func.count()).select_from(Communication).where(
            Communication.incident_id == incident_id, Communication.channel == "status_page")) or 0


def _publish(app_db, incident_id: int) -> None:
    with session_scope(app_db) as s:
        flows.ensure_page(s, incident_id, actor=SYSTEM, now=dt.datetime.now(dt.UTC), headline="Checkout trouble",
                          client_impact="Card payments fail at checkout.")


def test_csm_publishes_with_the_title_prefilled_and_gets_the_link(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = _tab("csm1", iid)
    assert not at.exception and "No status page yet" in texts(at)
    assert at.text_input(key=f"status_publish_headline_{iid}").value == "Checkout down"
    at.text_area(key=f"status_publish_impact_{iid}").input("Card payments fail at checkout.")
    _button(at, "Publish the status page").click().run()
    assert not at.exception
    page = _page(app_db, iid)
    assert page is not None and (page.headline, page.client_impact) == ("Checkout down",
                                                                        "Card payments fail at checkout.")
    links = [c.value for c in at.code if "/status/" in c.value]
    assert len(links) == 1 and links[0].split("/status/")[1].startswith(f"{page.id}.")
    assert "Anyone with this link can read the page" in texts(at)


def test_csm_posts_an_update_that_is_logged_and_a_stale_screen_posts_nothing(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid)
    at = _tab("csm1", iid)
    assert at.text_area(key=f"status_post_{iid}_body").value == "Card payments fail at checkout."
    assert at.checkbox(key=f"status_post_{iid}_notify").value is True
    assert "internal stakeholder tier always hears" in texts(at)
    at.text_input(key=f"status_post_{iid}_title").input("We found the cause")
    at.text_area(key=f"status_post_{iid}_body").input("An expired certificate; the fix is rolling out.")
    at.selectbox(key=f"status_post_{iid}_stage").select("identified")
    _button(at, "Post the update").click().run()
    assert not at.exception and _posts(app_db, iid) == 1
    assert "We found the cause" in texts(at) and "Identified" in texts(at)
    # Someone else posts meanwhile: this screen's version is stale, so its click is refused.
    with session_scope(app_db) as s:
        flows.post_update(s, incident_id=iid, expected_version=None, stage="monitoring", title="Fix deployed",
                          body="Watching.", notify_subscribers=False, actor=SYSTEM, now=dt.datetime.now(dt.UTC),
                          base_url="")
    _button(at, "Post the update").click().run()
    assert not at.exception and _posts(app_db, iid) == 2
    assert "was changed by someone else" in texts(at)


def test_csm_is_asked_before_revoking_and_a_new_link_replaces_the_old(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid)
    at = _tab("csm1", iid)
    before = _page(app_db, iid)
    at.button(key=f"status_page_{iid}_revoke").click().run()
    assert "Revoke the status page link?" in texts(at)
    assert _page(app_db, iid).revoked_at is None  # the first click only asks (the dialog answers in a browser)
    old = next(c.value for c in at.code if "/status/" in c.value)
    at.button(key=f"status_page_{iid}_renew").click().run()
    assert not at.exception
    after = _page(app_db, iid)
    assert before is not None and after is not None and after.nonce != before.nonce
    new = next(c.value for c in at.code if "/status/" in c.value)
    assert new != old


def test_a_revoked_page_says_so_and_offers_only_a_new_link(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid)
    with session_scope(app_db) as s:
        flows.revoke(s, incident_id=iid, expected_version=None, actor=SYSTEM, now=dt.datetime.now(dt.UTC))
    at = _tab("csm1", iid)
    assert "The link is revoked" in texts(at) and not [c for c in at.code if "/status/" in c.value]
    labels = [b.label for b in at.button]
    assert "Make a new link" in labels and "Post the update" not in labels and "Revoke the link" not in labels


def test_a_read_only_viewer_sees_the_state_and_posts_but_no_form(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", {"business_impact": "minor"})
    _publish(app_db, iid)
    with session_scope(app_db) as s:
        flows.post_update(s, incident_id=iid, expected_version=None, stage="investigating", title="Looking into it",
                          body="We are on it.", notify_subscribers=False, actor=SYSTEM,
                          now=dt.datetime.now(dt.UTC), base_url="")
    at = _tab("csm1", iid)
    assert not at.exception
    assert "Looking into it" in texts(at) and [c for c in at.code if "/status/" in c.value]
    labels = [b.label for b in at.button]
    assert not {"Post the update", "Make a new link", "Revoke the link", "Save the page"} & set(labels)


def test_nobody_publishes_for_a_read_only_viewer(workspace, app_db):
    iid = open_test_incident(app_db, "Globex", {"business_impact": "minor"})
    at = _tab("csm1", iid)
    assert "No status page has been published" in texts(at)
    assert "Publish the status page" not in [b.label for b in at.button]


def test_the_composer_prefills_the_working_link_into_a_status_update(workspace, app_db):
    from ui.compose_view import draft_key

    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid)
    with session_scope(app_db) as s:  # a first post: the composer now suggests the status update
        flows.post_update(s, incident_id=iid, expected_version=None, stage="investigating", title="Looking",
                          body="We are on it.", notify_subscribers=False, actor=SYSTEM, now=dt.datetime.now(dt.UTC),
                          base_url="")
    page = _page(app_db, iid)
    at = app_test("pages/compose.py", "csm1", query={"id": str(iid)}).run()
    assert not at.exception
    link = at.text_input(key=draft_key(iid, "status_page_url")).value
    assert page is not None and f"/status/{page.id}.{page.nonce}." in link
    assert any(f"on the status page: {link}" in c.value for c in at.code)
