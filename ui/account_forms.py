"""Account forms for the pages: the account editor (with contacts), a health reading, CSV import.

Every widget is keyed, so a form that core refuses keeps what the person
typed; keys are cleared only after a save succeeded. Validation and the
writes themselves live in core (account_service, signals, account_import).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from core.account import importer as account_import
from core.account import service as account_service
from core.account import signals
from core.account.health import METRIC_LABELS
from core.account.service import CHANNELS, AccountConflict, AccountError, Editor
from core.limits import CONTRACT_TERM, EMAIL, NAME
from core.policy.measures import SIGNAL_METRICS
from core.text import markdown_literal
from core.vocabulary import TIERS
from core.zones import zone, zone_names
from db.engine import read_scope, session_scope
from ui.auth import CurrentUser
from ui.format import local_time
from ui.save import queue_toast, save

_CONTACT_COLUMNS = ["name", "role", "email", "phone", "time_zone", "preferred_channel", "is_primary"]


def editor_of(user: CurrentUser) -> Editor:
    """The signed-in user as core's account editor."""
    return Editor(user.id, user.username, user.role)


def _default(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _keys(prefix: str) -> list[str]:
    return [str(k) for k in st.session_state if str(k).startswith(prefix)]


def clear_form(prefix: str) -> None:
    """Forget a form's widget values (after a successful save) so it refills from the database."""
    for key in _keys(prefix):
        del st.session_state[key]


def account_form(prefix: str, initial: dict, owners: list[tuple[int, str]], *, can_change_owner: bool,
                 submit_label: str) -> dict | None:
    """Draw the account form; on submit return the raw account data for core to validate."""
    names = dict(owners)
    zones = zone_names()
    _default(f"{prefix}name", initial.get("name", ""))
    _default(f"{prefix}tier", initial.get("tier") or TIERS[0])
    _default(f"{prefix}acv", float(initial.get("annual_contract_value") or 0))
    _default(f"{prefix}renewal", initial.get("renewal_date"))
    _default(f"{prefix}owner", initial.get("owner_id"))
    _default(f"{prefix}tz", initial.get("time_zone") or "UTC")
    terms = initial.get("contract_terms") or {}
    _default(f"{prefix}response", terms.get("response_commitment", ""))
    _default(f"{prefix}credits", terms.get("service_credits", ""))
    contacts = pd.DataFrame(initial.get("contacts") or [], columns=_CONTACT_COLUMNS)
    with st.form(f"{prefix}form", clear_on_submit=False):
        left, right = st.columns(2)
        left.text_input("Name", key=f"{prefix}name", max_chars=NAME.max_chars)
        right.selectbox("Tier", TIERS, key=f"{prefix}tier")
        left.number_input("Annual contract value", min_value=0.0, step=1000.0, format="%.2f", key=f"{prefix}acv")
        right.date_input("Renewal date", key=f"{prefix}renewal", format="YYYY-MM-DD")
        left.selectbox("Owner (CSM)", [None, *names], key=f"{prefix}owner", disabled=not can_change_owner,
                       format_func=lambda i: "unassigned" if i is None else names.get(i, f"user {i}"),
                       help=None if can_change_owner else "Only a lead or an admin can change the owner.")
        right.selectbox("Account time zone", zones, key=f"{prefix}tz")
        st.text_area("Response commitments", key=f"{prefix}response", height=70, max_chars=CONTRACT_TERM.max_chars,
                     placeholder="e.g. 1 hour, 24/7 for P0 and P1")
        st.text_area("Service credits", key=f"{prefix}credits", height=70, max_chars=CONTRACT_TERM.max_chars,
                     placeholder="e.g. 10% of the monthly fee per hour of outage beyond the SLA")
        st.markdown("**Contacts** (add a row with the + below the table)")
        edited = st.data_editor(
            contacts, key=f"{prefix}contacts", num_rows="dynamic", hide_index=True, width="stretch",
            column_config={
                "name": st.column_config.TextColumn("Name", max_chars=NAME.max_chars),
                "role": st.column_config.TextColumn("Role", max_chars=NAME.max_chars),
                "email": st.column_config.TextColumn("Email", max_chars=EMAIL.max_chars),
                "phone": st.column_config.TextColumn("Phone"),
                "time_zone": st.column_config.SelectboxColumn("Time zone", options=zones, default="UTC"),
                "preferred_channel": st.column_config.SelectboxColumn("Preferred channel", options=CHANNELS,
                                                                      default="email"),
                "is_primary": st.column_config.CheckboxColumn("Primary", default=False),
            },
        )
        submitted = st.form_submit_button(submit_label, type="primary")
    if not submitted:
        return None
    renewal = st.session_state[f"{prefix}renewal"]
    return {
        "name": st.session_state[f"{prefix}name"], "tier": st.session_state[f"{prefix}tier"],
        "annual_contract_value": Decimal(str(round(st.session_state[f"{prefix}acv"], 2))),
        "renewal_date": renewal if isinstance(renewal, dt.date) else None,
        "owner_id": st.session_state[f"{prefix}owner"], "time_zone": st.session_state[f"{prefix}tz"],
        "contract_terms": {"response_commitment": st.session_state[f"{prefix}response"],
                           "service_credits": st.session_state[f"{prefix}credits"]},
        "contacts": _contact_rows(edited),
    }


def _contact_rows(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        clean = {k: v for k, v in record.items() if k in _CONTACT_COLUMNS and v is not None and not pd.isna(v)}
        if not any(str(v).strip() for k, v in clean.items() if k != "is_primary"):
            continue  # a blank row the editor added
        clean.setdefault("name", "")
        clean["is_primary"] = bool(clean.get("is_primary", False))
        rows.append(clean)
    return rows


def save_account(change: Callable[[Any], Any], *, prefix: str, success: str) -> bool:
    """Run one account write; show a conflict with the other person's changes, or the error; True when saved."""
    try:
        with session_scope() as session:
            change(session)
    except AccountConflict as conflict:
        st.error(markdown_literal(conflict))
        st.markdown("**Their recent changes**")
        for line in conflict.changes:
            st.markdown(f"- {markdown_literal(line)}")
        st.session_state.pop(f"{prefix}seen_version", None)  # the next save applies to what they now see
        return False
    except AccountError as error:
        st.error(f"Not saved. Fix the following and save again:\n\n{markdown_literal(error)}")
        return False
    clear_form(prefix)
    queue_toast(success)
    st.rerun()
    return True


def seen_version(prefix: str, current: int) -> int:
    """The version the person had on screen when they started editing."""
    return st.session_state.setdefault(f"{prefix}seen_version", current)


def reading_form(account_id: int, user: CurrentUser, now: dt.datetime) -> None:
    """A small form to record one health reading for the account."""
    prefix = f"reading_{account_id}_"
    with st.form(f"{prefix}form"):
        c1, c2, c3, c4 = st.columns(4)
        metric = c1.selectbox("Metric", SIGNAL_METRICS, key=f"{prefix}metric", format_func=METRIC_LABELS.get)
        value = c2.number_input("Value", key=f"{prefix}value", value=None, placeholder="e.g. 6.5")
        target = c3.number_input("Target (key metric only)", key=f"{prefix}target", value=None)
        today = now.astimezone(zone(user.time_zone)).date()
        day = c4.date_input(f"Observed on ({user.time_zone})", key=f"{prefix}day", value=today, max_value=today,
                            help="The day in your zone; a day before today is recorded at noon of that day.")
        submitted = st.form_submit_button("Record reading")
    if not submitted:
        return
    if value is None:
        st.error("Not recorded: give a value.")
        return
    when = now if day == today else dt.datetime.combine(day, dt.time(12), zone(user.time_zone)).astimezone(dt.UTC)
    save(lambda session: signals.record(
        session, account_id=account_id, source="form", editor=editor_of(user), now=now,
        reading=signals.parse_reading({"metric": metric, "observed_at": when, "value": value, "target": target})),
        done=f"{METRIC_LABELS[metric]} reading recorded.", reset=_keys(prefix))


def import_panel(kind: str, user: CurrentUser, now: dt.datetime) -> None:
    """Upload a CSV, show its preview with every problem, and import it only when it is clean."""
    columns = account_import.ACCOUNT_COLUMNS if kind == "accounts" else account_import.SIGNAL_COLUMNS
    required = account_import.ACCOUNT_REQUIRED if kind == "accounts" else account_import.SIGNAL_REQUIRED
    st.caption(f"Columns: {', '.join(columns)} (required: {', '.join(required)}). UTF-8, at most "
               f"{account_import.MAX_BYTES / 1_000_000:g} MB and {account_import.MAX_ROWS} rows. "
               "A file with any problem imports nothing.")
    upload = st.file_uploader("CSV file", type=["csv"], key=f"import_{kind}_file")
    if upload is None:
        return
    data = upload.getvalue()
    with read_scope() as session:
        preview = (account_import.preview_accounts(session, data) if kind == "accounts"
                   else account_import.preview_signals(session, data, now=now))
    show_preview(preview, user.time_zone)
    if preview.ok and st.button(f"Import {len(preview.rows)} row(s)", key=f"import_{kind}_go", type="primary"):
        run = account_import.import_accounts if kind == "accounts" else account_import.import_signals
        try:
            with session_scope() as session:
                count = run(session, data, editor=editor_of(user), now=now)
        except account_import.ImportRefused as refused:
            st.error(markdown_literal(refused))
            show_preview(refused.preview, user.time_zone)
            return
        except AccountError as error:
            st.error(markdown_literal(error))
            return
        queue_toast(f"Imported {count} row(s) from {upload.name}.")
        st.rerun()


def show_preview(preview: account_import.ImportPreview, time_zone: str) -> None:
    """The preview of an import: file problems, row problems by line, or the rows it would import (times in
    `time_zone`)."""
    for problem in preview.file_errors:
        st.error(markdown_literal(problem))
    if preview.row_errors:
        st.error(f"{len(preview.row_errors)} row(s) need fixing; nothing will be imported until they are.")
        st.dataframe(pd.DataFrame([{"Line": line, "Problem": message} for line, message in preview.row_errors]),
                     hide_index=True, width="stretch")
    if preview.warnings:
        st.warning(f"{len(preview.warnings)} value(s) start like a spreadsheet formula. They are imported as text, "
                   "and CSV downloads add a leading ' so that no spreadsheet runs them.")
        st.dataframe(pd.DataFrame([{"Line": line, "Warning": message} for line, message in preview.warnings]),
                     hide_index=True, width="stretch")
    if preview.ok:
        st.success(f"{len(preview.rows)} row(s) ready to import.")
        st.dataframe(pd.DataFrame([{"Line": line, **_row_summary(item, time_zone)} for line, item in preview.rows]),
                     hide_index=True, width="stretch")


def _row_summary(item: Any, time_zone: str) -> dict:
    if isinstance(item, account_service.AccountInput):
        return {"Name": item.name, "Tier": item.tier, "ACV": str(item.annual_contract_value),
                "Contacts": len(item.contacts)}
    account_id, reading = item
    return {"Account id": account_id, "Metric": reading.metric,
            "Observed": local_time(reading.observed_at, time_zone, "%Y-%m-%d %H:%M"),
            "Value": reading.value, "Target": reading.target}
