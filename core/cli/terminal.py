"""How the command line sets out what a person must read: a framed block, and a table in columns.

`make run` ends with the block (address, first admin, how to try the demo roles), so it
stands out after the set-up output. Plain ASCII, so it prints the same in any terminal and
locale. It only formats text; it never prints and never imports streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence


def box(lines: Sequence[str]) -> str:
    """`lines` framed by a border as wide as the longest one."""
    width = max((len(line) for line in lines), default=0)
    rule = "+" + "-" * (width + 4) + "+"
    return "\n".join([rule, *(f"|  {line.ljust(width)}  |" for line in lines), rule])


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """`rows` under `header`, in left-aligned columns two spaces apart, the header underlined."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)])
