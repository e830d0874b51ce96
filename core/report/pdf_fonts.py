"""The typefaces the PDF exports print in: Noto Sans, with Noto fallbacks for symbols, CJK and emoji.

A PDF can print a character only with a font that has its glyph: fpdf2's built-in
Helvetica knows Latin-1 alone, and printed "Checkout down 🔥 決済エラー" as
"Checkout down ? ?????". These are Debian's Noto fonts, which `make run` and
`make test` install (`make fonts`): Noto Sans (Latin, Greek, Cyrillic) for the
text, then, for the characters it lacks, Noto Sans Symbols and Symbols 2, Noto
Sans CJK (Japanese, Chinese, Korean) and Noto Color Emoji. Only the fallbacks a
document's text needs are loaded, limited to the characters it uses, and fpdf2
embeds only the glyphs printed: an English report carries subsets of Noto Sans
(and of Noto Sans Symbols for an arrow) and no CJK or emoji font at all. Debian's
rather than PyPI's: the Noto builds found on PyPI are variable fonts, whose bold
instance cost about 2 s per document to make, and whose CJK build is a CFF2 font
that fpdf2 2.8.9 embeds as an invalid font file.

Right-to-left and Indic scripts need text shaping, which this does not do: their
characters print as empty boxes rather than in a wrong order. This module only
finds font files and reads which characters they cover; it never draws, never
writes a file and never imports streamlit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

# Where Debian's packages put them.
TRUETYPE = Path("/usr/share/fonts/truetype/noto")
OPENTYPE = Path("/usr/share/fonts/opentype/noto")

# Variation selectors ask for text or emoji presentation; no font here has a glyph for them,
# and a font without a glyph would print an empty box where nothing was meant.
_PRESENTATION_SELECTORS = str.maketrans({"\ufe0e": None, "\ufe0f": None})


@dataclass(frozen=True)
class Face:
    """One typeface: the file of each style ("" regular, "B" bold) and the Debian package that ships it."""

    family: str
    files: Mapping[str, Path]
    package: str
    collection_index: int = 0  # the face in a .ttc collection (Noto Sans CJK: 0 is Japanese)
    # Load only the characters the document prints: Noto Sans CJK maps 45,000 and loading them
    # all took half a second per style. fpdf2 2.8.9 fails on a bitmap emoji font loaded so.
    load_used_only: bool = True

    def installed(self) -> bool:
        """True when every style's file is there."""
        return all(path.is_file() for path in self.files.values())


BODY = Face("NotoSans", {"": TRUETYPE / "NotoSans-Regular.ttf", "B": TRUETYPE / "NotoSans-Bold.ttf"},
            "fonts-noto-core")

# Tried in this order for a character the body font lacks: text symbols (arrows, maths,
# dingbats) print as text, and only pictographs reach the colour emoji font.
FALLBACKS = (
    Face("NotoSansSymbols", {"": TRUETYPE / "NotoSansSymbols-Regular.ttf", "B": TRUETYPE / "NotoSansSymbols-Bold.ttf"},
         "fonts-noto-core"),
    Face("NotoSansSymbols2", {"": TRUETYPE / "NotoSansSymbols2-Regular.ttf"}, "fonts-noto-core"),
    Face("NotoSansCJK", {"": OPENTYPE / "NotoSansCJK-Regular.ttc", "B": OPENTYPE / "NotoSansCJK-Bold.ttc"},
         "fonts-noto-cjk"),
    Face("NotoColorEmoji", {"": TRUETYPE / "NotoColorEmoji.ttf"}, "fonts-noto-color-emoji", load_used_only=False),
)


def missing_packages() -> list[str]:
    """The Debian packages whose fonts are not installed, each once, in install order; [] when all are there."""
    missing = [face.package for face in (BODY, *FALLBACKS) if not face.installed()]
    return list(dict.fromkeys(missing))


@functools.cache
def _coverage(path: Path, collection_index: int) -> frozenset[int]:
    # Read once per process: Noto Sans CJK maps about 45,000 characters (a few tenths of a second).
    font = TTFont(path, fontNumber=collection_index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def covers(face: Face) -> frozenset[int]:
    """The code points the face's regular style has a glyph for."""
    return _coverage(face.files[""], face.collection_index)


def printable(text: str) -> str:
    """`text` without the presentation selectors (U+FE0E, U+FE0F) that no font here draws."""
    return text.translate(_PRESENTATION_SELECTORS)


def fallbacks_for(text: Iterable[str]) -> list[tuple[Face, list[int]]]:
    """The installed fallback faces `text` needs, each with the code points it will print; [] for plain Latin."""
    wanted = {ord(char) for char in text if not char.isspace()} - covers(BODY)
    needed = []
    for face in FALLBACKS:
        if not wanted:
            break
        if not face.installed():
            continue
        mine = wanted & covers(face)
        if mine:
            needed.append((face, sorted(mine)))
            wanted -= mine
    return needed
