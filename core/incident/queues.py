"""Page read models of the work queues: the emergency board and Home's open incidents and client updates due.

Each page calls one function here and gets a frozen value: the incident rows
(from `core.incident.service`), their lanes and counts, and the client-update
due times the incident flows keep on each incident. Who sees the team's work
and who only their own is decided here (`works_on_all_accounts`). Nothing
here writes; `engine` is only for tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from core.account.access import works_on_all_accounts
from core.incident import service
from core.incident.service import IncidentRow
from core.people.access import Role
from core.vocabulary import OPEN_STATUSES
from db.engine import read_scope
from db.models import Account, Incident, User

# Home lists client updates falling due within this time (and every overdue one).
DUE_SOON = dt.timedelta(hours=1)
HOME_TEAM_LIMIT = 50


@dataclass(frozen=True)
class UpdateDue:
    """An open incident whose next client update is due soon or overdue."""

    incident_id: int
    title: str
    account: str
    severity: str
    owner: str
    due_at: dt.datetime
    first_notice: bool  # the client has not been told yet: the first notification is due

    def overdue(self, now: dt.datetime) -> bool:
        """True once the update should already have gone out."""
        return self.due_at < now


@dataclass(frozen=True)
class BoardPage:
    """The emergency board at `now`: every open incident, split into the emergency lane and status columns."""

    now: dt.datetime
    rows: tuple[IncidentRow, ...]
    emergencies: tuple[IncidentRow, ...]
    columns: dict[str, tuple[IncidentRow, ...]]
    update_due: dict[int, dt.datetime | None]

    def update_overdue(self, incident_id: int) -> bool:
        """True when the incident's next client update is past due."""
        due = self.update_due.get(incident_id)
        return due is not None and due < self.now

    @property
    def clocks_overdue(self) -> int:
        """How many open incidents have a clock past its deadline."""
        return sum(1 for r in self.rows if r.next_deadline_at is not None and r.next_deadline_at < self.now)

    @property
    def escalations_overdue(self) -> int:
        """How many open incidents have a required escalation past due."""
        return sum(1 for r in self.rows if r.escalation_overdue(self.now))

    @property
    def updates_overdue(self) -> int:
        """How many open incidents owe the client an update."""
        return sum(1 for r in self.rows if self.update_overdue(r.id))


@dataclass(frozen=True)
class HomePage:
    """Home's queues: my open incidents, the list shown (the team's most urgent for leads), updates due."""

    team: bool
    mine: tuple[IncidentRow, ...]
    team_open: int
    listed: tuple[IncidentRow, ...]
    updates_due: tuple[UpdateDue, ...]
    # Open incidents the viewer follows (core.incident.followers), most urgent first.
    following: tuple[IncidentRow, ...] = ()


def client_update_due(session: Session, incident_ids: Sequence[int]) -> dict[int, dt.datetime | None]:
    """The stored next-client-update time of each incident (for flagging list rows)."""
    if not incident_ids:
        return {}
    stmt = select(Incident.id, Incident.next_client_update_due_at).where(Incident.id.in_(list(incident_ids)))
    return {incident_id: due for incident_id, due in session.execute(stmt)}


def updates_due(session: Session, *, user_id: int | None, now: dt.datetime, within: dt.timedelta,
                limit: int = 100) -> list[UpdateDue]:
    """Open incidents whose next client update is due before `now + within` (overdue ones first).

    With `user_id`, only incidents the user owns or whose account they own.
    """
    stmt = (select(Incident.id, Incident.title, Account.name, Incident.severity, User.display_name,
                   Incident.next_client_update_due_at, Incident.client_notified_at)
            .join(Account, Account.id == Incident.account_id).outerjoin(User, User.id == Incident.owner_id)
            .where(Incident.status.in_([s.value for s in OPEN_STATUSES]),
                   Incident.next_client_update_due_at <= now + within)
            .order_by(Incident.next_client_update_due_at, Incident.id).limit(limit))
    if user_id is not None:
        stmt = stmt.where(or_(Incident.owner_id == user_id, Account.owner_id == user_id))
    return [UpdateDue(i, title, account, severity, owner or "unassigned", due, notified is None)
            for i, title, account, severity, owner, due, notified in session.execute(stmt)
            if due is not None]  # never None: the WHERE compares it


def board_page(*, now: dt.datetime, engine: Engine | None = None) -> BoardPage:
    """Every open incident for the emergency board at `now`, most urgent first, with client updates due."""
    with read_scope(engine) as session:
        rows = service.board(session, now=now)
        due = client_update_due(session, [r.id for r in rows])
    lane, columns = service.board_lanes(rows)
    return BoardPage(now, tuple(rows), tuple(lane), {s: tuple(c) for s, c in columns.items()}, due)


def home_page(*, viewer_id: int, role: Role, now: dt.datetime, engine: Engine | None = None) -> HomePage:
    """Home's queues at `now`: a CSM's own incidents and updates; the team's most urgent for leads and admins."""
    team = works_on_all_accounts(role)
    with read_scope(engine) as session:
        mine = service.my_open_incidents(session, user_id=viewer_id)
        team_open = service.count_open(session)
        # A lead answers for the team: the most urgent open incidents of everyone.
        listed = service.board(session, now=now, limit=HOME_TEAM_LIMIT) if team else mine
        due = updates_due(session, user_id=None if team else viewer_id, now=now, within=DUE_SOON)
        following = service.followed_open_incidents(session, user_id=viewer_id)
    return HomePage(team, tuple(mine), team_open, tuple(listed), tuple(due), tuple(following))
