"""Make, renew, revoke and edit an incident's status page, and post updates to it.

A post is a client message: it goes through `core.communication.flows.record_communication` with
channel "status_page", so it is logged on the incident with its exact text, stamps "client notified"
when it is the first, and meets the next planned client update exactly like an email. Whoever may
write to the client about the incident (its account's CSM, its owner, leads, admins) may publish;
the same rule answers pages, the API and the CLI. Posting tells the internal stakeholder tier every
time and the public subscribers (email, webhooks) when the poster says so
(`core.statuspage.subscriptions.notify_update`, queued in the same transaction). Never reads the
clock; never shows an internal value (the headline and impact are the CSM's client words).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.alerts.links import KEY_ENV, KEY_SETTING, link_key
from core.communication.errors import CommunicationError, CommunicationForbidden
from core.communication.flows import may_write_to_client, record_communication
from core.incident.timeline import add_event
from core.people.users import Actor
from core.statuspage import links, subscriptions
from core.vocabulary import IncidentStatus
from db.models import Communication, Incident, Setting, StatusPage

HEADLINE_MAX = 200
IMPACT_MAX = 4000
UPDATE_TITLE_MAX = 200
UPDATE_BODY_MAX = 10_000
# The stages a client sees, in order (the words peers' status pages use).
STAGES: dict[str, str] = {"investigating": "Investigating", "identified": "Identified",
                          "monitoring": "Monitoring", "resolved": "Resolved"}
RECIPIENT = "Status page"


class StatusPageError(CommunicationError):
    """The request cannot be done; the message says what to fix."""


def suggest_stage(status: str) -> str:
    """The stage that usually matches the incident's status now (the poster may pick another)."""
    if status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        return "resolved"
    if status == IncidentStatus.MITIGATED:
        return "monitoring"
    if status == IncidentStatus.MOBILIZED:
        return "identified"
    return "investigating"


def check_may_publish(actor: Actor, incident: Incident) -> None:
    """CommunicationForbidden unless `actor` may write to the client about `incident`."""
    if not may_write_to_client(actor, incident):
        raise CommunicationForbidden(
            f"Only the account's CSM, the incident's owner, leads and admins may publish a status page for "
            f"incident #{incident.id}; {actor.name} is none of them.")


def _clean(text: str, what: str, limit: int, *, required: bool) -> str:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise StatusPageError(f"Write the {what}: the client reads it on the status page.")
    if len(cleaned) > limit:
        raise StatusPageError(f"The {what} is {len(cleaned):,} characters long; keep it under {limit:,}.")
    return cleaned


def page_of(session: Session, incident_id: int) -> StatusPage | None:
    """The incident's status page (revoked or not); None when none was made."""
    return session.scalar(select(StatusPage).where(StatusPage.incident_id == incident_id))


def existing_key(session: Session) -> bytes | None:
    """The link key when one exists (publishing makes it); None otherwise, for reading must not make one."""
    if not os.environ.get(KEY_ENV, "").strip() and not session.scalar(
            select(Setting.value).where(Setting.key == KEY_SETTING)):
        return None
    return link_key(session)


def live_page(session: Session, token: str) -> StatusPage | None:
    """The status page `token` is the current link of, when not revoked; None for any other token. Writes nothing."""
    key = existing_key(session)
    if key is None:  # no link was ever signed here: none can be genuine
        return None
    try:
        ident, nonce = links.verify(key, token)
    except links.StatusLinkError:
        return None
    page = session.get(StatusPage, ident)
    if page is None or page.revoked_at is not None or not hmac.compare_digest(page.nonce, nonce):
        return None
    return page


def token_of(session: Session, page: StatusPage) -> str:
    """The page's current link token (signed with this database's link key)."""
    return links.sign(link_key(session), page.id, page.nonce)


def _incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise StatusPageError(f"There is no incident #{incident_id}.")
    return incident


def _audit(session: Session, actor: Actor, page: StatusPage, action: str, now: dt.datetime,
           changes: dict[str, list[object]] | None = None) -> None:
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="status_page", entity_id=page.id,
                 action=action, changes=changes or {"incident_id": [None, page.incident_id]}, at=now)


def ensure_page(session: Session, incident_id: int, *, actor: Actor, now: dt.datetime, headline: str | None = None,
                client_impact: str = "") -> StatusPage:
    """The incident's status page, made now (headline: the incident's title unless given) when it has none."""
    incident = _incident(session, incident_id)
    check_may_publish(actor, incident)
    page = page_of(session, incident_id)
    if page is not None:
        return page
    page = StatusPage(incident_id=incident_id, nonce=links.new_nonce(),
                      headline=_clean(headline if headline is not None else incident.title, "headline",
                                      HEADLINE_MAX, required=True),
                      client_impact=_clean(client_impact, "impact", IMPACT_MAX, required=False),
                      created_at=now, created_by_id=actor.id, updated_at=now)
    session.add(page)
    session.flush()
    link_key(session)  # made now if this database has none, so that showing the link never has to write
    add_event(session, incident_id, kind="status_page", actor=actor, occurred_at=now, now=now,
              summary="Status page published", details={"status_page_id": page.id})
    _audit(session, actor, page, "status_page:create", now)
    return page


def edit_page(session: Session, *, incident_id: int, expected_version: int | None, headline: str, client_impact: str,
              actor: Actor, now: dt.datetime) -> StatusPage:
    """Change the headline and impact the page shows (client words); a stale edit is refused."""
    page = _existing(session, incident_id, expected_version, actor)
    before = (page.headline, page.client_impact)
    page.headline = _clean(headline, "headline", HEADLINE_MAX, required=True)
    page.client_impact = _clean(client_impact, "impact", IMPACT_MAX, required=False)
    page.updated_at = now
    session.flush()
    _audit(session, actor, page, "status_page:edit", now,
           {"headline": [before[0], page.headline], "client_impact": [before[1], page.client_impact]})
    return page


def _existing(session: Session, incident_id: int, expected_version: int | None, actor: Actor) -> StatusPage:
    incident = _incident(session, incident_id)
    check_may_publish(actor, incident)
    page = page_of(session, incident_id)
    if page is None:
        raise StatusPageError(f"Incident #{incident_id} has no status page yet: publish one first.")
    if expected_version is not None and page.version != expected_version:
        raise StatusPageError("Someone changed this status page meanwhile: reload the page and try again.")
    return page


def revoke(session: Session, *, incident_id: int, expected_version: int | None, actor: Actor,
           now: dt.datetime) -> StatusPage:
    """Every link to the page stops working (404) until a new link is made; subscribers are kept."""
    page = _existing(session, incident_id, expected_version, actor)
    if page.revoked_at is not None:
        raise StatusPageError("The status page is already revoked.")
    page.revoked_at, page.revoked_by_id, page.updated_at = now, actor.id, now
    session.flush()
    add_event(session, incident_id, kind="status_page", actor=actor, occurred_at=now, now=now,
              summary="Status page link revoked", details={"status_page_id": page.id})
    _audit(session, actor, page, "status_page:revoke", now)
    return page


def renew_link(session: Session, *, incident_id: int, expected_version: int | None, actor: Actor,
               now: dt.datetime) -> StatusPage:
    """A new link replaces the old one (which then answers 404); a revoked page is published again."""
    page = _existing(session, incident_id, expected_version, actor)
    page.nonce, page.revoked_at, page.revoked_by_id, page.updated_at = links.new_nonce(), None, None, now
    session.flush()
    add_event(session, incident_id, kind="status_page", actor=actor, occurred_at=now, now=now,
              summary="Status page link replaced: the previous link no longer works",
              details={"status_page_id": page.id})
    _audit(session, actor, page, "status_page:new_link", now)
    return page


@dataclass(frozen=True)
class PostedUpdate:
    """A status page post: its log entry, the incident's new version, how many subscribers were queued."""

    communication_id: int
    incident_version: int
    queued: int


def post_update(session: Session, *, incident_id: int, expected_version: int | None, stage: str, title: str,
                body: str, notify_subscribers: bool, actor: Actor, now: dt.datetime, base_url: str,
                template_key: str = "status_page", template_version: int | None = None) -> PostedUpdate:
    """Post one update to the incident's status page (made if missing): a logged client message that meets the plan.

    `expected_version` is the incident's: a stale screen (or a second click) is refused, not posted twice.
    """
    if stage not in STAGES:
        raise StatusPageError(f"Pick a stage the client understands: {', '.join(STAGES.values())}.")
    title = _clean(title, "update's title", UPDATE_TITLE_MAX, required=True)
    body = _clean(body, "update", UPDATE_BODY_MAX, required=True)
    page = ensure_page(session, incident_id, actor=actor, now=now)
    if page.revoked_at is not None:
        raise StatusPageError("This status page is revoked, so the client cannot read a post: make a new link "
                              "first, or write by email.")
    row: Communication = record_communication(
        session, incident_id=incident_id, expected_version=expected_version, template_key=template_key,
        template_version=template_version, channel="status_page", recipients=[RECIPIENT], subject=title,
        body_text=body, delivery="sent", actor=actor, now=now, public_status=stage)
    queued = subscriptions.notify_update(session, page=page, communication=row, notify_public=notify_subscribers,
                                         base_url=base_url, now=now)
    incident = session.get_one(Incident, incident_id)
    return PostedUpdate(row.id, incident.version, queued)
