"""Account editing: validated input, create, edit (with contacts), archive and restore, and who may do it.

CSMs see and edit the accounts they own (but cannot hand them to someone
else); leads see, create and edit every account; admins also archive,
restore and import. Every write runs in the caller's unit of work, locks the
account row, refuses a stale edit with `AccountConflict` (optimistic
concurrency on the `version` column), and writes the audit log. Archived
accounts keep their incidents and signals; lists and triage hide them. This
module never imports streamlit and never reads the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from core import audit
from core.account.access import may_work_on, works_on_all_accounts
from core.limits import ContractTermText, EmailText, NameText
from core.people.access import Role
from core.people.users import EMAIL_PATTERN, Actor
from core.sla.clocks import CLOCK_LABELS, compute_clocks
from core.sla.facts import facts_of, policy_of
from core.vocabulary import CLOCKS, TIERS, ClockState, Tier
from core.zones import UTC_NAME, check_zone_name
from db.models import Account, AuditEntry, Communication, Contact, Incident, SlaPause, User
from db.rows import get_for_update

CHANNELS: tuple[str, ...] = ("email", "phone", "sms", "chat")
_PHONE = re.compile(r"^\+?[0-9 ().-]{5,40}$")


class AccountError(ValueError):
    """A change to an account that cannot be made; the message says what to fix."""


class AccountForbidden(AccountError, PermissionError):
    """This person may not make the change; the message says who may (the owner, leads, admins)."""


class AccountConflict(AccountError):
    """Someone saved the account since it was loaded; `changes` lists their recent changes."""

    def __init__(self, message: str, changes: list[str]):
        super().__init__(message)
        self.changes = changes


@dataclass(frozen=True)
class Editor:
    """Who is changing an account: their id, name for the audit log, and role."""

    id: int | None
    name: str
    role: Role

    @property
    def actor(self) -> Actor:
        """The same person as the actor of other writes, with their team role (core decides what it allows)."""
        return Actor(self.id, self.name, self.role)


def _zone(value: str) -> str:
    # An empty zone means UTC; any other name goes through the one zone check (core.zones).
    return check_zone_name(value.strip() or UTC_NAME)


class ContactData(TypedDict):
    """A stored contact as plain values: the fields of ContactInput."""

    name: str
    role: str
    email: str
    phone: str
    time_zone: str
    preferred_channel: str
    is_primary: bool


class ContactInput(BaseModel):
    """A contact at the account, as the form or a CSV row gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: NameText = Field(min_length=1)
    role: NameText = ""
    email: EmailText = ""
    phone: str = Field(default="", max_length=40)
    time_zone: str = "UTC"
    preferred_channel: Literal["email", "phone", "sms", "chat"] = "email"
    is_primary: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an email address (name@company.com)")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and not _PHONE.match(value):
            raise ValueError(f"{value!r} is not a phone number: digits, spaces, + ( ) - . only")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return _zone(value)


class ContractTerms(BaseModel):
    """What the contract promises: response commitments and service credits."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    response_commitment: ContractTermText = ""
    service_credits: ContractTermText = ""


class AccountInput(BaseModel):
    """An account as the form or a CSV row gives it, validated."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: NameText = Field(min_length=1)
    tier: Tier
    annual_contract_value: Decimal = Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    renewal_date: dt.date | None = None
    owner_id: int | None = None
    time_zone: str = "UTC"
    contract_terms: ContractTerms = ContractTerms()
    contacts: list[ContactInput] = []

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("contacts")
    @classmethod
    def _one_primary(cls, value: list[ContactInput]) -> list[ContactInput]:
        if sum(c.is_primary for c in value) > 1:
            raise ValueError("mark at most one contact as primary")
        return value


def describe_errors(exc: ValidationError, subject: str = "account") -> str:
    """The validation problems, one per line, each naming its field in words (or `subject`)."""
    lines = []
    for error in exc.errors(include_url=False):
        where = " › ".join(str(p + 1) if isinstance(p, int) else str(p).replace("_", " ") for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed; use {error['ctx']['expected']}"
        elif error["type"] == "missing" or (error["type"] == "string_too_short" and error["ctx"]["min_length"] == 1):
            message = "is required"
        lines.append(f"{where or subject}: {message}")
    return "\n".join(lines)


def parse_account(data: dict[str, Any]) -> AccountInput:
    """Validate account input; AccountError listing every problem when it is wrong."""
    try:
        return AccountInput.model_validate(data)
    except ValidationError as exc:
        raise AccountError(describe_errors(exc)) from None


# --------------------------------------------------------------------------
# Who may do what.


def may_see(editor: Editor, owner_id: int | None) -> bool:
    """CSMs see their own accounts; leads and admins every account."""
    return may_work_on(editor.role, editor.id or 0, owner_id)


def may_edit(editor: Editor, owner_id: int | None) -> bool:
    """Editing follows seeing: own accounts for a CSM, all for leads and admins."""
    return may_see(editor, owner_id)


def may_create(editor: Editor) -> bool:
    """Leads and admins create accounts."""
    return works_on_all_accounts(editor.role)


def may_archive(editor: Editor) -> bool:
    """Only admins archive, restore and import accounts."""
    return editor.role is Role.ADMIN


def check_may_edit(editor: Editor, account: Account, what: str) -> None:
    """AccountForbidden, saying who may, unless the editor may change this account (`what`: the change)."""
    if not may_edit(editor, account.owner_id):
        raise AccountForbidden(f"Only the account's owner, a lead or an admin may {what} {account.name}.")


# --------------------------------------------------------------------------
# Writes.


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise AccountError(f"owner: user {owner_id} does not exist or is disabled; choose an active team member")


def _check_name_free(session: Session, name: str, account_id: int | None) -> None:
    stmt = select(Account.id).where(func.lower(Account.name) == name.lower())
    if account_id is not None:
        stmt = stmt.where(Account.id != account_id)
    if session.scalar(stmt) is not None:
        raise AccountError(f"name: an account named {name!r} already exists; choose another name")


def _snapshot(account: Account) -> dict[str, Any]:
    return {
        "name": account.name, "tier": account.tier,
        "annual_contract_value": f"{Decimal(account.annual_contract_value):.2f}",
        "renewal_date": account.renewal_date.isoformat() if account.renewal_date else None,
        "owner_id": account.owner_id, "time_zone": account.time_zone, "contract_terms": dict(account.contract_terms),
        "contacts": [_contact_data(c) for c in account.contacts],
    }


def _contact_data(contact: Contact) -> ContactData:
    return ContactData(name=contact.name, role=contact.role, email=contact.email, phone=contact.phone,
                       time_zone=contact.time_zone, preferred_channel=contact.preferred_channel,
                       is_primary=contact.is_primary)


def _apply(account: Account, data: AccountInput) -> None:
    account.name = data.name
    account.tier = data.tier
    account.annual_contract_value = data.annual_contract_value
    account.renewal_date = data.renewal_date
    account.owner_id = data.owner_id
    account.time_zone = data.time_zone
    account.contract_terms = data.contract_terms.model_dump()
    current = [_contact_data(c) for c in account.contacts]
    wanted = [c.model_dump() for c in data.contacts]
    if current != wanted:
        account.contacts = [Contact(**c) for c in wanted]


def create_account(session: Session, *, data: AccountInput, editor: Editor, now: dt.datetime) -> int:
    """Create an account (leads and admins); returns its id."""
    if not may_create(editor):
        raise AccountForbidden("Only a lead or an admin can create accounts.")
    _check_name_free(session, data.name, None)
    _check_owner(session, data.owner_id)
    account = Account(created_at=now, updated_at=now, contract_terms={})
    _apply(account, data)
    session.add(account)
    session.flush()
    audit.record(session, actor_id=editor.id, actor_name=editor.name, entity_type="account", entity_id=account.id,
                 action="created", changes={k: [None, v] for k, v in _snapshot(account).items()}, at=now)
    return account.id


def lock(session: Session, account_id: int, expected_version: int | None) -> Account:
    """The account row, locked; AccountConflict when it changed since `expected_version`."""
    account = get_for_update(session, Account, account_id)
    if account is None:
        raise AccountError(f"Account {account_id} does not exist.")
    if expected_version is not None and account.version != expected_version:
        raise AccountConflict(
            f"{account.name} was changed by someone else while you were editing it (you had version "
            f"{expected_version}, it is now {account.version}). Nothing of yours was saved; your input is "
            "still in the form: review their change below, then save again.",
            recent_changes(session, account_id),
        )
    return account


def recent_changes(session: Session, account_id: int, limit: int = 10) -> list[str]:
    """The latest audit entries of an account, newest first, as lines."""
    stmt = (select(AuditEntry).where(AuditEntry.entity_type == "account", AuditEntry.entity_id == str(account_id))
            .order_by(AuditEntry.id.desc()).limit(limit))
    return [f"{e.at:%Y-%m-%d %H:%M} UTC {e.actor_name}: {e.action} {e.changes}" for e in session.scalars(stmt)]


def update_account(session: Session, *, account_id: int, data: AccountInput, expected_version: int,
                   editor: Editor, now: dt.datetime) -> Account:
    """Save an edit of the account and its contacts, refusing a stale version or a forbidden change."""
    account = lock(session, account_id, expected_version)
    check_may_edit(editor, account, "edit")
    if data.owner_id != account.owner_id and not works_on_all_accounts(editor.role):
        raise AccountForbidden("Only a lead or an admin can hand an account to another owner.")
    if account.archived_at is not None:
        raise AccountError(f"{account.name} is archived; an admin must restore it before it can be edited.")
    _check_name_free(session, data.name, account_id)
    if data.owner_id != account.owner_id:
        _check_owner(session, data.owner_id)
    before = _snapshot(account)
    _apply(account, data)
    changes = audit.field_changes(before, _snapshot(account))
    if not changes:
        return account
    account.updated_at = now
    flag_modified(account, "updated_at")  # an UPDATE (and a new version) even when only contacts changed
    session.flush()
    audit.record(session, actor_id=editor.id, actor_name=editor.name, entity_type="account", entity_id=account_id,
                 action="edited", changes=changes, at=now)
    return account


def set_archived(session: Session, *, account_id: int, archived: bool, expected_version: int, editor: Editor,
                 now: dt.datetime) -> Account:
    """Archive (hide from lists and triage, keep history) or restore an account; admins only."""
    if not may_archive(editor):
        raise AccountForbidden("Only an admin can archive or restore accounts.")
    account = lock(session, account_id, expected_version)
    if (account.archived_at is not None) == archived:
        raise AccountError(f"{account.name} is already {'archived' if archived else 'active'}.")
    before = account.archived_at
    account.archived_at = now if archived else None
    account.updated_at = now
    session.flush()
    audit.record(session, actor_id=editor.id, actor_name=editor.name, entity_type="account", entity_id=account_id,
                 action="archived" if archived else "restored", changes={"archived_at": [before, account.archived_at]},
                 at=now)
    return account


# --------------------------------------------------------------------------
# Reads.


@dataclass(frozen=True)
class AccountSummary:
    """One line of the accounts list."""

    id: int
    name: str
    tier: str
    annual_contract_value: Decimal
    renewal_date: dt.date | None
    owner_id: int | None
    owner: str
    archived: bool
    contacts: int


def list_accounts(session: Session, editor: Editor, *, include_archived: bool = False) -> list[AccountSummary]:
    """The accounts the editor may see, by name; archived ones only when asked (and for admins)."""
    # Columns, not Account objects: Home and Account health list every visible account on each render,
    # and loading 400 accounts with their contacts and contract terms took longer than the rest of Home.
    contacts = select(func.count(Contact.id)).where(Contact.account_id == Account.id).scalar_subquery()
    stmt = (select(Account.id, Account.name, Account.tier, Account.annual_contract_value, Account.renewal_date,
                   Account.owner_id, func.coalesce(User.display_name, "unassigned"), Account.archived_at.is_not(None),
                   contacts)
            .outerjoin(User, User.id == Account.owner_id).order_by(Account.name))
    if not (include_archived and may_archive(editor)):
        stmt = stmt.where(Account.archived_at.is_(None))
    if not works_on_all_accounts(editor.role):
        stmt = stmt.where(Account.owner_id == editor.id)
    return [AccountSummary(i, name, tier, value, renewal, owner_id, owner, bool(archived), count)
            for i, name, tier, value, renewal, owner_id, owner, archived, count in session.execute(stmt)]


def form_data(account: Account) -> dict[str, Any]:
    """The account as AccountInput data, to fill an edit form."""
    return AccountInput(
        name=account.name, tier=account.tier if account.tier in TIERS else "basic",
        annual_contract_value=account.annual_contract_value, renewal_date=account.renewal_date,
        owner_id=account.owner_id, time_zone=account.time_zone,
        contract_terms=ContractTerms(**{k: str(v) for k, v in (account.contract_terms or {}).items()
                                        if k in ContractTerms.model_fields}),
        contacts=[ContactInput(**_contact_data(c)) for c in account.contacts],
    ).model_dump()


def owners(session: Session) -> list[tuple[int, str]]:
    """Active team members an account can be given to, as (id, name)."""
    stmt = select(User.id, User.display_name).where(User.is_active.is_(True)).order_by(User.display_name)
    return [(row[0], row[1]) for row in session.execute(stmt)]


# --------------------------------------------------------------------------
# The account page's read model.

# The account page looks at this many of the latest incidents: enough for a trend, bounded for big accounts.
INCIDENT_LIMIT = 200


@dataclass(frozen=True)
class AccountIncident:
    """One incident of the account, as its page lists it."""

    id: int
    title: str
    severity: str
    red_status: bool
    status: str
    detected_at: dt.datetime
    # An exercise: listed, marked, and left out of the account's SLA attainment.
    is_drill: bool = False


@dataclass(frozen=True)
class ClockAttainment:
    """How one SLA clock did across the account's incidents."""

    clock: str
    label: str
    met: int
    breached: int
    running: int


class AccountMessage(TypedDict):
    """One message sent to the client, as the account page lists it."""

    at: dt.datetime
    incident: int
    channel: str
    subject: str
    to: str
    by: str


@dataclass(frozen=True)
class AccountView:
    """Everything the account page shows, as plain values."""

    id: int
    version: int
    name: str
    tier: str
    annual_contract_value: Decimal
    renewal_date: dt.date | None
    owner_id: int | None
    owner: str
    time_zone: str
    archived_at: dt.datetime | None
    contract_terms: dict[str, Any]
    contacts: list[ContactData]
    form: dict[str, Any]
    incidents: list[AccountIncident]
    incident_total: int
    attainment: list[ClockAttainment]
    communications: list[AccountMessage]


def sla_attainment(session: Session, incidents: list[Incident], now: dt.datetime) -> list[ClockAttainment]:
    """Met, breached and still-running counts per clock over these incident rows, computed by core.sla.clocks."""
    ids = [i.id for i in incidents]
    pauses: dict[int, list[SlaPause]] = {}
    if ids:
        stmt = select(SlaPause).where(SlaPause.incident_id.in_(ids)).order_by(SlaPause.started_at)
        for pause in session.scalars(stmt):
            pauses.setdefault(pause.incident_id, []).append(pause)
    counts: dict[str, dict[str, int]] = {}
    for incident in incidents:
        for clock in compute_clocks(facts_of(incident, pauses.get(incident.id)), policy_of(incident), now):
            row = counts.setdefault(clock.clock, {"met": 0, "breached": 0, "running": 0})
            state = {ClockState.MET: "met", ClockState.BREACHED: "breached"}.get(clock.state, "running")
            row[state] += 1
    return [ClockAttainment(c, CLOCK_LABELS.get(c, c), **counts[c]) for c in CLOCKS if c in counts]


def account_view(session: Session, account_id: int, *, now: dt.datetime) -> AccountView | None:
    """The account's page at `now`, or None when there is no such account."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    recent = list(session.scalars(select(Incident).where(Incident.account_id == account_id)
                                  .order_by(Incident.detected_at.desc()).limit(INCIDENT_LIMIT)))
    total = session.scalar(select(func.count()).select_from(Incident).where(Incident.account_id == account_id)) or 0
    names = dict(session.execute(select(User.id, User.display_name)).all())
    comms = session.execute(
        select(Communication.sent_at, Communication.incident_id, Communication.channel, Communication.subject,
               Communication.recipients, Communication.sent_by_id)
        .join(Incident, Incident.id == Communication.incident_id).where(Incident.account_id == account_id)
        .order_by(Communication.sent_at.desc()).limit(100)).all()
    return AccountView(
        id=account.id, version=account.version, name=account.name, tier=account.tier,
        annual_contract_value=account.annual_contract_value, renewal_date=account.renewal_date,
        owner_id=account.owner_id,
        owner=names.get(account.owner_id, "unassigned") if account.owner_id else "unassigned",
        time_zone=account.time_zone, archived_at=account.archived_at, contract_terms=dict(account.contract_terms or {}),
        contacts=[_contact_data(c) for c in account.contacts], form=form_data(account),
        incidents=[AccountIncident(i.id, i.title, i.severity, i.red_status, i.status, i.detected_at, i.is_drill)
                   for i in recent],
        incident_total=total, attainment=sla_attainment(session, [i for i in recent if not i.is_drill], now),
        communications=[AccountMessage(at=c.sent_at, incident=c.incident_id, channel=c.channel, subject=c.subject,
                                       to=", ".join(c.recipients or []), by=names.get(c.sent_by_id, "?"))
                        for c in comms],
    )
