"""`promoter status`: per component, per environment what it runs, how far behind, and what it
would do next (the policy's decision); a table for people, JSON for programs.

The table groups the targets under one summary line per environment ("production  4e537ab  4
behind  soaking: …"); an environment whose targets pin different versions says so on that line;
a target that cannot be read is an ERROR row while the others still print; an error two
environments share (the registry cannot be reached) is said once, under the component. Rows fit
the terminal (reasons wrapped, paths cut in the middle); `-o wide` prints everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from promoter.model import NativeTarget, PathLocator, SaasLocator, SaasTargetLocator, Target, TargetScan
from promoter.pipeline.core import ComponentStatus
from promoter.render.document import SCHEMA_VERSION, dumps, version
from promoter.render.table import Cell, colour_on, fit, wrap
from promoter.ship.describe import short
from promoter.text import Painted, paint, plural, printable
from promoter.urls import redact

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.ship.decisions import Decision

_ACTION_STYLE = {"promote": "warn", "up-to-date": "ok", "error": "bad", "blocked": "bad", "manual": "dim"}


def _envs(st: ComponentStatus) -> list[str]:
    return list(dict.fromkeys(t.environment for t in st.component.targets if _selected(st, t)))


def _selected(st: ComponentStatus, t: Target) -> bool:
    return any(ts.target.name == t.name for ts in st.scans) or t.name in st.errors


def _state(st: ComponentStatus, values: list[str], errors: bool = False) -> str:
    if st.head is None or not values:  # nothing read (its targets are ERROR rows): nothing to say
        return ""
    tags = [v for v in values if v in st.releases]
    if tags:  # release tags: releases behind, and the highest one (`3 behind: v1.5.0`)
        counts = [st.releases[v] for v in tags]
        if any(n is None for n in counts) or any(st.full.get(v) is None for v in tags):
            return "not in upstream"
        most = max(n for n in counts if n is not None)
        if most == 0:
            return "" if errors else "up to date"
        return f"{most} behind: {st.newest.tag}" if st.newest is not None else f"{most} behind"
    behind = [st.behind.get(v) for v in values]
    if any(b is None for b in behind):
        return "not in upstream"
    most = max((b for b in behind if b is not None), default=0)
    if most == 0:
        return "" if errors else "up to date"  # not while a target of it cannot be read
    return f"{most} behind"


def status_text(
    statuses: list[ComponentStatus],
    decisions: Mapping[str, Sequence[Decision]] | None = None,
    width: int | None = None,
    colour: bool | None = None,
) -> Painted:
    """The table: per component a line (its upstream), an error every environment shares said
    once under it, then per environment a summary row and its targets' rows. Text from outside
    is made printable before colour is added (`fit`, `paint`): the result is `Painted`."""
    on = colour_on() if colour is None else colour
    out: list[str] = []
    for st in statuses:
        if st.head:
            upstream = f"upstream head {short(st.head)}"
            if st.component.released:
                upstream += f", newest release {st.newest.tag}" if st.newest else ", no release to promote"
        elif st.upstream_error:
            upstream = f"upstream not checked: {st.upstream_error}"
        else:
            upstream = "upstream not checked (--offline)"
        name = printable(st.component.name)
        first, *rest = wrap(f"{name}: {printable(upstream)}", width)
        out.append(paint(name, "bold", on) + first[len(name) :] if first.startswith(name) else first)
        out += ["  " + line for line in wrap(" ".join(rest), None if width is None else width - 2) if line]
        decided = (decisions or {}).get(st.component.name, ())
        by_env: dict[str, list[Decision]] = {}
        for each in decided:
            by_env.setdefault(each.environment, []).append(each)
        shared = shared_errors(decided)
        for reason in shared:
            lines = wrap(f"error: {printable(reason)}", None if width is None else width - 4)
            out += [("  " if n == 0 else "    ") + paint(line, "bad", on) for n, line in enumerate(lines)]
        rows: list[list[str | Cell]] = [[Cell(title, "dim") for title in _HEADER]]
        for env in _envs(st):
            scans = [ts for ts in st.scans if ts.target.environment == env]
            values = list(dict.fromkeys(v for ts in scans for v in ts.values))
            keys = {st.component.version_key(v): short(v) for v in reversed(values)}  # v1.4.2 and 1.4.2: one
            versions = list(keys.values())[::-1]
            shown = versions[0] if len(versions) == 1 else plural(len(versions), "version") if versions else "-"
            state = _state(st, values, any(t.environment == env and t.name in st.errors for t in st.component.targets))
            parts = by_env.get(env, [])
            d = parts[0] if len(parts) == 1 else None  # several: each said above its own targets
            rows.append(
                [
                    Cell(env, "bold"),
                    Cell(shown, "bad" if len(versions) > 1 else ""),
                    Cell(state, "ok" if state == "up to date" else "warn" if "behind" in state else ""),
                    _next_cell(d, shared) if d is not None else "",
                ]
            )
            for w in d.warnings if d is not None else ():
                rows.append(["", "", Cell("warning", "warn"), w])
            if d is not None or not parts:
                for ts in scans:
                    rows += _target_rows(ts)
            for part in parts if d is None else []:  # app-interface: the environment's targets decided apart
                rows.append(["  " + plural(len(part.targets), "target"), "", "", _next_cell(part, shared)])
                rows += [["", "", Cell("warning", "warn"), w] for w in part.warnings]
                for ts in scans:
                    if not part.targets or ts.target.name in part.targets:
                        rows += [[f"  {row[0]}", *row[1:]] for row in _target_rows(ts)]
            for t in st.component.targets:
                if t.environment == env and t.name in st.errors:  # prose, under NEXT as every message
                    rows.append([f"  {t.name}", "-", Cell("ERROR", "bad"), st.errors[t.name].replace("\n", "; ")])
        out += fit(rows, width, _KINDS, colour=on)
        out.append("")
    return Painted("\n".join(out))


def _next_cell(d: Decision, shared: list[str]) -> Cell:
    said = "error: as above" if d.action == "error" and d.reason in shared else f"{d.action}: {d.reason}"
    return Cell(said, _ACTION_STYLE.get(d.action, "warn"))


_HEADER = ("ENVIRONMENT", "VERSION", "STATE", "NEXT  (a target: FILE:LINE)")
# a target's name may be cut in the middle (last of all); NEXT is a reason (wrapped) or a path
_KINDS = ("path", "fixed", "fixed", "prose")


def shared_errors(decided: Sequence[Decision]) -> list[str]:
    """The errors two environments or more share (a registry that cannot be reached): said once."""
    seen: dict[str, int] = {}
    for d in decided:
        if d.action == "error":
            seen[d.reason] = seen.get(d.reason, 0) + 1
    return [reason for reason, n in seen.items() if n > 1]


def _target_rows(ts: TargetScan) -> list[list[str | Cell]]:
    out: list[list[str | Cell]] = []
    for loc in sorted(ts.locations, key=lambda x: (x.file, x.line)):
        out.append([f"  {ts.target.name}", short(loc.value), "", Cell(f"{loc.file}:{loc.line}", "dim", "path")])
    for tr in ts.tracking:
        pinned = isinstance(ts.target.locator, SaasLocator | SaasTargetLocator | PathLocator)
        shown = f"tracks {tr.value}" if pinned else f"not pinned ({tr.value!r})"
        out.append([f"  {ts.target.name}", Cell(shown, "dim"), "", Cell(f"{tr.file}:{tr.line}", "dim", "path")])
    for w in ts.warnings:
        out.append([f"  {ts.target.name}", "-", Cell("warning", "warn"), w])
    return out


def status_doc(
    statuses: list[ComponentStatus], decisions: Mapping[str, Sequence[Decision]] | None = None
) -> dict[str, Any]:
    comps = []
    for st in statuses:
        by_env: dict[str, list[Decision]] = {}
        for each in (decisions or {}).get(st.component.name, ()):
            by_env.setdefault(each.environment, []).append(each)
        envs = []
        for env in _envs(st):
            scans = [ts for ts in st.scans if ts.target.environment == env]
            values = list(dict.fromkeys(v for ts in scans for v in ts.values))
            ds = by_env.get(env, [])
            d = ds[0] if ds else None
            envs.append(
                {
                    "environment": env,
                    "versions": [version(v, st.full.get(v)) for v in values],
                    "agree": len({st.component.version_key(v) for v in values}) <= 1,
                    "behind": [
                        {
                            "version": version(v, st.full.get(v)),
                            "commits": st.behind.get(v),
                            **({"releases": st.releases[v]} if v in st.releases else {}),
                        }
                        for v in values
                    ]
                    if st.head
                    else None,
                    "next": None if d is None else _next(d),
                    # app-interface: each part of the environment decided apart (its targets)
                    "decisions": [_next(x) for x in ds],
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
                    **(
                        {"newest_release": version(st.newest.tag, st.newest.sha) if st.newest else None}
                        if st.component.released
                        else {}
                    ),
                },
                "environments": envs,
            }
        )
    return {"schema_version": SCHEMA_VERSION, "kind": "status", "components": comps}


def _next(d: Decision) -> dict[str, Any]:
    return {
        "action": d.action,
        "reason": d.reason,
        "candidate": (version(d.release.tag if d.release else d.candidate, d.candidate) if d.candidate else None),
        "until": d.until.isoformat() if d.until else None,
        "warnings": list(d.warnings),
        "targets": [{"target": name} for name in d.targets],  # []: the whole environment
    }


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
