"""`promoter status`: a table for people, JSON for programs."""

from __future__ import annotations

import json

from promoter.model import PathLocator, SaasLocator, TargetScan
from promoter.pipeline.core import ComponentStatus
from promoter.ship.describe import short


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
