"""API tokens: made once and stored as a digest, refused with a reason, revoked, listed; the CLI around them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.account.routing import RoutingKeyError, account_by_routing_key, set_routing_key
from core.api import tokens
from core.people.access import Role
from core.people.users import Actor
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Account, ApiToken, AuditEntry
from tests.conftest import NOW, make_user

ROOT = Path(__file__).resolve().parents[2]
ADMIN = tokens.shell_actor()


@pytest.fixture
def people(engine):
    return {"admin": make_user(engine, "alice", "admin"), "csm": make_user(engine, "carl", "csm"),
            "gone": make_user(engine, "gina", "csm", active=False)}


def _make(engine, scope="read", username="carl", days=None, name="grafana"):
    with session_scope(engine) as s:
        return tokens.create(s, name=name, scope=scope, username=username, actor=ADMIN, now=NOW,
                             expires_in_days=days)


def test_a_token_is_stored_as_a_digest_and_verifies_as_its_user(engine, people):
    made = _make(engine, scope="write")
    assert made.token.startswith("edk_") and len(made.token) > 40
    with session_scope(engine) as s:
        row = s.get(ApiToken, made.id)
        assert row.hash == tokens.digest(made.token) and made.token not in (row.hash, row.prefix)
        assert row.prefix == made.token[:12]
        holder = tokens.verify(s, made.token, now=NOW)
    assert holder.actor.id == people["csm"] and holder.actor.role is Role.CSM
    assert holder.actor.name == "api token 'grafana' (carl)"
    assert holder.scope is tokens.Scope.WRITE and holder.allows("alerts") and holder.allows("write")


@pytest.mark.parametrize("scope,allowed", [
    ("intake", {"alerts"}), ("read", {"read"}), ("write", {"alerts", "read", "write"}),
])
def test_scopes_allow_what_the_module_says(engine, people, scope, allowed):
    made = _make(engine, scope=scope)
    with session_scope(engine) as s:
        holder = tokens.verify(s, made.token, now=NOW)
    assert {kind for kind in ("alerts", "read", "write") if holder.allows(kind)} == allowed


def test_refusals_say_why(engine, people):
    expiring = _make(engine, days=1, name="short")
    revoked = _make(engine, name="old")
    disabled_user = _make(engine, name="ghost")
    with session_scope(engine) as s:
        tokens.revoke(s, token_id=revoked.id, actor=ADMIN, now=NOW)
        s.get(ApiToken, disabled_user.id).user_id = people["gone"]
    cases = [(expiring.token, NOW + dt.timedelta(days=1), "expired"),
             (revoked.token, NOW, "revoked"),
             (disabled_user.token, NOW, "user_disabled"),
             (expiring.token[:-1] + ("A" if expiring.token[-1] != "A" else "B"), NOW, "unknown"),
             ("not-a-token", NOW, "unknown"), ("", NOW, "unknown")]
    with session_scope(engine) as s:
        assert tokens.verify(s, expiring.token, now=NOW + dt.timedelta(hours=23)).token_name == "short"
        for token, at, reason in cases:
            with pytest.raises(tokens.TokenRefused) as refused:
                tokens.verify(s, token, now=at)
            assert refused.value.reason == reason, token


@pytest.mark.parametrize("kwargs,message", [
    ({"name": ""}, "Name the token"),
    ({"name": "x" * 81}, "Name the token"),
    ({"scope": "admin"}, "Unknown scope 'admin'"),
    ({"username": "nobody"}, "no user 'nobody'"),
    ({"username": "gina"}, "is disabled"),
    ({"expires_in_days": 0}, "from 1 to 3650"),
])
def test_bad_tokens_are_refused_with_what_to_fix(engine, people, kwargs, message):
    args = {"name": "grafana", "scope": "read", "username": "carl", **kwargs}
    with session_scope(engine) as s, pytest.raises(tokens.TokenError, match=message):
        tokens.create(s, actor=ADMIN, now=NOW, **args)


def test_only_admins_manage_tokens(engine, people):
    lead = Actor(id=people["csm"], name="Carl", role=Role.LEAD)
    with session_scope(engine) as s, pytest.raises(tokens.TokenError, match="only admins"):
        tokens.create(s, name="x", scope="read", username="carl", actor=lead, now=NOW)
    made = _make(engine)
    with session_scope(engine) as s, pytest.raises(tokens.TokenError, match="only admins"):
        tokens.revoke(s, token_id=made.id, actor=lead, now=NOW)


def test_list_revoke_and_audit(engine, people):
    first, second = _make(engine, name="one"), _make(engine, name="two", days=2)
    with session_scope(engine) as s:
        tokens.revoke(s, token_id=first.id, actor=ADMIN, now=NOW)
        with pytest.raises(tokens.TokenError, match="already revoked"):
            tokens.revoke(s, token_id=first.id, actor=ADMIN, now=NOW)
        with pytest.raises(tokens.TokenError, match="no API token 99"):
            tokens.revoke(s, token_id=99, actor=ADMIN, now=NOW)
    with session_scope(engine) as s:
        rows = tokens.list_tokens(s)
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "api_token")).all()
    assert [(r.name, r.state(NOW), r.username) for r in rows] == [("two", "active", "carl"), ("one", "revoked", "carl")]
    assert rows[0].state(NOW + dt.timedelta(days=3)) == "expired"
    assert sorted(actions) == ["create", "create", "revoke"]
    assert second.token not in repr(rows)


def test_routing_keys_are_unique_and_admin_only(engine, people):
    with session_scope(engine) as s:
        s.add_all([Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(1)),
                   Account(name="Globex", tier="growth", annual_contract_value=Decimal(1))])
    with session_scope(engine) as s:
        set_routing_key(s, account="Acme", key="acme-prod-01", actor=ADMIN, now=NOW)
    with session_scope(engine) as s:
        assert account_by_routing_key(s, "acme-prod-01").name == "Acme"
        with pytest.raises(RoutingKeyError, match="already names account 'Acme'"):
            set_routing_key(s, account="Globex", key="acme-prod-01", actor=ADMIN, now=NOW)
        with pytest.raises(RoutingKeyError, match="8 to 64"):
            set_routing_key(s, account="Globex", key="short", actor=ADMIN, now=NOW)
        with pytest.raises(RoutingKeyError, match="no account 'Initech'"):
            set_routing_key(s, account="Initech", key="initech-001", actor=ADMIN, now=NOW)
        with pytest.raises(RoutingKeyError, match="only admins"):
            set_routing_key(s, account="Globex", key="globex-0001", actor=Actor(id=1, name="L", role=Role.LEAD),
                            now=NOW)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "ESCALATION_DESK_DATA": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "core", *args], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_command_line_prints_the_token_alone_on_its_last_line_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade(engine)
    make_user(engine, "admin", "admin")
    with session_scope(engine) as s:
        s.add(Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(1)))
    added = _cli(tmp_path, "tokens", "add", "grafana", "--scope", "intake", "--expires-in-days", "30")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("edk_") and " " not in token
    with session_scope(engine) as s:
        holder = tokens.verify(s, token, now=dt.datetime.now(dt.UTC))
        assert holder.username == "admin" and holder.scope is tokens.Scope.INTAKE
    listed = _cli(tmp_path, "tokens", "list")
    assert "grafana" in listed.stdout and "intake" in listed.stdout and token not in listed.stdout
    assert token[:12] in listed.stdout
    bad = _cli(tmp_path, "tokens", "add", "x", "--scope", "everything")
    assert bad.returncode == 2 and "Unknown scope 'everything'" in bad.stderr
    assert _cli(tmp_path, "tokens", "revoke", "1").returncode == 0
    again = _cli(tmp_path, "tokens", "revoke", "1")
    assert again.returncode == 2 and "already revoked" in again.stderr
    routed = _cli(tmp_path, "routing-key", "Acme", "acme-prod-01")
    assert routed.returncode == 0 and "acme-prod-01" in routed.stdout
    with session_scope(engine) as s:
        assert account_by_routing_key(s, "acme-prod-01").name == "Acme"
    assert _cli(tmp_path, "routing-key", "Acme").returncode == 2
    engine.dispose()
