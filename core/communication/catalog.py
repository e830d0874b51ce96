"""The template catalog: which messages exist, their specs, their shipped sources, and the template check.

The shipped templates are the files named in `templates/catalog.yaml`,
loaded by catalog key only and each checked when the catalog is first read.
`check_template` is the one check every template passes before it is used
or saved (syntax, unknown or internal fields, renders of the sample
contexts), run in the isolated worker (core.communication.worker). This
module must never import streamlit, read files other than the shipped
templates, or render a template in the app's own process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from core.communication import worker as template_worker
from core.communication.context import minimal_context, sample_context
from core.communication.fields import CONTEXT_FIELDS, INTERNAL_FIELDS
from core.communication.sandbox import RenderError

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
CATALOG_FILE = TEMPLATE_DIR / "catalog.yaml"


class UnknownTemplate(RenderError):
    """No catalog entry has this key."""


@dataclass(frozen=True)
class TemplateSources:
    """The three template texts of one message ('' for a part it does not have)."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateProblem:
    """Something wrong with a template, found when it is checked (part: subject, text or html)."""

    part: str
    line: int | None
    message: str


# --------------------------------------------------------------------------
# Checking a template before it is saved.


def check_template(
    subject_src: str | None,
    text_src: str | None,
    html_src: str | None,
    *,
    audience: Literal["client", "internal"] = "client",
    channel: Literal["email", "phone", "internal"] = "email",
) -> list[TemplateProblem]:
    """Everything wrong with a template: syntax, unknown or internal fields, and failures on sample data."""
    problems: list[TemplateProblem] = []
    if channel == "email" and not (subject_src or "").strip():
        problems.append(TemplateProblem("subject", None, "an email needs a subject"))
    if not (text_src or "").strip():
        problems.append(TemplateProblem("text", None, "the plain-text part is empty"))
    parts: list[tuple[Literal["subject", "text", "html"], str | None]] = [
        ("subject", subject_src), ("text", text_src), ("html", html_src)]
    for part, source in parts:
        if source:
            problems.extend(check_part(part, source, audience=audience))
    return problems


def check_part(part: Literal["subject", "text", "html"], source: str, *,
               audience: Literal["client", "internal"] = "client") -> list[TemplateProblem]:
    """Problems in one part: syntax, filters, unknown or internal fields, then sample renders (in the worker)."""
    found = template_worker.check_part(
        html=part == "html", source=source, label=f"{part} part", fields=CONTEXT_FIELDS,
        internal=INTERNAL_FIELDS if audience == "client" else (), contexts=_sample_variables())
    return [TemplateProblem(part, problem.line, problem.message) for problem in found]


@functools.lru_cache(maxsize=1)
def _sample_variables() -> tuple[dict[str, Any], ...]:
    return (sample_context().model_dump(), minimal_context().model_dump())


# --------------------------------------------------------------------------
# The catalog of shipped templates.

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,63}$")]
TextFile = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.txt\.j2$")]
HtmlFile = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+\.html\.j2$")]


class TemplateSpec(BaseModel):
    """One message in the catalog: what it is for, where it goes and which fields it needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Key
    title: Annotated[str, StringConstraints(min_length=3, max_length=120)]
    channel: Literal["email", "phone", "internal"]
    audience: Literal["client", "internal"]
    use_when: Annotated[str, StringConstraints(min_length=10, max_length=300)]
    subject: str = ""
    text_file: TextFile
    html_file: HtmlFile | None = None
    requires: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> TemplateSpec:
        if (self.channel == "internal") != (self.audience == "internal"):
            raise ValueError("internal messages use channel 'internal' and audience 'internal'")
        if self.channel == "email" and (not self.subject.strip() or self.html_file is None):
            raise ValueError("an email needs a subject and both a text_file and an html_file")
        if self.channel == "phone" and (self.html_file or self.subject):
            raise ValueError("a phone script has only a text_file (no subject, no html_file)")
        unknown = [name for name in self.requires if name not in CONTEXT_FIELDS]
        if unknown:
            raise ValueError(f"requires unknown fields: {', '.join(unknown)}")
        leaked = [name for name in self.requires if self.audience == "client" and name in INTERNAL_FIELDS]
        if leaked:
            raise ValueError(f"a client message cannot require internal fields: {', '.join(leaked)}")
        return self


class CatalogError(ValueError):
    """templates/catalog.yaml or a template it names is invalid; the message says where."""


@functools.lru_cache(maxsize=1)
def _catalog_index() -> dict[str, TemplateSpec]:
    where = CATALOG_FILE.name
    try:
        raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{where}: cannot be read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("templates"), list):
        raise CatalogError(f"{where}: expected a mapping with a 'templates' list")
    index: dict[str, TemplateSpec] = {}
    for position, entry in enumerate(raw["templates"]):
        try:
            spec = TemplateSpec.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            path = ".".join(str(p) for p in first["loc"])
            raise CatalogError(f"{where}: templates[{position}]{'.' + path if path else ''}: {first['msg']}") from None
        if spec.key in index:
            raise CatalogError(f"{where}: templates[{position}]: key '{spec.key}' appears twice")
        index[spec.key] = spec
        sources = _read_sources(spec)
        problems = check_template(sources.subject, sources.text, sources.html or None,
                                  audience=spec.audience, channel=spec.channel)
        if problems:
            p = problems[0]
            raise CatalogError(f"{where}: template '{spec.key}' ({p.part}, line {p.line}): {p.message}")
    return index


def _read_sources(spec: TemplateSpec) -> TemplateSources:
    def read(name: str | None) -> str:
        if name is None:
            return ""
        path = TEMPLATE_DIR / name
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"{CATALOG_FILE.name}: template '{spec.key}': cannot read {name}: "
                               f"{exc.strerror}") from None
    return TemplateSources(spec.subject, read(spec.text_file), read(spec.html_file))


def catalog() -> list[TemplateSpec]:
    """Every shipped message, in catalog order (validated, every template checked)."""
    return list(_catalog_index().values())


def template_spec(key: str) -> TemplateSpec:
    """The catalog entry of `key`; UnknownTemplate when there is none."""
    spec = _catalog_index().get(key)
    if spec is None:
        raise UnknownTemplate(key, None, f"no template with this key; known keys: {', '.join(_catalog_index())}")
    return spec


@functools.lru_cache(maxsize=64)
def shipped_sources(key: str) -> TemplateSources:
    """The shipped subject, text and HTML of a catalog key (the only way templates are read from disk)."""
    return _read_sources(template_spec(key))
