"""Every page renders for each role allowed to see it and is refused to the others."""

import pytest

from core.people.access import PAGE_ACCESS, can_open
from tests.pages.conftest import REPO, ROLES, page_as, texts
from ui.navigation import PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.key)
@pytest.mark.parametrize("role", ROLES)
def test_page_for_role(people, page, role):
    at = page_as(page.script, f"{role}1")
    assert not at.exception, at.exception
    shown = texts(at)
    if can_open(role, page.key):
        assert "cannot open" not in shown
        assert at.title, "an allowed page shows its title"
    else:
        assert f"Your role ({role}) cannot open {page.title}" in shown


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.key)
def test_anonymous_visitor_gets_the_sign_in_form_only(people, page):
    at = page_as(page.script, None)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [t.value for t in at.title] == ["Escalation Desk"]


def test_registry_and_access_table_agree():
    assert {p.key for p in PAGES} == set(PAGE_ACCESS)


def test_router_offers_only_allowed_pages(people):
    from tests import apptest_runtime

    for role in ROLES:
        at = apptest_runtime.from_file(str(REPO / "app.py"), default_timeout=15)
        at.session_state["authentication_status"] = True
        at.session_state["username"] = f"{role}1"
        at.run()
        for page in PAGES:
            if can_open(role, page.key):
                at.switch_page(page.script)
            else:
                with pytest.raises(ValueError):
                    at.switch_page(page.script)


# Visible in the sidebar, per role; the pages that need `?id=` are registered but hidden (reached by link).
WORK = ["home", "triage", "incidents", "board", "outages", "compose", "oncall", "dashboard", "accounts", "health",
        "inbox", "profile"]
SIDEBAR = {
    "csm": WORK,
    "lead": WORK,
    "admin": [*WORK, "policies", "admin_users", "templates_admin", "notifications_admin", "api_admin"],
}
NEEDS_ID = ["incident", "report", "postmortem", "account"]


@pytest.mark.parametrize("role", ROLES)
def test_sidebar_lists_pages_that_open_without_an_id_and_hides_the_others(role):
    from core.people.access import Role
    from ui.navigation import navigation

    registered = [page for group in navigation(Role(role)).values() for page in group]
    allowed = [p.key for p in PAGES if can_open(role, p.key)]
    assert len(registered) == len(allowed), "hidden pages stay registered: links and addresses open them"
    # Outside a script run st.Page knows only its visibility: pair it with the registry's order.
    visible = [key for key, page in zip(allowed, registered, strict=True) if page.visibility == "visible"]
    hidden = [key for key, page in zip(allowed, registered, strict=True) if page.visibility == "hidden"]
    assert visible == SIDEBAR[role]
    assert hidden == NEEDS_ID
    assert [p.key for p in PAGES if p.needs_id] == NEEDS_ID
