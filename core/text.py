"""Showing user-entered text literally where Markdown is rendered: the pages and the Markdown export.

Account names, incident titles, summaries, notes, action items, contact
details, display names, and everything written in an uploaded policy are
typed by people. Streamlit renders most elements as Markdown (with links,
images, LaTeX, colour directives, icon and emoji shortcodes, and automatic
links for bare addresses), so a title like `![x](http://host/p.png)` would
make every viewer's browser fetch that image. `markdown_literal()` turns any
text into Markdown that displays exactly that text and nothing else. It must
never be skipped for a value a person typed, never be applied twice, and
never be used where the text is not Markdown (plain-text widgets such as
selectbox options, st.code, st.text, dataframe cells, the PDF, email parts).
`describe_duration()` is the one way a duration is written in words for people.
Pure: no I/O, no streamlit.
"""

from __future__ import annotations

import datetime as dt
import re

# Invisible, and not whitespace for Markdown or JavaScript: it splits a sequence
# without changing what the reader sees.
WORD_JOINER = "\u2060"

# CommonMark lets a backslash escape any ASCII punctuation character, and an
# escaped character is never syntax: that covers emphasis, links, images,
# HTML, entities, code, tables, headings, lists, directives and LaTeX.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")

# Some of Streamlit's rendering works on the text after escapes are resolved,
# so an escape alone does not stop it. A word joiner breaks each pattern:
# bare links (http://, https://, www.) and email addresses (GFM autolinks),
# `:name:` shortcodes (emoji, :streamlit:, :material_x:), and the arrows and
# dashes Streamlit substitutes for ->, <-, --, >=, <=, ~=.
_PATTERN_BREAKS = re.compile(
    r"(?<=:)(?=//|[\w+-])"  # after the colon of a scheme or a shortcode
    r"|(?<=@)(?=[\w-])"  # between the two halves of an email address
    r"|(?<=[wW])(?=\.)"  # www.
    r"|(?<=[-<>~])(?=[-<>=])"  # typographic pairs
)

# Leading spaces would start an indented code block (which shows the escapes);
# no-break spaces keep the indentation and are not Markdown indentation.
_LEADING_SPACE = re.compile(r"^[ \t]+", re.MULTILINE)


def markdown_literal(value: object) -> str:
    """Markdown that displays `value` as exactly its text: no formatting, link, image, HTML, maths or icon."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _PATTERN_BREAKS.sub(WORD_JOINER, text)
    text = _ASCII_PUNCTUATION.sub(r"\\\1", text)
    text = _LEADING_SPACE.sub(lambda m: "\u00a0" * len(m.group(0).expandtabs(4)), text)
    # Each line break stays a line break (two trailing spaces) instead of joining lines.
    return "  \n".join(text.split("\n"))


def describe_duration(span: dt.timedelta) -> str:
    """A duration in words, for people: '2 hours 15 minutes', '45 minutes', '3 days 4 hours'.

    Rounded down to the minute. Client messages use it; the policy file notation
    (72h, 2w) is `core.policy.notation.duration_notation`, a different job.
    """
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
