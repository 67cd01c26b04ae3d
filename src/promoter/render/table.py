"""Tables that fit the terminal, and colour only where a person reads them.

`fit` lays rows out in columns no wider than the terminal: the column given as the one that may
shrink (a path) is shortened in the middle (`data/…/saas-qontract-reconcile.yaml:20`), so a row
never wraps. `-o wide` (width None) prints everything. Colour is on only when the stream is a
terminal and `NO_COLOR` is not set (https://no-color.org), never in pipes or files.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import TextIO

STYLES = {"ok": "32", "warn": "33", "bad": "31;1", "dim": "2", "bold": "1"}


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The terminal's width for `stream` (stdout), None when it is no terminal (no limit)."""
    stream = stream or sys.stdout
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


def colour_on(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (ValueError, AttributeError):
        return False


def paint(text: str, style: str, on: bool) -> str:
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m" if on and text else text


def middle(text: str, width: int) -> str:
    """`text` shortened to `width` characters by cutting its middle (`…` marks the cut)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    keep = width - 1
    head = keep // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def fit(
    rows: list[list[str]], width: int | None, shrink: int, indent: str = "  ", styles: list[list[str]] | None = None,
    colour: bool = False,
) -> list[str]:  # fmt: skip
    """The rows as aligned lines within `width` (None: no limit), column `shrink` cut in the middle
    as needed (the last column is never padded, and is cut at its end when nothing else helps)."""
    if not rows:
        return []
    cols = max(len(r) for r in rows)
    rows = [r + [""] * (cols - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(cols)]
    if width is not None:
        total = len(indent) + sum(widths) + 2 * (cols - 1)
        if total > width:
            widths[shrink] = max(12, widths[shrink] - (total - width))
    out = []
    for n, r in enumerate(rows):
        cells = []
        for i, cell in enumerate(r):
            text = middle(cell, widths[i]) if i == shrink else cell
            pad = "" if i == cols - 1 else " " * (widths[i] - len(text))
            style = styles[n][i] if styles and styles[n][i] else ""
            cells.append((paint(text, style, colour) if style else text) + pad)
        line = (indent + "  ".join(cells)).rstrip()
        if width is not None and not colour and len(line) > width:
            line = line[: width - 1] + "…"
        out.append(line)
    return out
