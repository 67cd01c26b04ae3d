"""`promoter history`: every change of a component's pins in the config repository's history."""

from __future__ import annotations

from promoter.commands._common import ENV, EXTERNAL, LINE, USAGE, err, out, repo, upstream, write_out
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "One row per commit that changed the component's pinned values: date, author, old -> new,\n"
    "environments; with the upstream, each promotion's lead time, how far behind it was and\n"
    "whether it was a rollback; promotions per week. -o html writes one self-contained page.\n"
    "On a terminal, progress shows on stderr."
)
EXAMPLES = (
    "promoter history qontract-reconcile --since 2026-01-01",
    "promoter history qontract-reconcile -o html --out report.html",
    "promoter history qontract-reconcile --env production -o json",
)
CODES = (
    "0    shown (or written to --out)",
    USAGE + "an unknown component or environment, a bad --since",
    "3    refused: --out cannot be written",
    EXTERNAL,
)
OFFLINE = "do not read the upstream: no lead times, commits behind or rollbacks"


def arguments(p: Any) -> None:
    p.add_argument("component", metavar="COMPONENT", help="the component")
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
    p.add_argument(
        "--since", metavar="DATE", help="only changes committed on or after this ISO date (default: all history)"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "json", "html"),
        default="table",
        help="table, json or html (default: table)",
    )
    p.add_argument("--out", metavar="FILE", help="write to FILE, atomically (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from promoter.insight import history
    from promoter.pipeline import core
    from promoter.render import history as report

    to = args.out
    if args.legacy_out is not None:
        if to is not None:
            raise UsageError(f"give the file once: --out {to} (not also {args.legacy_out})")
        to = args.legacy_out
        err(f"promoter: note: '-o {args.output} FILE' is deprecated; write '-o {args.output} --out {to}'")
    since = history.parse_since(args.since) if args.since else None
    opened = repo(args)
    comp = core.component(opened.config, args.component)
    targets = core.select(comp, envs=args.env)
    try:  # how far it got, on a terminal (LINE)
        up = None if args.offline else upstream(comp)
        h = history.build(opened.root, comp, targets, up, since, LINE.show if LINE.enabled else None)
    finally:
        LINE.clear()
    if args.output == "json":
        text = report.history_json(h)
    elif args.output == "html":
        text = report.history_html(h)
    else:
        from promoter.render.table import terminal_width

        text = report.history_text(h, verbose=args.verbose, width=None if to else terminal_width())
    if to is not None:
        write_out(to, text)
        from promoter.text import plural

        out(f"wrote {to}: {plural(len(h.changes), 'change')} of {comp.name}\n")
    else:
        out(text)
    return 0
