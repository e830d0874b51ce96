"""The review lifecycle of the after-incident documents: which document, its statuses and the moves between them.

Both documents (the critical incident report and the blameless post-mortem) move
through one review lifecycle: draft, in review, reviewed, closed. This module
says which moves exist, who may make each (the account's CSM, leads, admins)
and the errors a refused change raises. It is pure: no database work, no clock,
and it never imports streamlit.
"""

from __future__ import annotations

from enum import StrEnum

from core.account.access import may_work_on, works_on_all_accounts
from core.people.access import Role


class ReportKind(StrEnum):
    """Which document: the critical incident report or the blameless post-mortem."""

    REPORT = "report"
    POSTMORTEM = "postmortem"


KIND_TITLES: dict[ReportKind, str] = {
    ReportKind.REPORT: "Critical incident report",
    ReportKind.POSTMORTEM: "Blameless post-mortem",
}


class ReportStatus(StrEnum):
    """Where a report stands in its review."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    CLOSED = "closed"


REPORT_STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.DRAFT: "Draft",
    ReportStatus.IN_REVIEW: "In review",
    ReportStatus.REVIEWED: "Reviewed",
    ReportStatus.CLOSED: "Closed",
}

# Who may make each move: "editor" is anyone who may edit the report (the
# account's CSM, leads, admins); "lead" is leads and admins only. A reviewed
# report can go back to review; a closed one is final.
_R = ReportStatus
REPORT_MOVES: dict[tuple[ReportStatus, ReportStatus], str] = {
    (_R.DRAFT, _R.IN_REVIEW): "editor",
    (_R.IN_REVIEW, _R.DRAFT): "editor",
    (_R.IN_REVIEW, _R.REVIEWED): "lead",
    (_R.REVIEWED, _R.IN_REVIEW): "lead",
    (_R.REVIEWED, _R.CLOSED): "lead",
}
# Text can change while the report is being written or reviewed, not after.
EDITABLE_STATUSES = frozenset({ReportStatus.DRAFT, ReportStatus.IN_REVIEW})


class ReportError(ValueError):
    """A report change that cannot be made; the message says what to fix."""


class ReportForbidden(ReportError, PermissionError):
    """This person may not make the change (it is for the account's CSM, leads and admins)."""


class ReportConflict(ReportError):
    """Someone saved the report since it was loaded; carries their text so nothing is lost."""

    def __init__(self, message: str, their_sections: dict[str, str], their_version: int):
        super().__init__(message)
        self.their_sections = their_sections
        self.their_version = their_version


def parse_kind(value: str) -> ReportKind:
    """The ReportKind for `value`, or ReportError naming the kinds."""
    try:
        return ReportKind(value)
    except ValueError:
        raise ReportError(f"Unknown document {value!r}: use report or postmortem.") from None


def may_edit(role: Role | None, user_id: int, account_owner_id: int | None) -> bool:
    """True when the user may edit reports of an incident on an account with this owner (no role: their own)."""
    return may_work_on(role, user_id, account_owner_id)


def allowed_report_moves(current: str, role: Role | None, editor: bool) -> list[ReportStatus]:
    """The statuses this person may move a report to from `current`, in lifecycle order."""
    frm = ReportStatus(current)
    allowed = []
    for (start, target), who in REPORT_MOVES.items():
        if start is frm and (works_on_all_accounts(role) or (who == "editor" and editor)):
            allowed.append(target)
    return [s for s in ReportStatus if s in allowed]


def check_report_move(current: str, target: str, role: Role | None, editor: bool) -> ReportStatus:
    """The target status when this person may make the move; ReportError saying why not otherwise."""
    try:
        to = ReportStatus(target)
    except ValueError:
        names = ", ".join(s.value for s in ReportStatus)
        raise ReportError(f"Unknown report status {target!r}: statuses are {names}.") from None
    frm = ReportStatus(current)
    who = REPORT_MOVES.get((frm, to))
    if who is None:
        nxt = ", ".join(REPORT_STATUS_LABELS[t] for (f, t) in REPORT_MOVES if f is frm) or "none (it is final)"
        raise ReportError(f"A report that is {REPORT_STATUS_LABELS[frm]} cannot become "
                          f"{REPORT_STATUS_LABELS[to]}. Possible next: {nxt}.")
    if who == "lead" and not works_on_all_accounts(role):
        raise ReportForbidden(f"Only a lead or an admin may move a report to {REPORT_STATUS_LABELS[to]}.")
    if not editor and not works_on_all_accounts(role):
        raise ReportForbidden("Only the account's CSM, leads and admins may change this report.")
    return to
