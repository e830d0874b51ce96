"""Who is on call at a given instant: rotations across the US and EU clock changes, follow-the-sun, overrides.

2026 clock changes: America/New_York 8 March (02:00 -> 03:00) and 1 November (02:00 -> 01:00);
Europe/London 29 March (01:00 -> 02:00) and 25 October (02:00 -> 01:00); Australia/Sydney
5 April (03:00 -> 02:00) and 4 October (02:00 -> 03:00). Every instant below is UTC.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from core.oncall.rotation import Layer, Member, Override, Shift, layer_shift, on_call, timeline


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def rotating(kind: str, start: str, zone: str, hours: int = 24) -> Layer:
    return Layer(1, kind, dt.datetime.fromisoformat(start), zone, (Member("u:1"), Member("u:2")), hours)


SUN = Layer(1, "follow_the_sun", dt.datetime(2026, 3, 1), "UTC", (
    Member("u:sydney", "Australia/Sydney", dt.time(9)),
    Member("u:london", "Europe/London", dt.time(9)),
    Member("u:newyork", "America/New_York", dt.time(9)),
))

LAYERS = {
    "ny_daily": rotating("daily", "2026-03-06T09:00", "America/New_York"),
    "ny_weekly": rotating("weekly", "2026-03-02T09:00", "America/New_York"),
    "ny_daily_autumn": rotating("daily", "2026-10-30T09:00", "America/New_York"),
    "ldn_daily": rotating("daily", "2026-03-27T09:00", "Europe/London"),
    "ldn_weekly": rotating("weekly", "2026-10-19T09:00", "Europe/London"),
    # Handoffs at times the clocks skip (02:30 on 8 March) or show twice (01:30 on 1 November).
    "ny_skipped": rotating("daily", "2026-03-06T02:30", "America/New_York"),
    "ny_repeated": rotating("daily", "2026-10-30T01:30", "America/New_York"),
    # 12 real hours from 20:00 EST on 7 March (01:00 UTC on the 8th).
    "ny_hours": rotating("hours", "2026-03-07T20:00", "America/New_York", hours=12),
    "ldn_hours": rotating("hours", "2026-10-24T20:00", "Europe/London", hours=8),
    "sun": SUN,
}

# Ana (u:1) is on call by rotation; Ben covers 9:00-17:00 UTC on 10 March, then Cleo covers Ben's
# afternoon (an override of an override, made later); Dev's override was made first, under Ben's.
BEN = Override(10, 1, "u:ben", utc("2026-03-10T09:00"), utc("2026-03-10T17:00"), utc("2026-03-09T10:00"))
CLEO = Override(11, 1, "u:cleo", utc("2026-03-10T13:00"), utc("2026-03-10T15:00"), utc("2026-03-09T11:00"))
DEV = Override(9, 1, "u:dev", utc("2026-03-10T08:00"), utc("2026-03-10T10:00"), utc("2026-03-09T09:00"))
OTHER_LAYER = Override(12, 2, "u:eve", utc("2026-03-10T00:00"), utc("2026-03-11T00:00"), utc("2026-03-09T12:00"))
OVERRIDES = {"none": (), "ben_cleo_dev": (BEN, CLEO, DEV, OTHER_LAYER), "cancelled": (DEV, OTHER_LAYER)}

CASES = [
    # (what, layer, overrides, instant, who)
    ("NY daily: before the first handoff nobody", "ny_daily", "none", "2026-03-06T13:59", None),
    ("NY daily: first handoff 09:00 EST", "ny_daily", "none", "2026-03-06T14:00", "u:1"),
    ("NY daily: one minute before 09:00 EST", "ny_daily", "none", "2026-03-07T13:59", "u:1"),
    ("NY daily: 09:00 EST hands over", "ny_daily", "none", "2026-03-07T14:00", "u:2"),
    ("NY daily: after spring forward 09:00 EDT is 13:00 UTC", "ny_daily", "none", "2026-03-08T12:59", "u:2"),
    ("NY daily: 09:00 EDT hands over", "ny_daily", "none", "2026-03-08T13:00", "u:1"),
    ("NY weekly: Monday 9 March 09:00 EDT", "ny_weekly", "none", "2026-03-09T12:59", "u:1"),
    ("NY weekly: handoff at 13:00 UTC after the change", "ny_weekly", "none", "2026-03-09T13:00", "u:2"),
    ("NY daily autumn: 09:00 EDT on 31 October", "ny_daily_autumn", "none", "2026-10-31T13:00", "u:2"),
    ("NY daily autumn: after fall back 09:00 EST is 14:00 UTC", "ny_daily_autumn", "none", "2026-11-01T13:30",
     "u:2"),
    ("NY daily autumn: 09:00 EST hands over", "ny_daily_autumn", "none", "2026-11-01T14:00", "u:1"),
    ("London daily: 09:00 GMT on 28 March", "ldn_daily", "none", "2026-03-28T09:00", "u:2"),
    ("London daily: 09:00 BST on 29 March is 08:00 UTC", "ldn_daily", "none", "2026-03-29T07:59", "u:2"),
    ("London daily: hands over at 08:00 UTC", "ldn_daily", "none", "2026-03-29T08:00", "u:1"),
    ("London weekly: Monday 26 October, 09:00 GMT", "ldn_weekly", "none", "2026-10-26T08:30", "u:1"),
    ("London weekly: hands over at 09:00 UTC", "ldn_weekly", "none", "2026-10-26T09:00", "u:2"),
    ("Skipped 02:30: the day before, still the other", "ny_skipped", "none", "2026-03-08T06:59", "u:2"),
    ("Skipped 02:30: the handoff happens when clocks jump to 03:00", "ny_skipped", "none", "2026-03-08T07:00",
     "u:1"),
    ("Skipped 02:30: and holds", "ny_skipped", "none", "2026-03-08T07:20", "u:1"),
    ("Skipped 02:30: next day at 02:30 EDT", "ny_skipped", "none", "2026-03-09T06:30", "u:2"),
    ("Repeated 01:30: before its first occurrence", "ny_repeated", "none", "2026-11-01T05:29", "u:2"),
    ("Repeated 01:30: first occurrence (EDT) hands over", "ny_repeated", "none", "2026-11-01T05:30", "u:1"),
    ("Repeated 01:30: the repeated hour does not hand back", "ny_repeated", "none", "2026-11-01T06:15", "u:1"),
    ("Repeated 01:30: second 01:30 (EST) changes nothing", "ny_repeated", "none", "2026-11-01T06:45", "u:1"),
    ("Hours: 12 real hours across spring forward", "ny_hours", "none", "2026-03-08T12:59", "u:1"),
    ("Hours: next shift at 13:00 UTC (09:00 EDT)", "ny_hours", "none", "2026-03-08T13:00", "u:2"),
    ("Hours: 8 h from 19:00 UTC; 03:00 UTC on the 25th", "ldn_hours", "none", "2026-10-25T02:59", "u:1"),
    ("Hours: 8 real hours across fall back", "ldn_hours", "none", "2026-10-25T03:00", "u:2"),
    ("Sun: before the layer starts nobody", "sun", "none", "2026-02-28T12:00", None),
    ("Sun: London 09:00 GMT", "sun", "none", "2026-03-02T13:59", "u:london"),
    ("Sun: New York 09:00 EST", "sun", "none", "2026-03-02T14:00", "u:newyork"),
    ("Sun: Sydney 09:00 AEDT", "sun", "none", "2026-03-02T22:00", "u:sydney"),
    ("Sun: after the US change New York starts 13:00 UTC", "sun", "none", "2026-03-10T12:59", "u:london"),
    ("Sun: New York 09:00 EDT", "sun", "none", "2026-03-10T13:00", "u:newyork"),
    ("Sun: after the EU change London starts 08:00 UTC", "sun", "none", "2026-03-30T07:59", "u:sydney"),
    ("Sun: London 09:00 BST", "sun", "none", "2026-03-30T08:00", "u:london"),
    ("Sun: Sydney back to AEST starts 23:00 UTC", "sun", "none", "2026-04-07T22:30", "u:newyork"),
    ("Sun: after the EU autumn change London starts 09:00 UTC", "sun", "none", "2026-10-26T08:30", "u:sydney"),
    ("Sun: New York still on EDT", "sun", "none", "2026-10-26T13:30", "u:newyork"),
    ("Sun: after the US autumn change New York starts 14:00 UTC", "sun", "none", "2026-11-02T13:30", "u:london"),
    ("Sun: New York 09:00 EST", "sun", "none", "2026-11-02T14:00", "u:newyork"),
    ("Override: Dev from 08:00 UTC", "ny_daily", "ben_cleo_dev", "2026-03-10T08:30", "u:dev"),
    ("Override: Ben, newer, wins over Dev where they overlap", "ny_daily", "ben_cleo_dev", "2026-03-10T09:30",
     "u:ben"),
    ("Override of an override: Cleo covers Ben's afternoon", "ny_daily", "ben_cleo_dev", "2026-03-10T14:00",
     "u:cleo"),
    ("Override of an override: Ben again after Cleo", "ny_daily", "ben_cleo_dev", "2026-03-10T15:00", "u:ben"),
    ("Override ends: the rotation again", "ny_daily", "ben_cleo_dev", "2026-03-10T17:00", "u:1"),
    ("Cancelled override (Ben, Cleo left out): the older one applies", "ny_daily", "cancelled",
     "2026-03-10T09:30", "u:dev"),
    ("Cancelled override: the rotation after Dev", "ny_daily", "cancelled", "2026-03-10T14:00", "u:1"),
    ("Override: Ben's own override runs to its end", "ny_daily", "ben_cleo_dev", "2026-03-10T16:59", "u:ben"),
]


@pytest.mark.parametrize("what, layer, overrides, instant, who", CASES, ids=[case[0] for case in CASES])
def test_who_is_on_call_at_an_instant(what, layer, overrides, instant, who):
    shift = on_call([LAYERS[layer]], OVERRIDES[overrides], 1, utc(instant))
    assert (shift.who if shift else None) == who
    if shift is not None:
        assert shift.starts_at <= utc(instant) < shift.ends_at, "the shift returned contains the instant"


def test_an_override_on_another_layer_changes_nothing_here():
    assert on_call([LAYERS["ny_daily"]], [OTHER_LAYER], 1, utc("2026-03-10T12:00")).who == "u:2"


def test_an_override_before_the_layer_starts_is_the_only_one_on_call():
    early = Override(1, 1, "u:early", utc("2026-03-01T00:00"), utc("2026-03-02T00:00"), utc("2026-02-20T00:00"))
    assert on_call([LAYERS["ny_daily"]], [early], 1, utc("2026-03-01T12:00")).who == "u:early"
    assert on_call([LAYERS["ny_daily"]], [early], 1, utc("2026-03-02T12:00")) is None


@pytest.mark.parametrize("layer, day, hours", [
    ("ny_daily", "2026-03-07T14:00", 23),        # the day the clocks spring forward is 23 hours long
    ("ny_daily_autumn", "2026-10-31T13:00", 25),  # the day they fall back, 25
    ("ldn_daily", "2026-03-28T09:00", 23),
    ("ldn_weekly", "2026-10-19T08:00", 7 * 24 + 1),
    ("ny_hours", "2026-03-08T01:00", 12),         # shifts of real hours stay 12 hours long
    ("ldn_hours", "2026-10-25T03:00", 8),
])
def test_shift_length_across_a_clock_change(layer, day, hours):
    shift = layer_shift(LAYERS[layer], utc(day))
    assert shift is not None and shift.ends_at - shift.starts_at == dt.timedelta(hours=hours)


def test_the_timeline_lists_consecutive_shifts_cut_by_overrides():
    shifts = timeline([LAYERS["ny_daily"]], OVERRIDES["ben_cleo_dev"], 1, utc("2026-03-10T00:00"), 7)
    assert [(s.who, s.starts_at.strftime("%H:%M")) for s in shifts] == [
        ("u:2", "13:00"), ("u:dev", "08:00"), ("u:ben", "09:00"), ("u:cleo", "13:00"), ("u:ben", "15:00"),
        ("u:1", "17:00"), ("u:2", "13:00")]
    assert all(a.ends_at == b.starts_at for a, b in itertools.pairwise(shifts))
    assert shifts[0].starts_at == utc("2026-03-09T13:00"), "the first shift is the whole shift running at the start"


def test_the_timeline_of_a_layer_not_started_yet_begins_at_its_first_handoff():
    shifts = timeline([LAYERS["ny_daily"]], [], 1, utc("2026-03-01T00:00"), 2)
    assert shifts == [Shift("u:1", utc("2026-03-06T14:00"), utc("2026-03-07T14:00"), 1),
                      Shift("u:2", utc("2026-03-07T14:00"), utc("2026-03-08T13:00"), 1)]
