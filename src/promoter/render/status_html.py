"""`promoter status -o html --out FILE`: one self-contained page, a row per component and a column per environment:
what each runs, how far behind, what it would do next and why (the gate that stops it, until
when), and its open merge request when the forge was asked. No script, no external reference:
inline CSS only, every text escaped."""

from __future__ import annotations

from html import escape

from promoter.text import plural, printable

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } .meta { color: #5a6270; margin: 0 0 16px; }
table.grid { border-collapse: collapse; } th, td { border: 1px solid #d5dbe5; padding: 6px 10px; vertical-align: top; }
th { background: #eef2f8; text-align: left; } td.cell { min-width: 160px; }
.version { font-family: ui-monospace, monospace; font-weight: 600; }
.behind { color: #8a5a00; } .uptodate { color: #1d7a3a; } .reason { color: #5a6270; font-size: 12px; }
.action { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; font-weight: 600; }
.a-promote { background: #fff1cc; } .a-up-to-date { background: #dff3e4; }
.a-held, .a-blocked, .a-error { background: #ffd9d6; } .a-window, .a-soaking { background: #e4ecff; }
.a-unverified, .a-image-missing, .a-untrusted, .a-waiting-for-dependency { background: #f2e3ff; }
td.none { background: #f6f8fb; }
"""


def _cell(env: dict[str, Any] | None) -> str:
    if env is None:
        return '<td class="cell none"></td>'
    versions = env["versions"]
    shown = ", ".join(escape(v["value"][:7] if len(v["value"]) == 40 else v["value"]) for v in versions) or "-"
    behind = env.get("behind") or []
    most = max((b["commits"] for b in behind if isinstance(b.get("commits"), int)), default=None)
    state = ""
    if most is not None:
        state = (
            '<span class="uptodate">up to date</span>' if most == 0 else f'<span class="behind">{most} behind</span>'
        )
    nxt = env.get("next")
    action = ""
    if nxt:
        until = f" until {escape(nxt['until'][:16].replace('T', ' '))} UTC" if nxt.get("until") else ""
        action = (
            f'<div><span class="action a-{escape(nxt["action"])}" data-action="{escape(nxt["action"])}">'
            f"{escape(nxt['action'])}</span>{until}</div>"
            f'<div class="reason">{escape(printable(nxt["reason"]))}</div>'
        )
    return (
        f'<td class="cell" data-environment="{escape(env["environment"])}">'
        f'<div><span class="version">{shown}</span> {state}</div>{action}</td>'
    )


def status_html(doc: dict[str, Any], requests: dict[str, str] | None = None) -> str:
    """The page for a `status` JSON document; `requests` maps a component to its open merge
    request's URL."""
    comps = doc["components"]
    envs: list[str] = []
    for c in comps:
        for e in c["environments"]:
            if e["environment"] not in envs:
                envs.append(e["environment"])
    head = "".join(f"<th>{escape(e)}</th>" for e in envs)
    rows = []
    for c in comps:
        by_env = {e["environment"]: e for e in c["environments"]}
        up = c["upstream"]
        tip = f' <span class="reason">head {escape(up["head"]["value"][:7])}</span>' if up.get("head") else ""
        url = (requests or {}).get(c["component"])
        mr = f'<div><a href="{escape(url)}">open merge request</a></div>' if url else ""
        cells = "".join(_cell(by_env.get(e)) for e in envs)
        rows.append(
            f'<tr class="component" data-component="{escape(c["component"])}">'
            f"<th>{escape(c['component'])}{tip}{mr}</th>{cells}</tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>promoter status</title>'
        f"<style>{_CSS}</style></head>\n<body>\n<h1>Promotion status</h1>\n"
        f'<p class="meta">{plural(len(comps), "component")}, {plural(len(envs), "environment")}</p>\n'
        f'<table class="grid"><thead><tr><th>component</th>{head}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table>\n</body></html>\n"
    )
