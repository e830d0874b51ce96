"""Fill every internal column of an incident, its account and its contacts with values that cannot be missed.

Strings get `MK<nnn>-<table>.<column>` (cut to the column's length: `MK<nnn>` fits every one), JSON
columns a dict holding such a marker, dates and times a distinct year from 2041 on, amounts 987654321.
Whatever the client sees (status page, feed) must contain none of them: `leaks(text)` lists those that
got through. Integer keys, versions and flags are left alone (they cannot carry a marker without
breaking the row). `next_client_update_due_at` is left alone too: the page reads it on purpose, to work
out the promised next update the way a message does (`core.communication.promise`), and shows that.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import JSON, select, update

from core.incident.audience import COLUMNS, Audience
from db.engine import session_scope
from db.models import Account, Contact, Incident

MODELS = {"incidents": Incident, "accounts": Account, "contacts": Contact}
READ_ON_PURPOSE = {("incidents", "next_client_update_due_at")}
AMOUNT = Decimal("987654321")
_YEAR = re.compile(r"\b20[4-9]\d\b")


def _values(table: str, year: list[int], count: list[int]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, column in COLUMNS[table].items():
        if column.audience is not Audience.INTERNAL or (table, name) in READ_ON_PURPOSE:
            continue
        kind = MODELS[table].__table__.columns[name].type
        stored = getattr(kind, "impl", kind)  # a TypeDecorator (UTC datetimes) stores as its impl
        python_type = dict if isinstance(stored, JSON) else stored.python_type
        if python_type is bytes:  # packed text and JSON (db.packing) store a str or a JSON value as bytes
            python_type = kind.python_type
        count[0] += 1
        marker = f"MK{count[0]:03d}-{table}.{name}"
        if python_type in (dict, list):
            values[name] = {"note": marker, "names": [marker]}
        elif python_type is str:
            values[name] = marker[: kind.length] if getattr(kind, "length", None) else marker
        elif python_type is dt.datetime:
            year[0] += 1
            values[name] = dt.datetime(year[0], 7, 14, 11, 11, tzinfo=dt.UTC)
        elif python_type is dt.date:
            year[0] += 1
            values[name] = dt.date(year[0], 7, 14)
        elif python_type is Decimal:
            values[name] = AMOUNT
    return values


def fill_internal_columns(engine, incident_id: int) -> set[tuple[str, str]]:
    """Write the markers into the incident's, its account's and its contacts' internal columns; which were filled."""
    year, count = [2040], [0]
    filled: set[tuple[str, str]] = set()
    with session_scope(engine) as s:
        account_id = s.scalar(select(Incident.account_id).where(Incident.id == incident_id))
        for table, model, where in (("incidents", Incident, Incident.id == incident_id),
                                    ("accounts", Account, Account.id == account_id),
                                    ("contacts", Contact, Contact.account_id == account_id)):
            values = _values(table, year, count)
            s.execute(update(model).where(where).values(**values))
            filled |= {(table, name) for name in values}
    return filled


def leaks(text: str) -> list[str]:
    """Every marker found in `text` (empty: nothing internal got through)."""
    found = re.findall(r"MK\d{3}", text) + _YEAR.findall(text)
    return sorted(set(found)) + (["987654321"] if "987654321" in text or "987,654,321" in text else [])


def unfilled(filled: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The internal columns left without a marker, with their type (only keys, versions, flags may be here)."""
    return {(table, name): type(MODELS[table].__table__.columns[name].type).__name__
            for table, columns in COLUMNS.items() for name, column in columns.items()
            if column.audience is Audience.INTERNAL and (table, name) not in filled | READ_ON_PURPOSE}
