"""Demo data for after the incident: reports and post-mortems in every state, reviews, action items.

Called once by `core.demo.dataset.load` after the incidents exist. It picks recently
resolved incidents of every policy (and two incidents on the busiest account,
so "earlier post-mortems" has something to show) and runs the same flows the
pages use: reports drafted from the record, edited and saved, moved through
review by a lead; post-mortem action items with some done and some overdue.
Every resolved incident already has its review tasks (resolving scheduled
them): the team held the reviews of the older incidents, and of the chosen
ones a third are left overdue. Deterministic for a given `now`. It flushes and
empties the caller's session first: it must run last.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.incident import reviews
from core.people.access import Role
from core.people.users import Actor
from core.report import flows as reports
from core.report.lifecycle import ReportKind, ReportStatus
from core.report.record import REPEAT_WINDOW
from db.models import Account, Incident, ReviewTask, User

PER_POLICY = 3
# Findings a team would write once it knew more than the record shows.
ROOT_CAUSES = (
    "A configuration change shipped without a canary exhausted the database connection pool.",
    "The TLS certificate of the integration gateway expired; the renewal alert went to an old mailbox.",
    "A schema migration locked the orders table during the client's peak hour.",
    "The payment provider had an outage and our client had no failover path configured.",
    "A runaway batch job filled the primary database's disk.",
)
ACTIONS = (
    ("Add a canary stage to configuration deploys", 7),
    ("Route certificate expiry alerts to the on-call rotation", 10),
    ("Run schema migrations outside the client's business hours", 14),
    ("Document the failover procedure and rehearse it with the client", 21),
)
# Report and post-mortem states, cycled over the chosen incidents so every state appears for both.
REPORT_PATHS: tuple[tuple[ReportStatus, ...], ...] = (
    (),
    (ReportStatus.IN_REVIEW,),
    (ReportStatus.IN_REVIEW, ReportStatus.REVIEWED),
    (ReportStatus.IN_REVIEW, ReportStatus.REVIEWED, ReportStatus.CLOSED),
)


def _chosen(session: Session, now: dt.datetime) -> list[Incident]:
    # Drills are reviewed in their own way: the demo's reports are about real incidents.
    resolved = (select(Incident).where(Incident.resolved_at.is_not(None), Incident.reopened_at.is_(None),
                                       Incident.is_drill.is_(False))
                .order_by(Incident.resolved_at.desc(), Incident.id.desc()))
    chosen: dict[int, Incident] = {}
    for name in sorted(set(session.scalars(select(Incident.policy_name).distinct()))):
        for incident in session.scalars(resolved.where(Incident.policy_name == name).limit(PER_POLICY)):
            chosen[incident.id] = incident
    busiest = session.execute(
        select(Incident.account_id, func.count()).where(Incident.resolved_at >= now - REPEAT_WINDOW,
                                                        Incident.is_drill.is_(False))
        .group_by(Incident.account_id).order_by(func.count().desc(), Incident.account_id).limit(1)).first()
    if busiest:
        for incident in session.scalars(resolved.where(Incident.account_id == busiest[0]).limit(2)):
            chosen[incident.id] = incident
    return sorted(chosen.values(), key=lambda i: (i.resolved_at, i.id))


def load(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """Write reports, post-mortems, review schedules and action items for some resolved incidents."""
    # By now the demo's session holds thousands of rows, and every autoflush scans them
    # all (a 25 s slowdown): write them out and start from an empty identity map.
    session.flush()
    session.expunge_all()
    lead = session.scalar(select(User).where(User.role == Role.LEAD.value).order_by(User.id))
    if lead is None:
        return {"reports": 0}
    reviewer = Actor(lead.id, lead.username, Role.LEAD)
    counts = {"reports": 0, "postmortems": 0, "reviews_done": 0, "action_items": 0}
    chosen = _chosen(session, now)
    for index, incident in enumerate(chosen):
        owner_id = session.get(Account, incident.account_id).owner_id or lead.id  # type: ignore[union-attr]
        owner = session.get(User, owner_id)
        writer = Actor(owner.id, owner.username, Role(owner.role))  # type: ignore[union-attr]
        resolved = incident.resolved_at
        assert resolved is not None
        written = min(resolved + dt.timedelta(hours=20), now)
        for kind, offset in ((ReportKind.REPORT, 0), (ReportKind.POSTMORTEM, 2)):
            # The CSM saves the first draft as written from the record, then edits it later that day.
            drafted = min(resolved + dt.timedelta(hours=2), now)
            draft = reports.get_or_draft_report(session, incident.id, kind, actor=writer, now=drafted)
            assert draft is not None  # the account's CSM (or the lead) may edit it
            report = reports.save_sections(session, incident_id=incident.id, kind=kind, sections={},
                                           actor=writer, now=drafted, expected_version=draft.version)
            cause = ROOT_CAUSES[index % len(ROOT_CAUSES)]
            edits = ({"root_cause": f"Primary cause: {cause}\n\n{report.sections['root_cause']}"}
                     if kind is ReportKind.REPORT else
                     {"summary": f"{report.sections['summary']}\n\nRoot cause in one line: {cause}"})
            report = reports.save_sections(session, incident_id=incident.id, kind=kind, sections=edits,
                                           actor=writer, now=written, expected_version=report.version)
            path = REPORT_PATHS[(index + offset) % len(REPORT_PATHS)]
            for step, target in enumerate(path):
                by = writer if target is ReportStatus.IN_REVIEW else reviewer
                report = reports.move_report(session, incident_id=incident.id, kind=kind, target=target.value,
                                             actor=by, now=min(written + dt.timedelta(hours=4 * (step + 1)), now))
            counts["reports" if kind is ReportKind.REPORT else "postmortems"] += 1
        for offset, (title, days) in enumerate(ACTIONS[index % 2::2]):
            item_id = reports.add_postmortem_action(
                session, incident_id=incident.id, title=title, owner_id=owner_id if offset == 0 else lead.id,
                due_at=resolved + dt.timedelta(days=days), actor=reviewer, now=written)
            counts["action_items"] += 1
            # Every third incident leaves its actions undone: overdue ones show on home pages.
            if index % 3 and resolved + dt.timedelta(days=days - 2) < now:
                reports.set_postmortem_action_done(session, item_id=item_id, done=True, actor=reviewer,
                                                   now=resolved + dt.timedelta(days=days - 2))
        for task in reviews.review_tasks(session, incident.id):
            if index % 3 and task.due_at < now:
                reviews.set_review_done(session, task_id=task.id, done=True, actor=reviewer,
                                        now=min(task.due_at + dt.timedelta(hours=2), now))
                counts["reviews_done"] += 1
    counts["reviews_done"] += _hold_past_reviews(session, {i.id for i in chosen}, reviewer, now)
    return counts


def _hold_past_reviews(session: Session, chosen: set[int], reviewer: Actor, now: dt.datetime) -> int:
    """Mark done the due reviews of the incidents not chosen above: the team held them on time."""
    due = session.execute(select(ReviewTask.id, ReviewTask.due_at)
                          .where(ReviewTask.done_at.is_(None), ReviewTask.due_at < now,
                                 ReviewTask.incident_id.not_in(chosen))
                          .order_by(ReviewTask.due_at, ReviewTask.id)).all()
    for count, (task_id, due_at) in enumerate(due, start=1):
        reviews.set_review_done(session, task_id=task_id, done=True, actor=reviewer,
                                now=min(due_at + dt.timedelta(hours=2), now))
        if count % 200 == 0:
            session.expunge_all()  # keep autoflush cheap, as above
    return len(due)
