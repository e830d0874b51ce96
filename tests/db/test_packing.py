"""Packed columns (db.packing): message bodies and triage results read back exactly on both engines, stored small."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from core.communication import flows as comms
from core.communication.context import sample_context
from core.communication.render import render
from core.incident import flows as incidents
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.triage.rules import Answers
from db import packing
from db.engine import session_scope
from db.models import Account, Communication, Contact, Incident
from tests.conftest import NOW, make_user

EMAIL = render("status_update", sample_context())
# (name, text, html): what a message body can hold.
BODIES = [
    ("empty html", "Called the client: they confirm the workaround.", ""),
    ("one character", "x", "y"),
    ("unicode", "Grüße, Zoë: l'équipe a résolu 障害 ✅ — à 10 h", "<p>Grüße 障害 ✅ &amp; “quotes”</p>"),
    ("control characters", "tab\there\r\nnul\x00end", "<pre>\x00\x01\x7f</pre>"),
    ("rendered email", EMAIL.text, EMAIL.html),
    ("100 KB", "Status: " + "all systems degraded; " * 4700, "<ul>" + "<li>item é</li>" * 7000 + "</ul>"),
    ("incompressible", bytes(range(256)).hex() * 3, hashlib.sha512(b"x").hexdigest() * 40),
]


@pytest.mark.parametrize("name, body_text, body_html", BODIES)
def test_packing_gives_back_exactly_what_it_was_given(name, body_text, body_html):
    for value in (body_text, body_html):
        stored = packing.pack_text(value, packing.DEFLATE_MESSAGES_1)
        assert packing.unpack_text(stored) == value, name
        assert len(stored) <= len(value.encode()) + 1, "never more than one byte over the text itself"


@pytest.mark.parametrize("value, fmt", [
    ("", packing.RAW),                  # nothing to deflate
    ("ok", packing.RAW),                # deflating would make it larger
    (EMAIL.html, packing.DEFLATE_MESSAGES_1),
    (EMAIL.text, packing.DEFLATE_MESSAGES_1),
])
def test_the_format_byte_says_how_the_value_is_stored(value, fmt):
    assert packing.pack_text(value, packing.DEFLATE_MESSAGES_1)[0] == fmt


def test_a_rendered_email_is_stored_in_a_fraction_of_its_size():
    message = render("p1_response", sample_context().model_copy(update={
        "title": "Nightly sync drops records", "impact": "Records created after 02:00 UTC are missing."}))
    for part in (message.text, message.html):
        assert len(packing.pack_text(part, packing.DEFLATE_MESSAGES_1)) < len(part.encode()) / 4


@pytest.mark.parametrize("stored, problem", [
    (b"", "no format byte"),
    (b"\x09abc", "unknown packed-text format 9"),
    (bytes([packing.DEFLATE_MESSAGES_1]) + b"\xff\xfe\xfd", "damaged"),
    (packing.pack_text(EMAIL.html, packing.DEFLATE_MESSAGES_1)[:-20], "cut short"),
])
def test_stored_bytes_no_format_reads_are_refused_with_a_reason(stored, problem):
    with pytest.raises(packing.UnreadableText, match=problem):
        packing.unpack_text(stored)


def test_every_dictionary_file_is_the_one_messages_were_stored_with():
    for fmt in packing.DICTIONARIES:
        assert len(packing.dictionary(fmt)) <= 32 * 1024  # deflate reads only the last 32 KB


def test_an_edited_dictionary_fails_loudly(monkeypatch, tmp_path):
    (tmp_path / "messages-1.txt").write_bytes(packing.dictionary(packing.DEFLATE_MESSAGES_1) + b" ")
    monkeypatch.setattr(packing, "_FOLDER", tmp_path)
    packing.dictionary.cache_clear()
    try:
        with pytest.raises(packing.UnreadableText, match="was changed"):
            packing.dictionary(packing.DEFLATE_MESSAGES_1)
    finally:
        monkeypatch.undo()
        packing.dictionary.cache_clear()


@pytest.fixture
def incident(engine):
    """A CSM and a P1 incident of their account, to log messages on."""
    csm_id = make_user(engine, "csm1", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", owner_id=csm_id, time_zone="Europe/Paris")
        account.contacts = [Contact(name="Ana Martin", email="ana@acme.example", is_primary=True)]
        s.add(account)
        s.flush()
        opened = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="Payments fail.",
                                         answers=Answers(business_impact="major"), policy_name="red-status",
                                         actor=Actor(csm_id, "csm1", Role.CSM), now=NOW, detected_at=NOW)
    return SimpleNamespace(engine=engine, id=opened.id, actor=Actor(csm_id, "csm1", Role.CSM))


def test_every_kind_of_body_reads_back_exactly_from_the_database(incident):
    logged = {}
    for n, (name, body_text, body_html) in enumerate(BODIES):
        with session_scope(incident.engine) as s:
            row = comms.record_communication(
                s, incident_id=incident.id, expected_version=None, template_key="status_update",
                template_version=None, channel="email", recipients=["ana@acme.example"], subject=name,
                body_text=body_text, body_html=body_html, delivery="sent", actor=incident.actor,
                now=NOW + dt.timedelta(minutes=n + 1))
            logged[row.id] = (body_text, body_html)
    with session_scope(incident.engine) as s:
        # The incident page's reader, and the rows themselves.
        assert {e.id: (e.body_text, e.body_html) for e in comms.communication_log(s, incident.id)} == logged
        assert {c.id: (c.body_text, c.body_html) for c in s.scalars(select(Communication))} == logged
    with incident.engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT subject, body_html FROM communications")).all())
    assert len(stored["rendered email"]) < len(EMAIL.html) / 4
    assert bytes(stored["empty html"]) == bytes([packing.RAW])


# Triage results as the flows store them, and whatever else JSON can hold.
TRIAGE_VALUES = [
    ("empty", {}),
    ("scalars", {"none": None, "true": True, "zero": 0, "tiny": 1e-07, "tenth": 0.1, "big": 2**53, "neg": -3.5}),
    ("unicode", {"reasons": [{"text": "Grüße ✅ 障害", "section": "Default policy › Low"}], "é": "\x00"}),
    ("a changed severity", {"severity": "P1", "targets": {"acknowledge": 900.0}, "severity_changes": [
        {"from": "P2", "to": "P1", "reason": "Client escalated", "at": "2026-03-02T09:00:00+00:00", "by": "lead"}]}),
    ("100 KB", {"reasons": [{"text": f"Rule {n} fired", "rule_id": f"r-{n}"} for n in range(2500)]}),
]


def test_every_triage_result_reads_back_exactly_from_the_database(incident):
    with session_scope(incident.engine) as s:
        opened = s.get_one(Incident, incident.id).triage_result
    assert opened["severity"] and opened["reasons"]  # what the triage flow stored, read back whole
    for name, value in [*TRIAGE_VALUES, ("as opened", opened)]:
        with session_scope(incident.engine) as s:
            s.get_one(Incident, incident.id).triage_result = value
        with session_scope(incident.engine) as s:
            assert s.get_one(Incident, incident.id).triage_result == value, name
    with incident.engine.connect() as conn:
        stored = conn.execute(text("SELECT triage_result FROM incidents")).scalar_one()
    assert bytes(stored)[0] == packing.DEFLATE_TRIAGE_1 and len(stored) < len(json.dumps(opened)) / 4


@pytest.mark.parametrize("name, value", TRIAGE_VALUES)
def test_packed_json_keeps_the_json_text_the_json_type_would_write(name, value):
    column = packing.PackedJSON(packing.DEFLATE_TRIAGE_1)
    stored = column.process_bind_param(value, None)
    assert stored is not None and packing.unpack_text(stored) == json.dumps(value), name
    assert column.process_result_value(stored, None) == value
