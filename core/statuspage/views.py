"""What a status page shows: the one client-safe shape the public page and its Atom feed are drawn from.

`public_status` checks a link (signature, the page's current nonce, not revoked) and returns a
`PublicStatus` of plain, already formatted values: the CSM's headline and impact, the incident's
reference, severity and status in client words, the current stage, every post newest first, when
the next update is due, and times in the account's zone with the zone named. Values of the incident
and its account are read through `core.incident.audience.client_values` only; the one internal value
read (the plan's next update time) is turned into a promise by `core.communication.promise`, the way a
message promises it, never copied. `current_url` gives the link client messages may quote. Nothing
here writes (publishing makes the signing key; without one no link can be genuine), imports streamlit or
reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.communication.context import CLIENT_SEVERITY, CLIENT_STATUS, CLIENT_STATUS_TEXT, format_time
from core.communication.flows import may_write_to_client
from core.communication.promise import promise_next_update
from core.incident.audience import client_values
from core.people.users import Actor
from core.statuspage import links
from core.statuspage.flows import STAGES, existing_key, live_page, page_of, suggest_stage
from core.zones import UTC_NAME, zone_or_none
from db.models import Communication, Incident, StatusPage


@dataclass(frozen=True)
class PublicPost:
    """One update as the client reads it: its stage, title and text, and when it was posted."""

    communication_id: int
    stage: str
    stage_label: str
    title: str
    body: str
    posted_at: str
    posted_at_utc: dt.datetime


@dataclass(frozen=True)
class PublicStatus:
    """Everything the public status page and its feed show, client-safe and formatted; nothing else."""

    page_id: int
    headline: str
    client_impact: str
    incident_ref: str
    severity: str
    status: str
    status_text: str
    stage: str
    stage_label: str
    account_name: str
    time_zone: str
    started_at: str
    resolved_at: str
    next_update_at: str
    posts: tuple[PublicPost, ...]
    updated_at_utc: dt.datetime
    """The latest change the client can see (a post, a resolution, the page's own edit): the feed's `updated`."""


def _url(session: Session, page: StatusPage | None, base_url: str) -> str:
    key = existing_key(session) if page is not None and page.revoked_at is None else None
    return links.status_url(base_url, links.sign(key, page.id, page.nonce)) if key and page else ""


def _posts(session: Session, incident_id: int, zone: ZoneInfo) -> tuple[PublicPost, ...]:
    rows = session.scalars(select(Communication).where(
        Communication.incident_id == incident_id, Communication.channel == "status_page",
        Communication.delivery != "failed").order_by(Communication.sent_at.desc(), Communication.id.desc()))
    return tuple(PublicPost(row.id, row.public_status or "", STAGES.get(row.public_status or "", ""), row.subject,
                            row.body_text, format_time(row.sent_at, zone), row.sent_at) for row in rows)


def public_status(session: Session, token: str, *, now: dt.datetime) -> PublicStatus | None:
    """The page `token` opens at `now`; None for a malformed, altered, unknown, revoked or replaced link."""
    page = live_page(session, token)
    if page is None:
        return None
    incident = session.get_one(Incident, page.incident_id)
    shown = client_values(incident, incident.account)
    values, account = shown.incident, shown.account
    zone = zone_or_none(account.get("time_zone")) or ZoneInfo(UTC_NAME)
    posts = _posts(session, incident.id, zone)
    status = str(values["status"] or "new")
    stage = posts[0].stage if posts and posts[0].stage in STAGES else suggest_stage(status)
    resolved = values["resolved_at"]
    # The plan's due time is read only to work out the promise a message would make now (never shown as stored).
    promise = promise_next_update(None if resolved is not None else incident.next_client_update_due_at, now)
    seen = [page.updated_at, *(p.posted_at_utc for p in posts[:1]), *([resolved] if resolved else [])]
    return PublicStatus(
        page_id=page.id, headline=page.headline, client_impact=page.client_impact,
        incident_ref=f"INC-{values['id']}",
        severity=CLIENT_SEVERITY.get(values["severity"], str(values["severity"])),
        status=CLIENT_STATUS.get(status, status.capitalize()), status_text=CLIENT_STATUS_TEXT.get(status, ""),
        stage=stage, stage_label=STAGES[stage], time_zone=zone.key,
        # Shown only while `COLUMNS` calls the account's name client-safe (client_values leaves it out otherwise).
        account_name=str(account.get("name") or ""),
        started_at=format_time(values["detected_at"], zone), resolved_at=format_time(resolved, zone),
        next_update_at=format_time(promise.at, zone), posts=posts, updated_at_utc=max(seen))


def current_url(session: Session, incident_id: int, base_url: str) -> str:
    """The incident's status page address that works now; '' when it has none or it is revoked."""
    return _url(session, page_of(session, incident_id), base_url)


@dataclass(frozen=True)
class TabPost:
    """One post as the team sees it in the incident's Status page tab."""

    communication_id: int
    stage_label: str
    title: str
    body: str
    sent_at: dt.datetime


@dataclass(frozen=True)
class StatusPageTab:
    """The incident's Status page tab: the page's state and link, what may be done, the posts (newest first)."""

    incident_id: int
    incident_version: int
    incident_title: str
    suggested_stage: str
    may_publish: bool
    exists: bool
    revoked: bool
    page_version: int | None
    headline: str
    client_impact: str
    url: str
    posts: tuple[TabPost, ...]


def status_page_tab(session: Session, incident_id: int, *, actor: Actor, base_url: str) -> StatusPageTab | None:
    """The tab's read model for `actor` (whether they may publish, from the client-message rule); None when there
    is no such incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    page = page_of(session, incident_id)
    allowed = may_write_to_client(actor, incident)
    rows = session.scalars(select(Communication).where(
        Communication.incident_id == incident_id, Communication.channel == "status_page",
    ).order_by(Communication.sent_at.desc(), Communication.id.desc()))
    posts = tuple(TabPost(r.id, STAGES.get(r.public_status or "", ""), r.subject, r.body_text, r.sent_at)
                  for r in rows)
    return StatusPageTab(
        incident_id=incident_id, incident_version=incident.version, incident_title=incident.title,
        suggested_stage=suggest_stage(incident.status), may_publish=allowed, exists=page is not None,
        revoked=page is not None and page.revoked_at is not None, page_version=page.version if page else None,
        headline=page.headline if page else "", client_impact=page.client_impact if page else "",
        url=_url(session, page, base_url),
        posts=posts)
