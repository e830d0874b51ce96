"""The growing pages' queries (issue 21): same answers as the queries they replace, led by indexes.

Home's open incidents, compose's incident picker, the policies page's open counts and the list's
text search answer exactly as the whole-table queries did (kept here as references), and their
plans start from the intended index on SQLite and PostgreSQL. The health signals derived from
incidents come from read models that the open flow keeps equal to a recomputation from scratch.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, insert, or_, select
from sqlalchemy.orm import aliased

from core.account import signals
from core.account.health import Observation
from core.communication import flows as comms
from core.incident import flows as incidents
from core.incident import service
from core.incident.lifecycle import Milestone
from core.incident.service import IncidentFilter, IncidentRow
from core.people.access import Role
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from core.vocabulary import OPEN_STATUSES
from db.engine import analyze, session_scope
from db.models import Account, AccountIncidentDay, Incident, IncidentAnswerReading, User
from tests.conftest import NOW, make_user

OPEN = [s.value for s in OPEN_STATUSES]


# --------------------------------------------------------------------------
# The queries as they were before issue 21: one OR over every incident, one sort of the whole table.


def _old_my_open(session, user_id: int, limit: int = 50) -> list[IncidentRow]:
    owner = aliased(User)
    stmt = (select(Incident.id, Incident.title, Account.name, Account.tier, Incident.severity, Incident.red_status,
                   Incident.status, func.coalesce(owner.display_name, ""), Incident.detected_at,
                   Incident.next_deadline_at, Incident.next_deadline_clock, Incident.escalation_due_at,
                   Incident.is_drill, Incident.outage_id)
            .join(Account, Account.id == Incident.account_id).outerjoin(owner, owner.id == Incident.owner_id)
            .where(Incident.status.in_(OPEN), or_(Incident.owner_id == user_id, Account.owner_id == user_id))
            .order_by(Incident.next_deadline_at.is_(None), Incident.next_deadline_at, Incident.id).limit(limit))
    return [IncidentRow(*row) for row in session.execute(stmt)]


def _old_composable(session, user_id: int, role: Role, limit: int = 200) -> list[tuple[int, str]]:
    stmt = (select(Incident.id, Incident.title, Incident.severity, Incident.status, Account.name)
            .join(Account, Account.id == Incident.account_id)
            .order_by(Incident.status.in_(OPEN).desc(), Incident.next_client_update_due_at.is_(None),
                      Incident.next_client_update_due_at, Incident.detected_at.desc())
            .limit(limit))
    if role is Role.CSM:
        stmt = stmt.where(or_(Account.owner_id == user_id, Incident.owner_id == user_id))
    return [(i, f"#{i} · {severity} · {account} · {title} ({status})")
            for i, title, severity, status, account in session.execute(stmt)]


def _old_derived(session, account_ids, since: dt.datetime, until: dt.datetime) -> list[Observation]:
    """Readings from every incident of the window, as derived_from_incidents computed them before."""
    stmt = select(Incident.account_id, Incident.detected_at, Incident.answers).where(
        Incident.detected_at > since, Incident.detected_at <= until, Incident.is_drill.is_(False))
    if account_ids is not None:
        stmt = stmt.where(Incident.account_id.in_(list(account_ids)))
    tickets: dict[tuple[int, dt.date], int] = {}
    readings = []
    for account_id, detected_at, answers in session.execute(stmt):
        day = detected_at.date()
        tickets[(account_id, day)] = tickets.get((account_id, day), 0) + 1
        for answer in ("csat", "uptime_pct"):
            if answers.get(answer) is not None:
                readings.append(Observation(account_id, answer, detected_at, float(answers[answer]), None, "incident"))
    readings += [Observation(a, "support_tickets", dt.datetime.combine(d, dt.time(), dt.UTC), n, None, "incident")
                 for (a, d), n in tickets.items()]
    return readings


# --------------------------------------------------------------------------
# A small team: Ana owns Acme, Ben owns Globex, nobody owns Initech; a lead sees everything.


@pytest.fixture
def team(engine) -> dict[str, Any]:
    ana, ben, lead = (make_user(engine, "ana", "csm"), make_user(engine, "ben", "csm"),
                      make_user(engine, "lea", "lead"))
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        accounts = {name: Account(name=name, tier="enterprise", annual_contract_value=Decimal(1), owner_id=owner)
                    for name, owner in (("Acme", ana), ("Globex", ben), ("Initech", None))}
        s.add_all(accounts.values())
        s.flush()
        ids = {name: a.id for name, a in accounts.items()}
    return {"engine": engine, "ana": ana, "ben": ben, "lead": lead, "accounts": ids}


def _open(engine, account_id: int, title: str, *, owner_id: int | None, hours_ago: float, answers=None,
          drill: bool = False, severity_impact: str = "major") -> int:
    with session_scope(engine) as s:
        opened = incidents.open_incident(
            s, account_id=account_id, title=title, summary=f"{title} (test)", policy_name="default",
            answers=Answers.model_validate({"business_impact": severity_impact, **(answers or {})}), actor=SYSTEM,
            now=NOW, detected_at=NOW - dt.timedelta(hours=hours_ago), owner_id=owner_id, is_drill=drill)
        return opened.id


def _resolve(engine, incident_id: int) -> None:
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=incident_id, milestone=Milestone.RESOLVED, actor=SYSTEM, now=NOW)


@pytest.fixture
def worked(team) -> dict[str, Any]:
    """Incidents owned by the account owner, by someone else, by nobody; open, resolved, drills."""
    engine, acme, globex, initech = team["engine"], *team["accounts"].values()
    ana, ben = team["ana"], team["ben"]
    cases = [
        # (account, owner, title, resolved, drill)
        (acme, ana, "both: Ana owns it and its account", False, False),
        (acme, ben, "account owner only: Ben works Ana's account", False, False),
        (globex, ana, "owner only: Ana helps on Globex", False, False),
        (globex, ben, "neither, for Ana", False, False),
        (initech, None, "nobody's", False, False),
        (acme, ana, "both, resolved", True, False),
        (globex, ana, "owner only, resolved", True, False),
        (acme, ben, "a drill on Ana's account", False, True),
        (initech, ana, "a drill Ana owns", False, True),
    ]
    ids = {}
    for n, (account, owner, title, resolved, drill) in enumerate(cases):
        ids[title] = _open(engine, account, title, owner_id=owner, hours_ago=2 + n * 5, drill=drill,
                           severity_impact=("major", "minor", "stopped")[n % 3])
        if resolved:
            _resolve(engine, ids[title])
    return {**team, "ids": ids}


@pytest.mark.parametrize("who", ["ana", "ben", "lead"])
def test_my_open_incidents_answers_as_the_whole_table_query(worked, who):
    with session_scope(worked["engine"]) as s:
        mine = service.my_open_incidents(s, user_id=worked[who])
        assert mine == _old_my_open(s, worked[who])
    titles = {r.title for r in mine}
    expected = {
        "ana": {"both: Ana owns it and its account", "account owner only: Ben works Ana's account",
                "owner only: Ana helps on Globex", "a drill on Ana's account", "a drill Ana owns"},
        "ben": {"account owner only: Ben works Ana's account", "owner only: Ana helps on Globex", "neither, for Ana",
                "a drill on Ana's account"},
        "lead": set(),
    }[who]
    assert titles == expected


def test_my_open_incidents_keeps_its_limit_and_order(worked):
    with session_scope(worked["engine"]) as s:
        assert service.my_open_incidents(s, user_id=worked["ana"], limit=2) == _old_my_open(s, worked["ana"], 2)


@pytest.mark.parametrize("who, role, limit", [
    ("ana", Role.CSM, 200), ("ben", Role.CSM, 200), ("lead", Role.LEAD, 200),
    ("ana", Role.CSM, 3),     # open ones only: the closed ones are cut by the limit
    ("lead", Role.LEAD, 8),   # open ones then one resolved
])
def test_composable_incidents_answer_as_the_whole_table_query(worked, who, role, limit):
    with session_scope(worked["engine"]) as s:
        assert (comms.composable_incidents(s, user_id=worked[who], role=role, limit=limit)
                == _old_composable(s, worked[who], role, limit))


def test_open_incident_counts_per_policy(worked):
    with session_scope(worked["engine"]) as s:
        s.get_one(Incident, worked["ids"]["nobody's"]).policy_name = "spark"
    with session_scope(worked["engine"]) as s:
        # Seven open (two of them drills), one moved to another policy; the resolved ones do not count.
        assert service.open_incident_counts(s) == {"default": 6, "spark": 1}


# --------------------------------------------------------------------------
# The derived health signals: read models kept by the open flow.


def signal_read_models(session) -> tuple[set, set]:
    """The rows of both derived-signal read models, as sets of tuples."""
    days = {tuple(r) for r in session.execute(select(
        AccountIncidentDay.account_id, AccountIncidentDay.day, AccountIncidentDay.tickets))}
    answers = {tuple(r) for r in session.execute(select(
        IncidentAnswerReading.incident_id, IncidentAnswerReading.metric, IncidentAnswerReading.account_id,
        IncidentAnswerReading.observed_at, IncidentAnswerReading.value))}
    return days, answers


@pytest.fixture
def signalled(team) -> dict[str, Any]:
    """Incidents over three UTC days, some giving CSAT or uptime, a drill that gives both, one resolved."""
    engine, (acme, globex, _) = team["engine"], team["accounts"].values()
    opened = [
        (acme, 1, {"csat": 6.5}, False),
        (acme, 3, {"uptime_pct": 99.2, "csat": 8}, False),
        (acme, 9.5, {}, False),               # 23:30 the day before: another UTC day
        (acme, 9, {}, False),                 # 00:00 exactly
        (globex, 30, {"csat": 4}, False),
        (globex, 2, {"csat": 1, "uptime_pct": 50}, True),   # a drill: counts for nothing
        (globex, 33.25, {}, False),
    ]
    ids = [_open(engine, account, f"case {n}", owner_id=None, hours_ago=hours, answers=answers, drill=drill)
           for n, (account, hours, answers, drill) in enumerate(opened)]
    _resolve(engine, ids[0])  # later writes leave the readings as they were
    return {**team, "ids": ids}


def test_read_models_equal_a_recomputation_after_the_writes(signalled):
    engine = signalled["engine"]
    with session_scope(engine) as s:
        kept = signal_read_models(s)
    with session_scope(engine) as s:
        signals.rebuild_signal_days(s)
    with session_scope(engine) as s:
        assert signal_read_models(s) == kept
    days, answers = kept
    acme, globex = signalled["accounts"]["Acme"], signalled["accounts"]["Globex"]
    # NOW is 09:00 UTC on 2 March: 9 h ago is midnight, 9.5 h ago the evening before.
    assert days == {(acme, dt.date(2026, 3, 2), 3), (acme, dt.date(2026, 3, 1), 1),
                    (globex, dt.date(2026, 3, 1), 1), (globex, dt.date(2026, 2, 28), 1)}
    assert {(metric, value) for _, metric, _, _, value in answers} == {("csat", 6.5), ("uptime_pct", 99.2),
                                                                       ("csat", 8.0), ("csat", 4.0)}


@pytest.mark.parametrize("since_hours, until_hours", [
    (60 * 24, 0),        # the health window: whole days from the read model, edges from incidents
    (9, 0),              # from midnight exactly (excluded) to now
    (9.25, 0.5),         # a window that cuts both of its days
    (31, 8.75),          # three days, none whole at either end
    (40, 30),            # ends on a detection time (included)
    (2, 1),              # within one day
])
@pytest.mark.parametrize("scope", ["all", "acme"])
def test_derived_readings_are_those_of_every_incident_of_the_window(signalled, since_hours, until_hours, scope):
    since, until = NOW - dt.timedelta(hours=since_hours), NOW - dt.timedelta(hours=until_hours)
    ids = None if scope == "all" else [signalled["accounts"]["Acme"]]
    key = lambda o: (o.account_id, o.metric, o.observed_at, o.value)  # noqa: E731
    with session_scope(signalled["engine"]) as s:
        assert (sorted(signals.derived_from_incidents(s, ids, since, until), key=key)
                == sorted(_old_derived(s, ids, since, until), key=key))


def test_the_health_report_groups_readings_per_account_and_metric(signalled):
    acme = signalled["accounts"]["Acme"]
    with session_scope(signalled["engine"]) as s:
        report = signals.health_report(s, signalled["accounts"].values(), NOW, readings_of=[acme])
    assert {o.account_id for o in report.observations} == {acme}  # only the accounts asked for
    assert report.series(acme, "csat") == [o for o in report.observations if o.account_id == acme
                                           and o.metric == "csat"]
    assert [o.value for o in report.series(acme, "csat")] == [8.0, 6.5]
    assert report.series(acme, "error_rate") == []


# --------------------------------------------------------------------------
# Plans: on a table of some thousands of incidents, each query starts from its index.


def _bulk(engine, accounts: dict[str, int], owners: list[int], count: int = 3000) -> None:
    """Insert `count` plain incidents (most closed, as in real life) and let the planner see them."""
    titles = ("Checkout API returns 500s", "Slow dashboard", "Login outage", "Webhook backlog", "Export corrupted")
    account_ids = list(accounts.values())
    rows = [{
        "title": f"{titles[n % len(titles)]} #{n}", "summary": "Bulk incident for plan tests",
        "account_id": account_ids[n % len(account_ids)], "policy_name": ("default", "spark")[n % 2],
        "policy_version": 1, "answers": {}, "triage_result": {}, "severity": f"P{n % 4}", "red_status": False,
        "escalation_category": "none", "status": "new" if n % 40 == 0 else "closed",
        "detected_at": NOW - dt.timedelta(minutes=n), "owner_id": owners[n % len(owners)],
        "next_deadline_at": NOW + dt.timedelta(minutes=n) if n % 40 == 0 else None,
        "created_at": NOW, "updated_at": NOW, "is_drill": False, "version": 1,
    } for n in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(Incident), rows)
        analyze(conn)


def _reads_incidents(statement: str) -> bool:
    return ("incidents" in statement and statement.lstrip().upper().startswith("SELECT")
            and "set_config" not in statement)


def plans_of(engine, call, wanted: Callable[[str], bool] = _reads_incidents) -> list[str]:
    """The plan of each statement `call(session)` runs that `wanted` picks (default: SELECTs on incidents), in order.

    Each plan is taken on the statement's own connection just before it runs, so it sees the planner
    settings the call has made in its transaction (the search's, on PostgreSQL).
    """
    plans: list[str] = []

    def grab(conn, cursor, statement, params, context, executemany):
        if not wanted(statement):
            return
        explain = cursor.connection.cursor()
        try:
            if engine.dialect.name == "sqlite":
                explain.execute("EXPLAIN QUERY PLAN " + statement, params)
                plans.append(" / ".join(r[3] for r in explain.fetchall()))
            else:
                explain.execute("EXPLAIN " + statement, params)
                plans.append(" / ".join(r[0] for r in explain.fetchall()))
        finally:
            explain.close()

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with session_scope(engine) as s:
            call(s)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return plans


def _full_scan(plan: str) -> bool:
    steps = [step.strip() for step in plan.split(" / ")]
    return any(step == "SCAN incidents" or step.startswith("Seq Scan on incidents") for step in steps)


@pytest.fixture
def planned(team) -> dict[str, Any]:
    _bulk(team["engine"], team["accounts"], [team["ana"], team["ben"], team["lead"]])
    return team


def test_my_open_incidents_reads_two_index_ranges(planned):
    (plan,) = plans_of(planned["engine"], lambda s: service.my_open_incidents(s, user_id=planned["ana"]))
    assert "ix_incidents_owner_status" in plan and "ix_incidents_account_status" in plan, plan
    assert not _full_scan(plan), plan


@pytest.mark.parametrize("role", [Role.CSM, Role.LEAD])
def test_composable_incidents_reads_open_ones_then_the_newest_closed(planned, role):
    open_plan, closed_plan = plans_of(planned["engine"], lambda s: comms.composable_incidents(
        s, user_id=planned["ana"], role=role))
    assert not _full_scan(open_plan) and not _full_scan(closed_plan), (open_plan, closed_plan)
    # Open ones by status from an index (per owner and per account for a CSM), never by walking every incident.
    assert ("ix_incidents_owner_status" if role is Role.CSM else "ix_incidents_") in open_plan, open_plan
    # The closed ones come down the detection-time index: no sort of every closed incident.
    assert "ix_incidents_detected_at" in closed_plan, closed_plan


def test_open_counts_come_from_the_status_policy_index(planned):
    (plan,) = plans_of(planned["engine"], service.open_incident_counts)
    assert "ix_incidents_status_policy" in plan and not _full_scan(plan), plan
    if planned["engine"].dialect.name == "sqlite":
        assert "COVERING INDEX" in plan, plan



@pytest.mark.parametrize("scope", [{}, {"csm_ids": (1,), "severities": ("P1",)}])
def test_time_to_acknowledge_reads_the_notifications_not_every_incident(planned, scope):
    from core.alerts.views import acknowledge_times
    from core.sla.queries import DashboardFilter

    flt = DashboardFilter.for_dates(NOW.date() - dt.timedelta(weeks=12), NOW.date(), **scope)
    (plan,) = plans_of(planned["engine"], lambda s: acknowledge_times(s, flt),
                       lambda statement: statement.lstrip().upper().startswith("SELECT")
                       and "notifications" in statement)
    # The incident is looked up per notification by its key; the join this replaced walked every incident.
    assert not _full_scan(plan) and "ix_incidents_account" not in plan, plan
    if planned["engine"].dialect.name == "sqlite":
        assert "SEARCH incidents USING INTEGER PRIMARY KEY" in plan, plan

NOW_FILTERS: list[dict[str, Any]] = [
    {}, {"statuses": ("closed",)}, {"statuses": ("new", "acknowledged")}, {"severities": ("P1", "P2")},
    {"owner_id": 1}, {"policy": "spark"}, {"detected_from": NOW - dt.timedelta(days=1)},
    {"detected_to": NOW - dt.timedelta(hours=1)}, {"urgency": "breached"}, {"urgency": "escalation_overdue"},
    {"urgency": "client_update_overdue"}, {"urgency": "due_within_hour"},
    {"statuses": ("closed",), "severities": ("P0",), "policy": "default", "detected_from": NOW - dt.timedelta(days=3)},
]


def _with_account(planned, filters: dict[str, Any]) -> dict[str, Any]:
    return {**filters, "account_id": planned["accounts"]["Globex"]} if "owner_id" in filters else filters


def _is_page(statement: str) -> bool:
    return statement.lstrip().startswith("SELECT incidents.id") and "ORDER BY" in statement


def _is_count(statement: str) -> bool:
    return "count(*)" in statement and "incidents" in statement


# Few: the text's matches lead ("webhook" is in 600 of the 3,000 titles, under service.FEW). Small: FEW and
# COUNT_CAP lowered so that a filter passing under 100 rows leads and any other one walks the sort's index.
SMALL = {"FEW": 100, "COUNT_CAP": 10}


def _lead_expected(planned, filters: dict[str, Any], sort: str) -> str:
    """The side the rule of service._text_lead picks, worked out here from whole counts."""
    with session_scope(planned["engine"]) as s:
        _, passing = service.search(s, IncidentFilter(**filters), now=NOW, page_size=1)
    text_matches = len(_reference(planned["engine"], {}, "newest"))
    matches = len(_reference(planned["engine"], filters, "newest"))
    if passing <= service.FEW:
        return "text" if text_matches <= passing else "filters"
    return "sort" if sort != "severity" and matches > service.COUNT_CAP else "text"


@pytest.mark.parametrize("small", [False, True], ids=["few text matches", "many matches"])
@pytest.mark.parametrize("sort", ["urgent", "newest", "oldest", "severity"])
@pytest.mark.parametrize("filters", NOW_FILTERS, ids=lambda f: "+".join(f) or "text only")
def test_every_filter_combination_searches_on_an_index(planned, filters, sort, small, monkeypatch):
    if small:
        for name, value in SMALL.items():
            monkeypatch.setattr(service, name, value)
    filters = _with_account(planned, filters)
    lead = _lead_expected(planned, filters, sort)
    flt = IncidentFilter(text="webhook", sort=sort, **filters)
    sqlite = planned["engine"].dialect.name == "sqlite"
    count_plan = plans_of(planned["engine"], lambda s: service.search(s, flt, now=NOW), _is_count)[-1]
    page_plans = plans_of(planned["engine"], lambda s: service.search(s, flt, now=NOW), _is_page)
    if lead != "sort":
        assert len(page_plans) == 1, page_plans
        # Counted on the side that leads: the text index, or the filters' index in a subquery of ids.
        for plan in (count_plan, page_plans[0]):
            assert not _full_scan(plan), plan
            if sqlite and lead == "text":
                assert "SCAN incidents_fts VIRTUAL TABLE" in plan and "INTEGER PRIMARY KEY" in plan, plan
                # No other index of incidents leads the query.
                assert "USING INDEX ix_incidents" not in plan.split("INDEX 2")[0], plan
            elif sqlite:
                # The ids that pass the filters, from their index; the text's ids as a set each one is probed in.
                assert plan.index("INDEX ix_incidents") < plan.index("SCAN incidents_fts VIRTUAL TABLE"), plan
                assert "LIST SUBQUERY 2" in plan, plan
            elif lead == "text":
                assert "ix_incidents_title_trgm" in plan and "ix_incidents_summary_trgm" in plan, plan
            else:
                assert "Index" in plan.split("->")[1 if "Aggregate" not in plan else 2] or "ix_incidents_" in plan, plan
        return
    # Many matches: counted on the text index up to the cap, the page read down the sort's own index.
    assert "incidents_fts" in count_plan if sqlite else "_trgm" in count_plan, count_plan
    index = {"newest": "ix_incidents_detected_at", "oldest": "ix_incidents_detected_at",
             "urgent": "ix_incidents_next_deadline"}[sort]
    assert index in page_plans[0], page_plans
    for plan in page_plans:
        assert not _full_scan(plan), plan
        if sqlite:
            assert "FOR ORDER BY" not in plan.replace("FOR RIGHT PART OF ORDER BY", ""), plan
            assert "LIST SUBQUERY" in plan and "INTEGER PRIMARY KEY" not in plan, plan
        else:
            steps = [step.strip().removeprefix("->").strip() for step in plan.split(" / ")]
            assert not any(step.startswith("Sort  (") for step in steps), plan  # an Incremental Sort of ties only
            assert "_trgm" not in plan and ("Index Scan" in plan), plan


def _reference(engine, filters: dict[str, Any], sort: str) -> list[int]:
    """Ids matching "webhook" in the plain list's own order: every row of the filter sorted, the text tested here."""
    with session_scope(engine) as s:
        everything, _ = service.search(s, IncidentFilter(sort=sort, **filters), now=NOW, page_size=5000)
    return [r.id for r in everything if "webhook" in r.title.lower()]


@pytest.mark.parametrize("small", [False, True], ids=["few text matches", "many matches"])
@pytest.mark.parametrize("sort", ["urgent", "newest", "oldest", "severity"])
@pytest.mark.parametrize("filters", [{}, {"statuses": ("closed",)}, {"statuses": ("new", "acknowledged")},
                                     {"severities": ("P1", "P2")}, {"detected_from": NOW - dt.timedelta(days=1)}],
                         ids=lambda f: "+".join(f) or "text only")
def test_each_strategy_pages_as_a_full_sort(planned, filters, sort, small, monkeypatch):
    # Same ids in the same order as sorting every match, page after page, and the count exact up to the
    # cap (or the page's end), one more beyond it.
    if small:
        for name, value in SMALL.items():
            monkeypatch.setattr(service, name, value)
    expected = _reference(planned["engine"], filters, sort)
    size, pages = 7, 4
    seen: list[int] = []
    with session_scope(planned["engine"]) as s:
        for page in range(1, pages + 1):
            rows, total = service.search(s, IncidentFilter(text="webhook", sort=sort, **filters), now=NOW,
                                         page=page, page_size=size)
            seen += [r.id for r in rows]
            cap = service.counted_up_to(page, size)
            assert total == min(len(expected), cap + 1), (page, total, len(expected), cap)
        # Past the last page: nothing, and the count still says how many there are.
        last = -(-len(expected) // size) + 1
        rows, total = service.search(s, IncidentFilter(text="webhook", sort=sort, **filters), now=NOW,
                                     page=last, page_size=size)
    assert seen == expected[:size * pages]
    assert rows == [] and total == min(len(expected), service.counted_up_to(last, size) + 1)


@pytest.mark.parametrize(("matches", "cap", "counted"), [(9, 10, 9), (10, 10, 10), (11, 10, 11), (12, 10, 11),
                                                         (600, 10, 11)])
def test_the_count_stops_one_past_the_cap(planned, monkeypatch, matches, cap, counted):
    monkeypatch.setattr(service, "COUNT_CAP", cap)
    with session_scope(planned["engine"]) as s:
        newest = [r.id for r in service.search(s, IncidentFilter(text="webhook", sort="newest"), now=NOW,
                                               page_size=5000)[0]]
    # The newest `matches` webhook incidents are those detected since the oldest of them.
    with session_scope(planned["engine"]) as s:
        since = s.get(Incident, newest[matches - 1]).detected_at
        _, total = service.search(s, IncidentFilter(text="webhook", detected_from=since), now=NOW, page_size=5)
    assert total == counted


@pytest.mark.parametrize("filters", NOW_FILTERS, ids=lambda f: "+".join(f) or "text only")
def test_search_answers_do_not_depend_on_the_index_used(planned, filters):
    # The same filter with a one-character text (no trigram: the plain condition path) and with the
    # text index must agree on which incidents match "Webhook backlog".
    engine = planned["engine"]
    with session_scope(engine) as s:
        by_index, total = service.search(s, IncidentFilter(text="webhook", sort="newest", **filters), now=NOW,
                                         page_size=1000)
        everything, _ = service.search(s, IncidentFilter(sort="newest", **filters), now=NOW, page_size=5000)
    assert total == len(by_index)
    assert [r.id for r in by_index] == [r.id for r in everything if "webhook" in r.title.lower()]


@pytest.mark.parametrize(("typed", "same_as"), [
    ("web\x00hook", "webhook"),                  # a NUL ends SQLite's full-text query; no stored text holds one
    ("\x00", ""),
    ("  webhook\x00  ", "webhook"),
    ("#99999999999999999999", None),             # too large for an id: searched as text, matches nothing
    ("#2147483648", None),                       # one past the largest id (INTEGER: 32 bits on PostgreSQL)
    ("９９", None),                               # digits of another script are text, not an id
])
def test_hostile_search_text_gets_an_answer_not_an_error(planned, typed, same_as):
    engine = planned["engine"]
    with session_scope(engine) as s:
        rows, total = service.search(s, IncidentFilter(text=typed, sort="newest"), now=NOW, page_size=5000)
        if same_as is None:
            assert (rows, total) == ([], 0)
        else:
            expected, expected_total = service.search(s, IncidentFilter(text=same_as, sort="newest"), now=NOW,
                                                      page_size=5000)
            assert [r.id for r in rows] == [r.id for r in expected] and total == expected_total > 0


def test_the_largest_id_is_still_found_by_number(planned):
    with session_scope(planned["engine"]) as s:
        some = service.search(s, IncidentFilter(sort="newest"), now=NOW, page_size=1)[0][0]
        rows, total = service.search(s, IncidentFilter(text=f"#{some.id}"), now=NOW)
        assert [r.id for r in rows] == [some.id] and total == 1
        assert service.search(s, IncidentFilter(text=f"#{service.MAX_INCIDENT_ID}"), now=NOW) == ([], 0)


def test_the_board_reads_open_incidents_through_a_status_index(planned):
    def board(s):
        service.open_counts(s, now=NOW)
        # _bulk's open incidents are all new P0s: a column's query asks for P0 too, to have rows to show.
        service.most_urgent_open(s, statuses=("new",), severities=("P0", *service.OTHER_SEVERITIES), limit=6)
        service.most_urgent_open(s, statuses=tuple(OPEN), severities=("P0", "P1"), limit=1000)

    counts, column_ids, column_rows, lane_ids, lane_rows = plans_of(planned["engine"], board)
    for plan in (counts, column_ids, lane_ids):
        assert "ix_incidents_status_" in plan and not _full_scan(plan), plan  # a status-led index
    for plan in (column_rows, lane_rows):  # the rows shown, by primary key
        assert not _full_scan(plan), plan
