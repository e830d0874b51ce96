"""People paged from outside the app (an executive, a partner): adding, changing, disabling, listing them.

Leads and admins manage them. A contact is reached by email, by SMS (their phone, through the SMS
gateway endpoint) or through a webhook endpoint of kind webhook. A refusal is a `ContactError`
whose message says what to fix; nothing is saved then. Every write is audited in the caller's
unit of work. Must never import streamlit, and never delete a contact (a page sent to one keeps
naming them): a contact who should no longer be paged is disabled.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.limits import EMAIL, FREE_TEXT, NAME, check_text
from core.oncall.schedules import may_edit_schedules
from core.people.users import EMAIL_PATTERN, Actor
from db.models import ExternalContact, NotificationEndpoint
from db.rows import get_for_update

PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ().-]{5,38}$")


class ContactError(ValueError):
    """An outside contact change that was refused; the message says what to fix. Nothing was saved."""


class ContactForbidden(ContactError, PermissionError):
    """Only leads and admins manage outside contacts."""


def check_may_manage(actor: Actor) -> None:
    """ContactForbidden unless `actor` is a lead or an admin."""
    if not may_edit_schedules(actor):
        raise ContactForbidden(f"Only team leads and admins may manage outside contacts; {actor.name} is not one. "
                               "Nothing was changed.")


def _fields(session: Session, *, name: str, organisation: str, email: str, phone: str, endpoint_id: int | None,
            notes: str) -> dict[str, Any]:
    name = check_text(name or "", NAME, "The name", ContactError)
    if not name:
        raise ContactError("Give the contact's name, e.g. 'Dana Whitfield (COO)'.")
    email = check_text(email or "", EMAIL, "The email address", ContactError)
    if email and not EMAIL_PATTERN.match(email):
        raise ContactError(f"Email {email!r} is not an address like name@example.com.")
    phone = (phone or "").strip()
    if phone and not PHONE_PATTERN.match(phone):
        raise ContactError(f"Phone {phone!r} is not a phone number: use digits, spaces and dashes, with the country "
                           "code first, e.g. +1-555-0142.")
    if endpoint_id is not None:
        endpoint = session.get(NotificationEndpoint, endpoint_id)
        if endpoint is None or endpoint.kind != "webhook":
            raise ContactError("The endpoint must be one of the team's generic webhooks; pick it from the list "
                               "(an admin adds webhooks on the Notifications page).")
    if not (email or phone or endpoint_id):
        raise ContactError("Give at least one way to reach them: an email address, a phone number or a webhook.")
    return {"name": name, "organisation": check_text(organisation or "", NAME, "The organisation", ContactError),
            "email": email, "phone": phone, "endpoint_id": endpoint_id,
            "notes": check_text(notes or "", FREE_TEXT, "The notes", ContactError)}


def _values(row: ExternalContact) -> dict[str, Any]:
    return {"name": row.name, "organisation": row.organisation, "email": row.email, "phone": row.phone,
            "endpoint_id": row.endpoint_id, "notes": row.notes, "is_enabled": row.is_enabled}


def _unique(session: Session, name: str, contact_id: int | None) -> None:
    other = session.scalar(select(ExternalContact).where(ExternalContact.name == name,
                                                         ExternalContact.id != (contact_id or 0)))
    if other is not None:
        raise ContactError(f"There is already an outside contact named {name!r}: add what tells them apart, "
                           "e.g. their organisation.")


@dataclass(frozen=True)
class ContactView:
    """An outside contact as the On-call page lists and edits it."""

    id: int
    name: str
    organisation: str
    email: str
    phone: str
    endpoint_id: int | None
    notes: str
    is_enabled: bool
    version: int


def list_contacts(session: Session, *, include_disabled: bool = True) -> list[ContactView]:
    """Outside contacts, enabled first, by name."""
    stmt = select(ExternalContact).order_by(ExternalContact.is_enabled.desc(), ExternalContact.name)
    if not include_disabled:
        stmt = stmt.where(ExternalContact.is_enabled.is_(True))
    return [ContactView(row.id, row.name, row.organisation, row.email, row.phone, row.endpoint_id, row.notes,
                        row.is_enabled, row.version) for row in session.scalars(stmt)]


def webhook_endpoints(session: Session) -> list[tuple[int, str]]:
    """The team's generic webhook endpoints a contact may be reached through, as (id, name)."""
    rows = session.execute(select(NotificationEndpoint.id, NotificationEndpoint.name)
                           .where(NotificationEndpoint.kind == "webhook").order_by(NotificationEndpoint.name))
    return [(row.id, row.name) for row in rows]


def add_contact(session: Session, *, name: str, organisation: str = "", email: str = "", phone: str = "",
                endpoint_id: int | None = None, notes: str = "", actor: Actor, now: dt.datetime) -> ExternalContact:
    """A new enabled outside contact; leads and admins only."""
    check_may_manage(actor)
    fields = _fields(session, name=name, organisation=organisation, email=email, phone=phone,
                     endpoint_id=endpoint_id, notes=notes)
    _unique(session, fields["name"], None)
    row = ExternalContact(**fields, is_enabled=True, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="external_contact", entity_id=row.id,
                 action="create", changes=audit.field_changes({}, _values(row)), at=now)
    return row


def change_contact(session: Session, contact_id: int, *, expected_version: int, actor: Actor, now: dt.datetime,
                   name: str, organisation: str, email: str, phone: str, endpoint_id: int | None, notes: str,
                   is_enabled: bool) -> ExternalContact:
    """Replace every field of a contact (as its form shows them); refused when someone changed it meanwhile."""
    check_may_manage(actor)
    row = get_for_update(session, ExternalContact, contact_id)
    if row is None:
        raise ContactError(f"There is no outside contact {contact_id}; reload the page.")
    if row.version != expected_version:
        raise ContactError(f"Someone changed {row.name!r} while you were editing it; nothing of yours was saved. "
                           "Reload the page to see their change, then edit again.")
    before = _values(row)
    fields = _fields(session, name=name, organisation=organisation, email=email, phone=phone,
                     endpoint_id=endpoint_id, notes=notes)
    _unique(session, fields["name"], row.id)
    for key, value in fields.items():
        setattr(row, key, value)
    row.is_enabled = is_enabled
    changes = audit.field_changes(before, _values(row))
    if changes:
        session.flush()
        audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="external_contact",
                     entity_id=row.id, action="change", changes=changes, at=now)
    return row


def disable_contact(session: Session, contact_id: int, *, expected_version: int, actor: Actor,
                    now: dt.datetime) -> ExternalContact:
    """Stop paging a contact (schedules naming them then skip them)."""
    row = session.get(ExternalContact, contact_id)
    if row is None:
        raise ContactError(f"There is no outside contact {contact_id}; reload the page.")
    return change_contact(session, contact_id, expected_version=expected_version, actor=actor, now=now,
                          name=row.name, organisation=row.organisation, email=row.email, phone=row.phone,
                          endpoint_id=row.endpoint_id, notes=row.notes, is_enabled=False)
