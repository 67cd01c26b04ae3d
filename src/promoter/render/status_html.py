"""`promoter status -o html --out FILE` (and `reconcile -o html`): one self-contained page of the
fleet, a row per component and a column per environment (in `after:` order), like a pipeline
view: each cell says what the environment runs, how far behind the branch it is, what holds it
(held, window, soaking, blocked, untrusted, ...) and until when, and when and by whom it was last
promoted; each row its upstream's head and its open merge request. Each thing is said once (an
environment up to date says only that). A summary counts the cells by what they wait for; a
search box filters the components (a few lines of inline script); on a phone the table becomes
one card per component. Nothing is loaded (inline CSS, a CSP that allows nothing else); every
text is escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from promoter.render.page import PAGE_CSS, page, row_filter
from promoter.text import plural

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from promoter.pipeline.core import ComponentStatus, Repo
    from promoter.ship.decisions import Decision

_CSS = (
    PAGE_CSS
    + """
body { max-width: none; margin: 20px; }
table.grid { border-collapse: separate; border-spacing: 0; }
table.grid th, table.grid td { border-right: 1px solid #d5dbe5; border-bottom: 1px solid #d5dbe5; padding: 8px 10px;
  vertical-align: top; text-align: left; }
table.grid thead th { background: #eef2f8; border-top: 1px solid #d5dbe5; white-space: nowrap; }
table.grid tr > :first-child { border-left: 1px solid #d5dbe5; position: sticky; left: 0; background: #f6f8fb;
  z-index: 1; }
table.grid thead th small { color: #5a6270; font-weight: normal; }
th.component { min-width: 170px; } th.component .name { font-weight: 600; font-size: 15px; }
th.component > div { max-width: 280px; }
.sub { color: #5a6270; font-size: 12px; font-weight: normal; } .sub a { color: #2456b8; }
td.cell { min-width: 190px; max-width: 300px; background: #fff; }
td.cell.none { background: #f6f8fb; color: #8a93a3; font-size: 12px; }
.version { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; }
.version a { color: inherit; text-decoration: none; border-bottom: 1px dotted #8a93a3; }
.state { font-size: 12px; margin-left: 4px; white-space: nowrap; }
.state.ok { color: #1d7a3a; } .state.behind { color: #8a5a00; } .state.bad { color: #b3261e; }
.badge { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; font-weight: 600; }
.gate { margin-top: 4px; font-size: 12px; } .gate .until { color: #3a4250; white-space: nowrap; }
.reason { color: #5a6270; font-size: 12px; font-weight: normal; margin-top: 2px; overflow-wrap: anywhere; }
.last { color: #5a6270; font-size: 12px; margin-top: 4px; }
.a-promote { background: #fff1cc; } .a-up-to-date { background: #dff3e4; }
.a-held, .a-blocked, .a-error, .a-rollback { background: #ffd9d6; } .a-window, .a-soaking { background: #e4ecff; }
.a-unverified, .a-image-missing, .a-untrusted, .a-waiting-for-dependency { background: #f2e3ff; }
td.cell.a-held, td.cell.a-blocked, td.cell.a-error, td.cell.a-rollback { box-shadow: inset 3px 0 #d62728; }
td.cell.a-promote { box-shadow: inset 3px 0 #e0a800; } td.cell.a-up-to-date { box-shadow: inset 3px 0 #2f9e6e; }
td.cell.a-window, td.cell.a-soaking { box-shadow: inset 3px 0 #3b6fd8; }
ul.summary { display: flex; flex-wrap: wrap; gap: 6px 10px; list-style: none; padding: 0; margin: 8px 0 12px; }
ul.summary li { font-size: 13px; } ul.summary .badge { font-size: 13px; }
.mr { margin-top: 4px; font-size: 12px; }
@media (max-width: 640px) {
  body { margin: 10px; }
  table.grid, table.grid tbody, table.grid tr, table.grid td, table.grid th { display: block; width: 100%;
    max-width: none; }
  table.grid thead { display: none; }
  table.grid tr { margin-bottom: 14px; border: 1px solid #d5dbe5; border-radius: 6px; overflow: hidden; }
  table.grid tr > :first-child { position: static; border-left: 0; }
  th.component > div { max-width: none; }
  table.grid th, table.grid td { border-right: 0; }
  td.cell.none { display: none; }
  td.cell::before { content: attr(data-environment); display: block; font-weight: 600; font-size: 12px;
    color: #3a4250; margin-bottom: 2px; }
}
"""
)

_LABELS = {"up-to-date": "up to date", "promote": "ready"}
_WOULD = {  # what a run that pushed nothing would have done (a preview that read the forge knows its URL)
    "open": "would open a merge request",
    "update": "would update its merge request",
    "close": "would close its merge request",
    "wait": "a merge request waits (--max-open)",
    "leave": "open merge request",
    "declined": "merge request declined by a person",
}
_MR = {  # reconcile's action on the component's merge request, said on the page
    "open": "merge request opened",
    "update": "merge request updated",
    "leave": "open merge request",
    "declined": "merge request declined by a person",
    "close": "merge request closed: nothing to promote",
    "wait": "merge request waits (--max-open)",
}


def _short(value: str) -> str:
    return value[:7] if len(value) == 40 else value


def _utc(text: str | None) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _commit_url(repo_web: str | None, sha: str | None) -> str | None:
    if not repo_web or not sha or len(sha) != 40:
        return None
    return f"{repo_web}{'/commit/' if repo_web.startswith('https://github.com/') else '/-/commit/'}{sha}"


def _link(url: str | None, inner: str) -> str:
    return f'<a href="{escape(url)}">{inner}</a>' if url else inner


def _reason(text: str, component: str, environment: str) -> str:
    """A reason without the component's or the environment's name in front (row and column say them)."""
    for prefix in (f"{component}: ", f"{environment}: "):
        text = text[len(prefix) :] if text.startswith(prefix) else text
    return text


def _cell(comp: str, env: dict[str, Any] | None, web: str | None, last: dict[str, str] | None) -> tuple[str, str]:
    """The cell of one environment, and the action it is counted under."""
    if env is None:
        return '<td class="cell none">not deployed here</td>', ""
    versions = env["versions"]
    shown = ", ".join(_link(_commit_url(web, v["sha"]), escape(_short(v["value"]))) for v in versions) or "none pinned"
    behind = env.get("behind")
    state = ""
    if behind:
        counts = [b["commits"] for b in behind]
        if any(c is None for c in counts):
            state = '<span class="state bad">not in upstream</span>'
        else:
            most = max(counts)
            state = (
                '<span class="state ok">up to date</span>'
                if most == 0
                else f'<span class="state behind">{plural(most, "commit")} behind</span>'
            )
    if not env.get("agree", True):
        state += ' <span class="state bad">targets disagree</span>'
    nxt = env.get("next")
    action = nxt["action"] if nxt else ""
    gate = ""
    if nxt and action == "promote" and nxt.get("candidate"):
        cand = nxt["candidate"]
        what = " " + _link(_commit_url(web, cand["sha"]), f"<code>{escape(_short(cand['value']))}</code>")
        gate = f'<div class="gate"><span class="badge a-promote">ready</span>{what}</div>'
    elif nxt and not (action == "up-to-date" and "up to date" in state):  # said once
        until = f' <span class="until">until {escape(_utc(nxt["until"]))}</span>' if nxt.get("until") else ""
        reason = _reason(nxt["reason"], comp, env["environment"]) if action != "up-to-date" else ""
        if nxt.get("until"):  # said beside the badge: not twice
            stamp = _utc(nxt["until"])
            reason = reason.replace(f" until {stamp}", "").replace(f"; it opens {stamp}", "")
        gate = (
            f'<div class="gate"><span class="badge a-{escape(action)}">{escape(_LABELS.get(action, action))}</span>'
            f"{until}</div>" + (f'<div class="reason">{escape(reason)}</div>' if reason else "")
        )
    for w in (nxt or {}).get("warnings", ()):
        gate += f'<div class="reason">warning: {escape(w)}</div>'
    for e in env.get("errors", ()):
        gate += f'<div class="reason">error in {escape(e["target"])}: {escape(e["message"])}</div>'
    promoted = ""
    if last:
        by = f" by {escape(last['author'])}" if last.get("author") else ""
        promoted = f'<div class="last">promoted {escape(_utc(last["date"]))}{by}</div>'
    cls = f"cell a-{escape(action)}" if action else "cell"
    return (
        f'<td class="{cls}" data-environment="{escape(env["environment"])}" data-action="{escape(action)}">'
        f'<div><span class="version">{shown}</span>{state}</div>{gate}{promoted}</td>',
        action,
    )


def status_html(
    doc: dict[str, Any],
    requests: dict[str, dict[str, str]] | None = None,
    *,
    order: list[str] | None = None,
    last: dict[str, dict[str, dict[str, str]]] | None = None,
    now: datetime | None = None,
    repos: dict[str, str] | None = None,
    title: str = "Promotion status",
    note: str = "",
    pushed: bool = True,
) -> str:
    """The page of a `status` JSON document. `requests`: component -> its merge request (`url`,
    and `action` and `reason` when reconcile decided one: done, or with `pushed` False what
    `--push` would do); `order`: the environments' columns (`after:` order;
    default as they come); `last`: component -> environment -> the last promotion (`date`,
    `author`, `commit`); `now`: the time it was made; `repos`: component -> its upstream's URL
    (links to its commits on GitHub and GitLab)."""
    from promoter.upstream.changelog import web_url

    comps = doc["components"]
    envs: list[str] = list(order or [])
    for c in comps:
        for e in c["environments"]:
            if e["environment"] not in envs:
                envs.append(e["environment"])
    used = [e for e in envs if any(x["environment"] == e for c in comps for x in c["environments"])]
    head = "".join(f"<th>{escape(e)}</th>" for e in used)
    rows = []
    counts: dict[str, int] = {}
    for c in comps:
        name = c["component"]
        web = web_url((repos or {})[name]) if name in (repos or {}) else None
        by_env = {e["environment"]: e for e in c["environments"]}
        up = c["upstream"]
        if up.get("head"):
            tip = f"head {_link(_commit_url(web, up['head']['sha']), escape(_short(up['head']['value'])))}"
        elif up.get("error"):
            tip = f"upstream not read: {escape(up['error'])}"
        else:
            tip = "upstream not read (--offline)"
        mr = ""
        req = (requests or {}).get(name) or {}
        action = req.get("action", "")
        said = (_MR if pushed else _WOULD).get(action)
        if req.get("url"):
            mr = f'<div class="mr">{_link(req["url"], escape(said or "open merge request"))}</div>'
        elif said:
            mr = f'<div class="mr">{escape(said)}</div>'
        if action == "unknown":  # what a preview could not read: its reason says what --push might do
            mr += f'<div class="reason">{escape(req.get("reason", ""))}</div>'
        if action == "error":
            mr += f'<div class="reason">error: {escape(req.get("reason", ""))}</div>'
        cells = []
        for e in used:
            cell, action = _cell(name, by_env.get(e), web, (last or {}).get(name, {}).get(e))
            cells.append(cell)
            if action:
                counts[action] = counts.get(action, 0) + 1
        rows.append(
            f'<tr class="component" data-component="{escape(name)}">'
            f'<th class="component"><div class="name">{escape(name)}</div><div class="sub">{tip}</div>{mr}</th>'
            + "".join(cells)
            + "</tr>"
        )
    order_of = ("promote", "rollback", "held", "blocked", "untrusted", "error", "window", "soaking", "unverified",
                "image-missing", "waiting-for-dependency", "up-to-date")  # fmt: skip
    summary = "".join(
        f'<li data-count="{escape(a)}"><span class="badge a-{escape(a)}">{n}</span> '
        f"{escape('ready to promote' if a == 'promote' else _LABELS.get(a, a))}</li>"
        for a, n in sorted(counts.items(), key=lambda kv: (order_of.index(kv[0]) if kv[0] in order_of else 99, kv[0]))
    )
    made = f"; generated {now.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}" if now else ""
    made += f"; {escape(note)}" if note else ""
    body = (
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="meta">{plural(len(comps), "component")}, {plural(len(used), "environment")}{made}</p>\n'
        f'<ul class="summary">{summary}</ul>\n'
        '<div class="filters"><input type="search" id="filter" placeholder="filter: component…" '
        'aria-label="filter by component"><span><span id="shown">'
        f"{len(comps)}</span> of {plural(len(comps), 'component')} shown</span></div>\n"
        '<div class="scroll"><table class="grid"><thead><tr><th>component</th>'
        f"{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )
    return page(title, _CSS, body, row_filter("filter", "tr.component", "shown", "data-component"))


def fleet_page(
    opened: Repo,
    statuses: list[ComponentStatus],
    decisions: Mapping[str, Sequence[Decision]],
    requests: dict[str, dict[str, str]],
    title: str = "Promotion status",
    note: str = "",
    pushed: bool = True,
) -> str:
    """The fleet's page (`-o html`): the status document, its columns in `after:` order, when and
    by whom each environment was last promoted, the open merge requests."""
    from promoter.insight.history import last_change
    from promoter.policy.clock import now
    from promoter.render.status import status_doc
    from promoter.ship.session import after_first

    config = opened.config
    after = {name: p.after for name, p in config.environments.items()}
    named = [t.environment for st in statuses for t in st.component.targets]
    order = after_first([*(e for e in config.environments if e in named), *named], lambda e: after.get(e, ()))
    last: dict[str, dict[str, dict[str, str]]] = {}
    for st in statuses:
        for env in dict.fromkeys(ts.target.environment for ts in st.scans):
            scans = [ts for ts in st.scans if ts.target.environment == env]
            found = last_change(opened.root, [ts.target for ts in scans], (v for ts in scans for v in ts.values))
            if found is not None:
                last.setdefault(st.component.name, {})[env] = {
                    "date": found.date.isoformat(), "author": found.author, "commit": found.sha,
                }  # fmt: skip
    repos = {st.component.name: st.component.repo for st in statuses}
    return status_html(
        status_doc(statuses, decisions), requests, order=order, last=last, now=now(), repos=repos, title=title,
        note=note, pushed=pushed,
    )  # fmt: skip
