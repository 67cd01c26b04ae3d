"""dotenv files: `KEY=value` and `export KEY=value`, quoted or not, with an optional comment."""

from __future__ import annotations

import re

from promoter.locate.base import Found, LocateError

_LINE = re.compile(
    r"""[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*
    (?:"(?P<dq>[^"\\\r\n]*)"|'(?P<sq>[^'\r\n]*)'|(?P<bare>[^\s"'\#;&|`$\\]*))
    (?:[ \t]+(?:\#.*)?)?\r?   # a comment needs white space before it: in sh, a#b is one word""",
    re.VERBOSE,
)
_MENTION = re.compile(r"[ \t]*(?:export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=")


def find(text: str, key: str) -> list[Found]:
    """Every assignment of `key`; commented-out lines are not assignments."""
    out: list[Found] = []
    pos = 0
    for number, line in enumerate(text.split("\n"), start=1):
        start = pos
        pos += len(line) + 1
        if number == 1 and line.startswith("\ufeff"):
            line, start = line[1:], start + 1
        mention = _MENTION.match(line)
        if mention is None or mention.group("key") != key:
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise LocateError(
                number,
                f"cannot read the value of {key}: expected KEY=value, KEY='value' or KEY=\"value\""
                " with an optional # comment",
            )
        group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
        out.append(Found(start + m.start(group), start + m.end(group), number, m.group(group)))
    return out
