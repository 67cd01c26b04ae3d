"""`promoter changelog`: the commits a promotion brings, and their authors."""

from __future__ import annotations

from promoter.commands._common import ENV, EXTERNAL, REV, USAGE, options, out, repo
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "The commits between what the selected environments run (the oldest of them) and the\n"
    "candidate: short sha, date, author, subject; then the authors (co-authors too, bots left\n"
    "out) with their chat handles from `people:`, and a compare link on GitHub and GitLab."
)
EXAMPLES = (
    "promoter changelog qontract-reconcile",
    "promoter changelog qontract-reconcile --env production -o markdown",
    "promoter changelog qontract-reconcile v1.2 --from v1.1 -o json",
)
CODES = (
    "0    shown",
    USAGE + "an unknown component, environment or REV; nothing deployed is in the upstream",
    EXTERNAL,
)
OFFLINE = None


def arguments(p: Any) -> None:
    p.add_argument("component", metavar="COMPONENT", help="the component")
    p.add_argument("rev", nargs="?", metavar="REV", help=f"{REV} commit of the branch)")
    p.add_argument("--from", dest="from_rev", metavar="REV", help="start here (default: the oldest version deployed)")
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("text", "markdown", "json"),
        default="text",
        help="text, markdown (as a merge request shows it) or json (default: text)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render.changelog import changelog_json, changelog_text
    from promoter.ship.describe import changelog_markdown
    from promoter.ship.session import Session

    if args.offline:
        raise UsageError("changelog reads the upstream's history; it does not work with --offline")
    opened = repo(args)
    comp = core.component(opened.config, args.component)
    session = Session(opened, options(args))
    sha, release = session.version(comp, args.rev)  # a component pinned by release tags: between two tags
    base, base_release = session.version(comp, args.from_rev) if args.from_rev else (None, None)
    scans = core.scan(opened, comp, session.targets(comp))
    log = session.changelog(comp, sha, scans, base, release, base_release)
    if log is None:
        raise UsageError(f"{comp.name}: no deployed commit of the upstream found; give --from REV")
    if args.output == "json":
        out(changelog_json(log, comp.name))
    elif args.output == "markdown":
        out(changelog_markdown(log, comp.short_length))
    else:
        out(changelog_text(log, comp.short_length))
    return 0
