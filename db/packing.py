"""Text stored compressed and read back exactly: message bodies and triage results, deflated with a dictionary.

A client email is about 1 KB of text and 3-4 KB of HTML, most of it the shipped template's own
markup and wording, so a million incidents with four messages each held about 14 GB of it; each
incident's triage result (about 1 KB of JSON) is mostly the rule wording of its policy.
`PackedText` stores a `str` as bytes: one format byte, then the body; `PackedJSON` stores the JSON
text of a value the same way. Format 0 is the UTF-8 text as is (used when deflating would not make
it smaller, e.g. the empty string); format 1 is raw deflate with the preset dictionary
`dictionaries/messages-1.txt` (the shipped email templates rendered with the sample context, rarest
first, 32 KB), which turns a 4.5 KB email into about 0.5 KB; format 2 is raw deflate with
`dictionaries/triage-1.txt` (the triage results the shipped presets give for a spread of answers),
which turns a 1 KB triage result into about 0.1 KB. Reading gives back exactly what was written,
whatever it is (any Unicode, any size, HTML or not) and whichever format stored it.

A dictionary file is part of the stored format: once rows were written with it, it must never be
edited (its SHA-256 is checked on first use, so an edit fails loudly instead of garbling messages).
A better dictionary gets a new file and a new format byte; every earlier format stays readable.
This module must never import `core` or decide what is stored: it only encodes and decodes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, TypeDecorator

_FOLDER = Path(__file__).resolve().parent / "dictionaries"
RAW = 0
DEFLATE_MESSAGES_1 = 1
DEFLATE_TRIAGE_1 = 2
# Format byte -> (dictionary file, its SHA-256). Add formats; never edit or remove one.
DICTIONARIES = {
    DEFLATE_MESSAGES_1: ("messages-1.txt", "907a9198e4cb92e3b23ec98f2396e9a8f21ef8322569cfc5cbac85fb052c30ed"),
    DEFLATE_TRIAGE_1: ("triage-1.txt", "fdf9c8093f68fb64e4fdfeab7b79fab31e17b9f3acf685a9d1be037698bff743"),
}


class UnreadableText(ValueError):
    """Stored bytes that no known format decodes (an unknown format byte, or a damaged body)."""


@functools.cache
def dictionary(fmt: int) -> bytes:
    """The preset dictionary of format `fmt`, checked against its recorded SHA-256."""
    name, digest = DICTIONARIES[fmt]
    data = (_FOLDER / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise UnreadableText(f"db/dictionaries/{name} was changed after messages were stored with it; "
                             "restore it from git and add a new dictionary file and format instead.")
    return data


@functools.cache
def _primed(fmt: int) -> Any:
    # A compressor that has read the dictionary: copying it costs a third of priming a new one per value.
    return zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=dictionary(fmt))


def pack_text(value: str, fmt: int) -> bytes:
    """`value` as stored: one format byte, then the deflated UTF-8 (or the UTF-8 itself when that is smaller)."""
    raw = value.encode("utf-8")
    if fmt != RAW:
        packer = _primed(fmt).copy()
        packed: bytes = packer.compress(raw) + packer.flush()
        if len(packed) < len(raw):
            return bytes([fmt]) + packed
    return bytes([RAW]) + raw


def unpack_text(stored: bytes) -> str:
    """The exact string `pack_text` was given, whichever format stored it."""
    if not stored:
        raise UnreadableText("an empty stored value has no format byte")
    fmt, body = stored[0], stored[1:]
    if fmt == RAW:
        return body.decode("utf-8")
    if fmt not in DICTIONARIES:
        raise UnreadableText(f"unknown packed-text format {fmt}: written by a newer version of the app?")
    unpacker = zlib.decompressobj(-15, zdict=dictionary(fmt))
    try:
        raw = unpacker.decompress(body) + unpacker.flush()
    except zlib.error as error:
        raise UnreadableText(f"a packed text (format {fmt}) is damaged: {error}") from error
    if not unpacker.eof:
        raise UnreadableText(f"a packed text (format {fmt}) is cut short")
    return raw.decode("utf-8")


class PackedText(TypeDecorator[str]):
    """A `str` column stored as `pack_text` bytes (BLOB, BYTEA) in format `fmt`: read back exactly as written."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, fmt: int) -> None:
        super().__init__()
        self.fmt = fmt

    @property
    def python_type(self) -> type:
        return str

    def process_bind_param(self, value: str | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"a packed text column stores str, not {type(value).__name__}")
        return pack_text(value, self.fmt)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else unpack_text(bytes(value))


class PackedJSON(TypeDecorator[Any]):
    """A JSON value stored as the `pack_text` bytes of its JSON text (`json.dumps`, as the JSON type writes it).

    Python's None is SQL NULL. Never queried inside by SQL (json_extract, ->>): a column that is must stay JSON.
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, fmt: int) -> None:
        super().__init__()
        self.fmt = fmt

    @property
    def python_type(self) -> type:
        return dict  # as SQLAlchemy's JSON type says

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else pack_text(json.dumps(value), self.fmt)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else json.loads(unpack_text(bytes(value)))
