"""The Jinja sandbox every message template renders in, and the checks it runs before a template is saved.

A self-contained module: it imports only Jinja2 and the standard library, so
the isolated render worker (core.communication.worker) can load it without
pydantic, YAML, SQLAlchemy or Streamlit. `MessageSandbox` is an immutable
Jinja sandbox with strict undefined names, no loader, no `safe` filter, no
include/import/extends, no autoescape switch, and a budget on every way a
template could make a value, a loop or the output grow. Those budgets are
checked between operations, so they give clear messages but cannot stop one
long built-in call: the hard bound is the worker process's CPU, memory and
wall-clock limit. This module must never be used to render an edited
template in the app's own process (go through core.communication.worker), read or
write files, or let a template reach Python internals.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

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
MAX_RENDER_SECONDS = 2.0          # one part (checking a part: both sample renders together)
MAX_RENDER_MEGABYTES = 64        # memory a render may take beyond the worker's own baseline

TIME_LIMIT_MESSAGE = (f"this template took more than {MAX_RENDER_SECONDS:g} s to render: make its loops "
                      "and repeated values smaller")
MEMORY_LIMIT_MESSAGE = (f"this template needed more than {MAX_RENDER_MEGABYTES} MB to render: make the "
                        "values it builds smaller")


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
            raise TemplateLimitError(TIME_LIMIT_MESSAGE)


# A filter's positional and keyword arguments, as a precheck hands them on.
_Arguments = tuple[tuple[Any, ...], dict[str, Any]]
_V = TypeVar("_V")

_BUDGET: ContextVar[_Budget | None] = ContextVar("message_render_budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        # Also stops compile-time constant folding from running template code outside a render.
        raise TemplateLimitError("message templates only run inside a sandboxed render")
    return budget


def _check_value(value: _V, what: str) -> _V:
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
    # A cycler is not callable, but its repr shows Jinja's module path and a memory address.
    if callable(value) or isinstance(value, (Iterator, ModuleType, Cycler)):
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


def _pre_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> _Arguments:
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


def _pre_replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> _Arguments:
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    size = len(text) + hits * (len(new_s) - len(old_s))
    if size > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"the 'replace' filter would produce {size:,} characters; at most "
                                 f"{MAX_VALUE_CHARS:,} allowed")
    return (eval_ctx, s, old, new, count), {}


def _pre_indent(s: Any, width: Any = 4, *args: Any, **kwargs: Any) -> _Arguments:
    size = len(width) if isinstance(width, str) else int(width)
    if size > 100:
        raise TemplateLimitError("the 'indent' filter allows at most 100 characters of indentation")
    return (s, width, *args), kwargs


def _pre_wordwrap(environment: Any, s: Any, width: int = 79, break_long_words: bool = True,
                  wrapstring: str | None = None, *args: Any, **kwargs: Any) -> _Arguments:
    if wrapstring is not None and len(str(wrapstring)) > 10:
        raise TemplateLimitError("the 'wordwrap' filter allows a line break of at most 10 characters")
    return (environment, s, width, break_long_words, wrapstring, *args), kwargs


def _pre_count(what: str) -> Any:
    def precheck(value: Any, count: Any, *args: Any, **kwargs: Any) -> _Arguments:
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

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
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

    def _load_template(self, name: str, globals: Any) -> Any:
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

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
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
            elif (isinstance(left, int) and isinstance(right, int)
                  and left.bit_length() + right.bit_length() > MAX_INT_BITS):
                raise TemplateLimitError("multiplying these numbers would produce a number that is too large")
        elif operator == "**":
            if (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
                    and (right > MAX_INT_BITS or left.bit_length() * right > MAX_INT_BITS)):
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

    def guarded_concat(self, join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
        """The `~` operator: refuse before joining when the result would be too large."""
        _budget().tick()
        size = sum(_length(part) for part in parts)
        if size > MAX_VALUE_CHARS:
            raise TemplateLimitError(f"joining with '~' would produce {size:,} characters; at most "
                                     f"{MAX_VALUE_CHARS:,} allowed")
        joined: str = join(parts)
        return _check_value(joined, "joining with '~'")

    def count_output(self, value: Any) -> Any:
        """Everything a template writes, into the output or into a {% set %}/macro buffer, is counted."""
        budget = _budget()
        budget.produced += len(value) if isinstance(value, str) else 0
        if budget.produced > MAX_PRODUCED_CHARS:
            raise TemplateLimitError(f"the template writes more than {MAX_PRODUCED_CHARS:,} characters")
        return value


_TEXT_ENV = MessageSandbox(html=False)
_HTML_ENV = MessageSandbox(html=True)


def environment(html: bool) -> MessageSandbox:
    """The shared sandbox for an HTML part (values escaped) or a plain-text part."""
    return _HTML_ENV if html else _TEXT_ENV


@contextlib.contextmanager
def budget(deadline: float) -> Iterator[None]:
    """Within this block templates may run, spending at most the render budget until `deadline` (monotonic)."""
    token = _BUDGET.set(_Budget(deadline=deadline))
    try:
        yield
    finally:
        _BUDGET.reset(token)


# --------------------------------------------------------------------------
# The errors a render reports (rendering and checking a part is core.communication.parts).

MAX_MESSAGE_CHARS = 500  # an error message quotes at most this much (a hostile value could be huge)


class RenderError(ValueError):
    """A template could not be rendered; names the template part and, when known, the line."""

    def __init__(self, template: str, line: int | None, message: str):
        where = f"{template}, line {line}" if line else template
        super().__init__(f"{where}: {message}")
        self.template = template
        self.line = line
        self.message = message


@dataclass(frozen=True)
class PartProblem:
    """One thing wrong with a template part: its line (None: the whole part), what to fix, and the error kind."""

    line: int | None
    message: str
    kind: str = "TemplateError"


# The error kinds a worker reports, rebuilt in the app process as the RenderError's cause.
_CAUSES: dict[str, type[BaseException]] = {
    cls.__name__: cls for cls in (MessageTooLarge, TemplateLimitError, SecurityError, UndefinedError,
                                  TemplateError, RecursionError, MemoryError)
}


def rebuild_cause(kind: str, message: str, line: int | None) -> BaseException | None:
    """The exception a worker's error kind stands for (the RenderError's __cause__), or None for other kinds."""
    if kind == "TemplateSyntaxError":
        return TemplateSyntaxError(message, line or 1)
    cls = _CAUSES.get(kind)
    return cls(message) if cls is not None else None


def error_kind(exc: BaseException | None) -> str:
    """The name a worker reports for the exception behind a failure."""
    return type(exc).__name__ if exc is not None else "RenderError"
