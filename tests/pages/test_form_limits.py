"""The forms show core.limits: each text field's max_chars is the limit core enforces for it."""

import pytest

from core.limits import CONTRACT_TERM, EMAIL, FREE_TEXT, NAME, TITLE
from tests.pages.conftest import open_test_incident, page_as
from tests.pages.test_incident_pages import incident_page

SIMPLE_PAGES = [
    ("pages/triage.py", "csm1", {"triage_title": TITLE, "triage_summary": FREE_TEXT}),
    ("pages/profile.py", "csm1", {"profile_name": NAME, "profile_email": EMAIL}),
    ("pages/admin_users.py", "admin1", {"new_name": NAME, "new_email": EMAIL}),
    ("pages/accounts.py", "lead1", {"new_account_name": NAME, "new_account_response": CONTRACT_TERM,
                                    "new_account_credits": CONTRACT_TERM}),
]


def _limits_shown(at, keys):
    widgets = {w.key: w for w in [*at.text_input, *at.text_area] if w.key in keys}
    return {key: widgets[key].max_chars for key in keys if key in widgets}


@pytest.mark.parametrize("script, username, expected", SIMPLE_PAGES, ids=[p[0] for p in SIMPLE_PAGES])
def test_forms_show_the_limits_of_core(workspace, script, username, expected):
    at = page_as(script, username)
    assert not at.exception
    assert _limits_shown(at, expected) == {key: limit.max_chars for key, limit in expected.items()}


def test_incident_forms_show_the_limits_of_core(workspace, app_db):
    iid = open_test_incident(app_db, "Acme Corp", {"business_impact": "major"})
    at = incident_page("csm1", iid)
    expected = {"sev_reason": FREE_TEXT, "ai_title": TITLE, "note_text": FREE_TEXT, "esc_reason": FREE_TEXT}
    assert _limits_shown(at, expected) == {key: limit.max_chars for key, limit in expected.items()}

