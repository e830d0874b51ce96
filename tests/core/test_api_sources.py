"""Alert sources: settings validated when added, payloads mapped to alerts, signatures checked."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.api import sources, tokens
from core.api.alerts import AlertError
from core.people.access import Role
from core.people.users import Actor
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import AuditEntry
from tests.conftest import NOW, make_user

ROOT = Path(__file__).resolve().parents[2]
MAPPING = {"dedup_key": "ticket.id", "title": "ticket.subject", "severity": "ticket.priority",
           "severity_values": {"urgent": "critical"}, "action": "ticket.status",
           "action_values": {"solved": "resolve"}, "account_id": "ticket.account", "answers": "ticket.triage"}


def _source(settings: dict | None = None) -> sources.Source:
    return sources.Source(1, "desk", "s3cret", "X-Signature",
                          sources.parse_settings(settings or {"mapping": MAPPING}),
                          Actor(id=1, name="alert source 'desk' (ada)", role=Role.ADMIN))


@pytest.mark.parametrize("payload, expected", [
    ({"ticket": {"id": 7, "subject": "Slow", "priority": "urgent", "account": 3}},
     {"event_action": "trigger", "dedup_key": "desk:7", "title": "Slow", "severity": "critical", "account_id": 3}),
    ({"ticket": {"id": "7", "subject": "Slow\nreally", "status": "solved", "account": "3"}},
     {"event_action": "resolve", "title": "Slow really", "severity": None}),
    ({"ticket": {"id": 7, "subject": "Slow", "priority": "warning", "account": 3}}, {"severity": "warning"}),
    ({"ticket": {"id": 7, "subject": "Slow", "priority": "meh", "account": 3}}, {"severity": None}),
    ({"ticket": {"id": 7, "subject": "x", "account": 3, "triage": {"data_loss": True}}},
     {"answers": {"data_loss": True}}),
])
def test_payloads_map_to_alerts(payload, expected):
    event = sources.event_from(_source(), payload)
    got = {"event_action": event.event_action, "dedup_key": event.dedup_key, "title": event.title,
           "severity": event.severity, "account_id": event.account_id,
           "answers": event.answers.model_dump(exclude_unset=True) if event.answers else None}
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize("payload, field", [
    ({"ticket": {"subject": "no id"}}, "ticket.id"),
    ({"ticket": {"id": 1, "account": "acme"}}, "ticket.account"),
    ({"ticket": {"id": 1, "account": 2**70}}, "ticket.account"),
    ({"ticket": {"id": 1, "account": 1, "triage": {"oops": 1}}}, "ticket.triage.oops"),
    ([1, 2], "ticket.id"),
])
def test_an_unreadable_payload_names_the_json_path(payload, field):
    with pytest.raises(AlertError) as refused:
        sources.event_from(_source(), payload)
    assert refused.value.field == field


def test_the_source_routing_key_and_hint_answers_apply():
    source = _source({"mapping": {"dedup_key": "id", "title": "t", "severity": "p"}, "routing_key": "acme-prod-01",
                      "hint_answers": {"critical": {"data_loss": True}}})
    event = sources.event_from(source, {"id": 1, "t": "x", "p": "critical"})
    assert (event.routing_key, event.account_id) == ("acme-prod-01", None)
    assert event.hints["critical"] == {"data_loss": True} and event.hints["info"] == {"business_impact": "none"}


def test_signatures():
    source, body = _source(), b'{"a": 1}'
    mac = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    sources.check_signature(source, body, mac)
    sources.check_signature(source, body, "sha256=" + mac)
    for wrong in (None, "", mac[:-1] + "0" if mac[-1] != "0" else mac[:-1] + "1", "sha256=" + mac.upper()):
        with pytest.raises(sources.SignatureRefused):
            sources.check_signature(source, body, wrong)
    with pytest.raises(sources.SignatureRefused):
        sources.check_signature(source, body + b" ", mac)


@pytest.mark.parametrize("settings, says", [
    ({}, "mapping: Field required"),
    ({"mapping": {"dedup_key": "id"}}, "mapping.title: Field required"),
    ({"mapping": {"dedup_key": "a..b", "title": "t"}}, "mapping.dedup_key"),
    ({"mapping": {"dedup_key": "id", "title": "t", "severity_values": {"p1": "fatal"}}}, "severity_values.p1"),
    ({"mapping": {"dedup_key": "id", "title": "t"}, "hint_answers": {"critical": {"mood": "bad"}}}, "mood"),
    ({"mapping": {"dedup_key": "id", "title": "t"}, "colour": "red"}, "colour"),
])
def test_bad_settings_are_refused_naming_the_field(engine, settings, says):
    make_user(engine, "ada", "admin")
    with session_scope(engine) as s, pytest.raises(sources.SourceError, match=says.replace(".", r"\.")):
        sources.add_source(s, name="desk", username="ada", settings=settings, actor=tokens.shell_actor(), now=NOW)


def test_adding_sources(engine):
    make_user(engine, "ada", "admin")
    settings = {"mapping": {"dedup_key": "id", "title": "t"}}
    with session_scope(engine) as s:
        made = sources.add_source(s, name="Desk", username="ada", settings=settings, actor=tokens.shell_actor(),
                                  now=NOW)
        assert len(made.secret) > 30
    with session_scope(engine) as s:
        found = sources.source_named(s, "desk")
        assert found.secret == made.secret and found.actor.name == "alert source 'desk' (ada)"
        assert [r.name for r in sources.list_sources(s)] == ["desk"]
        for kwargs, says in [({"name": "desk"}, "already a source"), ({"name": "x y"}, "lower-case"),
                             ({"name": "other", "username": "nobody"}, "no active user"),
                             ({"name": "other", "actor": Actor(id=1, name="Lee", role=Role.LEAD)}, "only admins")]:
            args = {"username": "ada", "settings": settings, "actor": tokens.shell_actor(), **kwargs}
            with pytest.raises(sources.SourceError, match=says):
                sources.add_source(s, now=NOW, **args)


def test_the_command_line_adds_a_source_and_prints_its_secret_last(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade(engine)
    make_user(engine, "admin", "admin")
    settings = tmp_path / "desk.json"
    settings.write_text(json.dumps({"mapping": {"dedup_key": "id", "title": "t"}, "policy": "spark"}))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "ESCALATION_DESK_DATA": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core", *args], check=False, cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    added = cli("sources", "add", "desk", "--settings", str(settings))
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    with session_scope(engine) as s:
        assert sources.source_named(s, "desk").secret == secret
    listed = cli("sources", "list")
    assert "desk" in listed.stdout and "spark" in listed.stdout and secret not in listed.stdout
    settings.write_text("{")
    bad = cli("sources", "add", "desk2", "--settings", str(settings))
    assert bad.returncode == 2 and "cannot read the settings file" in bad.stderr
    engine.dispose()


def test_changing_disabling_and_rotating_a_source(engine):
    make_user(engine, "ada", "admin")
    make_user(engine, "bob", "admin")
    settings = {"mapping": {"dedup_key": "id", "title": "t"}}
    with session_scope(engine) as s:
        made = sources.add_source(s, name="desk", username="ada", settings=settings, actor=tokens.shell_actor(),
                                  now=NOW)
    newer = {"mapping": {"dedup_key": "ticket.id", "title": "ticket.subject"}, "policy": "spark"}
    with session_scope(engine) as s:
        row = sources.change_source(s, name="Desk", actor=tokens.shell_actor(), now=NOW, settings=newer,
                                    username="bob", signature_header="X-Desk-Signature")
    assert (row.username, row.signature_header, row.policy, row.is_enabled) == ("bob", "X-Desk-Signature", "spark",
                                                                                True)
    assert {k: row.settings["mapping"][k] for k in ("dedup_key", "title")} == newer["mapping"]
    with session_scope(engine) as s:
        found = sources.source_named(s, "desk")
        assert (found.secret, found.actor.name, found.settings.policy) == (made.secret, "alert source 'desk' (bob)",
                                                                           "spark")
        sources.change_source(s, name="desk", actor=tokens.shell_actor(), now=NOW, enabled=False)
    with session_scope(engine) as s:
        assert sources.source_named(s, "desk") is None  # its webhook answers 404
        assert [r.is_enabled for r in sources.list_sources(s)] == [False]
        sources.change_source(s, name="desk", actor=tokens.shell_actor(), now=NOW, enabled=True)
        rotated = sources.rotate_secret(s, name="desk", actor=tokens.shell_actor(), now=NOW)
    assert rotated.id == made.id and rotated.secret != made.secret
    with session_scope(engine) as s:
        assert sources.source_named(s, "desk").secret == rotated.secret
        changes = [(e.action, e.changes) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "alert_source").order_by(AuditEntry.id))]
    assert [a for a, _ in changes] == ["create", "update", "update", "update", "rotate_secret"]
    assert changes[1][1]["user"] == ["ada", "bob"] and changes[2][1] == {"is_enabled": [True, False]}
    assert made.secret not in str(changes) and rotated.secret not in str(changes)


@pytest.mark.parametrize("call, kwargs, says", [
    ("change_source", {"name": "nobody", "enabled": False}, "no alert source 'nobody'"),
    ("rotate_secret", {"name": "nobody"}, "no alert source 'nobody'"),
    ("change_source", {"name": "desk", "settings": {"mapping": {"dedup_key": "id"}}}, "mapping.title"),
    ("change_source", {"name": "desk", "username": "ghost"}, "no active user 'ghost'"),
    ("change_source", {"name": "desk", "signature_header": "X Sig"}, "header name"),
    ("change_source", {"name": "desk", "enabled": False, "actor": Actor(id=9, name="Lee", role=Role.LEAD)},
     "Lee may not change alert sources"),
    ("rotate_secret", {"name": "desk", "actor": Actor(id=9, name="Lee", role=Role.LEAD)}, "only admins"),
])
def test_a_source_change_is_refused_with_what_to_fix(engine, call, kwargs, says):
    make_user(engine, "ada", "admin")
    with session_scope(engine) as s:
        made = sources.add_source(s, name="desk", username="ada", settings={"mapping": {"dedup_key": "id",
                                                                                        "title": "t"}},
                                  actor=tokens.shell_actor(), now=NOW)
    with session_scope(engine) as s, pytest.raises(sources.SourceError, match=says):
        getattr(sources, call)(s, now=NOW, **{"actor": tokens.shell_actor(), **kwargs})
    with session_scope(engine) as s:
        found = sources.source_named(s, "desk")
        assert found.secret == made.secret and found.settings.mapping.dedup_key == "id"


def test_the_command_line_edits_disables_and_rotates_a_source(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    upgrade(engine)
    make_user(engine, "admin", "admin")
    make_user(engine, "bob", "admin")
    settings = tmp_path / "desk.json"
    settings.write_text(json.dumps({"mapping": {"dedup_key": "id", "title": "t"}}))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "ESCALATION_DESK_DATA": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core", *args], check=False, cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    first = cli("sources", "add", "desk", "--settings", str(settings)).stdout.strip().splitlines()[-1]
    settings.write_text(json.dumps({"mapping": {"dedup_key": "id", "title": "t"}, "policy": "spark"}))
    edited = cli("sources", "edit", "desk", "--settings", str(settings), "--user", "bob")
    assert edited.returncode == 0, edited.stderr
    assert "acting as bob" in edited.stdout and "policy spark" in edited.stdout
    nothing = cli("sources", "edit", "desk")
    assert nothing.returncode == 2 and "say what to change" in nothing.stderr
    disabled = cli("sources", "disable", "desk")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    with session_scope(engine) as s:
        assert sources.source_named(s, "desk") is None
    assert cli("sources", "enable", "desk").returncode == 0
    rotated = cli("sources", "rotate-secret", "desk")
    assert rotated.returncode == 0, rotated.stderr
    secret = rotated.stdout.strip().splitlines()[-1]
    assert secret != first
    with session_scope(engine) as s:
        found = sources.source_named(s, "desk")
        assert (found.secret, found.actor.name) == (secret, "alert source 'desk' (bob)")
    missing = cli("sources", "rotate-secret", "nobody")
    assert missing.returncode == 2 and "no alert source 'nobody'" in missing.stderr
    engine.dispose()
