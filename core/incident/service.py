"""Read models over incidents for lists and home pages: one query, plain rows, paged.

Queries only select the columns a list shows and are bounded by a LIMIT, so
they stay fast on a large table. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Select,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, aliased

from core.vocabulary import EMERGENCY_SEVERITIES, OPEN_STATUSES, SEVERITIES, IncidentStatus
from db.models import Account, Incident, IncidentFollower, User

# The FTS5 index of incident titles and summaries (SQLite only, migration 0004).
INCIDENTS_FTS = table("incidents_fts", column("rowid"))


@dataclass(frozen=True)
class IncidentRow:
    """One line of an incident list."""

    id: int
    title: str
    account: str
    tier: str
    severity: str
    red_status: bool
    status: str
    owner: str
    detected_at: dt.datetime
    next_deadline_at: dt.datetime | None
    next_deadline_clock: str | None
    escalation_due_at: dt.datetime | None = None
    # An exercise (core.incident.flows.open_incident(is_drill=True)): lists mark it DRILL.
    is_drill: bool = False
    # The platform outage it is part of (core.outage), None when it stands alone: lists mark it.
    outage_id: int | None = None

    def escalation_overdue(self, now: dt.datetime) -> bool:
        """True when a required escalation has fallen due and not happened."""
        return self.escalation_due_at is not None and self.escalation_due_at < now


# The columns of an IncidentRow, in its field order.
RowQuery = Select[
    int, str, str, str, str, bool, str, str, dt.datetime, dt.datetime | None, str | None, dt.datetime | None, bool,
    int | None,
]


def _row_query() -> RowQuery:
    owner = aliased(User)
    return (
        select(
            Incident.id,
            Incident.title,
            Account.name,
            Account.tier,
            Incident.severity,
            Incident.red_status,
            Incident.status,
            func.coalesce(owner.display_name, ""),
            Incident.detected_at,
            Incident.next_deadline_at,
            Incident.next_deadline_clock,
            Incident.escalation_due_at,
            Incident.is_drill,
            Incident.outage_id,
        )
        .join(Account, Account.id == Incident.account_id)
        .outerjoin(owner, owner.id == Incident.owner_id)
    )


def open_ids_of(user_id: int) -> Select[tuple[int]]:
    """The ids of open incidents the user owns or that belong to an account the user owns (a UNION)."""
    # Two index lookups instead of one OR that walks every incident: owner_id + status, then
    # account_id + status for each account the user owns (ix_incidents_owner_status, ix_incidents_account_status).
    open_now = Incident.status.in_([s.value for s in OPEN_STATUSES])
    owned = select(Incident.id).where(Incident.owner_id == user_id, open_now)
    of_my_accounts = select(Incident.id).where(
        Incident.account_id.in_(select(Account.id).where(Account.owner_id == user_id)), open_now)
    return select(union(owned, of_my_accounts).subquery().c.id)


def my_open_incidents(session: Session, *, user_id: int, limit: int = 50) -> list[IncidentRow]:
    """Open incidents the user owns or that belong to an account the user owns, most urgent first."""
    stmt = (
        _row_query()
        .where(Incident.id.in_(open_ids_of(user_id)))
        .order_by(Incident.next_deadline_at.is_(None), Incident.next_deadline_at, Incident.id)
        .limit(limit)
    )
    return [IncidentRow(*row) for row in session.execute(stmt)]


def followed_open_incidents(session: Session, *, user_id: int, limit: int = 50) -> list[IncidentRow]:
    """Open incidents the user follows, most urgent first."""
    stmt = (
        _row_query()
        .join(IncidentFollower, IncidentFollower.incident_id == Incident.id)
        .where(IncidentFollower.user_id == user_id, Incident.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Incident.next_deadline_at.is_(None), Incident.next_deadline_at, Incident.id)
        .limit(limit)
    )
    return [IncidentRow(*row) for row in session.execute(stmt)]


def count_open(session: Session) -> int:
    """How many incidents are open across the team."""
    stmt = select(func.count()).where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
    return session.scalar(stmt) or 0


SORTS: dict[str, str] = {
    "most urgent": "urgent",
    "newest first": "newest",
    "oldest first": "oldest",
    "severity": "severity",
}


@dataclass(frozen=True)
class IncidentFilter:
    """What the incident list shows; every field optional."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    account_id: int | None = None
    owner_id: int | None = None
    policy: str | None = None
    urgency: str = "any"  # any | breached | escalation_overdue | client_update_overdue | due_within_hour
    detected_from: dt.datetime | None = None
    detected_to: dt.datetime | None = None
    text: str = ""
    sort: str = "urgent"


# A column as the filters see it: itself, or (SQLite, under a text search) a copy no index may serve.
Column = Callable[[Any], Any]

# The urgency filters: each a condition on the incident's due times at `now`.
_URGENCY: dict[str, Callable[[Column, dt.datetime], ColumnElement[bool]]] = {
    "breached": lambda c, now: c(Incident.next_deadline_at) < now,
    "escalation_overdue": lambda c, now: c(Incident.escalation_due_at) < now,
    "client_update_overdue": lambda c, now: c(Incident.next_client_update_due_at) < now,
    "due_within_hour": lambda c, now: c(Incident.next_deadline_at).between(now, now + dt.timedelta(hours=1)),
}


def _as_is(column: Any) -> Any:
    return column


def _unindexed(column: Any) -> Any:
    # coalesce(x, x) is x, but no index serves it: the text index then drives the query. Left free,
    # SQLite walks ix_incidents_status_policy (or the account, owner or date index) and PostgreSQL
    # walks the detection-time index for the sort, testing each row against the text: most of the
    # table for "closed" or a rare word at a million incidents.
    return func.coalesce(column, column, type_=column.type)


_OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)
# The share of incidents SQLite's planner is told are open (a literal: likelihood() takes no parameter).
OPEN_LIKELIHOOD = "0.01"


def _status_in(session: Session, statuses: tuple[str, ...], c: Column = _as_is) -> ColumnElement[bool]:
    """`status IN statuses`; on SQLite, marked as rare when every status is an open one.

    SQLite's statistics give one average count per status (a quarter of the table with four common
    ones), so five open statuses look like more rows than the table holds and it read the whole table
    and sorted it (56 ms at 100k incidents, growing with the table) rather than seek the open ones (a
    few hundred rows: 0.4 ms). likelihood() tells it the truth: open incidents are a small share.
    """
    condition: ColumnElement[bool] = c(Incident.status).in_(statuses)
    if c is _as_is and set(statuses) <= _OPEN_VALUES and session.get_bind().dialect.name == "sqlite":
        # likelihood(X, p) as a comparison renders bare (no "= 1", which would hide X from the index).
        return func.likelihood(condition, literal_column(OPEN_LIKELIHOOD)).as_comparison(1, 2)
    return condition


# The largest id the incidents table holds on both engines (an INTEGER: 32 bits on PostgreSQL); a
# larger number is searched as text.
MAX_INCIDENT_ID = 2**31 - 1


def _incident_number(text: str) -> int | None:
    """The incident id that "#12" or "12" names; None for anything else, a number too large for an id included."""
    digits = text.lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_INCIDENT_ID)):
        return None
    number = int(digits)
    return number if number <= MAX_INCIDENT_ID else None


def _uses_text_index(text: str) -> bool:
    # Three characters make a trigram (FTS5 trigram tokenizer, pg_trgm); "#12" or "12" is an id.
    return len(text) >= 3 and _incident_number(text) is None


def _searchable(text: str) -> str:
    """The search text as the queries take it: trimmed, without NUL characters.

    A NUL ends the query inside SQLite's full-text parser ("unterminated string") and PostgreSQL
    refuses it in a parameter; `core.limits` keeps it out of every stored title and summary, so
    dropping it changes no answer.
    """
    return text.replace("\x00", "").strip()


@contextmanager
def _text_index_first(session: Session, text: str) -> Iterator[None]:
    """On PostgreSQL, keep a text search off a sequential scan for the statements run inside."""
    # The planner prices ILIKE like "=", so with a few thousand matches it prefers reading the whole
    # table (136 ms at 100k in the bench) to the trigram bitmaps (24 ms). Transaction-local, then restored.
    if session.get_bind().dialect.name != "postgresql" or not _uses_text_index(text.strip()):
        yield
        return
    before = session.scalar(select(func.current_setting("enable_seqscan")))
    session.execute(select(func.set_config("enable_seqscan", "off", True)))
    try:
        yield
    finally:
        session.execute(select(func.set_config("enable_seqscan", before, True)))


def _conditions(session: Session, flt: IncidentFilter, now: dt.datetime, lead: str = "text",
                customers: list[int] | None = None) -> list[ColumnElement[bool]]:
    """The filter's conditions; under a text search, `lead` says which index may drive the query.

    "text": the text index, every other column unindexed (few text matches);
    "filters": the filters' own indexes, in a subquery of ids, the text probed per row (few rows pass the filters);
    "sort": the sort's index (and the detection-time range), the text and the other filters probed per row.
    """
    if lead == "filters" and _uses_text_index(flt.text):
        # A subquery, so the planner reads the filters' index the way the list without a text does; left in
        # the outer query, SQLite prices "status IN (open ones)" at the table's average and scans it.
        passing = select(Incident.id).where(*_conditions(session, replace(flt, text=""), now))
        return [Incident.id.in_(passing), _text_matches(session, flt.text, probed=True, customers=customers)]
    # Only incident columns (the customer name goes through an IN subquery):
    # a join here lets SQLite drive the query from the 40-row accounts table
    # through every incident, 100x slower at a million rows.
    text = flt.text
    c = _unindexed if _uses_text_index(text) else _as_is
    # A walk down the detection-time index (newest, oldest) keeps the detection range as its bounds.
    when = _as_is if lead == "sort" and flt.sort in ("newest", "oldest") else c
    conditions: list[ColumnElement[bool]] = []
    if flt.statuses:
        conditions.append(_status_in(session, flt.statuses, c))
    if flt.severities:
        conditions.append(c(Incident.severity).in_(flt.severities))
    if flt.account_id:
        conditions.append(c(Incident.account_id) == flt.account_id)
    if flt.owner_id:
        conditions.append(c(Incident.owner_id) == flt.owner_id)
    if flt.policy:
        conditions.append(c(Incident.policy_name) == flt.policy)
    if flt.detected_from:
        conditions.append(when(Incident.detected_at) >= flt.detected_from)
    if flt.detected_to:
        conditions.append(when(Incident.detected_at) < flt.detected_to)
    if flt.urgency in _URGENCY:
        conditions.append(_URGENCY[flt.urgency](c, now))
    if text:
        number = _incident_number(text)
        if number is not None:
            conditions.append(Incident.id == number)
        else:
            conditions.append(_text_matches(session, text, probed=lead == "sort", customers=customers))
    return conditions


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_customers(session: Session, text: str) -> list[int]:
    """The accounts whose name contains `text` (any case)."""
    return list(session.scalars(
        select(Account.id).where(func.lower(Account.name).like(_like_pattern(text), escape="\\"))))


def _text_matches(session: Session, text: str, *, probed: bool = False,
                  customers: list[int] | None = None) -> ColumnElement[bool]:
    """Incidents whose title, summary or customer name contains `text` (any case).

    SQLite answers from the FTS5 trigram index of migration 0004 (a phrase
    query is a substring match); PostgreSQL's ILIKE uses its pg_trgm indexes.
    Fewer than three characters cannot use a trigram index and scan instead.
    The matching customers are looked up first, so the condition is a plain
    OR of indexable terms: with a subquery in the OR, PostgreSQL scans.
    `probed`: another index drives the query and each of its rows is tested
    (SQLite: against the set of matching ids, read once from the text index).
    `customers`: the matching accounts when already looked up.
    """
    like = _like_pattern(text)
    if customers is None:
        customers = _matching_customers(session, text)
    # No customer matches most searches: an empty IN left in the OR makes SQLite scan every incident.
    c = _unindexed if probed else _as_is
    by_customer = [c(Incident.account_id).in_(customers)] if customers else []
    if _uses_text_index(text) and session.get_bind().dialect.name == "sqlite":
        return or_(c(Incident.id).in_(_fts_ids(text)), *by_customer)
    return or_(Incident.title.ilike(like, escape="\\"), Incident.summary.ilike(like, escape="\\"), *by_customer)


def _fts_ids(text: str) -> Select[tuple[int]]:
    """The ids of incidents whose title or summary contains `text` (SQLite's FTS5 trigram index; a phrase query)."""
    phrase = '"' + text.replace('"', '""') + '"'
    return select(INCIDENTS_FTS.c.rowid).where(sql_text("incidents_fts MATCH :phrase").bindparams(phrase=phrase))


def _order(sort: str, c: Column = _as_is) -> tuple[ColumnExpressionArgument[Any], ...]:
    # Under a text search the order is unindexed too: sorting the matches beats walking an index in order.
    return {
        "urgent": (c(Incident.next_deadline_at).is_(None), c(Incident.next_deadline_at), Incident.id.desc()),
        "newest": (c(Incident.detected_at).desc(), Incident.id.desc()),
        "oldest": (c(Incident.detected_at), Incident.id),
        "severity": (c(Incident.severity), c(Incident.detected_at).desc(), Incident.id.desc()),
    }[sort]


# Under a text search, matches are counted up to this many (or to the end of the page asked for);
# beyond it the list says "more than": counting every match of a common word reads every match.
COUNT_CAP = 1000
# When the other filters let this few rows through, the smaller side (their rows or the text's matches)
# leads a text search and its matches are sorted (an open-status filter: 0.3 % of incidents). Otherwise
# the capped count decides: many matches are read down the sort's own index, each row tested against
# the filters and the text; a few are sorted, led by the text index.
FEW = 10_000

# The sort orders that can be read down an index, each as its segments in order: (which rows, their
# order). "Most urgent" is the incidents with a deadline by deadline (ix_incidents_next_deadline), then
# the rest newest id first (the same index's NULL entries, in id order); newest and oldest walk
# ix_incidents_detected_at. "Severity" has no (severity, detected_at) index: its matches are sorted.
_WALKS: dict[str, tuple[tuple[Callable[[], ColumnElement[bool]], tuple[Any, ...]], ...]] = {
    "newest": ((lambda: Incident.id.isnot(None), (Incident.detected_at.desc(), Incident.id.desc())),),
    "oldest": ((lambda: Incident.id.isnot(None), (Incident.detected_at, Incident.id)),),
    "urgent": ((lambda: Incident.next_deadline_at.isnot(None), (Incident.next_deadline_at, Incident.id.desc())),
               (lambda: Incident.next_deadline_at.is_(None), (Incident.id.desc(),))),
}


def _capped_count(session: Session, conditions: list[ColumnElement[bool]], cap: int) -> int:
    """How many incidents meet `conditions`, counted up to cap + 1 (a LIMITed subquery)."""
    return _count_up_to(session, select(Incident.id).where(*conditions), cap)


def _count_up_to(session: Session, ids: Select[Any], cap: int) -> int:
    """How many rows `ids` gives, counted up to cap + 1 (a LIMITed subquery)."""
    return session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery())) or 0


@contextmanager
def _planner(session: Session, **settings: str) -> Iterator[None]:
    """On PostgreSQL, planner settings (enable_*) for the statements run inside, transaction-local, then restored."""
    if session.get_bind().dialect.name != "postgresql" or not settings:
        yield
        return
    before = {name: str(session.scalar(select(func.current_setting(name)))) for name in settings}
    for name, value in settings.items():
        session.execute(select(func.set_config(name, value, True)))
    try:
        yield
    finally:
        for name, value in before.items():
            session.execute(select(func.set_config(name, value, True)))


def _text_lead(session: Session, flt: IncidentFilter, now: dt.datetime, customers: list[int]) -> str:
    """Which side leads a text search: "text" or "filters" (the smaller) when the filters pass FEW rows or fewer."""
    filters = _conditions(session, replace(flt, text=""), now)
    filter_rows = _capped_count(session, filters, FEW) if filters else FEW + 1
    if filter_rows > FEW:
        # Neither side is known to be small without counting the text's matches (PostgreSQL rechecks each on
        # its row): the capped count decides between walking the sort's index and sorting a few matches.
        return "sort"
    # The text's matches are counted only as far as they could lead.
    enough = filter_rows
    if session.get_bind().dialect.name == "sqlite" and not customers:
        # The full-text index alone: no incident row is read.
        text_rows = _count_up_to(session, _fts_ids(flt.text), enough)
    else:
        text_rows = _capped_count(session, [_text_matches(session, flt.text, customers=customers)], enough)
    return "text" if text_rows <= enough else "filters"


def _walk(session: Session, conditions: list[ColumnElement[bool]], sort: str, offset: int,
          limit: int) -> list[int]:
    """Ids of a page read down the sort's own index(es), each row tested against `conditions`."""
    ids: list[int] = []
    for rows, order in _WALKS[sort]:
        stmt = select(Incident.id).where(*conditions, rows()).order_by(*order)
        found = list(session.scalars(stmt.limit(limit - len(ids)).offset(offset)))
        ids += found
        if len(ids) == limit:
            break
        # This segment ended inside the page (the next starts at its top) or before it (skip all of it).
        offset = 0 if found or not offset else offset - (session.scalar(
            select(func.count()).select_from(Incident).where(*conditions, rows())) or 0)
    return ids


def search(session: Session, flt: IncidentFilter, *, now: dt.datetime, page: int = 1,
           page_size: int = 50) -> tuple[list[IncidentRow], int]:
    """One page of incidents matching the filter, and how many match in all.

    Under a text search the count stops past `counted_up_to(page, page_size)`: a total above it
    means "at least that many", and the page after this one exists.
    """
    flt = replace(flt, text=_searchable(flt.text))
    offset = max(0, page - 1) * page_size
    if not _uses_text_index(flt.text):
        conditions = _conditions(session, flt, now)
        total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
        ids = list(session.scalars(select(Incident.id).where(*conditions).order_by(*_order(flt.sort))
                                   .limit(page_size).offset(offset)))
    else:
        ids, total = _text_search(session, flt, now=now, offset=offset, page_size=page_size,
                                  cap=counted_up_to(page, page_size))
    return rows_of(session, ids), total


def rows_of(session: Session, ids: list[int]) -> list[IncidentRow]:
    """The list rows of incidents `ids`, in that order."""
    if not ids:
        return []
    rows = {row[0]: IncidentRow(*row) for row in session.execute(_row_query().where(Incident.id.in_(ids)))}
    return [rows[i] for i in ids]


def caps_count(text: str) -> bool:
    """True when a search for `text` counts its matches only up to `counted_up_to` (it uses the text index)."""
    return _uses_text_index(_searchable(text))


def counted_up_to(page: int, page_size: int) -> int:
    """How far a text search counts its matches for page `page`: COUNT_CAP, or the end of that page."""
    return max(COUNT_CAP, max(1, page) * page_size)


def _text_search(session: Session, flt: IncidentFilter, *, now: dt.datetime, offset: int, page_size: int,
                 cap: int) -> tuple[list[int], int]:
    """A page of ids for a text search and its match count up to cap + 1, each on the cheapest side."""
    # Looked up once, and before the planner settings: with sequential scans off, PostgreSQL reads the
    # accounts table through an index (50 ms at 10k in the bench).
    customers = _matching_customers(session, flt.text)
    with _text_index_first(session, flt.text):
        lead = _text_lead(session, flt, now, customers)
        # Count on the text index unless the filters let fewer rows through: a common word's matches
        # come first and the LIMIT stops the count early.
        conditions = _conditions(session, flt, now, lead="filters" if lead == "filters" else "text",
                                 customers=customers)
        total = _capped_count(session, conditions, cap)
        if lead == "sort" and total > cap and flt.sort in _WALKS:
            with _planner(session, enable_bitmapscan="off", enable_sort="off"):
                walked = _conditions(session, flt, now, lead="sort", customers=customers)
                return _walk(session, walked, flt.sort, offset, page_size), total
        # Few matches (or no index for the sort): sort them all, led by the smaller side.
        order = _order(flt.sort, _unindexed)
        ids = list(session.scalars(select(Incident.id).where(*conditions).order_by(*order)
                                   .limit(page_size).offset(offset)))
    return ids, total


def board(session: Session, *, now: dt.datetime, limit: int = 300) -> list[IncidentRow]:
    """Every open incident for the emergency board, most urgent first (bounded)."""
    rows, _ = search(session, IncidentFilter(statuses=tuple(s.value for s in OPEN_STATUSES)), now=now,
                     page_size=limit)
    return rows


def owners(session: Session) -> list[tuple[int, str]]:
    """Active team members as (id, name) for pickers."""
    stmt = select(User.id, User.display_name).where(User.is_active.is_(True)).order_by(User.display_name)
    return [(uid, name) for uid, name in session.execute(stmt)]


BOARD_COLUMNS: tuple[IncidentStatus, ...] = (
    IncidentStatus.NEW, IncidentStatus.REOPENED, IncidentStatus.ACKNOWLEDGED, IncidentStatus.MOBILIZED,
    IncidentStatus.MITIGATED,
)


# The severities of the board's status columns: everything the emergency lane leaves.
OTHER_SEVERITIES: tuple[str, ...] = tuple(s for s in SEVERITIES if s not in EMERGENCY_SEVERITIES)


@dataclass(frozen=True)
class OpenCounts:
    """Exact counts of the open incidents at `now`: the lane, each status column, and what is overdue."""

    emergency: int
    by_status: dict[str, int]  # the incidents of each status outside the emergency lane
    clocks_overdue: int
    escalations_overdue: int
    updates_overdue: int

    @property
    def total(self) -> int:
        """How many incidents are open."""
        return self.emergency + sum(self.by_status.values())


def open_counts(session: Session, *, now: dt.datetime) -> OpenCounts:
    """Count every open incident by status and lane, and those with an overdue clock, escalation or client update."""
    # One pass over the open incidents found through ix_incidents_status_severity (0.3 % of the table
    # in the bench), so the board's figures stay exact however many cards it draws.
    def overdue(column: Any) -> Any:
        return func.sum(case((column < now, 1), else_=0))

    stmt = (select(Incident.status, Incident.severity, func.count(), overdue(Incident.next_deadline_at),
                   overdue(Incident.escalation_due_at), overdue(Incident.next_client_update_due_at))
            .where(_status_in(session, tuple(s.value for s in OPEN_STATUSES)))
            .group_by(Incident.status, Incident.severity))
    emergency, clocks, escalations, updates = 0, 0, 0, 0
    by_status = {status.value: 0 for status in BOARD_COLUMNS}
    for status, severity, count, late_clock, late_escalation, late_update in session.execute(stmt):
        if severity in EMERGENCY_SEVERITIES:
            emergency += count
        else:
            by_status[status] = by_status.get(status, 0) + count
        clocks += late_clock or 0
        escalations += late_escalation or 0
        updates += late_update or 0
    return OpenCounts(emergency, by_status, clocks, escalations, updates)


def most_urgent_open(session: Session, *, statuses: tuple[str, ...], severities: tuple[str, ...],
                     limit: int) -> list[IncidentRow]:
    """The `limit` most urgent open incidents of these statuses and severities (the list's "most urgent" order)."""
    ids = list(session.scalars(
        select(Incident.id).where(_status_in(session, statuses), Incident.severity.in_(severities))
        .order_by(*_order("urgent")).limit(limit)))
    return rows_of(session, ids)


def open_incident_counts(session: Session) -> dict[str, int]:
    """How many open incidents use each policy."""
    # Answered from ix_incidents_status_policy alone: open incidents are a few index entries per status.
    stmt = (select(Incident.policy_name, func.count()).where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
            .group_by(Incident.policy_name))
    return {name: count for name, count in session.execute(stmt)}


# How alike two titles must read (difflib's ratio, 0 to 1) for an open incident to be offered as a likely twin.
SIMILAR_TITLE_RATIO = 0.6


@dataclass(frozen=True)
class SimilarIncident:
    """An open incident of the same account whose title reads like the one being opened."""

    id: int
    title: str
    severity: str
    ratio: float


def similar_open_incidents(session: Session, *, account_id: int, title: str, limit: int = 3) -> list[SimilarIncident]:
    """The account's open incidents whose title is alike (ratio >= SIMILAR_TITLE_RATIO), most alike first."""
    wanted = " ".join(title.lower().split())
    if not wanted:
        return []
    rows = session.execute(select(Incident.id, Incident.title, Incident.severity).where(
        Incident.account_id == account_id, Incident.status.in_([s.value for s in OPEN_STATUSES])))
    found = []
    for incident_id, other, severity in rows:
        ratio = SequenceMatcher(None, wanted, " ".join(other.lower().split())).ratio()
        if ratio >= SIMILAR_TITLE_RATIO:
            found.append(SimilarIncident(incident_id, other, severity, round(ratio, 2)))
    return sorted(found, key=lambda s: (-s.ratio, s.id))[:limit]
