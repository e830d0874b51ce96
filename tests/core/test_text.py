"""core.text.markdown_literal: exact escapes for a table of cases, and properties over any text.

The browser test (tests/browser/test_literal_text.py) shows that Streamlit
renders the output literally; these tests pin the output itself.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import WORD_JOINER as WJ
from core.text import markdown_literal
from tests.literal_text import CORPUS, visible_text

NBSP = "\u00a0"


@pytest.mark.parametrize("value, expected", [
    ("plain words", "plain words"),
    ("**bold**", r"\*\*bold\*\*"),
    ("![x](http://h/p.png)", r"\!\[x\]\(http\:" + WJ + r"\/\/h\/p\.png\)"),
    ("[spoof](https://e)", r"\[spoof\]\(https\:" + WJ + r"\/\/e\)"),
    ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
    ("&amp; &#x41;", r"\&amp; \&\#x41;".replace(";", r"\;")),
    (":red[x]", "\\:" + WJ + r"red\[x\]"),
    (":material/home:", "\\:" + WJ + r"material\/home\:"),
    (":smile: :+1:", "\\:" + WJ + "smile\\: \\:" + WJ + "\\+1\\:"),
    ("$x^2$", r"\$x\^2\$"),
    ("# H", r"\# H"),
    ("1. one", r"1\. one"),
    ("a@b.example", "a\\@" + WJ + r"b\.example"),
    ("www.x and WWW.y", "www" + WJ + r"\.x and WWW" + WJ + r"\.y"),
    ("a -> b <= c ~= d --", "a \\-" + WJ + "\\> b \\<" + WJ + "\\= c \\~" + WJ + "\\= d \\-" + WJ + "\\-"),
    ("Note: 10:30", "Note\\: 10\\:" + WJ + "30"),
    ("`code` ~~s~~ | t |", r"\`code\` \~\~s\~\~ \| t \|"),
    ("back\\slash", r"back\\slash"),
    ("line1\nline2\r\nline3\rline4", "line1  \nline2  \nline3  \nline4"),
    ("a\n\nb", "a  \n  \nb"),
    ("  two\n\tone tab", NBSP * 2 + "two  \n" + NBSP * 4 + "one tab"),
    ("é ü 日本 — ok", "é ü 日本 — ok"),
    ("", ""),
    (None, ""),
    (42, "42"),
])
def test_escapes(value, expected):
    assert markdown_literal(value) == expected


def test_an_exception_is_shown_by_its_message():
    assert markdown_literal(ValueError("name *x* is taken")) == r"name \*x\* is taken"


@pytest.mark.parametrize("value", CORPUS)
def test_the_browser_corpus_reads_back(value):
    assert visible_text(markdown_literal(value)) == _normalised(value)


# What a reader sees must be the text; these two characters are what the escaping itself adds.
TEXT = st.text(st.characters(blacklist_characters=[NBSP, WJ], blacklist_categories=["Cs"]), max_size=80)
PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# The patterns Streamlit 1.67 applies to text after escapes are resolved (read from its bundle).
TEXT_NODE_PATTERNS = [
    re.compile(r"https?://|www(?=\.)", re.I),  # GFM autolink literal
    re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.A),  # GFM email autolink
    re.compile(r":\+1:|:-1:|:[\w-]+:", re.A),  # emoji, :streamlit:, :material_x:
    re.compile(r"(?:^|\s)(?:<->|->|<-|--|>=|<=|~=)(?=\s|$)"),  # typographic replacements
]


def _normalised(value: str) -> str:
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(re.sub(r"^[ \t]+", lambda m: " " * len(m.group(0).expandtabs(4)), line) for line in lines)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_a_reader_sees_exactly_the_text(value):
    assert visible_text(markdown_literal(value)) == _normalised(value)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_no_markdown_syntax_survives(value):
    out = markdown_literal(value)
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", out)
    assert not PUNCTUATION.search(unescaped), "every ASCII punctuation character is escaped"
    assert not re.search(r"^[ \t]+\S", out, re.M), "no line starts indented (an indented code block)"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["http", "https", "://", "www", ".", "@", "a", "b1", ":", "-", ">", "<", "=", "~",
                                 "+1", "smile", "material_home", " ", "\n"]), max_size=14).map("".join))
def test_no_text_pattern_survives_unescaping(value):
    # What Streamlit's text transforms see: the escapes resolved, the word joiners kept.
    text_node = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown_literal(value).replace("  \n", "\n"))
    for pattern in TEXT_NODE_PATTERNS:
        assert not pattern.search(text_node), (pattern.pattern, value)
