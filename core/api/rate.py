"""The per-token rate limit, shared by every server process through the database.

Each API token (and each alert source, as a negative bucket) may make `per_minute` calls a minute.
Calls are counted per minute in `api_rate_counts` by one atomic upsert; the calls of the last sixty
seconds are estimated as this minute's count plus the previous minute's, weighted by how much of it
still falls within the last sixty seconds (a sliding window: no double burst at a minute's turn).
Every call counts, refused ones too, so a client that ignores `Retry-After` stays refused. Time is a
parameter (`now`), never read here; never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import ApiRateCount

WINDOW = dt.timedelta(minutes=1)


def decide(previous: int, current: int, elapsed: float, per_minute: float) -> int | None:
    """None when the call (already in `current`) is allowed, else the seconds to wait (>= 1).

    `elapsed` is how far into this minute the call is, in seconds (0 to 60).
    """
    weight = max(0.0, 1.0 - elapsed / 60.0)
    if previous * weight + current <= per_minute:
        return None
    if current > per_minute:
        # This minute alone is over the limit: wait for the next one.
        return max(1, math.ceil(60.0 - elapsed))
    # The previous minute's share must fade: previous * (1 - (elapsed + wait) / 60) + current <= per_minute.
    wait = 60.0 * (1.0 - (per_minute - current) / previous) - elapsed
    return max(1, math.ceil(wait))


def _bump(session: Session, bucket: int, window_start: dt.datetime) -> int:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(ApiRateCount).values(bucket=bucket, window_start=window_start, count=1)
            .on_conflict_do_update(index_elements=["bucket", "window_start"],
                                   set_={"count": ApiRateCount.count + 1})
            .returning(ApiRateCount.count))
    return int(session.execute(stmt).scalar_one())


def take(session: Session, bucket: int, *, now: dt.datetime, per_minute: float) -> int | None:
    """Count one call of `bucket` at `now`: None when allowed, else the seconds to wait before the next."""
    window_start = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    previous_start = window_start - WINDOW
    current = _bump(session, bucket, window_start)
    previous = session.scalar(select(ApiRateCount.count).where(ApiRateCount.bucket == bucket,
                                                               ApiRateCount.window_start == previous_start)) or 0
    # Older minutes no longer count: remove this bucket's (its primary key's prefix finds them).
    session.execute(delete(ApiRateCount).where(ApiRateCount.bucket == bucket,
                                               ApiRateCount.window_start < previous_start))
    return decide(previous, current, (now - window_start).total_seconds(), per_minute)
