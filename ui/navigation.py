"""The page registry: every page script, its title and icon, grouped for the sidebar.

`app.py` builds `st.navigation` from it for the signed-in user's role; the
access rule itself lives in `core.people.access.PAGE_ACCESS`. A page that
shows one record (`?id=`) is registered hidden: it stays reachable by link,
`st.switch_page` and address, but the sidebar does not offer it as a dead end.
In-app links are made from this registry by `ui.links`.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.people.access import Role, can_open


@dataclass(frozen=True)
class PageSpec:
    """One page: its key in the access table, its script, title, icon, sidebar group, and whether it needs `?id=`."""

    key: str
    script: str
    title: str
    icon: str
    group: str
    needs_id: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "pages/home.py", "Home", ":material/home:", "Work"),
    PageSpec("triage", "pages/triage.py", "Triage", ":material/emergency:", "Work"),
    PageSpec("incidents", "pages/incidents.py", "Incidents", ":material/list_alt:", "Work"),
    PageSpec("board", "pages/board.py", "Emergency board", ":material/view_kanban:", "Work"),
    PageSpec("outages", "pages/outages.py", "Platform outages", ":material/public:", "Work"),
    PageSpec("incident", "pages/incident.py", "Incident", ":material/crisis_alert:", "Work", needs_id=True),
    PageSpec("compose", "pages/compose.py", "Write to the client", ":material/mail:", "Work"),
    PageSpec("report", "pages/report.py", "Incident report", ":material/description:", "Work", needs_id=True),
    PageSpec("postmortem", "pages/postmortem.py", "Post-mortem", ":material/psychology:", "Work", needs_id=True),
    PageSpec("oncall", "pages/oncall.py", "On-call", ":material/support_agent:", "Work"),
    PageSpec("dashboard", "pages/dashboard.py", "SLA dashboard", ":material/monitoring:", "Reports"),
    PageSpec("accounts", "pages/accounts.py", "Accounts", ":material/business:", "Accounts"),
    PageSpec("account", "pages/account.py", "Account", ":material/domain:", "Accounts", needs_id=True),
    PageSpec("health", "pages/health.py", "Account health", ":material/monitor_heart:", "Accounts"),
    PageSpec("inbox", "pages/inbox.py", "Inbox", ":material/notifications:", "Account"),
    PageSpec("profile", "pages/profile.py", "My profile", ":material/person:", "Account"),
    PageSpec("policies", "pages/policies.py", "Policies", ":material/policy:", "Admin"),
    PageSpec("admin_users", "pages/admin_users.py", "Users", ":material/group:", "Admin"),
    PageSpec("templates_admin", "pages/templates_admin.py", "Message templates", ":material/edit_note:", "Admin"),
    PageSpec("notifications_admin", "pages/notifications_admin.py", "Notifications", ":material/campaign:", "Admin"),
    PageSpec("api_admin", "pages/api_admin.py", "API access", ":material/api:", "Admin"),
)


def spec(key: str) -> PageSpec:
    """The page spec for `key`."""
    return next(p for p in PAGES if p.key == key)


def navigation(role: Role | None) -> dict[str, list]:
    """st.Page objects by group for `role`; with no role, every page (each page's guard signs in).

    Pages that need `?id=` are hidden from the sidebar, not left out: links and addresses still open them.
    """
    groups: dict[str, list] = {}
    for page in PAGES:
        if role is not None and not can_open(role, page.key):
            continue
        groups.setdefault(page.group, []).append(
            st.Page(page.script, title=page.title, icon=page.icon, url_path=page.key,
                    default=page.key == "home", visibility="hidden" if page.needs_id else "visible")
        )
    return groups
