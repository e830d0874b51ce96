"""The read models of the pages that show client messages: incident, compose, message templates.

Each function opens its own read-only unit of work, decides what the viewer
may see or do, and returns plain values; pages render them and never open a
session. The incident page's model lives here, not in `core.incident.views`,
because it shows the incident's communication log and communication sits
above incident in the domain layers. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.account.access import may_change_incident
from core.communication import cadence, catalog
from core.communication import flows as comms
from core.communication import smtp as smtp_config
from core.communication import store as template_store
from core.communication.errors import CommunicationError
from core.communication.fields import RENDER_TIME_FIELDS, MessageContext
from core.communication.flows import ComposeSource, LogEntry, PreparedMessage
from core.communication.smtp import SmtpSettings
from core.communication.store import TemplateText, TemplateVersionRow
from core.incident import service as incident_queries
from core.incident.views import IncidentView, Viewer, load, may_change
from db.engine import read_scope


@dataclass(frozen=True)
class IncidentPage:
    """Everything the incident page shows: the incident, whether the viewer may change it, people, messages."""

    view: IncidentView
    editable: bool
    people: list[tuple[int, str]]
    messages: list[LogEntry]
    update_due: dt.datetime | None


def incident_page(incident_id: int, *, viewer: Viewer, now: dt.datetime) -> IncidentPage | None:
    """The incident page for `viewer` at `now`, or None when there is no such incident."""
    with read_scope() as session:
        view = load(session, incident_id, now=now)
        if view is None:
            return None
        return IncidentPage(view=view, editable=may_change(viewer, view),
                            people=incident_queries.owners(session),
                            messages=comms.communication_log(session, incident_id),
                            update_due=cadence.client_update_due(session, [incident_id]).get(incident_id))


def compose_choices(viewer: Viewer) -> dict[int, str]:
    """The incidents `viewer` may write to the client about, open ones first, as {id: label}."""
    with read_scope() as session:
        return dict(comms.composable_incidents(session, user_id=viewer.id, role=viewer.role))


@dataclass(frozen=True)
class ComposePage:
    """One incident in the composer: its prefilled source, whether the viewer may write, the mail server."""

    source: ComposeSource
    may_write: bool
    smtp: SmtpSettings | None
    fields: dict[str, list[str]]
    """The fields the person fills in for each catalog message, by template key (from its current text).

    Fields worked out from `now` (the promised next update, when the message was prepared) are left out:
    they are computed each time the message is rendered, so a draft never keeps a time gone stale.
    """
    computed: dict[str, list[str]]
    """The fields of each catalog message that are worked out when it is rendered (shown, never edited)."""


def compose_page(incident_id: int, *, viewer: Viewer, now: dt.datetime, status_page_url: str = "",
                 ) -> ComposePage | None:
    """The composer for incident `incident_id`, signed by `viewer`; None when there is no such incident.

    The viewer may write for the accounts they work on and the incidents they own. `status_page_url`
    prefills the message's link to the status page (the caller works it out: status pages sit above
    this package).
    """
    with read_scope() as session:
        source = comms.compose_source(session, incident_id, signer_id=viewer.id, now=now,
                                      status_page_url=status_page_url)
        if source is None:
            return None
        smtp, _ = smtp_config.smtp_settings(session)
        used = {spec.key: template_store.template_fields(template_store.current_template(session, spec.key).sources)
                for spec in catalog.catalog()}
    allowed = may_change_incident(viewer.role, viewer.id, source.account_owner_id, source.owner_id)
    return ComposePage(source=source, may_write=allowed, smtp=smtp,
                       fields={k: [n for n in names if n not in RENDER_TIME_FIELDS] for k, names in used.items()},
                       computed={k: [n for n in names if n in RENDER_TIME_FIELDS] for k, names in used.items()})


def eml_at(incident_id: int, *, key: str, edits: Mapping[str, Any], viewer: Viewer, sender: str, to: Sequence[str],
           cc: Sequence[str] = (), reply_to: str | None = None, now: dt.datetime) -> bytes:
    """Message `key` as an .eml file rendered at `now` (when the person clicks) with what they typed.

    The promised next update and the preparation time are worked out at that
    moment, not when the page was last drawn. CommunicationError when the
    incident is gone or the viewer may no longer write about it.
    """
    with read_scope() as session:
        source = comms.compose_source(session, incident_id, signer_id=viewer.id, now=now)
        if source is None or not may_change_incident(viewer.role, viewer.id, source.account_owner_id,
                                                     source.owner_id):
            raise CommunicationError(f"Incident #{incident_id} cannot be written about: no .eml was built.")
        prepared = comms.prepare_message(session, key=key, context=comms.apply_edits(source.context, dict(edits)))
    return comms.eml_file(prepared, sender=sender, to=to, cc=cc, reply_to=reply_to, now=now)


def preview(*, key: str, context: MessageContext) -> PreparedMessage:
    """Message `key` rendered from its current text with `context` (RenderError when it cannot render)."""
    with read_scope() as session:
        return comms.prepare_message(session, key=key, context=context)


@dataclass(frozen=True)
class TemplatePage:
    """One template on the Message templates page: the text compose uses now and every saved version."""

    current: TemplateText
    history: list[TemplateVersionRow]


def template_page(key: str) -> TemplatePage:
    """Template `key`'s current text and saved versions, newest first."""
    with read_scope() as session:
        return TemplatePage(current=template_store.current_template(session, key),
                            history=template_store.template_history(session, key))


def smtp_page() -> tuple[SmtpSettings | None, int]:
    """The saved email server settings (None when not set up) and their revision (0: never saved)."""
    with read_scope() as session:
        return smtp_config.smtp_settings(session)
