"""The demo dataset: deterministic, realistic, built through the app's own flows."""

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from core.demo import dataset as demo
from core.policy import store as policy_store
from core.vocabulary import OPEN_STATUSES
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Account, Incident, TimelineEvent

# Every test reads the demo dataset, built through the app's flows on SQLite and on PostgreSQL.
pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _load(engine):
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
    with session_scope(engine) as s:
        return demo.load_if_empty(s, now=NOW)


def _fingerprint(engine) -> str:
    with session_scope(engine) as s:
        rows = s.execute(select(Incident.id, Incident.title, Incident.severity, Incident.status,
                                Incident.detected_at, Incident.resolved_at, Incident.policy_name)
                         .order_by(Incident.id)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, pg_url):
    sqlite = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    upgrade(sqlite)
    summary = _load(sqlite)
    pg = make_engine(pg_url)
    from tests.conftest import _truncate

    _truncate(pg)
    _load(pg)
    yield sqlite, pg, summary
    _truncate(pg)
    sqlite.dispose()
    pg.dispose()


def test_same_seed_same_data_on_both_databases(loaded):
    sqlite, pg, _ = loaded
    assert _fingerprint(sqlite) == _fingerprint(pg)


def test_shape_of_the_dataset(loaded):
    sqlite, _, summary = loaded
    assert summary.startswith("Demo data loaded: 8 team members, 40 accounts")
    with session_scope(sqlite) as s:
        tiers = dict(s.execute(select(Account.tier, func.count()).group_by(Account.tier)).all())
        severities = dict(s.execute(select(Incident.severity, func.count()).group_by(Incident.severity)).all())
        statuses = set(s.scalars(select(Incident.status).distinct()))
        first = s.scalar(select(func.min(Incident.detected_at)))
        policies = set(s.scalars(select(Incident.policy_name).distinct()))
        events = s.scalar(select(func.count()).select_from(TimelineEvent))
        total = s.scalar(select(func.count()).select_from(Incident))
    assert tiers == {"enterprise": 10, "pro": 16, "basic": 14}
    assert set(severities) == {"P0", "P1", "P2", "P3"}
    assert {"new", "acknowledged", "mobilized", "mitigated", "reopened", "closed"} <= statuses
    assert NOW - first > dt.timedelta(days=700)
    assert policies == {"default", "red-status", "spark", "crisis", "growth-engine", "teamflow"}
    assert events > total * 4, "incidents carry their milestones in the timeline"


def test_some_open_incidents_are_already_breached(loaded):
    sqlite, _, _ = loaded
    with session_scope(sqlite) as s:
        open_rows = s.scalars(select(Incident).where(Incident.status.in_([x.value for x in OPEN_STATUSES]))).all()
        overdue = [i for i in open_rows if i.next_deadline_at and i.next_deadline_at < NOW]
    assert len(open_rows) >= 10 and overdue


def test_some_open_incidents_are_escalated(loaded):
    from db.models import Escalation

    sqlite, _, _ = loaded
    with session_scope(sqlite) as s:
        escalated = s.scalars(select(Escalation.incident_id)).all()
        levels = s.scalars(select(Incident.current_level).where(Incident.current_level.is_not(None))).all()
    assert escalated and len(levels) == len(set(escalated))


def test_not_loaded_twice(loaded):
    sqlite, _, _ = loaded
    with session_scope(sqlite) as s:
        assert demo.load_if_empty(s, now=NOW).startswith("Demo data not loaded")


def test_one_open_incident_alerts_its_owner_a_minute_after_loading(loaded):
    """A newcomer sees the scheduler work: one scheduler period after `make run`, a warning is in an inbox."""
    from core.alerts.scheduler import tick
    from db.models import Notification, User

    def owner_warnings(engine, incident_id):
        with session_scope(engine) as s:
            return [(n.rule, n.state, n.user_id) for n in s.scalars(
                select(Notification).where(Notification.incident_id == incident_id)
                .where(Notification.channel == "inbox").where(Notification.rule.like("warn:%")))]

    for engine in loaded[:2]:
        with session_scope(engine) as s:
            incident = s.scalars(select(Incident)
                                 .where(Incident.title == "Checkout payments time out for every customer")).one()
            owner = s.get(User, incident.owner_id)
            assert owner is not None and owner.username == "priya"
            assert incident.next_deadline_at > NOW + dt.timedelta(minutes=1)  # not breached yet
            incident_id = incident.id
        tick(engine, now=NOW, worker="test", base_url="http://desk.test")
        assert owner_warnings(engine, incident_id) == []
        tick(engine, now=NOW + dt.timedelta(minutes=1, seconds=30), worker="test", base_url="http://desk.test")
        # SPARK P0: acknowledge and notify the client within 15m, each warned 5m ahead, both a minute from now.
        assert sorted(owner_warnings(engine, incident_id)) == [("warn:acknowledge", "sent", owner.id),
                                                               ("warn:client_notification", "sent", owner.id)]


def test_every_escalation_level_has_a_schedule_with_someone_on_call(loaded):
    from core.oncall import views
    from core.oncall.resolve import on_call_at, schedule_for_level

    sqlite, pg, _ = loaded
    for engine in (sqlite, pg):
        with session_scope(engine) as s:
            for level in ("L1", "L2", "L3", "L4"):
                schedule = schedule_for_level(s, level)
                assert schedule is not None, level
                assert (schedule.ack_timeout_minutes, schedule.repeats, bool(schedule.manager)) == (5, 2, True)
                for position in (1, 2):
                    assert on_call_at(s, schedule.id, position, NOW) is not None, (level, position)
            rotations = {layer.rotation for row in views.schedules(s) for layer in row.layers}
            assert rotations == {"weekly", "daily", "follow_the_sun"}
            assert schedule_for_level(s, "L4").manager.startswith("c:"), "the executive is L4's manager"
            assert len(views.live_overrides(s, NOW)) == 1
            assert sum(len(views.pending_swaps(s, uid)) for uid in range(1, 9)) == 2  # asked of one, by another


def test_the_incident_about_to_breach_pages_its_level_on_call_then_the_next_one(loaded):
    """Issue 18's demo: with nobody acknowledging, the first pass pages the primary on call for the
    incident's level (SPARK P0 requires L3 from detection), the pass after the schedule's 5 minutes the secondary."""
    from core.alerts.scheduler import tick
    from core.oncall.resolve import on_call_at, parse_who, schedule_for_level
    from db.models import Notification, Page

    for engine in loaded[:2]:
        with session_scope(engine) as s:
            incident = s.scalars(select(Incident)
                                 .where(Incident.title == "Checkout payments time out for every customer")).one()
            assert incident.required_level == "L3" and not incident.is_drill
            schedule = schedule_for_level(s, "L3")
            primary = on_call_at(s, schedule.id, 1, NOW)
            secondary = on_call_at(s, schedule.id, 2, NOW + dt.timedelta(minutes=6))
            expected = [parse_who(primary.who)[1], parse_who(secondary.who)[1]]
            incident_id, level_before = incident.id, incident.current_level

        def paged_users(engine=engine, incident_id=incident_id):
            with session_scope(engine) as s:
                rows = s.scalars(select(Notification).where(Notification.incident_id == incident_id,
                                                            Notification.page_id.is_not(None),
                                                            Notification.channel == "inbox")
                                 .order_by(Notification.id))
                return [n.user_id for n in rows]

        tick(engine, now=NOW, worker="test", base_url="http://desk.test")
        assert paged_users() == expected[:1]
        tick(engine, now=NOW + dt.timedelta(minutes=4), worker="test", base_url="http://desk.test")
        assert paged_users() == expected[:1], "the secondary waits the schedule's 5 minutes"
        tick(engine, now=NOW + dt.timedelta(minutes=6), worker="test", base_url="http://desk.test")
        assert paged_users() == expected
        with session_scope(engine) as s:
            page = s.scalars(select(Page).where(Page.incident_id == incident_id)).one()
            assert (page.level, page.state, page.step) == ("L3", "open", 1)
            assert s.get(Incident, incident_id).current_level == level_before, "paging never escalates"


def test_last_months_drill_is_resolved_marked_and_out_of_the_figures(loaded):
    """The playbooks' monthly escalation drill: one resolved drill, followed by the lead who ran it, in no figure."""
    from core.incident.followers import followers_of
    from db.models import IncidentFact, SlaClockFact

    for engine in loaded[:2]:
        with session_scope(engine) as s:
            (drill,) = s.scalars(select(Incident).where(Incident.is_drill.is_(True))).all()
            assert drill.title.startswith("Monthly escalation drill") and drill.resolved_at is not None
            assert drill.current_level is not None, "the drill practised an escalation"
            assert [f.name for f in followers_of(s, drill.id)] == ["Lena Ortiz"]
            for table in (IncidentFact, SlaClockFact):
                assert s.scalar(select(func.count()).select_from(table).where(table.incident_id == drill.id)) == 0


def test_a_platform_outage_links_open_incidents_on_several_accounts_each_with_a_status_page(loaded):
    from db.models import Communication, Outage, StatusPage

    for engine in loaded[:2]:
        with session_scope(engine) as s:
            outage = s.scalars(select(Outage)).one()
            linked = s.scalars(select(Incident).where(Incident.outage_id == outage.id)).all()
            pages = s.scalar(select(func.count()).select_from(StatusPage)
                             .where(StatusPage.incident_id.in_([i.id for i in linked])))
            posts = s.execute(select(Communication.incident_id, Communication.template_key)
                              .where(Communication.channel == "status_page")).all()
        assert (outage.title, outage.status) == ("Payments API returning errors", "open")
        assert 5 <= len(linked) <= 8
        assert len({i.account_id for i in linked}) == len(linked)
        assert len({i.owner_id for i in linked}) > 1, "each account's incident keeps its own owner"
        assert all(i.status in {x.value for x in OPEN_STATUSES} for i in linked)
        assert pages == len(linked)
        assert sorted(posts) == sorted([(i.id, "status_page") for i in linked]
                                       + [(i.id, "platform_outage_update") for i in linked])
