"""Loading policies: YAML within size, depth and alias limits, with errors that name file and line.

A policy file is refused before it is parsed when it is too large, and while it
is parsed when it nests too deeply, repeats a key or expands aliases into too
many values; what parses is validated by `core.policy.schema.Policy`, and every
problem names the file, the line, the path inside the policy and what is
allowed. Also the bundled presets. Never imports streamlit, never reads the
clock; the only I/O is reading the policy file it is asked to load.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.policy.schema import Policy, stored_policy

PRESET_DIR = Path(__file__).resolve().parent / "presets"


class PolicyError(ValueError):
    """A policy file is missing, unreadable or invalid; the message says where and why."""


# What a policy file may be before it is even parsed: a policy is a few KB
# (the presets are 12-19 KB, about 1,000 values, nested 10 deep), so these
# leave room for any real one and refuse the rest in milliseconds.
MAX_POLICY_BYTES = 256 * 1024
MAX_POLICY_DEPTH = 32
# Values once every alias is expanded: stops "billion laughs" files whose
# few lines name each other until validation would walk billions of values.
MAX_POLICY_VALUES = 50_000
_TOO_DEEP = f"values are nested more than {MAX_POLICY_DEPTH} levels deep; a policy needs about 10"


@dataclass(frozen=True)
class PolicyProblem:
    """One thing to fix in a policy file: where (file, line, path inside the policy) and what."""

    source: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        # One problem, one line, whatever the message quotes from the file.
        message = " ".join(self.message.split())
        return f"{self.source}:{self.line}: {self.path}: {message}"


class PolicyFileError(PolicyError):
    """A policy file with problems; `problems` lists each of them with its line."""

    def __init__(self, problems: list[PolicyProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


def _file_problem(source: str, message: str, line: int = 1) -> PolicyFileError:
    return PolicyFileError([PolicyProblem(source, line, "(file)", message)])


class _PolicyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys, deep nesting, self-references and runaway aliases."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._values = 0
        self._open_anchors: set[str] = set()
        self._measured: dict[int, tuple[int, int]] = {}

    def _refuse(self, message: str, mark: Any) -> None:
        raise yaml.composer.ComposerError(None, None, message, mark)

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # The scanner reads ahead over every '[' of a line before the composer
        # sees the first one: stop it at the same depth, not 100,000 brackets later.
        if self.flow_level >= MAX_POLICY_DEPTH:
            self._refuse(_TOO_DEEP, self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # the PyYAML stubs leave it unannotated
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                self._refuse(f"alias *{event.anchor} refers to the value that contains it", event.start_mark)
            target = self.anchors.get(event.anchor)
            if target is not None:
                values, height = self._measure(target)
                if self._depth + height > MAX_POLICY_DEPTH:
                    self._refuse(f"alias *{event.anchor} nests values more than {MAX_POLICY_DEPTH} levels deep",
                                 event.start_mark)
                self._count(values, f"alias *{event.anchor}", event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_POLICY_DEPTH:
            self._refuse(_TOO_DEEP, event.start_mark)
        self._count(1, "this value", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor:
            self._open_anchors.add(anchor)
        node = super().compose_node(parent, index)
        self._open_anchors.discard(anchor)
        self._depth -= 1
        return node

    def _count(self, values: int, what: str, mark: Any) -> None:
        self._values += values
        if self._values > MAX_POLICY_VALUES:
            self._refuse(f"{what} brings the file past {MAX_POLICY_VALUES:,} values once aliases are expanded; "
                         "a policy has about 1,000", mark)

    def _measure(self, node: Any) -> tuple[int, int]:
        """How many values `node` stands for once expanded, and how deep they nest (memoised per node)."""
        known = self._measured.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        measured = [self._measure(child) for child in children]
        result = (1 + sum(v for v, _h in measured), 1 + max((h for _v, h in measured), default=0))
        self._measured[id(node)] = result
        return result


def _construct_unique_mapping(loader: _PolicyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain word or text, not a list or mapping", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_PolicyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _dotted(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(root: Any, loc: list[Any]) -> int:
    """The line of the deepest node of the file that `loc` reaches (1-based)."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return int(line) + 1


def _explain(exc: ValidationError, source: str, root: Any) -> list[PolicyProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        ctx = error.get("ctx") or {}
        message = error["msg"]
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = f"unknown key {error['input']!r}; allowed keys: {ctx.get('expected', message)}"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not allowed; expected {ctx.get('expected')}"
        elif error["type"] == "missing":
            message = "this required key is missing"
        elif error["type"] == "string_too_long":
            message = f"is {len(error['input']):,} characters long; the limit is {ctx['max_length']:,}"
        elif error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        loc += list(ctx.get("at", []))
        problems.append(PolicyProblem(source, _line_of(root, loc), _dotted(loc) or "(top level)", message))
    return problems


def _yaml_problem(exc: yaml.YAMLError, source: str, text: str) -> PolicyFileError:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return _file_problem(source, f"not valid YAML: the character #x{exc.character:04X} is not allowed in a "
                                     "YAML file (control characters and NUL are not text)", line)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return _file_problem(source, f"not valid YAML: {detail}", mark.line + 1 if mark else 1)


def policy_text(data: bytes, source: str) -> str:
    """The text of a policy file's bytes: refused when over the size limit or not UTF-8."""
    if len(data) > MAX_POLICY_BYTES:
        raise _size_problem(len(data), source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_problem(source, f"not UTF-8 text: byte 0x{data[exc.start]:02X} at position {exc.start} "
                                    "cannot be read; save the file as UTF-8", line) from None


def _size_problem(size: int, source: str) -> PolicyFileError:
    return _file_problem(source, f"the file is {size:,} bytes; a policy file is at most {MAX_POLICY_BYTES:,} bytes "
                                 f"({MAX_POLICY_BYTES // 1024} KB; a policy is a few KB): remove what is not policy")


# A saved version passed every check of `_PolicyLoader` when it was saved; reading it back through that
# pure-Python loader took 50 ms a policy (most of a fresh process's first dashboard). libyaml reads it in
# 6 ms. It is used only for a stored text its own event stream shows plain (no anchor or alias, nesting and
# value count within the limits, no repeated or complex key); anything else takes the checked path. Both
# build values with PyYAML's same safe constructor, so the data is the same (tests compare every preset).
_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _plain_stored_data(text: str) -> Any:
    """The YAML data of `text` read by libyaml when it is plain (see above), else None."""
    if _C_LOADER is None:
        return None
    try:
        if not _plain_events(yaml.parse(text, Loader=_C_LOADER)):
            return None
        return yaml.load(text, Loader=_C_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


def _plain_events(events: Iterable[yaml.Event]) -> bool:
    values = 0
    keys: list[list[Any]] = []  # per open collection: the keys seen (None for a sequence), and whether a key is next
    for event in events:
        if getattr(event, "anchor", None) or isinstance(event, yaml.AliasEvent):
            return False
        if isinstance(event, yaml.CollectionEndEvent):
            keys.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        values += 1
        if values > MAX_POLICY_VALUES or len(keys) >= MAX_POLICY_DEPTH:
            return False
        if keys and keys[-1][0] is not None:  # inside a mapping: a key, or the value that follows it
            seen, key_next = keys[-1]
            if key_next:
                if not isinstance(event, yaml.ScalarEvent) or event.value in seen:
                    return False
                seen.add(event.value)
            keys[-1][1] = not key_next
        if isinstance(event, yaml.MappingStartEvent):
            keys.append([set(), True])
        elif isinstance(event, yaml.SequenceStartEvent):
            keys.append([None, False])
    return True


def parse_policy(text: str | bytes, source: str, *, stored: bool = False) -> Policy:
    """Parse and validate policy YAML within the size, depth and alias limits; ``source`` names the file.

    ``stored`` reads back a version saved earlier: roles it predates are filled in (see core.policy.roles).
    """
    if isinstance(text, bytes):
        text = policy_text(text, source)
    # Characters never outnumber UTF-8 bytes: only text near the limit needs encoding to be measured.
    if len(text) > MAX_POLICY_BYTES // 4 and (size := len(text.encode("utf-8", "replace"))) > MAX_POLICY_BYTES:
        raise _size_problem(size, source)
    if stored and (plain := _plain_stored_data(text)) is not None:
        try:
            return Policy.model_validate(plain, context={"stored": True})
        except ValidationError:
            pass  # the checked path below explains it, with lines
    loader = None
    try:
        loader = _PolicyLoader(text)  # its reader checks every character at once
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, source, text) from None
    except ValueError as exc:  # a date such as 2025-13-45, or a number with thousands of digits
        reason = str(exc).split(";")[0]
        raise _file_problem(source, f"not valid YAML: a value cannot be read ({reason})") from None
    except RecursionError:  # the limits above should make this unreachable; never crash on it
        raise _file_problem(source, f"values are nested too deeply; keep under {MAX_POLICY_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise PolicyFileError([PolicyProblem(
            source, 1, "(top level)", "a policy file is a YAML mapping with keys such as name, title, severities")])
    try:
        return Policy.model_validate(data, context={"stored": True} if stored else None)
    except ValidationError as exc:
        raise PolicyFileError(_explain(exc, source, root)) from None


# --------------------------------------------------------------------------
# The one cache of parsed policies. Policies are immutable, and parsing and
# validating one costs about 0.1 s: saved versions, presets, the dashboard and
# every incident's snapshot are read through here, never parsed twice.


@functools.lru_cache(maxsize=128)
def cached_policy(text: str, source: str, *, stored: bool = False) -> Policy:
    """`parse_policy(text, source, stored=stored)`, remembered (a refusal is not remembered)."""
    return parse_policy(text, source, stored=stored)


def snapshot_policy(snapshot: Mapping[str, Any]) -> Policy:
    """The policy an incident was opened under, from its stored snapshot (roles it predates filled in)."""
    return _snapshot_from_json(json.dumps(snapshot, sort_keys=True))


@functools.lru_cache(maxsize=128)
def _snapshot_from_json(snapshot: str) -> Policy:
    # Lists and boards read many incidents that share a handful of snapshots.
    return stored_policy(snapshot)


def load_policy_file(path: str | Path, source: str | None = None) -> Policy:
    """Read and validate a policy YAML file; ``source`` names it in messages (default: the file name)."""
    path = Path(path)
    source = source or path.name
    try:
        with path.open("rb") as handle:
            # Never read more than one byte past the limit: a 50 MB file costs as little as a 300 KB one.
            data = handle.read(MAX_POLICY_BYTES + 1)
            size = max(len(data), os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise _file_problem(source, f"cannot read policy file: {exc.strerror or exc}") from None
    if size > MAX_POLICY_BYTES:
        raise _size_problem(size, source)
    return parse_policy(data, source)


def preset_names() -> list[str]:
    """Return the names of the bundled presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name: str) -> Policy:
    """Load a bundled preset by name (through the policy cache)."""
    names = preset_names()
    if name not in names:
        raise PolicyError(f"unknown policy {name!r}; choose one of: {', '.join(names)}")
    policy = cached_policy((PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8"), f"{name}.yaml")
    if policy.name != name:
        raise PolicyError(f"{name}.yaml: name: the policy is named {policy.name!r} but the file is {name}.yaml")
    return policy
