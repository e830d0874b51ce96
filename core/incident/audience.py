"""Who may read each stored value of an incident, its account and its contacts: the client, or only the team.

`COLUMNS` sorts every column of the `incidents`, `accounts` and `contacts`
tables into `client` (fine to write in a message to the client) or `internal`
(for the team only, with the reason). A JSON column that is internal as a
whole may name the few keys of it that the client may read. `client_values`
is the one door through which code that writes to the client (the composer's
context, the recovery summary) reads those rows: it returns the client-safe
values and nothing else, so a triage note or a new column can never prefill a
client message by default (a test fails when a column is not sorted here).
Rules may still read internal values to compute something for the client (a
cadence, a deadline, a credit amount), never to copy their text. Pure: no
database work, no clock, and it must never import streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Audience(StrEnum):
    """Who may read a stored value."""

    CLIENT = "client"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Column:
    """One stored column: who may read it, why not the client, and the client-safe keys of a JSON column."""

    audience: Audience
    why: str = ""
    client_keys: frozenset[str] = frozenset()


def client() -> Column:
    """A column the client may read."""
    return Column(Audience.CLIENT)


def internal(why: str, *, client_keys: Iterable[str] = ()) -> Column:
    """A column for the team only, with the reason; `client_keys`: the keys of a JSON column the client may read."""
    return Column(Audience.INTERNAL, why, frozenset(client_keys))


_BOOKKEEPING = "record keeping (creation, last change, optimistic-lock version)"

COLUMNS: dict[str, dict[str, Column]] = {
    "incidents": {
        "id": client(),  # quoted to the client as INC-<id>
        "title": client(),  # the short description every subject line carries
        "summary": internal("the CSM's triage note, written for the team ('CEO on the phone, furious'); "
                            "the client's summary and impact are written in the composer, in client words"),
        "account_id": internal("a database key"),
        "policy_name": internal("which internal escalation policy applies"),
        "policy_version": internal("which internal escalation policy applies"),
        "policy_snapshot_id": internal("the policy's targets, escalation levels and the names and numbers of "
                                    "the people to escalate to"),
        "answers": internal("the triage checklist: revenue at risk, a threat to end the contract, management "
                            "pressure, the customer tier",
                            client_keys=("business_impact", "users_affected_pct")),
        "triage_result": internal("the rules that fired and why: the team's reasoning about the client"),
        "severity": client(),  # shown in client words (Critical, High, Medium, Low), never as P0-P3
        "red_status": internal("an internal alarm level"),
        "escalation_category": internal("our escalation ladder"),
        "required_level": internal("our escalation ladder"),
        "current_level": internal("our escalation ladder"),
        "status": client(),  # shown in client words ('Fix in progress')
        "detected_at": client(),
        "acknowledged_at": client(),
        "client_notified_at": client(),
        "mobilized_at": client(),
        "mitigated_at": client(),
        "resolved_at": client(),
        "closed_at": internal("when the team closed its file; the client hears 'resolved'"),
        "client_confirmed_at": client(),  # the client's own confirmation that the fix works
        "reopened_at": client(),  # the client is told the problem came back
        "last_client_update_at": internal("SLA bookkeeping of our own messages; the client has the messages"),
        "required_level_reached_at": internal("our escalation ladder"),
        "next_deadline_at": internal("the most urgent internal SLA clock"),
        "next_deadline_clock": internal("the most urgent internal SLA clock"),
        "escalation_due_at": internal("our escalation ladder"),
        "next_client_update_due_at": internal(
            "the plan's due time, which may already have passed; a message promises a time worked out from "
            "the plan when it is rendered (core.communication.promise), never this value as stored"),
        "next_alert_at": internal("when our own alert rules next page or remind the team"),
        "response_log": internal("escalations, level responses and message times kept for the clocks"),
        "idempotency_key": internal("a technical token of the form that opened the incident"),
        "alert_dedup_key": internal("the monitoring alert's own identifier, which later alerts join"),
        "war_room_url": internal("the responders' own call or chat room"),
        "is_drill": internal("whether the team is running an exercise; the composer warns before writing about one"),
        "outage_id": internal("which platform outage the incident belongs to: other clients share it, and a "
                              "client must never learn who else is affected"),
        "steps_done": internal("the team's checklist"),
        "owner_id": internal("a staff account key"),
        "created_by_id": internal("a staff account key"),
        "created_at": internal(_BOOKKEEPING),
        "updated_at": internal(_BOOKKEEPING),
        "version": internal(_BOOKKEEPING),
    },
    "accounts": {
        "id": internal("a database key"),
        "name": client(),
        "tier": internal("our commercial segmentation of the client"),
        "annual_contract_value": internal("revenue: what the account is worth to us"),
        "renewal_date": internal("commercial: when the account may leave"),
        "owner_id": internal("a staff account key"),
        "time_zone": client(),  # every time in a message is shown in it
        "contract_terms": internal("the agreement as the team reads it, with internal commitments",
                                   client_keys=("service_credits",)),
        "routing_key": internal("the key monitoring tools open incidents with: whoever holds it can send alerts"),
        "archived_at": internal(_BOOKKEEPING),
        "created_at": internal(_BOOKKEEPING),
        "updated_at": internal(_BOOKKEEPING),
        "version": internal(_BOOKKEEPING),
    },
    "contacts": {
        "id": internal("a database key"),
        "account_id": internal("a database key"),
        "name": client(),  # greeted and addressed
        "role": internal("how the team describes the person, typed freely ('decision maker, escalates fast')"),
        "email": client(),  # the message goes to it
        "phone": client(),  # the call goes to it
        "time_zone": client(),
        "preferred_channel": internal("the team's note on how to reach the person"),
        "is_primary": client(),  # who is greeted and addressed first
    },
}


def client_columns(table: str) -> tuple[str, ...]:
    """The columns of `table` a client message may read (JSON columns with client keys included)."""
    return tuple(name for name, column in COLUMNS[table].items()
                 if column.audience is Audience.CLIENT or column.client_keys)


def _client_row(table: str, row: Any) -> Mapping[str, Any]:
    values: dict[str, Any] = {}
    for name, column in COLUMNS[table].items():
        if column.audience is Audience.CLIENT:
            values[name] = getattr(row, name, None)
        elif column.client_keys:
            stored = getattr(row, name, None) or {}
            values[name] = MappingProxyType({k: v for k, v in stored.items() if k in column.client_keys})
    return MappingProxyType(values)


@dataclass(frozen=True)
class ClientValues:
    """The client-safe values of one incident, its account and its contacts, and nothing else."""

    incident: Mapping[str, Any]
    account: Mapping[str, Any]
    contacts: tuple[Mapping[str, Any], ...]

    @property
    def primary_contact(self) -> Mapping[str, Any] | None:
        """The primary contact, else the first one, else None."""
        return next((c for c in self.contacts if c["is_primary"]), self.contacts[0] if self.contacts else None)


def client_values(incident: Any, account: Any, contacts: Iterable[Any] = ()) -> ClientValues:
    """The values of these rows a client message may use, read through `COLUMNS`; nothing internal.

    Rows are the ORM objects (or anything with the same attribute names); a
    missing attribute reads as None. Asking the result for an internal column
    raises KeyError.
    """
    return ClientValues(_client_row("incidents", incident), _client_row("accounts", account),
                        tuple(_client_row("contacts", contact) for contact in contacts))
