"""Text and JSON/YAML for `discover` and `check` results."""

from __future__ import annotations

import yaml

from promoter.insight.discover import Discovery
from promoter.insight.lint import Problem
from promoter.render.document import document, dumps, version
from promoter.render.table import Cell, fit, fits

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


def _summary(d: Discovery) -> str:
    n, m = len(d.findings), len(d.files)
    text = (
        f"{n} pin{'s' if n != 1 else ''} found in {m} file{'s' if m != 1 else ''}; "
        f"{len(d.binary)} binary and {len(d.huge)} huge files skipped"
    )
    if d.ignored:
        text += f"; {len(d.ignored)} ignored"
    return text + "\n"


def discovery_doc(d: Discovery) -> dict[str, Any]:
    """The uncovered pins as data: each with where it is, what it is and the target that would
    cover it (`suggestion`, and as YAML to paste: `snippet`)."""
    return document(
        "discover",
        {
            "findings": [
                {
                    "component": f.component,
                    "file": f.file,
                    "line": f.line,
                    "column": f.column,
                    "text": f.text,
                    "kind": f.kind,
                    "matched": f.matched,
                    "version": version(f.value),
                    "format": f.format,
                    "suggestion": f.target,
                    "snippet": f.snippet,
                }
                for f in d.findings
            ],
            "pins": len(d.findings),
            "files": d.files,
            "scanned": d.scanned,
            "skipped": {"binary": d.binary, "huge": d.huge, "ignored": d.ignored},
            "refused_targets": d.refused,
        },
    )


def discovery_json(d: Discovery) -> str:
    return dumps(discovery_doc(d))


def discovery_yaml(d: Discovery) -> str:
    return yaml.safe_dump(discovery_doc(d), sort_keys=False, width=1 << 20, allow_unicode=True)


def discovery_text(d: Discovery, width: int | None = None) -> str:
    out: list[str] = []
    if d.findings:
        rows: list[list[str | Cell] | Cell] = [["FILE:LINE", "COMPONENT", "MATCHED", "TEXT"]]
        for f in d.findings:
            rows.append([f"{f.file}:{f.line}", f.component, f"{f.kind} {f.matched}", f.text])
        kinds: tuple[str, ...] = ("path", "fixed", "version", "clip")  # shas short first, the path cut last
        if not fits(rows, width, kinds, indent="", giving=()):  # narrow: each line under its pin
            rows = [["FILE:LINE", "COMPONENT", "MATCHED"], Cell("  TEXT")]
            for f in d.findings:
                rows.append([f"{f.file}:{f.line}", f.component, f"{f.kind} {f.matched}"])
                rows.append(Cell(f"  {f.text}", kind="clip"))
            kinds = kinds[:3]
        out += fit(rows, width, kinds, indent="", under=0, floors={2: 15})  # "version 4e537ab" whole
        for comp in dict.fromkeys(f.component for f in d.findings):
            out.append("")
            out.append(f"suggested targets for {comp} (paste under its targets:):")
            for snippet in d.snippets(comp):
                out.extend("  " + line for line in snippet.rstrip("\n").split("\n"))
        out.append("")
    for comp, names in d.refused.items():
        out.append(f"warning: {comp}: targets {', '.join(names)} locate nothing (run 'promoter check')")
    return "\n".join(out) + ("\n" if out and out[-1] else "") + _summary(d)


def check_text(problems: list[Problem]) -> str:
    out: list[str] = []
    for p in problems:
        first, *more = p.message.split("\n")  # a changed pin's broken rules, a line each
        out.append(f"{p.file}:{p.line}: {'note: ' if p.note else ''}{first}")
        out.extend("    " + line for line in [*more, *p.hint.split("\n")])
    out.append(_verdict(problems))
    return "\n".join(out) + "\n"


def _verdict(problems: list[Problem]) -> str:
    """`2 problems; 1 note`, `ok: no problems`."""
    n = sum(not p.note for p in problems)
    notes = len(problems) - n
    said = f"; {notes} note{'s' if notes != 1 else ''}" if notes else ""
    return f"{n} problem{'s' if n != 1 else ''}{said}" if n else f"ok: no problems{said}"


def check_markdown(problems: list[Problem]) -> str:
    """The problems as a markdown table (file:line, component, what, what to do), for a merge
    request's comment or a CI job's summary; the verdict first."""
    lines = ["# promoter check", "", f"**{_verdict(problems)}**"]
    if problems:
        lines += ["", "| where | component | level | problem | what to do |", "|---|---|---|---|---|"]
        for p in problems:
            cells = [f"{p.file}:{p.line}", p.component, "note" if p.note else "error", p.message, p.hint]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    """Text from the repository (names, messages quoting files) as one table cell: no markup of
    its own (HTML escaped, `|` kept from ending the cell, a line break as <br>)."""
    import html

    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", "<br>")


def check_doc(problems: list[Problem]) -> dict[str, Any]:
    """The problems as data: where, what kind (a machine word), whose, and what to do; `level`
    `error` fails the check, `note` is shown only (`ok` is true when no error is listed)."""
    return document(
        "check",
        {
            "ok": all(p.note for p in problems),
            "problems": [
                {
                    "kind": p.kind,
                    "level": "note" if p.note else "error",
                    "component": p.component,
                    "target": p.target,
                    "environment": p.environment,
                    "file": p.file,
                    "line": p.line,
                    "version": version(p.value, p.sha) if p.value is not None else None,
                    "message": p.message,
                    "hint": p.hint,
                    "rules": [{"kind": r.kind, "message": r.message, "hint": r.hint} for r in p.rules],
                }
                for p in problems
            ],
        },
    )


def check_json(problems: list[Problem]) -> str:
    return dumps(check_doc(problems))
