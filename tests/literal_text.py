"""Hostile text for the literal-text tests, and what a reader sees of `core.text.markdown_literal` output.

Each hostile string carries a tag (the field it was put into) inside every
fragment, so a test can tell which field leaked where.
"""

from __future__ import annotations

import re

from core.text import WORD_JOINER


def hostile(tag: str) -> str:
    """Markdown, HTML, LaTeX, a colour directive, shortcodes and bare links, all marked with `tag`."""
    return (f"**B-{tag}** ![px-{tag}](http://tracker.example/{tag}.png) [spoof-{tag}](http://evil.example/{tag}) "
            f"<img src=x onerror=alert('{tag}')> :red[R-{tag}] $x^{tag}$ # H-{tag} :smile: www.evil.example")


def hostile_short(tag: str) -> str:
    """A hostile image link for fields of at most 40 characters (a phone number)."""
    return f"![p{tag}](http://t.example/{tag})"


def raw_fragments(tag: str) -> tuple[str, ...]:
    """Pieces of `hostile(tag)` / `hostile_short(tag)` that must never reach a Markdown element unescaped."""
    return (f"**B-{tag}**", f"![px-{tag}](", f"[spoof-{tag}](http", f"<img src=x onerror=alert('{tag}')>",
            f":red[R-{tag}]", f"$x^{tag}$", f"![p{tag}](")


def visible_text(markdown: str) -> str:
    """The text a reader sees of escaped Markdown: escapes, word joiners and hard breaks undone."""
    text = markdown.replace(WORD_JOINER, "").replace("\u00a0", " ").replace("  \n", "\n")
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
