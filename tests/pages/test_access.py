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
    from streamlit.testing.v1 import AppTest

    for role in ROLES:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=15)
        at.session_state["authentication_status"] = True
        at.session_state["username"] = f"{role}1"
        at.run()
        for page in PAGES:
            if can_open(role, page.key):
                at.switch_page(page.script)
            else:
                with pytest.raises(ValueError):
                    at.switch_page(page.script)
