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
from core.vocabulary import EMERGENCY_SEVERITIES, OPEN_STATUSES
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


# How many cards the board draws: each costs about a millisecond to draw, and at a million incidents
# (3,000 open) the whole board took half a second. Nobody reads hundreds of cards under pressure:
# the lane shows its most urgent as cards and every other emergency in one table, a status column its
# most urgent and a link to the rest in the incident list. Counts are always exact (OpenCounts).
LANE_CARDS = 12
LANE_LIMIT = 1_000
COLUMN_CARDS = 6


@dataclass(frozen=True)
class BoardColumn:
    """One status column of the board: its most urgent incidents outside the lane, and how many there are."""

    status: str
    rows: tuple[IncidentRow, ...]
    total: int

    @property
    def hidden(self) -> int:
        """How many incidents of this column are not drawn (the incident list shows them)."""
        return self.total - len(self.rows)


@dataclass(frozen=True)
class BoardPage:
    """The emergency board at `now`: the emergency lane (P0/P1, most urgent first), the status columns, counts."""

    now: dt.datetime
    counts: service.OpenCounts
    emergencies: tuple[IncidentRow, ...]  # every open P0/P1, up to LANE_LIMIT
    columns: dict[str, BoardColumn]
    update_due: dict[int, dt.datetime | None]

    def update_overdue(self, incident_id: int) -> bool:
        """True when the incident's next client update is past due."""
        due = self.update_due.get(incident_id)
        return due is not None and due < self.now

    @property
    def lane_cards(self) -> tuple[IncidentRow, ...]:
        """The lane's incidents drawn as cards (the most urgent)."""
        return self.emergencies[:LANE_CARDS]

    @property
    def lane_rest(self) -> tuple[IncidentRow, ...]:
        """The lane's other incidents, listed in one table under the cards."""
        return self.emergencies[LANE_CARDS:]


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
    """The emergency board at `now`: every open P0/P1, each column's most urgent, exact counts, client updates due."""
    open_statuses = tuple(s.value for s in OPEN_STATUSES)
    with read_scope(engine) as session:
        counts = service.open_counts(session, now=now)
        lane = service.most_urgent_open(session, statuses=open_statuses, severities=EMERGENCY_SEVERITIES,
                                        limit=LANE_LIMIT)
        columns = {status.value: BoardColumn(status.value, tuple(service.most_urgent_open(
            session, statuses=(status.value,), severities=service.OTHER_SEVERITIES, limit=COLUMN_CARDS)),
            counts.by_status.get(status.value, 0)) for status in service.BOARD_COLUMNS}
        shown = [r.id for r in lane] + [r.id for c in columns.values() for r in c.rows]
        due = client_update_due(session, shown)
    return BoardPage(now, counts, tuple(lane), columns, due)


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
