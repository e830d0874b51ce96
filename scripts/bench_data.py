"""Benchmark datasets: realistic incidents written in bulk, with what the real flows would have stored.

`build(engine, size, now)` fills an empty, migrated database with a team, accounts and contacts,
`size` incidents (their real policy snapshots by reference), timelines, client messages and the
response log the flows keep, reports, health readings per account and day, the SLA fact rows, and
then every read model (`rebuild_read_models`). Rows are computed in memory and written by Core
executemany of plain dicts, a chunk of incidents at a time; the stored deadlines of open incidents
come from the app's own rule functions (those `refresh_next_deadline` calls) run on in-memory
incident objects. The mix is stated in MIX. It must never write to a real database: it inserts with
fixed ids into the tables it is given, which must be empty.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import multiprocessing
import os
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from bench_bulk import deferred_indexes, insert_rows
from sqlalchemy import Engine, bindparam, insert, select, text, update

from core.account import signals
from core.incident.flows import alerts_from, client_update_due, escalation_from
from core.incident.lifecycle import MILESTONE_LABELS, Milestone
from core.people import users
from core.policy import store as policy_store
from core.policy.calendar import add_working_time
from core.policy.loading import load_preset
from core.policy.schema import Policy
from core.sla import metrics
from core.sla import projection as sla_summary
from core.sla.clocks import compute_clocks, most_urgent
from core.sla.facts import facts_of, policy_of
from core.triage.rules import Answers, TriageResult, triage
from db.engine import analyze, make_engine, session_scope
from db.models import (
    Account,
    Communication,
    Contact,
    HealthSignal,
    Incident,
    IncidentFact,
    IncidentReport,
    PolicySnapshot,
    SlaClockFact,
    TimelineEvent,
    User,
)

HISTORY_DAYS = 730
ACCOUNTS = 400
CSMS = 12
CONTACTS_PER_ACCOUNT = 3
# A team mostly works under its default policy; some accounts have their own.
POLICIES = [("default", 0.7), ("red-status", 0.2), ("teamflow", 0.1)]
SEVERITY_MIX = [("P0", 0.03), ("P1", 0.12), ("P2", 0.35), ("P3", 0.50)]
IMPACTS = [("stopped", 0.05), ("major", 0.2), ("minor", 0.45), ("none", 0.3)]
TITLES = ["Checkout API returns 500s", "Login fails for SSO users", "Reports export times out",
          "Nightly sync drops records", "Dashboard slow for some users", "Webhook deliveries delayed",
          "Invoice totals wrong", "Mobile app crashes on start", "Search returns stale results",
          "Payment refunds stuck", "Email notifications not sent", "Data import rejected",
          "Permissions reset after upgrade", "CSV upload corrupts accents", "API rate limit too strict"]
SEARCH_TEXT = "checkout"
# What a realistic history holds per incident (stated in the report and the README).
MIX = {
    "open_share": 0.003,            # 0.3 % of incidents open, all detected in the last 72 hours
    "timeline_per_incident": 20,    # on average: opened, milestones, messages, escalations, notes
    "messages_per_incident": 4,     # client emails on average, as the compose flow stores them (text and HTML)
    "message_bytes": 4500,          # about 1 KB of text and 3-3.5 KB of HTML per email, before packing
    "reports_per_resolved": 0.1,    # one report (or post-mortem) per 10 resolved incidents
    "signal_days": 180,             # daily health readings per account and metric, last 180 days
}
SIGNAL_METRICS = ("support_tickets", "csat", "error_rate")
OPEN_WINDOW = dt.timedelta(hours=72)
CHUNK = 5000
# Timeline entries and client messages take ids n * EVENT_IDS + k and n * MESSAGE_IDS + k for incident n.
EVENT_IDS = 64
MESSAGE_IDS = 8
# From this size on, worker processes generate the rows (below it, starting them costs more than they save).
PARALLEL_FROM = 50_000
# Triage is computed once per policy and answers at this moment (only its deadlines depend on the time).
_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

_FALLBACK_TARGETS = {"acknowledge": dt.timedelta(hours=1), "client_notification": dt.timedelta(hours=2),
                     "mobilization": dt.timedelta(hours=2), "resolution": dt.timedelta(hours=24)}
_MILESTONES = (("acknowledge", "acknowledged_at", Milestone.ACKNOWLEDGED),
               ("mobilization", "mobilized_at", Milestone.MOBILIZED),
               ("resolution", "resolved_at", Milestone.RESOLVED))
_NOTE_WORDS = ("Customer confirms impact on", "Engineering is looking at", "Rolled back the deploy of",
               "Still seeing errors from", "Workaround shared for", "Monitoring recovery of")


@dataclass
class Team:
    """Who the dataset's incidents belong to: accounts (dicts) and the users by role."""

    accounts: list[dict]
    csm_ids: list[int]
    lead_id: int
    admin_id: int


def _pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    return rng.choices([m[0] for m in mix], weights=[m[1] for m in mix])[0]


def seed_team(engine: Engine, rng: random.Random, now: dt.datetime) -> Team:
    """Install the presets, create the CSMs, a lead and an admin, the accounts they own and their contacts."""
    with session_scope(engine) as session:
        policy_store.install_presets(session, now=now)
        csm_ids = []
        for i in range(CSMS):
            user, _ = users.create_user(session, username=f"csm{i:02d}", display_name=f"CSM {i:02d}", role="csm",
                                        password="bench password 123", actor=users.SYSTEM, now=now)
            csm_ids.append(user.id)
        ids = {}
        for username, role in (("lead", "lead"), ("admin", "admin")):
            user, _ = users.create_user(session, username=username, display_name=username.title(), role=role,
                                        password="bench password 123", actor=users.SYSTEM, now=now)
            ids[role] = user.id
        for user in session.scalars(select(User)):
            user.must_change_password = False
    tiers = ["enterprise"] * 10 + ["pro"] * 16 + ["basic"] * 14
    # Account owners are uneven on purpose: csm00 owns the most accounts (the bench's busiest CSM).
    owners = [csm_ids[0]] * 3 + csm_ids
    accounts = [{"id": i + 1, "name": f"Customer {i + 1:04d}", "tier": rng.choice(tiers),
                 "owner_id": owners[i % len(owners)], "policy": _pick(rng, POLICIES),
                 "weight": 6 if i % 17 == 0 else 1} for i in range(ACCOUNTS)]
    with engine.begin() as conn:
        conn.execute(insert(Account), [{"id": a["id"], "name": a["name"], "tier": a["tier"], "owner_id": a["owner_id"],
                                        "time_zone": "UTC", "contract_terms": {}, "created_at": now,
                                        "updated_at": now, "version": 1} for a in accounts])
        conn.execute(insert(Contact), [
            {"account_id": a["id"], "name": f"Contact {n} of {a['name']}", "role": "IT lead" if n == 0 else "Ops",
             "email": f"c{n}.{a['id']}@example.com", "phone": "", "time_zone": "UTC",
             "preferred_channel": "email", "is_primary": n == 0}
            for a in accounts for n in range(CONTACTS_PER_ACCOUNT)])
    return Team(accounts, csm_ids, ids["lead"], ids["admin"])


def store_snapshots(engine: Engine, now: dt.datetime) -> dict[str, PolicySnapshot]:
    """Each benchmark policy's real snapshot, stored once as the app stores it (detached rows, by policy name)."""
    with session_scope(engine) as session:
        snapshots = {name: policy_store.snapshot_of(session, load_preset(name), now=now) for name, _ in POLICIES}
        session.flush()
        for snapshot in snapshots.values():
            session.refresh(snapshot)
            _ = snapshot.body  # deferred: loaded now, the rows are used detached
        session.expunge_all()
    return snapshots


def _after(rng: random.Random, start: dt.datetime, target: dt.timedelta | None, fallback: dt.timedelta,
           late_odds: float) -> dt.datetime:
    base = target or fallback
    factor = rng.uniform(1.05, 3.0) if rng.random() < late_odds else rng.uniform(0.1, 0.98)
    return start + max(dt.timedelta(minutes=1), base * factor)


def _spread(rng: random.Random, start: dt.datetime, end: dt.datetime, count: int) -> list[dt.datetime]:
    span = max((end - start).total_seconds(), 60.0)
    return sorted(start + dt.timedelta(seconds=int(rng.random() * span)) for _ in range(count))


_TRIAGED: dict[tuple[str, str, str], tuple[Answers, TriageResult]] = {}


def _triaged_at_epoch(policy: Policy, impact: str, tier: str) -> tuple[Answers, TriageResult]:
    key = (policy.name, impact, tier)
    if key not in _TRIAGED:
        answers = Answers.model_validate({"business_impact": impact, "customer_tier": tier})
        _TRIAGED[key] = answers, triage(answers, policy, _EPOCH)
    return _TRIAGED[key]


def _triaged(policy: Policy, impact: str, tier: str, detected: dt.datetime) -> tuple[Answers, TriageResult]:
    """What `triage` returns for these answers at `detected`: computed once per policy and answers, with the
    deadlines (the only part that depends on the moment) worked out for `detected` as `triage` does."""
    answers, result = _triaged_at_epoch(policy, impact, tier)
    detected = detected.astimezone(dt.UTC)
    deadlines = {clock: add_working_time(detected, target, policy.calendar_for(clock))
                 for clock, target in result.targets.items()}
    return answers, dataclasses.replace(result, deadlines=deadlines)


def _incident(rng: random.Random, n: int, account: dict, policy: Policy, snapshot_id: int, now: dt.datetime,
              open_incident: bool) -> dict:
    """One incident row triaged by the real rules; milestones reached in a plausible order."""
    if open_incident:
        detected = now - dt.timedelta(seconds=int(rng.random() * OPEN_WINDOW.total_seconds()))
    else:
        detected = now - dt.timedelta(seconds=int(OPEN_WINDOW.total_seconds() + rng.random() * HISTORY_DAYS * 86400))
    detected = detected.replace(microsecond=0)
    answers, result = _triaged(policy, _pick(rng, IMPACTS), account["tier"], detected)
    severity = result.severity
    late = 0.08 if severity in ("P0", "P1") else 0.15
    times: dict[str, dt.datetime | None] = {}
    for clock, field, _ in _MILESTONES:
        times[field] = _after(rng, detected, result.targets.get(clock), _FALLBACK_TARGETS[clock], late)
    resolved = times["resolved_at"]
    assert resolved is not None
    if open_incident:
        times["resolved_at"] = None
        for field in ("acknowledged_at", "mobilized_at"):
            if times[field] is not None and times[field] > now:
                times[field] = None
    else:
        for field in ("acknowledged_at", "mobilized_at"):
            times[field] = min(times[field], resolved)
        if resolved > now:  # a long resolution target: the incident was detected earlier
            shift = resolved - now + dt.timedelta(hours=1)
            detected -= shift
            times = {k: v - shift if v else v for k, v in times.items()}
    status = ("closed" if times["resolved_at"] else "mobilized" if times["mobilized_at"]
              else "acknowledged" if times["acknowledged_at"] else "new")
    return {
        "id": n, "title": f"{rng.choice(TITLES)} ({account['name']})", "summary": "Customer reports the problem.",
        "account_id": account["id"], "policy_name": policy.name, "policy_version": 1,
        # The real policy snapshot, by reference, exactly as the triage flow stores it.
        "policy_snapshot_id": snapshot_id, "answers": answers.model_dump(mode="json", exclude_none=True),
        "triage_result": {**result.to_json(), "targets": {k: v.total_seconds() for k, v in result.targets.items()},
                          "ladder": [step.to_json() for step in result.ladder]},
        "severity": severity, "red_status": result.red_status, "escalation_category": result.escalation_category,
        "required_level": result.escalation_level, "current_level": None, "required_level_reached_at": None,
        "status": status, "detected_at": detected, "client_notified_at": None, "last_client_update_at": None,
        **times, "closed_at": times["resolved_at"], "created_at": detected, "updated_at": now, "version": 1,
        "owner_id": account["owner_id"], "response_log": {}, "next_deadline_at": None, "next_deadline_clock": None,
        "escalation_due_at": None, "next_client_update_due_at": None, "next_alert_at": None,
    }


@functools.cache
def _email_parts() -> dict[str, list[list[str]]]:
    """Each shipped email the builder sends (subject, text, HTML), rendered once with markers naming the fields."""
    import re

    from core.communication.context import minimal_context
    from core.communication.render import render

    fields = ("incident_ref", "title", "severity_label", "status", "prepared_at", "detected_at", "impact",
              "business_impact", "current_status", "next_update_at", "update_cadence", "resolved_at",
              "outage_duration", "account_name", "contact_name", "csm_name", "technical_lead_name",
              "root_cause", "fix_applied", "actions_taken", "prevention_measures", "update_number", "greeting")
    # Mixed case, so a template's `upper` or `lower` filter shows in the marker it leaves.
    codes = {field: f"Qz{n:02d}zQ" for n, field in enumerate(fields)}
    marker = {**{code: field for field, code in codes.items()},
              **{code.upper(): f"{field}|upper" for field, code in codes.items()},
              **{code.lower(): f"{field}|lower" for field, code in codes.items()}}
    shape = minimal_context().model_copy(update={
        **codes, "actions_taken": [codes["actions_taken"]], "prevention_measures": [codes["prevention_measures"]],
        "update_number": 97531, "contact_names": [codes["contact_name"]]})
    # Each part split once at its markers: odd pieces name the field that goes there.
    emails = {key: [[marker.get(piece, piece) for piece in
                     re.split(r"((?i:qz\d\dzq))", part.replace("97531", codes["update_number"]))]
                    for part in (rendered.subject, rendered.text, rendered.html)]
              for key in ("emergency_acknowledgement", "p1_response", "status_update", "resolution_root_cause")
              for rendered in [render(key, shape)]}
    return emails


def _history(rng: random.Random, row: dict, now: dt.datetime, actor_id: int) -> tuple[list[dict], list[dict]]:
    """The incident's messages and timeline as the flows record them; sets the response log and client times.

    Each message is a shipped email as the compose flow stores it (subject, text and HTML): the first notice
    (emergency acknowledgement at P0, else the high-priority response), then status updates, and the
    resolution message last on a resolved incident. Each template is rendered once through the real renderer
    with marker values, then filled per message, so a million incidents need three renders, not four million.
    """
    from markupsafe import escape

    from core.communication.context import CLIENT_SEVERITY, CLIENT_STATUS, CLIENT_STATUS_TEXT

    emails = _email_parts()
    # What the CSM writes in each message (the compose page leaves impact and the resolution fields to them).
    words = random.Random(row["id"])
    component = row["title"].split(" (")[0].lower()
    root_causes = ("reduced the capacity of the service handling your requests.",
                   "left a cache with stale entries after the deploy.", "exposed a bug in how retries were counted.")
    preventions = ("goes through a staged rollout with automatic rollback.",
                   "has an alert on its error rate that pages the on-call engineer.",
                   "is covered by a test that replays this failure.")

    def when(moment: dt.datetime) -> str:
        return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} UTC"

    def email(key: str, at: dt.datetime, number: int) -> list[str]:
        status = "acknowledged" if number == 1 else "resolved" if key == "resolution_root_cause" else "mobilized"
        ended = row["resolved_at"] or at
        values = {
            "incident_ref": f"INC-{row['id']}", "title": row["title"], "update_number": str(number),
            "severity_label": CLIENT_SEVERITY.get(row["severity"], row["severity"]),
            "status": CLIENT_STATUS.get(status, status), "prepared_at": when(at), "detected_at": when(detected),
            "impact": f"{words.choice(('Some', 'Most', 'A few', 'All'))} of your users are affected: "
                      f"{component} since {when(detected)}.",
            "business_impact": words.choice(("Work can continue with some inconvenience.",
                                             "Work that depends on the affected service cannot go ahead.")),
            "current_status": f"{CLIENT_STATUS_TEXT.get(status, '')} {words.choice(_NOTE_WORDS)} {component}.",
            "next_update_at": when(at + dt.timedelta(hours=words.choice((1, 2, 4)))),
            "update_cadence": words.choice(("every hour", "every 2 hours", "every 4 hours")),
            "resolved_at": when(ended), "outage_duration": f"{(ended - detected).total_seconds() / 3600:.0f} hours",
            "account_name": f"Customer {row['account_id']:04d}", "csm_name": f"CSM {actor_id:02d}",
            "contact_name": f"Contact 0 of Customer {row['account_id']:04d}",
            "greeting": f"Contact 0 of Customer {row['account_id']:04d}",
            "technical_lead_name": f"Engineer {words.randint(1, 40):02d}",
            "root_cause": f"A change to {component} on {when(detected)} {words.choice(root_causes)}",
            "fix_applied": f"We {words.choice(('rolled back', 'patched', 'reconfigured'))} {component} and checked "
                           f"every affected record of Customer {row['account_id']:04d}.",
            "actions_taken": f"{words.choice(_NOTE_WORDS)} {component} since "
                             f"{when(at - dt.timedelta(minutes=words.randint(5, 90)))}.",
            "prevention_measures": f"{component.capitalize()} now {words.choice(preventions)}",
        }
        values |= {f"{field}|{case}": getattr(value, case)() for field, value in list(values.items())
                   for case in ("upper", "lower")}
        escaped = {field: str(escape(value)) for field, value in values.items()}
        return ["".join((escaped if part == 2 else values)[piece] if i % 2 else piece for i, piece in enumerate(pieces))
                for part, pieces in enumerate(emails[key])]

    detected, end = row["detected_at"], row["resolved_at"] or now
    events = [{"incident_id": row["id"], "occurred_at": detected, "recorded_at": detected, "actor_id": actor_id,
               "kind": "opened", "summary": f"Opened as {row['severity']} under {row['policy_name']} v1",
               "details": {}}]
    messages = []
    count = rng.randint(2, 6) if not row["resolved_at"] else rng.randint(1, 7)
    first = detected + (end - detected) * rng.uniform(0.02, 0.2)
    sent = [first, *_spread(rng, first, end, count - 1)] if first <= now else []
    for number, at in enumerate(sent, start=1):
        key = ("emergency_acknowledgement" if row["severity"] == "P0" else "p1_response") if number == 1 else (
            "resolution_root_cause" if row["resolved_at"] and number == len(sent) else "status_update")
        subject, body_text, body_html = email(key, at, number)
        messages.append({"incident_id": row["id"], "template_key": key, "template_version": None,
                         "channel": "email", "recipients": [f"c0.{row['account_id']}@example.com"],
                         "subject": subject[:300], "body_text": body_text, "body_html": body_html,
                         "sent_at": at, "sent_by_id": actor_id, "delivery": "sent", "public_status": None})
        events.append({"incident_id": row["id"], "occurred_at": at, "recorded_at": at, "actor_id": actor_id,
                       "kind": "communication", "summary": f"Sent Email to c0.{row['account_id']}@example.com: "
                       f"{subject}", "details": {"template": key, "template_version": None}})
    if sent:
        row["client_notified_at"], row["last_client_update_at"] = sent[0], sent[-1]
        row["response_log"] = {"messages": sorted(at.isoformat() for at in sent)}
        events.append({"incident_id": row["id"], "occurred_at": sent[0], "recorded_at": sent[0],
                       "actor_id": actor_id, "kind": "milestone", "summary": "Client notified",
                       "details": {"milestone": "client_notified"}})
    for _, field, milestone in _MILESTONES:
        if row[field] is not None:
            events.append({"incident_id": row["id"], "occurred_at": row[field], "recorded_at": row[field],
                           "actor_id": actor_id, "kind": "milestone", "summary": MILESTONE_LABELS[milestone],
                           "details": {"milestone": milestone.value}})
    ladder = row["triage_result"].get("ladder") or []
    if ladder and row["acknowledged_at"] is not None:
        level = ladder[0]["level"]
        at = row["acknowledged_at"]
        row["current_level"] = level
        row["required_level_reached_at"] = at if level == row["required_level"] else None
        row["response_log"] = {**row["response_log"], "escalations": [[level, at.isoformat()]]}
        events.append({"incident_id": row["id"], "occurred_at": at, "recorded_at": at, "actor_id": actor_id,
                       "kind": "escalation", "summary": f"Escalated to {level}", "details": {"to_level": level}})
    notes = max(0, MIX["timeline_per_incident"] - len(events) + rng.randint(-4, 4))
    for at in _spread(rng, detected, end, notes):
        events.append({"incident_id": row["id"], "occurred_at": at, "recorded_at": at, "actor_id": actor_id,
                       "kind": "note", "summary": f"{rng.choice(_NOTE_WORDS)} {row['title'][:60]}", "details": {}})
    return events, messages


def _as_incident(row: dict, account: dict, snapshot: PolicySnapshot) -> Incident:
    """A transient Incident of `row` (never added to a session), for the app's own rule functions."""
    incident = Incident(**{k: v for k, v in row.items() if k != "policy_snapshot_id"})
    incident.account = Account(id=account["id"], tier=account["tier"], owner_id=account["owner_id"])
    incident.snapshot = snapshot
    return incident


def set_deadlines(row: dict, account: dict, snapshot: PolicySnapshot, now: dt.datetime) -> None:
    """Store on an open incident's row what `refresh_next_deadline` stores, by the same rule functions."""
    incident = _as_incident(row, account, snapshot)
    facts, policy = facts_of(incident, []), policy_of(incident)
    clocks = compute_clocks(facts, policy, now)
    urgent = most_urgent(clocks)
    escalation = escalation_from(incident, facts, policy, now, clocks)
    row["next_deadline_at"] = urgent.deadline if urgent else None
    row["next_deadline_clock"] = urgent.clock if urgent else None
    row["next_client_update_due_at"] = client_update_due(clocks)
    row["escalation_due_at"] = None if row["resolved_at"] else escalation.deadline
    row["next_alert_at"] = alerts_from(incident, policy, clocks, escalation, now).wake_at


def _report(rng: random.Random, row: dict, actor_id: int) -> dict:
    kind = "postmortem" if row["severity"] in ("P0", "P1") and rng.random() < 0.5 else "report"
    at = row["resolved_at"] + dt.timedelta(days=rng.randint(1, 5))
    keys = (("summary", "went_well", "improve") if kind == "postmortem" else
            ("timeline", "impact", "root_cause", "resolution", "client_mitigation", "prevention"))
    return {"incident_id": row["id"], "kind": kind, "status": rng.choice(["draft", "in_review", "reviewed", "closed"]),
            "sections": {key: f"{key.replace('_', ' ').capitalize()}: {row['title']}. " * 3 for key in keys},
            "status_changed_at": at, "status_changed_by_id": actor_id, "created_at": at, "created_by_id": actor_id,
            "updated_at": at, "updated_by_id": actor_id, "version": 1}


def _chunks(size: int) -> Iterator[range]:
    for start in range(1, size + 1, CHUNK):
        yield range(start, min(size, start + CHUNK - 1) + 1)


# The tables a chunk of incidents writes, in the order they are written (incidents first: the others point at them).
CHUNK_TABLES = (Incident.__table__, TimelineEvent.__table__, Communication.__table__, IncidentReport.__table__,
                SlaClockFact.__table__, IncidentFact.__table__)


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of incidents to generate: everything a worker process needs, and nothing it must not touch."""

    index: int
    ids: range
    team: Team
    snapshots: dict[str, PolicySnapshot]
    now: dt.datetime
    open_share: float
    seed: int
    url: str  # the database the chunk is written to (with its password: the worker connects itself)


def chunk_batches(job: ChunkJob) -> tuple[dict[str, list[dict]], list[tuple[int, int, dt.datetime]]]:
    """Generate one chunk's incidents with their history and SLA fact rows: rows per table name.

    Its own random stream (seed and chunk index), so the dataset is the same whatever the number of
    worker processes; also returns each incident's (id, account, detection) for the repeat flags.
    """
    rng = random.Random(job.seed * 1_000_003 + job.index)
    policies = {name: load_preset(name) for name, _ in POLICIES}
    accounts = job.team.accounts
    cumulative = list(itertools.accumulate(a["weight"] for a in accounts))
    batches: dict[str, list[dict]] = {table.name: [] for table in CHUNK_TABLES}
    detections = []
    for n in job.ids:
        account = rng.choices(accounts, cum_weights=cumulative)[0]
        policy = policies[account["policy"]]
        snapshot = job.snapshots[policy.name]
        open_incident = rng.random() < job.open_share
        row = _incident(rng, n, account, policy, snapshot.id, job.now, open_incident)
        actor = account["owner_id"]
        timeline, sent = _history(rng, row, job.now, actor)
        # Ids fixed by the incident's: the same dataset whichever worker writes its chunk first.
        for rows, per_incident in ((timeline, EVENT_IDS), (sent, MESSAGE_IDS)):
            if len(rows) > per_incident:
                raise ValueError(f"incident {n} has {len(rows)} rows, more ids than {per_incident} apart")
            for k, history_row in enumerate(rows):
                history_row["id"] = n * per_incident + k
        batches["timeline_events"] += timeline
        batches["communications"] += sent
        if open_incident:
            set_deadlines(row, account, snapshot, job.now)
        elif rng.random() < MIX["reports_per_resolved"]:
            batches["incident_reports"].append({"id": n, **_report(rng, row, actor)})
        batches["incidents"].append(row)
        # The summary rows as the app's upkeep computes them from the incident (core.sla.projection.sync_incident):
        # every clock, escalation and level responses included, and the rules its triage fired.
        incident = _as_incident(row, account, snapshot)
        dims = sla_summary.dims_of(incident)
        clocks = compute_clocks(facts_of(incident, []), policy_of(incident), job.now)
        batches["sla_clock_facts"] += sla_summary.clock_rows(dims, clocks)
        batches["incident_facts"].append(
            sla_summary.incident_row(dims, resolved_at=row["resolved_at"], is_repeat=False, now=job.now))
        detections.append((n, account["id"], row["detected_at"]))
    return batches, detections


_ENGINES: dict[str, Engine] = {}


def write_chunk(job: ChunkJob) -> list[tuple[int, int, dt.datetime]]:
    """Generate one chunk and write it in its own transaction (in a worker process: through its own engine).

    Returns each incident's (id, account, detection) for the repeat flags. On PostgreSQL the workers'
    COPYs run side by side; on SQLite each waits for the write lock (a chunk holds it about a second).
    """
    batches, detections = chunk_batches(job)
    engine = _ENGINES.get(job.url)
    if engine is None:
        engine = _ENGINES[job.url] = make_engine(job.url)
    with engine.begin() as conn:
        for table in CHUNK_TABLES:
            insert_rows(conn, table, batches[table.name])
    return detections


def _written(jobs: list[ChunkJob], workers: int) -> Iterator[list[tuple[int, int, dt.datetime]]]:
    """Write every job, by `workers` processes (0: in this process), yielding each one's detections."""
    if workers <= 0:
        yield from map(write_chunk, jobs)
        return
    # spawn: a fork would copy this process's open database connections into the workers.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(write_chunk, jobs)


def write_incidents(engine: Engine, seed: int, team: Team, size: int, now: dt.datetime,
                    snapshots: dict[str, PolicySnapshot], open_share: float, *, workers: int = 0) -> None:
    """Generate and insert the incidents with their history and SLA fact rows (in `workers` processes)."""
    url = engine.url.render_as_string(hide_password=False)
    _ENGINES[url] = engine  # in this process, chunks go through the caller's engine
    jobs = [ChunkJob(i, ids, team, snapshots, now, open_share, seed, url) for i, ids in enumerate(_chunks(size))]
    detections = [d for chunk in _written(jobs, workers) for d in chunk]
    repeats = [{"b_id": n} for n, flag in metrics.repeat_flags(detections).items() if flag]
    if repeats:
        with engine.begin() as conn:
            conn.execute(update(IncidentFact.__table__).where(IncidentFact.__table__.c.incident_id == bindparam("b_id"))
                         .values(is_repeat=True), repeats)


def write_signals(engine: Engine, rng: random.Random, team: Team, now: dt.datetime, days: int) -> None:
    """One imported reading per account, metric and day over the last `days` days."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    base = {"support_tickets": (8.0, None), "csat": (4.3, 4.0), "error_rate": (0.5, 1.0)}
    rows = []
    for account in team.accounts:
        for metric in SIGNAL_METRICS:
            value, target = base[metric]
            for day in range(days, 0, -1):
                rows.append({"account_id": account["id"], "metric": metric,
                             "observed_at": today - dt.timedelta(days=day),
                             "value": round(max(0.0, value * rng.uniform(0.6, 1.4)), 2), "target": target,
                             "source": "import", "recorded_at": now, "recorded_by_id": account["owner_id"]})
    with engine.begin() as conn:
        insert_rows(conn, HealthSignal.__table__, rows)


def rebuild_read_models(engine: Engine) -> None:
    """Recompute every read model the app keeps from the rows written (add each new read model here)."""
    with session_scope(engine) as session:
        sla_summary.rebuild_rollups(session)
        signals.rebuild_signal_days(session)
        # Evaluated at the moment it is built, as a scheduler pass would: the pages read at the real clock.
        signals.rebuild_account_health(session, dt.datetime.now(dt.UTC))


def build(engine: Engine, size: int, now: dt.datetime, *, open_share: float = MIX["open_share"],
          signal_days: int = MIX["signal_days"], workers: int | None = None) -> dict[str, float]:
    """Fill an empty, migrated database with `size` realistic incidents; returns seconds per phase.

    Tests pass a larger `open_share` (enough open incidents to compare) and fewer `signal_days`. `workers`
    processes generate the rows while this one writes (default: one per core once there is more than one
    chunk; 0: all in this process); the dataset is the same whatever their number.
    """
    import time

    if workers is None:
        workers = (os.cpu_count() or 1) if size >= PARALLEL_FROM else 0

    timings = {}
    started = time.perf_counter()
    rng = random.Random(size)
    team = seed_team(engine, rng, now)
    snapshots = store_snapshots(engine, now)
    with deferred_indexes(engine, [t.name for t in (*CHUNK_TABLES, HealthSignal.__table__)]):
        write_incidents(engine, size, team, size, now, snapshots, open_share, workers=workers)
        write_signals(engine, rng, team, now, signal_days)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("incidents", "accounts", "timeline_events", "communications", "incident_reports"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    timings["insert_s"] = time.perf_counter() - started
    started = time.perf_counter()
    rebuild_read_models(engine)
    with engine.begin() as conn:
        analyze(conn)
    timings["read_models_s"] = time.perf_counter() - started
    return timings


def bytes_used(engine: Engine) -> int:
    """The dataset's size on disk: the SQLite file, or every relation of the PostgreSQL schema with its indexes."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pages = conn.execute(text("PRAGMA page_count")).scalar() or 0
            return int(pages * (conn.execute(text("PRAGMA page_size")).scalar() or 0))
        return int(conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relkind IN ('r', 'm')")).scalar() or 0)
