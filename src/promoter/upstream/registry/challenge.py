"""The WWW-Authenticate header (RFC 9110 11.6.1), parsed by hand: several challenges in one value,
quoted strings with commas and escapes, token68 forms. No library reads it right."""

from __future__ import annotations

import re

from promoter.records import field, record

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")


@record(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: scheme lowercased, parameter names lowercased."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value (RFC 9110 11.6.1), several allowed in one.

    `Bearer realm="https://quay.io/v2/auth",service="quay.io", Basic realm="a, b"` ->
    [Challenge("bearer", {"realm": ..., "service": "quay.io"}), Challenge("basic", {"realm": "a, b"})].
    Malformed parts are skipped, never guessed at.
    """
    challenges: list[Challenge] = []
    current: Challenge | None = None
    n = len(header)
    pos = 0

    def skip_ws(p: int) -> int:
        while p < n and header[p] in " \t":
            p += 1
        return p

    def token_at(p: int) -> int:
        while p < n and header[p] in _TOKEN_CHARS:
            p += 1
        return p

    while pos < n:
        while pos < n and header[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        end = token_at(pos)
        if end == pos:  # garbage: skip to the next comma
            nxt = header.find(",", pos)
            pos = n if nxt < 0 else nxt + 1
            continue
        name = header[pos:end]
        after = skip_ws(end)
        if after < n and header[after] == "=" and current is not None:
            # auth-param of the current challenge
            pos = skip_ws(after + 1)
            if pos < n and header[pos] == '"':
                chars: list[str] = []
                pos += 1
                while pos < n and header[pos] != '"':
                    if header[pos] == "\\" and pos + 1 < n:
                        pos += 1
                    chars.append(header[pos])
                    pos += 1
                pos += 1  # the closing quote (or past the end when it is missing)
                value = "".join(chars)
            else:
                vend = token_at(pos)
                value = header[pos:vend]
                pos = vend
            current.params.setdefault(name.lower(), value)
            continue
        # a new challenge: `scheme`, `scheme token68`, or `scheme param=value, ...`
        current = Challenge(name.lower())
        challenges.append(current)
        pos = after
        m = _TOKEN68.match(header, pos) if pos > end else None
        if m:
            tail = skip_ws(m.end())
            if (tail >= n or header[tail] == ",") and "=" not in m.group().rstrip("="):
                current = Challenge(current.scheme, token68=m.group())
                challenges[-1] = current
                pos = tail
                current = None  # a token68 challenge takes no parameters
    return challenges
