"""Free-form text: every match of a regex with one named group `version`."""

from __future__ import annotations

import re

from promoter.locate import Found


def find(text: str, pattern: str) -> list[Found]:
    out: list[Found] = []
    for m in re.finditer(pattern, text, re.MULTILINE):
        start, end = m.span("version")
        if start < 0:
            continue
        out.append(Found(start, end, text.count("\n", 0, start) + 1, m.group("version")))
    return out
