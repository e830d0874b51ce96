"""Hostile policy files, shared by the core, command-line and page tests.

Each entry is the file's bytes and a fragment the refusal must contain. They
cover the limits of core.policy.loading: size before parsing, nesting depth (in flow
and block style, and through an alias), alias expansion, self-reference,
bytes that are not text, and values YAML cannot build.
"""

from __future__ import annotations

from core.policy.loading import PRESET_DIR

SPARK = (PRESET_DIR / "spark.yaml").read_bytes()


def _laughs() -> bytes:
    lines = [b"lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]".encode() for i in range(1, 10)]
    return b"\n".join(lines) + b"\n"


def _block_nesting(depth: int) -> bytes:
    return b"".join(b"  " * i + b"k:\n" for i in range(depth)) + b"  " * depth + b"end\n"


HOSTILE_POLICIES: dict[str, tuple[bytes, str]] = {
    "fifty-megabytes": (b"name: big\ntitle: " + b"x" * 50_000_000 + b"\n", "at most 262,144 bytes"),
    "huge-single-string": (b"name: big\ndescription: '" + b"y" * 300_000 + b"'\n", "at most 262,144 bytes"),
    "list-nested-100k-deep": (b"[" * 100_000 + b"]" * 100_000, "nested more than 32 levels"),
    "mapping-nested-50k-deep": (b"{a: " * 50_000 + b"1" + b"}" * 50_000, "nested more than 32 levels"),
    "block-nested-60-deep": (_block_nesting(60), "nested more than 32 levels"),
    "billion-laughs": (_laughs(), "once aliases are expanded"),
    "alias-refers-to-itself": (b"name: &me [a, *me]\n", "refers to the value that contains it"),
    "alias-nests-too-deep": (b"deep: &d " + b"[" * 20 + b"x" + b"]" * 20 + b"\nmore: " + b"[" * 20 + b"*d"
                             + b"]" * 20 + b"\n", "nests values more than 32 levels deep"),
    "binary-junk": (bytes(range(256)) * 400, "not UTF-8 text"),
    "nul-bytes": (SPARK.replace(b"title: ", b"title: \x00\x00", 1), "#x0000 is not allowed"),
    "impossible-date": (SPARK.replace(b"name: spark", b"name: 2025-13-45", 1), "a value cannot be read"),
    "five-thousand-digit-number": (SPARK.replace(b"name: spark", b"name: " + b"9" * 5000, 1),
                                   "a value cannot be read"),
    "list-as-a-key": (b"? [a, b]\n: value\n", "a key must be a plain word or text"),
    "title-of-100k-characters": (SPARK.replace(b"title: ", b"title: " + b"T" * 100_000, 1),
                                 "characters long; the limit is 200"),
}
