"""Turn core results into text for people (tables, diffs) or programs (JSON)."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from promoter.model import FileChange, PathLocator, Plan, SaasLocator, TargetScan

if TYPE_CHECKING:
    from promoter.ship.session import Promoted
from promoter.pipeline.core import ComponentStatus
from promoter.ship.describe import plan_summary, short


def diff(ch: FileChange) -> str:
    old = ch.old_text.splitlines(keepends=True)
    new = ch.new_text.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(old, new, f"a/{ch.file}", f"b/{ch.file}", n=3):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def plan_text(p: Plan) -> str:
    parts = [diff(ch) for ch in p.changes]
    parts.append("\n".join(plan_summary(p)) + "\n")
    return "".join(parts)


def plan_json(p: Plan) -> str:
    doc: dict[str, Any] = {
        "component": p.component.name,
        "sha": p.sha,
        "changed": not p.empty,
        "targets": [
            {
                "name": tc.target.name,
                "environment": tc.target.environment,
                "old": list(tc.old_values),
                "new": tc.new_value,
                "locations": tc.locations,
                "changed": tc.changed,
            }
            for tc in p.targets
        ],
        "edits": [
            {
                "file": e.location.file,
                "line": e.location.line,
                "column": e.location.column,
                "target": e.location.target.name,
                "old": e.location.value,
                "new": e.new,
            }
            for ch in p.changes
            for e in ch.edits
        ],
        "warnings": p.warnings,
    }
    return json.dumps(doc, indent=2) + "\n"


def _scan_rows(ts: TargetScan, st: ComponentStatus) -> list[list[str]]:
    rows: list[list[str]] = []
    agree = len(ts.values) <= 1
    for loc in sorted(ts.locations, key=lambda x: (x.file, x.line)):
        behind = st.behind.get(loc.value, None) if st.head else None
        if st.head is None:
            note = ""
        elif loc.value not in st.behind or behind is None:
            note = "not in upstream"
        elif behind == 0:
            note = "up to date"
        else:
            note = f"{behind} behind"
        if not agree:
            note = (note + ", " if note else "") + "DISAGREES"
        rows.append([ts.target.environment, ts.target.name, f"{loc.file}:{loc.line}", short(loc.value), note])
    for tr in ts.tracking:
        shown = f"tracks {tr.value}" if isinstance(ts.target.locator, SaasLocator | PathLocator) else "not pinned"
        note = "" if shown.startswith("tracks") else f"value {tr.value!r}"
        rows.append([ts.target.environment, ts.target.name, f"{tr.file}:{tr.line}", shown, note])
    for w in ts.warnings:
        rows.append([ts.target.environment, ts.target.name, "-", "-", f"warning: {w}"])
    return rows


def status_text(statuses: list[ComponentStatus]) -> str:
    out: list[str] = []
    for st in statuses:
        if st.head:
            upstream = f"upstream head {short(st.head)}"
        elif st.upstream_error:
            upstream = f"upstream not checked: {st.upstream_error}"
        else:
            upstream = "upstream not checked (--offline)"
        out.append(f"{st.component.name}: {upstream}")
        rows = [["ENVIRONMENT", "TARGET", "FILE:LINE", "VALUE", "STATE"]]
        for ts in st.scans:
            rows += _scan_rows(ts, st)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        out.append("")
    return "\n".join(out)


def status_json(statuses: list[ComponentStatus]) -> str:
    doc = [
        {
            "component": st.component.name,
            "upstream": {"head": st.head, "error": st.upstream_error},
            "targets": [
                {
                    "name": ts.target.name,
                    "environment": ts.target.environment,
                    "values": ts.values,
                    "agree": len(ts.values) <= 1,
                    "behind": {v: st.behind.get(v) for v in ts.values} if st.head else None,
                    "locations": [
                        {"file": loc.file, "line": loc.line, "column": loc.column, "value": loc.value}
                        for loc in ts.locations
                    ],
                    "tracking": [{"file": t.file, "line": t.line, "value": t.value} for t in ts.tracking],
                    "warnings": ts.warnings,
                }
                for ts in st.scans
            ],
        }
        for st in statuses
    ]
    return json.dumps(doc, indent=2) + "\n"


def promoted_text(result: Promoted) -> str:
    """What `promote` did for one component, a line each: written, committed, pushed, opened."""
    p = result.prepared.plan
    comp, new = p.component, p.component.short(p.sha)
    if result.state == "unchanged":
        return f"{comp.name}: every selected target is already at {new}; nothing to change\n"
    if result.state == "dry-run":
        return "dry run: nothing written\n"
    if result.state == "declined":
        return "nothing written\n"
    lines = []
    if result.state == "written":
        lines.append(f"promoted {comp.name} to {new} in {len(result.files)} file(s)")
    else:
        lines.append(f"{result.branch} already holds this promotion of {comp.name} to {new}")
    shipped = result.shipped
    if shipped is not None:
        if result.state == "written":
            c = shipped.commit
            lines.append(f"committed {c.sha[:12]} on {c.branch}: {c.subject}")
        if shipped.remote:
            lines.append(f"pushed {shipped.commit.branch} to {shipped.remote}")
        if shipped.merge_request:
            verb = "opened" if shipped.merge_request.created else "updated"
            lines.append(f"{verb} merge request {shipped.merge_request.url}")
    return "\n".join(lines) + "\n"
