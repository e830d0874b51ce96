"""After the incident: every write of the critical incident report and the blameless post-mortem.

Reading never writes: until someone who may edit saves it, a document is a
first draft built in memory for its editors and "not written yet" for everyone
else; the first save stores it. Saving uses the row's version, so a stale save
(a first one too) is refused and never overwrites someone else's text. Each
write checks who may make it (`core.report.lifecycle`) and leaves an audit
entry. Also the report page's read model, which shows the draft to editors.
The first draft's times are in the zone of the person it is drafted for
(`time_zone`, their own or UTC); once saved, the text keeps the zone it was
written in, which it says. It never imports streamlit and never reads the
clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.incident import assignments
from core.incident.timeline import add_event
from core.limits import FREE_TEXT, TITLE, check_text
from core.people.users import Actor
from core.report.lifecycle import (
    EDITABLE_STATUSES,
    KIND_TITLES,
    REPORT_STATUS_LABELS,
    ReportConflict,
    ReportError,
    ReportForbidden,
    ReportKind,
    ReportStatus,
    check_report_move,
    may_edit,
    parse_kind,
)
from core.report.record import POSTMORTEM_SOURCE, IncidentRecord, RecordItem
from core.report.sections import SECTIONS, generate_sections, when
from core.report.service import load_record, name_of, user_names
from core.zones import UTC_NAME
from db.models import Account, ActionItem, Incident, IncidentReport, User

# The version a person editing the not-yet-saved first draft started from; a
# stored row starts at 1.
UNSAVED_VERSION = 0


def _report_entity(report: IncidentReport) -> str:
    return f"{report.incident_id}:{report.kind}"


def _get(session: Session, incident_id: int, kind: ReportKind, *, lock: bool = False) -> IncidentReport | None:
    stmt = select(IncidentReport).where(IncidentReport.incident_id == incident_id, IncidentReport.kind == kind.value)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def _resolved_record(session: Session, incident_id: int, kind: ReportKind, *, now: dt.datetime) -> IncidentRecord:
    """The record of a resolved incident; ReportError saying why there is no document otherwise."""
    record = load_record(session, incident_id, now=now)
    if record is None:
        raise ReportError(f"There is no incident #{incident_id}. Check the number in the link.")
    if record.resolved_at is None:
        raise ReportError(f"Incident #{incident_id} is not resolved yet: the {KIND_TITLES[kind].lower()} is written "
                          "after resolution.")
    return record


def draft_report(record: IncidentRecord, kind: ReportKind, *, actor: Actor, now: dt.datetime,
                 time_zone: str = UTC_NAME) -> IncidentReport:
    """The first draft written from the record (times in `time_zone`), in memory only: not added to any session."""
    return IncidentReport(incident_id=record.id, kind=kind.value, status=ReportStatus.DRAFT.value,
                          sections=generate_sections(record, kind, time_zone=time_zone), status_changed_at=now,
                          status_changed_by_id=actor.id, created_at=now, created_by_id=actor.id, updated_at=now,
                          updated_by_id=actor.id, version=UNSAVED_VERSION)


def _may_edit(record: IncidentRecord, actor: Actor) -> bool:
    return actor.id is not None and may_edit(actor.role, actor.id, record.account_owner_id)


def _saved_or_draft(session: Session, record: IncidentRecord, kind: ReportKind, actor: Actor,
                    now: dt.datetime, time_zone: str) -> IncidentReport | None:
    saved = _get(session, record.id, kind)
    if saved is not None:
        return saved
    return draft_report(record, kind, actor=actor, now=now, time_zone=time_zone) if _may_edit(record, actor) else None


def get_or_draft_report(session: Session, incident_id: int, kind: ReportKind | str, *, actor: Actor,
                        now: dt.datetime, time_zone: str = UTC_NAME) -> IncidentReport | None:
    """The saved report; else an unsaved draft (times in `time_zone`) for someone who may edit it, None for anyone
    else. Never writes."""
    kind = parse_kind(str(kind))
    return _saved_or_draft(session, _resolved_record(session, incident_id, kind, now=now), kind, actor, now,
                           time_zone)


def _check_editor(session: Session, incident: Incident, actor: Actor) -> bool:
    account = session.get(Account, incident.account_id)
    assert account is not None  # an incident's account is a foreign key
    return actor.id is not None and may_edit(actor.role, actor.id, account.owner_id)


def _stale(session: Session, report: IncidentReport, kind: ReportKind, expected_version: int,
           time_zone: str) -> ReportConflict:
    saver = session.get(User, report.updated_by_id) if report.updated_by_id else None
    who = saver.display_name if saver is not None else "someone"
    started = ("the first draft, before anyone had saved it" if expected_version == UNSAVED_VERSION
               else f"version {expected_version}, it is now {report.version}")
    return ReportConflict(
        f"{who} saved this {KIND_TITLES[kind].lower()} at {when(report.updated_at, time_zone)} while you were editing "
        f"(you started from {started}). Your text was not saved and is still in the form; compare it with theirs "
        "below, merge, and save again.", dict(report.sections), report.version)


def _cleaned(kind: ReportKind, sections: dict[str, str]) -> dict[str, str]:
    known = {s.key for s in SECTIONS[kind]}
    unknown = set(sections) - known
    if unknown:
        raise ReportError(f"Unknown section(s) {', '.join(sorted(unknown))}; sections are {', '.join(sorted(known))}.")
    cleaned = {key: text.strip() for key, text in sections.items()}
    empty = [s.title for s in SECTIONS[kind] if s.key in cleaned and not cleaned[s.key]]
    if empty:
        raise ReportError(f"Write something in: {', '.join(empty)} (say 'none' if there is nothing to report).")
    return cleaned


def _first_save(session: Session, *, incident_id: int, kind: ReportKind, sections: dict[str, str], actor: Actor,
                now: dt.datetime, expected_version: int, time_zone: str) -> IncidentReport:
    record = _resolved_record(session, incident_id, kind, now=now)
    if not _may_edit(record, actor):
        raise ReportForbidden("Only the account's CSM, leads and admins may edit this report.")
    cleaned = _cleaned(kind, sections)
    report = draft_report(record, kind, actor=actor, now=now, time_zone=time_zone)
    edited = sorted(k for k, v in cleaned.items() if report.sections.get(k) != v)
    report.sections = {**report.sections, **cleaned}
    try:
        # Two people saving the first draft at once: the unique (incident, kind)
        # lets one row in; the other person gets the conflict with its text.
        with session.begin_nested():
            session.add(report)
            session.flush()
    except IntegrityError:
        theirs = _get(session, incident_id, kind)
        assert theirs is not None
        raise _stale(session, theirs, kind, expected_version, time_zone) from None
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="create",
                 changes={"status": [None, ReportStatus.DRAFT.value], **{k: ["…", "…"] for k in edited}}, at=now)
    return report


def save_sections(
    session: Session, *, incident_id: int, kind: ReportKind | str, sections: dict[str, str], actor: Actor,
    now: dt.datetime, expected_version: int, time_zone: str = UTC_NAME,
) -> IncidentReport:
    """Save edited section texts; the first save stores the draft. A stale save is a ReportConflict with their text.

    The first save (no row yet) writes the draft generated from the record now,
    its times in `time_zone` (the saver's), with `sections` applied; empty
    `sections` stores the draft as generated.
    """
    kind = parse_kind(str(kind))
    report = _get(session, incident_id, kind, lock=True)
    if report is None:
        return _first_save(session, incident_id=incident_id, kind=kind, sections=sections, actor=actor,
                           now=now, expected_version=expected_version, time_zone=time_zone)
    incident = session.get(Incident, incident_id)
    assert incident is not None
    if not _check_editor(session, incident, actor):
        raise ReportForbidden("Only the account's CSM, leads and admins may edit this report.")
    if report.version != expected_version:
        raise _stale(session, report, kind, expected_version, time_zone)
    if ReportStatus(report.status) not in EDITABLE_STATUSES:
        raise ReportError(f"The report is {REPORT_STATUS_LABELS[ReportStatus(report.status)]}: a lead must move it "
                          "back to review before its text can change.")
    cleaned = _cleaned(kind, sections)
    changed = {k: [report.sections.get(k, ""), v] for k, v in cleaned.items() if report.sections.get(k) != v}
    if not changed:
        raise ReportError("Nothing changed: edit a section before saving.")
    # Only what people write is held to the limit: a generated section that quotes many long reasons may be longer.
    titles = {s.key: s.title for s in SECTIONS[kind]}
    for key in changed:
        check_text(cleaned[key], FREE_TEXT, titles[key], ReportError)
    report.sections = {**report.sections, **cleaned}
    report.updated_at, report.updated_by_id = now, actor.id
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="edit", changes={k: ["…", "…"] for k in changed}, at=now)
    session.flush()
    return report


def move_report(
    session: Session, *, incident_id: int, kind: ReportKind | str, target: str, actor: Actor,
    now: dt.datetime, expected_version: int | None = None,
) -> IncidentReport:
    """Move a saved report along its review lifecycle, stamping who moved it and when."""
    kind = parse_kind(str(kind))
    report = _get(session, incident_id, kind, lock=True)
    if report is None:
        # Nobody has saved it, so nobody has read it: sending it on would put an unread draft up for review.
        record = _resolved_record(session, incident_id, kind, now=now)
        if not _may_edit(record, actor):
            raise ReportForbidden("Only the account's CSM, leads and admins may change this report.")
        raise ReportError(f"The {KIND_TITLES[kind].lower()} is not written yet: check the draft and save it "
                          "first, then move it on.")
    incident = session.get(Incident, incident_id)
    assert incident is not None
    if expected_version is not None and report.version != expected_version:
        raise ReportConflict(f"The report changed since you loaded it (version {expected_version}, now "
                             f"{report.version}): check the new text and status, then move it again.",
                             dict(report.sections), report.version)
    to = check_report_move(report.status, target, actor.role, _check_editor(session, incident, actor))
    before = report.status
    report.status, report.status_changed_at, report.status_changed_by_id = to.value, now, actor.id
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="incident_report",
                 entity_id=_report_entity(report), action="status", changes={"status": [before, to.value]}, at=now)
    add_event(session, incident_id, kind="report", actor=actor, occurred_at=now, now=now,
                        summary=f"{KIND_TITLES[kind]}: {REPORT_STATUS_LABELS[ReportStatus(before)]} → "
                                f"{REPORT_STATUS_LABELS[to]}")
    session.flush()
    return report


def add_postmortem_action(
    session: Session, *, incident_id: int, title: str, owner_id: int | None, due_at: dt.datetime | None,
    actor: Actor, now: dt.datetime,
) -> int:
    """Add a post-mortem action item; it needs an owner and a due date. Returns its id."""
    title = check_text(title, TITLE, "The action item", ReportError)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise ReportError(f"Incident {incident_id} does not exist.")
    if not _check_editor(session, incident, actor):
        raise ReportForbidden("Only the account's CSM, leads and admins may add post-mortem actions.")
    if owner_id is None or session.get(User, owner_id) is None:
        raise ReportError("Choose who owns the action item.")
    if due_at is None:
        raise ReportError("Give the action item a due date.")
    return assignments.add_action_item(session, incident_id=incident_id, title=title, owner_id=owner_id,
                                       due_at=due_at, actor=actor, now=now, source=POSTMORTEM_SOURCE)


def set_postmortem_action_done(
    session: Session, *, item_id: int, done: bool, actor: Actor, now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """Mark a post-mortem action item done or not done; its owner, the account's CSM, leads and admins may."""
    item = session.get(ActionItem, item_id)
    if item is None:
        raise ReportError(f"Action item {item_id} does not exist.")
    incident = session.get(Incident, item.incident_id)
    assert incident is not None  # an action item's incident is a foreign key
    if item.owner_id != actor.id and not _check_editor(session, incident, actor):
        raise ReportForbidden("Only the item's owner, the account's CSM, leads and admins may tick it off.")
    assignments.set_action_done(session, item_id=item_id, done=done, actor=actor, now=now,
                                expected_version=expected_version)


# --------------------------------------------------------------------------
# Reads for pages and the dashboard.


@dataclass(frozen=True)
class StatusChange:
    """One move of a report's status."""

    at: dt.datetime
    by: str
    before: str | None
    after: str


@dataclass(frozen=True)
class ReportView:
    """Everything a report page shows, as plain values.

    `saved` is False until someone who may edit saves the document: its editors
    then see the first draft written from the record (`sections`), everyone
    else sees that it is not written yet (`sections` empty).
    """

    kind: ReportKind
    record: IncidentRecord
    status: str
    sections: dict[str, str]
    version: int
    updated_at: dt.datetime | None
    updated_by: str
    status_changed_at: dt.datetime | None
    status_changed_by: str
    history: list[StatusChange]
    saved: bool
    editor: bool

    @property
    def editable_text(self) -> bool:
        """True while the text may still change (draft or in review)."""
        return ReportStatus(self.status) in EDITABLE_STATUSES

    @property
    def postmortem_items(self) -> list[RecordItem]:
        """The post-mortem's action items."""
        return [i for i in self.record.action_items if i.source == POSTMORTEM_SOURCE]


def report_view(session: Session, incident_id: int, kind: ReportKind | str, *, actor: Actor,
                now: dt.datetime, time_zone: str = UTC_NAME) -> ReportView:
    """The report page's read model for this person (a draft's times in `time_zone`); ReportError when the incident
    has no documents. Never writes."""
    kind = parse_kind(str(kind))
    record = _resolved_record(session, incident_id, kind, now=now)
    editor = _may_edit(record, actor)
    report = _saved_or_draft(session, record, kind, actor, now, time_zone)
    if report is None or report.version == UNSAVED_VERSION:
        return ReportView(kind=kind, record=record, status=ReportStatus.DRAFT.value,
                          sections=dict(report.sections) if report is not None else {}, version=UNSAVED_VERSION,
                          updated_at=None, updated_by="", status_changed_at=None, status_changed_by="", history=[],
                          saved=False, editor=editor)
    names = user_names(session)
    entries = audit.entries_for(session, "incident_report", _report_entity(report))
    history = [StatusChange(e.at, e.actor_name, *(e.changes.get("status") or [None, ""]))
               for e in reversed(entries) if "status" in e.changes]
    return ReportView(kind=kind, record=record, status=report.status, sections=dict(report.sections),
                      version=report.version, updated_at=report.updated_at,
                      updated_by=name_of(names, report.updated_by_id, "system"),
                      status_changed_at=report.status_changed_at,
                      status_changed_by=name_of(names, report.status_changed_by_id, "system"), history=history,
                      saved=True, editor=editor)
