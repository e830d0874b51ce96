"""Status page subscriptions on SQLite and PostgreSQL: single-use signed links, limits, no enumeration, fan-out.

A growth-engine P1 at Acme (Europe/Paris) with a status page. The confirm and unsubscribe links
are a table of cases (good, used twice, altered, another purpose, unknown); the abuse limits and
the public form's sameness are checked on the rows they write; `post_update` queues one message
per subscriber and tier, never twice for the same post. The real delivery (aiosmtpd, the HTTP
receiver, the Starlette routes) is at the end.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.alerts import channels
from core.alerts.delivery import deliver
from core.alerts.links import link_key
from core.communication.errors import CommunicationForbidden
from core.communication.mail import HeaderInjectionError, build_email, checked_bytes, set_list_unsubscribe
from core.communication.smtp import save_smtp_settings
from core.incident import flows as incident_flows
from core.outbox.queue import DRILL_SUBJECT
from core.people.access import Role
from core.people.users import SYSTEM, Actor
from core.policy import store as policy_store
from core.statuspage import flows as page_flows
from core.statuspage import links
from core.statuspage import subscriptions as subs
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, AuditEntry, Communication, Incident, Notification, StatusSubscriber
from tests.conftest import NOW, make_user
from tests.core.http_receiver import receiver
from tests.core.test_paging_delivery import mail_server  # noqa: F401  (the module's SMTP server fixture)
from tests.ui.subscription_server import serve

BASE = "https://desk.example"
INTERNAL_TITLE = "Vendor botched the DB failover (internal)"
INTERNAL_SUMMARY = "Root cause: our replica lag alarm was muted since May"
HEADLINE = "Payments are slow for some customers"


def _world(engine, *, drill: bool = False) -> dict[str, int]:
    """Olivia (CSM, owns Acme), Carl (another CSM), Eve (an executive); Acme's incident with a status page."""
    olivia, carl = make_user(engine, "olivia", "csm"), make_user(engine, "carl", "csm")
    eve = make_user(engine, "eve", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=olivia,
                          time_zone="Europe/Paris")
        s.add(account)
        s.flush()
        iid = incident_flows.open_incident(
            s, account_id=account.id, title=INTERNAL_TITLE, summary=INTERNAL_SUMMARY, policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM, now=NOW, detected_at=NOW,
            owner_id=olivia, is_drill=drill).id
        page = page_flows.ensure_page(s, iid, actor=_actor(olivia), now=NOW, headline=HEADLINE)
        return {"olivia": olivia, "carl": carl, "eve": eve, "incident": iid, "page": page.id, "account": account.id}


def _actor(user_id: int, role: Role = Role.CSM) -> Actor:
    return Actor(id=user_id, name=f"user {user_id}", role=role)


def _subscribe(engine, page: int, address: str, *, at: dt.datetime = NOW, by: Actor | None = None) -> subs.Subscribed:
    with session_scope(engine) as s:
        return subs.subscribe_email(s, page_id=page, address=address, added_by=by, now=at, base_url=BASE)


def _row(engine, sid: int) -> StatusSubscriber:
    with session_scope(engine) as s:
        row = s.get(StatusSubscriber, sid)
        assert row is not None
        s.expunge(row)
        return row


def _sign(engine, ident: int, nonce: str, purpose: str) -> str:
    with session_scope(engine) as s:
        return links.sign(link_key(s), ident, nonce, purpose=purpose)


def _mails(engine, rule: str = subs.CONFIRM_RULE) -> list[Notification]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(Notification).where(Notification.rule == rule).order_by(Notification.id)))
        s.expunge_all()
        return rows


def _use(engine, purpose: str, token: str, at: dt.datetime = NOW) -> subs.LinkOutcome:
    with session_scope(engine) as s:
        act = subs.confirm if purpose == "confirm" else subs.unsubscribe
        return act(s, token, now=at)


def _flip_last_char(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _other_nonce(token: str) -> str:
    ident, _, mac = token.split(".")
    return f"{ident}.{links.new_nonce()}.{mac}"


# Each case: how the link is made from the subscriber (pending, or confirmed first when `active`),
# which action it is given to, what that answers, and the state the subscriber is left in.
LINK_CASES = [
    ("good confirm link", False, lambda e, r, w: _sign(e, r.id, r.nonce, "confirm"), "confirm", "confirmed", "active"),
    ("altered signature", False, lambda e, r, w: _flip_last_char(_sign(e, r.id, r.nonce, "confirm")), "confirm",
     "invalid", "pending"),
    ("altered nonce", False, lambda e, r, w: _other_nonce(_sign(e, r.id, r.nonce, "confirm")), "confirm", "invalid",
     "pending"),
    ("another id in a valid-looking token", False,
     lambda e, r, w: str(r.id + 1) + _sign(e, r.id, r.nonce, "confirm")[len(str(r.id)):], "confirm", "invalid",
     "pending"),
    ("unknown subscriber", False, lambda e, r, w: _sign(e, 999_999, r.nonce, "confirm"), "confirm", "invalid",
     "pending"),
    ("the status page's own link used to confirm", False, lambda e, r, w: _sign(e, w["page"], r.nonce, "status"),
     "confirm", "invalid", "pending"),
    ("an unsubscribe link used to confirm", False, lambda e, r, w: _sign(e, r.id, r.nonce, "unsubscribe"),
     "confirm", "invalid", "pending"),
    ("garbage", False, lambda e, r, w: "../../etc/passwd", "confirm", "invalid", "pending"),
    ("good unsubscribe link", True, lambda e, r, w: _sign(e, r.id, r.nonce, "unsubscribe"), "unsubscribe",
     "unsubscribed", "unsubscribed"),
    ("a confirm link used to unsubscribe", True, lambda e, r, w: _sign(e, r.id, r.nonce, "confirm"), "unsubscribe",
     "invalid", "active"),
    ("altered unsubscribe link", True, lambda e, r, w: _flip_last_char(_sign(e, r.id, r.nonce, "unsubscribe")),
     "unsubscribe", "invalid", "active"),
]


@pytest.mark.parametrize("case, active, make, action, answer, state", LINK_CASES, ids=[c[0] for c in LINK_CASES])
def test_links_are_signed_for_one_purpose(engine, case, active, make, action, answer, state):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    if active:
        row = _row(engine, sid)
        assert _use(engine, "confirm", _sign(engine, sid, row.nonce, "confirm")).kind == "confirmed"
    before = _row(engine, sid)
    token = make(engine, before, world)
    assert _use(engine, action, token, NOW + dt.timedelta(minutes=1)).kind == answer
    after = _row(engine, sid)
    assert after.state == state
    if answer == "invalid":
        assert (after.nonce, after.version) == (before.nonce, before.version), "a refused link changes nothing"


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_each_link_works_once(engine, purpose):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    if purpose == "unsubscribe":
        _use(engine, "confirm", _sign(engine, sid, _row(engine, sid).nonce, "confirm"))
    unused = _row(engine, sid)
    token = _sign(engine, sid, unused.nonce, purpose)
    first = _use(engine, purpose, token)
    assert first.kind == ("confirmed" if purpose == "confirm" else "unsubscribed")
    assert (first.headline, first.address) == (HEADLINE, "ana@acme.example")
    used = _row(engine, sid)
    assert used.nonce != unused.nonce, "the nonce the link was signed over is replaced"
    again = _use(engine, purpose, token, NOW + dt.timedelta(hours=1))
    assert again.kind == "used"
    assert (_row(engine, sid).version, _row(engine, sid).nonce) == (used.version, used.nonce)
    with session_scope(engine) as s:
        assert subs.about(s, token, purpose=purpose).kind == "used"


def test_about_reads_without_writing(engine):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    before = _row(engine, sid)
    token = _sign(engine, sid, before.nonce, "confirm")
    with session_scope(engine) as s:
        assert subs.about(s, token, purpose="confirm").kind == "ready"
    assert (_row(engine, sid).version, _row(engine, sid).state) == (before.version, "pending")


def test_a_newer_confirmation_replaces_the_older_link(engine):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    old = _sign(engine, sid, _row(engine, sid).nonce, "confirm")
    _subscribe(engine, world["page"], "Ana <ANA@acme.example>", at=NOW + subs.RESEND_WAIT)
    assert len(_mails(engine)) == 2, "one row, two confirmation mails, each with its own key"
    assert _use(engine, "confirm", old).kind == "used"
    assert _use(engine, "confirm", _sign(engine, sid, _row(engine, sid).nonce, "confirm")).kind == "confirmed"


def test_one_confirmation_per_address_per_window(engine):
    world = _world(engine)
    _subscribe(engine, world["page"], "ana@acme.example")
    with pytest.raises(subs.SubscriptionError, match="less than 10 minutes ago"):
        _subscribe(engine, world["page"], "ana@acme.example", at=NOW + dt.timedelta(minutes=9))
    _subscribe(engine, world["page"], "ana@acme.example", at=NOW + dt.timedelta(minutes=10))
    assert len(_mails(engine)) == 2


def test_a_page_takes_a_limited_number_of_requests_an_hour(engine):
    world = _world(engine)
    for n in range(subs.PENDING_PER_HOUR):
        _subscribe(engine, world["page"], f"person{n}@example.org", at=NOW + dt.timedelta(seconds=n))
    with pytest.raises(subs.SubscriptionError, match="too many subscription requests"):
        _subscribe(engine, world["page"], "one-more@example.org", at=NOW + dt.timedelta(minutes=30))
    # The CSM is not held to the public cap; an hour later the form works again.
    _subscribe(engine, world["page"], "cfo@acme.example", at=NOW + dt.timedelta(minutes=30), by=_actor(world["olivia"]))
    _subscribe(engine, world["page"], "one-more@example.org", at=NOW + dt.timedelta(minutes=61))
    assert len(_mails(engine)) == subs.PENDING_PER_HOUR + 2


@pytest.mark.parametrize("address, message", [
    ("", "empty"),
    ("not an address", "not a valid email address"),
    ("ana@acme.example\r\nBcc: all@evil.example", "line feed|carriage return"),
    ("=?utf-8?q?ana?= <ana@acme.example>", "encoded word"),
])
def test_a_bad_address_is_refused_with_what_to_fix(engine, address, message):
    world = _world(engine)
    with pytest.raises(subs.SubscriptionError, match=message):
        _subscribe(engine, world["page"], address)
    assert _mails(engine) == []


def test_the_form_answers_an_active_address_like_any_other(engine):
    world = _world(engine)
    sid = _subscribe(engine, world["page"], "ana@acme.example").subscriber_id
    _use(engine, "confirm", _sign(engine, sid, _row(engine, sid).nonce, "confirm"))
    later = NOW + dt.timedelta(hours=2)
    again = _subscribe(engine, world["page"], "ana@acme.example", at=later)
    fresh = _subscribe(engine, world["page"], "new@acme.example", at=later)
    assert (again.mailed, again.already_active) == (False, True)
    assert fresh.mailed
    assert [m.recipient for m in _mails(engine)] == ["ana@acme.example", "new@acme.example"]
    # A repeat within the window is refused in the same words for both, so the limit tells nothing either.
    refusals = []
    for address in ("ana@acme.example", "new@acme.example"):
        with pytest.raises(subs.SubscriptionError) as refused:
            _subscribe(engine, world["page"], address, at=later + dt.timedelta(minutes=1))
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
    assert _row(engine, sid).state == "active"


def test_a_csm_invites_with_double_opt_in_and_it_is_audited(engine):
    world = _world(engine)
    with pytest.raises(CommunicationForbidden):
        _subscribe(engine, world["page"], "cfo@acme.example", by=_actor(world["carl"]))
    done = _subscribe(engine, world["page"], "cfo@acme.example", by=_actor(world["olivia"]))
    row = _row(engine, done.subscriber_id)
    assert (row.state, row.added_by_id) == ("pending", world["olivia"])
    (mail,) = _mails(engine)
    assert mail.recipient == "cfo@acme.example" and f"{BASE}{subs.CONFIRM_PATH}" in mail.body
    with session_scope(engine) as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "status_subscriber")).all()
    assert actions == ["status_subscriber:invite"]


def test_webhooks_and_stakeholders_are_active_at_once_and_removal_is_audited(engine):
    world = _world(engine)
    olivia = _actor(world["olivia"])
    with session_scope(engine) as s:
        with pytest.raises(subs.SubscriptionError, match="http"):
            subs.add_webhook(s, incident_id=world["incident"], url="ftp://client.example/x", actor=olivia, now=NOW)
        with pytest.raises(CommunicationForbidden):
            subs.add_internal(s, incident_id=world["incident"], user_id=world["eve"], actor=_actor(world["carl"]),
                              now=NOW)
        hook, secret = subs.add_webhook(s, incident_id=world["incident"], url="https://client.example/hook",
                                        actor=olivia, now=NOW)
        eve = subs.add_internal(s, incident_id=world["incident"], user_id=world["eve"], actor=olivia, now=NOW)
        assert (hook.state, eve.state, len(secret) >= 32, hook.secret == secret) == ("active", "active", True, True)
        with pytest.raises(subs.SubscriptionError, match="already"):
            subs.add_internal(s, incident_id=world["incident"], user_id=world["eve"], actor=olivia, now=NOW)
        subs.remove(s, subscriber_id=hook.id, actor=olivia, now=NOW)
        listed = subs.subscribers_of(s, world["incident"])
        assert [(r.kind, r.state) for r in listed] == [("internal", "active"), ("webhook", "unsubscribed")]
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "status_subscriber")
                            .order_by(AuditEntry.id)).all()
    assert actions == ["status_subscriber:add_webhook", "status_subscriber:add_internal", "status_subscriber:remove"]


def _tiers(engine, world) -> dict[str, int]:
    """One subscriber per tier and state: Eve (internal), two active emails, one pending, one gone, a webhook."""
    olivia = _actor(world["olivia"])
    ids = {}
    for name in ("ana", "ben", "pending", "gone"):
        ids[name] = _subscribe(engine, world["page"], f"{name}@acme.example").subscriber_id
        if name != "pending":
            _use(engine, "confirm", _sign(engine, ids[name], _row(engine, ids[name]).nonce, "confirm"))
    _use(engine, "unsubscribe", _sign(engine, ids["gone"], _row(engine, ids["gone"]).nonce, "unsubscribe"))
    with session_scope(engine) as s:
        subs.add_internal(s, incident_id=world["incident"], user_id=world["eve"], actor=olivia, now=NOW)
        ids["hook"] = subs.add_webhook(s, incident_id=world["incident"], url="https://client.example/hook",
                                       actor=olivia, now=NOW)[0].id
    return ids


def _post(engine, world, *, notify: bool, at: dt.datetime,
          title: str = "We found the cause") -> page_flows.PostedUpdate:
    with session_scope(engine) as s:
        version = s.get_one(Incident, world["incident"]).version
        return page_flows.post_update(
            s, incident_id=world["incident"], expected_version=version, stage="identified", title=title,
            body="A database switch-over slowed payments; we are moving traffic back.", notify_subscribers=notify,
            actor=_actor(world["olivia"]), now=at, base_url=BASE)


@pytest.mark.parametrize("notify, expected", [
    (True, {("inbox", "Eve"): 1, ("email", "eve@example.com"): 1, ("email", "ana@acme.example"): 1,
            ("email", "ben@acme.example"): 1, ("webhook", "https://client.example/hook"): 1}),
    (False, {("inbox", "Eve"): 1, ("email", "eve@example.com"): 1}),
])
def test_an_update_reaches_each_tier_once(engine, notify, expected):
    world = _world(engine)
    _tiers(engine, world)
    at = NOW + dt.timedelta(hours=1)
    posted = _post(engine, world, notify=notify, at=at)
    sent = _mails(engine, subs.UPDATE_RULE)
    got: dict[tuple[str, str], int] = {}
    for row in sent:
        got[(row.channel, row.recipient)] = got.get((row.channel, row.recipient), 0) + 1
    assert got == expected
    assert posted.queued == len(sent)
    # The same post queued again (a retry of the fan-out) sends nothing more.
    with session_scope(engine) as s:
        page = page_flows.page_of(s, world["incident"])
        assert page is not None
        comm = s.get_one(Communication, _comm_id(s, world["incident"]))
        assert subs.notify_update(s, page=page, communication=comm, notify_public=notify, base_url=BASE, now=at) == 0
    assert len(_mails(engine, subs.UPDATE_RULE)) == len(sent)


def _comm_id(s, incident_id: int) -> int:
    return int(s.scalar(select(func.max(Communication.id)).where(Communication.incident_id == incident_id)))


def test_public_messages_hold_client_words_only(engine):
    world = _world(engine)
    ids = _tiers(engine, world)
    _post(engine, world, notify=True, at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC))
    public = [r for r in _mails(engine, subs.UPDATE_RULE) if r.channel in ("email", "webhook")
              and r.recipient != "eve@example.com"]
    assert len(public) == 3
    for row in public:
        everything = row.subject + row.body + json.dumps(row.payload)
        assert INTERNAL_TITLE not in everything and INTERNAL_SUMMARY not in everything
    mail = next(r for r in public if r.recipient == "ana@acme.example")
    assert "2026-07-01 14:00 CEST" in mail.body, "the time is in the account's zone"
    assert HEADLINE in mail.body and "Identified" in mail.body and f"{BASE}/status/" in mail.body
    unsubscribe = re.search(r"/status/unsubscribe/(\S+)", mail.body)
    assert unsubscribe and _use(engine, "unsubscribe", unsubscribe[1]).kind == "unsubscribed"
    hook = next(r for r in public if r.channel == "webhook")
    assert hook.endpoint_id is None and hook.payload["status_subscriber_id"] == ids["hook"]
    assert hook.payload["body"]["incident"] == f"INC-{world['incident']}"
    assert set(hook.payload["body"]) == {"incident", "headline", "stage", "title", "text", "posted_at",
                                         "status_page_url", "drill"}


def test_a_drill_says_so_in_every_subscriber_message(engine):
    world = _world(engine, drill=True)
    _tiers(engine, world)
    _post(engine, world, notify=True, at=NOW + dt.timedelta(hours=1))
    assert all(m.subject.startswith(DRILL_SUBJECT) for m in _mails(engine))
    updates = _mails(engine, subs.UPDATE_RULE)
    assert updates and all(m.subject.startswith(DRILL_SUBJECT) for m in updates)
    assert next(m for m in updates if m.channel == "webhook").payload["body"]["drill"] is True


# --------------------------------------------------------------------------
# Real delivery: SMTP (aiosmtpd), the HTTP receiver, and the public routes in-process.


def _messages(sink, to: str) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for rcpt, raw in sink.messages if to in rcpt]


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_delivered_for_real_confirm_post_and_unsubscribe(engine, mail_server):  # noqa: F811 (the fixture)
    controller, sink = mail_server
    world = _world(engine)
    with session_scope(engine) as s:
        save_smtp_settings(s, host="127.0.0.1", port=controller.port, starttls=False, username="",
                           from_address="desk@example.com", expected_revision=0, actor=SYSTEM, now=NOW)
    with receiver() as hooks, serve(engine) as client:
        with session_scope(engine) as s:
            hook, secret = subs.add_webhook(s, incident_id=world["incident"], url=f"{hooks.url}/ok",
                                            actor=_actor(world["olivia"]), now=NOW)
        _subscribe(engine, world["page"], "ana@acme.example")
        earlier = len(_messages(sink, "ana@acme.example"))  # the SMTP server serves the module: both engines
        assert deliver(engine, now=NOW, worker="t", base_url=BASE).sent == 1
        (confirmation,) = _messages(sink, "ana@acme.example")[earlier:]
        link = re.search(rf"{re.escape(BASE)}(/status/confirm/\S+)", _text(confirmation))
        assert link is not None
        assert "Confirm" in client.get(link[1]).text
        assert _row(engine, hook.id).state == "active"
        answer = client.post(link[1])
        assert answer.status_code == 200 and "Subscribed" in answer.text
        at = NOW + dt.timedelta(hours=1)
        _post(engine, world, notify=True, at=at)
        assert deliver(engine, now=at, worker="t", base_url=BASE).sent == 2
        update = _messages(sink, "ana@acme.example")[-1]
        body = _text(update)
        assert "We found the cause" in body and INTERNAL_TITLE not in body
        unsubscribe = re.search(rf"{re.escape(BASE)}(/status/unsubscribe/\S+)", body)
        assert unsubscribe is not None
        assert update["List-Unsubscribe"] == f"<{BASE}{unsubscribe[1]}>"
        assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        (path, headers, raw), = hooks.deliveries
        assert path == "/ok"
        assert channels.verify_signature(secret, headers[channels.TIMESTAMP_HEADER], raw,
                                         headers[channels.SIGNATURE_HEADER], now=at)
        sent = json.loads(raw)
        assert sent["title"] == "We found the cause" and sent["incident"] == f"INC-{world['incident']}"
        assert INTERNAL_TITLE not in raw.decode() and INTERNAL_SUMMARY not in raw.decode()
        # The mail program's one-click unsubscribe is a POST with this body.
        gone = client.post(unsubscribe[1], content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert gone.status_code == 200 and "Unsubscribed" in gone.text
        assert client.post(unsubscribe[1]).status_code == 410
        # Removed since queued: the webhook's next message fails for good and reaches nobody.
        later = at + dt.timedelta(hours=1)
        _post(engine, world, notify=True, at=later, title="Fixed")
        with session_scope(engine) as s:
            subs.remove(s, subscriber_id=hook.id, actor=_actor(world["olivia"]), now=later)
        summary = deliver(engine, now=later, worker="t", base_url=BASE)
        assert (summary.sent, summary.failed) == (0, 1)
        assert len(hooks.deliveries) == 1
    with session_scope(engine) as s:
        dead = s.scalars(select(Notification).where(Notification.state == "dead")).one()
        assert dead.channel == "webhook" and "removed or unsubscribed" in dead.last_error



@pytest.mark.parametrize("url", [
    "https://desk.example/status/unsubscribe/1 2",
    "https://desk.example/x\r\nBcc: all@evil.example",
    "https://desk.example/?q==?utf-8?q?x?=",
    "javascript:alert(1)",
    "https://desk.example/<x>",
    "https://desk.example/" + "a" * 1000,
])
def test_list_unsubscribe_takes_only_a_plain_link(url):
    message = build_email(sender="desk@example.com", recipients=["ana@acme.example"], subject="s", text="t")
    with pytest.raises(HeaderInjectionError):
        set_list_unsubscribe(message, url)
    assert message["List-Unsubscribe"] is None


def test_list_unsubscribe_is_written_on_one_line_and_read_back():
    message = build_email(sender="desk@example.com", recipients=["ana@acme.example"], subject="s", text="t")
    url = "https://desk.example/status/unsubscribe/12." + "n" * 22 + "." + "m" * 43
    set_list_unsubscribe(message, url)
    raw, _ = checked_bytes(message)
    assert f"\r\nList-Unsubscribe: <{url}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n".encode() in raw
