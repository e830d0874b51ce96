"""CSV import of accounts and of health signals: a preview with row-level errors, then all or nothing.

A file is checked as a whole before anything is written: its size, that it
is UTF-8 (the first unreadable byte is reported with its position and line),
its columns (unknown and missing ones are named with the allowed list) and
every row (errors give the line number and the field). A file with any error
imports nothing; the import re-runs the same checks inside its unit of work,
so what the preview said is what happens. Only admins import. This module
never imports streamlit and never reads the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.account import signals
from core.account.service import (
    AccountError,
    AccountForbidden,
    AccountInput,
    Editor,
    create_account,
    describe_errors,
    may_archive,
)
from core.account.signals import SignalInput
from core.csv_safety import looks_like_formula
from db.models import Account, HealthSignal, User

MAX_BYTES = 2_000_000
MAX_ROWS = 5_000

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "name", "tier", "annual_contract_value", "renewal_date", "owner", "time_zone",
    "response_commitment", "service_credits",
    "contact_name", "contact_role", "contact_email", "contact_phone", "contact_time_zone", "contact_channel",
)
ACCOUNT_REQUIRED: tuple[str, ...] = ("name", "tier", "annual_contract_value")
SIGNAL_COLUMNS: tuple[str, ...] = ("account", "metric", "observed_at", "value", "target")
SIGNAL_REQUIRED: tuple[str, ...] = ("account", "metric", "observed_at", "value")
# Free text that is stored as typed, and so could reach a spreadsheet through an export.
ACCOUNT_TEXT_COLUMNS: tuple[str, ...] = (
    "name", "owner", "response_commitment", "service_credits", "contact_name", "contact_role", "contact_email",
)
SIGNAL_TEXT_COLUMNS: tuple[str, ...] = ("account",)


class ImportRefused(AccountError):
    """The file has errors; nothing was imported. `preview` holds them."""

    def __init__(self, preview: ImportPreview):
        super().__init__(
            f"Nothing was imported: {preview.error_count} problem(s) in the file; fix them and upload again.")
        self.preview = preview


@dataclass
class ImportPreview:
    """What a file would import: valid rows by line, row errors, errors about the file itself, warnings."""

    rows: list[tuple[int, Any]] = field(default_factory=list)
    row_errors: list[tuple[int, str]] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    # Cells that a spreadsheet could run as formulas: shown, never a reason to refuse.
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file can be imported as it is."""
        return not self.file_errors and not self.row_errors and bool(self.rows)

    @property
    def error_count(self) -> int:
        """How many problems were found."""
        return len(self.file_errors) + len(self.row_errors)


def read_table(data: bytes, allowed: tuple[str, ...], required: tuple[str, ...],
               preview: ImportPreview, text_columns: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str]]]:
    """Check size, encoding, columns and CSV syntax; the rows as (line, {column: text}), or [] with file errors.

    Lines the CSV reader cannot read, and values with a NUL character, are row
    errors; a value in `text_columns` that starts like a formula is a warning.
    """
    text = _decoded(data, preview)
    if text is None:
        return []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns = _columns(next(reader, None), allowed, required, preview)
    if columns is None:
        return []
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader goes on at the next line; the file is refused anyway, so every bad line is listed.
            preview.row_errors.append((start, _csv_problem(exc)))
            continue
        if not any(v.strip() for v in values):
            continue
        if len(rows) == MAX_ROWS:
            preview.file_errors.append(f"The file has more than {MAX_ROWS} rows; split it into smaller files.")
            return []
        if len(values) != len(columns):
            preview.row_errors.append((start, f"has {len(values)} values but the header names "
                                              f"{len(columns)} columns"))
            continue
        row = {c: v.strip() for c, v in zip(columns, values, strict=True)}
        with_nul = [c for c, v in row.items() if "\x00" in v]
        if with_nul:
            preview.row_errors.append((start, f"{with_nul[0].replace('_', ' ')}: contains a NUL character (\\0): "
                                              "remove it"))
            continue
        _warn_formulas(start, row, values, columns, text_columns, preview)
        rows.append((start, row))
    if not rows and not preview.row_errors:
        preview.file_errors.append("The file has a header but no rows.")
    return rows


def _decoded(data: bytes, preview: ImportPreview) -> str | None:
    """The file's text, or None with a file error when it is too big or not UTF-8."""
    if len(data) > MAX_BYTES:
        preview.file_errors.append(
            f"The file is {len(data) / 1_000_000:.1f} MB; the limit is {MAX_BYTES / 1_000_000:g} MB. "
            "Split it into smaller files.")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        preview.file_errors.append(
            f"The file is not UTF-8: byte 0x{data[exc.start]:02X} at position {exc.start} (line {line}) cannot be "
            "read. Save it as \"CSV UTF-8\" and upload again.")
        return None


def _columns(header: list[str] | None, allowed: tuple[str, ...], required: tuple[str, ...],
             preview: ImportPreview) -> list[str] | None:
    """The header's column names, or None with file errors naming unknown, missing and doubled columns."""
    if not header or not any(h.strip() for h in header):
        preview.file_errors.append(f"The file is empty: the first line must name the columns ({', '.join(allowed)}).")
        return None
    columns = [h.strip().lower() for h in header]
    unknown = [c for c in columns if c not in allowed]
    missing = [c for c in required if c not in columns]
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if unknown:
        preview.file_errors.append(f"Unknown column(s): {', '.join(unknown) or '(blank)'}. "
                                   f"Allowed columns: {', '.join(allowed)}.")
    if missing:
        preview.file_errors.append(f"Missing required column(s): {', '.join(missing)}.")
    if doubled:
        preview.file_errors.append(f"Column(s) named twice: {', '.join(doubled)}.")
    return None if preview.file_errors else columns


def _warn_formulas(line: int, row: dict[str, str], values: list[str], columns: list[str],
                   text_columns: tuple[str, ...], preview: ImportPreview) -> None:
    """Warn about each free-text value that a spreadsheet could run as a formula."""
    for column in (c for c in text_columns if c in row):
        raw = values[columns.index(column)]
        first = raw[:1] if looks_like_formula(raw) else row[column][:1]
        if looks_like_formula(first):
            preview.warnings.append((line, f"{column.replace('_', ' ')}: starts with {first!r}, which a "
                                           "spreadsheet could run as a formula; it is stored as text and "
                                           "exported with a leading '"))


def _csv_problem(exc: csv.Error) -> str:
    """A CSV reader error in words: what is wrong on the line and how to fix it."""
    text = str(exc)
    if text.startswith("field larger than field limit"):
        return (f"a value is longer than {csv.field_size_limit():,} characters (a quote may be missing, or the "
                "file is not a CSV of this kind)")
    if text == "unexpected end of data":
        return 'a quoted value that starts on this line is never closed: add the missing "'
    if text.startswith("',' expected after '\"'"):
        return 'text follows a closing quote: put the whole value in quotes and double any " inside it ("")'
    return f"cannot be read as CSV ({text})"


# --------------------------------------------------------------------------
# Accounts.


def preview_accounts(session: Session, data: bytes) -> ImportPreview:
    """Validate an accounts CSV against the database without writing anything."""
    preview = ImportPreview()
    rows = read_table(data, ACCOUNT_COLUMNS, ACCOUNT_REQUIRED, preview, ACCOUNT_TEXT_COLUMNS)
    existing = {n.lower() for n in session.scalars(select(Account.name))}
    active = select(func.lower(User.username), User.id).where(User.is_active.is_(True))
    usernames: dict[str, int] = {name: user_id for name, user_id in session.execute(active)}
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            account = _account_row(row, usernames)
        except (ValueError, ValidationError) as exc:
            message = describe_errors(exc) if isinstance(exc, ValidationError) else str(exc)
            preview.row_errors.append((line, message.replace("\n", "; ")))
            continue
        key = account.name.lower()
        if key in existing:
            preview.row_errors.append((line, f"name: an account named {account.name!r} already exists"))
        elif key in seen:
            preview.row_errors.append((line, f"name: {account.name!r} is also on line {seen[key]}"))
        else:
            seen[key] = line
            preview.rows.append((line, account))
    preview.row_errors.sort()
    return preview


def _account_row(row: dict[str, str], usernames: dict[str, int]) -> AccountInput:
    owner = row.get("owner", "")
    owner_id = None
    if owner:
        if owner.lower() not in usernames:
            raise ValueError(f"owner: no active user named {owner!r}")
        owner_id = usernames[owner.lower()]
    contact: dict[str, str | bool] = {
        k.removeprefix("contact_"): row[k] for k in ACCOUNT_COLUMNS if k.startswith("contact_") and row.get(k)}
    if "channel" in contact:
        contact["preferred_channel"] = contact.pop("channel")
    if contact:
        contact["is_primary"] = True
    data = {
        "name": row["name"], "tier": row["tier"].lower(), "annual_contract_value": row["annual_contract_value"] or "0",
        "renewal_date": row.get("renewal_date") or None, "owner_id": owner_id,
        "time_zone": row.get("time_zone") or "UTC",
        "contract_terms": {"response_commitment": row.get("response_commitment", ""),
                           "service_credits": row.get("service_credits", "")},
        "contacts": [contact] if contact else [],
    }
    return AccountInput.model_validate(data)


def import_accounts(session: Session, data: bytes, *, editor: Editor, now: dt.datetime) -> int:
    """Create every account of the file, or none (ImportRefused); returns how many were created."""
    if not may_archive(editor):
        raise AccountForbidden("Only an admin can import accounts.")
    preview = preview_accounts(session, data)
    if not preview.ok:
        raise ImportRefused(preview)
    for _line, account in preview.rows:
        create_account(session, data=account, editor=editor, now=now)
    return len(preview.rows)


# --------------------------------------------------------------------------
# Health signals.


def preview_signals(session: Session, data: bytes, *, now: dt.datetime) -> ImportPreview:
    """Validate a health-signals CSV against the database without writing anything."""
    preview = ImportPreview()
    rows = read_table(data, SIGNAL_COLUMNS, SIGNAL_REQUIRED, preview, SIGNAL_TEXT_COLUMNS)
    accounts = {name.lower(): (aid, archived is not None)
                for aid, name, archived in session.execute(select(Account.id, Account.name, Account.archived_at))}
    seen: dict[tuple[int, str, dt.datetime], int] = {}
    for line, row in rows:
        found = accounts.get(row["account"].lower())
        if found is None:
            preview.row_errors.append((line, f"account: no account named {row['account']!r}"))
            continue
        if found[1]:
            preview.row_errors.append((line, f"account: {row['account']!r} is archived; restore it first"))
            continue
        when = row["observed_at"]
        if len(when) == 10:  # a plain date is that day at 00:00 UTC
            when += "T00:00:00Z"
        try:
            reading = SignalInput.model_validate({"metric": row["metric"], "observed_at": when, "value": row["value"],
                                                  "target": row.get("target") or None})
        except ValidationError as exc:
            preview.row_errors.append((line, describe_errors(exc, "reading").replace("\n", "; ")))
            continue
        if reading.observed_at > now:
            preview.row_errors.append((line, "observed_at: the reading is in the future"))
            continue
        key = (found[0], reading.metric, reading.observed_at)
        if key in seen:
            preview.row_errors.append((line, f"the same account, metric and time are also on line {seen[key]}"))
            continue
        seen[key] = line
        preview.rows.append((line, (found[0], reading)))
    _refuse_stored_duplicates(session, preview)
    preview.row_errors.sort()
    return preview


def _refuse_stored_duplicates(session: Session, preview: ImportPreview) -> None:
    if not preview.rows:
        return
    ids = {aid for _line, (aid, _r) in preview.rows}
    stored = set(session.execute(select(HealthSignal.account_id, HealthSignal.metric, HealthSignal.observed_at)
                                 .where(HealthSignal.account_id.in_(ids), HealthSignal.source == "import")).all())
    kept = []
    for line, (aid, reading) in preview.rows:
        if (aid, reading.metric, reading.observed_at) in stored:
            preview.row_errors.append((line, "this reading was already imported"))
        else:
            kept.append((line, (aid, reading)))
    preview.rows = kept


def import_signals(session: Session, data: bytes, *, editor: Editor, now: dt.datetime) -> int:
    """Store every reading of the file, or none (ImportRefused); returns how many were stored."""
    if not may_archive(editor):
        raise AccountForbidden("Only an admin can import health signals.")
    preview = preview_signals(session, data, now=now)
    if not preview.ok:
        raise ImportRefused(preview)
    for _line, (account_id, reading) in preview.rows:
        session.add(HealthSignal(account_id=account_id, metric=reading.metric, observed_at=reading.observed_at,
                                 value=reading.value, target=reading.target, source="import", recorded_at=now,
                                 recorded_by_id=editor.id))
    session.flush()
    signals.refresh_accounts(session, {account_id for _line, (account_id, _r) in preview.rows}, now)
    return len(preview.rows)
