"""Page read model of Admin › Users: every person as plain values, for the people who may manage them.

The page calls `users_page` once and never sees a database row or a session;
who may read this list is the page access table (`core.people.access`).
Nothing here writes; `engine` is only for tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from core.people import users
from core.people.access import Role, can_open
from db.engine import read_scope


@dataclass(frozen=True)
class UserRow:
    """One person as the users table and the change form show them."""

    username: str
    display_name: str
    email: str
    role: str
    is_active: bool
    must_change_password: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class UsersPage:
    """Every person, active or not, by username."""

    people: tuple[UserRow, ...]

    def get(self, username: str) -> UserRow | None:
        """The person with this username, or None."""
        return next((p for p in self.people if p.username == username), None)


def users_page(*, viewer: Role, engine: Engine | None = None) -> UsersPage:
    """Every user, for a viewer whose role opens the users page; PermissionError for anyone else."""
    if not can_open(viewer, "admin_users"):
        raise PermissionError(f"a {viewer.value} cannot list the users")
    with read_scope(engine) as session:
        people = tuple(
            UserRow(p.username, p.display_name, p.email, p.role, p.is_active, p.must_change_password, p.created_at)
            for p in users.list_users(session)
        )
    return UsersPage(people)
