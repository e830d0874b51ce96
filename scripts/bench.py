"""Benchmark: build large realistic incident datasets and time every page, the write path and the scheduler on them.

`make bench` (or `make bench SIZES=10000,100000`) builds one dataset per size
under bench-data/ (SQLite files; a schema per size in PostgreSQL when a server
answers) with scripts/bench_data.py, reuses them on later runs, then for each
dataset measures (a dataset built by an earlier revision of the schema is brought
up to date by the migrations, as a deployed database is, and the time that took is
recorded; it is rebuilt when the builder itself, scripts/bench_data.py or
scripts/bench_bulk.py, has changed since, or with --rebuild):

- pages: every page of scripts/bench_pages.py (median of --runs AppTest runs, each
  right after an incident is opened through the real flow, so no cached read model
  is reused; one unmeasured warm-up run per page loads the modules first), as the
  role that uses it, and the public status page route (an in-process HTTP GET);
- writes: opening an incident and recording a milestone (median and p95);
- fresh: each page rendered once in a new process: first render and peak RSS;
- alerts: one scheduler pass (`core.alerts.scheduler.queue_due`): catch-up, empty and
  steady passes, and the query plan of the pass's one read.

It prints one row per page and one column per engine and size (plus the largest /
smallest ratio), writes page medians to bench-data/results.json as
{engine: {size: {page: seconds}}} and everything else to bench-data/extra.json.
Never run against a real database: it creates and drops what it needs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
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

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.engine import make_url

sys.path.insert(0, str(REPO / "scripts"))
# scripts/ is not a package: its modules are found through sys.path.
import bench_data
import bench_pages

from core.account import signals
from core.alerts import scheduler as alert_scheduler
from core.incident import flows
from core.incident.lifecycle import Milestone
from core.people import users
from core.triage.rules import Answers
from db.engine import make_engine, session_scope
from db.migrate import alembic_config, upgrade
from db.models import Account, Base, Incident, Setting

PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "escalation_bench"
MARKER = "bench_dataset"
# The dataset builder: a change to either file rebuilds every dataset (what it writes may have changed).
BUILDER = ("bench_data.py", "bench_bulk.py")
VIEW_WEEKS = 12
POLICIES, TITLES, _pick = bench_data.POLICIES, bench_data.TITLES, bench_data._pick
# Write section: operations timed for the median and p95 of each write.
WRITE_OPERATIONS = 50
# Alert section: incidents opened through the real flow near and past breach, and incidents due per pass.
NEAR_BREACH = 300
PER_PASS = 20
SECTIONS = ("pages", "writes", "fresh", "alerts")


# --------------------------------------------------------------------------
# Datasets.


def schema_revisions(engine) -> list[str]:
    """The migration heads of the code (a dataset records those it was built or last upgraded on)."""
    del engine  # the code's heads, not the database's rows: one answer before and after upgrade
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def builder_digest() -> str:
    """SHA-256 of the dataset builder's source: a dataset built by another version of it is rebuilt."""
    digest = hashlib.sha256()
    for name in BUILDER:
        digest.update((REPO / "scripts" / name).read_bytes())
    return digest.hexdigest()


def dataset_info(engine) -> dict | None:
    """What the dataset's marker says (size, build time, bytes), or None when there is none."""
    try:
        with engine.connect() as conn:
            return conn.execute(select(Setting.value).where(Setting.key == MARKER)).scalar()
    except Exception:
        return None


def dataset_ready(engine, size: int) -> bool:
    """True when the database holds a complete dataset of `size` made by this version of the builder."""
    value = dataset_info(engine)
    return bool(value) and value.get("incidents") == size and value.get("builder") == builder_digest()


def build(engine, size: int, now: dt.datetime) -> dict:
    """Fill an empty, migrated database with `size` realistic incidents (scripts/bench_data.py); returns timings."""
    started = time.perf_counter()
    timings = bench_data.build(engine, size, now)
    timings["build_s"] = time.perf_counter() - started
    timings["bytes_per_incident"] = bench_data.bytes_used(engine) / size
    with session_scope(engine) as session:
        session.add(Setting(key=MARKER, value={"incidents": size, "built_at": now.isoformat(),
                                               "revisions": schema_revisions(engine), "builder": builder_digest(),
                                               **timings}))
    return timings


def upgraded(engine, now: dt.datetime) -> dict:
    """Run the migrations a reused dataset has not had, recording which and how long in its marker; its info."""
    info = dataset_info(engine) or {}
    before = info.get("revisions")
    if before == schema_revisions(engine):
        return info
    started = time.perf_counter()
    upgrade(engine)
    seconds = time.perf_counter() - started
    print(f"  upgraded from {', '.join(before or ['?'])} to {', '.join(schema_revisions(engine))} "
          f"in {seconds:.1f} s", flush=True)
    info = info | {"revisions": schema_revisions(engine),
                   "upgrades": [*info.get("upgrades", []), {"from": before, "to": schema_revisions(engine),
                                                             "at": now.isoformat(), "upgrade_s": seconds}]}
    _save_marker(engine, info)
    return info


def _save_marker(engine, info: dict) -> None:
    with session_scope(engine) as session:
        session.execute(update(Setting).where(Setting.key == MARKER).values(value=info))


def settled(engine, now: dt.datetime) -> dict:
    """On PostgreSQL, VACUUM ANALYZE the app's tables once after a build or an upgrade, as autovacuum does to a
    live database; the dataset's info, with when and how long.

    Rows loaded by COPY are not yet marked all-visible, so until a vacuum every index-only scan (a count of an
    account's incidents, say) reads the table too: a fresh load is slower than any database in service.
    """
    info = dataset_info(engine) or {}
    if engine.dialect.name != "postgresql" or info.get("vacuumed_revisions") == info.get("revisions"):
        return info
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in Base.metadata.sorted_tables:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table.name}"')
    seconds = time.perf_counter() - started
    print(f"  vacuumed in {seconds:.1f} s", flush=True)
    info = info | {"vacuumed_revisions": info.get("revisions"), "vacuumed_at": now.isoformat(), "vacuum_s": seconds}
    _save_marker(engine, info)
    return info


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


def ensure_dataset(url: str, size: int, now: dt.datetime, *, rebuild: bool = False) -> dict:
    """Build the dataset at `url` unless a complete one is there already (brought up to date by the migrations)."""
    engine = make_engine(url)
    if not rebuild and dataset_ready(engine, size):
        upgraded(engine, now)
        info = settled(engine, now)
        print(f"  reusing {size:,} incidents at {engine.url.render_as_string(hide_password=True)}")
        engine.dispose()
        return info
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
    info = settled(engine, now)
    engine.dispose()
    return info


# --------------------------------------------------------------------------
# Measurements.


def write_incident(engine, now: dt.datetime) -> int:
    """Open one incident through the real flow (what makes the next page run cold); returns its id."""
    with session_scope(engine) as session:
        account_id = session.scalar(select(Account.id).order_by(Account.id).limit(1))
        return flows.open_incident(session, account_id=account_id, title="Benchmark write", summary="",
                                   answers=Answers.model_validate({"business_impact": "minor"}),
                                   policy_name="default", actor=users.SYSTEM, now=now).id


def built_at(engine) -> dt.datetime:
    """When the dataset was built (pages show its own recent weeks even when it was built days ago)."""
    info = dataset_info(engine)
    assert info is not None
    return dt.datetime.fromisoformat(info["built_at"])


def measure(url: str, runs: int) -> dict[str, float]:
    """Median seconds of every page (each run after a write) and of the public status page route."""
    os.environ["DATABASE_URL"] = url
    engine = make_engine(url)
    pages, status_path = bench_pages.targets(engine, built_at(engine), VIEW_WEEKS, bench_data.SEARCH_TEXT)
    # The state a running server is in: its scheduler pass has recorded the clocks that breached and
    # re-evaluated the account health that time made stale (a dataset reused days after it was built would
    # otherwise have every clock since classified, and every account evaluated, live on each render).
    now = dt.datetime.now(dt.UTC)
    alert_scheduler.record_breached_clocks(engine, now=now)
    signals.refresh_due(engine, now)
    results: dict[str, list[float]] = {name: [] for name in [*pages, "status page (GET)"]}
    bench_pages.start_runtime()
    for page in pages.values():
        write_incident(engine, dt.datetime.now(dt.UTC))
        bench_pages.page_run(page)  # warm-up: imports, not measured
    bench_pages.status_route_run(status_path)
    for _ in range(runs):
        for name, page in pages.items():
            write_incident(engine, dt.datetime.now(dt.UTC))
            results[name].append(bench_pages.page_run(page))
        write_incident(engine, dt.datetime.now(dt.UTC))
        results["status page (GET)"].append(bench_pages.status_route_run(status_path))
    engine.dispose()
    return {name: statistics.median(values) for name, values in results.items()}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def measure_writes(url: str, operations: int) -> dict[str, float]:
    """Median and p95 seconds of opening an incident and of recording a milestone, each its own transaction."""
    engine = make_engine(url)
    opened, acknowledged, ids = [], [], []
    for _ in range(operations):
        started = time.perf_counter()
        ids.append(write_incident(engine, dt.datetime.now(dt.UTC)))
        opened.append(time.perf_counter() - started)
    for incident_id in ids:
        started = time.perf_counter()
        with session_scope(engine) as session:
            flows.record_milestone(session, incident_id=incident_id, milestone=Milestone.ACKNOWLEDGED,
                                   actor=users.SYSTEM, now=dt.datetime.now(dt.UTC))
        acknowledged.append(time.perf_counter() - started)
    engine.dispose()
    return {"open_median_s": statistics.median(opened), "open_p95_s": _p95(opened),
            "milestone_median_s": statistics.median(acknowledged), "milestone_p95_s": _p95(acknowledged)}


def fresh_process(url: str, names: list[str]) -> dict[str, dict[str, float]]:
    """Per page: seconds of its first render in a new process, and that process's peak RSS (ru_maxrss, MB)."""
    found = {}
    for name in names:
        done = subprocess.run([sys.executable, __file__, "--child-page", name], capture_output=True, text=True,
                              env={**os.environ, "DATABASE_URL": url}, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"fresh process for {name} failed: {done.stderr[-2000:]}")
        found[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def child_page(name: str) -> int:
    """In a new process: render page `name` once on $DATABASE_URL; print its seconds and this process's peak RSS."""
    engine = make_engine(os.environ["DATABASE_URL"])
    pages, _ = bench_pages.targets(engine, built_at(engine), VIEW_WEEKS, bench_data.SEARCH_TEXT)
    engine.dispose()
    # What a served app's runtime does once at startup, before anyone opens a page.
    bench_pages.start_runtime()
    seconds = bench_pages.page_run(pages[name])
    print(json.dumps({"first_render_s": seconds, "peak_rss_mb": peak_rss_mb()}))
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM where Linux gives it, else ru_maxrss.

    ru_maxrss alone is wrong here: a child started from a large process inherits its parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB


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


def measure_dataset(url: str, sections: set[str], runs: int, found: dict) -> dict[str, float]:
    """Run the chosen sections on one dataset: page medians returned, everything else added to `found`."""
    medians = measure(url, runs) if "pages" in sections else {}
    if medians:
        print("  " + ", ".join(f"{k} {v:.3f}" for k, v in medians.items()), flush=True)
    if "writes" in sections:
        found["writes"] = measure_writes(url, WRITE_OPERATIONS)
        print("  writes: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in found["writes"].items()))
    if "fresh" in sections:
        engine = make_engine(url)
        pages, _ = bench_pages.targets(engine, built_at(engine), VIEW_WEEKS, bench_data.SEARCH_TEXT)
        engine.dispose()
        found["fresh_process"] = fresh_process(url, list(pages))
        print("  fresh process: " + ", ".join(f"{k} {v['first_render_s']:.2f} s {v['peak_rss_mb']:.0f} MB"
                                              for k, v in found["fresh_process"].items()))
    if "alerts" in sections:
        found["alerts"] = measure_alerts(url, runs)
    return medians


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the datasets, measure, print the table; save bench-data/results.json and extra.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("SIZES") or "10000,100000,1000000",
                        help="comma-separated dataset sizes (default 10000,100000,1000000)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per page and dataset (median)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--build-only", action="store_true", help="build or check the datasets, measure nothing")
    parser.add_argument("--rebuild", action="store_true",
                        help="build every dataset anew, even one this version of the builder made")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="what to time, comma-separated: pages (every page, median of --runs), writes (open "
                             "an incident, record a milestone), alerts (scheduler passes), fresh (first render "
                             "and peak memory of one page per new process)")
    parser.add_argument("--child-page", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_page:
        return child_page(args.child_page)
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
        parser.error(f"--sections takes {', '.join(SECTIONS)}, separated by commas; got {args.sections!r}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    extra: dict[str, dict[str, dict]] = {}
    for engine_name in engines:
        for size in sizes:
            url = sqlite_url(size) if engine_name == "sqlite" else postgres_url(size)
            if url is None:
                break
            print(f"{engine_name} {size:,}:", flush=True)
            info = ensure_dataset(url, size, now, rebuild=args.rebuild)
            found = extra.setdefault(engine_name, {}).setdefault(str(size), {})
            found["dataset"] = {k: v for k, v in info.items() if k != "revisions"}
            found["mix"] = bench_data.MIX
            if args.build_only:
                continue
            medians = measure_dataset(url, sections, args.runs, found)
            if medians:
                results.setdefault(engine_name, {})[str(size)] = medians
    if args.build_only:
        return 0
    print_table(results)
    if results:
        (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2))
    (BENCH_DIR / "extra.json").write_text(json.dumps({"measured_at": now.isoformat(), "runs": args.runs,
                                                      "peak_memory": "VmHWM (peak RSS) of a new process that "
                                                                     "renders one page once", **extra}, indent=2))
    return 0


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    """One row per page, one column per engine and size, plus each engine's largest / smallest ratio."""
    columns = [(engine, size) for engine, by_size in results.items()
               for size in sorted(by_size, key=int)]
    if not columns:
        return
    names = list(next(iter(next(iter(results.values())).values())))
    ratios = [engine for engine, by_size in results.items() if len(by_size) > 1]
    head = [f"{engine} {int(size):,} s" for engine, size in columns]
    for engine in ratios:
        sizes = sorted(results[engine], key=int)
        head.append(f"{engine} {int(sizes[-1]):,}/{int(sizes[0]):,}")
    print("\n| page | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(head))
    for name in names:
        cells = [f"{results[engine][size].get(name, float('nan')):.3f}" for engine, size in columns]
        for engine in ratios:
            sizes = sorted(results[engine], key=int)
            cells.append(f"{results[engine][sizes[-1]][name] / results[engine][sizes[0]][name]:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
