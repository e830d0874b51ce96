"""Page read models of the account pages: one function per page, each opening its own read-only scope.

The Accounts list, the Account page, Account health and Home's at-risk panel
each call one function here and get a frozen value back: the rows it shows,
the owners for pickers, the health report (readings only for the accounts
drawn: the account page's one, the health page's page of ten). Who may see what is decided here
(through `core.account.service.may_see` and `list_accounts`), never in the
page. Nothing here writes; `engine` is only for tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from core.account import service as account_service
from core.account import signals
from core.account.service import AccountSummary, AccountView, Editor
from core.account.signals import HealthReport
from db.engine import read_scope


@dataclass(frozen=True)
class AccountsPage:
    """The Accounts list: the rows the viewer may see and the people an account can be given to."""

    rows: tuple[AccountSummary, ...]
    owners: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class AccountPage:
    """One account as its page shows it: the account, its health report and the owners for the edit form."""

    view: AccountView
    report: HealthReport
    owners: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class HealthPage:
    """The accounts the viewer may see, by id, and their health under the team default policy."""

    accounts: dict[int, AccountSummary]
    report: HealthReport

    @property
    def at_risk(self) -> int:
        """How many of the visible accounts have at least one warning."""
        return len([r for r in self.report.ranked if r.account_id in self.accounts])


def accounts_page(*, viewer: Editor, include_archived: bool = False, engine: Engine | None = None) -> AccountsPage:
    """The Accounts list for `viewer` (archived ones too when asked and the viewer may archive)."""
    with read_scope(engine) as session:
        rows = account_service.list_accounts(session, viewer, include_archived=include_archived)
        owners = account_service.owners(session)
    return AccountsPage(tuple(rows), tuple(owners))


def account_page(account_id: int, *, viewer: Editor, now: dt.datetime,
                 engine: Engine | None = None) -> AccountPage | None:
    """The account page at `now`, or None when there is no such account or `viewer` may not see it."""
    with read_scope(engine) as session:
        view = account_service.account_view(session, account_id, now=now)
        if view is None or not account_service.may_see(viewer, view.owner_id):
            return None
        report = signals.health_report(session, [view.id], now, readings_of=[view.id])
        owners = account_service.owners(session)
    return AccountPage(view, report, tuple(owners))


def health_page(*, viewer: Editor, now: dt.datetime, engine: Engine | None = None) -> HealthPage:
    """The health of every active account `viewer` may see, at `now` (Account health and Home), without readings."""
    with read_scope(engine) as session:
        visible = {a.id: a for a in account_service.list_accounts(session, viewer)}
        report = signals.health_report(session, list(visible), now)
    return HealthPage(visible, report)


def shown_readings(report: HealthReport, account_ids: list[int], *, engine: Engine | None = None) -> HealthReport:
    """`report` with the readings of the accounts one page of the at-risk list shows (their sparklines)."""
    with read_scope(engine) as session:
        return signals.with_readings(session, report, account_ids)
