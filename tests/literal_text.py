"""Hostile text for the literal-text tests, and what a reader sees of `core.text.markdown_literal` output.

Each hostile string carries a tag (the field it was put into) inside every
fragment, so a test can tell which field leaked where.
"""

from __future__ import annotations

import re

from core.text import WORD_JOINER


def hostile_short(tag: str) -> str:
    """A tracking image, a spoofed link, HTML and a colour directive, marked with `tag`.

    The result is 120 characters long for a 10-letter tag.
    """
    return f"![px-{tag}](http://t.example/p) [s-{tag}](http://e.example) <img src=x onerror={tag}> :red[R-{tag}]"


def hostile(tag: str) -> str:
    """`hostile_short` plus bold, LaTeX, a heading and a bare link."""
    return f"**B-{tag}** {hostile_short(tag)} $x^{tag}$ # H-{tag} www.e.io"


def raw_fragments(tag: str) -> tuple[str, ...]:
    """Pieces of `hostile(tag)` that must never reach a Markdown element unescaped."""
    return (f"**B-{tag}**", f"![px-{tag}](", f"[s-{tag}](http", f"<img src=x onerror={tag}>", f":red[R-{tag}]",
            f"$x^{tag}$")


def marker(tag: str) -> str:
    """The piece every hostile string of `tag` has: finding it in the visible text means the field is shown."""
    return f"![px-{tag}](http://t.example/p)"


def visible_text(markdown: str) -> str:
    """The text a reader sees of escaped Markdown: escapes, word joiners and hard breaks undone."""
    text = markdown.replace(WORD_JOINER, "").replace("\u00a0", " ").replace("  \n", "\n")
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


# Every construct Streamlit 1.67's Markdown knows, one string per family (the browser test renders each).
CORPUS = (
    "**bold** __strong__ *it* _it_ ~~strike~~ ~sub~ `code` ``two``",
    "![px](http://tracker.example/p.png) ![ref][img]\n\n[img]: http://tracker.example/r.png",
    "[spoof](http://evil.example/a) [ref][x] <http://evil.example/auto>\n\n[x]: http://evil.example/r",
    "bare http://evil.example/b https://evil.example/c www.evil.example mail@evil.example WWW.Evil.Example",
    "<img src=x onerror=alert(1)> <script>alert(2)</script> <b>b</b> <!-- c --> &lt;i&gt; &amp; &#65; &copy;",
    ':red[r] :blue-background[b] :small[s] :help[h] :color[c]{foreground="red"} :green-badge[g] :rainbow[x]',
    ":smile: :+1: :-1: :streamlit: :material/home: :material_home: 10:30:45 a:b:c",
    "$x^2$ and $$\\int_0^1 y$$ and \\(z\\) $5 and $10",
    "# H1\n## H2\n> quote\n- item\n+ item\n* item\n1. one\n2) two\n- [ ] task\n---\n***\n___",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "```\nfence\n```\n~~~python\nx = 1\n~~~\n    indented code\n\n\tTabbed",
    "setext\n===\nother\n---",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "note[^1] and [^2]\n\n[^1]: first\n[^2]: http://evil.example/fn",
    "\\*not bold\\* back\\slash ends with \\\nline two  \nline three\\",
    "```mermaid\ngraph TD; A-->B\n```",
)
