"""The public status page and its Atom feed over real HTTP, against a real `streamlit run server.py` (SQLite).

A good link shows the page (strict headers, escaped text, the account's zone, a self-refresh, the
subscribe form and the feed); every refused link (altered nonce or MAC, unknown page, revoked,
replaced by a new link, garbage) gets the very same 404, so nothing can be learnt by probing.
Reading writes nothing and sets no cookie.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from core.alerts.links import link_key
from core.incident import flows as incidents
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.statuspage import flows, links
from core.triage.rules import Answers
from db.engine import make_engine, session_scope
from db.models import Account
from tests.browser.conftest import running_server
from tests.conftest import make_user
from tests.ui.test_ack_route import _call, _rows

HOSTILE_HEADLINE = 'Payments <script>alert("x")</script> & \'co\''
HOSTILE_POST = '<img src=x onerror="alert(1)"> "quoted" & done'
ATOM = "{http://www.w3.org/2005/Atom}"


def _seed(engine) -> dict[str, object]:
    """Three incidents of a Tokyo account, each with a page: one live with two posts, one revoked, one renewed."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    detected = now - dt.timedelta(hours=2)
    uid = make_user(engine, "cara", "csm")
    cara = Actor(uid, "cara", Role.CSM)
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=detected)
        account = Account(name="Kaisha & Co", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=uid,
                          time_zone="Asia/Tokyo")
        s.add(account)
        s.flush()
        ids = [incidents.open_incident(s, account_id=account.id, title=f"Internal title {n}", summary="internal",
                                       answers=Answers(business_impact="major"), policy_name="red-status",
                                       actor=cara, now=detected, detected_at=detected).id for n in range(3)]
        for iid in ids:
            flows.ensure_page(s, iid, actor=cara, now=detected, headline=HOSTILE_HEADLINE,
                              client_impact="Card payments fail.")
        flows.post_update(s, incident_id=ids[0], expected_version=None, stage="investigating", title="First look",
                          body="We are looking.", notify_subscribers=False, actor=cara, now=now - dt.timedelta(hours=1),
                          base_url="")
        flows.post_update(s, incident_id=ids[0], expected_version=None, stage="identified", title="Found it",
                          body=HOSTILE_POST, notify_subscribers=False, actor=cara, now=now - dt.timedelta(minutes=30),
                          base_url="")
        tokens = {name: flows.token_of(s, flows.page_of(s, iid)) for name, iid in zip(  # type: ignore[arg-type]
            ("live", "revoked", "replaced"), ids, strict=True)}
        flows.revoke(s, incident_id=ids[1], expected_version=None, actor=cara, now=now)
        flows.renew_link(s, incident_id=ids[2], expected_version=None, actor=cara, now=now)
        renewed = flows.token_of(s, flows.page_of(s, ids[2]))  # type: ignore[arg-type]
        ghost = links.sign(link_key(s), 9999, "A" * 22)
    return {"tokens": {**tokens, "renewed": renewed, "unknown": ghost}, "detected": detected}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    seeded: dict[str, object] = {}
    with running_server(tmp_path_factory.mktemp("status"), {}, prepare=lambda engine, _ids: seeded.update(
            _seed(engine)), env={"ESCALATION_DESK_SCHEDULER": "off"}) as server:
        engine = make_engine(server.db_url)
        try:
            yield server, engine, seeded
        finally:
            engine.dispose()


def _flip(text: str) -> str:
    return ("B" if text[0] == "A" else "A") + text[1:]


def test_a_good_link_shows_the_page_escaped_in_the_accounts_zone_with_strict_headers(served):
    server, engine, seeded = served
    token = seeded["tokens"]["live"]
    before = _rows(engine)
    status, body, headers = _call(f"{server.url}/status/{token}")
    assert status == 200
    assert (headers["cache-control"], headers["referrer-policy"], headers["x-robots-tag"]) == (
        "no-store", "no-referrer", "noindex, nofollow")
    assert "default-src 'none'" in headers["content-security-policy"] and "set-cookie" not in headers
    assert "Payments &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;co&#x27;" in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &quot;quoted&quot; &amp; done" in body
    assert "<script" not in body and "<img" not in body and "Internal title" not in body
    assert '<meta http-equiv="refresh" content="60">' in body and "refreshes every minute" in body
    assert f'<form method="post" action="/status/{token}/subscribe">' in body and 'name="email"' in body
    assert f'href="/status/{token}/feed.atom"' in body
    detected = seeded["detected"].astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert f"{detected:%H:%M} JST" in body and "Times are in Asia/Tokyo" in body
    assert body.index("Found it") < body.index("First look")  # newest first
    assert _rows(engine) == before


def test_the_feed_is_atom_with_every_post_and_stable_ids(served):
    server, engine, seeded = served
    url = f"{server.url}/status/{seeded['tokens']['live']}/feed.atom"
    before = _rows(engine)
    status, body, headers = _call(url)
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(body.encode())
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Identified: Found it", "Investigating: First look"]
    assert HOSTILE_POST in (entries[0].findtext(f"{ATOM}content") or "")
    assert feed.findtext(f"{ATOM}title", "").startswith(HOSTILE_HEADLINE)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert all(i and i.startswith("tag:") for i in ids) and ids == [
        e.findtext(f"{ATOM}id") for e in ET.fromstring(_call(url)[1].encode()).findall(f"{ATOM}entry")]
    assert _rows(engine) == before


def test_head_answers_like_get(served):
    server, _engine, seeded = served
    status, body, headers = _call(f"{server.url}/status/{seeded['tokens']['live']}", "HEAD")
    assert (status, body, headers["cache-control"]) == (200, "", "no-store")


def _refused(seeded) -> dict[str, str]:
    tokens = seeded["tokens"]
    ident, nonce, mac = tokens["live"].split(".")
    return {"altered nonce": f"{ident}.{_flip(nonce)}.{mac}", "altered mac": f"{ident}.{nonce}.{_flip(mac)}",
            "other page": f"{int(ident) + 1}.{nonce}.{mac}", "unknown page": tokens["unknown"],
            "revoked": tokens["revoked"], "replaced": tokens["replaced"], "garbage": "hello"}


@pytest.mark.parametrize("suffix", ["", "/feed.atom"], ids=["page", "feed"])
def test_every_refused_link_gets_the_same_404(served, suffix):
    server, engine, seeded = served
    before = _rows(engine)
    answers = {name: _call(f"{server.url}/status/{token}{suffix}") for name, token in _refused(seeded).items()}
    bodies = {(status, body, headers["cache-control"]) for status, body, headers in answers.values()}
    assert len(bodies) == 1
    status, body, _ = bodies.pop()
    assert status == 404 and "This status page is not available" in body and "Payments" not in body
    assert _call(f"{server.url}/status/{seeded['tokens']['renewed']}{suffix}")[0] == 200  # the new link works
    assert _rows(engine) == before
