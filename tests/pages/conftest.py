"""AppTest helpers: run a page script as a signed-in user of a given role."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import make_user
from tests.literal_text import visible_text

ROLES = ("csm", "lead", "admin")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def people(app_db):
    """One user per role in the app's database; returns {role: user_id}."""
    return {role: make_user(app_db, f"{role}1", role) for role in ROLES}


def page_as(script: str, username: str | None, timeout: float = 15) -> AppTest:
    """Run `script` with the library's session state set as if `username` had signed in."""
    at = AppTest.from_file(str(REPO / script), default_timeout=timeout)
    if username:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
        at.session_state["name"] = username.title()
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
