"""Demo data for platform outages: one open outage hitting six accounts, each with its own incident and status page.

Called by `core.demo.dataset.load` once the other incidents and messages exist. The incidents are
opened through the incident flows (each account keeps its own owner, policy clocks and zone), the
outage through `core.outage.flows.open_outage`, the first post on each status page by the account's
CSM through `core.statuspage.flows.post_update`, and a later one by the lead through the outage's
bulk update. Subscribers are not notified (the demo has none). Deterministic for a given `now`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.outage import flows as outages
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.statuspage.flows import post_update
from core.triage.rules import Answers
from db.models import Account, User

TITLE = "Payments API returning errors"
ACCOUNTS = 6
# How long ago the outage started, and when the CSMs and then the lead wrote to the clients.
STARTED_AGO = dt.timedelta(minutes=55)
FIRST_POST_AFTER = dt.timedelta(minutes=12)
BULK_AGO = dt.timedelta(minutes=15)
ANSWERS = {"business_impact": "major", "payment_failure": True, "system_affected": "core", "workaround": "painful"}
BASE_URL = "http://localhost:8501"
SHARED = {
    "summary": "Our payments service is rejecting part of the card payments sent to it, for several customers.",
    "current_status": "We found the faulty release and are rolling it back; error rates should fall within the "
                      "hour.",
    "workaround": "A payment that fails usually goes through when retried a minute later.",
}


def _accounts(session: Session) -> list[Account]:
    """The first accounts, one per time zone, that have a CSM: the outage hits clients around the world."""
    chosen: dict[str, Account] = {}
    for account in session.scalars(select(Account).where(Account.owner_id.is_not(None)).order_by(Account.id)):
        chosen.setdefault(account.time_zone, account)
        if len(chosen) == ACCOUNTS:
            break
    return list(chosen.values())


def _actor(session: Session, user_id: int | None) -> Actor:
    user = session.get(User, user_id) if user_id else None
    return SYSTEM if user is None else Actor(user.id, user.display_name, Role(user.role))


def load(session: Session, *, lead_id: int, now: dt.datetime) -> int:
    """Open the outage and its linked incidents with their status pages; returns how many incidents it opened."""
    started = now - STARTED_AGO
    ids = []
    for account in _accounts(session):
        answers = Answers.model_validate(dict(ANSWERS, customer=account.name, customer_tier=account.tier,
                                              annual_contract_value=float(account.annual_contract_value)))
        opened = incidents.open_incident(
            session, account_id=account.id, title=f"{TITLE} for {account.name}",
            summary="Card payments fail since the payments release this morning (demo data).", answers=answers,
            policy_name="red-status", actor=SYSTEM, now=started, detected_at=started)
        ids.append(opened.id)
    lead = _actor(session, lead_id)
    outage = outages.open_outage(
        session, title=TITLE, client_impact="Some card payments fail with an error; retrying usually works.",
        summary="Release 42 of the payments service broke card validation (demo data).", severity="P1",
        started_at=started, actor=lead, now=started + dt.timedelta(minutes=5), incident_ids=ids,
        idempotency_key="demo-outage-payments")
    first = started + FIRST_POST_AFTER
    for incident_id in ids:
        incident = incidents.lock(session, incident_id, None)
        csm = _actor(session, incident.account.owner_id)
        incidents.record_milestone(session, incident_id=incident_id, milestone=Milestone.ACKNOWLEDGED, actor=csm,
                                   now=first)
        post_update(session, incident_id=incident_id, expected_version=None, stage="investigating",
                    title="We are looking into failing payments",
                    body="Some of your card payments are failing. Our engineers are investigating and we will "
                         "post here again shortly.", notify_subscribers=False, actor=csm, now=first,
                    base_url=BASE_URL)
    # The cause is found and engineers are on it: each incident is mobilised before the lead's update, so the
    # status the message states (Fix in progress) and the stage the page shows (Identified) agree.
    for incident_id in ids:
        incidents.record_milestone(session, incident_id=incident_id, milestone=Milestone.MOBILIZED, actor=lead,
                                   now=now - BULK_AGO - dt.timedelta(minutes=2))
    outages.bulk_update(session, outage_id=outage.id, expected_version=None, template_key=outages.BULK_TEMPLATE,
                        edits=SHARED, stage="identified", notify_subscribers=False, actor=lead, now=now - BULK_AGO,
                        base_url=BASE_URL)
    return len(ids)
