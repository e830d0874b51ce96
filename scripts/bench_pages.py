"""The pages the benchmark times: which script, as whom, with which `?id=` or widget state, on a built dataset.

`targets(engine, now)` picks the subjects from the dataset (the CSM with the most accounts, the
busiest account, an open incident, the resolved incident with the longest timeline, incidents
with a report and a post-mortem) and makes the one status page the public route shows;
`page_run` times one AppTest run of a page the way a signed-in user reaches it (through app.py
and the page's url path, as tests/pages/conftest.py does). The status page route is timed by
calling its Starlette handler through a TestClient (an in-process HTTP GET). It writes only
the status page it needs and never measures anything itself.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from core.people import users
from db.engine import session_scope
from db.models import Account, Incident, IncidentReport, TimelineEvent, User

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Page:
    """One timed page: its script, the user who opens it, its query parameters and preset widget state."""

    script: str
    username: str
    query: dict[str, str] = field(default_factory=dict)
    state: dict[str, object] = field(default_factory=dict)


def targets(engine: Engine, now: dt.datetime, view_weeks: int, search_text: str) -> tuple[dict[str, Page], str]:
    """Every timed page by name, and the path of the status page route to GET."""
    from core.statuspage import flows as status_flows

    with session_scope(engine) as session:
        csm = session.execute(select(User.username).join(Account, Account.owner_id == User.id)
                              .where(User.role == "csm").group_by(User.username)
                              .order_by(func.count().desc(), User.username).limit(1)).scalar_one()
        busiest = session.execute(select(Incident.account_id).group_by(Incident.account_id)
                                  .order_by(func.count().desc()).limit(1)).scalar_one()
        # Incidents under the team's default policy: a red-status P3 has no clock, and the incident
        # page cannot show that yet (see the bench report); the busiest timelines are the slowest to show.
        open_id, long_id = (session.execute(
            select(TimelineEvent.incident_id).join(Incident, Incident.id == TimelineEvent.incident_id)
            .where(resolved, Incident.policy_name == "default").group_by(TimelineEvent.incident_id)
            .order_by(func.count().desc(), TimelineEvent.incident_id).limit(1)).scalar_one()
            for resolved in (Incident.resolved_at.is_(None), Incident.resolved_at.is_not(None)))
        report_id = session.scalar(select(IncidentReport.incident_id).where(IncidentReport.kind == "report").limit(1))
        postmortem_id = session.scalar(select(IncidentReport.incident_id)
                                       .where(IncidentReport.kind == "postmortem").limit(1))
        page = status_flows.ensure_page(session, open_id, actor=users.SYSTEM, now=now)
        token = status_flows.token_of(session, page)
    view_to = now.date()
    view_from = view_to - dt.timedelta(weeks=view_weeks)
    pages = {
        "home, csm": Page("pages/home.py", csm),
        "home, lead": Page("pages/home.py", "lead"),
        "triage": Page("pages/triage.py", csm),
        "incidents list": Page("pages/incidents.py", "lead"),
        "search": Page("pages/incidents.py", "lead", state={"f_text": search_text}),
        "search, filtered": Page("pages/incidents.py", "lead",
                                 state={"f_text": search_text, "f_severity": ["P1", "P2"]}),
        "incident, open": Page("pages/incident.py", "lead", {"id": str(open_id)}),
        "incident, long timeline": Page("pages/incident.py", "lead", {"id": str(long_id)}),
        "board": Page("pages/board.py", "lead"),
        "compose": Page("pages/compose.py", csm),
        "dashboard": Page("pages/dashboard.py", "lead", state={"d_dates": (view_from, view_to)}),
        "accounts": Page("pages/accounts.py", "lead"),
        "account (busiest)": Page("pages/account.py", "lead", {"id": str(busiest)}),
        "health": Page("pages/health.py", "lead"),
        "report": Page("pages/report.py", "lead", {"id": str(report_id or long_id)}),
        "post-mortem": Page("pages/postmortem.py", "lead", {"id": str(postmortem_id or long_id)}),
        "policies": Page("pages/policies.py", "admin"),
        "templates admin": Page("pages/templates_admin.py", "admin"),
        "on-call": Page("pages/oncall.py", "lead"),
        "platform outages": Page("pages/outages.py", "lead"),
    }
    return pages, f"/status/{token}"


def _quiet_bare_mode() -> None:
    # AppTest calls streamlit from the main thread, outside any script run; streamlit logs a warning for each
    # call ("missing ScriptRunContext ... can be ignored when running in bare mode"), hundreds of lines
    # around the table. Only that message is dropped; every other warning still shows.
    import logging

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())


def start_runtime() -> None:
    """Discover the installed Streamlit components, as a served app's runtime does once when it starts.

    Every timed run shares that one registry (tests/apptest_runtime.py): a new AppTest would otherwise
    scan all installed distributions on each run, about 0.17 s that no user of a running server waits for.
    """
    from tests import apptest_runtime

    _quiet_bare_mode()
    apptest_runtime.components()


def page_run(page: Page, timeout: float = 120) -> float:
    """Seconds for one AppTest run of `page` as its user would reach it; RuntimeError when the page fails."""
    from tests import apptest_runtime

    at = apptest_runtime.from_file(str(REPO / "app.py"), default_timeout=timeout)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = page.username
    at.session_state["name"] = page.username.title()
    for key, value in page.state.items():
        at.session_state[key] = value
    for key, value in page.query.items():
        at.query_params[key] = value
    at.switch_page(page.script)
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page.script} as {page.username} failed: {at.exception[0].value}")
    return elapsed


def status_route_run(path: str) -> float:
    """Seconds for one in-process HTTP GET of the public status page (its Starlette route)."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.status_routes import STATUS_ROUTES

    with TestClient(Starlette(routes=STATUS_ROUTES)) as client:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return elapsed
