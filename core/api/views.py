"""The read model of the admin's API access page: tokens, alert sources, routing keys, who a token may act as.

One read-only unit of work; never a secret (tokens show their prefix, sources no secret). Never
imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.account.routing import routing_keys
from core.api.sources import SourceRow, list_sources
from core.api.tokens import TokenRow, list_tokens
from core.people.users import list_users
from db.engine import read_scope


@dataclass(frozen=True)
class AccessPage:
    """What the API access page lists."""

    tokens: list[TokenRow]
    sources: list[SourceRow]
    accounts: list[tuple[int, str, str | None]]
    usernames: list[str]


def access_page() -> AccessPage:
    """Tokens (newest first), sources, accounts with their routing keys, and the active users' names."""
    with read_scope() as session:
        return AccessPage(tokens=list_tokens(session), sources=list_sources(session), accounts=routing_keys(session),
                          usernames=[u.username for u in list_users(session, include_disabled=False)])
