"""Tables that fit the terminal, and colour only where a person reads them.

`fit` lays rows out in columns no wider than the terminal (`width`; None: no limit and nothing
cut, for pipes, files and `-o wide`). Each column is of a kind that says how it gives way when the
table is too wide, in this order, until it fits:

- `version`: full shas shown in their short form (`4e537ab`, as every other table shows them),
  then wrapped as prose;
- `prose` (a reason, an error, a subject): wrapped onto continuation lines aligned under its
  column, never cut;
- `clip` (one line of a file, a name): cut at its end, `…` marking the cut;
- `path`: cut in the middle, keeping its end (`data/…/saas-qontract-reconcile.yaml:20`);
- `fixed` (environments, states, dates, `old -> new`): never cut.

A cell may be of a kind of its own (`Cell`: status's NEXT column holds reasons and paths). A row
given as a `Cell` instead of a list spans the table from column `under` on (history's author and
subject under each change on a narrow terminal). Every text is made printable here
(`promoter.text.printable`) before colour is added: colour is on only when the stream is a
terminal and `NO_COLOR` is not set (https://no-color.org), never in pipes or files.
"""

from __future__ import annotations

import os
import re
import sys

from promoter.text import STYLES, paint, printable

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO

__all__ = ["STYLES", "Cell", "colour_on", "end", "fit", "fits", "middle", "paint", "path", "terminal_width", "wrap"]

# the narrowest each kind of column gives way to before a line is let out of the width
MIN_PROSE = 20
MIN_CLIP = 12
MIN_PATH = 20
MIN_ANY = 8  # and, on a terminal too narrow for those, each of them
_FULL_SHA = re.compile(r"\b[0-9a-f]{40}\b")
SHORT = 7


class Cell:
    """A cell's text, its colour (a STYLES name, or "") and its kind ("" for its column's)."""

    __slots__ = ("kind", "style", "text")

    def __init__(self, text: str, style: str = "", kind: str = "") -> None:
        self.text = text
        self.style = style
        self.kind = kind


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The terminal's width for `stream` (stdout), None when it is no terminal (no limit)."""
    stream = stream or sys.stdout
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns or None  # a new pty says 0: unknown
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


def middle(text: str, width: int) -> str:
    """`text` shortened to `width` characters by cutting its middle (`…` marks the cut)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    keep = width - 1
    head = keep // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def path(text: str, width: int) -> str:
    """A path shortened to `width` characters: its file name (and `:LINE`) kept whole when that
    leaves room for a few characters of its start (`overlays/prod…/kustomization.yaml:12`), else
    cut in the middle."""
    if len(text) <= width:
        return text
    name = text[text.rfind("/", 0, len(text) - 1) :]
    if "/" in name and width - len(name) - 1 >= 4:
        return text[: width - len(name) - 1] + "…" + name
    return middle(text, width)


def end(text: str, width: int) -> str:
    """`text` cut at its end to `width` characters (`…` marks the cut)."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…" if width > 0 else ""


def wrap(text: str, width: int | None) -> list[str]:
    """`text` as lines of at most `width` characters, broken between words; a word longer than
    a line is broken after its last `,`, `/`, `_` or `-` that fits, else at the line's end (but a
    URL, on a line of its own). Nothing is lost: the words of the lines are the words of `text`."""
    if width is None or len(text) <= width or width < 1:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > width and "://" not in word:  # a URL stays whole: it must stay clickable
            if line:
                lines.append(line)
                line = ""
            cut = max(word.rfind(sep, 0, width) for sep in ",/_-") + 1 or width
            lines.append(word[:cut])
            word = word[cut:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    return lines


def _short(text: str) -> str:
    return _FULL_SHA.sub(lambda m: m.group()[:SHORT], text)


def _cells(rows: Sequence[Sequence[str | Cell] | Cell], kinds: Sequence[str]) -> list[list[Cell] | Cell]:
    """Every row as Cells of a known kind, with printable text (the header, row 0, is prose)."""
    out: list[list[Cell] | Cell] = []
    for n, row in enumerate(rows):
        if isinstance(row, Cell):
            out.append(Cell(printable(row.text.replace("\n", " ")), row.style, row.kind or "prose"))
            continue
        cells = []
        for i, kind in enumerate(kinds):
            c = row[i] if i < len(row) else ""
            c = c if isinstance(c, Cell) else Cell(c)
            text = printable(c.text.replace("\n", " "))
            cells.append(Cell(text, c.style, "prose" if n == 0 else c.kind or kind))
        out.append(cells)
    return out


def _natural(table: list[list[Cell] | Cell], cols: int) -> list[int]:
    rows = [r for r in table if not isinstance(r, Cell)]
    return [max((len(r[i].text) for r in rows), default=0) for i in range(cols)]


def _holds(table: list[list[Cell] | Cell], i: int, kinds: tuple[str, ...]) -> bool:
    """Whether column `i` holds cells of one of `kinds` (the header apart)."""
    return any(not isinstance(r, Cell) and r[i].kind in kinds for r in table[1:])


def _shorten(table: list[list[Cell] | Cell]) -> None:
    for r in table[1:]:
        for c in () if isinstance(r, Cell) else r:
            if c.kind == "version":
                c.text = _short(c.text)


# the order columns give way in: versions (once short) are wrapped as prose is
_GIVE: tuple[tuple[tuple[str, ...], int], ...] = (
    (("prose", "version"), MIN_PROSE),
    (("clip",), MIN_CLIP),
    (("path",), MIN_PATH),
)


def _widths(
    table: list[list[Cell] | Cell], cols: int, width: int | None, indent: str, floors: Mapping[int, int]
) -> list[int]:
    """Each column's width: what its cells need, less what their kinds give way (versions made
    short in place first) until the table fits `width`, each down to its floor (`floors`, else
    its kind's)."""
    widths = _natural(table, cols)
    if width is None:
        return widths
    budget = width - len(indent) - 2 * (cols - 1)
    if sum(widths) <= budget:
        return widths
    _shorten(table)
    widths = _natural(table, cols)
    for kind, least in _GIVE:
        for i in reversed(range(cols)):
            excess = sum(widths) - budget
            if excess <= 0:
                return widths
            if _holds(table, i, kind):
                widths[i] = max(min(widths[i], floors.get(i, least)), widths[i] - excess)
    for kind, _ in _GIVE:  # still too wide (a very narrow terminal): every column to a few characters
        for i in reversed(range(cols)):
            excess = sum(widths) - budget
            if excess > 0 and _holds(table, i, kind):
                widths[i] = max(min(widths[i], MIN_ANY), widths[i] - excess)
    return widths


def fits(
    rows: Sequence[Sequence[str | Cell] | Cell],
    width: int | None,
    kinds: Sequence[str],
    indent: str = "  ",
    floors: Mapping[int, int] | None = None,
    giving: tuple[str, ...] = ("prose", "version", "clip"),
) -> bool:
    """Whether the table fits `width` with its versions short and the columns of the `giving`
    kinds at their floors, its paths whole (a renderer's question before it picks a layout)."""
    if width is None:
        return True
    table = _cells(rows, kinds)
    _shorten(table)
    widths = _natural(table, len(kinds))
    for i in range(len(kinds)):
        if _holds(table, i, giving) and not _holds(table, i, ("path", "fixed")):
            least = MIN_CLIP if kinds[i] == "clip" else MIN_PROSE
            widths[i] = min(widths[i], (floors or {}).get(i, least))
    return len(indent) + sum(widths) + 2 * (len(kinds) - 1) <= width


def _lines(c: Cell, width: int) -> list[str]:
    if c.kind in ("prose", "version"):
        return wrap(c.text, width)
    if c.kind == "path":
        return [path(c.text, width)]
    if c.kind == "clip":
        return [end(c.text, width)]
    return [c.text]


def fit(
    rows: Sequence[Sequence[str | Cell] | Cell],
    width: int | None,
    kinds: Sequence[str],
    indent: str = "  ",
    colour: bool = False,
    under: int = 1,
    floors: Mapping[int, int] | None = None,
) -> list[str]:
    """The rows (the first is the header) as aligned lines within `width` (None: no limit), each
    column giving way as its kind says (see the module's doc) down to its floor (`floors`: column
    -> width, else its kind's: MIN_PROSE, MIN_CLIP, MIN_PATH); the last column is not padded. A
    line is let out of `width` only when every column is at its floor, and then cut at its end."""
    if not rows:
        return []
    table = _cells(rows, kinds)
    cols = len(kinds)
    widths = _widths(table, cols, width, indent, floors or {})
    out: list[str] = []
    for row in table:
        if isinstance(row, Cell):  # a span: under column `under`, to the end of the line
            lead = indent + "".join(" " * (w + 2) for w in widths[:under])
            room = None if width is None else max(width - len(lead), MIN_CLIP)
            lines = _lines(row, room) if room is not None else [row.text]
            out += [lead + paint(line, row.style, colour) if row.style else lead + line for line in lines]
            continue
        stacks = [_lines(c, widths[i]) if width is not None else [c.text] for i, c in enumerate(row)]
        for k in range(max(len(s) for s in stacks)):
            parts: list[str] = []
            seen = len(indent)
            for i, c in enumerate(row):
                text = stacks[i][k] if k < len(stacks[i]) else ""
                pad = "" if i == cols - 1 else " " * (widths[i] - len(text))
                parts.append((paint(text, c.style, colour) if c.style else text) + pad)
                seen += len(text) + len(pad) + (2 if i < cols - 1 else 0)
            line = (indent + "  ".join(parts)).rstrip()
            if width is not None and seen > width and len(_plain(line)) > width:
                line = end(_plain(line), width)  # every column at its narrowest: the line's end goes
            out.append(line)
    return out


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _plain(line: str) -> str:
    return _SGR.sub("", line)


def flow(text: str, width: int | None, indent: str = "    ") -> str:
    """A line of prose for a terminal `width` wide (None: as it is): broken between words (a long
    path after a `/`), its continuation lines indented, so the terminal never breaks a word."""
    out: list[str] = []
    for line in text.split("\n"):
        first, *rest = wrap(line, None if width is None else max(width - len(indent), 20))
        out += [first, *(indent + r for r in rest)]
    return "\n".join(out)
