"""Client and internal messages: the template catalog, the context they are filled from, safe rendering.

Every message the app prepares (emails to the client, the phone script, the
internal handoff and briefing) is a Jinja template filled from one
`MessageContext` of plain values. Templates are either the shipped files
named in `templates/catalog.yaml` (loaded by catalog key only) or text that
a person edited in the app, so they are treated as untrusted: they render in
`MessageSandbox`, an immutable Jinja sandbox with strict undefined names, no
loader, no `safe` filter, no include/import/extends, no autoescape switch,
and limits on every way a template could make a value, a loop or the output
grow without bound. This module must never import streamlit, send anything,
read files other than the shipped templates, or let a template reach Python
internals; it reads no clock (build_context takes `now`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
CATALOG_FILE = TEMPLATE_DIR / "catalog.yaml"

# Sandbox limits. Real messages are a few kilobytes; these leave room for long
# notes while keeping a hostile template to a few megabytes and two seconds.
MAX_TEMPLATE_CHARS = 50_000      # source size of one template part
MAX_VALUE_CHARS = 20_000         # any string a template computes (repeat, concat, filter, call)
MAX_ITEMS = 5_000                # any list a template computes
MAX_RANGE = 1_000                # items range() may produce
MAX_INT_BITS = 128               # integers a template computes (about 38 digits)
MAX_FORMAT_WIDTH = 200           # width or precision in 'text' % value
MAX_OUTPUT_CHARS = 100_000       # rendered size of one part
MAX_PRODUCED_CHARS = 500_000     # everything written, including {% set %} blocks and macro bodies
MAX_OPERATIONS = 20_000          # loop iterations + calls + filters + operators in one render
MAX_RENDER_SECONDS = 2.0

CLIENT_SEVERITY: dict[str, str] = {"P0": "Critical", "P1": "High", "P2": "Medium", "P3": "Low"}
# Status words a client understands (the lifecycle's own labels are for the team).
CLIENT_STATUS: dict[str, str] = {
    "new": "Investigating",
    "acknowledged": "Investigating",
    "mobilized": "Fix in progress",
    "mitigated": "Workaround in place",
    "resolved": "Resolved",
    "closed": "Resolved",
    "reopened": "Investigating again",
}
CLIENT_STATUS_TEXT: dict[str, str] = {
    "new": "We are investigating the cause.",
    "acknowledged": "We are investigating the cause.",
    "mobilized": "Our engineers are working on a fix.",
    "mitigated": "A workaround is in place while we work on a permanent fix.",
    "resolved": "The issue is resolved and the service is working normally.",
    "closed": "The issue is resolved and the service is working normally.",
    "reopened": "The problem came back and we are investigating it again.",
}
BUSINESS_IMPACT_TEXT: dict[str, str] = {
    "stopped": "Work that depends on the affected service cannot go ahead.",
    "major": "Work can continue, but the affected service is slowing it down considerably.",
    "minor": "Work can continue with some inconvenience.",
}
RISK_FLAGS: dict[str, str] = {
    "complete_outage": "Complete outage",
    "security_breach": "Possible security breach",
    "data_loss": "Data loss",
    "data_integrity": "Data integrity in doubt",
    "payment_failure": "Payment processing failing",
    "legal_compliance": "Legal or compliance implications",
    "termination_threat": "Client has mentioned ending the contract",
    "public_reputation_risk": "Public reputation risk",
    "multiple_components_failed": "Several components failed",
    "management_requested": "Client asked for management involvement",
}
# Milestone column -> (client-facing timeline wording, action wording with {time}).
MILESTONE_WORDS: tuple[tuple[str, str, str | None], ...] = (
    ("detected_at", "Problem detected", None),
    ("acknowledged_at", "Our team took ownership", "Our team took ownership of the issue at {time}."),
    ("client_notified_at", "Your team was notified", None),
    ("mobilized_at", "Engineers assigned full-time", "Engineers have worked on it full-time since {time}."),
    ("mitigated_at", "Workaround in place", "A workaround has been in place since {time}."),
    ("resolved_at", "Service restored", None),
)
ASSIGNMENT_ROLES: dict[str, str] = {
    "incident_commander": "Incident commander",
    "technical_lead": "Technical lead",
    "executive_sponsor": "Executive sponsor",
    "communications_lead": "Communications lead",
}


# --------------------------------------------------------------------------
# The context a template is filled from.

Text = Annotated[str, StringConstraints(max_length=10_000)]
Line = Annotated[str, StringConstraints(max_length=2_000)]
Lines = Annotated[list[Line], Field(max_length=50)]
_INTERNAL = {"audience": "internal"}


class MessageContext(BaseModel):
    """Every value a message template may use: plain strings, numbers, booleans and lists of strings.

    Times are already formatted in the client's time zone with the zone
    abbreviation. Fields marked internal never appear in client templates
    (the catalog and `check_template` refuse them there).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The incident, in client words.
    incident_ref: Line = Field(description="Reference the client can quote, e.g. INC-1042.")
    title: Line = Field(description="Short description of the problem.")
    summary: Text = Field("", description="A few sentences on what is going on.")
    severity_label: Line = Field(description="Severity in client words: Critical, High, Medium or Low.")
    status: Line = Field(description="Status in client words, e.g. 'Fix in progress'.")
    is_resolved: bool = Field(False, description="True once the service is restored.")
    prepared_at: Line = Field("", description="When this message was prepared (client time).")
    detected_at: Line = Field(description="When the problem was first detected (client time).")
    client_time_zone: Line = Field(description="The time zone the times are shown in, e.g. Europe/Paris.")
    impact: Text = Field("", description="What is affected, in the client's terms.")
    business_impact: Text = Field("", description="How it affects the client's operations.")
    users_affected: Line = Field("", description="Who is affected, e.g. 'about 80% of your users'.")
    affected_services: Lines = Field([], description="Services or features affected.")
    workaround: Text = Field("", description="Steps the client can take meanwhile (empty: none yet).")
    actions_taken: Lines = Field([], description="What we have done so far.")
    current_status: Text = Field("", description="One or two sentences on where things stand now.")
    next_update_at: Line = Field("", description="When the client will hear from us next (client time).")
    update_cadence: Line = Field("", description="How often updates come, e.g. 'every hour'.")
    update_number: int = Field(1, ge=1, le=10_000, description="Number of this update (1 = first message).")
    estimated_resolution: Line = Field("", description="Our estimate for a fix, if we are confident giving one.")
    timeline: Lines = Field([], description="Key moments so far, one line each (client time).")
    resolved_at: Line = Field("", description="When service was restored (client time).")
    outage_duration: Line = Field("", description="How long the problem lasted, e.g. '2 hours 15 minutes'.")
    root_cause: Text = Field("", description="What caused the problem, in plain words.")
    contributing_factors: Lines = Field([], description="What made it possible or worse.")
    fix_applied: Text = Field("", description="What we changed to fix it.")
    prevention_measures: Lines = Field([], description="What we are doing so it does not happen again.")
    service_credit_amount: Line = Field("", description="Service credit granted, e.g. 'USD 2,500'.")
    service_credit_terms: Line = Field("", description="The credit terms in the client's contract.")
    follow_up_at: Line = Field("", description="Date and time of the follow-up call or review.")
    status_page_url: Line = Field("", description="Public status page for this incident.")
    data_involved: Text = Field("", description="Security incidents: what data may be involved.")
    client_actions: Lines = Field([], description="Steps we recommend the client takes (e.g. rotate keys).")
    request_summary: Text = Field("", description="Legal/compliance: the request we received.")
    response_by: Line = Field("", description="Legal/compliance: when the client will have our response.")
    # Account and people.
    account_name: Line = Field(description="The client company.")
    contact_name: Line = Field("", description="The primary contact's name.")
    contact_names: Lines = Field([], description="Every contact addressed.")
    greeting: Line = Field("", description="Who the message greets (defaults to the contact or the account team).")
    company_name: Line = Field("", description="Our company name, for the signature.")
    csm_name: Line = Field(description="The customer success manager signing the message.")
    csm_title: Line = Field("Customer Success Manager", description="The CSM's job title.")
    csm_email: Line = Field("", description="The CSM's email address.")
    csm_phone: Line = Field("", description="The CSM's direct phone line.")
    technical_lead_name: Line = Field("", description="Engineer leading the technical work.")
    executive_sponsor_name: Line = Field("", description="Executive accountable for the account.")
    executive_sponsor_title: Line = Field("", description="That executive's job title.")
    # Internal only.
    severity: Line = Field("", description="Severity id, e.g. P0.", json_schema_extra=_INTERNAL)
    tier: Line = Field("", description="Customer tier.", json_schema_extra=_INTERNAL)
    red_status: bool = Field(False, description="Red status.", json_schema_extra=_INTERNAL)
    escalation_category: Line = Field("", description="Escalation category.", json_schema_extra=_INTERNAL)
    escalation_level: Line = Field("", description="Current escalation level.", json_schema_extra=_INTERNAL)
    required_level: Line = Field("", description="Level the incident must reach.", json_schema_extra=_INTERNAL)
    escalation_contacts: Lines = Field([], description="Who to reach at the required level.",
                                       json_schema_extra=_INTERNAL)
    escalation_reason: Text = Field("", description="Why we escalate now.", json_schema_extra=_INTERNAL)
    policy: Line = Field("", description="Escalation policy and version.", json_schema_extra=_INTERNAL)
    triage_reasons: Lines = Field([], description="Why triage gave this severity.", json_schema_extra=_INTERNAL)
    risk_flags: Lines = Field([], description="Red flags from triage.", json_schema_extra=_INTERNAL)
    incident_commander_name: Line = Field("", description="Incident commander.", json_schema_extra=_INTERNAL)
    owner_name: Line = Field("", description="Owner of the incident.", json_schema_extra=_INTERNAL)
    response_team: Lines = Field([], description="People in incident roles.", json_schema_extra=_INTERNAL)
    sla_status: Lines = Field([], description="Each SLA clock and where it stands.", json_schema_extra=_INTERNAL)
    resolution_deadline: Line = Field("", description="Resolution deadline.", json_schema_extra=_INTERNAL)
    last_client_update_at: Line = Field("", description="Last client update sent.", json_schema_extra=_INTERNAL)
    client_updates_sent: int = Field(0, ge=0, description="Client messages sent so far.",
                                     json_schema_extra=_INTERNAL)
    revenue_per_hour: Line = Field("", description="Client revenue lost per hour.", json_schema_extra=_INTERNAL)
    incident_duration: Line = Field("", description="Time since detection (or until resolution).",
                                    json_schema_extra=_INTERNAL)
    financial_impact: Line = Field("", description="Revenue per hour x duration.", json_schema_extra=_INTERNAL)
    annual_contract_value: Line = Field("", description="Annual contract value.", json_schema_extra=_INTERNAL)
    renewal_date: Line = Field("", description="Contract renewal date.", json_schema_extra=_INTERNAL)
    contract_commitment: Line = Field("", description="Response commitment in the contract.",
                                      json_schema_extra=_INTERNAL)
    handoff_notes: Text = Field("", description="Anything the next level must know.", json_schema_extra=_INTERNAL)
    evidence: Lines = Field([], description="Logs, dashboards, tickets (links or notes).",
                            json_schema_extra=_INTERNAL)
    recommendations: Lines = Field([], description="Recommended actions.", json_schema_extra=_INTERNAL)
    decisions_needed: Lines = Field([], description="Decisions asked of the reader.", json_schema_extra=_INTERNAL)

    @model_validator(mode="before")
    @classmethod
    def _default_greeting(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("greeting") or "").strip():
            data = {**data, "greeting": data.get("contact_name") or f"{data.get('account_name', '')} team"}
        return data


CONTEXT_FIELDS: frozenset[str] = frozenset(MessageContext.model_fields)
INTERNAL_FIELDS: frozenset[str] = frozenset(
    name for name, info in MessageContext.model_fields.items()
    if (info.json_schema_extra or {}).get("audience") == "internal"  # type: ignore[union-attr]
)
REQUIRED_FIELDS: frozenset[str] = frozenset(
    name for name, info in MessageContext.model_fields.items() if info.is_required()
)


@dataclass(frozen=True)
class FieldHelp:
    """One context field as the template editor shows it."""

    name: str
    description: str
    internal: bool


def context_fields(audience: str = "client") -> list[FieldHelp]:
    """The fields a template for `audience` may use, with their descriptions, in model order."""
    return [FieldHelp(name, info.description or "", name in INTERNAL_FIELDS)
            for name, info in MessageContext.model_fields.items()
            if audience == "internal" or name not in INTERNAL_FIELDS]


# --------------------------------------------------------------------------
# The sandbox.


class TemplateLimitError(SecurityError):
    """A template went past one of the sandbox limits (size, loops, time)."""


class MessageTooLarge(TemplateLimitError):
    """The rendered message is larger than MAX_OUTPUT_CHARS."""


@dataclass
class _Budget:
    """What one render may still spend."""

    deadline: float
    operations: int = 0
    produced: int = 0

    def tick(self) -> None:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise TemplateLimitError(
                f"the template does too much work (more than {MAX_OPERATIONS:,} loop steps, calls and "
                "filters); simplify its loops")
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the template took longer than {MAX_RENDER_SECONDS:g} s to render")


_BUDGET: ContextVar[_Budget | None] = ContextVar("message_render_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        # Also stops compile-time constant folding from running template code outside a render.
        raise TemplateLimitError("message templates only run inside core.messages rendering")
    return budget


def _check_value(value: Any, what: str) -> Any:
    """Refuse a computed value that is too large; return it unchanged otherwise."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise TemplateLimitError(
                f"{what} would produce {len(value):,} characters; a value may have at most {MAX_VALUE_CHARS:,}")
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        if len(value) > MAX_ITEMS:
            raise TemplateLimitError(f"{what} would produce {len(value):,} items; at most {MAX_ITEMS:,} allowed")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"{what} would produce a number that is too large")
    return value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else len(str(value))


def _limited_range(*args: int) -> range:
    """range() for templates: at most MAX_RANGE items."""
    _budget().tick()
    rng = range(*args)
    try:
        size = len(rng)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise TemplateLimitError(f"range() may produce at most {MAX_RANGE:,} numbers in a message template")
    return rng


def _loop_guard(iterable: Any) -> Iterable[Any]:
    """Wrapped around every for-loop's iterable: each step counts against the render budget."""
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


def _finalize(value: Any) -> Any:
    """Only values are written into a message: never a function, class, macro or generator's repr."""
    if isinstance(value, Undefined):
        return value  # printing it raises the usual "'x' is undefined"
    if callable(value) or isinstance(value, (Iterator, ModuleType)):
        raise SecurityError(f"a {type(value).__name__} cannot be written into a message; write a value instead")
    return value


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str) -> None:
    for width, precision in _FORMAT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                raise TemplateLimitError(
                    f"a width or precision above {MAX_FORMAT_WIDTH} in '%' formatting is not allowed")


def _guard_filter(name: str, func: Any, precheck: Any = None) -> Any:
    @functools.wraps(func)  # keeps jinja's pass_context/pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        if precheck is not None:
            args, kwargs = precheck(*args, **kwargs)
        return _check_value(func(*args, **kwargs), f"the '{name}' filter")
    return guarded


def _pre_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> tuple[tuple, dict]:
    items = []
    for item in value:
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise TemplateLimitError(f"the 'join' filter got more than {MAX_ITEMS:,} items")
    total = sum(_length(item) for item in items) + len(str(d)) * max(len(items) - 1, 0)
    if total > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"the 'join' filter would produce {total:,} characters; at most "
                                 f"{MAX_VALUE_CHARS:,} allowed")
    return (eval_ctx, items, d, attribute), {}


def _pre_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> tuple[tuple, dict]:
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    size = len(text) + hits * (len(new_s) - len(old_s))
    if size > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"the 'replace' filter would produce {size:,} characters; at most "
                                 f"{MAX_VALUE_CHARS:,} allowed")
    return (eval_ctx, s, old, new, count), {}


def _pre_indent(s: Any, width: Any = 4, *args: Any, **kwargs: Any) -> tuple[tuple, dict]:
    size = len(width) if isinstance(width, str) else int(width)
    if size > 100:
        raise TemplateLimitError("the 'indent' filter allows at most 100 characters of indentation")
    return (s, width, *args), kwargs


def _pre_wordwrap(environment: Any, s: Any, width: int = 79, break_long_words: bool = True,
                  wrapstring: str | None = None, *args: Any, **kwargs: Any) -> tuple[tuple, dict]:
    if wrapstring is not None and len(str(wrapstring)) > 10:
        raise TemplateLimitError("the 'wordwrap' filter allows a line break of at most 10 characters")
    return (environment, s, width, break_long_words, wrapstring, *args), kwargs


def _pre_count(what: str) -> Any:
    def precheck(value: Any, count: Any, *args: Any, **kwargs: Any) -> tuple[tuple, dict]:
        if int(count) > MAX_ITEMS:
            raise TemplateLimitError(f"the '{what}' filter allows at most {MAX_ITEMS:,}")
        return (value, count, *args), kwargs
    return precheck


# The filters a message needs. Left out on purpose: safe (would switch escaping
# off), format/center (unbounded padding), tojson/pprint/xmlattr (not needed,
# easy to misuse inside HTML attributes), attr, random, lipsum-like helpers.
_ALLOWED_FILTERS: dict[str, Any] = {
    "abs": None, "batch": _pre_count("batch"), "capitalize": None, "count": None, "d": None,
    "default": None, "dictsort": None, "e": None, "escape": None, "filesizeformat": None,
    "first": None, "float": None, "groupby": None, "indent": _pre_indent, "int": None, "items": None,
    "join": _pre_join, "last": None, "length": None, "list": None, "lower": None, "map": None,
    "max": None, "min": None, "reject": None, "rejectattr": None, "replace": _pre_replace,
    "reverse": None, "round": None, "select": None, "selectattr": None, "slice": _pre_count("slice"),
    "sort": None, "string": None, "striptags": None, "sum": None, "title": None, "trim": None,
    "truncate": None, "unique": None, "upper": None, "urlencode": None, "urlize": None,
    "wordcount": None, "wordwrap": _pre_wordwrap,
}
# String methods a template may call; the others can pad or format without bound.
_ALLOWED_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdigit",
    "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "striptags", "unescape",
    # dicts and lists (the immutable sandbox already refuses the mutating ones)
    "items", "keys", "values", "get",
})
_LOOP_GUARD = "loop_guard"


class _GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator with two hooks: `~` concatenation and every output are size-checked."""

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:  # noqa: N802 (jinja's name)
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.guarded_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.count_output({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Any, finalize: Any) -> None:
        self.write("environment.count_output(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Any, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The one Jinja environment class for messages: sandboxed, strict, bounded, with no loader.

    `MessageSandbox(html=True)` escapes every value (HTML part);
    `MessageSandbox(html=False)` renders plain text (subject, text part, phone script).
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            autoescape=html, undefined=StrictUndefined, loader=None, optimized=False, finalize=_finalize,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False,
        )
        self.filters = {name: _guard_filter(name, self.filters[name], pre)
                        for name, pre in _ALLOWED_FILTERS.items()}
        self.filters[_LOOP_GUARD] = _loop_guard
        self.globals = {"range": _limited_range, "dict": dict, "cycler": Cycler, "joiner": Joiner,
                        "namespace": Namespace}

    # -- parse-time rules ---------------------------------------------------
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateSyntaxError(
                f"the template is {len(source):,} characters long; at most {MAX_TEMPLATE_CHARS:,} allowed",
                1, name, filename)
        tree = super()._parse(source, name, filename)
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            raise TemplateSyntaxError(
                "message templates cannot include, import or extend other templates or files",
                node.lineno, name, filename)
        for node in tree.find_all(nodes.EvalContextModifier):
            raise TemplateSyntaxError("message templates cannot switch escaping on or off",
                                      node.lineno, name, filename)
        for node in tree.find_all(nodes.For):
            if node.recursive:
                raise TemplateSyntaxError("recursive loops are not supported in message templates",
                                          node.lineno, name, filename)
            node.iter = nodes.Filter(node.iter, _LOOP_GUARD, [], [], None, None, lineno=node.lineno)
        return tree

    def _load_template(self, name: str, globals: Any) -> Any:  # noqa: A002 (jinja's signature)
        """Refuse every by-name load: get_template, select_template, include, import."""
        raise SecurityError(f"cannot load {name!r}: shipped templates are loaded by catalog key, "
                            "edited ones render from their text")

    # -- run-time rules -----------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Also refuse methods outside a short allowlist (e.g. str.center, str.format, int.to_bytes)."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value) and not isinstance(obj, (Namespace, LoopContext, Cycler)):
            return attr in _ALLOWED_METHODS
        return True

    def wrap_str_format(self, value: Any) -> None:
        """No str.format / format_map at all: they pad without bound ('{:>999999999}')."""
        return None

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Count the call against the budget and size-check its result."""
        _budget().tick()
        return _check_value(super().call(context, obj, *args, **kwargs), "a call in the template")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `+` and `%` with their operands checked before the work is done."""
        _budget().tick()
        if operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                size = len(seq) * times
                limit = MAX_VALUE_CHARS if isinstance(seq, str) else MAX_ITEMS
                if size > limit:
                    raise TemplateLimitError(
                        f"repeating a value {times:,} times would produce {size:,} "
                        f"{'characters' if isinstance(seq, str) else 'items'}; at most {limit:,} allowed")
            elif isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise TemplateLimitError("multiplying these numbers would produce a number that is too large")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                if right > MAX_INT_BITS or left.bit_length() * right > MAX_INT_BITS:
                    raise TemplateLimitError(f"{left} ** {right} would produce a number that is too large")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                size = len(left) + len(right)
                limit = MAX_VALUE_CHARS if isinstance(left, str) else MAX_ITEMS
                if size > limit:
                    raise TemplateLimitError(f"joining these values would produce {size:,}; at most {limit:,} allowed")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return _check_value(super().call_binop(context, operator, left, right), f"the '{operator}' operator")

    def guarded_concat(self, join: Any, parts: tuple[Any, ...]) -> str:
        """The `~` operator: refuse before joining when the result would be too large."""
        _budget().tick()
        size = sum(_length(part) for part in parts)
        if size > MAX_VALUE_CHARS:
            raise TemplateLimitError(f"joining with '~' would produce {size:,} characters; at most "
                                     f"{MAX_VALUE_CHARS:,} allowed")
        return _check_value(join(parts), "joining with '~'")

    def count_output(self, value: Any) -> Any:
        """Everything a template writes, into the output or into a {% set %}/macro buffer, is counted."""
        budget = _budget()
        budget.produced += len(value) if isinstance(value, str) else 0
        if budget.produced > MAX_PRODUCED_CHARS:
            raise TemplateLimitError(f"the template writes more than {MAX_PRODUCED_CHARS:,} characters")
        return value


_TEXT_ENV = MessageSandbox(html=False)
_HTML_ENV = MessageSandbox(html=True)


# --------------------------------------------------------------------------
# Rendering.


class RenderError(ValueError):
    """A template could not be rendered; names the template part and, when known, the line."""

    def __init__(self, template: str, line: int | None, message: str):
        where = f"{template}, line {line}" if line else template
        super().__init__(f"{where}: {message}")
        self.template = template
        self.line = line
        self.message = message


class UnknownTemplate(RenderError):
    """No catalog entry has this key."""


@dataclass(frozen=True)
class RenderedMessage:
    """A filled message: one-line subject, plain text and HTML ('' when the template has no HTML part)."""

    subject: str
    text: str
    html: str


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


@functools.lru_cache(maxsize=256)
def _compile(html: bool, source: str, label: str) -> Any:
    env = _HTML_ENV if html else _TEXT_ENV
    code = env.compile(source, name=label, filename=label)
    return env.template_class.from_code(env, code, env.make_globals(None))


def _error_line(exc: BaseException, label: str) -> int | None:
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == label:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return exc.message or str(exc)
    if isinstance(exc, UndefinedError):
        message = str(exc)
        name = re.match(r"^'([^']+)' is undefined$", message)
        if name:
            return f"{message}: not a message field{_did_you_mean(name.group(1))}"
        return message
    if isinstance(exc, TemplateError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the template nests too deeply (does a macro call itself?)"
    if isinstance(exc, MemoryError):
        return "the template needs too much memory"
    return f"{exc}" or type(exc).__name__


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, sorted(CONTEXT_FIELDS), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _render_part(html: bool, source: str, label: str, variables: Mapping[str, Any]) -> str:
    token = _BUDGET.set(_Budget(deadline=time.monotonic() + MAX_RENDER_SECONDS))
    try:
        template = _compile(html, source, label)
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise MessageTooLarge(f"the message is longer than {MAX_OUTPUT_CHARS:,} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of an untrusted template becomes a RenderError
        raise RenderError(label, _error_line(exc, label), _describe(exc)) from exc
    finally:
        _BUDGET.reset(token)


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
    """
    spec = key_or_template if isinstance(key_or_template, TemplateSpec) else None
    key = spec.key if spec else str(key_or_template)
    if spec is None:
        spec = _catalog_index().get(key)
    if spec is not None:
        shipped = shipped_sources(spec.key)
    elif text_src is not None:
        shipped = TemplateSources("", "", "")
    else:
        raise UnknownTemplate(key, None, f"no template with this key; known keys: {', '.join(_catalog_index())}")
    subject_src = shipped.subject if subject_src is None else subject_src
    text_src = shipped.text if text_src is None else text_src
    html_src = shipped.html if html_src is None else html_src
    variables = context.model_dump()
    labels = _labels(key, spec)
    subject = _render_part(False, subject_src, labels["subject"], variables) if subject_src else ""
    text = _render_part(False, text_src, labels["text"], variables)
    html = _render_part(True, html_src, labels["html"], variables) if html_src else ""
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
    parts = [("subject", subject_src, False), ("text", text_src, False), ("html", html_src, True)]
    for part, source, html in parts:
        if source:
            problems.extend(_check_part(part, source, html, audience))
    return problems


def _check_part(part: str, source: str, html: bool, audience: str) -> list[TemplateProblem]:
    env = _HTML_ENV if html else _TEXT_ENV
    label = f"{part} part"
    try:
        tree = env.parse(source, name=label, filename=label)
        env.compile(source, name=label, filename=label)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(part, exc.lineno, exc.message or str(exc))]
    problems: list[TemplateProblem] = []
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            problems.append(TemplateProblem(part, node.lineno, f"no filter named '{node.name}'"))
    first_line: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        first_line.setdefault(node.name, node.lineno)
    for name in sorted(meta.find_undeclared_variables(tree) - set(env.globals)):
        if name not in CONTEXT_FIELDS:
            problems.append(TemplateProblem(part, first_line.get(name),
                                            f"'{name}' is not a message field{_did_you_mean(name)}"))
        elif audience == "client" and name in INTERNAL_FIELDS:
            problems.append(TemplateProblem(
                part, first_line.get(name),
                f"'{name}' is internal information and cannot be used in a message to the client"))
    if problems:
        return problems
    for context in (sample_context(), minimal_context()):
        try:
            _render_part(html, source, label, context.model_dump())
        except RenderError as exc:
            return [TemplateProblem(part, exc.line, exc.message)]
    return []


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


# --------------------------------------------------------------------------
# Building the context from the incident record.


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def client_zone(contacts: Sequence[Any], account: Any) -> ZoneInfo:
    """The primary contact's time zone, else the account's, else UTC."""
    primary = next((c for c in contacts if getattr(c, "is_primary", False)), None)
    return (_zone(getattr(primary, "time_zone", None)) or _zone(getattr(account, "time_zone", None))
            or ZoneInfo("UTC"))


def format_time(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    """'Mon 2 Mar 2026, 10:00 CET': a UTC instant shown in `zone` with its abbreviation."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: pass timezone-aware UTC times")
    local = moment.astimezone(zone)
    abbrev = local.tzname() or zone.key
    if abbrev[:1] in "+-":
        abbrev = f"UTC{abbrev}"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {abbrev}"


def format_duration(span: dt.timedelta) -> str:
    """'2 hours 15 minutes', '45 minutes', '3 days 4 hours' (rounded down to the minute)."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if mins and not days:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts) or "less than a minute"


def describe_cadence(cadence: dt.timedelta) -> str:
    """'every 30 minutes', 'every hour', 'every 4 hours'."""
    if cadence == dt.timedelta(hours=1):
        return "every hour"
    if cadence == dt.timedelta(days=1):
        return "every day"
    return f"every {format_duration(cadence)}"


def format_money(amount: float | Decimal | int, currency: str = "USD") -> str:
    """'USD 24,000' (whole units)."""
    return f"{currency} {round(float(amount)):,}"


def _person_name(person: Any) -> str:
    if person is None:
        return ""
    if isinstance(person, str):
        return person
    return getattr(person, "display_name", None) or getattr(person, "name", None) or ""


def _policy_of(incident: Any) -> Any:
    snapshot = getattr(incident, "policy_snapshot", None)
    if not snapshot:
        return None
    from core.policy import Policy  # local: only build_context needs the policy model

    try:
        return Policy.model_validate(snapshot)
    except ValidationError:
        return None


def _level_name(policy: Any, level: str | None) -> str:
    if not level:
        return ""
    for item in getattr(policy, "escalation_levels", ()) if policy else ():
        if item.id == level:
            return f"{level} ({item.name})"
    return level


def _level_contacts(policy: Any, level: str | None) -> list[str]:
    for item in getattr(policy, "escalation_levels", ()) if policy and level else ():
        if item.id == level:
            return [", ".join(x for x in (f"{c.role}: {c.name}" if c.name else c.role, c.phone, c.email,
                                          c.channel) if x) for c in item.contacts]
    return []


def _next_update(incident: Any, policy: Any, clocks: Sequence[Any], now: dt.datetime) -> tuple[
        dt.datetime | None, dt.timedelta | None]:
    """When the next client update falls due if this message goes out now, and the cadence."""
    cadence = next((c.target for c in clocks if c.clock == "client_update"), None)
    if cadence is None and policy is not None:
        tier = (getattr(incident, "answers", None) or {}).get("customer_tier") or getattr(
            getattr(incident, "account", None), "tier", None)
        cadence = policy.target("client_update", incident.severity, tier)
    if cadence is None or getattr(incident, "resolved_at", None) is not None:
        return None, cadence
    if policy is not None:
        from core.calendar import add_working_time

        due = add_working_time(now, cadence, policy.calendar_for("client_update"))
    else:
        due = now + cadence
    # Promise a round time no later than the deadline (never earlier than now).
    rounded = due.replace(second=0, microsecond=0) - dt.timedelta(minutes=due.minute % 5)
    return (rounded if rounded > now else due), cadence


def build_context(
    *,
    incident: Any,
    account: Any,
    contacts: Sequence[Any] = (),
    csm: Any = None,
    assignments: Mapping[str, Any] | None = None,
    communications: Sequence[Any] = (),
    clocks: Sequence[Any] = (),
    now: dt.datetime,
    overrides: Mapping[str, Any] | None = None,
) -> MessageContext:
    """Fill a MessageContext from the incident record; `overrides` (what the CSM typed) win.

    Inputs are the ORM rows as the caller loaded them, or any objects with
    the same attribute names: `incident` an `Incident` (its `policy_snapshot`
    gives the update cadence, calendar and level names), `account` an
    `Account`, `contacts` its `Contact` rows (the primary one's zone is used,
    else the account's), `csm` the owning `User` or None, `assignments` a
    mapping of role key (incident_commander, technical_lead,
    executive_sponsor, ...) to a `User` or a plain name, `communications` the
    incident's `Communication` rows, `clocks` the `SlaClock` list from
    `core.clocks.compute_clocks` at `now`. `overrides` maps MessageContext
    field names to values (unknown names are refused). The next update is
    due one client-update cadence after `now` (the moment this message goes
    out), on the policy's calendar, rounded down to five minutes.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown message fields: {', '.join(unknown)}")
    zone = client_zone(contacts, account)

    def fmt(moment: dt.datetime | None) -> str:
        return format_time(moment, zone)

    answers: Mapping[str, Any] = getattr(incident, "answers", None) or {}
    policy = _policy_of(incident)
    status = str(getattr(incident, "status", "new"))
    resolved_at = getattr(incident, "resolved_at", None)
    detected_at = incident.detected_at
    roles = {role: _person_name(person) for role, person in (assignments or {}).items()}
    primary = next((c for c in contacts if getattr(c, "is_primary", False)), contacts[0] if contacts else None)
    contract = getattr(account, "contract_terms", None) or {}

    actions = []
    for column, _, wording in MILESTONE_WORDS:
        moment = getattr(incident, column, None)
        if wording and moment is not None:
            actions.append(wording.format(time=fmt(moment)))
        if column == "mobilized_at" and roles.get("technical_lead"):
            actions.append(f"{roles['technical_lead']} is leading the technical work.")
    timeline = [f"{fmt(getattr(incident, column))} - {label}"
                for column, label, _ in MILESTONE_WORDS if getattr(incident, column, None) is not None]

    client_comms = [c for c in communications
                    if getattr(c, "channel", "") in ("email", "phone") and getattr(c, "delivery", "sent") != "failed"]
    last_update = max((c.sent_at for c in client_comms), default=None)
    next_update, cadence = _next_update(incident, policy, clocks, now)

    duration = (resolved_at or now) - detected_at
    revenue = answers.get("revenue_impact_per_hour")
    users_pct = answers.get("users_affected_pct")
    acv = getattr(account, "annual_contract_value", None)
    renewal = getattr(account, "renewal_date", None)
    resolution_clock = next((c for c in clocks if c.clock == "resolution"), None)
    credits = str(contract.get("service_credits") or "")
    triage_reasons = [r.get("text", "") for r in (getattr(incident, "triage_result", None) or {}).get("reasons", [])
                      if isinstance(r, dict) and r.get("text")]

    values: dict[str, Any] = {
        "incident_ref": f"INC-{incident.id}",
        "title": incident.title,
        "summary": getattr(incident, "summary", "") or "",
        "severity_label": CLIENT_SEVERITY.get(incident.severity, incident.severity),
        "status": CLIENT_STATUS.get(status, status.capitalize()),
        "is_resolved": resolved_at is not None,
        "prepared_at": fmt(now),
        "detected_at": fmt(detected_at),
        "client_time_zone": zone.key,
        "impact": getattr(incident, "summary", "") or "",
        "business_impact": BUSINESS_IMPACT_TEXT.get(str(answers.get("business_impact")), ""),
        "users_affected": f"about {round(float(users_pct))}% of your users" if users_pct else "",
        "actions_taken": actions,
        "current_status": CLIENT_STATUS_TEXT.get(status, ""),
        "next_update_at": fmt(next_update),
        "update_cadence": describe_cadence(cadence) if cadence and resolved_at is None else "",
        "update_number": len(client_comms) + 1,
        "timeline": timeline,
        "resolved_at": fmt(resolved_at),
        "outage_duration": format_duration(resolved_at - detected_at) if resolved_at else "",
        "service_credit_terms": "" if credits.strip().lower() in ("", "none") else credits,
        "account_name": account.name,
        "contact_name": _person_name(primary),
        "contact_names": [_person_name(c) for c in contacts if _person_name(c)],
        "csm_name": _person_name(csm) or "Customer Success team",
        "csm_email": getattr(csm, "email", "") or "",
        "technical_lead_name": roles.get("technical_lead", ""),
        "executive_sponsor_name": roles.get("executive_sponsor", ""),
        # internal
        "severity": incident.severity,
        "tier": str(answers.get("customer_tier") or getattr(account, "tier", "") or ""),
        "red_status": bool(getattr(incident, "red_status", False)),
        "escalation_category": str(getattr(incident, "escalation_category", "") or ""),
        "escalation_level": _level_name(policy, getattr(incident, "current_level", None)),
        "required_level": _level_name(policy, getattr(incident, "required_level", None)),
        "escalation_contacts": _level_contacts(policy, getattr(incident, "required_level", None)
                                               or getattr(incident, "current_level", None)),
        "policy": (f"{incident.policy_name} v{incident.policy_version}"
                   if getattr(incident, "policy_name", None) else ""),
        "triage_reasons": triage_reasons[:50],
        "risk_flags": [label for flag, label in RISK_FLAGS.items() if answers.get(flag) is True],
        "incident_commander_name": roles.get("incident_commander", ""),
        "owner_name": _person_name(getattr(incident, "owner", None)),
        "response_team": [f"{ASSIGNMENT_ROLES.get(role, role.replace('_', ' ').capitalize())}: {name}"
                          for role, name in roles.items() if name],
        "sla_status": [f"{c.label}: {c.state} (due {fmt(c.deadline)})" for c in clocks][:50],
        "resolution_deadline": fmt(resolution_clock.deadline) if resolution_clock else "",
        "last_client_update_at": fmt(last_update),
        "client_updates_sent": len(client_comms),
        "incident_duration": format_duration(duration),
        "revenue_per_hour": format_money(revenue) if revenue else "",
        "financial_impact": (f"about {format_money(float(revenue) * duration.total_seconds() / 3600)} "
                             f"({format_money(revenue)} per hour for {format_duration(duration)})"
                             if revenue else ""),
        "annual_contract_value": format_money(acv) if acv else "",
        "renewal_date": f"{renewal.day} {renewal:%b %Y}" if renewal else "",
        "contract_commitment": str(contract.get("response_commitment") or ""),
    }
    values.update(overrides)
    return MessageContext.model_validate(values)


# --------------------------------------------------------------------------
# Sample data, for previews and for checking a template before it is saved.


def minimal_context() -> MessageContext:
    """A context with only the required fields: every optional part of a template must cope with it."""
    return MessageContext(
        incident_ref="INC-1", title="Service problem", severity_label="High", status="Investigating",
        detected_at="Mon 2 Mar 2026, 09:00 UTC", client_time_zone="UTC", account_name="Example Ltd",
        csm_name="Customer Success team",
    )


def sample_context() -> MessageContext:
    """A fully filled example (a critical outage at a fictional client) for previews."""
    return MessageContext(
        incident_ref="INC-1042", title="Order exports failing", severity_label="Critical",
        status="Fix in progress", is_resolved=False, prepared_at="Mon 2 Mar 2026, 10:40 CET",
        summary="Scheduled order exports to the warehouse system have failed since 09:12.",
        detected_at="Mon 2 Mar 2026, 09:12 CET", client_time_zone="Europe/Paris",
        impact="Orders placed since 09:12 are not reaching your warehouse system.",
        business_impact=BUSINESS_IMPACT_TEXT["stopped"], users_affected="about 80% of your users",
        affected_services=["Order export", "Warehouse sync"],
        workaround="Download the order file from Reports > Orders and upload it to the warehouse portal.",
        actions_taken=["Our team took ownership of the issue at Mon 2 Mar 2026, 09:20 CET.",
                       "Engineers have worked on it full-time since Mon 2 Mar 2026, 09:35 CET."],
        current_status="Our engineers are working on a fix.", next_update_at="Mon 2 Mar 2026, 11:40 CET",
        update_cadence="every hour", update_number=2, estimated_resolution="by 14:00 CET today",
        timeline=["Mon 2 Mar 2026, 09:12 CET - Problem detected",
                  "Mon 2 Mar 2026, 09:20 CET - Our team took ownership"],
        resolved_at="Mon 2 Mar 2026, 13:05 CET", outage_duration="3 hours 53 minutes",
        root_cause="A certificate used by the export connection expired.",
        contributing_factors=["The renewal reminder went to a mailbox nobody monitors."],
        fix_applied="We installed a renewed certificate and re-sent every delayed export.",
        prevention_measures=["Certificates are now renewed automatically 30 days before expiry.",
                             "Expiry alerts go to the on-call engineer."],
        service_credit_amount="USD 2,500", service_credit_terms="10% of the monthly fee per hour beyond SLA",
        follow_up_at="Wed 4 Mar 2026, 15:00 CET", status_page_url="https://status.example.com/inc-1042",
        data_involved="Order numbers and delivery addresses.",
        client_actions=["Rotate the API key used by your warehouse integration."],
        request_summary="A request to confirm how long order data is kept.",
        response_by="Fri 6 Mar 2026, 17:00 CET",
        account_name="Acme Retail", contact_name="Ana Martin", contact_names=["Ana Martin", "IT Service Desk"],
        company_name="Example Software", csm_name="Sam Lee", csm_email="sam.lee@example.com",
        csm_phone="+1 555 0100", technical_lead_name="Priya Shah", executive_sponsor_name="Jordan Blake",
        executive_sponsor_title="VP Customer Success",
        severity="P0", tier="enterprise", red_status=True, escalation_category="immediate",
        escalation_level="L2 (Management)", required_level="L3 (Executive)",
        escalation_contacts=["VP Customer Success: Jordan Blake, +1 555 0177"],
        escalation_reason="Still unresolved after two hours with the client's business stopped.",
        policy="red-status v1", triage_reasons=["Customer business is stopped"],
        risk_flags=["Complete outage"], incident_commander_name="Kim Ortiz", owner_name="Sam Lee",
        response_team=["Technical lead: Priya Shah"], sla_status=["Resolve: running (due Mon 2 Mar 2026, 13:12 CET)"],
        resolution_deadline="Mon 2 Mar 2026, 13:12 CET", last_client_update_at="Mon 2 Mar 2026, 09:40 CET",
        client_updates_sent=1, revenue_per_hour="USD 8,000", incident_duration="1 hour 28 minutes",
        financial_impact="about USD 11,733 (USD 8,000 per hour for 1 hour 28 minutes)",
        annual_contract_value="USD 240,000", renewal_date="1 Sep 2026",
        contract_commitment="1 hour, 24/7", handoff_notes="Client asked for a call with engineering.",
        evidence=["Export job log: jobs 5512-5530 failed with TLS handshake errors"],
        recommendations=["Credit the client for the hours beyond the SLA."],
        decisions_needed=["Approve the service credit."],
    )
