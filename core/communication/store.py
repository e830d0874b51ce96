"""Edited templates: the versions an admin saves in the app, and which fields a template lets people edit.

A message renders from the newest version saved here, else the shipped file
of the catalog (core.communication.catalog). Every save is checked by the
same rules as the shipped templates, refused when someone saved meanwhile,
and audited with a diff; messages already sent keep their own text. This
module must never import streamlit or read the clock (callers pass `now`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from dataclasses import dataclass

import jinja2
from jinja2 import meta
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.communication.catalog import TemplateSources, check_template, shipped_sources, template_spec
from core.communication.errors import CommunicationError, TemplateConflict, TemplateRejected, check_may_configure
from core.communication.fields import CONTEXT_FIELDS, MessageContext
from core.people.users import Actor
from db.models import MessageTemplateVersion, User


@dataclass(frozen=True)
class TemplateText:
    """The text a template renders from now: `version` None means the shipped file."""

    key: str
    version: int | None
    sources: TemplateSources


@dataclass(frozen=True)
class TemplateVersionRow:
    """One saved version, as the history shows it."""

    version: int
    saved_at: dt.datetime
    saved_by: str
    subject: str
    text: str
    html: str


def _latest_row(session: Session, key: str) -> MessageTemplateVersion | None:
    stmt = (select(MessageTemplateVersion).where(MessageTemplateVersion.key == key)
            .order_by(MessageTemplateVersion.version.desc()).limit(1))
    return session.scalar(stmt)


def current_template(session: Session, key: str) -> TemplateText:
    """The newest saved version of template `key`, or the shipped file when none was saved."""
    template_spec(key)  # UnknownTemplate for a key outside the catalog
    row = _latest_row(session, key)
    if row is None:
        return TemplateText(key, None, shipped_sources(key))
    return TemplateText(key, row.version, TemplateSources(row.subject, row.body_text, row.body_html))


def template_history(session: Session, key: str) -> list[TemplateVersionRow]:
    """Every saved version of `key`, newest first (the shipped file is not in it)."""
    stmt = (select(MessageTemplateVersion, User.display_name)
            .outerjoin(User, User.id == MessageTemplateVersion.created_by_id)
            .where(MessageTemplateVersion.key == key).order_by(MessageTemplateVersion.version.desc()))
    return [TemplateVersionRow(row.version, row.created_at, name or "system", row.subject, row.body_text,
                               row.body_html) for row, name in session.execute(stmt)]


def save_template(
    session: Session, *, key: str, subject: str, text: str, html: str, expected_version: int | None,
    actor: Actor, now: dt.datetime,
) -> MessageTemplateVersion:
    """Check an edited template and store it as the next version; messages already sent keep their text.

    `expected_version` is the version the editor was showing (None: the
    shipped file). TemplateRejected lists every problem with its line;
    TemplateConflict when someone saved meanwhile.
    """
    check_may_configure(actor, "the message templates")
    spec = template_spec(key)
    subject = " ".join(subject.split()) if spec.channel != "phone" else ""
    html = html if spec.channel == "email" else ""
    problems = check_template(subject or None, text, html or None,
                                       audience=spec.audience, channel=spec.channel)
    if problems:
        raise TemplateRejected(problems)
    current = current_template(session, key)
    if current.version != expected_version:
        latest = _latest_row(session, key)
        author = session.get(User, latest.created_by_id) if latest and latest.created_by_id else None
        who = author.display_name if author is not None else "someone"
        raise TemplateConflict(
            f"{who} saved '{spec.title}' as version {current.version} while you were editing "
            f"version {expected_version or 'shipped'}. Your draft is still in the editor and nothing was saved: "
            "compare it with the new version in the history, then save again.")
    if (current.sources.subject, current.sources.text, current.sources.html) == (subject, text, html):
        raise CommunicationError("Nothing changed: edit the template before saving a new version.")
    number = (current.version or 0) + 1
    row = MessageTemplateVersion(key=key, version=number, title=spec.title, channel=spec.channel, subject=subject,
                                 body_text=text, body_html=html, is_shipped=False, created_by_id=actor.id,
                                 created_at=now)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise TemplateConflict(f"Someone saved '{spec.title}' version {number} at the same moment. Your draft is "
                               "still in the editor: reload the history and save again.") from None
    before = current.sources
    diff = "".join(
        "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=f"{part} v{current.version or 'shipped'}", tofile=f"{part} v{number}"))
        for part, old, new in (("subject", before.subject + "\n", subject + "\n"), ("text", before.text, text),
                               ("html", before.html, html)))
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="message_template", entity_id=key,
                 action="save_version", changes={"version": [current.version, number], "diff": diff}, at=now)
    return row


def template_fields(sources: TemplateSources) -> list[str]:
    """The message fields a template uses, in MessageContext order (what the composer lets people edit)."""
    return list(_fields_of(sources.subject, sources.text, sources.html))


# Parsing the catalog's templates took most of the composer's render (about 0.2 s for 13 messages);
# the answer depends only on the texts, and a saved version is a new text, so it is kept per text.
@functools.lru_cache(maxsize=256)
def _fields_of(subject: str, text: str, html: str) -> tuple[str, ...]:
    parser = jinja2.Environment(autoescape=False)
    used: set[str] = set()
    for source in (subject, text, html):
        if source:
            try:
                used |= meta.find_undeclared_variables(parser.parse(source))
            except jinja2.TemplateSyntaxError:
                return tuple(CONTEXT_FIELDS)
    return tuple(name for name in MessageContext.model_fields if name in used)


def field_kind(name: str) -> str:
    """How a field is edited: 'line', 'text' (several lines), 'lines' (a list), 'number' or 'flag'."""
    info = MessageContext.model_fields[name]
    if info.annotation is bool:
        return "flag"
    if info.annotation is int:
        return "number"
    if getattr(info.annotation, "__origin__", None) is list:
        return "lines"
    limit = next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), 0)
    return "text" if limit > 2_000 else "line"
