"""`promoter reconcile` as text (a log a CI job prints), JSON, and markdown (a dashboard body a
CI job can post to an issue or a wiki page)."""

from __future__ import annotations

from promoter.render.document import SCHEMA_VERSION, dumps, version
from promoter.render.status import shared_errors
from promoter.render.table import fit, wrap
from promoter.ship.reconcile import Reconciled
from promoter.text import plural

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


def _until(d: Any) -> str:
    return d.until.strftime("%Y-%m-%d %H:%M UTC") if d.until else ""


def reconcile_text(r: Reconciled, width: int | None = None) -> str:
    out: list[str] = []
    verb = "" if r.pushed else " (dry run: nothing pushed)"
    for c in r.components:
        mr = f"merge request: {c.action}" + (f" {c.url}" if c.url else "") + (f" ({c.reason})" if c.reason else "")
        out.append(f"{c.component}: {mr}")  # one line: a URL stays whole, clickable
        shared = shared_errors(c.environments)
        for reason in shared:  # one registry down for every environment: said once
            lines = wrap(f"error: {reason}", None if width is None else width - 4)
            out += ["  " + lines[0], *("    " + line for line in lines[1:])]
        rows = [["ENVIRONMENT", "ACTION", "UNTIL", "REASON"]]
        for d in c.environments:
            reason = "as above" if d.action == "error" and d.reason in shared else d.reason
            rows.append([d.label, d.action, _until(d), reason])
        if len(rows) > 1:
            out += fit(rows, width, ("fixed", "fixed", "fixed", "prose"))  # a reason is wrapped, never cut
        out += [
            f"  automatic rollback of {rb.environment}: {rb.action}{f' {rb.url}' if rb.url else ''} ({rb.reason})"
            for rb in c.rollbacks
            if rb.action in ("rollback", "watch", "unknown", "error")
        ]
        out += [f"  closed {url}" for url in c.closed]
        out += [f"  not closed {said}" for said in c.not_closed]
    counts: dict[str, int] = {}
    for c in r.components:
        counts[c.action] = counts.get(c.action, 0) + 1
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    out.append(f"{plural(len(r.components), 'component')}: {summary}{verb}")
    return "\n".join(out) + "\n"


def reconcile_doc(r: Reconciled) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "reconcile",
        "pushed": r.pushed,
        "max_open": r.max_open,
        "exit_code": r.exit_code,
        "components": [
            {
                "component": c.component,
                "merge_request": {
                    "action": c.action,
                    "reason": c.reason,
                    "branch": c.branch,
                    "url": c.url,
                    "hash": c.hash,
                    "commit": c.commit,
                    "closed": c.closed,
                    "not_closed": c.not_closed,
                },
                "rollbacks": [
                    {
                        "environment": rb.environment,
                        "action": rb.action,
                        "reason": rb.reason,
                        "runs": {"value": rb.runs, "sha": rb.runs} if rb.runs else None,
                        "to": {"value": rb.to, "sha": rb.to} if rb.to else None,
                        "failing_since": rb.since.isoformat() if rb.since else None,
                        "evidence": rb.evidence,
                        "branch": rb.branch,
                        "url": rb.url,
                    }
                    for rb in c.rollbacks
                ],
                "environments": [
                    {
                        "environment": d.environment,
                        "action": d.action,
                        "reason": d.reason,
                        "runs": [version(v, d.sha(v)) for v in d.runs],
                        "candidate": version(d.release.tag if d.release else d.candidate, d.candidate)
                        if d.candidate
                        else None,
                        "until": d.until.isoformat() if d.until else None,
                        # the targets it covers, when not the whole environment (app-interface's channels)
                        "targets": [{"target": name} for name in d.targets],
                    }
                    for d in c.environments
                ],
            }
            for c in r.components
        ],
    }


def reconcile_json(r: Reconciled) -> str:
    return dumps(reconcile_doc(r))


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reconcile_markdown(r: Reconciled) -> str:
    lines = ["# Promotions", ""]
    lines.append("| component | environment | action | until | reason | merge request |")
    lines.append("|---|---|---|---|---|---|")
    for c in r.components:
        mr = f"[{c.action}]({c.url})" if c.url else c.action
        if c.action == "declined":  # a person's decision: said, so nobody wonders why nothing opens
            mr += " (closed by a person; opens again when the promotion changes)"
        elif c.action in ("error", "unknown", "wait"):  # what went wrong, what is not known, what it waits for
            mr += f": {_md(c.reason)}"
        for i, d in enumerate(c.environments or []):
            lines.append(
                f"| {_md(c.component) if i == 0 else ''} | {_md(d.label)} | `{d.action}` | {_until(d)} | "
                f"{_md(d.reason)} | {mr if i == 0 else ''} |"
            )
        if not c.environments:
            lines.append(f"| {_md(c.component)} | | `{c.action}` | | {_md(c.reason)} | {mr} |")
    lines.append("")
    lines.append("_Written by `promoter reconcile`._")
    return "\n".join(lines) + "\n"
