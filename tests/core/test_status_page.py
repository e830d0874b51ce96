"""Status pages on SQLite and PostgreSQL: who may publish, the link's life (revoke, renew), posts as client messages.

A post is a client message: it must move the communication plan exactly as an email marked sent does
(checked on a twin incident), be refused on a stale screen, and stamp "client notified" the first time.
The public shape (`core.statuspage.views.public_status`) must carry no internal value: every internal
column of the incident, its account and its contacts is filled with markers, and neither the shape nor
the page and feed rendered from it may show one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.alerts.links import link_key
from core.communication import flows as comms
from core.communication.errors import CommunicationForbidden
from core.incident import flows as incidents
from core.incident.flows import ConflictError
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.statuspage import flows, links, views
from core.statuspage.flows import StatusPageError
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, AuditEntry, Communication, Contact, Incident, TimelineEvent
from tests.conftest import NOW, make_user
from tests.status_markers import fill_internal_columns, leaks, unfilled
from ui.status_routes import render_feed, render_page

MIN = dt.timedelta(minutes=1)
BASE = "https://desk.example.com"


def _open(s, account_id: int, actor: Actor, owner_id: int | None, title: str = "Checkout down") -> int:
    return incidents.open_incident(s, account_id=account_id, title=title, summary="CEO furious, keep it quiet.",
                                   answers=Answers(business_impact="major"), policy_name="red-status", actor=actor,
                                   now=NOW, detected_at=NOW, owner_id=owner_id).id


@pytest.fixture
def world(engine):
    """Admin, lead, the account's CSM, another CSM and the incident's owner (a CSM); a P1 and its twin, Paris."""
    ids = {name: make_user(engine, name, role) for name, role in
           (("ada", "admin"), ("leo", "lead"), ("cara", "csm"), ("otto", "csm"), ("olga", "csm"))}
    actors = {name: Actor(uid, name, Role(role)) for (name, uid), role in
              zip(ids.items(), ("admin", "lead", "csm", "csm", "csm"), strict=True)}
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=NOW)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=ids["cara"], time_zone="Europe/Paris")
        account.contacts = [Contact(name="Ana Martin", email="ana@acme.example", time_zone="Europe/Paris",
                                    is_primary=True)]
        s.add(account)
        s.flush()
        incident = _open(s, account.id, actors["cara"], ids["olga"])
        twin = _open(s, account.id, actors["cara"], ids["olga"])
    return SimpleNamespace(engine=engine, incident=incident, twin=twin, actors=actors)


def _version(engine, incident_id: int) -> int:
    with session_scope(engine) as s:
        return s.get_one(Incident, incident_id).version


def _post(world, *, at: dt.datetime, expected: int | None = None, actor: str = "cara", title: str = "Payments",
          body: str = "Card payments fail at checkout; we are on it.", stage: str = "investigating"):
    with session_scope(world.engine) as s:
        return flows.post_update(s, incident_id=world.incident, expected_version=expected, stage=stage, title=title,
                                 body=body, notify_subscribers=True, actor=world.actors[actor], now=at, base_url=BASE)


def _token(world) -> str:
    with session_scope(world.engine) as s:
        page = flows.page_of(s, world.incident)
        assert page is not None
        return flows.token_of(s, page)


def _public(world, token: str, now: dt.datetime = NOW + 30 * MIN) -> views.PublicStatus | None:
    with session_scope(world.engine) as s:
        return views.public_status(s, token, now=now)


def _attempts(world, actor: Actor, now: dt.datetime) -> dict[str, bool]:
    """Each status page action tried by `actor` (each in its own unit of work): True when allowed."""
    version = _version(world.engine, world.incident)
    actions = {
        "publish": lambda s: flows.ensure_page(s, world.incident, actor=actor, now=now, client_impact="Checkout."),
        "edit": lambda s: flows.edit_page(s, incident_id=world.incident, expected_version=None, headline="Checkout",
                                          client_impact="Card payments fail.", actor=actor, now=now),
        "post": lambda s: flows.post_update(s, incident_id=world.incident, expected_version=version,
                                            stage="identified", title="Found it", body="A certificate expired.",
                                            notify_subscribers=False, actor=actor, now=now, base_url=BASE),
        "new link": lambda s: flows.renew_link(s, incident_id=world.incident, expected_version=None, actor=actor,
                                               now=now),
        "revoke": lambda s: flows.revoke(s, incident_id=world.incident, expected_version=None, actor=actor, now=now),
    }
    allowed = {}
    for name, action in actions.items():
        try:
            with session_scope(world.engine) as s:
                action(s)
            allowed[name] = True
        except CommunicationForbidden:
            allowed[name] = False
    return allowed


@pytest.mark.parametrize("who, allowed", [
    ("ada", True),   # admin: every account
    ("leo", True),   # lead: every account
    ("cara", True),  # the account's CSM
    ("olga", True),  # the incident's owner
    ("otto", False),  # another CSM
])
def test_who_may_publish_edit_post_renew_and_revoke(world, who, allowed):
    if not allowed:
        # The page exists (made by the account's CSM), so every action is refused on its rule, not on a missing page.
        with session_scope(world.engine) as s:
            flows.ensure_page(s, world.incident, actor=world.actors["cara"], now=NOW)
    got = _attempts(world, world.actors[who], NOW + 10 * MIN)
    assert got == dict.fromkeys(("publish", "edit", "post", "new link", "revoke"), allowed)
    with session_scope(world.engine) as s:
        posts = s.scalar(select(func.count()).select_from(Communication).where(Communication.channel == "status_page"))
    assert posts == (1 if allowed else 0)


def test_publish_edit_revoke_renew_leave_audit_and_timeline_and_the_link_follows(world):
    cara = world.actors["cara"]
    with session_scope(world.engine) as s:
        page = flows.ensure_page(s, world.incident, actor=cara, now=NOW, client_impact="Checkout fails.")
        assert page.headline == "Checkout down"  # the incident's title unless the CSM writes another
        again = flows.ensure_page(s, world.incident, actor=cara, now=NOW + MIN, headline="Other")
        assert again.id == page.id and again.headline == "Checkout down"  # a second publish makes nothing new
    first = _token(world)
    assert _public(world, first) is not None
    with session_scope(world.engine) as s:
        flows.edit_page(s, incident_id=world.incident, expected_version=1, headline="Card payments",
                        client_impact="Card payments fail at checkout.", actor=cara, now=NOW + 2 * MIN)
    with pytest.raises(StatusPageError, match="changed this status page meanwhile"), session_scope(world.engine) as s:
        flows.edit_page(s, incident_id=world.incident, expected_version=1, headline="Stale", client_impact="",
                        actor=cara, now=NOW + 3 * MIN)
    shown = _public(world, first)
    assert shown is not None and (shown.headline, shown.client_impact) == (
        "Card payments", "Card payments fail at checkout.")
    with session_scope(world.engine) as s:
        flows.revoke(s, incident_id=world.incident, expected_version=None, actor=cara, now=NOW + 4 * MIN)
    assert _public(world, first) is None
    with pytest.raises(StatusPageError, match="already revoked"), session_scope(world.engine) as s:
        flows.revoke(s, incident_id=world.incident, expected_version=None, actor=cara, now=NOW + 5 * MIN)
    with pytest.raises(StatusPageError, match="revoked"):
        _post(world, at=NOW + 5 * MIN)
    with session_scope(world.engine) as s:
        flows.renew_link(s, incident_id=world.incident, expected_version=None, actor=cara, now=NOW + 6 * MIN)
    second = _token(world)
    assert second != first and _public(world, first) is None and _public(world, second) is not None
    with session_scope(world.engine) as s:
        audit = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "status_page")
                               .order_by(AuditEntry.id)))
        timeline = list(s.scalars(select(TimelineEvent.summary).where(
            TimelineEvent.incident_id == world.incident, TimelineEvent.kind == "status_page").order_by(
            TimelineEvent.id)))
    assert audit == ["status_page:create", "status_page:edit", "status_page:revoke", "status_page:new_link"]
    assert timeline == ["Status page published", "Status page link revoked",
                        "Status page link replaced: the previous link no longer works"]


@pytest.mark.parametrize("token", [
    "", "garbage", "1.abc.def", "1." + "A" * 22 + "." + "B" * 43, "../../etc/passwd",
], ids=["empty", "word", "short", "well formed but unsigned", "path"])
def test_a_token_that_is_not_a_link_opens_nothing(world, token):
    with session_scope(world.engine) as s:
        flows.ensure_page(s, world.incident, actor=world.actors["cara"], now=NOW)
    _token(world)
    assert _public(world, token) is None


def test_an_altered_nonce_or_mac_or_another_page_opens_nothing(world):
    with session_scope(world.engine) as s:
        flows.ensure_page(s, world.incident, actor=world.actors["cara"], now=NOW)
    ident, nonce, mac = _token(world).split(".")
    flip = {"A": "B"}.get
    altered = [f"{ident}.{flip(nonce[0], 'A')}{nonce[1:]}.{mac}", f"{ident}.{nonce}.{flip(mac[0], 'A')}{mac[1:]}",
               f"{int(ident) + 1}.{nonce}.{mac}"]
    assert [_public(world, token) for token in altered] == [None, None, None]
    with session_scope(world.engine) as s:  # a genuine signature for a page that does not exist
        assert views.public_status(s, links.sign(link_key(s), 999, nonce), now=NOW) is None


def _plan(engine, incident_id: int) -> tuple[dt.datetime | None, dt.datetime | None, int]:
    with session_scope(engine) as s:
        row = s.get_one(Incident, incident_id)
        return row.next_client_update_due_at, row.client_notified_at, row.version


def test_a_post_meets_the_plan_exactly_like_an_email_marked_sent(world):
    at = NOW + 20 * MIN
    before = _plan(world.engine, world.incident)
    assert before[:2] == _plan(world.engine, world.twin)[:2] and before[1] is None
    posted = _post(world, at=at, expected=before[2])
    prepared = comms.PreparedMessage("status_update", None, "email", "client", "Update 1", "We are on it.", "", ())
    with session_scope(world.engine) as s:
        comms.mark_sent(s, incident_id=world.twin, expected_version=None, prepared=prepared, channel="email",
                        recipients=["ana@acme.example"], actor=world.actors["cara"], now=at)
    after, twin = _plan(world.engine, world.incident), _plan(world.engine, world.twin)
    assert after[0] is not None and after[0] != before[0]
    assert after[:2] == twin[:2] == (after[0], at)  # same next update due; first post stamps "client notified"
    assert posted.incident_version == after[2] > before[2]
    with session_scope(world.engine) as s:
        row = s.get_one(Communication, posted.communication_id)
        assert (row.channel, row.public_status, row.subject, row.recipients, row.delivery) == (
            "status_page", "investigating", "Payments", [flows.RECIPIENT], "sent")


def test_a_stale_screen_or_a_second_click_posts_nothing(world):
    seen = _version(world.engine, world.incident)
    _post(world, at=NOW + 20 * MIN, expected=seen)
    with pytest.raises(ConflictError):
        _post(world, at=NOW + 21 * MIN, expected=seen)
    with session_scope(world.engine) as s:
        count = s.scalar(select(func.count()).select_from(Communication).where(
            Communication.incident_id == world.incident))
    assert count == 1


@pytest.mark.parametrize("stage, title, body, says", [
    ("fixed", "Title", "Text", "Pick a stage"),
    ("monitoring", "  ", "Text", "Write the update's title"),
    ("monitoring", "Title", "", "Write the update"),
    ("monitoring", "T" * 201, "Text", "keep it under 200"),
])
def test_a_post_the_client_could_not_read_is_refused_with_what_to_fix(world, stage, title, body, says):
    with pytest.raises(StatusPageError, match=says):
        _post(world, at=NOW + 20 * MIN, stage=stage, title=title, body=body)


def test_the_public_shape_is_in_client_words_and_the_accounts_zone(world):
    _post(world, at=NOW + 20 * MIN, title="Payments", body="We are on it.")
    _post(world, at=NOW + 40 * MIN, stage="identified", title="Cause found", body="A certificate expired.")
    shown = _public(world, _token(world), now=NOW + 45 * MIN)
    assert shown is not None
    assert (shown.incident_ref, shown.severity, shown.stage, shown.stage_label, shown.account_name,
            shown.time_zone) == (f"INC-{world.incident}", "High", "identified", "Identified", "Acme Corp",
                                 "Europe/Paris")
    assert shown.started_at == "Mon 2 Mar 2026, 10:00 CET"  # 09:00 UTC in Paris
    assert [(p.title, p.stage, p.posted_at) for p in shown.posts] == [
        ("Cause found", "identified", "Mon 2 Mar 2026, 10:40 CET"),
        ("Payments", "investigating", "Mon 2 Mar 2026, 10:20 CET")]
    assert shown.next_update_at.endswith("CET") and shown.resolved_at == ""


def test_no_post_yet_the_stage_follows_the_status_and_no_update_promised_when_none_is_planned(world):
    with session_scope(world.engine) as s:
        flows.ensure_page(s, world.incident, actor=world.actors["cara"], now=NOW)
        s.get_one(Incident, world.incident).next_client_update_due_at = None
    shown = _public(world, _token(world))
    assert shown is not None and (shown.stage, shown.posts, shown.next_update_at) == ("investigating", (), "")


def test_no_internal_value_reaches_the_public_shape_page_or_feed(world):
    _post(world, at=NOW + 20 * MIN, title="Payments", body="Card payments fail at checkout.")
    with session_scope(world.engine) as s:
        flows.edit_page(s, incident_id=world.incident, expected_version=None, headline="Card payments",
                        client_impact="Checkout fails for card payments.", actor=world.actors["cara"],
                        now=NOW + 21 * MIN)
    token = _token(world)
    filled = fill_internal_columns(world.engine, world.incident)
    assert set(unfilled(filled).values()) <= {"Integer", "Boolean"}
    with session_scope(world.engine) as s:  # the markers are really there, and `leaks` does see them
        stored = s.get_one(Incident, world.incident)
        assert stored.closed_at is not None
        assert len(leaks(f"{stored.summary} {stored.closed_at:%Y}")) == 2
    shown = _public(world, token)
    assert shown is not None
    page, feed = render_page(shown, token), render_feed(shown, f"{BASE}/status/{token}").decode()
    assert leaks(repr(dataclasses.asdict(shown))) == [] and leaks(page) == [] and leaks(feed) == []
    assert "Card payments" in page and "Checkout fails for card payments." in page and "Card payments fail" in feed
    assert "CEO furious" not in page + feed  # the internal triage note (summary), whatever the markers did
    ET.fromstring(feed.encode())


def test_messages_quote_the_link_only_while_it_works(world):
    cara = world.actors["cara"]
    with session_scope(world.engine) as s:
        assert views.current_url(s, world.incident, BASE) == ""
        flows.ensure_page(s, world.incident, actor=cara, now=NOW)
    with session_scope(world.engine) as s:
        url = views.current_url(s, world.incident, BASE)
    assert url == f"{BASE}/status/{_token(world)}"
    rendered = {}
    for link in (url, ""):
        with session_scope(world.engine) as s:
            source = comms.compose_source(s, world.incident, signer_id=None, now=NOW + 10 * MIN,
                                          status_page_url=link)
            assert source is not None and source.context.status_page_url == link
            context = comms.apply_edits(source.context, {"current_status": "We are on it."})
            rendered[link] = comms.prepare_message(s, key="status_update", context=context)
    assert f"on the status page: {url}" in rendered[url].text and f'href="{url}"' in rendered[url].html
    assert "status page" not in rendered[""].text and "status page" not in rendered[""].html
    with session_scope(world.engine) as s:
        flows.revoke(s, incident_id=world.incident, expected_version=None, actor=cara, now=NOW + MIN)
    with session_scope(world.engine) as s:
        assert views.current_url(s, world.incident, BASE) == ""
