"""Admin › Message templates (AppTest): save a version, refusals with line numbers, history, SMTP settings, roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.communication.catalog import shipped_sources
from core.communication.smtp import SMTP_SETTING
from core.communication.store import current_template
from db.engine import session_scope
from db.models import MessageTemplateVersion, Setting
from tests.literal_text import visible_text
from tests.pages.conftest import page_as, texts

PAGE = "pages/templates_admin.py"


def editor(at, part: str, key: str = "phone_script"):
    return next(w for w in [*at.text_input, *at.text_area] if w.key == f"tpl_{part}_{key}")


def versions(app_db, key: str) -> list[int]:
    with session_scope(app_db) as s:
        return list(s.scalars(select(MessageTemplateVersion.version).where(MessageTemplateVersion.key == key)
                              .order_by(MessageTemplateVersion.version)))


def open_status_update(username: str = "admin1"):
    at = page_as(PAGE, username)
    at.selectbox(key="tpl_pick").select("status_update")
    return at.run()


def test_admin_saves_a_new_version_that_compose_uses_and_history_shows(people, app_db):
    at = open_status_update()
    assert editor(at, "text", "status_update").value == shipped_sources("status_update").text
    editor(at, "text", "status_update").input("Hello {{ greeting }},\n\nStill on it: {{ current_status }}\n")
    at.button(key="tpl_save").click().run()
    assert not at.exception, at.exception
    assert "Saved Status update as version 1; new messages use it." in texts(at)
    assert versions(app_db, "status_update") == [1]
    assert "Compose uses version 1." in texts(at)
    history = at.dataframe[-1].value
    assert list(history["Version"]) == ["1", "shipped"] and history["By"].iloc[0] == "Admin1"
    with session_scope(app_db) as s:
        assert current_template(s, "status_update").sources.text.startswith("Hello {{ greeting }},\n\nStill")


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("Hello {{ greeting }}\n\n{% if workaround %}\nWorkaround: {{ workaround }}\n", "text part, line 4",
         "Unexpected end of template"),
        ("Hello {{ greeting }}\nThe customer: {{ custmer_name }}\n", "text part, line 2", "not a message field"),
        ("Hello {{ greeting }}\nContract: {{ annual_contract_value }}\n", "text part, line 2",
         "internal information"),
    ],
)
def test_a_refused_template_shows_the_line_and_keeps_the_draft(people, app_db, text, where, message):
    at = open_status_update()
    editor(at, "text", "status_update").input(text)
    at.button(key="tpl_save").click().run()
    errors = [visible_text(e.value) for e in at.error]
    assert any(e.startswith(where) and message in e for e in errors), errors
    assert "your draft is still in the editor" in " ".join(errors)
    assert editor(at, "text", "status_update").value == text
    assert versions(app_db, "status_update") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("{% set row = [1] * 5000 %}{{ ([row] * 5000)|sum(start=[])|length }}",
         "this template took more than 2 s to render"),
        ("{% set big = (('x' * 20000,) * 5000,) * 5000 %}{{ big|string }}",
         "this template needed more than 64 MB to render"),
    ],
)
def test_a_draft_past_the_render_limits_is_explained_and_kept(people, app_db, text, message):
    at = open_status_update()
    editor(at, "text", "status_update").input(text)
    at.run(timeout=30)  # the preview renders on this rerun
    errors = [visible_text(e.value) for e in at.error]
    assert any(e.startswith("status_update.txt.j2") and message in e for e in errors), errors
    assert editor(at, "text", "status_update").value == text
    at.button(key="tpl_save").click().run(timeout=30)
    errors = [visible_text(e.value) for e in at.error]
    assert any(e.startswith("text part") and message in e for e in errors), errors
    assert "your draft is still in the editor" in " ".join(errors)
    assert editor(at, "text", "status_update").value == text
    assert versions(app_db, "status_update") == []


def test_shipped_text_can_be_put_back_in_the_editor(people, app_db):
    at = open_status_update()
    editor(at, "text", "status_update").input("Hello {{ greeting }}\n")
    at.button(key="tpl_save").click().run()
    at.button(key="tpl_shipped").click().run()
    assert editor(at, "text", "status_update").value == shipped_sources("status_update").text
    at.button(key="tpl_save").click().run()
    assert versions(app_db, "status_update") == [1, 2]


def test_a_phone_script_has_no_subject_or_html(people):
    at = page_as(PAGE, "admin1")
    assert at.selectbox(key="tpl_pick").value == "phone_script"
    assert [w.key for w in at.text_input if w.key and w.key.startswith("tpl_")] == []
    assert [w.key for w in at.text_area if w.key and w.key.startswith("tpl_")] == ["tpl_text_phone_script"]


def test_smtp_settings_are_saved_without_a_password_and_bad_ones_are_explained(people, app_db):
    at = page_as(PAGE, "admin1")
    at.text_input(key="smtp_host").input("smtp.example.com")
    at.text_input(key="smtp_from").input("desk@")
    at.button[[b.label for b in at.button].index("Save email settings")].click().run()
    assert "From address:" in texts(at) and "were not saved" in texts(at)
    assert at.text_input(key="smtp_host").value == "smtp.example.com", "the form keeps what was typed"
    at.text_input(key="smtp_from").input("Success Desk <desk@example.com>")
    at.text_input(key="smtp_username").input("desk")
    at.button[[b.label for b in at.button].index("Save email settings")].click().run()
    assert "Email settings saved: smtp.example.com:587." in texts(at)
    with session_scope(app_db) as s:
        stored = s.get(Setting, SMTP_SETTING).value
    assert stored["username"] == "desk" and stored["starttls"] is True and "password" not in stored


def test_smtp_password_comes_from_secrets(people, app_db):
    from tests import apptest_runtime
    from tests.pages.conftest import REPO

    at = apptest_runtime.from_file(str(REPO / PAGE), default_timeout=15)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "admin1"
    at.secrets["smtp_password"] = "from-secrets"
    at.run()
    assert "A password is available for this app process." in texts(at)
    assert "from-secrets" not in texts(at)


@pytest.mark.parametrize("role", ["csm", "lead"])
def test_csm_and_lead_are_refused(people, role):
    at = page_as(PAGE, f"{role}1")
    assert f"Your role ({role}) cannot open Message templates" in texts(at)
    assert not [w for w in at.text_area if w.key and w.key.startswith("tpl_")]
