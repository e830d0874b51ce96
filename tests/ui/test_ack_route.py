"""The acknowledge route over real HTTP, against a real `streamlit run server.py` process (SQLite).

GET shows and writes nothing (mail scanners fetch links); POST acknowledges once; a reused,
expired or altered link is refused and changes nothing; no answer sets a cookie. The scheduler is
off here so that only the requests write.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.alerts import scheduler
from core.alerts.links import link_key, sign
from core.incident import flows
from core.people.users import SYSTEM
from core.policy import store as policy_store
from core.triage.rules import Answers
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Account, Base, Incident, Notification
from tests.browser.conftest import Server
from tests.conftest import make_user

TITLE = 'Payments <script>alert("x")</script> & co'


def _seed(engine, *, queue: bool = True, detected_ago: dt.timedelta = dt.timedelta(minutes=10)) -> dict[str, int]:
    """An owner's P1 incident detected `detected_ago` (its acknowledge warning is due 10 minutes after
    detection), with its alerts queued when `queue`; the ids (the owner's email notification when queued)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    detected = now - detected_ago
    owner = make_user(engine, "olivia", "csm")
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=detected)
        account = Account(name="Acme", tier="enterprise", annual_contract_value=Decimal(90000), owner_id=owner)
        s.add(account)
        s.flush()
        iid = flows.open_incident(
            s, account_id=account.id, title=TITLE, summary="", policy_name="growth-engine",
            answers=Answers.model_validate({"business_impact": "major"}), actor=SYSTEM,
            now=detected, detected_at=detected, owner_id=owner).id
    if not queue:
        return {"incident": iid, "owner": owner}
    scheduler.queue_due(engine, now=now)
    with session_scope(engine) as s:
        nid = s.scalar(select(Notification.id).where(Notification.rule == "warn:acknowledge",
                                                     Notification.channel == "email"))
    return {"incident": iid, "notification": nid, "owner": owner}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("ack")
    server = Server(tmp, env={"ESCALATION_DESK_SCHEDULER": "off"})
    engine = make_engine(server.db_url)
    upgrade(engine)
    ids = _seed(engine)
    _token(engine, ids["notification"])  # the signing key exists once a link was sent
    server.start()
    try:
        yield server, engine, ids
    finally:
        server.stop()
        engine.dispose()


def _token(engine, nid: int, *, issued: dt.datetime | None = None) -> str:
    with session_scope(engine) as s:
        key = link_key(s)
    return sign(key, nid, now=issued or dt.datetime.now(dt.UTC))


def _call(url: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read().decode(), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), {k.lower(): v for k, v in refused.headers.items()}


def _rows(engine) -> dict[str, list]:
    with session_scope(engine) as s:
        return {t.name: s.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in Base.metadata.sorted_tables}


def _altered(token: str) -> str:
    nid, expires, mac = token.split(".")
    return f"{nid}.{expires}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


def _other_id(token: str) -> str:
    nid, expires, mac = token.split(".")
    return f"{int(nid) + 1}.{expires}.{mac}"


def test_get_shows_the_alert_escaped_with_one_button_and_writes_nothing(served):
    server, engine, ids = served
    before = _rows(engine)
    status, body, headers = _call(f"{server.url}/ack/{_token(engine, ids['notification'])}")
    assert status == 200
    assert f"Incident #{ids['incident']}: Payments &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in body
    assert "<script>" not in body
    assert body.count("<form") == 1 and 'method="post"' in body and ">Acknowledge</button>" in body
    assert "set-cookie" not in headers
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert _rows(engine) == before


@pytest.mark.parametrize("make, status, says", [
    (lambda e, nid: _token(e, nid, issued=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)), 410, "has expired"),
    (lambda e, nid: _altered(_token(e, nid)), 400, "was altered"),
    (lambda e, nid: _other_id(_token(e, nid)), 400, "was altered"),
    (lambda e, nid: "not-a-token", 400, "was altered"),
], ids=["expired", "altered signature", "other notification", "garbage"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_or_altered_link_is_refused_and_changes_nothing(served, make, status, says, method):
    server, engine, ids = served
    before = _rows(engine)
    got, body, headers = _call(f"{server.url}/ack/{make(engine, ids['notification'])}", method)
    assert (got, says in body, "open the incident in the app" in body) == (status, True, True)
    assert "set-cookie" not in headers
    assert _rows(engine) == before


def test_post_acknowledges_once_then_the_same_link_is_refused_as_used(served):
    server, engine, ids = served
    url = f"{server.url}/ack/{_token(engine, ids['notification'])}"
    status, body, headers = _call(url, "POST")
    assert (status, "Acknowledged" in body) == (200, True)
    assert "set-cookie" not in headers
    with session_scope(engine) as s:
        row = s.get(Notification, ids["notification"])
        incident = s.get(Incident, ids["incident"])
        acknowledged = row.acknowledged_at
        assert row.acknowledged_by_id == ids["owner"]
        assert incident.acknowledged_at == acknowledged  # the owner's acknowledge clock stopped
    before = _rows(engine)
    status, body, _ = _call(url, "POST")
    assert (status, "already acknowledged at" in body) == (200, True)
    assert f"{acknowledged:%Y-%m-%d %H:%M} UTC" in body
    status, body, _ = _call(url)  # GET afterwards: says so, offers no button
    assert (status, "Already acknowledged" in body, "<form" in body) == (200, True, False)
    assert _rows(engine) == before


def test_health_gives_counts_and_no_secret(served):
    server, _engine, _ids = served
    status, body, _ = _call(f"{server.url}/api/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok"
    assert health["scheduler"]["enabled"] is False  # ESCALATION_DESK_SCHEDULER=off
    assert set(health["scheduler"]) == {"enabled", "period_seconds", "passes", "failures", "last_pass_at",
                                        "last_summary", "last_failure_at", "last_failure"}
