"""The next-update time a client message promises: the plan's own time when it can be kept, never a past one.

A message tells the client when they will hear from us next. The
communication plan (core.sla.schedule) says when the next update is due once
this message goes out; when that is at least `MIN_LEAD` ahead, the message
promises it. When it is closer, or already past (a planned entry the team ran
late on), a message cannot honestly promise it: it promises `now` plus
`FALLBACK` instead, and that plan entry will show as late, which the composer
says in red. The time is worked out each time the text is rendered, from the
`now` the caller passes: a rendered time is never kept for later. Pure: no
I/O, never reads the clock, never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Less than this ahead, nobody can write, check and send the next update in time.
MIN_LEAD = dt.timedelta(minutes=5)
# What a message promises instead: soon, and still a time the team can keep.
FALLBACK = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class PromisedUpdate:
    """The next update a message promises (None: none is promised) and the plan's due time it was worked out from."""

    at: dt.datetime | None
    plan_due: dt.datetime | None

    @property
    def late(self) -> bool:
        """True when the message promises later than the plan wants: that plan entry will show as late."""
        return self.at is not None and self.plan_due is not None and self.at > self.plan_due


def promise_next_update(plan_due: dt.datetime | None, now: dt.datetime) -> PromisedUpdate:
    """The plan's due time when it is at least MIN_LEAD after `now`, else `now` + FALLBACK; nothing without a plan."""
    if plan_due is None:
        return PromisedUpdate(None, None)
    if plan_due - now >= MIN_LEAD:
        return PromisedUpdate(plan_due, plan_due)
    return PromisedUpdate(now + FALLBACK, plan_due)
