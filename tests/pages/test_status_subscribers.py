"""The incident page's status page subscribers section, under AppTest.

The account's CSM invites a contact (a confirmation email is queued, nothing is active yet), adds a
webhook (its secret shown once) and a stakeholder; removing asks first. Another CSM, who may not
write to this client, sees the list with addresses masked and no form. Without a status page the
section says so.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.people.access import Role
from core.people.users import Actor
from core.statuspage import flows as page_flows
from core.statuspage import subscriptions as subs
from db.engine import session_scope
from db.models import Account, Contact, Notification, StatusSubscriber
from tests.conftest import make_user
from tests.pages.conftest import open_test_incident, texts
from tests.pages.test_incident_pages import incident_page


def _publish(app_db, incident_id: int, csm_id: int) -> None:
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == "Acme Corp"))
        s.add(Contact(account_id=account.id, name="Dana Client", role="CTO", email="dana@acme.example",
                      is_primary=True))
        page_flows.ensure_page(s, incident_id, actor=Actor(id=csm_id, name="Csm1", role=Role.CSM),
                               now=dt.datetime.now(dt.UTC), headline="Checkout is failing for some customers")


def _submit(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def _rows(app_db) -> list[tuple[str, str, str]]:
    with session_scope(app_db) as s:
        return [(r.kind, r.state, r.address) for r in s.scalars(select(StatusSubscriber).order_by(StatusSubscriber.id))]


def test_without_a_status_page_the_section_says_so(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    assert not at.exception
    assert "has no status page yet" in texts(at)
    assert not [b for b in at.button if b.label == "Send the confirmation email"]


def test_the_csm_adds_a_contact_a_webhook_and_a_stakeholder(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid, workspace["csm"])
    at = incident_page("csm1", iid)
    assert not at.exception and "**Email subscribers** (0)" in texts(at)

    at.selectbox(key="status_sub_contact").set_value("dana@acme.example")
    at = _submit(at, "Send the confirmation email")
    assert not at.exception
    assert _rows(app_db) == [("email", "pending", "dana@acme.example")]
    with session_scope(app_db) as s:
        (mail,) = s.scalars(select(Notification).where(Notification.rule == subs.CONFIRM_RULE)).all()
        assert mail.recipient == "dana@acme.example" and "/status/confirm/" in mail.body
    assert "dana@acme.example · waiting for confirmation" in texts(at)

    at.text_input(key="status_sub_url").set_value("https://hooks.acme.example/status")
    at = _submit(at, "Add the webhook")
    assert not at.exception
    with session_scope(app_db) as s:
        secret = s.scalars(select(StatusSubscriber.secret).where(StatusSubscriber.kind == "webhook")).one()
    assert f"shown only now: {secret}" in texts(at)
    at = at.run()
    assert secret not in texts(at), "the secret is shown once"

    at.selectbox(key="status_sub_user").set_value(workspace["lead"])
    at = _submit(at, "Add the stakeholder")
    assert not at.exception
    assert [k for k, _, _ in _rows(app_db)] == ["email", "webhook", "internal"]
    assert "**Internal stakeholders** (1)" in texts(at) and "Lead1 · active" in texts(at)

    # A bad address keeps what was typed and says what to fix.
    at.text_input(key="status_sub_address").set_value("dana at acme")
    at = _submit(at, "Send the confirmation email")
    assert "not a valid email address" in texts(at)
    assert at.text_input(key="status_sub_address").value == "dana at acme"

    # Removing asks first: the first click changes nothing.
    hook_id = next(r.id for r in _subscribers(app_db) if r.kind == "webhook")
    at.button(key=f"status_sub_remove_{hook_id}").click().run()
    assert "Stop sending status page updates to https://hooks.acme.example/status?" in texts(at)
    assert ("webhook", "active") in [(k, st) for k, st, _ in _rows(app_db)]


def _subscribers(app_db) -> list[StatusSubscriber]:
    with session_scope(app_db) as s:
        rows = list(s.scalars(select(StatusSubscriber)))
        s.expunge_all()
        return rows


def test_a_viewer_who_may_not_write_to_the_client_sees_a_masked_list(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    _publish(app_db, iid, workspace["csm"])
    csm = Actor(id=workspace["csm"], name="Csm1", role=Role.CSM)
    with session_scope(app_db) as s:
        page = page_flows.page_of(s, iid)
        assert page is not None
        now = dt.datetime.now(dt.UTC)
        subs.subscribe_email(s, page_id=page.id, address="dana@acme.example", added_by=csm, now=now,
                             base_url="https://desk.example")
        subs.add_webhook(s, incident_id=iid, url="https://hooks.acme.example/secret-path", actor=csm, now=now)
    make_user(app_db, "csm2", "csm")
    at = incident_page("csm2", iid)
    assert not at.exception
    shown = texts(at)
    assert "d…@acme.example" in shown and "https://hooks.acme.example/…" in shown
    assert "dana@acme.example" not in shown and "secret-path" not in shown
    assert not [b for b in at.button if b.label in ("Send the confirmation email", "Add the webhook", "Remove")]
