"""Free-form text: every match of a regex with one named group `version`.

Matched with the `regex` package (Python's `re` syntax), which, unlike `re`, can give up: a
pattern that backtracks catastrophically on a file is refused after TIMEOUT seconds.
"""

from __future__ import annotations

import regex

from promoter.locate.base import Found, LocateError

TIMEOUT = 2.0  # seconds for all the matches in one file


def find(text: str, pattern: str) -> list[Found]:
    out: list[Found] = []
    try:
        for m in regex.finditer(pattern, text, regex.MULTILINE, timeout=TIMEOUT):
            start, end = m.span("version")
            if start < 0:
                continue
            out.append(Found(start, end, text.count("\n", 0, start) + 1, m.group("version")))
    except TimeoutError:
        raise LocateError(1, f"regex took longer than {TIMEOUT:g} s on this file; simplify it") from None
    return out
