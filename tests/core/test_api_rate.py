"""The API's rate limit is counted in the database: every server process shares one count per token."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.api import rate
from db.engine import make_engine, session_scope
from db.models import ApiRateCount

T0 = dt.datetime(2026, 12, 7, 9, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("previous, current, elapsed, expected", [
    (0, 5, 10.0, None),      # within the limit
    (0, 6, 10.0, 50),        # this minute alone is over: wait for the next minute
    (5, 3, 30.0, 6),         # 5 * 0.5 + 3 = 5.5 > 5: wait until the previous minute's share fades to 2 (at 36 s)
    (5, 3, 48.0, None),      # 5 * 0.2 + 3 = 4
    (10, 1, 0.0, 36),        # at a minute's turn the previous one counts whole: 10 * (1 - 36 / 60) + 1 = 5
    (0, 6, 59.5, 1),         # never less than a second
])
def test_decide_is_a_sliding_minute(previous, current, elapsed, expected):
    assert rate.decide(previous, current, elapsed, per_minute=5) == expected


def _take(engine, bucket, at, per_minute=5):
    with session_scope(engine) as session:
        return rate.take(session, bucket, now=at, per_minute=per_minute)


def test_two_processes_share_one_count_per_token(engine):
    """Two engines stand for two server processes on one database: together they get the limit, not twice it."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        answers = [_take(engine if n % 2 else other, 7, T0 + dt.timedelta(seconds=n)) for n in range(8)]
        assert answers[:5] == [None] * 5 and all(wait is not None and wait >= 1 for wait in answers[5:])
        # Another token has its own count; a source's negative bucket too.
        assert _take(other, 8, T0 + dt.timedelta(seconds=9)) is None
        assert _take(engine, -7, T0 + dt.timedelta(seconds=9)) is None
        # Two minutes on, the old counts are gone and the token is allowed again.
        assert _take(engine, 7, T0 + dt.timedelta(minutes=2, seconds=30)) is None
        with session_scope(engine) as s:
            left = s.scalar(select(func.count()).select_from(ApiRateCount).where(ApiRateCount.bucket == 7))
        assert left == 1
    finally:
        other.dispose()


def test_the_turn_of_a_minute_gives_no_second_burst(engine):
    for n in range(5):
        assert _take(engine, 3, T0 + dt.timedelta(seconds=55 + n)) is None
    # Five calls at the end of one minute: the first seconds of the next still see them.
    assert _take(engine, 3, T0 + dt.timedelta(seconds=61)) is not None
