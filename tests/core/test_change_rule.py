"""The one rule for changing an incident and writing to its client (core.account.access.may_change_incident).

Incident writes, client messages and the incident/compose read models all ask
this function, so this table is the rule for every caller (page, CLI, API).
"""

from __future__ import annotations

import pytest

from core.account.access import may_change_incident
from core.people.access import Role

ME, OTHER = 7, 8


@pytest.mark.parametrize(
    "role, user_id, account_owner, incident_owner, allowed",
    [
        (Role.ADMIN, ME, OTHER, OTHER, True),       # leads and admins: every account
        (Role.LEAD, ME, None, None, True),
        (Role.LEAD, None, None, None, True),        # the system acts as a team role without a user id
        (Role.CSM, ME, ME, None, True),             # the account's CSM
        (Role.CSM, ME, OTHER, ME, True),            # the incident's owner on someone else's account
        (Role.CSM, ME, OTHER, OTHER, False),        # another CSM's account and incident
        (Role.CSM, ME, None, None, False),          # an account nobody owns: leads and admins only
        (None, ME, ME, None, True),                 # no team role: only what they own
        (None, ME, OTHER, None, False),
        (None, None, None, None, False),            # nobody at all
        (Role.CSM, None, None, None, False),
    ],
)
def test_who_may_change_an_incident(role, user_id, account_owner, incident_owner, allowed):
    assert may_change_incident(role, user_id, account_owner, incident_owner) is allowed
