"""`promoter history` rendered: a text table, JSON, and one self-contained HTML page.

The HTML page has no external reference at all (inline CSS, inline SVG, no script): a timeline
per environment (x = time, a marker per promotion, y = commits behind the branch when known)
and the table of changes. Every text in it goes through `html.escape`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from promoter import durations
from promoter.insight.history import Change, Facts, History, Note
from promoter.text import printable


def duration(seconds: int | None) -> str:
    """`2d3h`, `3h5m`, `12m`, `40s`; `-` when unknown or negative (clock skew)."""
    if seconds is None or seconds < 0:
        return "-"
    return durations.format(seconds, parts=2)


def _values(values: tuple[str, ...], n: int) -> str:
    return ", ".join(v[:n] if len(v) == 40 else v for v in values) or "(none)"


def _when(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M %z")


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
    head = f"{h.component.name}: {len(h.changes)} change(s)" + (f", {rollbacks} rollback(s)" if rollbacks else "")
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


def history_text(h: History, verbose: bool = False) -> str:
    n = h.component.short_length
    out = [_headline(h)]
    rows = [["DATE", "COMMIT", "AUTHOR", "ENVIRONMENTS", "CHANGE", "LEAD", "BEHIND", "SUBJECT"]]
    for ch in h.changes:
        rows.append(
            [
                _when(ch.commit.date),
                ch.commit.sha[:n],
                ch.commit.author,
                ",".join(ch.environments),
                _change(ch, n),
                _lead(ch),
                _behind(ch),
                ch.commit.subject,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    weeks = h.weeks()
    if weeks:
        out.append("promotions per week:")
        out += [f"  {week}  {p}" + (f" + {r} rollback(s)" if r else "") for week, (p, r) in weeks.items()]
    out += [f"note: {line}" for line in note_lines(h.notes, verbose)]
    return "\n".join(out) + "\n"


def _facts_json(f: Facts | None) -> dict[str, Any]:
    return {
        "promoted": f.promoted if f else None,
        "upstream_date": f.upstream_date.isoformat() if f and f.upstream_date else None,
        "lead_time_seconds": f.lead_time if f else None,
        "behind": f.behind if f else None,
    }


def _change_json(ch: Change) -> dict[str, Any]:
    single = ch.facts.get(ch.new[0]) if len(ch.new) == 1 else None
    return {
        "commit": ch.commit.sha,
        "date": ch.commit.date.isoformat(),
        "author": {"name": ch.commit.author, "email": ch.commit.email},
        "subject": ch.commit.subject,
        "old": list(ch.old),
        "new": list(ch.new),
        "targets": ch.targets,
        "environments": ch.environments,
        "files": ch.files,
        "rollback": ch.rollback,
        **_facts_json(single),
        "unresolved": ch.unresolved,
        "target_changes": [
            {
                "target": tc.target,
                "environment": tc.environment,
                "files": tc.files,
                "old": list(tc.old),
                "new": list(tc.new),
                "rollback": tc.rollback,
                **_facts_json(tc.facts),
            }
            for tc in ch.target_changes
        ],
    }


def history_doc(h: History) -> dict[str, Any]:
    return {
        "component": h.component.name,
        "environments": h.environments,
        "upstream": {"branch": h.branch, "error": h.upstream_error},
        "changes": [_change_json(ch) for ch in h.changes],
        "weeks": {w: {"promotions": p, "rollbacks": r} for w, (p, r) in h.weeks().items()},
        "notes": [
            {"commit": n.commit, "date": n.date.isoformat(), "target": n.target, "reason": n.reason, "detail": n.detail}
            for n in h.notes
        ],
    }


def history_json(h: History) -> str:
    return json.dumps(history_doc(h), indent=2) + "\n"


# -- HTML ---------------------------------------------------------------------------------------
_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 4px; }
.meta { color: #5a6270; margin: 0 0 12px; }
svg.timeline { background: #f6f8fb; border: 1px solid #d5dbe5; border-radius: 4px; }
svg .axis { stroke: #8a93a3; stroke-width: 1; } svg .grid { stroke: #e1e6ee; stroke-width: 1; }
svg .trail { fill: none; stroke: #3b6fd8; stroke-width: 1.5; }
svg .promotion { fill: #3b6fd8; stroke: #fff; stroke-width: 1.5; }
svg .promotion.unknown { fill: #d8823b; }
svg text { font-size: 11px; fill: #5a6270; }
table.changes { border-collapse: collapse; margin-top: 12px; }
table.changes th, table.changes td { border-bottom: 1px solid #e1e6ee; padding: 4px 8px; text-align: left;
  vertical-align: top; }
table.changes th { background: #eef2f8; } code { font-size: 12px; }
.weeks td, .weeks th { padding: 2px 8px; } .notes { color: #8a5a00; }
"""

_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 900, 220, 56, 20, 16, 36


def _chart(env: str, changes: list[Change], t0: float, t1: float) -> str:
    span = max(t1 - t0, 1.0)
    known = [ch.behind for ch in changes if ch.behind is not None]
    top = max([*known, 1])
    inner_w, inner_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(ch: Change) -> float:
        return _PAD_L + (ch.commit.date.timestamp() - t0) / span * inner_w

    def y(behind: int | None) -> float:
        return _PAD_T + inner_h - (behind or 0) / top * inner_h

    parts = [
        f'<svg class="timeline" data-environment="{escape(env)}" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(f"promotions of {env}")}">',
        f'<line class="axis" x1="{_PAD_L}" y1="{_PAD_T + inner_h}" x2="{_W - _PAD_R}" y2="{_PAD_T + inner_h}"/>',
        f'<line class="axis" x1="{_PAD_L}" y1="{_PAD_T}" x2="{_PAD_L}" y2="{_PAD_T + inner_h}"/>',
        f'<line class="grid" x1="{_PAD_L}" y1="{_PAD_T}" x2="{_W - _PAD_R}" y2="{_PAD_T}"/>',
        f'<text x="{_PAD_L - 6}" y="{_PAD_T + 4}" text-anchor="end">{top}</text>',
        f'<text x="{_PAD_L - 6}" y="{_PAD_T + inner_h + 4}" text-anchor="end">0</text>',
        f'<text x="12" y="{_PAD_T + inner_h / 2}" transform="rotate(-90 12 {_PAD_T + inner_h / 2})" '
        'text-anchor="middle">commits behind</text>',
    ]
    for t, anchor in ((t0, "start"), (t1, "end")):
        label = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
        tx = _PAD_L if anchor == "start" else _W - _PAD_R
        parts.append(f'<text x="{tx}" y="{_H - 10}" text-anchor="{anchor}">{escape(label)}</text>')
    points = [f"{x(ch):.1f},{y(ch.behind):.1f}" for ch in changes if ch.behind is not None]
    if len(points) > 1:
        parts.append(f'<polyline class="trail" points="{" ".join(points)}"/>')
    for ch in changes:
        cls = "promotion" if ch.behind is not None else "promotion unknown"
        behind = "unknown" if ch.behind is None else str(ch.behind)
        tip = (
            f"{_when(ch.commit.date)} {ch.commit.author}: {_values(ch.old, 12)} -> {_values(ch.new, 12)}"
            f" ({behind} behind, lead time {duration(ch.lead_time)})"
        )
        parts.append(
            f'<circle class="{cls}" cx="{x(ch):.1f}" cy="{y(ch.behind):.1f}" r="6" '
            f'data-commit="{escape(ch.commit.sha)}" data-behind="{escape(behind)}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def history_html(h: History) -> str:
    """One self-contained page: a timeline per environment and the table of changes."""
    n = h.component.short_length
    name = h.component.name
    times = [ch.commit.date.timestamp() for ch in h.changes]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    pad = max((t1 - t0) * 0.03, 3600.0)
    t0, t1 = t0 - pad, t1 + pad
    upstream = (
        f"upstream branch {h.branch}"
        if h.branch
        else f"upstream not read: {h.upstream_error}"
        if h.upstream_error
        else "upstream not read (offline)"
    )
    body = [
        f"<h1>History of {escape(name)}</h1>",
        f'<p class="meta">{len(h.changes)} change(s) in {len({c.commit.sha for c in h.changes})} commit(s); '
        f"{escape(upstream)}</p>",
    ]
    for env in h.environments:
        changes = [ch for ch in h.changes if env in ch.environments]
        body.append(f'<section class="environment" data-environment="{escape(env)}">')
        body.append(f"<h2>{escape(env)} <small>({len(changes)} promotion(s))</small></h2>")
        body.append(_chart(env, changes, t0, t1))
        body.append("</section>")
    body.append("<h2>Changes</h2>")
    head = ["date", "commit", "author", "environments", "targets", "old", "new", "lead time", "behind", "subject"]
    body.append('<table class="changes"><thead><tr>' + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr>")
    body.append("</thead><tbody>")
    for ch in h.changes:
        cells = [
            escape(_when(ch.commit.date)),
            f"<code>{escape(ch.commit.sha[:12])}</code>",
            escape(ch.commit.author),
            escape(", ".join(ch.environments)),
            escape(", ".join(ch.targets)),
            f"<code>{escape(_values(ch.old, n))}</code>",
            f"<code>{escape(_values(ch.new, n))}</code>",
            escape(duration(ch.lead_time)),
            escape("-" if ch.behind is None else str(ch.behind)),
            escape(ch.commit.subject),
        ]
        body.append(
            f'<tr class="change" data-commit="{escape(ch.commit.sha)}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    body.append("</tbody></table>")
    weeks = h.weeks()
    if weeks:
        body.append('<h2>Promotions per week</h2><table class="weeks"><tbody>')
        body += [f"<tr><th>{escape(w)}</th><td>{c}</td></tr>" for w, (c, _) in weeks.items()]
        body.append("</tbody></table>")
    if h.notes:
        body.append(
            '<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{escape(x)}</li>" for x in note_lines(h.notes)) + "</ul>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(f'promoter history: {name}')}</title><style>{_CSS}</style></head>\n"
        "<body>\n" + printable("\n".join(body)) + "\n</body></html>\n"
    )
