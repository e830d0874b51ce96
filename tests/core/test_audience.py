"""Internal text never reaches the client: the audience table, its accessor, and what a client message is built from.

The table (core.incident.audience) must sort every column of the incident,
account and contact tables; `client_values` returns the client-safe ones
only. Then, end to end without a database: a context built from an incident
whose summary is the CSM's triage note holds that note in no client field,
in no rendered client template and in no .eml built from one.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from decimal import Decimal

import pytest

from core.communication.catalog import catalog
from core.communication.context import build_context
from core.communication.fields import INTERNAL_FIELDS, MessageContext
from core.communication.flows import PreparedMessage, eml_file
from core.communication.render import render
from core.incident.audience import COLUMNS, Audience, client_columns, client_values
from db.models import Account, Contact, Incident, User

UTC = dt.UTC
NOTE = "CEO on the phone, furious"
MODELS = {"incidents": Incident, "accounts": Account, "contacts": Contact}


# --------------------------------------------------------------------------
# The table


@pytest.mark.parametrize("table", list(MODELS))
def test_every_column_is_sorted_into_client_or_internal(table):
    stored = set(MODELS[table].__table__.columns.keys())
    assert set(COLUMNS[table]) == stored, (
        f"sort {sorted(stored - set(COLUMNS[table]))} in core/incident/audience.py; "
        f"drop {sorted(set(COLUMNS[table]) - stored)}")


@pytest.mark.parametrize("table", list(MODELS))
def test_internal_columns_say_why_and_only_they_name_client_keys(table):
    for name, column in COLUMNS[table].items():
        if column.audience is Audience.INTERNAL:
            assert column.why.strip(), f"{table}.{name}: say why the client may not read it"
        else:
            assert not column.why and not column.client_keys, f"{table}.{name}"


@pytest.mark.parametrize(
    "table, expected",
    [
        ("incidents", ("id", "title", "answers", "severity", "status", "detected_at", "acknowledged_at",
                       "client_notified_at", "mobilized_at", "mitigated_at", "resolved_at", "client_confirmed_at",
                       "reopened_at")),
        ("accounts", ("name", "time_zone", "contract_terms")),
        ("contacts", ("name", "email", "phone", "time_zone", "is_primary")),
    ],
)
def test_what_a_client_message_may_read(table, expected):
    assert client_columns(table) == expected


def test_the_triage_note_is_internal():
    assert COLUMNS["incidents"]["summary"].audience is Audience.INTERNAL
    assert "triage note" in COLUMNS["incidents"]["summary"].why


# --------------------------------------------------------------------------
# The accessor and the context


def _record():
    """A transient incident whose internal columns all hold something the client must never read."""
    account = Account(id=7, name="Acme Retail", tier="enterprise", time_zone="America/New_York",
                      annual_contract_value=Decimal("240000"), renewal_date=dt.date(2026, 9, 1),
                      contract_terms={"service_credits": "10% of the monthly fee per hour beyond SLA",
                                      "response_commitment": "1 hour, 24/7", "note": NOTE})
    contacts = [Contact(id=3, account_id=7, name="Ana Martin", role=f"Sponsor; {NOTE}", email="ana@acme.example",
                        phone="+33 1 23 45 67 89", time_zone="Europe/Paris", preferred_channel="phone",
                        is_primary=True)]
    incident = Incident(
        id=1042, title="Order exports failing", summary=NOTE, account_id=7, policy_name="red-status",
        policy_version=3, severity="P0", status="mobilized",
        answers={"business_impact": "stopped", "users_affected_pct": 80, "revenue_impact_per_hour": 8000,
                 "termination_threat": True, "workaround": NOTE},
        triage_result={"reasons": [{"text": NOTE}]}, red_status=True, escalation_category="immediate",
        required_level="L3", current_level="L2", war_room_url="https://meet.example/war-room",
        detected_at=dt.datetime(2026, 3, 2, 8, 12, tzinfo=UTC),
        acknowledged_at=dt.datetime(2026, 3, 2, 8, 20, tzinfo=UTC),
        client_notified_at=dt.datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        mobilized_at=dt.datetime(2026, 3, 2, 8, 35, tzinfo=UTC),
        next_client_update_due_at=dt.datetime(2026, 3, 2, 4, 5, tzinfo=UTC))
    return incident, account, contacts


def test_client_values_hold_the_client_safe_columns_only():
    incident, account, contacts = _record()
    values = client_values(incident, account, contacts)
    assert dict(values.incident) == {
        "id": 1042, "title": "Order exports failing", "answers": {"business_impact": "stopped",
                                                                   "users_affected_pct": 80},
        "severity": "P0", "status": "mobilized", "detected_at": incident.detected_at,
        "acknowledged_at": incident.acknowledged_at, "client_notified_at": incident.client_notified_at,
        "mobilized_at": incident.mobilized_at, "mitigated_at": None, "resolved_at": None,
        "client_confirmed_at": None, "reopened_at": None}
    assert dict(values.account) == {"name": "Acme Retail", "time_zone": "America/New_York",
                                    "contract_terms": {"service_credits": "10% of the monthly fee per hour beyond SLA"}}
    assert [dict(c) for c in values.contacts] == [{"name": "Ana Martin", "email": "ana@acme.example",
                                                   "phone": "+33 1 23 45 67 89", "time_zone": "Europe/Paris",
                                                   "is_primary": True}]
    with pytest.raises(KeyError):
        values.incident["summary"]


def _context(**overrides) -> MessageContext:
    incident, account, contacts = _record()
    now = dt.datetime(2026, 3, 2, 9, 40, tzinfo=UTC)
    csm = User(display_name="Sam Lee", email="sam.lee@example.com", username="sam", role="csm")
    return build_context(incident=incident, account=account, contacts=contacts, csm=csm,
                         assignments={"technical_lead": "Priya Shah"}, now=now,
                         next_update_due=now + dt.timedelta(hours=1), overrides=overrides)


def _texts(value) -> list[str]:
    return value if isinstance(value, list) else [str(value)]


def test_the_triage_note_fills_no_client_field_and_only_the_internal_triage_note():
    context = _context()
    leaked = {name for name, value in context.model_dump().items()
              if name not in INTERNAL_FIELDS and any(NOTE in text for text in _texts(value))}
    assert leaked == set()
    assert (context.summary, context.impact, context.triage_note) == ("", "", NOTE)
    assert context.next_update_at == "Mon 2 Mar 2026, 11:40 CET"  # the plan's time, never the stored 04:05


CLIENT_SPECS = [spec for spec in catalog() if spec.audience == "client"]


@pytest.mark.parametrize("spec", CLIENT_SPECS, ids=lambda s: s.key)
def test_no_client_template_shows_the_triage_note(spec):
    message = render(spec.key, _context())
    for part in (message.subject, message.text, message.html):
        assert NOTE not in part and "furious" not in part
    assert "war-room" not in message.text + message.html


@pytest.mark.parametrize("spec", [s for s in CLIENT_SPECS if s.channel == "email"], ids=lambda s: s.key)
def test_no_eml_carries_the_triage_note(spec):
    message = render(spec.key, _context())
    prepared = PreparedMessage(spec.key, None, spec.channel, spec.audience, message.subject, message.text,
                               message.html, ())
    raw = eml_file(prepared, sender="desk@example.com", to=["Ana Martin <ana@acme.example>"],
                   now=dt.datetime(2026, 3, 2, 9, 40, tzinfo=UTC))
    assert b"furious" not in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    decoded = str(parsed["Subject"]) + "".join(part.get_content() for part in parsed.iter_parts())
    assert "Ana Martin" in decoded and NOTE not in decoded and "furious" not in decoded


@pytest.mark.parametrize("spec", [s for s in catalog() if s.audience == "internal"], ids=lambda s: s.key)
def test_internal_messages_still_carry_the_triage_note(spec):
    assert f"Triage note: {NOTE}" in render(spec.key, _context()).text
