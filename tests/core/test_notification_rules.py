"""Saving how a person is paged (core.oncall.notification_rules), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.oncall.notification_rules import how_reached, rules_of, save_how_reached
from core.oncall.reach import ReachError, ReachRule
from db.engine import session_scope
from db.models import AuditEntry
from tests.conftest import make_user

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_saving_replaces_the_rules_in_order_and_is_audited(engine):
    ana = make_user(engine, "ana", "csm")
    with session_scope(engine) as s:
        assert how_reached(s, ana).rules == ()
        save_how_reached(s, ana, phone=" +44 20 7946 0000 ", quiet_from="22:00", quiet_to="07:00",
                         rules=[ReachRule("inbox", 0), ReachRule("email", 2), ReachRule("sms", 5)], now=NOW)
    with session_scope(engine) as s:
        save_how_reached(s, ana, phone="+44 20 7946 0000", quiet_from="22:00", quiet_to="07:00",
                         rules=[ReachRule("sms", 0), ReachRule("email", 10)], now=NOW)
    with session_scope(engine) as s:
        settings = how_reached(s, ana)
        assert (settings.phone, settings.quiet_from, settings.quiet_to) == ("+44 20 7946 0000", "22:00", "07:00")
        assert rules_of(s, ana) == [ReachRule("sms", 0), ReachRule("email", 10)]
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "notification_rules")
                            .order_by(AuditEntry.id)).all()
    assert len(entries) == 2
    assert entries[1].changes == {"rules": [["inbox+0m", "email+2m", "sms+5m"], ["sms+0m", "email+10m"]]}


@pytest.mark.parametrize("change, message", [
    ({"phone": "call me"}, "Phone: write an international number"),
    ({"quiet_from": "22:00", "quiet_to": ""}, "Quiet hours end"),
    ({"rules": [ReachRule("sms", 0)], "phone": ""}, "Rule 1: an SMS needs your phone number"),
    ({"rules": [ReachRule("pager", 0)]}, "Rule 1: the channel is one of"),
])
def test_a_refused_save_changes_nothing(engine, change, message):
    ana = make_user(engine, "ana", "csm")
    values = {"phone": "+1 415 555 0100", "quiet_from": "", "quiet_to": "", "rules": [ReachRule("email", 0)]}
    with session_scope(engine) as s:
        save_how_reached(s, ana, now=NOW, **values)
    with session_scope(engine) as s, pytest.raises(ReachError, match=message):
        save_how_reached(s, ana, now=NOW, **{**values, **change})
    with session_scope(engine) as s:
        assert how_reached(s, ana).rules == (ReachRule("email", 0),)
        assert how_reached(s, ana).phone == "+1 415 555 0100"
