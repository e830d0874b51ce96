"""AppTest helpers: run a page script as a signed-in user of a given role.

A page the user may open is reached through the router (`app.py`), as in a
served session, so the pages are registered and `st.page_link` /
`st.switch_page` find them. A page the user may not open, or any page for an
anonymous visitor, runs on its own, as a cold server serves a page address:
then the page's own guard must refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import apptest_runtime
from tests.conftest import make_user
from tests.literal_text import visible_text

ROLES = ("csm", "lead", "admin")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def people(app_db):
    """One user per role in the app's database; returns {role: user_id}."""
    return {role: make_user(app_db, f"{role}1", role) for role in ROLES}


def _may_open(username: str, script: str) -> bool:
    from core.people import users
    from core.people.access import can_open
    from db.engine import read_scope

    with read_scope() as session:
        user = users.get_by_username(session, username)
        return user is not None and can_open(user.role, Path(script).stem)


def app_test(script: str, username: str | None, *, timeout: float = 15,
             query: dict[str, str] | None = None) -> AppTest:
    """An AppTest of `script` as `username` would reach it (signed in through the library's session state); not run."""
    routed = username is not None and _may_open(username, script)
    at = apptest_runtime.from_file(str(REPO / ("app.py" if routed else script)), default_timeout=timeout)
    if username:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
        at.session_state["name"] = username.title()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if routed:
        # Before the first run AppTest names a page by its file name, which is its url_path in the registry.
        at.switch_page(script)
    return at


def page_as(script: str, username: str | None, timeout: float = 15) -> AppTest:
    """Run `script` with the library's session state set as if `username` had signed in."""
    return app_test(script, username, timeout=timeout).run()


def page_links(at: AppTest) -> list[tuple[str, dict[str, str], str]]:
    """Every st.page_link the run drew: (target page's url path, its query, its label as read)."""
    import re
    from urllib.parse import parse_qsl

    def read(label: str) -> str:
        return visible_text(re.sub(r"(?<!\\)\*\*", "", label))  # bold is the app's own markup, not the text

    return [(link.proto.page, dict(parse_qsl(link.proto.query_string)), read(link.proto.label))
            for link in at.get("page_link")]


def links_to(at: AppTest, page: str, **query: object) -> list[str]:
    """The labels of the page links to `page` whose query is exactly `query`."""
    wanted = {name: str(value) for name, value in query.items()}
    return [label for target, params, label in page_links(at) if target == page and params == wanted]


def tick_row(at: AppTest, key: str, row: int = 0) -> AppTest:
    """Tick the box of `row` in the table keyed `key` (as a reader does) and run."""
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def texts(at: AppTest) -> str:
    """Every piece of text a page showed, as the reader sees it (Markdown escapes undone), joined for `in` checks."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success", "toast"):
        parts.extend(visible_text(str(e.value)) for e in getattr(at, kind))
    parts.extend(str(e.value) for e in at.code)
    return "\n".join(parts)


@pytest.fixture
def workspace(people, app_db):
    """People, the shipped policies and two accounts: one owned by csm1, one by nobody."""
    from decimal import Decimal

    from core.policy import store as policy_store
    from db.engine import session_scope
    from db.models import Account
    from tests.conftest import NOW

    with session_scope(app_db) as s:
        policy_store.install_presets(s, now=NOW)
        s.add(Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                      owner_id=people["csm"], time_zone="Europe/Paris"))
        s.add(Account(name="Globex", tier="basic", annual_contract_value=Decimal(3000), owner_id=None))
    return people


def open_test_incident(app_db, account_name: str, answers: dict, *, title: str = "Checkout down",
                       policy: str = "growth-engine", minutes_ago: int = 30,
                       summary: str = "Customers cannot pay.") -> int:
    """Open an incident through the real flow, detected `minutes_ago`; returns its id."""
    import datetime as dt

    from sqlalchemy import select

    from core.incident import flows as incidents
    from core.people.users import SYSTEM
    from core.triage.rules import Answers
    from db.engine import session_scope
    from db.models import Account

    now = dt.datetime.now(dt.UTC)
    with session_scope(app_db) as s:
        account = s.scalar(select(Account).where(Account.name == account_name))
        opened = incidents.open_incident(
            s, account_id=account.id, title=title, summary=summary,
            answers=Answers.model_validate(answers), policy_name=policy, actor=SYSTEM, now=now,
            detected_at=now - dt.timedelta(minutes=minutes_ago))
        return opened.id
