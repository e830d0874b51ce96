"""Who hears of a status page's updates: email subscribers (double opt-in), webhooks, the internal tier.

(Being built: issue 20, part 2. `notify_update` is the one entry `flows.post_update` calls.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from db.models import Communication, StatusPage


def notify_update(session: Session, *, page: StatusPage, communication: Communication, notify_public: bool,
                  base_url: str, now: dt.datetime) -> int:
    """Queue the update for the internal tier always, and for active email and webhook subscribers when
    `notify_public`; returns how many notifications were queued."""
    return 0
