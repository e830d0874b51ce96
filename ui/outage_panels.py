"""The platform outage an incident belongs to, on the incident page (issue 20, being built)."""

from __future__ import annotations

import datetime as dt

from ui.auth import CurrentUser


def incident_outage_banner(incident_id: int, user: CurrentUser, editable: bool, now: dt.datetime) -> None:
    """Which platform outage the incident is part of, with attach and detach."""
