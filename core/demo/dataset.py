"""The demo dataset: a believable team, 40 accounts and two years of incidents.

Deterministic for a given `now` (fixed seed), and built only through the
flows the app itself uses (`users.create_user`, `incidents.open_incident`,
`incidents.record_milestone`), so what the demo shows is what the rules
compute. Loaded by `python -m core init` when the database has no account.
Demo users get random passwords that are never printed: `python -m core
demo-logins` (core.demo.logins) gives one of each role a one-time password.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.account import signals
from core.demo import communications as demo_communications
from core.demo import health as demo_health
from core.demo import oncall as demo_oncall
from core.demo import outages as demo_outages
from core.demo import reports as demo_reports
from core.incident import flows as incidents
from core.incident.followers import follow
from core.incident.lifecycle import Milestone
from core.people import users
from core.people.access import Role
from core.policy import store as policy_store
from core.sla.facts import policy_of
from core.triage.rules import Answers, triage
from core.vocabulary import OPEN_STATUSES, IncidentStatus
from db.models import Account, Contact, Incident

SEED = 20261122
# The seeder builds the history of every account through the real flows: it acts with admin standing.
DEMO = users.Actor(id=None, name="demo", role=Role.ADMIN)
HISTORY_DAYS = 730

TEAM = [
    ("lena", "Lena Ortiz", "lead", "Europe/Madrid"),
    ("marcus", "Marcus Webb", "lead", "America/New_York"),
    ("priya", "Priya Raman", "csm", "Europe/London"),
    ("tom", "Tom Becker", "csm", "Europe/Berlin"),
    ("sofia", "Sofia Lindqvist", "csm", "Europe/Stockholm"),
    ("james", "James Okafor", "csm", "America/Chicago"),
    ("mei", "Mei Tanaka", "csm", "Asia/Tokyo"),
    # Last, so the CSMs' ids and the accounts they own stay what they were before she joined.
    ("nadia", "Nadia Haddad", "admin", "Europe/Paris"),
]
# The address every demo user has: what tells a demo user from a real one with the same name.
EMAIL_DOMAIN = "escalation-desk.example"

ACCOUNT_NAMES = [
    "Northwind Logistics", "Bluepeak Analytics", "Harbor & Finch", "Cobalt Health", "Lumen Retail",
    "Tidewater Foods", "Orbit Mobility", "Keystone Insurance", "Maple Ridge Bank", "Quarry Labs",
    "Sable Media", "Verdant Energy", "Atlas Freight", "Juniper Schools", "Crescent Travel",
    "Ironclad Security", "Pioneer Clinics", "Silverline Telecom", "Aurora Fashion", "Granite Legal",
    "Nimbus Cloudworks", "Redwood Realty", "Sparrow Payments", "Helix Pharma", "Beacon Nonprofit",
    "Summit Outdoor", "Copperleaf Hotels", "Driftwood Games", "Evergreen Farms", "Falcon Aerospace",
    "Glasshouse Studio", "Horizon Utilities", "Indigo Apparel", "Jetstream Airlines", "Kestrel Robotics",
    "Lighthouse Publishing", "Meridian Pharmacy", "Nova Fintech", "Oakmont Manufacturing", "Prism Events",
]
ZONES = ["Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Singapore",
         "Australia/Sydney", "Europe/Berlin", "America/Chicago"]
ACV = {"enterprise": (60_000, 400_000), "pro": (12_000, 60_000), "basic": (1_200, 12_000)}

# (title, answers, weight): what goes wrong at customers, from outages to cosmetic bugs.
SCENARIOS: list[tuple[str, dict[str, Any], int]] = [
    ("Platform completely down for the customer",
     {"business_impact": "stopped", "complete_outage": True, "system_affected": "core", "workaround": "none",
      "other_customers_affected": "yes", "users_affected_pct": 100, "outage_minutes": 75,
      "revenue_impact_per_hour": 8000, "reputation_risk": "high"}, 3),
    ("Suspected unauthorised access to customer data",
     {"business_impact": "major", "security_breach": True, "system_affected": "core", "reputation_risk": "high",
      "legal_compliance": True}, 1),
    ("Nightly sync corrupted order records",
     {"business_impact": "major", "data_integrity": True, "data_loss": True, "system_affected": "core",
      "workaround": "painful", "users_affected_pct": 40}, 2),
    ("Payments failing at checkout",
     {"business_impact": "stopped", "payment_failure": True, "system_affected": "core", "workaround": "none",
      "revenue_impact_per_hour": 15000, "users_affected_pct": 80}, 2),
    ("Reports module unavailable, manual export possible",
     {"business_impact": "major", "workaround": "painful", "system_affected": "secondary",
      "users_affected_pct": 60, "quick_fix": "unknown"}, 6),
    ("API latency above 5 s for most requests",
     {"business_impact": "major", "workaround": "painful", "system_affected": "core", "users_affected_pct": 55,
      "other_customers_affected": "unknown"}, 5),
    ("Client threatens to terminate after repeated failures",
     {"business_impact": "major", "termination_threat": True, "management_requested": True,
      "failed_attempts": 3, "csat": 5, "workaround": "painful"}, 1),
    ("Integration with CRM drops some updates",
     {"business_impact": "minor", "workaround": "easy", "system_affected": "secondary", "users_affected_pct": 15},
     10),
    ("Dashboard charts slow for a few users",
     {"business_impact": "minor", "workaround": "easy", "system_affected": "feature", "users_affected_pct": 10},
     10),
    ("Export button misaligned in Safari",
     {"business_impact": "none", "cosmetic": True, "system_affected": "feature", "workaround": "easy"}, 6),
    ("Customer asks for bulk-edit 'urgently'",
     {"business_impact": "none", "feature_request": True, "system_affected": "feature"}, 5),
    ("Refund request after double billing",
     {"business_impact": "minor", "payment_failure": True, "refund_amount": 2400, "workaround": "easy"}, 2),
]
POLICY_MIX = [("default", 6), ("red-status", 2), ("spark", 2), ("crisis", 1), ("growth-engine", 1), ("teamflow", 2)]


def is_loaded(session: Session) -> bool:
    """True when the database already holds accounts (demo or real)."""
    return (session.scalar(select(func.count()).select_from(Account)) or 0) > 0


def load_if_empty(session: Session, *, now: dt.datetime) -> str:
    """Load the demo dataset unless there are accounts already; returns a one-line summary."""
    if is_loaded(session):
        return "Demo data not loaded: the database already has accounts."
    counts = load(session, now=now)
    return (f"Demo data loaded: {counts['users']} team members, {counts['accounts']} accounts, "
            f"{counts['incidents']} incidents ({counts['open']} open).")


def load_team(session: Session, now: dt.datetime) -> dict[str, int]:
    """Create the demo team's users that are missing (random passwords, never shown); their ids by username."""
    ids = {}
    for username, name, role, zone in TEAM:
        existing = users.get_by_username(session, username)
        if existing is None:
            existing, _ = users.create_user(session, username=username, display_name=name, role=role,
                                            email=f"{username}@{EMAIL_DOMAIN}", time_zone=zone,
                                            actor=DEMO, now=now - dt.timedelta(days=HISTORY_DAYS + 30))
        ids[username] = existing.id
    return ids


def _accounts(session: Session, rng: random.Random, csm_ids: list[int], now: dt.datetime) -> list[Account]:
    tiers = ["enterprise"] * 10 + ["pro"] * 16 + ["basic"] * 14
    rng.shuffle(tiers)
    accounts = []
    for index, (name, tier) in enumerate(zip(ACCOUNT_NAMES, tiers, strict=True)):
        low, high = ACV[tier]
        domain = name.lower().replace(" & ", "-").replace(" ", "") + ".example"
        account = Account(
            name=name, tier=tier, annual_contract_value=Decimal(rng.randrange(low, high, 500)),
            renewal_date=(now + dt.timedelta(days=rng.randrange(10, 365))).date(),
            owner_id=csm_ids[index % len(csm_ids)], time_zone=rng.choice(ZONES),
            contract_terms={
                "response_commitment": {"enterprise": "1 hour, 24/7", "pro": "4 business hours",
                                        "basic": "next business day"}[tier],
                "service_credits": {"enterprise": "10% of the monthly fee per hour of outage beyond SLA",
                                    "pro": "5% of the monthly fee per breached incident",
                                    "basic": "none"}[tier],
            },
            created_at=now - dt.timedelta(days=HISTORY_DAYS + 60), updated_at=now,
        )
        first, last = rng.choice(["Ana", "Ben", "Chloe", "Diego", "Eva", "Farid", "Grace", "Hugo"]), \
            rng.choice(["Martin", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Dubois", "Silva"])
        account.contacts = [
            Contact(name=f"{first} {last}", role="Head of Operations", email=f"{first.lower()}@{domain}",
                    phone=f"+1-555-01{index:02d}", time_zone=account.time_zone, preferred_channel="phone",
                    is_primary=True),
            Contact(name="IT Service Desk", role="Technical contact", email=f"it@{domain}",
                    phone=f"+1-555-02{index:02d}", time_zone=account.time_zone, preferred_channel="email"),
        ]
        session.add(account)
        accounts.append(account)
    session.flush()
    return accounts


# A weighted choice: a tuple whose last item is its weight.
Weighted = TypeVar("Weighted", bound=tuple[Any, ...])


def _pick(rng: random.Random, weighted: Sequence[Weighted]) -> Weighted:
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def _incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:  # the demo just created it in this unit of work
        raise LookupError(f"incident {incident_id} is missing while the demo data loads")
    return incident


def _opened(session: Session, rng: random.Random, account: Account, detected: dt.datetime,
            now: dt.datetime) -> tuple[int, dict[str, dt.timedelta]]:
    title, answers, _ = _pick(rng, SCENARIOS)
    policy_name = _pick(rng, POLICY_MIX)[0]
    filled = dict(answers, customer=account.name, customer_tier=account.tier,
                  annual_contract_value=float(account.annual_contract_value))
    opened = incidents.open_incident(
        session, account_id=account.id, title=title, summary=f"{title} at {account.name}.",
        answers=Answers.model_validate(filled), policy_name=policy_name, actor=DEMO, now=now,
        detected_at=detected,
    )
    targets = opened.result.deadlines
    return opened.id, {k: v - detected for k, v in targets.items()}


def _delay(rng: random.Random, target: dt.timedelta | None, fallback: dt.timedelta, late_odds: float) -> dt.timedelta:
    base = target or fallback
    factor = rng.uniform(1.05, 2.5) if rng.random() < late_odds else rng.uniform(0.15, 0.95)
    return max(dt.timedelta(minutes=1), base * factor)


# The clock that times each milestone, and a typical delay when the policy sets none.
TIMING: dict[Milestone, tuple[str | None, dt.timedelta]] = {
    Milestone.ACKNOWLEDGED: ("acknowledge", dt.timedelta(minutes=30)),
    Milestone.CLIENT_NOTIFIED: ("client_notification", dt.timedelta(hours=1)),
    Milestone.MOBILIZED: ("mobilization", dt.timedelta(hours=1)),
    Milestone.MITIGATED: ("resolution", dt.timedelta(hours=4)),
    Milestone.RESOLVED: ("resolution", dt.timedelta(hours=24)),
    Milestone.CLOSED: (None, dt.timedelta(days=2)),
}
M = Milestone
HISTORY_PATH = [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED, M.RESOLVED, M.CLOSED]
# Open incidents in every open state: new, acknowledged, mobilised, workaround in place.
OPEN_PATHS = [[], [], [M.ACKNOWLEDGED], [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED],
              [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED], [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED],
              [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED],
              [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED, M.MITIGATED],
              [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED, M.MITIGATED], [M.ACKNOWLEDGED, M.MOBILIZED],
              [M.CLIENT_NOTIFIED], [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED]]


def _play(session: Session, rng: random.Random, incident_id: int, detected: dt.datetime,
          targets: dict[str, dt.timedelta], path: list[Milestone], now: dt.datetime,
          late_odds: float = 0.12) -> None:
    last = detected
    for milestone in path:
        clock, fallback = TIMING[milestone]
        base = targets.get(clock) if clock else None
        delay = _delay(rng, base, fallback, late_odds if clock else 0)
        start = last if milestone in (M.CLOSED, M.MITIGATED) else detected
        at = min(max(start + delay, last + dt.timedelta(minutes=1)), now)
        incidents.record_milestone(session, incident_id=incident_id, milestone=milestone, actor=DEMO,
                                   now=now, at=at, reason="from the incident log (demo data)")
        last = at
    resolved = last if M.RESOLVED in path else None
    required = _incident(session, incident_id).required_level
    if resolved and required:
        # Resolved incidents that needed a level reached it, mostly in time.
        delay = _delay(rng, targets.get("escalation"), dt.timedelta(hours=1), late_odds)
        at = min(detected + max(delay, dt.timedelta(minutes=1)), resolved - dt.timedelta(minutes=1))
        if at > detected:
            incidents.escalate(session, incident_id=incident_id, to_level=required, actor=DEMO, now=now, at=at,
                               reason="Needed decisions above the team's authority (demo data).")
            _respond(session, rng, incident_id, required, at, resolved, now, late_odds)


def _respond(session: Session, rng: random.Random, incident_id: int, level: str, escalated_at: dt.datetime,
             limit: dt.datetime, now: dt.datetime, late_odds: float) -> None:
    """The level the incident reached responds, mostly within its policy time, if that falls before `limit`."""
    incident = _incident(session, incident_id)
    policy = policy_of(incident)
    timing = policy.level(level).response
    target = timing.pick(incident.severity, incident.answers.get("customer_tier")) if timing else None
    if target is None:
        return
    at = escalated_at + _delay(rng, target, dt.timedelta(hours=1), late_odds)
    if at < min(limit, now):
        incidents.record_level_response(session, incident_id=incident_id, level=level, actor=DEMO, now=now, at=at,
                                        reason="from the incident log (demo data)")


def _escalate_and_reopen(session: Session, rng: random.Random, accounts: list[Account], now: dt.datetime) -> None:
    """Escalate some open incidents to the level they need, and reopen one the client still sees."""
    open_ids = session.scalars(select(Incident.id).where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
                               .where(Incident.required_level.is_not(None)).order_by(Incident.id)).all()
    for incident_id in open_ids[::2]:
        level = _incident(session, incident_id).required_level
        if level is None:  # the query keeps only incidents that need a level
            continue
        incidents.escalate(session, incident_id=incident_id, to_level=level, actor=DEMO, now=now,
                           reason="Needs decisions above the team's authority (demo data).")
        # Their response is not recorded yet: the board shows each level's response clock running.
    account = accounts[5]
    detected = now - dt.timedelta(hours=30)
    incident_id, targets = _opened(session, rng, account, detected, now)
    _play(session, rng, incident_id, detected, targets, [M.ACKNOWLEDGED, M.CLIENT_NOTIFIED, M.MOBILIZED, M.RESOLVED],
          now=now - dt.timedelta(hours=6))
    incidents.move_status(session, incident_id=incident_id, target=IncidentStatus.REOPENED, actor=DEMO,
                          now=now - dt.timedelta(hours=2),
                          reason="The client still sees failed exports after the fix (demo data).")


def _about_to_breach(session: Session, accounts: list[Account], owner_id: int, now: dt.datetime) -> None:
    """An incident opened minutes ago on `owner_id`'s account whose first alert falls due a minute from `now`.

    So a newcomer who starts the app sees the scheduler at work with nobody's page open: the owner's
    warning arrives in their inbox within one scheduler period, the breach a few minutes later.
    """
    account = next(a for a in accounts if a.owner_id == owner_id)
    answers = Answers.model_validate(dict(ABOUT_TO_BREACH_ANSWERS, customer=account.name,
                                          customer_tier=account.tier,
                                          annual_contract_value=float(account.annual_contract_value)))
    policy, _ = policy_store.load(session, ABOUT_TO_BREACH_POLICY)
    result = triage(answers, policy, now)
    warnings = [deadline - lead for clock, deadline in result.deadlines.items()
                if deadline is not None and (lead := policy.alerts.lead(clock, result.severity)) is not None]
    first = min(warnings, default=now + dt.timedelta(minutes=1))
    detected = now - (first - now) + dt.timedelta(minutes=1)
    incidents.open_incident(
        session, account_id=account.id, title="Checkout payments time out for every customer",
        summary="Payments page spins then fails since the last deploy (demo data).", answers=answers,
        policy_name=ABOUT_TO_BREACH_POLICY, actor=DEMO, now=now, detected_at=min(detected, now))


def _monthly_drill(session: Session, account: Account, lead_id: int, now: dt.datetime) -> None:
    """Last month's escalation drill, run and resolved: the playbooks ask for one every month.

    It shows a drill as the app keeps it: marked DRILL everywhere, out of every SLA figure, with the
    lead who ran it following it.
    """
    detected = now - DRILL_AGO
    answers = Answers.model_validate(dict(DRILL_ANSWERS, customer=account.name, customer_tier=account.tier,
                                          annual_contract_value=float(account.annual_contract_value)))
    opened = incidents.open_incident(
        session, account_id=account.id, title="Monthly escalation drill: checkout outage",
        summary="Exercise: a simulated checkout outage, paged up the escalation levels (demo data).",
        answers=answers, policy_name="default", actor=DEMO, now=now, detected_at=detected, is_drill=True)
    reason = "from the drill log (demo data)"
    for milestone, after in ((M.ACKNOWLEDGED, 4), (M.MOBILIZED, 12)):
        incidents.record_milestone(session, incident_id=opened.id, milestone=milestone, actor=DEMO, now=now,
                                   at=detected + dt.timedelta(minutes=after), reason=reason)
    level = _incident(session, opened.id).required_level or "L2"
    escalated = detected + dt.timedelta(minutes=20)
    incidents.escalate(session, incident_id=opened.id, to_level=level, actor=DEMO, now=now, at=escalated,
                       reason="Drill: practising the call to the next level (demo data).")
    incidents.record_level_response(session, incident_id=opened.id, level=level, actor=DEMO, now=now,
                                    at=escalated + dt.timedelta(minutes=9), reason=reason)
    incidents.record_milestone(session, incident_id=opened.id, milestone=M.RESOLVED, actor=DEMO, now=now,
                               at=detected + dt.timedelta(minutes=55), reason=reason)
    follow(session, opened.id, lead_id, DEMO, now)


# Last month's drill: held nine days ago, a stopped checkout under the default policy.
DRILL_AGO = dt.timedelta(days=9, hours=3)
DRILL_ANSWERS: dict[str, Any] = {"business_impact": "stopped", "payment_failure": True, "system_affected": "core",
                                 "workaround": "none"}

# The incident about to breach: a stopped business under SPARK (P0, the shortest clocks of the demo).
ABOUT_TO_BREACH_POLICY = "spark"
ABOUT_TO_BREACH_ANSWERS: dict[str, Any] = {"business_impact": "stopped"}


def load(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """Create the team, the accounts and the incidents; returns counts."""
    rng = random.Random(SEED)
    moment, now = now, now.replace(minute=0, second=0, microsecond=0)
    team = load_team(session, now)
    demo_oncall.load(session, team, now=now)  # a schedule per escalation level, outside contacts, a swap
    csm_ids = [team[u] for u, _, role, _ in TEAM if role == "csm"]
    accounts = _accounts(session, rng, csm_ids, now)
    # A few accounts have many incidents (repeat trouble), most have a few.
    weights = [8 if i % 9 == 0 else 1 for i in range(len(accounts))]
    total = 0
    day = now - dt.timedelta(days=HISTORY_DAYS)
    while day < now - dt.timedelta(days=3):
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
            account = rng.choices(accounts, weights=weights)[0]
            detected = day + dt.timedelta(minutes=rng.randrange(0, 24 * 60))
            incident_id, targets = _opened(session, rng, account, detected, now)
            path = list(HISTORY_PATH)
            if rng.random() < 0.25:
                path.insert(3, M.MITIGATED)
            _play(session, rng, incident_id, detected, targets, path, now=now)
            total += 1
        day += dt.timedelta(days=1)
    # The last three days: open incidents in every state, some already breached.
    for index, path in enumerate(OPEN_PATHS):
        account = accounts[index * 3 % len(accounts)]
        detected = now - dt.timedelta(minutes=rng.randrange(10, 60 * 60))
        incident_id, targets = _opened(session, rng, account, detected, now)
        _play(session, rng, incident_id, detected, targets, path, now=now, late_odds=0.4)
        total += 1
    _escalate_and_reopen(session, rng, accounts, now)
    # At the real moment of loading, not the hour the rest is built around: its alert is a minute away.
    _about_to_breach(session, accounts, team["priya"], moment)
    total += 1
    _monthly_drill(session, accounts[1], team["lena"], now)
    total += 1
    demo_communications.load(session, now=now)  # logged client messages, some updates overdue
    total += demo_outages.load(session, lead_id=team["marcus"], now=now)  # one outage, six accounts, status pages
    demo_health.load(session, now=now)  # health signals that trigger every early-warning rule
    signals.rebuild_account_health(session, now)  # the readings above bypass the flows that keep it
    demo_reports.load(session, now=now)  # reports, post-mortems, reviews; last: it empties the session
    total += 1
    open_count = session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None)))
    return {"users": len(TEAM), "accounts": len(accounts), "incidents": total, "open": open_count or 0}
