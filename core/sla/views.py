"""Page read model of the SLA dashboard's filter bar: the customers, people and policies a viewer may pick.

The figures themselves come from `core.sla.projection` (through the page's
cached loader); this module answers the question asked before them: which
choices the filter offers to this viewer. A CSM is offered only the accounts
they own, by the same rule `projection.restrict` applies to the figures.
Nothing here writes; `engine` is only for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from core.people.access import Role
from core.policy import store as policy_store
from core.sla import projection
from db.engine import read_scope
from db.models import Account


@dataclass(frozen=True)
class AccountOption:
    """A customer as the dashboard's picker shows it."""

    id: int
    name: str
    tier: str

    @property
    def label(self) -> str:
        """'Name (tier)' for pickers."""
        return f"{self.name} ({self.tier})"


@dataclass(frozen=True)
class DashboardChoices:
    """What the filter bar offers: customers, CSMs by id, and each policy's latest saved YAML by name."""

    accounts: tuple[AccountOption, ...]
    people: dict[int, str]
    policies: dict[str, str]


def dashboard_choices(*, viewer_id: int, role: Role, engine: Engine | None = None) -> DashboardChoices:
    """The filter choices for this viewer: a CSM's own active accounts, everyone's for leads and admins."""
    scope = projection.restrict(projection.DashboardFilter(), role=role, user_id=viewer_id)
    stmt = select(Account.id, Account.name, Account.tier).where(Account.archived_at.is_(None))
    if scope.csm_ids:
        stmt = stmt.where(Account.owner_id.in_(scope.csm_ids))
    with read_scope(engine) as session:
        accounts = tuple(AccountOption(i, name, tier) for i, name, tier in session.execute(stmt.order_by(Account.name)))
        people = dict(projection.csm_people(session))
        policies = {}
        for name in policy_store.policy_names(session):
            version = policy_store.latest_version(session, name)
            if version is not None:
                policies[name] = version.yaml_text
    return DashboardChoices(accounts, people, policies)
