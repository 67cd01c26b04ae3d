"""`promoter changelog` as text and JSON (the markdown is the merge request's: ship/describe)."""

from __future__ import annotations

from promoter.render.document import document, dumps, version
from promoter.ship.describe import commits_word
from promoter.upstream.changelog import Changelog, Person

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


def changelog_text(cl: Changelog, short: int = 7) -> str:
    """Plain text: a header, one line per commit, the authors, the compare URL."""
    if not cl.commits:
        return "no new commits\n"
    lines = [f"{commits_word(cl.count)} from {cl.named('base', short)} to {cl.named('head', short)}"]
    for c in cl.commits:
        merge = " (merge)" if c.merge else ""
        lines.append(f"{c.sha[:short]} {c.date:%Y-%m-%d} {c.author.name}: {c.subject}{merge}")
    lines.append("")
    lines.append("Authors:")
    for who in cl.contributors:
        handle = f" ({who.handle})" if who.handle else ""
        shas = " ".join(c.sha[:short] for c in who.commits)
        lines.append(f"  {who.person}{handle} — {commits_word(len(who.commits))}: {shas}")
    if cl.bots_left_out:
        lines.append("Bots (left out): " + ", ".join(str(p) for p in cl.bots_left_out))
    if cl.compare_url:
        lines.append("")
        lines.append(f"Compare: {cl.compare_url}")
    return "\n".join(lines) + "\n"


def _person_json(p: Person) -> dict[str, str]:
    return {"name": p.name, "email": p.email}


def changelog_doc(cl: Changelog, component: str | None = None) -> dict[str, Any]:
    """The changelog as data: from `old` (what runs) to `new` (the candidate), each commit (its
    full sha), the authors and the bots left out."""
    return document(
        "changelog",
        {
            "component": component,
            "old": version(cl.base_tag, cl.base) if cl.base_tag else version(cl.base),
            "new": version(cl.head_tag, cl.head) if cl.head_tag else version(cl.head),
            "count": cl.count,
            "compare_url": cl.compare_url,
            "commits": [
                {
                    "sha": c.sha,
                    "author": _person_json(c.author),
                    "date": c.date.isoformat(),
                    "subject": c.subject,
                    "co_authors": [_person_json(p) for p in c.co_authors],
                    "merge": c.merge,
                }
                for c in cl.commits
            ],
            "contributors": [
                {**_person_json(who.person), "handle": who.handle, "commits": [c.sha for c in who.commits]}
                for who in cl.contributors
            ],
            "bots_left_out": [_person_json(p) for p in cl.bots_left_out],
        },
    )


def changelog_json(cl: Changelog, component: str | None = None) -> str:
    return dumps(changelog_doc(cl, component))
