"""`promoter history` rendered: a text table, JSON, and one self-contained HTML page.

The HTML page loads nothing (inline CSS, inline SVG and a few lines of inline script to filter
the table, under a Content-Security-Policy that allows nothing else; its only URLs are links to
the commit and compare pages of the upstream and of the config repository on GitHub or GitLab).
Every chart's time axis covers the same period (`--since`/`--until`, else the first and the last
change). It shows DORA's four measures per environment; per environment a step chart of which
version ran when (placed at the upstream commit's date, or in the order they first ran offline:
never a sha on the axis; rollbacks marked; the newest commit of the branch dashed; a legend) and
how many commits of the branch it lacked at every instant; how long each version took from the
first environment to the last; the lead times with their median; promotions per week, empty weeks
too; the table of changes, newest first, dates in UTC, filterable. A figure without a value says
why. Every text goes through `html.escape`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import UTC, datetime
from html import escape

from promoter import durations
from promoter.insight.history import Change, Facts, History, Lag, Note, forms
from promoter.render.document import document, dumps, version
from promoter.render.page import PAGE_CSS, page, row_filter
from promoter.render.table import Cell, fit, fits
from promoter.text import plural

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.insight.dora import Measures


def duration(seconds: int | None) -> str:
    """`2d3h`, `3h5m`, `12m`, `40s`; `-` when unknown or negative (clock skew)."""
    if seconds is None or seconds < 0:
        return "-"
    return durations.format(seconds, parts=2)


def _values(values: tuple[str, ...], n: int) -> str:
    return ", ".join(v[:n] if len(v) == 40 else v for v in values) or "(none)"


def _when(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M %z")


def _utc(d: datetime) -> str:
    """`2026-01-02 09:05 UTC`: the text table's dates, each in the same offset whatever the
    committer's clock said (the commits of one table come from many time zones)."""
    return d.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _lead(ch: Change) -> str:
    return ",".join(duration(f.lead_time) for f in ch.facts.values()) if ch.facts else "-"


def _behind(ch: Change) -> str:
    if not ch.facts:
        return "-"
    return ",".join(f.problem or ("-" if f.behind is None else str(f.behind)) for f in ch.facts.values())


def _change(ch: Change, n: int) -> str:
    return f"{_values(ch.old, n)} -> {_values(ch.new, n)}" + (" (rollback)" if ch.rollback else "")


def _headline(h: History) -> str:
    rollbacks = sum(1 for ch in h.changes if ch.rollback)
    head = f"{h.component.name}: {plural(len(h.changes), 'change')}" + (
        f", {plural(rollbacks, 'rollback')}" if rollbacks else ""
    )
    if h.branch:
        head += f"; upstream branch {h.branch}"
    elif h.upstream_error:
        head += f"; upstream not read: {h.upstream_error}"
    return head


def note_lines(notes: list[Note], verbose: bool = False) -> list[str]:
    """The notes, one line per target and reason ("412 commits: no pin in ...; first ..., last ...");
    with `verbose`, one line each."""
    if verbose:
        return [f"target '{n.target}': {n.commit[:12]} ({n.date:%Y-%m-%d}): {n.detail}" for n in notes]
    groups: dict[tuple[str, str], list[Note]] = {}
    for note in notes:
        groups.setdefault((note.target, note.reason), []).append(note)
    out = []
    for (target, reason), group in groups.items():
        if len(group) == 1:
            n = group[0]
            out.append(f"target '{target}': {n.commit[:12]} ({n.date:%Y-%m-%d}): {n.detail}")
        else:
            dates = sorted(n.date for n in group)
            out.append(
                f"target '{target}': {len({n.commit for n in group})} commits: {reason}; "
                f"first {dates[0]:%Y-%m-%d}, last {dates[-1]:%Y-%m-%d}"
            )
    if len(out) < len(notes):
        out.append(f"{len(notes)} notes in {len(groups)} groups; promoter -v history lists each")
    return out


def history_text(h: History, verbose: bool = False, width: int | None = None) -> str:
    n = h.component.short_length
    out = [_headline(h)]
    rows: list[list[str | Cell] | Cell] = [
        ["DATE", "COMMIT", "AUTHOR", "ENVIRONMENTS", "CHANGE", "LEAD", "BEHIND", "SUBJECT"]
    ]
    for ch in h.changes:
        c = ch.commit
        rows.append([_utc(c.date), c.sha[:n], c.author, ",".join(ch.environments), _change(ch, n), _lead(ch),
                     _behind(ch), c.subject])  # fmt: skip
    kinds: tuple[str, ...] = ("fixed", "fixed", "prose", "prose", "fixed", "fixed", "fixed", "prose")
    floors = {}
    if not fits(rows, width, kinds):  # narrow: dates in UTC, author and subject under each change
        rows = [["DATE (UTC)", "COMMIT", "CHANGE", "LEAD", "BEHIND", "ENVIRONMENTS"], Cell("AUTHOR: SUBJECT")]
        for ch in h.changes:
            c = ch.commit
            when = c.date.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            rows.append([when, c.sha[:n], _change(ch, n), _lead(ch), _behind(ch), ",".join(ch.environments)])
            rows.append(Cell(f"{c.author}: {c.subject}"))
        kinds = ("fixed", "fixed", "fixed", "fixed", "fixed", "prose")
        floors = {5: max((len(e) + 1 for ch in h.changes for e in ch.environments), default=1)}  # a name a line
    out += fit(rows, width, kinds, floors=floors)  # old -> new whole; a subject wrapped, never cut
    weeks = h.weeks()
    if weeks:
        out.append("promotions per week:")
        out += [f"  {week}  {p}" + (f" + {plural(r, 'rollback')}" if r else "") for week, (p, r) in weeks.items()]
    out += [f"note: {line}" for line in note_lines(h.notes, verbose)]
    return "\n".join(out) + "\n"


def _facts_json(f: Facts | None) -> dict[str, Any]:
    return {
        "promoted": f.promoted if f else None,
        "upstream_date": f.upstream_date.isoformat() if f and f.upstream_date else None,
        "lead_time_seconds": f.lead_time if f else None,
        "behind": f.behind if f else None,
    }


def _known_shas(h: History) -> dict[str, str]:
    """The full sha of each value the upstream named (as promoted) anywhere in the history."""
    shas: dict[str, str] = {}
    for ch in h.changes:
        for value, f in ch.facts.items():
            if f.promoted:
                shas[value] = f.promoted
        for tc in ch.target_changes:
            if tc.facts is not None and tc.facts.promoted and len(tc.new) == 1:
                shas[tc.new[0]] = tc.facts.promoted
    return shas


def _change_json(ch: Change, shas: dict[str, str]) -> dict[str, Any]:
    single = ch.facts.get(ch.new[0]) if len(ch.new) == 1 else None
    return {
        "commit": ch.commit.sha,
        "date": ch.commit.date.isoformat(),
        "author": {"name": ch.commit.author, "email": ch.commit.email},
        "subject": ch.commit.subject,
        "old": [version(v, shas.get(v)) for v in ch.old],
        "new": [version(v, shas.get(v)) for v in ch.new],
        "environments": ch.environments,
        "files": ch.files,
        "rollback": ch.rollback,
        **_facts_json(single),
        # what the trust gate verified when it was promoted (its Trusted-* trailers), or null
        "trust": {k.removeprefix("Trusted-").lower(): v for k, v in ch.commit.trust} or None,
        "unresolved": ch.unresolved,
        "targets": [
            {
                "target": tc.target,
                "environment": tc.environment,
                "files": tc.files,
                "old": [version(v, shas.get(v)) for v in tc.old],
                "new": [version(v, shas.get(v)) for v in tc.new],
                "rollback": tc.rollback,
                **_facts_json(tc.facts),
            }
            for tc in ch.target_changes
        ],
    }


def history_doc(h: History, measures: list[Measures] | None = None) -> dict[str, Any]:
    """Every change as data; `old` and `new` are versions (the full sha where the upstream named
    it), `targets` each changed target's own change; `dora` the four measures per environment."""
    from promoter.render.dora import history_dora

    shas = _known_shas(h)
    return document(
        "history",
        {
            "component": h.component.name,
            "environments": h.environments,
            "upstream": {"branch": h.branch, "error": h.upstream_error},
            "changes": [_change_json(ch, shas) for ch in h.changes],
            "weeks": {w: {"promotions": p, "rollbacks": r} for w, (p, r) in h.weeks().items()},
            "dora": history_dora(measures or []),
            "notes": [
                {
                    "commit": n.commit,
                    "date": n.date.isoformat(),
                    "target": n.target,
                    "reason": n.reason,
                    "detail": n.detail,
                }
                for n in h.notes
            ],
        },
    )


def history_json(h: History, measures: list[Measures] | None = None) -> str:
    return dumps(history_doc(h, measures))


# -- HTML ---------------------------------------------------------------------------------------
_CSS = (
    PAGE_CSS
    + """
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; padding: 0; list-style: none; }
.figures li { border: 1px solid #d5dbe5; border-radius: 6px; padding: 6px 12px; background: #f6f8fb; max-width: 15em; }
.figures b { display: block; font-size: 18px; } .figures li.none b { font-size: 14px; color: #5a6270;
  font-weight: 600; }
svg.chart { display: block; background: #fbfcfe; border: 1px solid #d5dbe5; border-radius: 4px; margin: 4px 0;
  width: 100%; min-width: 560px; height: auto; }
svg .axis { stroke: #8a93a3; stroke-width: 1; } svg .grid { stroke: #e6eaf1; stroke-width: 1; }
svg text { font-size: 11px; fill: #5a6270; } svg text.label { fill: #1d2330; }
svg .head { fill: none; stroke: #5a6270; stroke-width: 1.2; stroke-dasharray: 5 3; }
svg .connector { stroke: #8a93a3; stroke-width: 1; }
svg .version { stroke-width: 4; stroke-linecap: butt; }
svg .promotion { stroke: #fff; stroke-width: 1.5; }
svg .promotion.rollback { fill: #d62728; stroke: #7a0f10; stroke-width: 2; }
svg .promotion.dense { stroke: none; } svg .promotion.rollback.dense { stroke: #7a0f10; stroke-width: 1; }
svg text.label { paint-order: stroke; stroke: #fbfcfe; stroke-width: 3px; stroke-linejoin: round; }
svg .rollback-mark { fill: #d62728; }
svg .behind-line { fill: none; stroke: #3b6fd8; stroke-width: 1.5; }
svg .behind-area { fill: #3b6fd8; fill-opacity: 0.12; stroke: none; }
svg .bar { fill: #3b6fd8; } svg .bar.rollbacks { fill: #d62728; } svg .median { stroke: #1d2330;
  stroke-width: 1.5; stroke-dasharray: 5 3; }
svg .span { stroke: #8a93a3; stroke-width: 2; } svg .lagdot { fill: #2f9e6e; fill-opacity: 0.7; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0 6px; font-size: 12px; color: #3a4250;
  padding: 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: 5px; } .legend svg { flex: none; }
table.changes { border-collapse: collapse; margin-top: 4px; font-size: 13px; }
table.changes th, table.changes td { border-bottom: 1px solid #e1e6ee; padding: 4px 6px; text-align: left;
  vertical-align: top; }
table.changes th { background: #eef2f8; position: sticky; top: 0; white-space: nowrap; } code { font-size: 12px; }
table.changes td.date { white-space: nowrap; }
tr.rollback td { background: #fdeeee; } .problem { color: #8a5a00; }
.notes { color: #8a5a00; }
@media (max-width: 640px) {
  .figures li { flex: 1 1 40%; }
  table.changes .wide { display: none; }
}
"""
)

_W = 960  # every chart's width
_L, _R = 96, 16  # left and right margins of the plot area
_VERSION_COLOURS = (
    "#3b6fd8", "#e08a1e", "#2f9e6e", "#8e5bc2", "#1f9bb4", "#a0672c", "#d4569a", "#6f8f1f", "#34495e", "#c9a400",
)  # fmt: skip
_ENV_COLOURS = ("#3b6fd8", "#2f9e6e", "#e08a1e", "#8e5bc2", "#1f9bb4", "#d4569a", "#a0672c", "#34495e")


def _a(url: str | None, inner: str, cls: str = "") -> str:
    if not url:
        return inner
    attr = f' class="{cls}"' if cls else ""
    return f'<a{attr} href="{escape(url)}">{inner}</a>'


class _Links:
    """Commit and compare pages of the component's upstream (GitHub and GitLab URLs); None elsewhere."""

    def __init__(self, repo: str) -> None:
        from promoter.upstream.changelog import compare_url, web_url

        self.web = web_url(repo)
        self.compare_url = compare_url
        self.repo = repo
        self.sep = "/commit/" if self.web and self.web.startswith("https://github.com/") else "/-/commit/"

    def commit(self, sha: str | None) -> str | None:
        if self.web is None or not sha or not all(c in "0123456789abcdef" for c in sha):
            return None
        return f"{self.web}{self.sep}{sha}"

    def compare(self, old: str | None, new: str | None) -> str | None:
        if self.web is None or not old or not new or old == new:
            return None
        return self.compare_url(self.repo, old, new)


class _TimeAxis:
    """A time axis from t0 to t1; `period` is what it shows (the axis has a little room around it)."""

    def __init__(self, t0: float, t1: float, width: int = _W, period: tuple[float, float] | None = None) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        self.x0, self.x1 = _L, width - _R
        self.period = period or (t0, t1)

    def data(self) -> dict[str, str]:
        """The period as the chart's data attributes (`data-from`, `data-to`: ISO times in UTC)."""
        start, end = (datetime.fromtimestamp(t, UTC).isoformat() for t in self.period)
        return {"from": start, "to": end}

    def x(self, t: float) -> float:
        return self.x0 + (t - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)

    def ticks(self) -> list[tuple[float, str]]:
        return _time_ticks(self.t0, self.t1)

    def draw(self, y: float, top: float) -> str:
        parts = [f'<line class="axis" x1="{self.x0}" y1="{y}" x2="{self.x1}" y2="{y}"/>']
        room = 0.0  # where the last label ended: a label that would touch it is left out (its grid line stays)
        for t, label in self.ticks():
            x = self.x(t)
            parts.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}"/>')
            anchor = "end" if x > self.x1 - 32 else "start" if x < self.x0 + 32 else "middle"  # kept inside
            width = len(label) * 6.2
            left = x - width if anchor == "end" else x if anchor == "start" else x - width / 2
            if left < room + 8:
                continue
            room = left + width
            parts.append(f'<text x="{x:.1f}" y="{y + 14}" text-anchor="{anchor}">{escape(label)}</text>')
        return "".join(parts)


def _time_ticks(t0: float, t1: float) -> list[tuple[float, str]]:
    """About six round instants between t0 and t1 with their labels (UTC)."""
    span = t1 - t0
    day = 86400
    steps = ((3600, "%m-%d %H:%M"), (6 * 3600, "%m-%d %H:%M"), (day, "%Y-%m-%d"), (2 * day, "%Y-%m-%d"))
    for step, fmt in (*steps, (7 * day, "%Y-%m-%d"), (14 * day, "%Y-%m-%d")):
        if span / step <= 9:
            first = (int(t0) // step + 1) * step
            if step >= 7 * day:  # weeks start on Monday (the epoch was a Thursday)
                first = ((int(t0) - 4 * day) // step + 1) * step + 4 * day
            return [(t, datetime.fromtimestamp(t, UTC).strftime(fmt)) for t in range(first, int(t1) + 1, step)]
    start = datetime.fromtimestamp(t0, UTC)
    for months in (1, 2, 3, 6, 12, 24, 60):
        if span / (months * 30.44 * day) <= 8:
            break
    out: list[tuple[float, str]] = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if (year * 12 + month - 1) % months:
            continue
        t = datetime(year, month, 1, tzinfo=UTC).timestamp()
        if t > t1:
            return out
        out.append((t, f"{year}" if months >= 12 else f"{year}-{month:02d}"))


def _svg(cls: str, height: int, label: str, body: list[str], **data: str) -> str:
    attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
    return (
        f'<svg class="chart {cls}"{attrs} width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>' + "".join(body) + "</svg>"
    )


def _env_behind(ch: Change, env: str) -> int | None:
    figures = [tc.facts.behind for tc in ch.target_changes if tc.environment == env and tc.facts]
    known = [f for f in figures if f is not None]
    return max(known) if known else None


def _html_utc(d: datetime) -> str:
    """`2024-01-03 00:00`: a time in UTC on one line (the page says UTC once, where it is shown)."""
    return d.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


FEW_VERSIONS = len(_VERSION_COLOURS)  # up to this many versions each gets its own colour


class _Versions:
    """Every version the page shows: its place on the y axis of the step charts and its colour.

    With the upstream the y axis is the date of the version's upstream commit, and the newest
    commit of the branch over the period is inside it too; without, the versions in the order they
    first ran (numbered, never by sha). A few versions each get a colour of their own; many are
    drawn in their environment's colour (a thousand colours tell nothing)."""

    def __init__(self, h: History, t0: float, t1: float) -> None:
        self.h = h
        first_seen: dict[str, float] = {}
        for env in h.environments:
            for seg in h.timeline(env):
                for v in seg.values:
                    first_seen.setdefault(h.version(v), seg.start.timestamp())
        times = h.index.time if h.index is not None else {}
        self.by_time = bool(first_seen) and all(v in times for v in first_seen)
        key = {v: float(times[v]) if v in times else t for v, t in first_seen.items()}
        ordered = sorted(first_seen, key=lambda v: (key[v], v))
        self.rank = {v: i for i, v in enumerate(ordered)}
        self.key = key if self.by_time else {v: float(i + 1) for v, i in self.rank.items()}
        self.lo = min(self.key.values(), default=0.0)
        self.hi = max(self.key.values(), default=1.0)
        self.heads: list[tuple[float, float]] = []  # (instant, the newest commit of the branch then)
        if self.by_time and h.index is not None and h.index.times:
            ranked = h.index.times
            for i in range(0, 241):
                t = t0 + (t1 - t0) * i / 240
                k = bisect_right(ranked, t)
                if k:
                    self.heads.append((t, float(ranked[k - 1])))
            if self.heads:
                self.hi = max(self.hi, max(v for _, v in self.heads))
        if self.hi <= self.lo:
            self.lo, self.hi = self.lo - 1, self.hi + 1
        self.few = len(self.rank) <= FEW_VERSIONS

    def colour(self, value: str, env_colour: str) -> str:
        if not self.few:
            return env_colour
        return _VERSION_COLOURS[self.rank.get(self.h.version(value), 0) % len(_VERSION_COLOURS)]

    def y(self, value: str, top: float, bottom: float) -> float:
        k = self.key.get(self.h.version(value), self.lo)
        return self.at(k, top, bottom)

    def at(self, key: float, top: float, bottom: float) -> float:
        """Where `key` (an upstream time, or a rank) sits between `top` and `bottom`, a little inside."""
        return bottom - 8 - (key - self.lo) / (self.hi - self.lo) * (bottom - top - 14)


def _ordinal_ticks(lo: float, hi: float) -> list[float]:
    """Round version numbers between lo and hi (1, 2, 5, 10, 20, 50… apart), at most about five."""
    span = max(hi - lo, 1)
    step = 1
    while span / step > 5:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50, …
    first = math.ceil(lo / step) * step
    return [float(v) for v in range(int(first), int(hi) + 1, step)] or [lo]


def _legend(h: History, versions: _Versions) -> str:
    """What the marks of the step charts mean."""

    def swatch(inner: str) -> str:
        return f'<svg width="26" height="14" viewBox="0 0 26 14" aria-hidden="true">{inner}</svg>'

    colour = "each its own colour" if versions.few else "in the environment's colour"
    items = [
        (swatch('<line x1="1" y1="7" x2="25" y2="7" stroke="#3b6fd8" stroke-width="4"/>'),
         f"a version, from the change that brought it to the one that replaced it ({colour})"),
        (swatch('<circle cx="13" cy="7" r="5" fill="#3b6fd8" stroke="#fff" stroke-width="1.5"/>'),
         "a promotion (a link to the version's commit)"),
        (swatch('<path d="M8,1 h10 l-5,8 z" fill="#d62728"/><circle cx="13" cy="11" r="2.5" fill="#d62728"/>'),
         "a rollback"),
    ]  # fmt: skip
    if versions.heads:
        items.append(
            (swatch('<line x1="1" y1="7" x2="25" y2="7" stroke="#5a6270" stroke-width="1.2" stroke-dasharray="5 3"/>'),
             f"the newest commit of {escape(h.branch or 'the branch')} at the time")
        )  # fmt: skip
    if h.index is not None:
        items.append(
            (swatch('<rect x="1" y="3" width="24" height="10" fill="#3b6fd8" fill-opacity="0.12"/>'
                    '<polyline points="1,10 9,10 9,5 17,5 17,8 25,8" fill="none" stroke="#3b6fd8"/>'),
             "below: commits of the branch it lacked")
        )  # fmt: skip
    return (
        '<ul class="legend" data-legend="timeline">'
        + "".join(f"<li>{mark}<span>{text}</span></li>" for mark, text in items)
        + "</ul>"
    )


def _step_chart(h: History, env: str, axis: _TimeAxis, versions: _Versions, links: _Links, colour: str) -> str:
    """Which version `env` ran when: a horizontal line per version, a step at each change, a marker
    per change (red, with a down arrow, for a rollback)."""
    n = h.component.short_length
    height, top, bottom = 210, 14, 176
    body = [axis.draw(bottom, top), f'<line class="axis" x1="{_L}" y1="{top}" x2="{_L}" y2="{bottom}"/>']
    if versions.by_time:
        for t, label in _time_ticks(versions.lo, versions.hi)[::2] or [(versions.lo, "")]:
            y = versions.at(t, top, bottom)
            body.append(f'<line class="grid" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
            body.append(f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        caption = "upstream commit date"
        pts = [f"{axis.x(t):.1f},{versions.at(v, top, bottom):.1f}" for t, v in versions.heads]
        if len(pts) > 1:
            body.append(f'<polyline class="head" points="{" ".join(pts)}"><title>the newest commit of '
                        f'{escape(h.branch or "the branch")}</title></polyline>')  # fmt: skip
    else:
        caption = "versions, in the order they ran"
        for k in _ordinal_ticks(versions.lo, versions.hi):
            y = versions.at(k, top, bottom)
            body.append(f'<line class="grid" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
            body.append(f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">#{int(k)}</text>')
    body.append(
        f'<text x="12" y="{(top + bottom) / 2}" transform="rotate(-90 12 {(top + bottom) / 2})" '
        f'text-anchor="middle">{escape(caption)}</text>'
    )
    prev_y: float | None = None
    segments = h.timeline(env)
    for seg in segments:
        x0 = max(axis.x(seg.start.timestamp()), axis.x0)
        x1 = axis.x(seg.end.timestamp()) if seg.end else axis.x(axis.t1)
        ys = [versions.y(v, top, bottom) for v in seg.values]
        if prev_y is not None and ys:
            body.append(f'<line class="connector" x1="{x0:.1f}" y1="{prev_y:.1f}" x2="{x0:.1f}" y2="{min(ys):.1f}"/>')
        for v, y in zip(seg.values, ys):
            tip = f"{_values((v,), n)} from {_when(seg.start)}" + (f" to {_when(seg.end)}" if seg.end else "")
            body.append(
                f'<line class="version" x1="{x0:.1f}" y1="{y:.1f}" x2="{max(x1, x0 + 1):.1f}" y2="{y:.1f}" '
                f'stroke="{versions.colour(v, colour)}" data-version="{escape(h.version(v))}">'
                f"<title>{escape(tip)}</title></line>"
            )
            if x1 - x0 > 64 and (versions.few or len(segments) <= 40):
                body.append(f'<text class="label" x="{x0 + 3:.1f}" y="{y - 5:.1f}">{escape(_values((v,), n))}</text>')
        prev_y = min(ys) if ys else None
    count = sum(1 for seg in segments if seg.change is not None)
    radius, dense = (5, "") if count <= 60 else (3, "") if count <= 300 else (1.6, " dense")  # a long history
    for seg in segments:
        ch = seg.change
        if ch is None:
            continue
        x = axis.x(seg.start.timestamp())
        y = min((versions.y(v, top, bottom) for v in seg.values), default=bottom)
        behind = _env_behind(ch, env)
        shown = "unknown" if behind is None else str(behind)
        mine = [tc for tc in ch.target_changes if tc.environment == env]
        old = forms(v for tc in mine for v in tc.old)
        new = forms(v for tc in mine for v in tc.new)
        lead = [tc.facts.lead_time for tc in mine if tc.facts and tc.facts.lead_time is not None]
        tip = (
            f"{_when(ch.commit.date)} {ch.commit.author}: {_values(old, n)} -> {_values(new, n)}"
            + (" (ROLLBACK)" if seg.rollback else "")
            + f"; {shown} behind, lead time {duration(max(lead) if lead else None)}; {ch.commit.subject}"
        )
        cls = ("promotion rollback" if seg.rollback else "promotion") + dense
        fill = "" if seg.rollback else f' fill="{versions.colour(new[0], colour) if new else "#8a93a3"}"'
        promoted = [tc.facts.promoted for tc in mine if tc.facts and tc.facts.promoted]
        marker = (
            f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{radius + 1 if seg.rollback else radius}"{fill} '
            f'data-commit="{escape(ch.commit.sha)}" data-behind="{escape(shown)}"><title>{escape(tip)}</title></circle>'
        )
        if seg.rollback:
            marker += (
                f'<path class="rollback-mark" d="M{x - 5:.1f},{y - 19:.1f} h10 l-5,8 z"><title>rollback</title></path>'
            )
        body.append(_a(links.commit(promoted[0] if promoted else (new[0] if new else None)), marker))
    return _svg("timeline", height, f"versions {env} ran over time", body, environment=env, **axis.data())


def _behind_chart(h: History, env: str, axis: _TimeAxis) -> str:
    """How many commits of the branch `env` lacked at every instant: sampled across the period and
    on both sides of each change."""
    height, top, bottom = 120, 12, 92
    times = {int(axis.t0 + (axis.t1 - axis.t0) * i / 400) for i in range(401)}
    for seg in h.timeline(env):
        t = int(seg.start.timestamp())
        times.update((t - 1, t))
    ordered = sorted(t for t in times if axis.t0 <= t <= axis.t1)
    figures = h.behind_at(env, ordered)
    top_value = max([f for f in figures if f is not None] or [0]) or 1
    body = [axis.draw(bottom, top), f'<line class="axis" x1="{_L}" y1="{top}" x2="{_L}" y2="{bottom}"/>']
    for value in (0, top_value // 2, top_value) if top_value > 1 else (0, top_value):
        y = bottom - value / top_value * (bottom - top)
        body.append(f'<line class="grid" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
        body.append(f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    body.append(
        f'<text x="12" y="{(top + bottom) / 2}" transform="rotate(-90 12 {(top + bottom) / 2})" '
        'text-anchor="middle">commits behind</text>'
    )
    runs: list[list[tuple[float, float]]] = []
    last: int | None = None
    for t, f in zip(ordered, figures):
        if f is None:
            last = None
            continue
        x, y = axis.x(t), bottom - f / top_value * (bottom - top)
        if last is None:
            runs.append([(x, y)])
        else:
            runs[-1] += [(x, runs[-1][-1][1]), (x, y)]  # a step: along, then up or down
        last = f
    for run in runs:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
        body.append(
            f'<polygon class="behind-area" points="{run[0][0]:.1f},{bottom} {line} {run[-1][0]:.1f},{bottom}"/>'
            f'<polyline class="behind-line" points="{line}"/>'
        )
    if not runs:
        why = "no version of the branch ran here"
        body.append(f'<text x="{_W / 2}" y="{(top + bottom) / 2}" text-anchor="middle">{escape(why)}</text>')
    peak = max([f for f in figures if f is not None], default=None)
    return _svg(
        "behind", height, f"commits of the branch {env} lacked over time", body, environment=env,
        peak="" if peak is None else str(peak), **axis.data(),
    )  # fmt: skip


def _lag_text(seconds: int | None) -> str:
    return "at once" if seconds == 0 else duration(seconds)


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) // 2


_LAG_STEPS = (60, 300, 600, 1800, 3600, 2 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400,
              30 * 86400, 90 * 86400, 365 * 86400)  # fmt: skip
_LOG_TICKS = ((60, "1m"), (600, "10m"), (3600, "1h"), (6 * 3600, "6h"), (86400, "1d"), (7 * 86400, "1w"),
              (30 * 86400, "30d"), (365 * 86400, "1y"))  # fmt: skip


def _lead_chart(lead: list[int]) -> str:
    """The distribution of lead times on a log scale, the median marked."""
    height, top, bottom = 170, 14, 138
    lo, hi = math.log10(60), math.log10(max(max(lead, default=0), 14 * 86400) * 1.2)
    bins = 24
    width = (hi - lo) / bins
    counts = [0] * bins
    for s in lead:
        counts[min(max(int((math.log10(max(s, 60)) - lo) / width), 0), bins - 1)] += 1
    top_count = max(counts) or 1

    def x(v: float) -> float:
        return _L + (v - lo) / (hi - lo) * (_W - _L - _R)

    body = [f'<line class="axis" x1="{_L}" y1="{bottom}" x2="{_W - _R}" y2="{bottom}"/>',
            f'<line class="axis" x1="{_L}" y1="{top}" x2="{_L}" y2="{bottom}"/>']  # fmt: skip
    for s, label in _LOG_TICKS:
        if lo <= math.log10(s) <= hi:
            xs = x(math.log10(s))
            body.append(f'<line class="grid" x1="{xs:.1f}" y1="{top}" x2="{xs:.1f}" y2="{bottom}"/>')
            body.append(f'<text x="{xs:.1f}" y="{bottom + 14}" text-anchor="middle">{label}</text>')
    for value in (0, top_count):
        y = bottom - value / top_count * (bottom - top)
        body.append(f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, c in enumerate(counts):
        if c:
            x0, x1 = x(lo + i * width), x(lo + (i + 1) * width)
            y = bottom - c / top_count * (bottom - top)
            tip = (
                f"{plural(c, 'promotion')} with a lead time of {duration(int(10 ** (lo + i * width)))} to "
                + duration(int(10 ** (lo + (i + 1) * width)))
            )
            body.append(
                f'<rect class="bar" x="{x0 + 1:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
                f'height="{bottom - y:.1f}" data-count="{c}"><title>{escape(tip)}</title></rect>'
            )
    median = _median(lead)
    if median is not None:
        xm = x(math.log10(max(median, 60)))
        anchor = "end" if xm > _W - _R - 120 else "start"
        xt = xm - 4 if anchor == "end" else xm + 4
        body.append(f'<line class="median" x1="{xm:.1f}" y1="{top}" x2="{xm:.1f}" y2="{bottom}"/>')
        body.append(f'<text class="label" x="{xt:.1f}" y="{top + 10}" text-anchor="{anchor}">median '
                    f"{escape(duration(median))}</text>")  # fmt: skip
    body.append(f'<text x="{_W / 2}" y="{height - 6}" text-anchor="middle">lead time (log scale)</text>')
    return _svg("leadtime", height, "lead times of the promotions", body, median=str(median or ""))


def _weeks_chart(h: History) -> str:
    """Promotions per ISO week, every week from the first to the last (none too), rollbacks on top in red."""
    weeks = h.weeks(empty=True)
    height, top, bottom = 170, 14, 134
    names = list(weeks)
    top_count = max((p + r for p, r in weeks.values()), default=0) or 1
    step = (_W - _L - _R) / max(len(names), 1)
    body = [f'<line class="axis" x1="{_L}" y1="{bottom}" x2="{_W - _R}" y2="{bottom}"/>',
            f'<line class="axis" x1="{_L}" y1="{top}" x2="{_L}" y2="{bottom}"/>']  # fmt: skip
    for value in sorted({0, top_count // 2, top_count}):
        y = bottom - value / top_count * (bottom - top)
        body.append(f'<line class="grid" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
        body.append(f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    every = max(1, math.ceil(len(names) / 10))
    gap = 2 if step > 4 else 0
    for i, (week, (p, r)) in enumerate(weeks.items()):
        x = _L + i * step
        w = max(step - gap, 1)
        if len(names) <= 3:  # a bar a third of the plot wide says nothing more than a narrow one
            w = min(w, 80.0)
            x += (step - w) / 2
        yp = bottom - p / top_count * (bottom - top)
        yr = yp - r / top_count * (bottom - top)
        tip = f"{week}: {plural(p, 'promotion')}" + (f", {plural(r, 'rollback')}" if r else "")
        body.append(
            f'<g class="week" data-week="{escape(week)}" data-promotions="{p}" data-rollbacks="{r}">'
            f"<title>{escape(tip)}</title>"
            + (f'<rect class="bar" x="{x:.1f}" y="{yp:.1f}" width="{w:.1f}" height="{bottom - yp:.1f}"/>' if p else "")
            + (f'<rect class="bar rollbacks" x="{x:.1f}" y="{yr:.1f}" width="{w:.1f}" '
               f'height="{yp - yr:.1f}"/>' if r else "")
            + "</g>"
        )  # fmt: skip
        if i % every == 0:
            xl = _L + i * step + step / 2
            body.append(f'<text x="{xl:.1f}" y="{bottom + 14}" text-anchor="middle">{escape(week)}</text>')
    return _svg("weeks", height, "promotions per week", body)


def _lag_charts(h: History, lags: list[Lag], axis: _TimeAxis, links: _Links) -> str:
    """For the latest versions, when each environment got them after the first one did (a dot per
    environment on a line from the first to the last, on an axis of time since the first); for
    all, the lag from the first environment to the last over the period."""
    n = h.component.short_length
    envs = h.environments
    colour = {e: _ENV_COLOURS[i % len(_ENV_COLOURS)] for i, e in enumerate(envs)}
    legend = '<ul class="legend">' + "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="5" fill="{colour[e]}"/></svg>'
        f"<span>{escape(e)}</span></li>" for e in envs
    ) + "</ul>"  # fmt: skip
    latest = lags[-20:]
    step = next((s for s in _LAG_STEPS if max(lag.seconds for lag in latest) / s <= 5), _LAG_STEPS[-1])
    longest = max(math.ceil(max(lag.seconds for lag in latest) / step), 1) * step
    row = 20
    height = 24 + row * len(latest) + 22
    bottom = height - 22
    x0, x1 = _L, _W - 110

    def x(seconds: float) -> float:
        return x0 + seconds / longest * (x1 - x0)

    body = [f'<line class="axis" x1="{x0}" y1="{bottom}" x2="{x1}" y2="{bottom}"/>']
    for k in range(0, longest + 1, step):
        gx = x(k)
        body.append(f'<line class="grid" x1="{gx:.1f}" y1="8" x2="{gx:.1f}" y2="{bottom}"/>')
        anchor = "start" if k == 0 else "end" if k == longest else "middle"
        body.append(f'<text x="{gx:.1f}" y="{bottom + 14}" text-anchor="{anchor}">'
                    f"{escape('+0' if not k else '+' + duration(k))}</text>")  # fmt: skip
    for i, lag in enumerate(latest):
        yr = 20 + i * row
        first = min(lag.arrivals.values())
        xs = [x((t - first).total_seconds()) for t in lag.arrivals.values()]
        label = _values((lag.version,), n)
        body.append(f'<text class="label" x="{_L - 10}" y="{yr + 4}" text-anchor="end">'
                    f"{_a(links.commit(lag.version), escape(label))}</text>")  # fmt: skip
        body.append(f'<line class="span" x1="{min(xs):.1f}" y1="{yr}" x2="{max(xs):.1f}" y2="{yr}"/>')
        for (env, when), xe in zip(lag.arrivals.items(), xs):
            body.append(
                f'<circle cx="{xe:.1f}" cy="{yr}" r="4.5" fill="{colour[env]}"><title>'
                f"{escape(f'{label} reached {env} on {_html_utc(when)} UTC')}</title></circle>"
            )
        body.append(
            f'<text class="lag" x="{_W - 100}" y="{yr + 4}" data-version="{escape(lag.version)}" '
            f'data-seconds="{lag.seconds}">{escape(_lag_text(lag.seconds))}</text>'
        )
    dumbbell = _svg("lag", height, "when each environment got the latest versions, after the first did", body)
    # the lag of every version over time
    height, top, bottom = 150, 12, 122
    top_lag = max(lag.seconds for lag in lags) or 1
    body = [axis.draw(bottom, top), f'<line class="axis" x1="{_L}" y1="{top}" x2="{_L}" y2="{bottom}"/>']
    for value in (0, top_lag // 2, top_lag):
        y = bottom - value / top_lag * (bottom - top)
        body.append(f'<line class="grid" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
        body.append(
            f'<text x="{_L - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(duration(value) if value else "0")}</text>'
        )
    for lag in lags:
        first = min(lag.arrivals.values())
        x_, y = axis.x(first.timestamp()), bottom - lag.seconds / top_lag * (bottom - top)
        tip = (
            f"{_values((lag.version,), n)}: {duration(lag.seconds)} from {next(iter(lag.arrivals))} to "
            + list(lag.arrivals)[-1]
        )
        body.append(f'<circle class="lagdot" cx="{x_:.1f}" cy="{y:.1f}" r="3.5"><title>{escape(tip)}</title></circle>')
    median = _median([lag.seconds for lag in lags])
    if median is not None:
        y = bottom - median / top_lag * (bottom - top)
        body.append(f'<line class="median" x1="{_L}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}"/>')
        body.append(f'<text class="label" x="{_W - _R - 4}" y="{y - 4:.1f}" text-anchor="end">median '
                    f"{escape(_lag_text(median))}</text>")  # fmt: skip
    trend = _svg("lagtrend", height, "lag from the first environment to the last, per version", body, **axis.data())
    return legend + '<div class="scroll">' + dumbbell + trend + "</div>"


def _figure(name: str, value: str | None, label: str, why: str) -> str:
    """A card: its value, or (when it has none) why, never a bare dash."""
    if value is None:
        return f'<li class="none" data-figure="{name}" title="{escape(why)}"><b>{escape(why)}</b>{escape(label)}</li>'
    return f'<li data-figure="{name}"><b>{escape(value)}</b>{escape(label)}</li>'


def history_html(h: History, measures: list[Measures] | None = None, config_web: str | None = None) -> str:
    """One self-contained page: DORA's measures, what ran when in each environment, how far behind
    the branch, the lag between environments, lead times, promotions per week, and the table of
    changes. `config_web`: the config repository's web page, for links to its commits."""
    from promoter.insight import dora
    from promoter.render.dora import definitions_html, dora_rows_html

    name = h.component.name
    links = _Links(h.component.repo)
    config_links = _Links(config_web) if config_web else None
    changes = h.changes
    rollbacks = sum(1 for ch in changes if ch.rollback)
    span = dora.period(h)
    t0, t1 = (span.start.timestamp(), span.end.timestamp()) if span else (0.0, 1.0)
    pad = max((t1 - t0) * 0.02, 3600.0)
    axis = _TimeAxis(t0 - pad, t1 + pad, period=(t0, t1))
    upstream = (
        f"upstream branch {h.branch}"
        if h.branch
        else f"upstream not read: {h.upstream_error}"
        if h.upstream_error
        else "upstream not read (offline): no lead times, commits behind or rollbacks"
    )
    lead = [ch.lead_time for ch in changes if ch.lead_time is not None and ch.lead_time >= 0 and not ch.rollback]
    lags = h.lags()
    weeks = h.weeks(empty=True)
    quiet = sum(1 for p, r in weeks.values() if not p and not r)
    period = f"{_html_utc(span.start)} to {_html_utc(span.end)} UTC" if span else "no change"
    web = links.web
    no_upstream = "needs the upstream (offline)" if h.upstream_error is None else "the upstream was not read"
    lag_why = (
        "one environment: no lag" if len(h.environments) < 2 else "no version ran in two environments in the period"
    )
    lead_why = no_upstream if h.index is None else "no promotion with a known lead time"
    body = [
        f"<h1>History of {escape(name)}</h1>",
        f'<p class="meta">{plural(len(changes), "change")} from {escape(period)}; {escape(upstream)}'
        + (f' (<a href="{escape(web)}">repository</a>)' if web else "")
        + "</p>",
        '<ul class="figures">',
        _figure("changes", str(len(changes)), plural(len(changes), "change").split(" ", 1)[1], ""),
        _figure("rollbacks", str(rollbacks) if h.index is not None or rollbacks else None,
                plural(rollbacks, "rollback").split(" ", 1)[1], "rollbacks " + no_upstream),
        _figure("lead", duration(_median(lead)) if lead else None, "median lead time", lead_why),
        _figure("lag", _lag_text(_median([g.seconds for g in lags])) if lags else None,
                "median lag, first to last environment", lag_why),
        _figure("quiet-weeks", f"{quiet} of {len(weeks)}" if weeks else None, "weeks without a change",
                "no change in the period"),
        "</ul>",
    ]  # fmt: skip
    body.append("<h2>Delivery <small>DORA's four measures per environment, over the period</small></h2>")
    if measures:
        body.append(dora_rows_html(measures))
        window = durations.format(measures[0].window, parts=2)
        body.append(definitions_html().replace("</ul>", f"<li>failure window: {escape(window)}</li></ul>"))
    else:
        body.append('<p class="explain">No change in this period: nothing to measure.</p>')
    body += [
        "<h2>What ran when</h2>",
        '<p class="explain">Per environment: each version its targets pinned, from the change that brought it to the '
        "one that replaced it, placed "
        + ("at the date of its upstream commit (higher is newer)" if h.index is not None
           else "in the order the versions first ran (higher is newer; run without --offline to place them by date)")
        + (". Below it, how many commits of the branch the environment lacked at every instant.</p>"
           if h.index is not None
           else ". How far behind the branch each environment was needs the upstream (run without --offline).</p>"),
    ]  # fmt: skip
    versions = _Versions(h, axis.t0, axis.t1)
    body.append(_legend(h, versions))
    for i, env in enumerate(h.environments):
        mine = [ch for ch in changes if env in ch.environments]
        back = sum(1 for seg in h.timeline(env) if seg.rollback and seg.change is not None)
        body.append(f'<section class="environment" data-environment="{escape(env)}">')
        body.append(
            f"<h3>{escape(env)} <small>({plural(len(mine), 'change')}, {plural(back, 'rollback')})</small></h3>"
        )
        body.append('<div class="scroll">')
        body.append(_step_chart(h, env, axis, versions, links, _ENV_COLOURS[i % len(_ENV_COLOURS)]))
        if h.index is not None:
            body.append(_behind_chart(h, env, axis))
        body.append("</div></section>")
    body.append(
        "<h2>Environment lag <small>how long a version took from the first environment to the last</small></h2>"
    )
    if lags:
        body.append(_lag_charts(h, lags, axis, links))
    else:
        body.append(f'<p class="explain">{escape(lag_why[0].upper() + lag_why[1:])}.</p>')
    body.append("<h2>Lead time <small>from the promoted upstream commit to its promotion</small></h2>")
    if lead:
        body.append('<div class="scroll">' + _lead_chart(lead) + "</div>")
    else:
        body.append(f'<p class="explain">No lead time known ({escape(upstream)}).</p>')
    body.append("<h2>Promotions per week <small>every week of the period; rollbacks in red</small></h2>")
    body.append(
        '<div class="scroll">' + _weeks_chart(h) + "</div>"
        if weeks
        else '<p class="explain">No change in this period.</p>'
    )
    body.append(_changes_table(h, links, config_links))
    if h.notes:
        body.append(
            '<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{escape(x)}</li>" for x in note_lines(h.notes)) + "</ul>"
        )
    script = row_filter("filter", "tr.change", "shown", "data-commit")
    return page(f"promoter history: {name}", _CSS, "\n".join(body), script)


def _changes_table(h: History, links: _Links, config_links: _Links | None) -> str:
    """The changes, newest first: date (UTC), the config commit (a link when its forge is known),
    author, environments, targets, old and new (the new version's commit, the compare range)."""
    n = h.component.short_length
    changes = h.changes
    out = [
        f'<h2 id="changes">Changes <small>newest first; <span id="shown">{len(changes)}</span> of '
        f"{len(changes)} shown</small></h2>",
        '<div class="filters"><input type="search" id="filter" placeholder="filter: author, environment, sha…"'
        ' title="shows the changes whose text holds it" aria-label="filter the changes">'
        '<label><input type="checkbox" id="filter-only" value="rollback"> rollbacks only</label></div>',
    ]
    head = [("date (UTC)", ""), ("commit", ""), ("author", ""), ("environments", ""), ("targets", "wide"),
            ("old", "wide"), ("new", ""), ("lead time", "wide"), ("behind", "wide"), ("subject", "")]  # fmt: skip
    out.append('<div class="scroll"><table class="changes"><thead><tr>')
    out += [f'<th class="{c}">{escape(t)}</th>' if c else f"<th>{escape(t)}</th>" for t, c in head]
    out.append("</tr></thead><tbody>")
    for ch in reversed(changes):
        old_sha = _single_sha(h, ch.old)
        new_sha = ch.promoted or _single_sha(h, ch.new)
        # a rollback's page lists what it took away: from the new (older) version to the old one
        compare = links.compare(new_sha, old_sha) if ch.rollback else links.compare(old_sha, new_sha)
        new_cell = _a(links.commit(new_sha), f"<code>{escape(_values(ch.new, n))}</code>")
        if compare:
            new_cell += f' <a class="compare" href="{escape(compare)}">compare</a>'
        if ch.rollback:
            new_cell += ' <span class="tag">rollback</span>'
        problems = "".join(f' <span class="problem">{escape(p)}</span>' for p in ch.unresolved.values())
        commit = f"<code>{escape(ch.commit.sha[:12])}</code>"
        cells = [
            (escape(_html_utc(ch.commit.date)), "date"),
            (_a(config_links.commit(ch.commit.sha) if config_links else None, commit, "config-commit"), ""),
            (escape(ch.commit.author), ""),
            (escape(", ".join(ch.environments)), ""),
            (escape(", ".join(ch.targets)), "wide"),
            (f"<code>{escape(_values(ch.old, n))}</code>", "wide"),
            (new_cell + problems, ""),
            (escape(_lead(ch)), "wide"),
            (escape(_behind(ch)), "wide"),
            (escape(ch.commit.subject), ""),
        ]
        cls = "change rollback" if ch.rollback else "change"
        out.append(
            f'<tr class="{cls}" data-commit="{escape(ch.commit.sha)}">'
            + "".join(f'<td class="{c}">{text}</td>' if c else f"<td>{text}</td>" for text, c in cells)
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _single_sha(h: History, values: tuple[str, ...]) -> str | None:
    """The upstream commit (or full sha) `values` name when they name one version."""
    if len(values) != 1:
        return None
    v = h.version(values[0])
    return v if len(v) == 40 else None
