"""Rendering and checking one template part (subject, text or HTML) inside the sandbox, as the worker does.

`render_part` fills one part under the sandbox budget and turns any failure
into a RenderError naming the part and line; `check_part` finds everything
wrong with a part before it is saved (syntax, unknown filters, unknown or
internal names, then renders of the sample contexts). Like the sandbox it
imports only Jinja2 and the standard library, so the isolated render worker
(core.communication.worker) can load it. Only that worker may call these
functions: here a single long built-in call cannot be interrupted. This
module must never read or write files or render an edited template in the
app's own process.
"""

from __future__ import annotations

import difflib
import functools
import re
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateError, UndefinedError

from core.communication.sandbox import (
    MAX_MESSAGE_CHARS,
    MAX_OUTPUT_CHARS,
    MAX_RENDER_SECONDS,
    MEMORY_LIMIT_MESSAGE,
    MessageTooLarge,
    PartProblem,
    RenderError,
    budget,
    environment,
    error_kind,
)

NESTED_SOURCE_MESSAGE = "the template nests its tags, loops or brackets too deeply: flatten it"


@functools.lru_cache(maxsize=64)
def _compile(html: bool, source: str, label: str) -> Any:
    env = environment(html)
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


def _describe(exc: BaseException, fields: Collection[str]) -> str:
    if isinstance(exc, TemplateSyntaxError):
        message = exc.message or str(exc)
    elif isinstance(exc, UndefinedError):
        message = str(exc)
        name = re.match(r"^'([^']+)' is undefined$", message)
        if name:
            message = f"{message}: not a message field{_did_you_mean(name.group(1), fields)}"
    elif isinstance(exc, TemplateError):
        message = str(exc)
    elif isinstance(exc, RecursionError):
        message = "the template nests too deeply (does a macro call itself?)"
    elif isinstance(exc, MemoryError):
        message = MEMORY_LIMIT_MESSAGE
    else:
        message = f"{exc}" or type(exc).__name__
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "..."


def _did_you_mean(name: str, fields: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def render_part(html: bool, source: str, label: str, variables: Mapping[str, Any], *,
                deadline: float | None = None, fields: Collection[str] | None = None) -> str:
    """Render one part in this process under the budget; RenderError (cause: the original error) on failure.

    Only the render worker calls this: here a single long built-in call
    cannot be interrupted. `deadline` is a time.monotonic() value (default:
    MAX_RENDER_SECONDS from now); `fields` are the names suggested for a
    misspelt one (default: the variables given).
    """
    started = time.monotonic()
    with budget(deadline if deadline is not None else started + MAX_RENDER_SECONDS):
        try:
            try:
                template = _compile(html, source, label)
            except (RecursionError, SyntaxError) as exc:  # Jinja's parser or Python's compiler gave up on the nesting
                raise RenderError(label, None, NESTED_SOURCE_MESSAGE) from exc
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
        except Exception as exc:
            raise RenderError(label, _error_line(exc, label), _describe(exc, variables if fields is None else fields)
                              ) from exc


def check_part(html: bool, source: str, label: str, *, fields: Collection[str], internal: Collection[str],
               contexts: Sequence[Mapping[str, Any]], deadline: float | None = None) -> list[PartProblem]:
    """Everything wrong with one part: syntax, unknown filters, names outside `fields` or in `internal`
    (fields a client message may not use), then a render with each of `contexts`.

    Only the render worker calls this. Every render shares one deadline
    (default: MAX_RENDER_SECONDS from now).
    """
    deadline = deadline if deadline is not None else time.monotonic() + MAX_RENDER_SECONDS
    env = environment(html)
    try:
        tree = env.parse(source, name=label, filename=label)
        _compile(html, source, label)
    except TemplateSyntaxError as exc:
        return [PartProblem(exc.lineno, _describe(exc, fields), "TemplateSyntaxError")]
    except (RecursionError, SyntaxError) as exc:  # Jinja's parser or Python's compiler gave up on the nesting
        return [PartProblem(None, NESTED_SOURCE_MESSAGE, error_kind(exc))]
    problems: list[PartProblem] = []
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            problems.append(PartProblem(node.lineno, f"no filter named '{node.name}'"))
    first_line: dict[str, int] = {}
    for name_node in tree.find_all(nodes.Name):
        first_line.setdefault(name_node.name, name_node.lineno)
    for name in sorted(meta.find_undeclared_variables(tree) - set(env.globals)):
        if name not in fields:
            problems.append(PartProblem(first_line.get(name),
                                        f"'{name}' is not a message field{_did_you_mean(name, fields)}"))
        elif name in internal:
            problems.append(PartProblem(
                first_line.get(name),
                f"'{name}' is internal information and cannot be used in a message to the client"))
    if problems:
        return problems
    for variables in contexts:
        try:
            render_part(html, source, label, variables, deadline=deadline, fields=fields)
        except RenderError as exc:
            return [PartProblem(exc.line, exc.message, error_kind(exc.__cause__))]
    return []


def warm_up() -> None:
    """Render a small template in both environments, so a worker's baseline includes Jinja's working set."""
    source = "{% for i in range(2) %}{{ x|upper ~ i }}{% endfor %}{{ '%s' % x }}"
    for html in (False, True):
        render_part(html, source, "warm-up", {"x": "a"})
