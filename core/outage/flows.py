"""Open, edit and resolve a platform outage, and write one client update to every account it hits.

The outage is the parent; each linked incident keeps its own account, clocks, owner and messages.
A bulk update therefore renders the template once per incident, from that incident's own record
(its account's zone, contacts, next planned update) plus the shared words the lead typed, and posts
it on that incident's status page through `core.statuspage.flows.post_update`, so each post is a
logged client message that meets that incident's own plan. Each incident runs in its own savepoint:
one refusal is reported, never fatal to the others. Every change bumps the outage's version, so a
second click of the same form is refused instead of posting twice. Permissions are decided here
(pages, CLI and API get the same answer). Never imports streamlit; never reads the clock; never puts
an internal value (the outage's summary, triage notes, levels) into a client message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from core import audit
from core.account.access import works_on_all_accounts
from core.communication.catalog import template_spec
from core.communication.flows import apply_edits, compose_source, may_write_to_client, prepare_message
from core.incident.flows import check_idempotency_key, move_status
from core.limits import FREE_TEXT, TITLE, check_text
from core.outage import linking
from core.outage.linking import OPEN, RESOLVED, OutageError
from core.people.users import Actor
from core.statuspage.flows import STAGES, post_update
from core.vocabulary import OPEN_STATUSES, SEVERITIES, IncidentStatus
from db.models import Incident, Outage
from db.rows import current_for_update

# The shipped client template a bulk update starts from (templates/catalog.yaml).
BULK_TEMPLATE = "platform_outage_update"
# The words a lead types once for every client (client fields of core.communication.fields.MessageContext).
SHARED_FIELDS: dict[str, str] = {
    "summary": "What happened",
    "current_status": "What we are doing",
    "impact": "Client impact",
    "workaround": "Workaround",
    "estimated_resolution": "Expected fix",
}
_OPEN = tuple(s.value for s in OPEN_STATUSES)


class OutageForbidden(OutageError, PermissionError):
    """This person may not make this change to the outage; the message says who may."""


@dataclass(frozen=True)
class OpenedOutage:
    """The outage's id and whether this call opened it (False: a repeat of a request that already did)."""

    id: int
    created: bool = True


@dataclass(frozen=True)
class IncidentOutcome:
    """What a bulk action did to one linked incident: done, or why not."""

    incident_id: int
    account_name: str
    done: bool
    reason: str = ""
    communication_id: int | None = None


@dataclass(frozen=True)
class BulkResult:
    """A bulk update: the outage's new version and one outcome per open linked incident."""

    outage_id: int
    outage_version: int
    outcomes: tuple[IncidentOutcome, ...]

    @property
    def posted(self) -> tuple[IncidentOutcome, ...]:
        """The incidents whose client got the update."""
        return tuple(o for o in self.outcomes if o.done)

    @property
    def not_posted(self) -> tuple[IncidentOutcome, ...]:
        """The incidents left out (not the actor's to write to) or refused, each with its reason."""
        return tuple(o for o in self.outcomes if not o.done)


@dataclass(frozen=True)
class ResolveResult:
    """A resolved outage: its new version and what happened to each incident chosen for resolving too."""

    outage_id: int
    outage_version: int
    outcomes: tuple[IncidentOutcome, ...]


# --------------------------------------------------------------------------
# Who may do what.


def may_open(actor: Actor) -> bool:
    """True when `actor` may open an outage: whoever may triage, i.e. every team role."""
    return actor.role is not None


def may_run(actor: Actor, outage: Outage) -> bool:
    """True when `actor` may edit or resolve `outage`: leads, admins and its owner."""
    return works_on_all_accounts(actor.role) or (actor.id is not None and actor.id == outage.owner_id)


def _check_may_run(actor: Actor, outage: Outage, what: str) -> None:
    if not may_run(actor, outage):
        raise OutageForbidden(f"Only leads, admins and the outage's owner may {what} outage #{outage.id}; "
                              f"{actor.name} is none of them.")


# --------------------------------------------------------------------------
# Opening and editing.


def _fields(title: str, client_impact: str, summary: str, severity: str) -> tuple[str, str, str, str]:
    title = check_text(title, TITLE, "The title", OutageError).strip()
    if not title:
        raise OutageError("Give the outage a short title, e.g. 'Payments API returning errors'.")
    client_impact = check_text(client_impact, FREE_TEXT, "The client impact", OutageError).strip()
    summary = check_text(summary, FREE_TEXT, "The internal summary", OutageError).strip()
    if severity not in SEVERITIES:
        raise OutageError(f"Pick a severity: {', '.join(SEVERITIES)}.")
    return title, client_impact, summary, severity


def _by_key(session: Session, key: str) -> OpenedOutage | None:
    found = session.scalar(select(Outage.id).where(Outage.idempotency_key == key))
    return None if found is None else OpenedOutage(found, created=False)


def open_outage(session: Session, *, title: str, client_impact: str, summary: str, severity: str,
                started_at: dt.datetime, actor: Actor, now: dt.datetime, idempotency_key: str | None = None,
                incident_ids: Sequence[int] = ()) -> OpenedOutage:
    """Open a platform outage owned by `actor`, linking `incident_ids`; a repeat of the same key returns the first."""
    if not may_open(actor):
        raise OutageForbidden(f"{actor.name} has no team role, so may not open a platform outage.")
    key = check_idempotency_key(idempotency_key)
    if key is not None and (repeat := _by_key(session, key)) is not None:
        return repeat
    title, client_impact, summary, severity = _fields(title, client_impact, summary, severity)
    if started_at > now:
        raise OutageError("The start time is in the future: enter when clients first saw the problem.")
    outage = Outage(title=title, client_impact=client_impact, summary=summary, severity=severity, status=OPEN,
                    started_at=started_at, owner_id=actor.id, created_by_id=actor.id, idempotency_key=key,
                    created_at=now, updated_at=now)
    try:
        # A savepoint: when a twin request inserted the same key first, only this insert is undone.
        with session.begin_nested():
            session.add(outage)
            session.flush()
    except IntegrityError:
        repeat = _by_key(session, key) if key is not None else None
        if repeat is None:
            raise
        return repeat
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="outage", entity_id=outage.id,
                 action="outage:open", changes={"status": [None, OPEN], "severity": [None, severity]}, at=now)
    for incident_id in dict.fromkeys(incident_ids):
        linking.attach(session, incident_id=incident_id, outage_id=outage.id, actor=actor, now=now)
    return OpenedOutage(outage.id)


def _lock(session: Session, outage_id: int, expected_version: int | None) -> Outage:
    return current_for_update(
        session, Outage, outage_id, expected_version,
        missing=lambda: OutageError(f"There is no platform outage #{outage_id}."),
        stale=lambda _: OutageError(
            f"Outage #{outage_id} changed since you loaded it (an update was posted or it was edited): "
            "nothing was done. Reload the page, check what changed, then try again."))


def _bump(outage: Outage, now: dt.datetime) -> None:
    # Even when nothing else changed, the row is written so its version moves and a resent form is stale.
    outage.updated_at = now
    flag_modified(outage, "updated_at")


def edit_outage(session: Session, *, outage_id: int, expected_version: int | None, title: str, client_impact: str,
                summary: str, severity: str, actor: Actor, now: dt.datetime) -> Outage:
    """Change what the outage says (title, client impact, internal summary, severity); a stale edit is refused."""
    outage = _lock(session, outage_id, expected_version)
    _check_may_run(actor, outage, "edit")
    title, client_impact, summary, severity = _fields(title, client_impact, summary, severity)
    before = {"title": outage.title, "client_impact": outage.client_impact, "summary": outage.summary,
              "severity": outage.severity}
    after = {"title": title, "client_impact": client_impact, "summary": summary, "severity": severity}
    changes: dict[str, list[object]] = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changes:
        raise OutageError("Nothing changed: edit a field first.")
    outage.title, outage.client_impact, outage.summary, outage.severity = title, client_impact, summary, severity
    _bump(outage, now)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="outage", entity_id=outage.id,
                 action="outage:edit", changes=changes, at=now)
    return outage


# --------------------------------------------------------------------------
# One update to every client.


def open_linked(session: Session, outage_id: int) -> list[Incident]:
    """The outage's linked incidents that are still open, oldest first."""
    return list(session.scalars(select(Incident).where(Incident.outage_id == outage_id, Incident.status.in_(_OPEN))
                                .order_by(Incident.id)))


def check_shared_edits(edits: Mapping[str, Any]) -> dict[str, str]:
    """The lead's shared words, trimmed; OutageError for a field a bulk update does not take."""
    unknown = sorted(set(edits) - set(SHARED_FIELDS))
    if unknown:
        raise OutageError(f"A bulk update takes only {', '.join(SHARED_FIELDS.values())}; "
                          f"not {', '.join(unknown)}.")
    return {name: check_text(str(value or ""), FREE_TEXT, SHARED_FIELDS[name], OutageError).strip()
            for name, value in edits.items()}


@dataclass(frozen=True)
class RenderedUpdate:
    """One incident's update as it would be posted: the title and text its client reads."""

    incident_id: int
    account_name: str
    title: str
    text: str
    template_version: int | None


def render_for(session: Session, *, incident_id: int, outage: Outage, template_key: str, edits: Mapping[str, str],
               actor: Actor, now: dt.datetime) -> RenderedUpdate:
    """The template rendered for one linked incident: its own record and zone, plus the shared words."""
    spec = template_spec(template_key)
    if spec.audience != "client":
        raise OutageError(f"'{spec.title}' is an internal message: pick a client template.")
    source = compose_source(session, incident_id, signer_id=actor.id, now=now)
    if source is None:
        raise OutageError(f"There is no incident #{incident_id}.")
    # The client words of the outage stand in for what the lead left empty (never its internal summary).
    shared = {"impact": outage.client_impact, **{k: v for k, v in edits.items() if v}}
    prepared = prepare_message(session, key=template_key, context=apply_edits(source.context, shared))
    if prepared.missing:
        # The same rule as the composer: a message that lacks what its template needs does not go out.
        raise OutageError(f"'{spec.title}' needs {', '.join(prepared.missing)} for {source.account_name}'s "
                          "incident: fill it in (or pick another template).")
    return RenderedUpdate(incident_id, source.account_name, prepared.subject, prepared.text, prepared.template_version)


def preview(session: Session, *, outage_id: int, template_key: str, edits: Mapping[str, Any], actor: Actor,
            now: dt.datetime, limit: int = 2) -> list[RenderedUpdate]:
    """The first `limit` updates a bulk update would post for `actor` (reads only, writes nothing)."""
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise OutageError(f"There is no platform outage #{outage_id}.")
    shared = check_shared_edits(edits)
    mine = [i for i in open_linked(session, outage_id) if may_write_to_client(actor, i)]
    return [render_for(session, incident_id=i.id, outage=outage, template_key=template_key, edits=shared,
                       actor=actor, now=now) for i in mine[:limit]]


def bulk_update(session: Session, *, outage_id: int, expected_version: int | None, template_key: str,
                edits: Mapping[str, Any], stage: str, notify_subscribers: bool, actor: Actor, now: dt.datetime,
                base_url: str) -> BulkResult:
    """Post one update, rendered per incident, on the status page of every open linked incident `actor` may write to.

    Leads and admins reach every linked incident; anyone else only the incidents they may write to (the
    rest are reported as left out). A refusal on one incident is reported and the others still post.
    """
    if stage not in STAGES:
        raise OutageError(f"Pick a stage the client understands: {', '.join(STAGES.values())}.")
    shared = check_shared_edits(edits)
    template_spec(template_key)
    outage = _lock(session, outage_id, expected_version)
    if outage.status != OPEN:
        raise OutageError(f"Outage #{outage_id} is resolved: write to a client from its own incident instead.")
    outcomes: list[IncidentOutcome] = []
    for incident in open_linked(session, outage_id):
        name = incident.account.name
        if not may_write_to_client(actor, incident):
            outcomes.append(IncidentOutcome(incident.id, name, False, f"not yours to write to: {actor.name} is not "
                                            "the account's CSM or the incident's owner"))
            continue
        try:
            with session.begin_nested():
                update = render_for(session, incident_id=incident.id, outage=outage, template_key=template_key,
                                    edits=shared, actor=actor, now=now)
                posted = post_update(session, incident_id=incident.id, expected_version=None, stage=stage,
                                     title=update.title, body=update.text, notify_subscribers=notify_subscribers,
                                     actor=actor, now=now, base_url=base_url, template_key=template_key,
                                     template_version=update.template_version)
        except (ValueError, PermissionError) as exc:
            outcomes.append(IncidentOutcome(incident.id, name, False, str(exc)))
            continue
        outcomes.append(IncidentOutcome(incident.id, name, True, communication_id=posted.communication_id))
    _bump(outage, now)
    session.flush()
    done = sum(o.done for o in outcomes)
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="outage", entity_id=outage.id,
                 action="outage:bulk_update",
                 changes={"template": [None, template_key], "stage": [None, stage],
                          "posted": [None, done], "not_posted": [None, len(outcomes) - done]}, at=now)
    return BulkResult(outage.id, outage.version, tuple(outcomes))


# --------------------------------------------------------------------------
# Resolving.


def resolve_outage(session: Session, *, outage_id: int, expected_version: int | None,
                   resolve_incidents: Sequence[int], actor: Actor, now: dt.datetime) -> ResolveResult:
    """Mark the outage resolved and resolve each chosen linked incident through its own lifecycle and rule."""
    outage = _lock(session, outage_id, expected_version)
    _check_may_run(actor, outage, "resolve")
    if outage.status != OPEN:
        raise OutageError(f"Outage #{outage_id} is already resolved.")
    outage.status, outage.resolved_at = RESOLVED, now
    _bump(outage, now)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="outage", entity_id=outage.id,
                 action="outage:resolve", changes={"status": [OPEN, RESOLVED], "resolved_at": [None, now]}, at=now)
    outcomes: list[IncidentOutcome] = []
    for incident_id in dict.fromkeys(resolve_incidents):
        incident = session.get(Incident, incident_id)
        if incident is None or incident.outage_id != outage_id:
            outcomes.append(IncidentOutcome(incident_id, "", False, f"incident #{incident_id} is not linked to "
                                                                   f"outage #{outage_id}"))
            continue
        name = incident.account.name
        try:
            with session.begin_nested():
                move_status(session, incident_id=incident_id, target=IncidentStatus.RESOLVED.value, actor=actor,
                            now=now, reason=f"Platform outage #{outage_id} resolved")
        except (ValueError, PermissionError) as exc:
            outcomes.append(IncidentOutcome(incident_id, name, False, str(exc)))
            continue
        outcomes.append(IncidentOutcome(incident_id, name, True))
    return ResolveResult(outage.id, outage.version, tuple(outcomes))
