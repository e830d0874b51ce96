"""Rendering a message: a catalog template (or an edited version of it) filled from a MessageContext.

Templates are either the shipped files of the catalog
(core.communication.catalog) or text a person edited in the app, so they are
treated as untrusted: every part renders in `MessageSandbox`
(core.communication.sandbox: strict, no loader, no `safe` filter, limits on
every way a value, a loop or the output could grow), inside an isolated
worker process with hard CPU, memory and time limits
(core.communication.worker). This module must never import streamlit, send
anything, render a template in the app's own process, or let a template
reach Python internals; it reads no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.communication import worker as template_worker
from core.communication.catalog import TemplateSources, TemplateSpec, UnknownTemplate, shipped_sources, template_spec
from core.communication.fields import MessageContext


@dataclass(frozen=True)
class RenderedMessage:
    """A filled message: one-line subject, plain text and HTML ('' when the template has no HTML part)."""

    subject: str
    text: str
    html: str


def render(
    key_or_template: str | TemplateSpec,
    context: MessageContext,
    *,
    subject_src: str | None = None,
    text_src: str | None = None,
    html_src: str | None = None,
) -> RenderedMessage:
    """Fill a catalog template (or an edited version of it: any *_src given replaces that part).

    A key that is not in the catalog renders only when `text_src` is given
    (a template made in the app). The subject is folded onto one line.
    Every part renders in an isolated worker process (core.communication.worker):
    a template that runs past MAX_RENDER_SECONDS or MAX_RENDER_MEGABYTES
    gets a RenderError saying so, and the app's other sessions never wait.
    """
    spec = key_or_template if isinstance(key_or_template, TemplateSpec) else None
    key = spec.key if spec else str(key_or_template)
    if spec is None:
        try:
            spec = template_spec(key)
        except UnknownTemplate:
            if text_src is None:
                raise
    shipped = shipped_sources(spec.key) if spec is not None else TemplateSources("", "", "")
    subject_src = shipped.subject if subject_src is None else subject_src
    text_src = shipped.text if text_src is None else text_src
    html_src = shipped.html if html_src is None else html_src
    variables = context.model_dump()
    labels = _labels(key, spec)
    subject = (template_worker.render_part(html=False, source=subject_src, label=labels["subject"],
                                           variables=variables) if subject_src else "")
    text = template_worker.render_part(html=False, source=text_src, label=labels["text"], variables=variables)
    html = (template_worker.render_part(html=True, source=html_src, label=labels["html"], variables=variables)
            if html_src else "")
    return RenderedMessage(subject=" ".join(subject.split()), text=text, html=html)


def _labels(key: str, spec: TemplateSpec | None) -> dict[str, str]:
    return {
        "subject": f"{key} (subject)",
        "text": spec.text_file if spec else f"{key} (text part)",
        "html": (spec.html_file or f"{key} (HTML part)") if spec else f"{key} (HTML part)",
    }


def missing_fields(key_or_template: str | TemplateSpec, context: MessageContext) -> list[str]:
    """The fields the catalog says this message needs that are still empty in `context`."""
    spec = key_or_template if isinstance(key_or_template, TemplateSpec) else template_spec(key_or_template)
    return [name for name in spec.requires if getattr(context, name) in ("", [], None, 0)]

