"""Opening an incident cannot duplicate it (SQLite and PostgreSQL): a repeat of the same form or request returns
the incident it opened, also when ten copies arrive at once; and likely twins are found by title."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.incident import flows as incidents
from core.incident import service
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _account(engine) -> int:
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000))
        s.add(account)
        s.flush()
        return account.id


def _open(engine, account_id, key, title="Payments down", now=NOW):
    with session_scope(engine) as s:
        return incidents.open_incident(
            s, account_id=account_id, title=title, summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=now,
            idempotency_key=key)


def _count(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Incident))


def test_a_repeat_returns_the_incident_already_opened(engine):
    account_id = _account(engine)
    first = _open(engine, account_id, "form-7f3a")
    again = _open(engine, account_id, "form-7f3a", title="Payments down (clicked twice)", now=NOW + dt.timedelta(5))
    assert (first.created, again.created) == (True, False)
    assert again.id == first.id and again.result.severity == first.result.severity == "P1"
    other = _open(engine, account_id, "form-8b1c")
    assert other.created and other.id != first.id
    assert _count(engine) == 2
    # Without a key nothing is deduplicated: the CLI and the demo open what they are told to.
    _open(engine, account_id, None)
    _open(engine, account_id, "")
    assert _count(engine) == 4


@pytest.mark.parametrize("key", ["x" * 65, "has space", "tab\there", "nul\x00"])
def test_a_malformed_key_is_refused(engine, key):
    account_id = _account(engine)
    with pytest.raises(incidents.IncidentError, match="1 to 64 printable characters without spaces"):
        _open(engine, account_id, key)
    assert _count(engine) == 0


@pytest.mark.slow
def test_ten_identical_requests_at_once_open_one_incident(engine):
    account_id = _account(engine)
    start = threading.Barrier(10)
    results, errors = [], []

    def submit():
        start.wait()
        try:
            results.append(_open(engine, account_id, "same-request"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len({r.id for r in results}) == 1 and len(results) == 10
    assert sum(r.created for r in results) == 1
    assert _count(engine) == 1


def test_an_open_incident_with_a_similar_title_is_found_and_closed_ones_are_not(engine):
    account_id = _account(engine)
    opened = _open(engine, account_id, None, title="Checkout API returns 500s")
    _open(engine, account_id, None, title="Reports are slow")
    with session_scope(engine) as s:
        found = service.similar_open_incidents(s, account_id=account_id, title="checkout api returning 500s")
        assert [(f.id, f.title) for f in found] == [(opened.id, "Checkout API returns 500s")]
        assert found[0].ratio >= service.SIMILAR_TITLE_RATIO
        assert service.similar_open_incidents(s, account_id=account_id, title="Login page blank") == []
        assert service.similar_open_incidents(s, account_id=account_id, title="   ") == []
    with session_scope(engine) as s:
        incidents.move_status(s, incident_id=opened.id, target="resolved", actor=SYSTEM, now=NOW)
    with session_scope(engine) as s:
        assert service.similar_open_incidents(s, account_id=account_id, title="Checkout API returns 500s") == []
