"""`promoter status`: per component, per environment what it runs, how far behind, and what it
would do next (the policy's decision); a table for people, JSON for programs.

The table groups the targets under one summary line per environment ("production  4e537ab  4
behind  soaking: …"); an environment whose targets pin different versions says so on that line;
a target that cannot be read is an ERROR row while the others still print. Rows fit the
terminal (paths cut in the middle); `-o wide` prints everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from promoter.model import NativeTarget, PathLocator, SaasLocator, SaasTargetLocator, Target, TargetScan
from promoter.pipeline.core import ComponentStatus
from promoter.render.document import SCHEMA_VERSION, dumps, version
from promoter.render.table import colour_on, fit, paint
from promoter.ship.describe import short
from promoter.text import plural
from promoter.urls import redact

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.ship.decisions import Decision

_ACTION_STYLE = {"promote": "warn", "up-to-date": "ok", "error": "bad", "blocked": "bad"}


def _envs(st: ComponentStatus) -> list[str]:
    return list(dict.fromkeys(t.environment for t in st.component.targets if _selected(st, t)))


def _selected(st: ComponentStatus, t: Target) -> bool:
    return any(ts.target.name == t.name for ts in st.scans) or t.name in st.errors


def _state(st: ComponentStatus, values: list[str]) -> str:
    if st.head is None:
        return ""
    behind = [st.behind.get(v) for v in values]
    if any(b is None for b in behind):
        return "not in upstream"
    most = max((b for b in behind if b is not None), default=0)
    return "up to date" if most == 0 else f"{most} behind"


def status_text(
    statuses: list[ComponentStatus],
    decisions: Mapping[str, Sequence[Decision]] | None = None,
    width: int | None = None,
    colour: bool | None = None,
) -> str:
    on = colour_on() if colour is None else colour
    out: list[str] = []
    for st in statuses:
        if st.head:
            upstream = f"upstream head {short(st.head)}"
        elif st.upstream_error:
            upstream = f"upstream not checked: {st.upstream_error}"
        else:
            upstream = "upstream not checked (--offline)"
        out.append(f"{paint(st.component.name, 'bold', on)}: {upstream}")
        by_env = {d.environment: d for d in (decisions or {}).get(st.component.name, ())}
        rows: list[list[str]] = []
        styles: list[list[str]] = []
        for env in _envs(st):
            scans = [ts for ts in st.scans if ts.target.environment == env]
            values = list(dict.fromkeys(v for ts in scans for v in ts.values))
            versions = list(dict.fromkeys(short(v) for v in values))
            shown = versions[0] if len(versions) == 1 else plural(len(versions), "version") if versions else "-"
            state = _state(st, values)
            d = by_env.get(env)
            nxt = f"{d.action}: {d.reason}" if d is not None else ""
            rows.append([env, shown, state, nxt])
            styles.append(
                [
                    "bold",
                    "bad" if len(versions) > 1 else "",
                    "ok" if state == "up to date" else "warn" if "behind" in state else "",
                    _ACTION_STYLE.get(d.action, "warn") if d else "",
                ]
            )
            for w in d.warnings if d is not None else ():
                rows.append(["", "", "warning", w])
                styles.append(["", "", "warn", ""])
            for ts in scans:
                for row, style in _target_rows(ts, st):
                    rows.append(row)
                    styles.append(style)
            for t in st.component.targets:
                if t.environment == env and t.name in st.errors:
                    rows.append(["", f"  {t.name}", "ERROR", st.errors[t.name].replace("\n", "; ")])
                    styles.append(["", "", "bad", ""])
        out += fit([["ENVIRONMENT", "VERSION", "STATE", "NEXT  (a target: FILE:LINE)"], *rows], width, shrink=3,
                   styles=[["dim"] * 4, *styles], colour=on)  # fmt: skip
        out.append("")
    return "\n".join(out)


def _target_rows(ts: TargetScan, st: ComponentStatus) -> list[tuple[list[str], list[str]]]:
    out: list[tuple[list[str], list[str]]] = []
    for loc in sorted(ts.locations, key=lambda x: (x.file, x.line)):
        out.append(([f"  {ts.target.name}", short(loc.value), "", f"{loc.file}:{loc.line}"], ["", "", "", "dim"]))
    for tr in ts.tracking:
        pinned = isinstance(ts.target.locator, SaasLocator | SaasTargetLocator | PathLocator)
        shown = f"tracks {tr.value}" if pinned else f"not pinned ({tr.value!r})"
        out.append(([f"  {ts.target.name}", shown, "", f"{tr.file}:{tr.line}"], ["", "dim", "", "dim"]))
    for w in ts.warnings:
        out.append(([f"  {ts.target.name}", "-", "warning", w], ["", "", "warn", ""]))
    return out


def status_doc(
    statuses: list[ComponentStatus], decisions: Mapping[str, Sequence[Decision]] | None = None
) -> dict[str, Any]:
    comps = []
    for st in statuses:
        by_env = {d.environment: d for d in (decisions or {}).get(st.component.name, ())}
        envs = []
        for env in _envs(st):
            scans = [ts for ts in st.scans if ts.target.environment == env]
            values = list(dict.fromkeys(v for ts in scans for v in ts.values))
            d = by_env.get(env)
            envs.append(
                {
                    "environment": env,
                    "versions": [version(v, st.full.get(v)) for v in values],
                    "agree": len({short(v) for v in values}) <= 1,
                    "behind": [{"version": version(v, st.full.get(v)), "commits": st.behind.get(v)} for v in values]
                    if st.head
                    else None,
                    "next": None
                    if d is None
                    else {
                        "action": d.action,
                        "reason": d.reason,
                        "candidate": version(d.candidate, d.candidate) if d.candidate else None,
                        "until": d.until.isoformat() if d.until else None,
                        "warnings": list(d.warnings),
                    },
                    "targets": [
                        {
                            "target": ts.target.name,
                            "values": [version(v, st.full.get(v)) for v in ts.values],
                            "locations": [
                                {
                                    "file": loc.file,
                                    "line": loc.line,
                                    "column": loc.column,
                                    "value": version(loc.value, st.full.get(loc.value)),
                                }
                                for loc in ts.locations
                            ],
                            "tracking": [{"file": t.file, "line": t.line, "value": t.value} for t in ts.tracking],
                            "warnings": ts.warnings,
                            "native": native_doc(ts.target.native),
                        }
                        for ts in scans
                    ],
                    "errors": [
                        {"target": t.name, "message": st.errors[t.name]}
                        for t in st.component.targets
                        if t.environment == env and t.name in st.errors
                    ],
                }
            )
        comps.append(
            {
                "component": st.component.name,
                "upstream": {
                    "head": version(st.head, st.head) if st.head else None,
                    "error": st.upstream_error,
                },
                "environments": envs,
            }
        )
    return {"schema_version": SCHEMA_VERSION, "kind": "status", "components": comps}


def native_doc(native: NativeTarget | None) -> dict[str, Any] | None:
    """Where a target of the app-interface native model comes from (None for promotion.yaml's)."""
    if native is None:
        return None
    promotion = native.promotion
    return {
        "file": native.file,
        "line": native.line,
        "saas_file": native.saas_file,
        "saas_name": native.saas_name,
        "resource_template": native.resource_template,
        "url": redact(native.url),  # (credentials in a url are never shown)
        "namespace": native.namespace,
        "namespaces": list(native.namespaces),
        "environments": [{"name": e.name, "type": e.type, "file": e.file} for e in native.environments],
        "ref": native.ref,
        "channels": {"publish": list(native.publish), "subscribe": list(native.subscribe)},
        "auto": native.auto,
        "soak_days": promotion.soak_days if promotion else None,
        "schedule": promotion.schedule if promotion else None,
        "promotion_line": promotion.line if promotion else None,
        "promotion_data": [
            {"channel": d.channel, "line": d.line, "data": [dict(item) for item in d.data]}
            for d in (promotion.promotion_data if promotion else ())
        ],
        "disabled": native.disabled,
    }


def status_json(statuses: list[ComponentStatus], decisions: Mapping[str, Sequence[Decision]] | None = None) -> str:
    return dumps(status_doc(statuses, decisions))
