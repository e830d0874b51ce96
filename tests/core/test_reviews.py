"""The post-resolution review schedule from each policy, ticking reviews off, and the .ics file."""

import datetime as dt
from decimal import Decimal

import icalendar
import pytest
from sqlalchemy import delete, func, select

from core.incident import flows as incidents
from core.incident import reviews
from core.incident.lifecycle import Milestone
from core.incident.reviews import ReviewConflict, ReviewError
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.policy.loading import load_preset
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident, ReviewTask, TimelineEvent
from tests.conftest import NOW, make_user

RESOLVED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
H, W, D30 = dt.timedelta(hours=1), dt.timedelta(weeks=1), dt.timedelta(days=30)


# From the playbooks: red-status reviews 24 h, 1 week and 1 month after resolution; SPARK's
# retrospective within 24 h; TeamFlow's root cause analysis within 48 h; crisis and growth-engine
# name a review but no time (their presets choose a week); the default combines them.
@pytest.mark.parametrize("preset, expected", [
    ("red-status", [("review-24h", 24 * H), ("review-1w", W), ("review-1m", D30)]),
    ("spark", [("retrospective", 24 * H)]),
    ("teamflow", [("root-cause-analysis", 48 * H)]),
    ("crisis", [("blameless-post-mortem", W)]),
    ("growth-engine", [("post-incident-review", W)]),
    ("default", [("retrospective", 24 * H), ("root-cause-analysis", 48 * H), ("review-1w", W),
                 ("review-1m", D30)]),
])
def test_plan_places_each_policy_review_after_resolution(preset, expected):
    policy = load_preset(preset)
    planned = reviews.plan([(r.key, r.title, r.after_resolution) for r in policy.reviews], RESOLVED)
    assert [(p.key, p.due_at) for p in planned] == [(key, RESOLVED + after) for key, after in expected]


def _setup(engine, policy="red-status", account_owner="csm1"):
    ids = {name: make_user(engine, name, role) for name, role in (("csm1", "csm"), ("csm2", "csm"), ("lead1", "lead"))}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=ids[account_owner])
        s.add(account)
        s.flush()
        opened = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="",
                                         answers=Answers(business_impact="stopped"), policy_name=policy,
                                         actor=SYSTEM, now=RESOLVED - 5 * H, detected_at=RESOLVED - 5 * H)
        incidents.record_milestone(s, incident_id=opened.id, milestone=Milestone.RESOLVED, actor=SYSTEM,
                                   now=RESOLVED, at=RESOLVED)
    return ids, opened.id


def _resolve_by_milestone(s, iid, at):
    incidents.record_milestone(s, incident_id=iid, milestone=Milestone.RESOLVED, actor=SYSTEM, now=at, at=at)


def _resolve_by_status(s, iid, at):
    incidents.move_status(s, incident_id=iid, target="resolved", actor=SYSTEM, now=at)


RESOLVE_PATHS = pytest.mark.parametrize("resolve", [_resolve_by_milestone, _resolve_by_status],
                                        ids=["milestone", "status"])


def _unresolved(engine, policy="red-status"):
    """An incident of `policy` opened 5 h before RESOLVED and not resolved."""
    ids = {name: make_user(engine, name, role) for name, role in (("csm1", "csm"), ("lead1", "lead"))}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=ids["csm1"])
        s.add(account)
        s.flush()
        opened = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="",
                                         answers=Answers(business_impact="stopped"), policy_name=policy,
                                         actor=SYSTEM, now=RESOLVED - 5 * H, detected_at=RESOLVED - 5 * H)
    return ids, opened.id


@RESOLVE_PATHS
def test_resolving_schedules_the_reviews_in_the_same_unit_of_work(engine, resolve):
    _ids, iid = _unresolved(engine)
    with session_scope(engine) as s:
        assert reviews.review_tasks(s, iid) == []
        resolve(s, iid, RESOLVED)
        # Same transaction: the tasks are there before anything is committed.
        assert [(t.key, t.due_at) for t in reviews.review_tasks(s, iid)] == [
            ("review-24h", RESOLVED + 24 * H), ("review-1w", RESOLVED + W), ("review-1m", RESOLVED + D30)]
        events = s.scalars(select(TimelineEvent.summary).where(TimelineEvent.incident_id == iid,
                                                               TimelineEvent.kind == "review")).all()
        assert events == ["Reviews scheduled: review-24h, review-1w, review-1m"]


@RESOLVE_PATHS
def test_a_resolution_rolled_back_leaves_no_review_task(engine, resolve):
    _ids, iid = _unresolved(engine)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        resolve(s, iid, RESOLVED)
        raise RuntimeError("the unit of work fails after the resolution")
    with session_scope(engine) as s:
        assert reviews.review_tasks(s, iid) == []
        assert s.get(Incident, iid).resolved_at is None


def test_reading_a_resolved_incident_schedules_nothing_more(engine):
    _ids, iid = _setup(engine)
    with session_scope(engine) as s:
        before = [(t.id, t.due_at, t.version) for t in reviews.review_tasks(s, iid)]
    with session_scope(engine) as s:
        assert [(t.id, t.due_at, t.version) for t in reviews.review_tasks(s, iid)] == before
        assert s.scalar(select(func.count()).select_from(ReviewTask)) == 3


@RESOLVE_PATHS
def test_a_new_resolution_re_dates_the_open_reviews(engine, resolve):
    ids, iid = _setup(engine)
    lead = Actor(ids["lead1"], "lead1", Role.LEAD)
    with session_scope(engine) as s:
        tasks = reviews.review_tasks(s, iid)
        reviews.set_review_done(s, task_id=tasks[0].id, done=True, actor=lead, now=RESOLVED + 20 * H)
    later = RESOLVED + 2 * 24 * H
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=iid, target="reopened", reason="still failing", actor=SYSTEM, now=later)
    with session_scope(engine) as s:
        # Reopening alone moves nothing: there is no new resolution time to count from.
        assert [t.due_at for t in reviews.review_tasks(s, iid)] == [t.due_at for t in tasks]
    again = later + 3 * H
    with session_scope(engine) as s:
        resolve(s, iid, again)
        moved = reviews.review_tasks(s, iid)
        summaries = s.scalars(select(TimelineEvent.summary).where(TimelineEvent.incident_id == iid,
                                                                  TimelineEvent.kind == "review")
                              .order_by(TimelineEvent.id)).all()
    assert [(t.id, t.key, t.due_at, t.done_at is not None) for t in moved] == [
        (tasks[0].id, "review-24h", RESOLVED + 24 * H, True),  # done reviews keep their date
        (tasks[1].id, "review-1w", again + W, False), (tasks[2].id, "review-1m", again + D30, False)]
    assert summaries[-1] == "Reviews moved to the new resolution time: review-1w, review-1m"


def test_a_policy_without_reviews_schedules_none(engine):
    _ids, iid = _unresolved(engine)
    with session_scope(engine) as s:
        incident = s.get(Incident, iid)
        incident.snapshot = policy_store.store_snapshot(s, {**incident.policy_snapshot, "reviews": []}, now=RESOLVED)
    with session_scope(engine) as s:
        _resolve_by_milestone(s, iid, RESOLVED)
    with session_scope(engine) as s:
        assert reviews.review_tasks(s, iid) == []
        assert reviews.backfill_missing(s, now=RESOLVED + H) == 0


def test_backfill_schedules_incidents_resolved_before_the_flow_did(engine):
    _ids, iid = _setup(engine)
    with session_scope(engine) as s:
        s.execute(delete(ReviewTask).where(ReviewTask.incident_id == iid))  # as stored by older versions
    with session_scope(engine) as s:
        assert reviews.backfill_missing(s, now=RESOLVED + H) == 1
    with session_scope(engine) as s:
        assert [(t.key, t.due_at) for t in reviews.review_tasks(s, iid)] == [
            ("review-24h", RESOLVED + 24 * H), ("review-1w", RESOLVED + W), ("review-1m", RESOLVED + D30)]
        assert reviews.backfill_missing(s, now=RESOLVED + H) == 0, "once only"


def test_no_schedule_for_an_open_incident(engine):
    _ids, iid = _unresolved(engine)
    with session_scope(engine) as s:
        incidents.record_milestone(s, incident_id=iid, milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM,
                                   now=RESOLVED, at=RESOLVED)
    with session_scope(engine) as s:
        assert reviews.review_tasks(s, iid) == []
        assert reviews.backfill_missing(s, now=RESOLVED + H) == 0


@pytest.mark.parametrize("who, role, allowed", [("csm1", Role.CSM, True), ("csm2", Role.CSM, False),
                                                ("lead1", Role.LEAD, True)])
def test_who_may_tick_off_a_review(engine, who, role, allowed):
    ids, iid = _setup(engine, policy="spark")
    with session_scope(engine) as s:
        task = reviews.review_tasks(s, iid)[0]
    change = dict(task_id=task.id, done=True, actor=Actor(ids[who], who, role), now=RESOLVED + H)
    if allowed:
        with session_scope(engine) as s:
            reviews.set_review_done(s, **change)
        with session_scope(engine) as s:
            row = s.get(ReviewTask, task.id)
            assert (row.done_at, row.done_by_id) == (RESOLVED + H, ids[who])
    else:
        with session_scope(engine) as s, pytest.raises(ReviewError, match="Only the account's CSM"):
            reviews.set_review_done(s, **change)


def test_stale_tick_is_a_conflict(engine):
    ids, iid = _setup(engine, policy="spark")
    lead = Actor(ids["lead1"], "lead1", Role.LEAD)
    with session_scope(engine) as s:
        task = reviews.review_tasks(s, iid)[0]
        seen = task.version
    with session_scope(engine) as s:
        reviews.set_review_done(s, task_id=task.id, done=True, actor=lead, now=RESOLVED + H,
                                expected_version=seen)
    with session_scope(engine) as s, pytest.raises(ReviewConflict):
        reviews.set_review_done(s, task_id=task.id, done=False, actor=lead, now=RESOLVED + H,
                                expected_version=seen)
    with session_scope(engine) as s:
        assert s.get(ReviewTask, task.id).done_at == RESOLVED + H


def test_overdue_reviews(engine):
    ids, iid = _setup(engine)
    with session_scope(engine) as s:
        tasks = reviews.review_tasks(s, iid)
        reviews.set_review_done(s, task_id=tasks[0].id, done=True,
                                actor=Actor(ids["lead1"], "lead1", Role.LEAD), now=RESOLVED + H)
    at = RESOLVED + 8 * 24 * H
    with session_scope(engine) as s:
        assert [t.key for t in reviews.overdue_reviews(s, now=at)] == ["review-1w"]
        assert reviews.count_overdue_reviews(s, now=at) == 1
        assert reviews.count_overdue_reviews(s, account_ids=[-1], now=at) == 0
        assert reviews.count_overdue_reviews(s, now=RESOLVED + 40 * 24 * H) == 2


def test_ics_holds_one_event_per_review_at_the_right_utc_time(engine):
    _ids, iid = _setup(engine)
    with session_scope(engine) as s:
        tasks = reviews.review_tasks(s, iid)
    link = f"https://desk.example/incident?id={iid}"
    data = reviews.reviews_ics(tasks, incident_id=iid, incident_title="Checkout down", account_name="Acme Corp",
                               link=link)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = calendar.walk("VEVENT")
    assert [(str(e["UID"]), e.decoded("DTSTART")) for e in events] == [
        (f"review-task-{t.id}@escalation-desk", t.due_at) for t in tasks]
    assert [e.decoded("DTSTART") for e in events] == [RESOLVED + 24 * H, RESOLVED + W, RESOLVED + D30]
    for event in events:
        assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
        assert event.decoded("DTSTAMP") == RESOLVED, "when the resolution created the task"
        assert str(event["SUMMARY"]).startswith(f"Review #{iid}: ")
        assert link in str(event["DESCRIPTION"])
    assert b"DTSTART:20260303T080000Z" in data, "UTC times are written with the Z suffix"
    again = reviews.reviews_ics(tasks, incident_id=iid, incident_title="Checkout down", account_name="Acme Corp",
                                link=link)
    assert again == data, "the same tasks always give the same file (stable UIDs, stamps)"


def test_review_task_rows_match_the_database(engine):
    _setup(engine, policy="teamflow")
    with session_scope(engine) as s:
        row = s.scalar(select(ReviewTask))
        assert (row.key, row.after_resolution_minutes, row.due_at) == ("root-cause-analysis", 48 * 60,
                                                                       RESOLVED + 48 * H)


@pytest.mark.parametrize("review, message", [
    ({"key": "r", "title": "Review", "after_resolution": "0m"}, "reviews[0].after_resolution: a review falls due"),
    ({"key": "r", "title": "Review", "after_resolution": "soon"}, "reviews[0].after_resolution: not a duration"),
    ({"key": "r", "title": "Review"}, "reviews[0].after_resolution: this required key is missing"),
    ({"key": "r", "title": "Review", "after_resolution": "1w", "owner": "x"}, "unknown key 'owner'"),
])
def test_policy_reviews_are_validated(review, message):
    import yaml

    from core.policy.loading import PRESET_DIR, PolicyError, parse_policy

    data = yaml.safe_load((PRESET_DIR / "spark.yaml").read_text())
    data["reviews"] = [review]
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(yaml.safe_dump(data), "spark.yaml")


@pytest.mark.parametrize("zone, done_text", [("UTC", "Done 2026-03-02 09:00 UTC by Lead1."),
                                             ("Europe/Paris", "Done 2026-03-02 10:00 CET by Lead1.")])
def test_ics_events_stay_utc_and_their_words_follow_the_exporters_zone(engine, zone, done_text):
    ids, iid = _setup(engine)
    with session_scope(engine) as s:
        first = reviews.review_tasks(s, iid)[0]
        reviews.set_review_done(s, task_id=first.id, done=True, actor=Actor(ids["lead1"], "lead1", Role.LEAD),
                                now=RESOLVED + H)
    with session_scope(engine) as s:
        tasks = reviews.review_tasks(s, iid)
    data = reviews.reviews_ics(tasks, incident_id=iid, incident_title="Checkout down", account_name="Acme Corp",
                               link="https://desk.example", time_zone=zone)
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert b"DTSTART:20260303T080000Z" in data, "a calendar shows the UTC instant in its own zone"
    assert done_text in str(events[0]["DESCRIPTION"])
