"""Start-up migration: an empty database is migrated once, concurrent starts agree, failures explain.

On SQLite and on a fresh, empty PostgreSQL schema per test.
"""

import datetime as dt
import json
import multiprocessing
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url

from core.account.signals import rebuild_account_health, rebuild_signal_days
from core.policy.loading import load_preset
from core.policy.store import snapshot_hash, snapshot_of
from db.engine import make_engine, session_scope
from db.migrate import (
    DatabaseNotReady,
    alembic_config,
    code_heads,
    current_revisions,
    prepare_database,
    upgrade,
)
from db.models import AccountHealth, Base, Communication, Incident, PolicySnapshot
from tests.conftest import NOW, PG_BASE_URL, clean_main_module
from tests.db.test_flat_pages import signal_read_models
from tests.db.test_packing import BODIES


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """The URL of a database nothing has migrated yet (a new SQLite file, a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_BASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_an_empty_database_is_migrated_at_start_then_left_alone(empty_url):
    engine = make_engine(empty_url)
    assert current_revisions(engine) == set()
    prepare_database(engine)
    assert current_revisions(engine) == code_heads()
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(1000):
        prepare_database(engine)
    # Every page calls it: once the database is ready, it costs no query at all.
    assert statements == []
    engine.dispose()


def _start(url: str, barrier, results) -> None:
    """One app process starting: prepare the database as the router and the pages do."""
    engine = make_engine(url)
    barrier.wait(timeout=60)
    try:
        prepare_database(engine)
        results.put("ready")
    except DatabaseNotReady as problem:
        results.put(str(problem))
    finally:
        engine.dispose()


def test_two_processes_starting_at_once_on_an_empty_database_both_come_up(empty_url):
    ctx = multiprocessing.get_context("spawn")
    results, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_start, args=(empty_url, barrier, results)) for _ in range(2)]
    with clean_main_module():
        for proc in procs:
            proc.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert outcomes == ["ready", "ready"]
    engine = make_engine(empty_url)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


def test_four_processes_starting_at_once_on_new_sqlite_files_all_come_up(tmp_path):
    # On a new SQLite file the processes race to switch it to WAL, and SQLite refused the loser at
    # once, without waiting ("database is locked": one start in six with two processes, on this machine).
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        results, barrier = ctx.Queue(), ctx.Barrier(4)
        procs = [ctx.Process(target=_start, args=(url, barrier, results)) for _ in range(4)]
        with clean_main_module():
            for proc in procs:
                proc.start()
        outcomes = [results.get(timeout=240) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert outcomes == ["ready"] * 4, f"round {round_}: {outcomes}"


def test_a_schema_newer_than_the_code_is_refused_with_what_to_do(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(DatabaseNotReady) as refused:
        prepare_database(engine)
    message = str(refused.value)
    assert "revision 0999" in message and "newer code has upgraded it" in message
    assert "DATABASE_URL" in message
    # Nothing was changed on the way.
    assert current_revisions(engine) == {"0999"}
    engine.dispose()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("sqlite:///{tmp}/no/such/folder/app.db", "unable to open database file"),
        ("sqlite:///file:{tmp}/readonly.db?mode=ro&uri=true", "readonly database"),
        ("postgresql://postgres:s3cret@127.0.0.1:1/test", "127.0.0.1"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_database_h6", "no_such_database_h6"),
    ],
    ids=["missing folder", "read-only file", "server down", "unknown database"],
)
def test_a_database_that_cannot_be_migrated_gets_a_message_naming_the_command(tmp_path, url, reason):
    (tmp_path / "readonly.db").touch()
    engine = make_engine(url.format(tmp=tmp_path))
    with pytest.raises(DatabaseNotReady) as refused:
        prepare_database(engine)
    message = str(refused.value)
    assert reason in message
    assert "Check DATABASE_URL" in message and "`.venv/bin/python -m core init`" in message
    assert "s3cret" not in message
    engine.dispose()


def test_a_failed_start_is_not_remembered(tmp_path):
    folder = tmp_path / "later"
    engine = make_engine(f"sqlite:///{folder / 'app.db'}")
    with pytest.raises(DatabaseNotReady):
        prepare_database(engine)
    folder.mkdir()  # the operator fixes the cause; the next page load works
    prepare_database(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


def test_migration_0009_upgrades_and_downgrades_with_old_rows(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(text("INSERT INTO login_throttle (username, failures) VALUES ('alice', 3)"))
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("login_throttle")}
    assert {"username", "client", "last_failure_at"} <= columns
    assert "login_delays" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    assert "login_delays" not in inspect(engine).get_table_names()
    assert "client" not in {c["name"] for c in inspect(engine).get_columns("login_throttle")}
    upgrade(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


def _insert(conn, table: str, **values) -> None:
    """Insert a row at an old revision, giving every required column a plain value of its type."""
    for column in inspect(conn).get_columns(table):
        name, kind = column["name"], str(column["type"]).upper()
        if name in values or column["nullable"] or column.get("default") is not None or column.get("autoincrement"):
            continue
        if name == "id":
            continue
        values[name] = ("2026-03-02 09:00:00" if ("DATE" in kind or "TIME" in kind) else
                        0 if any(t in kind for t in ("INT", "NUMERIC", "FLOAT", "REAL", "DOUBLE")) else
                        False if "BOOL" in kind else "{}" if "JSON" in kind else "x")
    names = ", ".join(values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"), values)


def test_migration_0010_fills_the_response_log_from_stored_escalations_and_messages(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
        _insert(conn, "accounts", id=1, name="Acme", tier="pro", time_zone="UTC")
        for iid, notified in ((1, "2026-03-02 09:05:00"), (2, None)):
            _insert(conn, "incidents", id=iid, account_id=1, policy_name="spark", severity="P0", status="new",
                    detected_at="2026-03-02 09:00:00", client_notified_at=notified)
        for level, at in (("L2", "2026-03-02 09:20:00"), ("L3", "2026-03-02 09:40:00")):
            _insert(conn, "escalations", incident_id=1, to_level=level, escalated_at=at, contacts="[]")
        for channel, at in (("email", "2026-03-02 09:30:00"), ("internal_note", "2026-03-02 09:35:00")):
            _insert(conn, "communications", incident_id=1, channel=channel, recipients="[]", sent_at=at)
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, response_log FROM incidents ORDER BY id")).all()
    logs = {iid: json.loads(log) if isinstance(log, str) else log for iid, log in rows}
    assert logs[1] == {"escalations": [["L2", "2026-03-02T09:20:00+00:00"], ["L3", "2026-03-02T09:40:00+00:00"]],
                       "messages": ["2026-03-02T09:05:00+00:00", "2026-03-02T09:30:00+00:00"]}
    assert logs[2] == {}

    def kept() -> tuple[int, int]:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM escalations")).scalar_one(),
                    conn.execute(text("SELECT count(*) FROM communications")).scalar_one())

    # Adding the column must not copy the incidents table: on SQLite that copy drops the old
    # table, and ON DELETE CASCADE would empty the escalations and messages.
    assert kept() == (2, 2)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert "response_log" not in {c["name"] for c in inspect(engine).get_columns("incidents")}
    assert kept() == (2, 2)
    upgrade(engine)
    engine.dispose()


def test_migration_0013_keeps_a_zone_someone_set_and_lets_the_browser_speak_for_the_default(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
        _insert(conn, "users", id=1, username="paris", role="csm", time_zone="Europe/Paris")
        _insert(conn, "users", id=2, username="default", role="csm", time_zone="UTC")
        _insert(conn, "accounts", id=1, name="Acme", tier="pro", time_zone="UTC", owner_id=2)
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username, time_zone, time_zone_chosen, show_times_in FROM users "
                                 "ORDER BY id")).all()
        owners = conn.execute(text("SELECT owner_id FROM accounts")).scalars().all()
    assert [(u, z, bool(c), s) for u, z, c, s in rows] == [("paris", "Europe/Paris", True, "mine"),
                                                          ("default", "UTC", False, "mine")]
    assert owners == [2], "adding the columns must not copy the users table (and lose what points at it)"
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
    assert {"time_zone_chosen", "show_times_in"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("users"))
    upgrade(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


def test_migration_0019_stores_each_policy_once_and_every_incident_keeps_exactly_its_own(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    spark = load_preset("spark").model_dump(mode="json")
    edited = {**spark, "title": "Spark, as edited in March"}
    stored = {1: spark, 2: spark, 3: edited, 4: spark}
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0018")
        _insert(conn, "accounts", id=1, name="Acme", tier="pro", time_zone="UTC")
        for iid, body in stored.items():
            _insert(conn, "incidents", id=iid, account_id=1, policy_name="spark", severity="P1", status="new",
                    detected_at="2026-03-02 09:00:00", policy_snapshot=json.dumps(body))
            _insert(conn, "communications", incident_id=iid, channel="email", recipients="[]",
                    sent_at="2026-03-02 09:30:00")
    upgrade(engine)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(PolicySnapshot)) == 2
        for iid, body in stored.items():
            incident = session.get_one(Incident, iid)
            assert incident.policy_snapshot == body
            assert incident.snapshot.content_hash == snapshot_hash(body)
        # The shared row is the one the triage flow finds for the same policy: no second copy.
        assert snapshot_of(session, load_preset("spark"), now=NOW).id == session.get_one(Incident, 1).policy_snapshot_id
    assert "policy_snapshot" not in {c["name"] for c in inspect(engine).get_columns("incidents")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM communications")).scalar_one() == 4
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0018")
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT id, policy_snapshot FROM incidents")).all())
        assert conn.execute(text("SELECT count(*) FROM communications")).scalar_one() == 4
    assert {iid: json.loads(body) if isinstance(body, str) else body for iid, body in back.items()} == stored


def test_migration_0020_counts_existing_incidents_into_the_signal_read_models_exactly(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    zone = "+00:00" if engine.dialect.name == "postgresql" else ""
    incidents = [
        # (id, account, detected at (UTC), answers, drill)
        (1, 1, "2026-03-02 09:00:00", {"csat": 6.5, "customer_tier": "pro"}, False),
        (2, 1, "2026-03-02 00:00:00", {"uptime_pct": 99.5, "csat": 8}, False),
        (3, 1, "2026-03-01 23:59:59", {"csat": None}, False),
        (4, 2, "2026-03-01 12:00:00", {}, False),
        (5, 2, "2026-03-01 13:00:00", {"csat": 2, "uptime_pct": 40}, True),  # a drill: counts for nothing
        (6, 2, "2026-02-27 08:00:00", {"uptime_pct": 0}, False),
    ]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0019")
        for account in (1, 2):
            _insert(conn, "accounts", id=account, name=f"Account {account}", tier="pro", time_zone="UTC")
        for iid, account, detected, answers, drill in incidents:
            _insert(conn, "incidents", id=iid, account_id=account, policy_name="spark", severity="P1", status="new",
                    detected_at=detected + zone, answers=json.dumps(answers), is_drill=drill)
    upgrade(engine)
    with session_scope(engine) as session:
        migrated = signal_read_models(session)
    assert migrated[0] == {(1, dt.date(2026, 3, 2), 2), (1, dt.date(2026, 3, 1), 1), (2, dt.date(2026, 3, 1), 1),
                           (2, dt.date(2026, 2, 27), 1)}
    at = {iid: dt.datetime.fromisoformat(detected).replace(tzinfo=dt.UTC) for iid, _, detected, _, _ in incidents}
    assert migrated[1] == {(1, "csat", 1, at[1], 6.5), (2, "csat", 1, at[2], 8.0), (2, "uptime_pct", 1, at[2], 99.5),
                           (6, "uptime_pct", 2, at[6], 0.0)}
    # The backfill and the rebuild the bench calls after its bulk inserts agree.
    with session_scope(engine) as session:
        rebuild_signal_days(session)
    with session_scope(engine) as session:
        assert signal_read_models(session) == migrated
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0019")
    assert {"account_incident_days", "incident_answer_readings"}.isdisjoint(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == len(incidents)
    upgrade(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()



def test_migration_0022_backfills_each_accounts_health_as_a_rebuild_does(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = (lambda t: t.isoformat()) if engine.dialect.name == "postgresql" else (
        lambda t: t.replace(tzinfo=None).isoformat(sep=" "))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0019")
        for account in (1, 2, 3):
            _insert(conn, "accounts", id=account, name=f"Account {account}", tier="pro", time_zone="UTC")
        for n, (account, metric, hours, value) in enumerate([
            (1, "csat", 30, 8.0), (1, "csat", 5, 6.0),        # falling, and under 7
            (2, "uptime_pct", 50, 99.9), (2, "error_rate", 2, 1.0),
        ]):
            _insert(conn, "health_signals", id=n + 1, account_id=account, metric=metric, value=value, source="form",
                    observed_at=stamp(now - dt.timedelta(hours=hours)), recorded_at=stamp(now))
        for iid, hours in enumerate((3, 20, 40, 60), start=1):  # four tickets this week for account 3
            _insert(conn, "incidents", id=iid, account_id=3, policy_name="default", severity="P2", status="new",
                    detected_at=stamp(now - dt.timedelta(hours=hours)), answers=json.dumps({}), is_drill=False)
    upgrade(engine)
    with session_scope(engine) as session:
        migrated = {r.account_id: (r.rules_hash, r.evaluated_at, r.valid_until, r.score, r.warnings)
                    for r in session.scalars(select(AccountHealth))}
    assert set(migrated) == {1, 2, 3}
    assert {i: sorted(w["rule"] for w in row[4]) for i, row in migrated.items()} == {
        1: ["low-csat", "satisfaction-dropping"], 2: [], 3: ["repeat-tickets"]}
    evaluated = {row[1] for row in migrated.values()}
    assert len(evaluated) == 1 and now <= next(iter(evaluated)) <= dt.datetime.now(dt.UTC)
    # The backfill is exactly the rebuild the bench runs after its bulk inserts, at the same moment.
    with session_scope(engine) as session:
        rebuild_account_health(session, next(iter(evaluated)))
    with session_scope(engine) as session:
        assert {r.account_id: (r.rules_hash, r.evaluated_at, r.valid_until, r.score, r.warnings)
                for r in session.scalars(select(AccountHealth))} == migrated
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0020")
    assert "account_health" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()


# Triage results as stored: key order, escapes and spacing are kept character for character.
TRIAGE_TEXTS = {
    1: '{"severity": "P1", "reasons": [{"text": "Customer business is stopped", "section": "Default \\u203a P1"}], '
       '"targets": {"acknowledge": 900.0}, "ladder": [{"level": "L2", "start": 0.0, "due": null}]}',
    2: '{}',
    3: '{"z": 1, "a": [true, false, null, 0.1, 1e-07, -3], "é": "Grüße ✅"}',
}


def test_migration_0023_packs_every_message_body_exactly_and_downgrade_gives_the_text_back(empty_url):
    engine = make_engine(empty_url)
    config = alembic_config()
    # Every kind of body, then enough plain ones that the move runs in more than one batch.
    # (PostgreSQL text columns cannot hold a NUL character: no row stored before 0023 has one there.)
    bodies = {n + 1: (body_text, body_html) for n, (_, body_text, body_html) in enumerate(BODIES)
              if engine.dialect.name == "sqlite" or "\x00" not in body_text + body_html}
    bodies |= {n: (f"Update {n}: still on it.", f"<p>Update {n}</p>" if n % 2 else "") for n in range(100, 2200)}
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0020")
        _insert(conn, "accounts", id=1, name="Acme", tier="pro", time_zone="UTC")
        for iid, triage_text in TRIAGE_TEXTS.items():
            _insert(conn, "incidents", id=iid, account_id=1, policy_name="spark", severity="P1", status="new",
                    detected_at="2026-03-02 09:00:00", triage_result=triage_text)
        _insert(conn, "timeline_events", incident_id=1, occurred_at="2026-03-02 09:00:00", kind="opened", summary="x")
        conn.execute(text("INSERT INTO communications (id, incident_id, template_key, channel, recipients, subject, "
                          "body_text, body_html, sent_at, delivery) VALUES (:id, 1, '', 'email', '[]', '', :t, :h, "
                          "'2026-03-02 09:30:00', 'sent')"),
                     [{"id": iid, "t": body_text, "h": body_html} for iid, (body_text, body_html) in bodies.items()])
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("communications")}
    assert {"body_text", "body_html"} <= columns and not {"body_text_packed", "body_html_packed"} & columns
    with session_scope(engine) as session:
        assert {c.id: (c.body_text, c.body_html) for c in session.scalars(select(Communication))} == bodies
        assert {i.id: i.triage_result for i in session.scalars(select(Incident))} == {
            iid: json.loads(triage_text) for iid, triage_text in TRIAGE_TEXTS.items()}
    with engine.connect() as conn:
        # Dropping the old columns must not copy the table (ON DELETE CASCADE) nor touch the incident's other rows.
        assert conn.execute(text("SELECT count(*) FROM timeline_events")).scalar_one() == 1
        packed = conn.execute(text("SELECT body_html FROM communications WHERE id = 5")).scalar_one()
    assert len(packed) < len(bodies[5][1]) / 4  # the rendered email
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0020")
    with engine.connect() as conn:
        back = {iid: (t, h) for iid, t, h in conn.execute(text("SELECT id, body_text, body_html FROM communications"))}
        triage_back = dict(conn.execute(text("SELECT id, CAST(triage_result AS TEXT) FROM incidents")).all())
    assert back == bodies
    assert triage_back == TRIAGE_TEXTS
    assert not {"body_text_packed", "body_html_packed"} & {c["name"] for c in inspect(engine).get_columns(
        "communications")}
    upgrade(engine)
    assert current_revisions(engine) == code_heads()
    engine.dispose()
