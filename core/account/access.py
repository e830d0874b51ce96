"""Customer accounts as the pages need them: who may work on which account, and lookups.

A CSM works on the accounts they own; leads and admins on every account.
Reads only; account editing arrives with the Accounts page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.people.access import Role
from db.models import Account


@dataclass(frozen=True)
class AccountChoice:
    """An account as a picker shows it."""

    id: int
    name: str
    tier: str
    annual_contract_value: Decimal
    owner_id: int | None

    @property
    def label(self) -> str:
        """'Name (tier)' for pickers."""
        return f"{self.name} ({self.tier})"


def works_on_all_accounts(role: Role | None) -> bool:
    """Leads and admins work on every account (a person without a team role, None, does not)."""
    return role in (Role.LEAD, Role.ADMIN)


def accounts_for(session: Session, *, user_id: int, role: Role) -> list[AccountChoice]:
    """Active accounts the user may open incidents on, by name."""
    stmt = select(Account.id, Account.name, Account.tier, Account.annual_contract_value, Account.owner_id).where(
        Account.archived_at.is_(None)
    )
    if not works_on_all_accounts(role):
        stmt = stmt.where(Account.owner_id == user_id)
    return [AccountChoice(*row) for row in session.execute(stmt.order_by(Account.name))]


def may_change_incident(role: Role | None, user_id: int | None, account_owner_id: int | None,
                        incident_owner_id: int | None) -> bool:
    """The one rule for changing an incident and writing to its client: leads and admins on every
    account; anyone else (a CSM, or an actor without a team role) on the accounts they own and on
    the incidents they own. Incident writes, client messages and the pages' read models all ask here."""
    if role is not None and works_on_all_accounts(role):
        return True
    return user_id is not None and user_id in (account_owner_id, incident_owner_id)


def may_work_on(role: Role | None, user_id: int, account_owner_id: int | None) -> bool:
    """True when the user may change incidents of an account with this owner."""
    return works_on_all_accounts(role) or account_owner_id == user_id
