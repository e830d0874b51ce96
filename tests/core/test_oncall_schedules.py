"""Storing schedules, layers, overrides, swaps and outside contacts (core.oncall), on SQLite and PostgreSQL.

The L1 schedule rotates Ana and Ben daily at 09:00 UTC from 1 March 2026: at NOW (10 March, 00:00
UTC) Ana is on call until 09:00, then Ben until 11 March 09:00.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.oncall import contacts, schedules, views
from core.oncall.resolve import on_call_at, schedule_for_level, user_who
from core.oncall.schedules import ScheduleError, ScheduleForbidden
from core.people.access import Role
from core.people.users import Actor
from db.engine import session_scope
from db.models import AuditEntry, NotificationEndpoint, OnCallSwap
from tests.conftest import make_user

NOW = dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def team(engine):
    """Users (lead, admin, Ana and Ben as CSMs) and an L1 schedule with a daily primary layer."""
    ids = {name: make_user(engine, name, role) for name, role in
           (("lead", "lead"), ("admin", "admin"), ("ana", "csm"), ("ben", "csm"), ("cleo", "csm"))}
    actors = {name: Actor(ids[name], name, Role(role)) for name, role in
              (("lead", "lead"), ("admin", "admin"), ("ana", "csm"), ("ben", "csm"), ("cleo", "csm"))}
    with session_scope(engine) as s:
        schedule = schedules.create_schedule(s, name="L1 technical lead on call", level="L1", time_zone="UTC",
                                             manager=user_who(ids["lead"]), actor=actors["lead"], now=NOW)
        layer = schedules.add_layer(s, schedule.id, name="Primary", rotation_kind="daily",
                                    start_local="2026-03-01T09:00", time_zone="UTC",
                                    members=[user_who(ids["ana"]), user_who(ids["ben"])], actor=actors["lead"],
                                    now=NOW)
        sid, layer_id, version = schedule.id, layer.id, schedule.version
    return {"engine": engine, "ids": ids, "as": actors, "schedule": sid, "layer": layer_id, "version": version}


def who_at(team, at: dt.datetime, position: int = 1) -> str | None:
    with session_scope(team["engine"]) as s:
        shift = on_call_at(s, team["schedule"], position, at)
        return shift.who if shift else None


def u(team, name: str) -> str:
    return user_who(team["ids"][name])


def test_the_schedule_answers_its_level_and_rotates(team):
    with session_scope(team["engine"]) as s:
        assert schedule_for_level(s, "L1").id == team["schedule"]
    assert who_at(team, NOW) == u(team, "ana")
    assert who_at(team, NOW + 9 * H) == u(team, "ben")


SCHEDULE_CASES = [
    ({"name": "  "}, "Give the schedule a name"),
    ({"name": "x" * 81}, "keep it to 80"),
    ({"level": "L5"}, "Unknown escalation level 'L5'"),
    ({"time_zone": "Mars/Base"}, "Unknown time zone 'Mars/Base'"),
    ({"ack_timeout_minutes": 0}, "The time to acknowledge (minutes) must be a whole number from 1 to 60"),
    ({"ack_timeout_minutes": 61}, "from 1 to 60"),
    ({"repeats": 6}, "The number of repeats must be a whole number from 0 to 5"),
    ({"ack_expires_minutes": 4}, "How long an acknowledgement holds (minutes) must be a whole number from 5 to 720"),
    ({"manager": "u:9999"}, "The manager 'u:9999' is unknown"),
    ({"manager": "boss"}, "The manager 'boss' is unknown"),
    ({"level": "L1"}, "L1 is already answered by the schedule 'L1 technical lead on call'"),
    ({"name": "L1 technical lead on call", "level": None}, "There is already a schedule named"),
]


@pytest.mark.parametrize("change, message", SCHEDULE_CASES, ids=[m for _, m in SCHEDULE_CASES])
def test_schedule_validations_say_what_to_fix(team, change, message):
    fields = {"name": "Team schedule", "level": "L2", "time_zone": "Europe/Paris", "manager": "",
              "ack_timeout_minutes": 5, "repeats": 2, "ack_expires_minutes": 30, **change}
    with pytest.raises(ScheduleError) as refused, session_scope(team["engine"]) as s:
        schedules.create_schedule(s, **fields, actor=team["as"]["admin"], now=NOW)
    assert message in str(refused.value)


LAYER_CASES = [
    ({"rotation_kind": "monthly"}, "Unknown rotation 'monthly'"),
    ({"start_local": "next monday"}, "The first handoff 'next monday' is not a date and time"),
    ({"start_local": "2026-03-01T09:00+01:00"}, "without an offset"),
    ({"rotation_kind": "hours", "shift_hours": 0}, "The shift length (hours) must be a whole number from 1 to 168"),
    ({"members": []}, "Add at least one member"),
    ({"members": ["u:9999"]}, "Member 1 'u:9999' is unknown"),
    ({"rotation_kind": "follow_the_sun", "members": ["ANA"]}, "needs their zone and the local time"),
    ({"rotation_kind": "follow_the_sun", "members": [{"who": "ANA", "zone": "Europe/London", "from": "8am"}]},
     "write the time as HH:MM"),
    ({"position": 1}, "Position 1 is already the layer 'Primary'"),
    ({"time_zone": "Europe/Londres"}, "Unknown time zone"),
]


def _ana(team, member):
    """The tables name Ana "ANA" (her user id is known only once the test runs)."""
    if isinstance(member, dict) and member["who"] == "ANA":
        return {**member, "who": u(team, "ana")}
    return u(team, "ana") if member == "ANA" else member


@pytest.mark.parametrize("change, message", LAYER_CASES, ids=[m for _, m in LAYER_CASES])
def test_layer_validations_say_what_to_fix(team, change, message):
    fields = {"name": "Secondary", "rotation_kind": "weekly", "start_local": "2026-03-02T09:00",
              "time_zone": "Europe/London", "members": [u(team, "ben")], **change}
    fields["members"] = [_ana(team, m) for m in fields["members"]]
    with pytest.raises(ScheduleError) as refused, session_scope(team["engine"]) as s:
        schedules.add_layer(s, team["schedule"], **fields, actor=team["as"]["lead"], now=NOW)
    assert message in str(refused.value)


def test_a_follow_the_sun_layer_is_stored_with_each_members_zone_and_start(team):
    with session_scope(team["engine"]) as s:
        layer = schedules.add_layer(
            s, team["schedule"], name="Secondary", rotation_kind="follow_the_sun", start_local="2026-03-01T00:00",
            time_zone="UTC", members=[(u(team, "ana"), "Australia/Sydney", "09:00"),
                                      {"who": u(team, "ben"), "zone": "Europe/London", "from": "09:00"}],
            actor=team["as"]["admin"], now=NOW)
        assert (layer.position, layer.members) == (2, [
            {"who": u(team, "ana"), "zone": "Australia/Sydney", "from": "09:00"},
            {"who": u(team, "ben"), "zone": "Europe/London", "from": "09:00"}])
    assert who_at(team, NOW + 10 * H, position=2) == u(team, "ben")   # 10:00 UTC: London's morning
    assert who_at(team, NOW + 23 * H, position=2) == u(team, "ana")   # 23:00 UTC: Sydney's morning


def test_a_csm_cannot_edit_a_schedule_or_its_layers(team):
    csm = team["as"]["ana"]
    with pytest.raises(ScheduleForbidden, match="Only team leads and admins may change schedules"), \
            session_scope(team["engine"]) as s:
        schedules.update_schedule(s, team["schedule"], expected_version=team["version"], repeats=1, actor=csm,
                                  now=NOW)
    with pytest.raises(ScheduleForbidden), session_scope(team["engine"]) as s:
        schedules.add_layer(s, team["schedule"], name="Mine", rotation_kind="daily", start_local="2026-03-01T09:00",
                            time_zone="UTC", members=[u(team, "ana")], actor=csm, now=NOW)
    with pytest.raises(ScheduleForbidden), session_scope(team["engine"]) as s:
        schedules.create_schedule(s, name="Mine", level=None, time_zone="UTC", actor=csm, now=NOW)


def test_a_stale_edit_is_refused_with_a_clear_message(team):
    with session_scope(team["engine"]) as s:
        schedules.update_schedule(s, team["schedule"], expected_version=team["version"], repeats=3,
                                  actor=team["as"]["lead"], now=NOW)
    with pytest.raises(ScheduleError) as refused, session_scope(team["engine"]) as s:
        schedules.update_schedule(s, team["schedule"], expected_version=team["version"], repeats=1,
                                  actor=team["as"]["admin"], now=NOW)
    assert "Someone changed the schedule 'L1 technical lead on call' while you were editing it" in str(refused.value)
    with session_scope(team["engine"]) as s:
        (row,) = views.schedules(s)
        assert (row.repeats, row.version) == (3, team["version"] + 1)
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "oncall_schedule")))
    assert actions == ["create", "change"]


def test_a_stale_layer_edit_is_refused(team):
    with session_scope(team["engine"]) as s:
        layer = schedules.update_layer(s, team["layer"], expected_version=1, name="First line",
                                       actor=team["as"]["lead"], now=NOW)
        assert layer.version == 2
    with pytest.raises(ScheduleError, match="Someone changed the layer 'First line'"), \
            session_scope(team["engine"]) as s:
        schedules.update_layer(s, team["layer"], expected_version=1, name="Other", actor=team["as"]["lead"], now=NOW)


def _override(team, actor: str, who: str, start: dt.datetime, end: dt.datetime, reason: str = ""):
    with session_scope(team["engine"]) as s:
        return schedules.add_override(s, team["schedule"], position=1, who=who, starts_at=start, ends_at=end,
                                      reason=reason, actor=team["as"][actor], now=NOW).id


def test_a_csm_may_put_themselves_on_call_and_a_repeat_adds_nothing(team):
    first = _override(team, "cleo", u(team, "cleo"), NOW + 10 * H, NOW + 12 * H, "I cover for Ben")
    assert _override(team, "cleo", u(team, "cleo"), NOW + 10 * H, NOW + 12 * H, "I cover for Ben") == first
    assert who_at(team, NOW + 11 * H) == u(team, "cleo")


def test_a_csm_may_hand_their_own_shift_to_a_colleague_but_not_someone_elses(team):
    _override(team, "ana", u(team, "cleo"), NOW + 1 * H, NOW + 3 * H)
    assert who_at(team, NOW + 2 * H) == u(team, "cleo")
    with pytest.raises(ScheduleForbidden, match="may only put themselves on call"):
        _override(team, "ana", u(team, "cleo"), NOW + 10 * H, NOW + 12 * H)  # Ben's shift
    with pytest.raises(ScheduleForbidden):
        _override(team, "ana", u(team, "cleo"), NOW + 8 * H, NOW + 10 * H)  # runs into Ben's shift


OVERRIDE_CASES = [
    (NOW + 2 * H, NOW + 2 * H, "ANA", "The end must come after the start"),
    (NOW + 2 * H, NOW + H, "ANA", "The end must come after the start"),
    (NOW, NOW + dt.timedelta(days=32), "ANA", "Cover at most 31 days at once (32 days asked)"),
    (NOW - 3 * H, NOW - H, "ANA", "already over"),
    (NOW, NOW + H, "u:9999", "The person 'u:9999' is unknown"),
    (NOW, NOW + H, "c:12", "The person 'c:12' is unknown"),
]


@pytest.mark.parametrize("start, end, who, message", OVERRIDE_CASES, ids=[c[3] for c in OVERRIDE_CASES])
def test_override_validations(team, start, end, who, message):
    with pytest.raises(ScheduleError) as refused:
        _override(team, "lead", u(team, "ana") if who == "ANA" else who, start, end)
    assert message in str(refused.value)


def test_override_of_an_override_and_cancelling_it(team):
    first = _override(team, "lead", u(team, "cleo"), NOW + H, NOW + 6 * H)
    second = _override(team, "lead", u(team, "ben"), NOW + 2 * H, NOW + 3 * H)
    assert [who_at(team, NOW + k * H) for k in (0, 1, 2, 3)] == [u(team, n) for n in ("ana", "cleo", "ben", "cleo")]
    with session_scope(team["engine"]) as s:
        schedules.cancel_override(s, second, actor=team["as"]["lead"], now=NOW)
    assert who_at(team, NOW + 2 * H) == u(team, "cleo")
    with pytest.raises(ScheduleForbidden, match="may cancel only the overrides they made"), \
            session_scope(team["engine"]) as s:
        schedules.cancel_override(s, first, actor=team["as"]["ana"], now=NOW)
    with session_scope(team["engine"]) as s:
        schedules.cancel_override(s, first, actor=team["as"]["cleo"], now=NOW)  # it put her on call
    assert who_at(team, NOW + 2 * H) == u(team, "ana")
    with pytest.raises(ScheduleError, match="already cancelled"), session_scope(team["engine"]) as s:
        schedules.cancel_override(s, first, actor=team["as"]["lead"], now=NOW)


def _ask(team, asker: str = "ana", asked: str = "ben") -> int:
    with session_scope(team["engine"]) as s:
        return schedules.ask_swap(s, team["schedule"], position=1, asked_id=team["ids"][asked], starts_at=NOW + H,
                                  ends_at=NOW + 5 * H, message="Dentist", actor=team["as"][asker], now=NOW).id


def test_an_accepted_swap_creates_the_override_and_changes_who_is_on_call(team):
    swap_id = _ask(team)
    with session_scope(team["engine"]) as s:
        (pending,) = views.pending_swaps(s, team["ids"]["ben"])
        assert (pending.requester_name, pending.asked_name, pending.state) == ("Ana", "Ben", "asked")
    with pytest.raises(ScheduleForbidden, match="Only the colleague asked may accept"), \
            session_scope(team["engine"]) as s:
        schedules.accept_swap(s, swap_id, actor=team["as"]["cleo"], now=NOW)
    with pytest.raises(ScheduleForbidden), session_scope(team["engine"]) as s:
        schedules.accept_swap(s, swap_id, actor=team["as"]["lead"], now=NOW)
    with session_scope(team["engine"]) as s:
        override = schedules.accept_swap(s, swap_id, actor=team["as"]["ben"], now=NOW, expected_version=1)
        assert (override.who, override.replaces) == (u(team, "ben"), u(team, "ana"))
        swap = s.get(OnCallSwap, swap_id)
        assert (swap.state, swap.override_id, swap.decided_at) == ("accepted", override.id, NOW)
    assert [who_at(team, NOW + k * H) for k in (0, 1, 4, 5)] == [u(team, n) for n in ("ana", "ben", "ben", "ana")]
    with pytest.raises(ScheduleError, match="already accepted"), session_scope(team["engine"]) as s:
        schedules.decline_swap(s, swap_id, actor=team["as"]["ben"], now=NOW)


def test_a_swap_declined_or_withdrawn_changes_nothing(team):
    declined, withdrawn = _ask(team), _ask(team, asked="cleo")
    assert _ask(team) == declined, "asking the same again is the request already waiting"
    with session_scope(team["engine"]) as s:
        schedules.decline_swap(s, declined, actor=team["as"]["ben"], now=NOW)
    with pytest.raises(ScheduleForbidden, match="Only the person who asked"), session_scope(team["engine"]) as s:
        schedules.cancel_swap(s, withdrawn, actor=team["as"]["cleo"], now=NOW)
    with session_scope(team["engine"]) as s:
        schedules.cancel_swap(s, withdrawn, actor=team["as"]["ana"], now=NOW)
        states = dict(s.execute(select(OnCallSwap.id, OnCallSwap.state)).all())
    assert states == {declined: "declined", withdrawn: "cancelled"}
    assert who_at(team, NOW + 2 * H) == u(team, "ana")


@pytest.mark.parametrize("asker, asked, message", [
    ("ben", "ana", "You are not on call on that layer"),   # Ben's shift starts at 09:00
    ("ana", "ana", "You cannot ask yourself"),
])
def test_a_swap_must_be_of_ones_own_shift_with_someone_else(team, asker, asked, message):
    with pytest.raises(ScheduleError, match=message):
        _ask(team, asker, asked)


def test_who_is_on_call_now_and_next_and_my_shifts(team):
    _override(team, "lead", u(team, "cleo"), NOW + 9 * H, NOW + 12 * H, "Ben is travelling")
    with session_scope(team["engine"]) as s:
        (row,) = views.who_is_on_call_now(s, NOW)
        mine = views.my_shifts(s, team["ids"]["cleo"], NOW)
    assert (row.level, row.layer_name, row.current.name, row.current.ends_at) == ("L1", "Primary", "Ana", NOW + 9 * H)
    assert (row.next.name, row.next.is_override, row.next.ends_at) == ("Cleo", True, NOW + 12 * H)
    assert [(m.schedule_name, m.starts_at, m.ends_at) for m in mine] == [
        ("L1 technical lead on call", NOW + 9 * H, NOW + 12 * H)]


def test_outside_contacts_are_checked_and_managed_by_leads(team):
    engine = team["engine"]
    with pytest.raises(contacts.ContactForbidden, match="Only team leads and admins"), session_scope(engine) as s:
        contacts.add_contact(s, name="Dana", email="dana@example.com", actor=team["as"]["ana"], now=NOW)
    for fields, message in [({"email": "dana"}, "is not an address"), ({"phone": "call me"}, "is not a phone number"),
                            ({}, "at least one way to reach them"), ({"endpoint_id": 999}, "generic webhooks")]:
        with pytest.raises(contacts.ContactError, match=message), session_scope(engine) as s:
            contacts.add_contact(s, name="Dana", **fields, actor=team["as"]["lead"], now=NOW)
    with session_scope(engine) as s:
        hook = NotificationEndpoint(name="Partner hook", kind="webhook", url="https://partner.example.com/hook",
                                    secret="s" * 20, levels=[], is_enabled=True, created_at=NOW)
        s.add(hook)
        s.flush()
        dana = contacts.add_contact(s, name="Dana Whitfield", organisation="Board", email="dana@example.com",
                                    phone="+1-555-0142", endpoint_id=hook.id, actor=team["as"]["lead"], now=NOW)
        dana_id = dana.id
    _override(team, "lead", f"c:{dana_id}", NOW + H, NOW + 2 * H)
    assert who_at(team, NOW + H) == f"c:{dana_id}"
    with session_scope(engine) as s:
        contacts.disable_contact(s, dana_id, expected_version=1, actor=team["as"]["admin"], now=NOW)
    with pytest.raises(ScheduleError, match="is disabled and cannot be on call"):
        _override(team, "lead", f"c:{dana_id}", NOW + 3 * H, NOW + 4 * H)
    with pytest.raises(contacts.ContactError, match="Someone changed"), session_scope(engine) as s:
        contacts.disable_contact(s, dana_id, expected_version=1, actor=team["as"]["admin"], now=NOW)


def test_removing_a_layer_and_deleting_a_schedule_are_for_leads_and_audited(team):
    with pytest.raises(ScheduleForbidden), session_scope(team["engine"]) as s:
        schedules.remove_layer(s, team["layer"], expected_version=1, actor=team["as"]["ana"], now=NOW)
    _override(team, "lead", u(team, "cleo"), NOW + H, NOW + 2 * H)
    _ask(team)
    with session_scope(team["engine"]) as s:
        schedules.remove_layer(s, team["layer"], expected_version=1, actor=team["as"]["lead"], now=NOW)
    assert who_at(team, NOW) is None, "no layer: nobody by rotation"
    assert who_at(team, NOW + H) == u(team, "cleo"), "a cover still applies to its position"
    with session_scope(team["engine"]) as s:
        schedules.delete_schedule(s, team["schedule"], expected_version=team["version"], actor=team["as"]["admin"],
                                  now=NOW)
        assert views.schedules(s) == [] and views.live_overrides(s, NOW) == []
        trail = list(s.execute(select(AuditEntry.entity_type, AuditEntry.action)
                               .where(AuditEntry.entity_type != "user").order_by(AuditEntry.id)))
    assert [tuple(row) for row in trail] == [
        ("oncall_schedule", "create"), ("oncall_layer", "create"), ("oncall_override", "create"),
        ("oncall_swap", "ask"), ("oncall_layer", "delete"), ("oncall_schedule", "delete")]


@pytest.mark.parametrize("at, who", [
    ("2026-03-07T13:59", "ana"), ("2026-03-07T14:00", "ben"),   # 09:00 EST
    ("2026-03-08T12:59", "ben"), ("2026-03-08T13:00", "ana"),   # 09:00 EDT, after the clocks spring forward
    ("2026-11-01T13:59", "ben"), ("2026-11-01T14:00", "ana"),   # 09:00 EST again, after they fall back
])
def test_a_stored_layer_hands_over_at_the_same_wall_clock_time_across_dst(team, at, who):
    with session_scope(team["engine"]) as s:
        schedules.update_layer(s, team["layer"], expected_version=1, start_local="2026-03-06T09:00",
                               time_zone="America/New_York", actor=team["as"]["lead"], now=NOW)
    assert who_at(team, dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)) == u(team, who)


def test_the_shift_on_call_at_ends_where_a_later_cover_begins(team):
    _override(team, "lead", u(team, "cleo"), NOW + 3 * H, NOW + 4 * H)
    with session_scope(team["engine"]) as s:
        shift = on_call_at(s, team["schedule"], 1, NOW)
    assert (shift.who, shift.ends_at) == (u(team, "ana"), NOW + 3 * H)


def test_an_edit_that_clashes_with_another_schedule_or_layer_says_so(team):
    with session_scope(team["engine"]) as s:
        other = schedules.create_schedule(s, name="Team rota", level=None, time_zone="UTC", actor=team["as"]["lead"],
                                          now=NOW)
        second = schedules.add_layer(s, team["schedule"], name="Secondary", rotation_kind="weekly",
                                     start_local="2026-03-02T09:00", time_zone="UTC", members=[u(team, "cleo")],
                                     actor=team["as"]["lead"], now=NOW)
        other_id, second_id = other.id, second.id
    with pytest.raises(ScheduleError, match="There is already a schedule named 'L1 technical lead on call'"), \
            session_scope(team["engine"]) as s:
        schedules.update_schedule(s, other_id, expected_version=1, name="L1 technical lead on call",
                                  actor=team["as"]["lead"], now=NOW)
    with pytest.raises(ScheduleError, match="Position 1 is already the layer 'Primary'"), \
            session_scope(team["engine"]) as s:
        schedules.update_layer(s, second_id, expected_version=1, position=1, actor=team["as"]["lead"], now=NOW)
    with pytest.raises(ScheduleError, match="needs their zone"), session_scope(team["engine"]) as s:
        schedules.update_layer(s, second_id, expected_version=1, rotation_kind="follow_the_sun",
                               actor=team["as"]["lead"], now=NOW)
