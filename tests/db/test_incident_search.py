"""The incident list's filters and free-text search, on SQLite (FTS5) and PostgreSQL (pg_trgm)."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from core.incident import flows as incidents
from core.incident.service import IncidentFilter, search
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Incident

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

RECORDS = [
    # (customer, title, summary)
    ("Acme Corp", "Checkout API returns 500s", "Card payments fail for EU shoppers"),
    ("Acme Corp", "Slow dashboard", "Reports take 40 s to load; 100% of users affected"),
    ("Globex", "Login outage", "SSO provider rejects tokens after key_rotation"),
    ("Globex", "Webhook backlog", "Order events delayed by two hours"),
    ("Initech", "Data export corrupted", "CSV export drops the last column"),
]


@pytest.fixture
def seeded(engine):
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        accounts = {}
        for name in sorted({r[0] for r in RECORDS}):
            accounts[name] = Account(name=name, tier="enterprise", annual_contract_value=Decimal(1))
            s.add(accounts[name])
        s.flush()
        for i, (customer, title, summary) in enumerate(RECORDS):
            incidents.open_incident(
                s, account_id=accounts[customer].id, title=title, summary=summary, policy_name="default",
                answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=NOW,
                detected_at=NOW - dt.timedelta(hours=i + 1))
    return engine


def _titles(engine, **filters) -> list[str]:
    with session_scope(engine) as s:
        rows, total = search(s, IncidentFilter(sort="newest", **filters), now=NOW)
    assert total == len(rows)
    return [r.title for r in rows]


@pytest.mark.parametrize("query, expected", [
    ("checkout", ["Checkout API returns 500s"]),                      # title, any case
    ("CARD PAYMENTS", ["Checkout API returns 500s"]),                 # summary
    ("globex", ["Login outage", "Webhook backlog"]),                   # customer name
    ("out", ["Checkout API returns 500s", "Login outage"]),            # substring inside words
    ("100%", ["Slow dashboard"]),                                      # % is a character, not a wildcard
    ("key_rotation", ["Login outage"]),                                # _ is a character too
    ("key rotation", []),
    ("export", ["Data export corrupted"]),
    ("EU", ["Checkout API returns 500s"]),                             # under 3 characters: scan, same answer
    ("#3", ["Login outage"]),                                          # an id
    ('"quoted"', []),                                                  # quotes cannot break the query
    ("nothing like this", []),
])
def test_text_search_matches_title_summary_or_customer(seeded, query, expected):
    assert _titles(seeded, text=query) == expected


def test_search_combines_with_filters_and_pages(seeded):
    with session_scope(seeded) as s:
        acme = s.query(Account).filter_by(name="Acme Corp").one().id
    assert _titles(seeded, text="s", account_id=acme) == ["Checkout API returns 500s", "Slow dashboard"]
    with session_scope(seeded) as s:
        rows, total = search(s, IncidentFilter(sort="newest", text="o"), now=NOW, page=2, page_size=2)
    assert total == 5 and [r.title for r in rows] == ["Login outage", "Webhook backlog"]


def test_index_follows_edits_and_deletes(seeded):
    with session_scope(seeded) as s:
        webhook = s.query(Incident).filter_by(title="Webhook backlog").one()
        webhook.title = "Queue consumer stalled"
        s.delete(s.query(Incident).filter_by(title="Data export corrupted").one())
    assert _titles(seeded, text="webhook") == []
    assert _titles(seeded, text="consumer") == ["Queue consumer stalled"]
    assert _titles(seeded, text="export") == []


def test_search_is_served_by_a_text_index(seeded):
    with seeded.connect() as conn:
        if seeded.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH '\"checkout\"'")))
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            indexes = set(conn.scalars(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents' AND indexdef LIKE '%gin_trgm_ops%'")))
            assert indexes == {"ix_incidents_title_trgm", "ix_incidents_summary_trgm"}
