"""Durations, one way in and one way out: `30m`, `1h30m`, `2d`, `1w`, `90s` <-> seconds.

Config keys (`min_age:`, later `soak:`) and options (`--wait`) read them with `parse`; every
message shows them with `format`, so what promoter prints can be pasted back where it reads one.
"""

from __future__ import annotations

import re

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_PATTERN = r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?"  # compiled by re on first use
EXAMPLES = "30m, 2h, 1d, 1h30m or 90s"


def parse(text: str) -> int:
    """Seconds of a duration such as 30m, 1h30m, 2d, 1w or 45s (units from largest to smallest,
    each at most once). ValueError, saying what is expected, for anything else."""
    m = re.fullmatch(_PATTERN, text.strip())
    if not text.strip() or m is None:
        raise ValueError(f"'{text}' is not a duration such as {EXAMPLES}")
    return sum(int(g or 0) * size for g, (_, size) in zip(m.groups(), _UNITS))


def format(seconds: float, parts: int = 4) -> str:
    """3725 -> '1h2m5s'; the `parts` largest units only (parts=2: 3725 -> '1h2m', 2d0h5m -> '2d');
    0.5 -> '0.5s'; 0 or less -> '0s'. Weeks are shown as days (a soak of 14d reads better than 2w)."""
    if 0 < seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    rest = max(int(seconds), 0)
    units = _UNITS[1:]
    first = next((i for i, (_, size) in enumerate(units) if rest >= size), len(units))
    out: list[str] = []
    for unit, size in units[first : first + parts]:
        if rest >= size:
            out.append(f"{rest // size}{unit}")
        rest %= size
    return "".join(out) or "0s"
