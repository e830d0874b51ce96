"""The status state machine as a table of (from, to, allowed)."""

import itertools

import pytest

from core.incident.lifecycle import IllegalMove, check_move
from core.vocabulary import IncidentStatus

S = IncidentStatus
ALLOWED = {
    (S.NEW, S.ACKNOWLEDGED), (S.NEW, S.MOBILIZED), (S.NEW, S.MITIGATED), (S.NEW, S.RESOLVED),
    (S.ACKNOWLEDGED, S.MOBILIZED), (S.ACKNOWLEDGED, S.MITIGATED), (S.ACKNOWLEDGED, S.RESOLVED),
    (S.MOBILIZED, S.MITIGATED), (S.MOBILIZED, S.RESOLVED),
    (S.MITIGATED, S.MOBILIZED), (S.MITIGATED, S.RESOLVED),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.REOPENED),
    (S.CLOSED, S.REOPENED),
    (S.REOPENED, S.ACKNOWLEDGED), (S.REOPENED, S.MOBILIZED), (S.REOPENED, S.MITIGATED),
    (S.REOPENED, S.RESOLVED),
}


@pytest.mark.parametrize("frm, to", list(itertools.product(S, S)))
def test_every_move(frm, to):
    if (frm, to) in ALLOWED:
        assert check_move(frm, to) is to
    else:
        with pytest.raises(IllegalMove, match="Allowed next:"):
            check_move(frm, to)


def test_message_names_the_allowed_moves():
    with pytest.raises(IllegalMove) as error:
        check_move("closed", "new")
    assert str(error.value) == "An incident that is Closed cannot become New. Allowed next: Reopened."


def test_unknown_status():
    with pytest.raises(IllegalMove, match="Unknown status 'done'"):
        check_move("new", "done")
