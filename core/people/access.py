"""Who may open which page and change what: roles and the page access table.

The page scripts and the router both read this table, so a page that is
hidden from a role is also refused to it by URL. This module must never
import streamlit or touch the database.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role in the team."""

    CSM = "csm"
    LEAD = "lead"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, str] = {
    Role.CSM: "Customer Success Manager",
    Role.LEAD: "Team lead",
    Role.ADMIN: "Administrator",
}

ROLE_DUTIES: dict[Role, str] = {
    Role.CSM: "triage, works on incidents of their accounts, writes to clients",
    Role.LEAD: "everything a CSM does on every account, dashboards, post-mortems",
    Role.ADMIN: "everything a lead does, plus users, policies, templates and settings",
}

EVERYONE = frozenset(Role)
LEADS_AND_ADMINS = frozenset({Role.LEAD, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# page key -> roles allowed to open it. A page absent from this table is refused to all.
PAGE_ACCESS: dict[str, frozenset[Role]] = {
    "home": EVERYONE,
    "profile": EVERYONE,
    "triage": EVERYONE,
    "incidents": EVERYONE,
    "incident": EVERYONE,
    "board": EVERYONE,
    # Platform outages: everyone sees them; each writes only to the clients they may write to.
    "outages": EVERYONE,
    "compose": EVERYONE,
    "templates_admin": ADMINS,
    "report": EVERYONE,
    "postmortem": EVERYONE,
    "policies": ADMINS,
    "admin_users": ADMINS,
    # Accounts and early warning: CSMs see their own accounts, leads and admins all.
    "accounts": EVERYONE,
    "account": EVERYONE,
    "health": EVERYONE,
    # SLA dashboard: leads and admins see everything, a CSM only their own accounts.
    "dashboard": EVERYONE,
    # Alerts: each person's own inbox; the deliveries, dead letters and endpoints are the admin's.
    "inbox": EVERYONE,
    # Everyone sees who is on call and covers or swaps their own shifts; leads and admins shape schedules.
    "oncall": EVERYONE,
    "notifications_admin": ADMINS,
    # API tokens, alert sources and routing keys: they let other systems act in the app.
    "api_admin": ADMINS,
}


def parse_role(value: str) -> Role:
    """The Role for `value`, or ValueError naming the allowed roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}: use one of {allowed}") from None


def can_open(role: str | Role, page: str) -> bool:
    """True when `role` may open the page with key `page`."""
    try:
        return Role(role) in PAGE_ACCESS.get(page, frozenset())
    except ValueError:
        return False


def roles_for(page: str) -> list[Role]:
    """The roles allowed on `page`, in a stable order."""
    return [r for r in Role if r in PAGE_ACCESS.get(page, frozenset())]
