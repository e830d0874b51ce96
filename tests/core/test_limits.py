"""The one table of text limits, and every write in core that holds text to it (SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.account import service as account_service
from core.account.service import AccountError, Editor
from core.incident import assignments
from core.incident import flows as incidents
from core.incident.flows import IncidentError
from core.incident.lifecycle import Milestone
from core.limits import EMAIL, FREE_TEXT, LIMITS, NAME, TITLE, check_text, text_problem
from core.people import users
from core.people.access import Role
from core.people.users import SYSTEM, UserError
from core.report import flows as reports
from core.report.lifecycle import ReportError
from core.triage.rules import AnswersError, parse_answers
from db.engine import read_scope, session_scope
from db.models import Account, ActionItem, Incident, IncidentReport, TimelineEvent, User
from tests.conftest import NOW
from tests.core.test_reports import resolved_incident, setup_people


def test_the_table_is_the_issues():
    assert [(limit.kind, limit.max_chars, limit.single_line) for limit in LIMITS[:4]] == [
        ("title", 200, True), ("name", 120, True), ("email address", 254, True), ("free text", 10_000, False)]


@pytest.mark.parametrize(
    "value, limit, problem",
    [
        ("x" * 200, TITLE, None),
        ("x" * 201, TITLE, "is 201 characters long; the limit is 200"),
        ("x" * 120, NAME, None),
        ("x" * 121, NAME, "is 121 characters long; the limit is 120"),
        ("a@" + "b" * 252, EMAIL, None),
        ("a@" + "b" * 253, EMAIL, "is 255 characters long; the limit is 254"),
        ("x" * 10_000, FREE_TEXT, None),
        ("x" * 10_001, FREE_TEXT, "is 10,001 characters long; the limit is 10,000"),
        ("two\nlines", TITLE, "must be on one line: remove the line breaks"),
        ("carriage\rreturn", NAME, "must be on one line: remove the line breaks"),
        ("two\nlines", FREE_TEXT, None),
        ("nul\x00", FREE_TEXT, "contains a NUL character (\\0): remove it"),
        ("nul\x00", NAME, "contains a NUL character (\\0): remove it"),
        ("", TITLE, None),
    ],
)
def test_text_problem(value, limit, problem):
    assert text_problem(value, limit) == problem


def test_check_text_strips_and_names_the_field():
    assert check_text("  Payments down \n", TITLE, "The title") == "Payments down"
    with pytest.raises(IncidentError, match=r"^The title is 600 characters long; the limit is 200\.$"):
        check_text("x" * 600, TITLE, "The title", IncidentError)


# --------------------------------------------------------------------------
# Every write refuses what breaks a limit, and stores nothing (NUL would fail on PostgreSQL).

LONG_TITLE, LONG_NAME, LONG_EMAIL, LONG_TEXT = "t" * 600, "n" * 121, "e@" + "x" * 253, "f" * 10_001
PAST = NOW - dt.timedelta(hours=1)


def _open(s, ctx, **override):
    data = {"title": "Payments down", "summary": "Customers cannot pay.", **override}
    incidents.open_incident(s, account_id=ctx["account"], answers=parse_answers({}), policy_name="red-status",
                            actor=SYSTEM, now=NOW, **data)


def _account(**override):
    return account_service.parse_account({"name": "Initech", "tier": "pro", "annual_contract_value": "10", **override})


WRITES = [
    ("incident title too long", lambda s, c: _open(s, c, title=LONG_TITLE), IncidentError,
     "The title is 600 characters long; the limit is 200."),
    ("incident title on two lines", lambda s, c: _open(s, c, title="Payments\ndown"), IncidentError,
     "The title must be on one line"),
    ("incident title with NUL", lambda s, c: _open(s, c, title="Payments\x00down"), IncidentError,
     "The title contains a NUL character"),
    ("incident summary too long", lambda s, c: _open(s, c, summary=LONG_TEXT), IncidentError,
     "The summary is 10,001 characters long; the limit is 10,000."),
    ("incident summary with NUL", lambda s, c: _open(s, c, summary="a\x00"), IncidentError,
     "The summary contains a NUL character"),
    ("note with NUL", lambda s, c: incidents.add_note(s, incident_id=c["incident"], text="ok\x00", actor=SYSTEM,
                                                      now=NOW), IncidentError, "The note contains a NUL character"),
    ("note too long", lambda s, c: incidents.add_note(s, incident_id=c["incident"], text=LONG_TEXT, actor=SYSTEM,
                                                      now=NOW), IncidentError, "The note is 10,001 characters long"),
    ("action item title too long", lambda s, c: assignments.add_action_item(
        s, incident_id=c["incident"], title=LONG_TITLE, owner_id=None, due_at=None, actor=SYSTEM, now=NOW),
     IncidentError, "The action item is 600 characters long; the limit is 200."),
    ("severity reason with NUL", lambda s, c: incidents.change_severity(
        s, incident_id=c["incident"], severity="P3", reason="calmer\x00", actor=SYSTEM, now=NOW),
     IncidentError, "The reason contains a NUL character"),
    ("escalation reason too long", lambda s, c: incidents.escalate(
        s, incident_id=c["incident"], to_level="L4", reason=LONG_TEXT, actor=SYSTEM, now=NOW),
     IncidentError, "The reason is 10,001 characters long"),
    ("milestone reason with NUL", lambda s, c: incidents.record_milestone(
        s, incident_id=c["incident"], milestone=Milestone.ACKNOWLEDGED, actor=SYSTEM, now=NOW, at=NOW,
        reason="late\x00"),
     IncidentError, "The reason contains a NUL character"),
    ("user name too long", lambda s, c: users.create_user(
        s, username="newbie", display_name=LONG_NAME, role="csm", actor=SYSTEM, now=NOW),
     UserError, "The name is 121 characters long; the limit is 120."),
    ("user name on two lines", lambda s, c: users.create_user(
        s, username="newbie", display_name="Ana\nMartin", role="csm", actor=SYSTEM, now=NOW),
     UserError, "The name must be on one line"),
    ("user email too long", lambda s, c: users.create_user(
        s, username="newbie", display_name="Ana", email=LONG_EMAIL, role="csm", actor=SYSTEM, now=NOW),
     UserError, "The email address is 255 characters long; the limit is 254."),
    ("profile name with NUL", lambda s, c: users.update_profile(
        s, user_id=c["csm1"], display_name="Ana\x00", email="", time_zone="UTC", now=NOW),
     UserError, "The name contains a NUL character"),
    ("account name too long", lambda s, c: account_service.create_account(
        s, data=_account(name=LONG_NAME), editor=c["lead"], now=NOW),
     AccountError, "name: is 121 characters long; the limit is 120"),
    ("account name with NUL", lambda s, c: account_service.create_account(
        s, data=_account(name="Init\x00ech"), editor=c["lead"], now=NOW),
     AccountError, "name: contains a NUL character"),
    ("contact email too long", lambda s, c: account_service.create_account(
        s, data=_account(contacts=[{"name": "Ana", "email": LONG_EMAIL}]), editor=c["lead"], now=NOW),
     AccountError, "contacts › 1 › email: is 255 characters long; the limit is 254"),
    ("report section with NUL", lambda s, c: reports.save_sections(
        s, incident_id=c["resolved"], kind="report", sections={"impact": "Down\x00"},
        actor=c["lead"].actor, now=NOW, expected_version=c["report_version"]),
     ReportError, "Impact assessment contains a NUL character"),
    ("report section too long", lambda s, c: reports.save_sections(
        s, incident_id=c["resolved"], kind="report", sections={"impact": LONG_TEXT},
        actor=c["lead"].actor, now=NOW, expected_version=c["report_version"]),
     ReportError, "Impact assessment is 10,001 characters long; the limit is 10,000."),
    ("post-mortem action too long", lambda s, c: reports.add_postmortem_action(
        s, incident_id=c["resolved"], title=LONG_TITLE, owner_id=c["csm1"], due_at=NOW,
        actor=c["lead"].actor, now=NOW),
     ReportError, "The action item is 600 characters long; the limit is 200."),
]


def _rows(engine) -> dict[str, int]:
    with read_scope(engine) as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (Incident, TimelineEvent, ActionItem, User, Account, IncidentReport)}


@pytest.fixture
def context(engine):
    ids = setup_people(engine)
    resolved = resolved_incident(engine)
    with session_scope(engine) as s:
        account = s.scalar(select(Account.id).where(Account.name == "Acme Corp"))
        opened = incidents.open_incident(s, account_id=account, title="Open one", summary="", policy_name="red-status",
                                         answers=parse_answers({"business_impact": "major"}), actor=SYSTEM,
                                         now=PAST, detected_at=PAST)
        report = reports.save_sections(s, incident_id=resolved, kind="report", sections={},
                                       actor=Editor(ids["lead1"], "lead1", Role.LEAD).actor, now=NOW,
                                       expected_version=reports.UNSAVED_VERSION)
        version = report.version
    return {"account": account, "incident": opened.id, "resolved": resolved, "report_version": version,
            "csm1": ids["csm1"], "lead": Editor(ids["lead1"], "lead1", Role.LEAD)}


@pytest.mark.parametrize("case, write, error, message", WRITES, ids=[w[0] for w in WRITES])
def test_writes_refuse_text_beyond_the_limits_and_store_nothing(engine, context, case, write, error, message):
    before = _rows(engine)
    with pytest.raises(error) as raised, session_scope(engine) as s:
        write(s, context)
    assert message in str(raised.value)
    assert _rows(engine) == before


def test_limits_corpus_size():
    print(f"text limits: {len(WRITES)} writes checked against the table")
    assert len(WRITES) >= 20


def test_triage_answers_hold_the_customer_to_one_line():
    with pytest.raises(AnswersError, match="field 'customer': must be on one line"):
        parse_answers({"customer": "Acme\nCorp"})
    assert parse_answers({"customer": "Acme Corp"}).customer == "Acme Corp"


def test_text_at_the_limits_is_stored_on_both_databases(engine, context):
    with session_scope(engine) as s:
        _open(s, context, title="T" * 200, summary="S" * 10_000)
        users.create_user(s, username="longname", display_name="N" * 120, email="a@" + "b" * 248 + ".com", role="csm",
                          actor=SYSTEM, now=NOW)
        account_service.create_account(s, data=_account(name="A" * 120), editor=context["lead"], now=NOW)
    with read_scope(engine) as s:
        assert s.scalar(select(func.max(func.length(Incident.title)))) == 200
        assert s.scalar(select(User.display_name).where(User.username == "longname")) == "N" * 120
        assert s.scalar(select(func.count()).where(Account.name == "A" * 120)) == 1

