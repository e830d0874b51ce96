"""The public subscription routes over real HTTP, on SQLite and PostgreSQL.

GET on a confirm or unsubscribe link shows one button and writes nothing (mail scanners fetch
links); POST acts once, a second POST says the link was used; an altered link changes nothing.
The subscribe form answers every address alike, refuses an invalid or revoked status link with
404, a body that is not one address with 413, and escapes what it shows; no answer sets a cookie.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.statuspage import flows as page_flows
from core.statuspage import subscriptions as subs
from db.engine import session_scope
from db.models import AuditEntry, Notification, StatusSubscriber
from tests.conftest import NOW
from tests.core.test_status_subscriptions import _actor, _row, _sign, _subscribe, _world
from tests.ui.subscription_server import serve
from ui.app_address import SETTING
from ui.status_subscription_routes import MAX_BODY

BASE = "https://desk.example"


@pytest.fixture(autouse=True)
def _base_url(monkeypatch):
    monkeypatch.setenv(SETTING, BASE)


def _status_token(engine, world) -> str:
    with session_scope(engine) as s:
        page = page_flows.page_of(s, world["incident"])
        assert page is not None
        return page_flows.token_of(s, page)


def _writes(engine) -> tuple[int, int, int]:
    """What a request could have written: subscriber versions, notifications, audit entries."""
    with session_scope(engine) as s:
        return (int(s.scalar(select(func.coalesce(func.sum(StatusSubscriber.version), 0))) or 0),
                int(s.scalar(select(func.count()).select_from(Notification)) or 0),
                int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0))


def _strict(answer) -> None:
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize("purpose, ready_word, done_word", [("confirm", "Confirm", "Subscribed"),
                                                           ("unsubscribe", "Unsubscribe", "Unsubscribed")])
def test_get_shows_a_button_and_post_acts_once(engine, purpose, ready_word, done_word):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    if purpose == "unsubscribe":
        with session_scope(engine) as s:
            subs.confirm(s, _sign(engine, sid, _row(engine, sid).nonce, "confirm"), now=NOW)
    path = f"/status/{purpose}/{_sign(engine, sid, _row(engine, sid).nonce, purpose)}"
    with serve(engine) as client:
        before = _writes(engine)
        for _ in range(2):  # a scanner and a preview
            shown = client.get(path)
            assert shown.status_code == 200 and f'<button type="submit">{ready_word}</button>' in shown.text
            _strict(shown)
        assert _writes(engine) == before, "GET wrote something"
        done = client.post(path)
        assert done.status_code == 200 and f"<h1>{done_word}</h1>" in done.text
        _strict(done)
        state = _row(engine, sid).state
        after = _writes(engine)
        again = client.post(path)
        assert again.status_code == 410 and "already used" in again.text
        assert client.get(path).status_code == 410
        assert _writes(engine) == after and _row(engine, sid).state == state
        altered = client.post(path[:-1] + ("A" if path[-1] != "A" else "B"))
        assert altered.status_code == 404 and _writes(engine) == after


def test_subscribe_answers_every_address_alike(engine):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    with session_scope(engine) as s:
        subs.confirm(s, _sign(engine, sid, _row(engine, sid).nonce, "confirm"), now=NOW)
    token = _status_token(engine, world)
    with serve(engine) as client:
        known = client.post(f"/status/{token}/subscribe", data={"email": "ana@acme.example"})
        new = client.post(f"/status/{token}/subscribe", data={"email": "new@acme.example"})
    assert known.status_code == new.status_code == 200
    assert known.text == new.text and "Check your inbox" in new.text
    _strict(new)
    with session_scope(engine) as s:
        mails = s.scalars(select(Notification).where(Notification.rule == subs.CONFIRM_RULE)
                          .order_by(Notification.id)).all()
        assert [m.recipient for m in mails] == ["ana@acme.example", "new@acme.example"]
        assert f"{BASE}{subs.CONFIRM_PATH}" in mails[-1].body, "links use the configured address, not Host"


def test_subscribe_refuses_what_is_not_one_address_on_a_live_page(engine):
    world = _world(engine)
    token = _status_token(engine, world)
    with serve(engine) as client:
        before = _writes(engine)
        bad = client.post(f"/status/{token}/subscribe", data={"email": "<script>alert(1)</script>"})
        assert bad.status_code == 400 and "not a valid email address" in bad.text
        assert "<script>" not in bad.text and "&lt;script&gt;" in bad.text
        big = client.post(f"/status/{token}/subscribe", content=b"email=" + b"a" * MAX_BODY,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413
        many = client.post(f"/status/{token}/subscribe", content="&".join(f"f{n}=x" for n in range(20)).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert many.status_code == 400
        for wrong in ("nonsense", token[:-1] + ("A" if token[-1] != "A" else "B")):
            missing = client.post(f"/status/{wrong}/subscribe", data={"email": "ana@acme.example"})
            assert missing.status_code == 404
        assert client.get(f"/status/{token}/subscribe").status_code == 405
        assert _writes(engine) == before
        with session_scope(engine) as s:
            page_flows.revoke(s, incident_id=world["incident"], expected_version=None, actor=_actor(world["olivia"]),
                              now=NOW)
        after_revoke = _writes(engine)
        revoked = client.post(f"/status/{token}/subscribe", data={"email": "ana@acme.example"})
        assert revoked.status_code == 404 and _writes(engine) == after_revoke


def test_the_limits_answer_in_words(engine):
    world = _world(engine)
    token = _status_token(engine, world)
    with serve(engine) as client:
        first = client.post(f"/status/{token}/subscribe", data={"email": "ana@acme.example"})
        again = client.post(f"/status/{token}/subscribe", data={"email": "ana@acme.example"})
    assert first.status_code == 200
    assert again.status_code == 400 and "try again later" in again.text
    with session_scope(engine) as s:
        row = s.scalars(select(StatusSubscriber)).one()
        assert row.confirmation_sent_at is not None
        assert dt.datetime.now(dt.UTC) - row.confirmation_sent_at.replace(tzinfo=dt.UTC) < dt.timedelta(minutes=5)
