"""Escalation Desk's server: the app (`app.py` and `pages/`), its HTTP routes and the scheduler, one process.

`make run` serves this module with `streamlit run server.py`. At start-up, before anything is
served, the lifespan migrates the database (once per process, as every page's guard would) and
starts the background scheduler (`ui.scheduler_loop`), which queues and delivers alerts every
`ESCALATION_DESK_TICK_SECONDS` with nobody's browser open; it stops with the server.
`ESCALATION_DESK_SCHEDULER=off` leaves alerts to `python -m core tick` (cron or a worker).
Beside the pages: `/ack/<token>` (acknowledge a notification from its link), `/api/health`, and the
HTTP API under `/api/v1/` (`ui.api_routes`: alert intake and incident reads, with API tokens), and
the clients' status pages under `/status/` (`ui.status_routes`, `ui.status_subscription_routes`: signed
links, outside the sign-in gate, client-safe values only).
This module only wires; it holds no rules, and it is not a login gate (each page guards itself).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

from core.alerts import scheduler
from db.engine import get_engine
from db.migrate import DatabaseNotReady, prepare_database
from ui import app_address
from ui.api_routes import API_ROUTES
from ui.http_routes import ROUTES
from ui.scheduler_loop import PERIOD_ENV, SWITCH_ENV, SchedulerLoop, enabled_from, period_from, worker_name
from ui.status_routes import STATUS_ROUTES
from ui.status_subscription_routes import SUBSCRIPTION_ROUTES

log = get_logger(__name__)


def run_pass(now: dt.datetime) -> dict[str, Any]:
    """One scheduler pass at `now`, as this process."""
    return scheduler.tick(get_engine(), now=now, worker=worker_name(), base_url=app_address.server_base_url())


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Migrate, start the scheduler, serve; on shutdown stop the scheduler."""
    try:
        prepare_database()
    except DatabaseNotReady as problem:
        # The pages say the same to every visitor; the scheduler cannot work without the schema.
        log.error("The database is not ready, so alerts are not sent: %s", problem)
        yield
        return
    loop: SchedulerLoop | None = None
    if enabled_from(os.environ.get(SWITCH_ENV)):
        loop = SchedulerLoop(run_pass, period_from(os.environ.get(PERIOD_ENV)))
        loop.start()
    else:
        log.warning("Warning: %s is off: this server sends no alerts; run `python -m core tick` from cron or a "
                    "worker instead.", SWITCH_ENV)
    try:
        yield
    finally:
        if loop is not None:
            await loop.stop()


app = st.App("app.py", lifespan=lifespan, routes=[*ROUTES, *API_ROUTES, *STATUS_ROUTES, *SUBSCRIPTION_ROUTES])
