"""dotenv files: `KEY=value` and `export KEY=value`, quoted or not, with an optional comment.

A dotenv file is read as `source .env` reads it (POSIX sh): an assignment counts only where a
command starts, so a `KEY=` line inside another variable's multi-line quoted value, a line
continued with a backslash, or the body of a heredoc is text, not a pin."""

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
    commands = command_lines(text)
    for number, line in enumerate(text.split("\n"), start=1):
        start = pos
        pos += len(line) + 1
        if number not in commands:
            continue
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


_HEREDOC = r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.-]+))"  # compiled by re on first use


def _unclosed(line: int, quote: str) -> LocateError:
    return LocateError(line, f"the {quote} opened on this line is never closed: sh cannot read this file; close it")


def command_lines(text: str) -> set[int]:
    """The numbers of the lines on which a command starts, as sh reads the text: not inside a
    quoted string that spans lines, not after a backslash-newline, not in a heredoc's body. A
    quote that is never closed is a LocateError (sh would refuse the file)."""
    starts: set[int] = set()
    i, n, line = 0, len(text), 1
    at_start = True
    pending: list[tuple[str, bool]] = []  # heredoc delimiters whose bodies start at the next line
    while i < n:
        if at_start:
            starts.add(line)
            at_start = False
        c = text[i]
        if c == "\n":
            i += 1
            line += 1
            for delimiter, tabs in pending:  # skip each body, up to its delimiter line
                while i < n:
                    end = text.find("\n", i)
                    body = text[i : n if end < 0 else end].rstrip("\r")
                    i = n if end < 0 else end + 1
                    line += 1
                    if (body.lstrip("\t") if tabs else body) == delimiter:
                        break
            pending = []
            at_start = True
        elif c == "\\":
            if text.startswith("\n", i + 1):
                line += 1  # a continued line: the same command goes on
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _unclosed(line, c)
            line += text.count("\n", i, end)
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise _unclosed(line, c)
            line += text.count("\n", i, j)
            i = j + 1
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;&|()"):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            m = re.compile(_HEREDOC).match(text, i)
            if m is None:
                i += 2
            else:
                pending.append((m.group(2) or m.group(3) or m.group(4) or "", m.group(1) == "-"))
                i = m.end()
        else:
            i += 1
    return starts
