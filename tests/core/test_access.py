"""Role access table: what each role may open."""

import pytest

from core.people.access import PAGE_ACCESS, can_open, parse_role

CASES = [
    ("home", {"csm": True, "lead": True, "admin": True}),
    ("profile", {"csm": True, "lead": True, "admin": True}),
    ("triage", {"csm": True, "lead": True, "admin": True}),
    ("incidents", {"csm": True, "lead": True, "admin": True}),
    ("incident", {"csm": True, "lead": True, "admin": True}),
    ("board", {"csm": True, "lead": True, "admin": True}),
    # Platform outages: everyone sees them; core decides which clients each person may write to.
    ("outages", {"csm": True, "lead": True, "admin": True}),
    ("policies", {"csm": False, "lead": False, "admin": True}),
    ("admin_users", {"csm": False, "lead": False, "admin": True}),
    # Client communications: everyone writes to clients (of their accounts); only admins edit templates.
    ("compose", {"csm": True, "lead": True, "admin": True}),
    ("templates_admin", {"csm": False, "lead": False, "admin": True}),
    # Accounts and early warning: every role opens them; what each sees is filtered by ownership.
    ("accounts", {"csm": True, "lead": True, "admin": True}),
    ("account", {"csm": True, "lead": True, "admin": True}),
    ("health", {"csm": True, "lead": True, "admin": True}),
    # After the incident: everyone reads reports; editing rights are checked per account in core.report.flows.
    ("report", {"csm": True, "lead": True, "admin": True}),
    ("postmortem", {"csm": True, "lead": True, "admin": True}),
    # SLA dashboard: every role; a CSM's figures are restricted to their own accounts (core.sla.queries.restrict).
    ("dashboard", {"csm": True, "lead": True, "admin": True}),
    # Alerts: everyone reads their own inbox; the outbox's deliveries and endpoints are the admins'.
    ("inbox", {"csm": True, "lead": True, "admin": True}),
    ("notifications_admin", {"csm": False, "lead": False, "admin": True}),
    # On-call: everyone sees who is on call and covers their own shifts (core decides who edits schedules).
    ("oncall", {"csm": True, "lead": True, "admin": True}),
    ("api_admin", {"csm": False, "lead": False, "admin": True}),
]


@pytest.mark.parametrize("page, expected", CASES)
def test_page_access(page, expected):
    assert {role: can_open(role, page) for role in expected} == expected


def test_table_covers_every_page():
    assert {page for page, _ in CASES} == set(PAGE_ACCESS)


def test_unknown_role_and_page_are_refused():
    assert not can_open("root", "home") and not can_open("admin", "nope")
    with pytest.raises(ValueError, match="use one of csm, lead, admin"):
        parse_role("boss")
