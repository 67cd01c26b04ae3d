"""A plan for people (a unified diff and a line per target) or programs (JSON), and what `promote`
did."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from promoter.model import FileChange, Plan
from promoter.render.document import Version, document, dumps, version
from promoter.ship.describe import shown_version
from promoter.text import Painted, plural, printable

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.pipeline.apply import Recovery
    from promoter.ship.session import Prepared, Promoted


def diff(ch: FileChange) -> str:
    old = ch.old_text.splitlines(keepends=True)
    new = ch.new_text.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(old, new, f"a/{ch.file}", f"b/{ch.file}", n=3):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def plan_text(p: Plan, colour: bool | None = None, width: int | None = None) -> Painted:
    """The plan's unified diff and a line per target; on a terminal (not with NO_COLOR) the diff's
    removed lines red, added lines green, headers bold. Every line is made printable before it
    is painted (a file's text is outside text)."""
    from promoter.render.table import colour_on, paint

    on = colour_on() if colour is None else colour
    styles = {"---": "bold", "+++": "bold", "@@": "dim", "-": "bad", "+": "ok"}
    parts = []
    for line in "".join(diff(ch) for ch in p.changes).splitlines(keepends=True):
        style = next((s for k, s in styles.items() if line.startswith(k)), "") if on else ""
        body = line.rstrip("\n")
        parts.append((paint(body, style, True) if style else printable(body)) + line[len(body) :])
    parts.append(summary_text(p, width) + "\n")
    return Painted("".join(parts))


def summary_text(p: Plan, width: int | None = None) -> str:
    """A line per target (`plan_summary`); on a terminal `width` wide, a line that would not fit
    says the target and what changes first, and where it is on the next line (a path broken
    after a `/` when even that is too long): the terminal never breaks a word."""
    from promoter.render.table import flow
    from promoter.ship.describe import summary_parts

    lines = []
    for who, where, what in summary_parts(p):
        line = printable(f"{who} {where}: {what}")
        if width is None or len(line) <= width:
            lines.append(line)
        else:
            lines.append(
                flow(printable(f"{who}: {what}"), width) + "\n" + flow("    " + printable(where), width, "    ")
            )
    return "\n".join(lines)


def plan_doc(p: Plan, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The plan as data: the candidate (`new`), per target its old and new versions, every edit."""

    def ver(value: str) -> Version:
        # a value this plan writes (short, digest or release tag) is the candidate's; an old one is
        # the full sha the upstream says it names (`Plan.shas`), else another target pins, when one does
        if value in new_values:
            return version(value, p.sha)
        if value in p.shas:
            return version(value, p.shas[value])
        return version(value, next((f for f in full if f.startswith(value)), None))

    new_values = {tc.new_value for tc in p.targets}
    full = sorted({v for tc in p.targets for v in tc.old_values if len(v) == 40})
    return document(
        "plan",
        {
            "component": p.component.name,
            "new": version(p.release.tag, p.sha) if p.release is not None else version(p.sha),
            "changed": not p.empty,
            "targets": [
                {
                    "target": tc.target.name,
                    "environment": tc.target.environment,
                    "old": [ver(v) for v in tc.old_values],
                    "new": ver(tc.new_value),
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
                    "environment": e.location.target.environment,
                    "old": ver(e.location.value),
                    "new": ver(e.new),
                    "kind": e.location.kind,  # pin, or target_config_hash (a subscriber's promotion_data)
                }
                for ch in p.changes
                for e in ch.edits
            ],
            "notes": list(notes),
            "warnings": p.warnings,
        },
    )


def plan_json(p: Plan, notes: Sequence[str] = ()) -> str:
    return dumps(plan_doc(p, notes))


def promoted_text(result: Promoted, current: bool = True, width: int | None = None) -> str:
    """What `promote` did for one component, a line each: written, committed (on which branch, and
    that the working tree is on it, when it still is: `current`), pushed, opened."""
    p = result.prepared.plan
    comp, new = p.component, shown_version(p)
    if result.state == "unchanged":
        if result.reason:
            return f"{comp.name}: nothing to promote: {result.reason}\n"
        return unchanged_text(result.prepared)
    if result.state == "dry-run":
        return "dry run: nothing written\n"
    if result.state == "declined":
        return "nothing written\n"
    lines = []
    if result.state == "written":
        lines.append(f"promoted {comp.name} to {new} in {plural(len(result.files), 'file')}")
    else:
        lines.append(f"{result.branch} already holds this promotion of {comp.name} to {new}")
    shipped = result.shipped
    if shipped is not None:
        if result.state == "written":
            c = shipped.commit
            lines.append(committed_line(c.sha, c.branch, c.subject, current))
        if shipped.remote:
            lines.append(f"pushed {shipped.commit.branch} to {shipped.remote}")
        if shipped.merge_request:
            verb = "opened" if shipped.merge_request.created else "updated"
            lines.append(f"{verb} merge request {shipped.merge_request.url}")
    from promoter.render.table import flow

    return "\n".join(flow(line, width) for line in lines) + "\n"


def unchanged_text(prepared: Prepared) -> str:
    """What a plan that changes nothing says: every target runs the candidate already, or (with no
    REV) nothing newer than what runs may be promoted now; the notes say what stops it."""
    p = prepared.plan
    if prepared.unchanged:
        return f"{p.component.name}: nothing to change: {prepared.unchanged}\n"
    return f"{p.component.name}: every selected target is already at {shown_version(p)}; nothing to change\n"


def committed_line(sha: str, branch: str, subject: str, current: bool = True) -> str:
    """`committed 1a2b3c4d5e6f on promote/x-abc1234 (you are now on it): promote x ...`."""
    here = " (you are now on it)" if current else ""
    return f"committed {sha[:12]} on {branch}{here}: {subject}"


def recovery_text(rec: Recovery) -> str:
    """What rolling back a killed promotion did: files restored, files left alone (and why)."""
    parts = [f"restored {', '.join(rec.restored)}" if rec.restored else "no file had been replaced yet"]
    if rec.left_alone:
        parts.append(
            f"left alone {', '.join(rec.left_alone)}: changed or gone since the interrupted run "
            "wrote it (check it by hand)"
        )
    return f"promoter: rolled back an interrupted promotion: {'; '.join(parts)}"
