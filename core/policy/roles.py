"""Incident roles as policy data: who leads an incident, who speaks to the customer, who else helps.

Every policy lists its roles (``roles:``); incident assignments, the role picker
and message fields use their keys. Keys are written with underscores
(``incident_commander``), the spelling stored assignments and message fields
(``technical_lead_name``) have always used. A team's policy must define
`REQUIRED_ROLES`; a policy stored earlier (an incident's snapshot, a saved
version) may predate that rule, so reading one fills what it lacks
(`fill_stored_roles`) instead of refusing it. Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints, field_validator

from core.policy.notation import PolicyModel, Text, policy_error

# Who leads the response, and who owns the customer relationship (the incident owner).
INCIDENT_COMMANDER = "incident_commander"
CSM = "csm"
REQUIRED_ROLES: tuple[str, ...] = (INCIDENT_COMMANDER, CSM)

RoleKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:_[a-z0-9]+)*$", max_length=64)]

# The roles the app offered before policies listed them: what a stored policy without roles gets,
# so the assignments made on its incidents keep their titles.
DEFAULT_ROLES: tuple[dict[str, Any], ...] = (
    {"key": INCIDENT_COMMANDER, "title": "Incident commander",
     "duties": ("Leads the response and decides", "Keeps the timeline and the update schedule")},
    {"key": CSM, "title": "Customer Success Manager",
     "duties": ("Owns the customer relationship", "Tells the client what happens and what comes next")},
    {"key": "technical_lead", "title": "Technical lead",
     "duties": ("Diagnoses the problem", "Plans and confirms the fix")},
    {"key": "executive_sponsor", "title": "Executive sponsor",
     "duties": ("Speaks for the company to the client's executives",)},
    {"key": "communications_lead", "title": "Communications lead",
     "duties": ("Writes and sends the client updates on time",)},
)


class Role(PolicyModel):
    """An incident role and its duties."""

    key: RoleKey
    title: Text
    agent: Text | None = None
    duties: tuple[Text, ...] = ()

    @field_validator("key", mode="before")
    @classmethod
    def _underscored(cls, value: object) -> object:
        if isinstance(value, str) and "-" in value:
            raise policy_error(f"write role keys with underscores: {value.replace('-', '_')} (stored assignments "
                               "and message fields such as technical_lead_name use that spelling)")
        return value


def missing_required(roles: tuple[Role, ...]) -> list[str]:
    """The required role keys that `roles` lacks, in order."""
    keys = {role.key for role in roles}
    return [key for key in REQUIRED_ROLES if key not in keys]


def fill_stored_roles(data: object) -> object:
    """A stored policy's raw data with role keys underscored and the roles it lacks added.

    Snapshots taken before policies had to list roles carry none (they get the
    `DEFAULT_ROLES`) or hyphenated keys without a CSM (keys are underscored and
    the missing required roles added); anything else is left to validation.
    """
    if not isinstance(data, dict):
        return data
    raw = data.get("roles") or []
    if not isinstance(raw, (list, tuple)):
        return data
    roles = [{**role, "key": role["key"].replace("-", "_")}
             if isinstance(role, dict) and isinstance(role.get("key"), str) else role for role in raw]
    keys = {role.get("key") for role in roles if isinstance(role, dict)}
    if not roles:
        roles = [dict(role) for role in DEFAULT_ROLES]
    else:
        roles += [dict(role) for role in DEFAULT_ROLES if role["key"] in REQUIRED_ROLES and role["key"] not in keys]
    return {**data, "roles": roles}
