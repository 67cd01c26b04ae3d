"""Text from outside (commit subjects, author names, file contents, a server's or a hook's words)
made safe to show: no control character reaches a terminal, a commit message or a merge request.

C0 controls (but newline and tab, and the carriage return of a CRLF line end), DEL, C1 controls
and the bidirectional overrides that reorder what a reader sees are written as visible escapes
(`\\x1b`, `\\u202e`), so an ANSI or OSC sequence is shown, inert, instead of acting.

promoter's own colour (`paint`: a few SGR codes, STYLES) is the one control sequence it writes
to a terminal. Outside text is made printable where it enters a rendering, before any colour is
added; a renderer that paints returns `Painted` text, whose exact SGR codes of promoter's own the
writer (`shown`) keeps while escaping every other control character, so an outside text holding
the very same codes still shows them as `\\x1b[1m`.

Also the words every message uses alike: plurals, and "did you mean" for a name that is unknown
(a command, an option, a component, an environment, a target).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character written as a visible escape (see the module's doc)."""
    return _UNSAFE.sub(_escape, text)


# promoter's colours, by name: the SGR parameters of `paint`, the only control sequences it writes
STYLES = {"ok": "32", "warn": "33", "bad": "31;1", "dim": "2", "bold": "1"}
_OWN_SGR = re.compile("|".join(re.escape(f"\x1b[{code}m") for code in ("0", *STYLES.values())))


class Painted(str):
    """Text for a terminal from a renderer that made every outside string `printable` before it
    added promoter's own colour codes (`paint`): `shown` keeps those codes, and only those."""

    __slots__ = ()


def paint(text: str, style: str, on: bool) -> str:
    """`text`, made printable, in the colour `style` names (STYLES) when `on`."""
    text = printable(text)
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m" if on and text else text


def shown(text: str) -> str:
    """`text` as it may reach a terminal: every control character escaped (`printable`), but in
    `Painted` text promoter's own colour codes, which its renderer added after escaping the rest."""
    if not isinstance(text, Painted):
        return printable(text)
    parts = _OWN_SGR.split(text)
    codes = _OWN_SGR.findall(text)
    return "".join(printable(part) + (codes[i] if i < len(codes) else "") for i, part in enumerate(parts))


def one_line(text: str) -> str:
    """`text` on one line: line breaks become spaces, then `printable`."""
    return printable(" ".join(text.split()))


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 file`, `3 files`, `0 files` (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice `word` was most likely meant to be, None when none is close: the one that differs
    only in case, else the one it is the start of (when only one), else the most similar
    (difflib's ratio of at least `cutoff`, compared without case)."""
    folded = {c.casefold(): c for c in choices}
    key = word.casefold()
    if key in folded:
        return folded[key]
    starting = [c for f, c in folded.items() if key and f.startswith(key)]
    if len(starting) == 1:
        return starting[0]
    import difflib  # only on the way to an error message

    near = difflib.get_close_matches(key, list(folded), n=1, cutoff=cutoff)
    return folded[near[0]] if near else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """` (did you mean 'status'?)` for the choice closest to `word`, "" when none is close: every
    "unknown command/option/component/environment/target" message says it the same way."""
    near = closest(word, choices, cutoff)
    return f" (did you mean '{near}'?)" if near is not None and near != word else ""
