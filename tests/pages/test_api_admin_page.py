"""Admin › API access with AppTest: admins only; a token made here is shown once and works; revoke; sources; keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.account.routing import account_by_routing_key
from core.api import sources, tokens
from db.engine import session_scope
from db.models import AlertSource, ApiToken, User
from tests.pages.conftest import app_test, texts


def workspace_account(app_db, name: str) -> int:
    from db.models import Account

    with session_scope(app_db) as s:
        return s.scalar(select(Account.id).where(Account.name == name))


@pytest.mark.parametrize("reader, allowed", [("csm1", False), ("lead1", False), ("admin1", True)])
def test_the_api_access_page_is_for_admins(workspace, reader, allowed):
    at = app_test("pages/api_admin.py", reader).run()
    assert not at.exception, at.exception
    assert ("cannot open API access" in texts(at)) is not allowed


def test_an_admin_makes_a_token_sees_it_once_and_revokes_it(workspace, app_db):
    at = app_test("pages/api_admin.py", "admin1").run()
    at.text_input(key="tok_name").input("grafana")
    at.selectbox(key="tok_scope").select("intake")
    at.selectbox(key="tok_user").select("lead1")
    next(b for b in at.button if b.label == "Make token").click().run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("edk_")
    with session_scope(app_db) as s:
        holder = tokens.verify(s, shown[0], now=dt.datetime.now(dt.UTC))
    assert (holder.username, holder.scope.value) == ("lead1", "intake")
    at.run()  # the next run no longer shows it
    assert not [c.value for c in at.code if c.value.startswith("edk_")]
    assert "grafana" in texts(at) or len(at.dataframe[0].value) == 1
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert not at.exception, at.exception
    with session_scope(app_db) as s:
        assert s.scalar(select(ApiToken.revoked_at)) is not None


def test_a_bad_token_name_is_refused_with_what_to_fix(workspace, app_db):
    at = app_test("pages/api_admin.py", "admin1").run()
    at.text_input(key="tok_name").input("!!")
    next(b for b in at.button if b.label == "Make token").click().run()
    assert "Name the token" in texts(at)
    with session_scope(app_db) as s:
        assert s.scalar(select(ApiToken.id)) is None


def test_an_admin_adds_a_source_and_a_routing_key(workspace, app_db):
    at = app_test("pages/api_admin.py", "admin1").run()
    at.text_input(key="src_name").input("zendesk")
    next(b for b in at.button if b.label == "Add source").click().run()
    assert not at.exception, at.exception
    secret = [c.value for c in at.code]
    with session_scope(app_db) as s:
        assert [sources.source_named(s, "zendesk").secret] == secret
    at.text_area(key="src_settings").input("{not json")
    at.text_input(key="src_name").input("other")
    next(b for b in at.button if b.label == "Add source").click().run()
    assert "not valid JSON" in texts(at)
    at.selectbox(key="rk_account").select(workspace_account(app_db, "Acme Corp"))
    at.text_input(key="rk_key").input("acme-prod-0001")
    next(b for b in at.button if b.label == "Save routing key").click().run()
    assert not at.exception, at.exception
    with session_scope(app_db) as s:
        assert account_by_routing_key(s, "acme-prod-0001").name == "Acme Corp"
        assert s.scalars(select(AlertSource.name)).all() == ["zendesk"]


def test_an_admin_changes_disables_and_rotates_a_source(workspace, app_db):
    with session_scope(app_db) as s:
        made = sources.add_source(s, name="zendesk", username="admin1", actor=tokens.shell_actor(),
                                  now=dt.datetime.now(dt.UTC), settings={"mapping": {"dedup_key": "id", "title": "t"}})
    at = app_test("pages/api_admin.py", "admin1").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="src_edit_name").value == "zendesk"
    assert '"dedup_key": "id"' in at.text_area(key=f"src_edit_settings_{made.id}").value
    at.text_area(key=f"src_edit_settings_{made.id}").input('{"mapping": {"dedup_key": "id", "title": "t"}, '
                                                           '"policy": "spark"}')
    at.selectbox(key=f"src_edit_user_{made.id}").select("lead1")
    at.checkbox(key=f"src_edit_enabled_{made.id}").uncheck()
    next(b for b in at.button if b.label == "Save source").click().run()
    assert not at.exception, at.exception
    with session_scope(app_db) as s:
        row = s.get(AlertSource, made.id)
        assert (row.is_enabled, row.settings["policy"], row.secret) == (False, "spark", made.secret)
        assert sources.source_named(s, "zendesk") is None
    at.text_area(key=f"src_edit_settings_{made.id}").input("{oops")
    next(b for b in at.button if b.label == "Save source").click().run()
    assert "not valid JSON" in texts(at)
    at.text_area(key=f"src_edit_settings_{made.id}").input('{"mapping": {"dedup_key": "id"}}')
    next(b for b in at.button if b.label == "Save source").click().run()
    assert "mapping.title" in texts(at)
    next(b for b in at.button if b.label == "Make a new secret").click().run()
    assert not at.exception, at.exception
    shown = [c.value for c in at.code]
    with session_scope(app_db) as s:
        row = s.get(AlertSource, made.id)
        assert shown == [row.secret] and row.secret != made.secret
        assert s.get(User, row.user_id).username == "lead1"
    at.run()
    assert not at.code
