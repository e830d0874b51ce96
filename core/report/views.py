"""The read models of the report and post-mortem pages, and of the report boxes on other pages.

Each function opens its own read-only unit of work and returns plain values;
who may edit is decided in `core.report.flows`. Pages and ui panels render
these and never open a session. Nothing here writes: a document nobody saved
yet is drafted in memory, never stored by reading it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.incident import reviews
from core.incident import service as incident_queries
from core.incident.reviews import ReviewTaskRow
from core.incident.views import Viewer
from core.people.users import Actor
from core.report import flows as reports
from core.report.flows import ReportView
from core.report.lifecycle import ReportError, ReportKind
from core.report.record import EarlierPostMortem
from core.report.service import OverdueActionItem, overdue_action_items, repeat_of
from db.engine import read_scope


@dataclass(frozen=True)
class DocumentPage:
    """A report or post-mortem as `viewer` may see it, or why it cannot open; its review tasks and people."""

    view: ReportView | None
    problem: str
    tasks: list[ReviewTaskRow]
    people: list[tuple[int, str]]


def document_page(incident_id: int, kind: ReportKind, *, viewer: Viewer, now: dt.datetime,
                  time_zone: str) -> DocumentPage:
    """The document page of incident `incident_id` for `viewer` at `now`, a draft's times in `time_zone` (the
    viewer's); `problem` says why when `view` is None."""
    with read_scope() as session:
        try:
            view = reports.report_view(session, incident_id, kind, actor=Actor(viewer.id, viewer.username, viewer.role),
                                       now=now, time_zone=time_zone)
        except ReportError as error:
            return DocumentPage(view=None, problem=str(error), tasks=[], people=[])
        return DocumentPage(view=view, problem="", tasks=reviews.review_tasks(session, incident_id),
                            people=incident_queries.owners(session))


def earlier_postmortems(incident_id: int) -> list[EarlierPostMortem]:
    """Post-mortems of earlier incidents on the same account (prevention that did not hold)."""
    with read_scope() as session:
        return repeat_of(session, incident_id)


def overdue_actions(*, owner_id: int | None, now: dt.datetime) -> list[OverdueActionItem]:
    """Post-mortem action items past due and not done (one person's, or everyone's with owner_id None)."""
    with read_scope() as session:
        return overdue_action_items(session, owner_id=owner_id, now=now)
