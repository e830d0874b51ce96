"""A database where every free-text field holds hostile Markdown, for the literal-text page test.

Everything is written through the real core functions (as the pages write
it), except the user accounts, which are created with hostile display names
and emails. Each field gets its own tag (see tests.literal_text.hostile).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import yaml

from core.account import service as account_service
from core.account import signals
from core.account.service import Editor
from core.communication import flows as communications
from core.incident import assignments
from core.incident import flows as incidents
from core.incident.lifecycle import Milestone
from core.oncall import contacts as oncall_contacts
from core.oncall import schedules as oncall
from core.outage import flows as outage_flows
from core.people import users
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.report import flows as reports
from core.report.lifecycle import ReportKind
from core.report.sections import SECTIONS
from core.triage.rules import Answers
from db.engine import session_scope
from tests.conftest import TEST_PASSWORD
from tests.literal_text import hostile, hostile_short

POLICY = "red-status"  # has early warnings, reviews and a second escalation level

# Every field the fixture seeds, by tag.
FIELDS = (
    "namecsm", "namelead", "nameadmin", "namereader", "emailcsm",
    "account", "response", "credits", "cname", "crole", "contactemail",
    "policytitle", "policysource", "sevlabel", "sevdef", "rulereason", "rulesection", "defaultreason",
    "levelname", "levelreason", "reviewtitle", "warningtitle", "warningsection",
    "opentitle", "opensummary", "note", "actionitem", "sevreason", "pausereason", "escreason", "msreason",
    "resolvedtitle", "resolvedsummary", "subject", "body", "recipient", "callee",
    "sectiontimeline", "sectionimpact", "sectionrootcause", "sectionresolution", "sectionclientmitigation",
    "sectionprevention", "sectionsummary", "sectionwentwell", "sectionimprove", "pmaction",
    "oncalldesc", "coverreason", "extcontact",
    "outagetitle", "outageimpact", "outagesummary",
)


def hostile_email(tag: str) -> str:
    """A hostile string that still passes the email check (one @, no space, a dot after it)."""
    return f"**B-{tag}**![px-{tag}](http://t.example/p)@e.example"


def hostile_recipient(tag: str) -> str:
    """A hostile display name in front of a valid address."""
    return f'"**B-{tag}** ![px-{tag}](http://t.example/p) [s-{tag}](http://e.example) :red[R-{tag}]" <r@e.example>'


@dataclass(frozen=True)
class World:
    """What the pages are opened with."""

    users: dict[str, int]
    account_id: int
    open_id: int
    resolved_id: int
    outage_id: int = 0


def _user(session, username: str, role: str, tag: str, now: dt.datetime) -> int:
    user, _ = users.create_user(session, username=username, display_name=hostile_short(f"name{tag}"), role=role,
                                email=hostile_email(f"email{tag}") if tag == "csm" else f"{username}@example.com",
                                password=TEST_PASSWORD, actor=users.SYSTEM, now=now)
    user.must_change_password = False
    return user.id


def _hostile_policy(text: str) -> str:
    data = yaml.safe_load(text)
    data["title"], data["source"] = hostile("policytitle"), hostile("policysource")
    for severity in data["severities"]:
        severity["label"], severity["definition"] = hostile("sevlabel"), hostile("sevdef")
    data["default"]["reason"] = hostile("defaultreason")
    for rule in data["rules"]:
        rule["reason"], rule["section"] = hostile("rulereason"), hostile("rulesection")
    for level in data["escalation_levels"]:
        level["name"] = hostile("levelname")
        for trigger in level.get("triggers", []):
            trigger["reason"] = hostile("levelreason")
    for review in data["reviews"]:
        review["title"] = hostile("reviewtitle")
    for warning in data["early_warning"]:
        warning["title"], warning["section"] = hostile("warningtitle"), hostile("warningsection")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def build(engine) -> World:
    """Seed users, a hostile policy (the team default), an account with contacts, two incidents, reports, a reading."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        ids = {role: _user(s, f"{role}1", role, role, now) for role in ("csm", "lead", "admin")}
        # A CSM who does not own the account: reads the incident and the report without editing.
        ids["reader"] = _user(s, "csm2", "csm", "reader", now)
        policy_store.install_presets(s, now=now)
        policy_store.save_version(s, name=POLICY, yaml_text=_hostile_policy(policy_store.latest_version(s, POLICY)
                                                                            .yaml_text),
                                  actor_id=ids["admin"], actor_name="admin1", now=now)
        policy_store.set_default(s, name=POLICY, actor_id=ids["admin"], actor_name="admin1", now=now)
    lead = Editor(ids["lead"], "lead1", Role.LEAD)
    with session_scope(engine) as s:
        account_id = account_service.create_account(s, data=account_service.parse_account({
            "name": hostile_short("account"), "tier": "enterprise", "annual_contract_value": Decimal(120000),
            "owner_id": ids["csm"], "time_zone": "Europe/Paris",
            "contract_terms": {"response_commitment": hostile("response"), "service_credits": hostile("credits")},
            "contacts": [{"name": hostile_short("cname"), "role": hostile_short("crole"),
                          "email": hostile_email("contactemail"), "is_primary": True}],
        }), editor=lead, now=now)
        signals.record(s, account_id=account_id, reading=signals.parse_reading(
            {"metric": "csat", "observed_at": now - dt.timedelta(hours=1), "value": 5.0}),
            source="form", editor=lead, now=now)
    csm = Actor(ids["csm"], "csm1", Role.CSM)
    answers = Answers(complete_outage=True, outage_minutes=90, csat=5)
    start = now - dt.timedelta(hours=5)
    with session_scope(engine) as s:
        resolved = incidents.open_incident(
            s, account_id=account_id, title=hostile("resolvedtitle"), summary=hostile("resolvedsummary"),
            answers=answers, policy_name=POLICY, actor=csm, now=start, detected_at=start, owner_id=ids["csm"]).id
        incidents.record_milestone(s, incident_id=resolved, milestone=Milestone.RESOLVED, actor=csm, now=now,
                                   at=now - dt.timedelta(hours=2), reason=hostile("msreason"))
    with session_scope(engine) as s:
        # Resolving scheduled the reviews; the first save stores each document.
        for kind in ReportKind:
            reports.save_sections(s, incident_id=resolved, kind=kind, actor=csm, now=now,
                                  expected_version=reports.UNSAVED_VERSION,
                                  sections={sec.key: hostile("section" + sec.key.replace("_", ""))
                                            + "\nsecond line"
                                            for sec in SECTIONS[kind]})
        reports.add_postmortem_action(s, incident_id=resolved, title=hostile("pmaction"), owner_id=ids["csm"],
                                      due_at=now - dt.timedelta(days=1),
                                      actor=Actor(ids["lead"], "lead1", Role.LEAD), now=now)
    with session_scope(engine) as s:
        opened = incidents.open_incident(
            s, account_id=account_id, title=hostile("opentitle"), summary=hostile("opensummary") + "\nline two",
            answers=answers, policy_name=POLICY, actor=csm, now=now - dt.timedelta(minutes=30),
            detected_at=now - dt.timedelta(minutes=30), owner_id=ids["csm"]).id
        incidents.add_note(s, incident_id=opened, text=hostile("note"), actor=csm, now=now)
        assignments.add_action_item(s, incident_id=opened, title=hostile("actionitem"), owner_id=ids["csm"],
                                    due_at=now - dt.timedelta(minutes=5), actor=csm, now=now)
        incidents.change_severity(s, incident_id=opened, severity="P1", reason=hostile("sevreason"), actor=csm,
                                  now=now)
        incidents.pause_clocks(s, incident_id=opened, reason=hostile("pausereason"), actor=csm, now=now)
        incidents.resume_clocks(s, incident_id=opened, actor=csm, now=now)
        incidents.escalate(s, incident_id=opened, to_level="L2", reason=hostile("escreason"), actor=csm, now=now)
        assignments.assign_role(s, incident_id=opened, role="incident_commander", user_id=ids["lead"], actor=csm,
                                now=now)
        for channel, recipients in (("email", [hostile_recipient("recipient")]), ("phone", [hostile("callee")])):
            communications.mark_sent(s, incident_id=opened, expected_version=None, channel=channel,
                                     recipients=recipients, actor=csm, now=now,
                                     prepared=communications.PreparedMessage(
                                         "status_update", None, channel, "client",
                                         hostile("subject") if channel == "email" else "", hostile("body"), "", ()))
    with session_scope(engine) as s:
        # A platform outage the open incident is linked to (the outages page shows both).
        outage_id = outage_flows.open_outage(
            s, title=hostile_short("outagetitle"), client_impact=hostile("outageimpact"),
            summary=hostile("outagesummary"), severity="P1", started_at=now - dt.timedelta(minutes=40), actor=csm,
            now=now, incident_ids=[opened]).id
    _on_call(engine, ids, now)
    return World(ids, account_id, opened, resolved, outage_id)


def _on_call(engine, ids: dict[str, int], now: dt.datetime) -> None:
    """An L1 schedule of csm1 and lead1 (admin1 its manager), an outside contact on layer 2, a cover with a reason."""
    admin = Actor(ids["admin"], "admin1", Role.ADMIN)
    with session_scope(engine) as s:
        contact = oncall_contacts.add_contact(s, name=hostile_short("extcontact"), email="ext@example.com",
                                              actor=admin, now=now)
        schedule = oncall.create_schedule(s, name="L1 on call", level="L1", time_zone="UTC",
                                          manager=f"u:{ids['admin']}", description=hostile("oncalldesc"),
                                          actor=admin, now=now)
        start = (now - dt.timedelta(days=3)).strftime("%Y-%m-%dT00:00")
        oncall.add_layer(s, schedule.id, name="Primary", rotation_kind="daily", start_local=start, time_zone="UTC",
                         members=[f"u:{ids['csm']}", f"u:{ids['lead']}"], actor=admin, now=now)
        oncall.add_layer(s, schedule.id, name="Secondary", rotation_kind="weekly", start_local=start,
                         time_zone="UTC", members=[f"c:{contact.id}"], actor=admin, now=now)
        oncall.add_override(s, schedule.id, position=1, who=f"u:{ids['admin']}", starts_at=now + dt.timedelta(days=1),
                            ends_at=now + dt.timedelta(days=1, hours=4), reason=hostile("coverreason"), actor=admin,
                            now=now)
