"""Benchmark: build large incident datasets and time the dashboard and the incident list on them.

`make bench` (or `make bench SIZES=10000,100000`) builds one dataset per size
under bench-data/ (SQLite files; a schema per size in PostgreSQL when a server
answers), reuses them on later runs, then for each dataset prints the median
seconds of several runs of:

- the SLA dashboard page (AppTest, default view over the dataset's last 12 weeks),
- the incident list page (AppTest, default view) and a free-text search on it,
- a naive baseline: load every incident with pandas and aggregate in memory,
- one alert scheduler pass (`core.alerts.scheduler.queue_due`, section "alerts"): the open
  incidents get their real policy snapshot and their `next_alert_at` from the app's own code,
  `NEAR_BREACH` more are opened through the real flow near and past their deadlines, then the
  passes are timed: the first (catch-up) pass, an empty pass, and steady passes that each find
  `PER_PASS` incidents due; the query plan of the pass's one read is printed.

Every page run is measured cold: a new incident is written through the real
flow right before it, so no cached read model can be reused. One unmeasured
warm-up run per page and dataset loads the Python modules first. Datasets are
written in bulk (Core executemany of plain dicts, summary rows computed in
bulk with the app's own clock engine, rollups by SQL GROUP BY), never through
the ORM one incident at a time. Never run against a real database: it
creates and drops what it needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DIR = REPO / "bench-data"
os.environ.setdefault("ESCALATION_DESK_BCRYPT_ROUNDS", "4")
os.environ.setdefault("ESCALATION_DESK_DATA", str(Path(tempfile.mkdtemp(prefix="escalation-bench-"))))
os.environ.setdefault("ESCALATION_DESK_COOKIE_KEY", "bench-only-" + uuid.uuid4().hex)

import pandas as pd
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.engine import make_url

from core.alerts import scheduler as alert_scheduler
from core.incident import flows
from core.incident.lifecycle import Milestone
from core.people import users
from core.policy import store as policy_store
from core.policy.loading import load_preset
from core.sla import metrics
from core.sla import projection as sla_summary
from core.sla.clocks import IncidentFacts, compute_clocks
from core.triage.rules import Answers
from core.vocabulary import CLOCKS
from db.engine import make_engine, session_scope
from db.migrate import alembic_config, upgrade
from db.models import Account, Incident, IncidentFact, Setting, SlaClockFact, User

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "escalation_bench"
MARKER = "bench_dataset"
HISTORY_DAYS = 730
ACCOUNTS = 400
CSMS = 12
VIEW_WEEKS = 12
# A team mostly works under its default policy; some accounts have their own.
POLICIES = [("default", 0.7), ("red-status", 0.2), ("teamflow", 0.1)]
SEVERITY_MIX = [("P0", 0.03), ("P1", 0.12), ("P2", 0.35), ("P3", 0.50)]
TITLES = ["Checkout API returns 500s", "Login fails for SSO users", "Reports export times out",
          "Nightly sync drops records", "Dashboard slow for some users", "Webhook deliveries delayed",
          "Invoice totals wrong", "Mobile app crashes on start", "Search returns stale results",
          "Payment refunds stuck", "Email notifications not sent", "Data import rejected",
          "Permissions reset after upgrade", "CSV upload corrupts accents", "API rate limit too strict"]
SEARCH_TEXT = "checkout"
# Alert section: incidents opened through the real flow near and past breach, and incidents due per pass.
NEAR_BREACH = 300
PER_PASS = 20
SECTIONS = ("pages", "alerts")


# --------------------------------------------------------------------------
# Datasets.


def schema_revisions(engine) -> list[str]:
    """The migration heads a dataset is built on (it is rebuilt when the migrations gain a revision)."""
    del engine  # the code's heads, not the database's rows: one answer before and after upgrade
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def dataset_ready(engine, size: int) -> bool:
    """True when the database holds a complete dataset of `size` built on the current migrations."""
    try:
        with engine.connect() as conn:
            value = conn.execute(select(Setting.value).where(Setting.key == MARKER)).scalar()
    except Exception:
        return False
    return bool(value) and value.get("incidents") == size and value.get("revisions") == schema_revisions(engine)


def _pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    return rng.choices([m[0] for m in mix], weights=[m[1] for m in mix])[0]


def _milestone(rng: random.Random, start: dt.datetime, target: dt.timedelta | None, fallback: dt.timedelta,
               late_odds: float) -> dt.timedelta:
    base = target or fallback
    factor = rng.uniform(1.05, 3.0) if rng.random() < late_odds else rng.uniform(0.1, 0.98)
    return max(dt.timedelta(minutes=1), base * factor)


def _seed_team_and_accounts(engine, rng: random.Random, now: dt.datetime) -> list[dict]:
    """Install the presets, create the CSMs, a lead and an admin, then the accounts they own."""
    with session_scope(engine) as session:
        policy_store.install_presets(session, now=now)
        team = {}
        for i in range(CSMS):
            user, _ = users.create_user(session, username=f"csm{i:02d}", display_name=f"CSM {i:02d}", role="csm",
                                        password="bench password 123", actor=users.SYSTEM, now=now)
            team[user.id] = user
        for username, role in (("lead", "lead"), ("admin", "admin")):
            user, _ = users.create_user(session, username=username, display_name=username.title(), role=role,
                                        password="bench password 123", actor=users.SYSTEM, now=now)
        for user in session.scalars(select(User)):
            user.must_change_password = False
    csm_ids = sorted(team)
    tiers = ["enterprise"] * 10 + ["pro"] * 16 + ["basic"] * 14
    accounts = []
    for i in range(ACCOUNTS):
        accounts.append({"id": i + 1, "name": f"Customer {i + 1:04d}", "tier": rng.choice(tiers),
                         "owner_id": csm_ids[i % len(csm_ids)], "policy": _pick(rng, POLICIES),
                         "weight": 6 if i % 17 == 0 else 1})
    with engine.begin() as conn:
        conn.execute(insert(Account), [{"id": a["id"], "name": a["name"], "tier": a["tier"], "owner_id": a["owner_id"],
                                        "time_zone": "UTC", "contract_terms": {}, "created_at": now,
                                        "updated_at": now, "version": 1} for a in accounts])
    return accounts


_FALLBACK_TARGETS = {"acknowledge": dt.timedelta(hours=1), "client_notification": dt.timedelta(hours=2),
                     "mobilization": dt.timedelta(hours=2), "resolution": dt.timedelta(hours=24)}
_MILESTONE_FIELDS = (("acknowledge", "acknowledged_at"), ("client_notification", "client_notified_at"),
                     ("mobilization", "mobilized_at"), ("resolution", "resolved_at"))


def _milestone_times(rng: random.Random, detected: dt.datetime, targets: dict, *, severity: str,
                     open_incident: bool, now: dt.datetime) -> dict[str, dt.datetime | None]:
    """When each milestone was reached (None when not yet); no milestone comes after the resolution."""
    times: dict[str, dt.datetime | None] = {}
    late = 0.08 if severity in ("P0", "P1") else 0.15
    for clock, field in _MILESTONE_FIELDS:
        at = detected + _milestone(rng, detected, targets.get(clock), _FALLBACK_TARGETS[clock], late)
        times[field] = at if at <= now and not (open_incident and clock == "resolution") else None
    resolved = times["resolved_at"]
    if resolved is not None:
        for field in ("acknowledged_at", "client_notified_at", "mobilized_at"):
            reached = times[field]
            if reached is not None and reached > resolved:
                times[field] = resolved
    return times


def _store_snapshots(engine, now: dt.datetime) -> dict[str, int]:
    """Each benchmark policy's real snapshot, stored once as the app stores it; their ids by policy name."""
    with session_scope(engine) as session:
        return {name: policy_store.snapshot_of(session, load_preset(name), now=now).id for name, _ in POLICIES}


def _generate_rows(rng: random.Random, accounts: list[dict], size: int, now: dt.datetime,
                   snapshot_ids: dict[str, int]) -> tuple[list[dict], list[dict], list[dict]]:
    """The incident rows, their SLA clock rows and their incident fact rows, computed in memory."""
    policies = {name: load_preset(name) for name, _ in POLICIES}
    versions = {name: 1 for name in policies}
    weights = [a["weight"] for a in accounts]
    span = dt.timedelta(days=HISTORY_DAYS).total_seconds()
    incident_rows, clock_rows, incident_facts = [], [], []
    detections = []
    for n in range(1, size + 1):
        account = rng.choices(accounts, weights=weights)[0]
        policy = policies[account["policy"]]
        severity = _pick(rng, SEVERITY_MIX)
        tier = account["tier"]
        detected = now - dt.timedelta(seconds=rng.random() * span)
        detected = detected.replace(microsecond=0)
        targets = {c: t for c in CLOCKS if (t := policy.target(c, severity, tier))}
        open_incident = now - detected < dt.timedelta(days=3) and rng.random() < 0.5
        times = _milestone_times(rng, detected, targets, severity=severity, open_incident=open_incident, now=now)
        status = "closed" if times["resolved_at"] else ("acknowledged" if times["acknowledged_at"] else "new")
        title = f"{rng.choice(TITLES)} ({account['name']})"
        incident_rows.append({
            "id": n, "title": title, "summary": "", "account_id": account["id"], "policy_name": policy.name,
            "policy_version": versions[policy.name],
            # The real policy snapshot, by reference, exactly as the triage flow stores it.
            "policy_snapshot_id": snapshot_ids[policy.name], "answers": {"customer_tier": tier},
            "triage_result": {"targets": {c: t.total_seconds() for c, t in targets.items()}},
            "severity": severity, "red_status": severity in ("P0", "P1"), "escalation_category": "none",
            "required_level": None, "current_level": None, "status": status, "detected_at": detected,
            **times, "closed_at": times["resolved_at"], "created_at": detected, "updated_at": now, "version": 1,
            "owner_id": account["owner_id"],
        })
        facts = IncidentFacts(severity=severity, tier=tier, detected_at=detected, targets=targets, **times)
        dims = sla_summary.IncidentDims(n, account["id"], account["owner_id"], severity, tier, policy.name, detected)
        clock_rows += sla_summary.clock_rows(dims, compute_clocks(facts, policy, now))
        incident_facts.append(sla_summary.incident_row(dims, resolved_at=times["resolved_at"], is_repeat=False,
                                                       now=now))
        detections.append((n, account["id"], detected))
    flags = metrics.repeat_flags(detections)
    for row in incident_facts:
        row["is_repeat"] = flags[row["incident_id"]]
    return incident_rows, clock_rows, incident_facts


def build(engine, size: int, now: dt.datetime) -> dict:
    """Fill an empty, migrated database with `size` incidents and their summary; returns timings."""
    timings = {}
    started = time.perf_counter()
    rng = random.Random(size)
    accounts = _seed_team_and_accounts(engine, rng, now)
    incident_rows, clock_rows, incident_facts = _generate_rows(rng, accounts, size, now, _store_snapshots(engine, now))
    timings["generate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    chunk = 20000
    with engine.begin() as conn:
        for table, rows in ((Incident.__table__, incident_rows), (SlaClockFact.__table__, clock_rows),
                            (IncidentFact.__table__, incident_facts)):
            for start in range(0, len(rows), chunk):
                conn.execute(insert(table), rows[start:start + chunk])
        if engine.dialect.name == "postgresql":
            for table in ("incidents", "accounts"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    timings["insert_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(engine) as session:
        sla_summary.rebuild_rollups(session)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    timings["rollups_s"] = time.perf_counter() - started
    with session_scope(engine) as session:
        session.add(Setting(key=MARKER, value={"incidents": size, "built_at": now.isoformat(),
                                               "revisions": schema_revisions(engine)}))
    return timings


def sqlite_url(size: int) -> str:
    """Where the SQLite dataset of `size` lives."""
    return f"sqlite:///{BENCH_DIR / f'incidents-{size}.db'}"


def postgres_url(size: int) -> str | None:
    """A PostgreSQL schema for the dataset of `size`, or None when no server answers."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).scalar():
                conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
    except Exception as error:
        print(f"PostgreSQL not available ({type(error).__name__}); SQLite only.")
        return None
    base = make_url(PG_URL).set(database=PG_DB)
    schema = f"bench_{size}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def ensure_dataset(url: str, size: int, now: dt.datetime) -> None:
    """Build the dataset at `url` unless a complete one is there already."""
    engine = make_engine(url)
    upgrade(engine)
    if dataset_ready(engine, size):
        print(f"  reusing {size:,} incidents at {engine.url.render_as_string(hide_password=True)}")
        engine.dispose()
        return
    engine.dispose()
    if url.startswith("sqlite"):
        Path(make_url(url).database).unlink(missing_ok=True)
    else:
        schema = f"bench_{size}"
        admin = create_engine(make_url(url).set(query={}))
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    print(f"  building {size:,} incidents ...", flush=True)
    timings = build(engine, size, now)
    print("  built: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), flush=True)
    engine.dispose()


# --------------------------------------------------------------------------
# Measurements.


def write_incident(engine, now: dt.datetime) -> None:
    """Open one incident through the real flow (what makes the next page run cold)."""
    with session_scope(engine) as session:
        account_id = session.scalar(select(Account.id).order_by(Account.id).limit(1))
        flows.open_incident(session, account_id=account_id, title="Benchmark write", summary="",
                            answers=Answers.model_validate({"business_impact": "minor"}), policy_name="default",
                            actor=users.SYSTEM, now=now)


def page_run(script: str, state: dict) -> float:
    """Seconds for one AppTest run of `script` as the bench lead, with `state` preset."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / script), default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "lead"
    at.session_state["name"] = "Lead"
    for key, value in state.items():
        at.session_state[key] = value
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{script} failed: {at.exception[0].value}")
    return elapsed


def naive_baseline(engine, view_from: dt.datetime, now: dt.datetime) -> float:
    """Seconds to load every incident with pandas and aggregate attainment and percentiles in memory."""
    started = time.perf_counter()
    frame = pd.read_sql(
        "SELECT i.id, i.severity, i.policy_name, i.detected_at, i.acknowledged_at, i.client_notified_at, "
        "i.mobilized_at, i.resolved_at, a.tier, a.owner_id FROM incidents i JOIN accounts a ON a.id = i.account_id",
        engine)
    for column in ("detected_at", "acknowledged_at", "client_notified_at", "mobilized_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
    frame = frame[frame["detected_at"] >= view_from]
    frame["week"] = frame["detected_at"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    for clock, field in (("acknowledge", "acknowledged_at"), ("resolution", "resolved_at")):
        targets = {(p, s, t): (load_preset(p).target(clock, s, t) or dt.timedelta(0)).total_seconds()
                   for p, _ in POLICIES for s, _ in SEVERITY_MIX for t in ("basic", "pro", "enterprise")}
        target = pd.Series([targets.get(k, 0) for k in zip(frame.policy_name, frame.severity, frame.tier, strict=True)],
                           index=frame.index)
        actual = (frame[field].fillna(now) - frame["detected_at"]).dt.total_seconds()
        frame[f"{clock}_breached"] = actual > target
        frame[f"{clock}_actual"] = actual.where(frame[field].notna())
        frame.groupby(["week", "severity"])[f"{clock}_breached"].mean()
        frame.groupby("week")[f"{clock}_actual"].quantile([0.5, 0.9])
    return time.perf_counter() - started


def measure(url: str, runs: int) -> dict:
    """Median seconds of the dashboard, the list, the search and the naive baseline on one dataset."""
    os.environ["DATABASE_URL"] = url
    engine = make_engine(url)
    with engine.connect() as conn:
        built = dt.datetime.fromisoformat(conn.execute(select(Setting.value).where(Setting.key == MARKER))
                                          .scalar()["built_at"])
    # Show the dataset's own last 12 weeks even when it was built days ago.
    view_to = built.date()
    view_from = view_to - dt.timedelta(weeks=VIEW_WEEKS)
    pages = {
        "dashboard": ("pages/dashboard.py", {"d_dates": (view_from, view_to)}),
        "list": ("pages/incidents.py", {}),
        "search": ("pages/incidents.py", {"f_text": SEARCH_TEXT}),
    }
    results: dict[str, list[float]] = {name: [] for name in [*pages, "naive"]}
    for script, state in pages.values():
        write_incident(engine, dt.datetime.now(dt.UTC))
        page_run(script, state)  # warm-up: imports, not measured
    for _ in range(runs):
        for name, (script, state) in pages.items():
            write_incident(engine, dt.datetime.now(dt.UTC))
            results[name].append(page_run(script, state))
        results["naive"].append(naive_baseline(engine, dt.datetime.combine(view_from, dt.time(), dt.UTC),
                                               dt.datetime.now(dt.UTC)))
    engine.dispose()
    return {name: statistics.median(values) for name, values in results.items()}


def _open_near_breach(engine, rng: random.Random, now: dt.datetime) -> None:
    """Open NEAR_BREACH incidents through the real flow, detected in the last 4 hours, a third acknowledged."""
    impacts = ["stopped", "major", "minor", "none"]
    with session_scope(engine) as session:
        account_ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        for n in range(NEAR_BREACH):
            detected = now - dt.timedelta(seconds=rng.randint(0, 4 * 3600))
            opened = flows.open_incident(
                session, account_id=rng.choice(account_ids), title=f"{rng.choice(TITLES)} (alert bench {n})",
                summary="", answers=Answers.model_validate({"business_impact": rng.choice(impacts)}),
                policy_name=_pick(rng, POLICIES), actor=users.SYSTEM, now=now, detected_at=detected)
            if n % 3 == 0:
                flows.record_milestone(session, incident_id=opened.id, milestone=Milestone.ACKNOWLEDGED,
                                       actor=users.SYSTEM, now=now, at=detected + (now - detected) / 2,
                                       reason="acknowledged by phone (bench)")


def _due_plan(engine, now: dt.datetime) -> str:
    """The database's plan for the pass's one read (it must go through ix_incidents_next_alert)."""
    postgresql = engine.dialect.name == "postgresql"
    stmt = alert_scheduler.due_statement(now, alert_scheduler.BATCH, postgresql=postgresql)
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.execute(text(explain + sql)).all()
    return "\n".join(str(row[-1]) for row in rows)


def measure_alerts(url: str, runs: int) -> dict:
    """Seconds of scheduler passes on one dataset: catch-up, empty and steady (PER_PASS incidents due) passes."""
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rng = random.Random(7)
    with session_scope(engine) as session:
        session.execute(delete(Setting).where(Setting.key == alert_scheduler.BACKFILL_MARKER))
    started = time.perf_counter()
    planned = alert_scheduler.backfill(engine, now=now)
    backfill_s = time.perf_counter() - started
    _open_near_breach(engine, rng, now)
    with engine.connect() as conn:
        open_rows = conn.execute(select(func.count()).select_from(Incident)
                                 .where(Incident.next_alert_at.is_not(None))).scalar()
        due_now = conn.execute(select(func.count()).select_from(Incident)
                               .where(Incident.next_alert_at <= now)).scalar()
    started = time.perf_counter()
    caught_up = alert_scheduler.queue_due(engine, now=now)
    catch_up_s = time.perf_counter() - started
    empty = []
    for _ in range(runs):
        started = time.perf_counter()
        alert_scheduler.queue_due(engine, now=now)
        empty.append(time.perf_counter() - started)
    steady, queued, found = [], [], []
    moment = now
    for _ in range(runs):
        with engine.connect() as conn:
            moments = conn.execute(select(Incident.next_alert_at).where(Incident.next_alert_at > moment)
                                   .order_by(Incident.next_alert_at).limit(PER_PASS)).scalars().all()
        if len(moments) < PER_PASS:
            break
        moment = moments[-1]
        with engine.connect() as conn:
            found.append(conn.execute(select(func.count()).select_from(Incident)
                                      .where(Incident.next_alert_at <= moment)).scalar())
        started = time.perf_counter()
        queued.append(alert_scheduler.queue_due(engine, now=moment))
        steady.append(time.perf_counter() - started)
    plan = _due_plan(engine, now)
    engine.dispose()
    print(f"  alerts: backfill planned {planned:,} open incidents in {backfill_s:.3f} s; {open_rows:,} incidents "
          f"with an alert ahead, {due_now:,} due at the first pass")
    print(f"  alerts: catch-up pass {catch_up_s:.3f} s ({caught_up:,} notifications); empty pass "
          f"{statistics.median(empty):.4f} s; steady passes {', '.join(f'{t:.3f}' for t in steady)} s "
          f"({', '.join(map(str, found))} incidents due, {', '.join(map(str, queued))} notifications)")
    print("  alerts: plan of the pass's read:\n    " + plan.replace("\n", "\n    "))
    return {"alert_catch_up": catch_up_s, "alert_empty": statistics.median(empty),
            "alert_steady": statistics.median(steady) if steady else float("nan"),
            "alert_due_per_pass": statistics.median(found) if found else 0, "alert_plan": plan}


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the datasets, measure, print the table (and save it to bench-data/results.json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("SIZES") or "10000,100000,1000000",
                        help="comma-separated dataset sizes (default 10000,100000,1000000)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per page and dataset (median)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--build-only", action="store_true", help="build or check the datasets, measure nothing")
    parser.add_argument("--sections", default="pages,alerts",
                        help="what to time: pages (dashboard, list, search, naive), alerts (scheduler pass) or both")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes takes whole numbers separated by commas, e.g. 10000,100000; got {args.sizes!r}")
    if not sizes or min(sizes) < 100:
        parser.error("give at least one size of 100 incidents or more")
    BENCH_DIR.mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    sections = {x.strip() for x in args.sections.split(",") if x.strip()}
    if not sections or sections - set(SECTIONS):
        parser.error(f"--sections takes {' and/or '.join(SECTIONS)}, separated by commas; got {args.sections!r}")
    table = []
    for engine_name in engines:
        for size in sizes:
            url = sqlite_url(size) if engine_name == "sqlite" else postgres_url(size)
            if url is None:
                break
            print(f"{engine_name} {size:,}:", flush=True)
            ensure_dataset(url, size, now)
            if args.build_only:
                continue
            medians = measure(url, args.runs) if "pages" in sections else {}
            if medians:
                print("  " + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items()), flush=True)
            if "alerts" in sections:
                medians.update(measure_alerts(url, args.runs))
            table.append({"engine": engine_name, "incidents": size, **medians})
    if args.build_only:
        return 0
    print_table(table)
    (BENCH_DIR / "results.json").write_text(json.dumps({"measured_at": now.isoformat(), "runs": args.runs,
                                                        "rows": table}, indent=2))
    return 0


def print_table(table: list[dict]) -> None:
    """The results as Markdown tables, plus the 1M/10k (largest/smallest) ratios."""
    alerts = [row for row in table if "alert_steady" in row]
    if alerts:
        print("\n| engine | incidents | catch-up pass s | empty pass s | steady pass s | incidents due per pass |")
        print("|---|---:|---:|---:|---:|---:|")
        for row in alerts:
            print(f"| {row['engine']} | {row['incidents']:,} | {row['alert_catch_up']:.3f} | "
                  f"{row['alert_empty']:.4f} | {row['alert_steady']:.3f} | {row['alert_due_per_pass']:g} |")
    table = [row for row in table if "dashboard" in row]
    if not table:
        return
    print("\n| engine | incidents | dashboard s | list s | search s | naive pandas s | naive / dashboard |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in table:
        print(f"| {row['engine']} | {row['incidents']:,} | {row['dashboard']:.3f} | {row['list']:.3f} | "
              f"{row['search']:.3f} | {row['naive']:.3f} | {row['naive'] / row['dashboard']:.1f}x |")
    for engine_name in sorted({r["engine"] for r in table}):
        rows = sorted((r for r in table if r["engine"] == engine_name), key=lambda r: r["incidents"])
        if len(rows) > 1:
            small, large = rows[0], rows[-1]
            ratio = {k: large[k] / small[k] for k in ("dashboard", "list", "search", "naive")}
            print(f"\n{engine_name} {large['incidents']:,}/{small['incidents']:,}: " +
                  ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))


if __name__ == "__main__":
    raise SystemExit(main())
