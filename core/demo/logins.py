"""Sign-ins for trying the app: new one-time passwords for one demo user of each role.

The demo team (core.demo.dataset.TEAM) signs in like anyone else, with passwords nobody
knows; `python -m core demo-logins` gives its CSM, lead and admin each a new one-time
password through `users.reset_password`, so must-change-password stays on (each chooses
their own at first sign-in), their sessions end and the audit log records the reset. Only
demo users are touched: a real user who shares a demo username has an address outside the
demo's domain and is left alone. It never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.demo.dataset import EMAIL_DOMAIN, TEAM
from core.people import users
from core.people.access import Role
from db.models import User

# One demo user per role, in the order a newcomer meets them.
DEMO_LOGINS: dict[Role, str] = {Role.CSM: "priya", Role.LEAD: "lena", Role.ADMIN: "nadia"}


class DemoTeamMissing(LookupError):
    """None of the demo logins is in this database: the demo data was never loaded."""


@dataclass(frozen=True)
class DemoLogin:
    """One demo user with the one-time password just given to them."""

    username: str
    role: Role
    name: str
    one_time_password: str
    active: bool  # a disabled user cannot sign in, whatever their password


def _demo_user(session: Session, username: str) -> User | None:
    user = users.get_by_username(session, username)
    if user is None or not (user.email or "").endswith(f"@{EMAIL_DOMAIN}"):
        return None
    return user


def demo_team_present(session: Session) -> bool:
    """True when at least one of the demo logins is in the database (the demo data was loaded)."""
    return any(_demo_user(session, username) for username in DEMO_LOGINS.values())


def reset_demo_logins(session: Session, *, actor: users.Actor, now: dt.datetime) -> tuple[list[DemoLogin], list[str]]:
    """New one-time passwords for the demo CSM, lead and admin; also the demo usernames not found.

    Raises DemoTeamMissing when none of them is there.
    """
    logins, missing = [], []
    for role, username in DEMO_LOGINS.items():
        user = _demo_user(session, username)
        if user is None:
            missing.append(username)
            continue
        password = users.reset_password(session, username=username, actor=actor, now=now)
        logins.append(DemoLogin(user.username, role, user.display_name, password, user.is_active))
    if not logins:
        team = ", ".join(name for name, *_ in TEAM)
        raise DemoTeamMissing(
            f"the demo team ({team}) is not in this database: the demo data is loaded by "
            "`python -m core init` (and so `make run`) on a database without accounts")
    return logins, missing
