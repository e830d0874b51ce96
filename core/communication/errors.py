"""The errors communication flows raise; each message says what the person can do about it.

Kept apart so the flows, the template store and the SMTP settings share one
base class (`CommunicationError`, a ValueError) without importing each other.
This module must never import streamlit or the database.
"""

from __future__ import annotations

from core.communication.catalog import TemplateProblem
from core.people.access import PAGE_ACCESS
from core.people.users import Actor


class CommunicationError(ValueError):
    """A message that cannot be logged, prepared or saved; the text says what to fix."""


class CommunicationForbidden(CommunicationError, PermissionError):
    """This person may not write to the client about this incident (it is for the account's CSM, the incident's
    owner, leads and admins)."""


def check_may_configure(actor: Actor, what: str) -> None:
    """CommunicationForbidden unless `actor` is an admin: message templates and the email server are
    the team's settings, changed on the admin page only (the rule core.people.access gives that page)."""
    if actor.role not in PAGE_ACCESS["templates_admin"]:
        raise CommunicationForbidden(f"Only admins may change {what}; {actor.name} is not one. Nothing was saved.")


class DraftIncomplete(CommunicationError):
    """Fields the template needs are still empty; `missing` names them."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing


class TemplateRejected(CommunicationError):
    """An edited template failed its checks; `problems` has each one with its part and line."""

    def __init__(self, problems: list[TemplateProblem]):
        lines = [f"{p.part} part{f', line {p.line}' if p.line else ''}: {p.message}" for p in problems]
        super().__init__("The template was not saved:\n" + "\n".join(f"- {line}" for line in lines))
        self.problems = problems


class TemplateConflict(CommunicationError):
    """Someone saved the template while this person was editing it."""


class SettingsError(CommunicationError):
    """The SMTP settings are invalid or changed meanwhile."""


class SentButNotLogged(CommunicationError):
    """The server accepted the email but the log entry could not be written."""
