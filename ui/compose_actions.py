"""The composer's buttons: send through SMTP, download the .eml, mark as sent, log a call or a shared note.

Each action either succeeds (the draft is cleared, the confirmation shown
after a rerun, the incident version on screen moves on) or shows why it
failed and leaves the draft and the log untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from core.communication import flows as comms
from core.communication.flows import ComposeSource, PreparedMessage
from core.communication.mail import MailError
from core.communication.smtp import SmtpSettings
from core.communication.views import eml_at
from core.incident.flows import ConflictError
from core.text import markdown_literal
from db.engine import session_scope
from ui import compose_view as view
from ui.auth import CurrentUser, utcnow
from ui.incident_actions import remember_version


def _refused(error: Exception, what: str) -> None:
    st.error(markdown_literal(f"{error} {what}"))
    if isinstance(error, ConflictError) and error.changes:
        st.markdown("**Their recent changes**")
        for line in error.changes:
            st.markdown(f"- {markdown_literal(line)}")


def _mark(source: ComposeSource, prepared: PreparedMessage, channel: str, recipients: list[str], user: CurrentUser,
          expected: int) -> None:
    try:
        with session_scope() as session:
            logged = comms.mark_sent(session, incident_id=source.incident_id, expected_version=expected,
                                     prepared=prepared, channel=channel, recipients=recipients,
                                     actor=user.actor, now=utcnow())
    except (comms.CommunicationError, MailError, ConflictError) as error:
        _refused(error, "Nothing was logged; your draft is kept.")
        return
    view.clear_draft(source.incident_id)
    remember_version(source.incident_id, logged.incident_version)
    view.set_notice(source.incident_id,
                    f"Logged: {comms.CHANNELS[channel].lower()} to {', '.join(recipients)}"
                    + (" (client notified recorded)" if logged.first_notice else "") + "."
                    + (" The client-update clock restarted." if channel in comms.CLIENT_CHANNELS else ""))
    st.rerun()


def _send(source: ComposeSource, prepared: PreparedMessage, to: list[str], cc: list[str], smtp: SmtpSettings,
          user: CurrentUser, expected: int) -> None:
    try:
        outcome = comms.send_and_record(
            incident_id=source.incident_id, expected_version=expected, prepared=prepared, to=to, cc=cc,
            reply_to=user.email or None, settings=smtp, password=view.smtp_password(),
            actor=user.actor, now=utcnow())
    except (comms.CommunicationError, MailError, ConflictError) as error:
        _refused(error, "Your draft is kept.")
        return
    view.clear_draft(source.incident_id)
    remember_version(source.incident_id, outcome.incident_version)
    view.set_notice(source.incident_id, f"Sent to {', '.join(outcome.accepted)} and logged"
                                        + (" (client notified recorded)" if outcome.first_notice else "")
                                        + ". The client-update clock restarted.")
    st.rerun()


def _eml_when_clicked(source: ComposeSource, prepared: PreparedMessage, edits: dict[str, Any], sender: str,
                      to: list[str], cc: list[str], user: CurrentUser) -> Callable[[], bytes]:
    # The file is rendered at the click, so the time it promises is never one the page drew earlier.
    def build() -> bytes:
        return eml_at(source.incident_id, key=prepared.template_key, edits=edits, viewer=user, sender=sender,
                      to=to, cc=cc, reply_to=user.email or None, now=utcnow())
    return build


def email_actions(source: ComposeSource, prepared: PreparedMessage, to: list[str], cc: list[str],
                  smtp: SmtpSettings | None, user: CurrentUser, expected: int, now: dt.datetime,
                  edits: dict[str, Any]) -> None:
    """Send, download .eml (rendered when clicked), or mark an email as sent."""
    sender = smtp.from_address if smtp else (user.email or "")
    try:
        # Built now only to say what is wrong before anyone clicks; the download renders afresh.
        eml = comms.eml_file(prepared, sender=sender, to=to, cc=cc, reply_to=user.email or None, now=now)
    except MailError as error:
        eml = None
        st.error(f"Cannot build the email yet: {markdown_literal(error)}")
    send_col, eml_col, mark_col = st.columns(3)
    if send_col.button("Send to the client", type="primary", key="compose_send", disabled=smtp is None,
                       help=None if smtp else "An admin sets up the email server under Admin › Message templates."):
        _send(source, prepared, to, cc, smtp, user, expected)
    if eml is not None:
        eml_col.download_button("Download .eml", data=_eml_when_clicked(source, prepared, edits, sender, to, cc, user),
                                file_name=f"INC-{source.incident_id}-{prepared.template_key}.eml",
                                mime="message/rfc822", key="compose_eml", on_click="ignore",
                                help="Built when you click: the next update it promises is worked out then.")
    if mark_col.button("I sent it myself: mark as sent", key="compose_mark_email"):
        _mark(source, prepared, "email", to + cc, user, expected)
    if smtp is None:
        st.caption("Sending from the app is off until an admin sets up the email server; copy or download the "
                   "message, send it yourself, then mark it as sent.")


def other_actions(source: ComposeSource, prepared: PreparedMessage, recipients: list[str], user: CurrentUser,
                  expected: int) -> None:
    """Log a phone call made with the script, or an internal message shared with the team."""
    if prepared.channel == "phone":
        if st.button("Log the call", type="primary", key="compose_mark_phone"):
            _mark(source, prepared, "phone", recipients, user, expected)
    elif st.button("Log as shared with the team", key="compose_mark_internal"):
        _mark(source, prepared, "internal", recipients, user, expected)
