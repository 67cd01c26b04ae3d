"""`promoter plan`: what a promotion would change; writes nothing."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, REV_PLAN, USAGE, err, notes, options, out, promotion_arguments, repo

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

CHANGES_PENDING = 5  # `plan --detailed-exitcode`: apart from every error code

DESCRIPTION = (
    "What promoting COMPONENT to REV would change: a unified diff of every file and a line per\n"
    "target (old -> new). The candidate is checked first, as promote checks it (not older than\n"
    "what runs, merged, soaked, dependencies first, its image exists and, with trust:, is\n"
    "signed and built from it, the policy's rules).\n"
    "Nothing is written."
)
EXAMPLES = (
    "promoter plan qontract-reconcile",
    "promoter plan qontract-reconcile 2f529cf --env integration",
    "promoter plan qontract-reconcile --detailed-exitcode -o json > plan.json",
)
CODES = (
    "0    planned (with --detailed-exitcode: nothing would change)",
    USAGE + "an unknown component, environment, target or REV; an invalid promotion.yaml",
    "3    refused: a check or a rule refuses the candidate (the message says which option lifts it)",
    EXTERNAL,
    "5    --detailed-exitcode only: something would change",
)
OFFLINE = (
    "do not read the upstream or the registry: REV must be a full 40-hex sha; the merged, "
    "downgrade, dependency and image checks are skipped (a note says so)"
)


def arguments(p: Any) -> None:
    p.add_argument("component", metavar="COMPONENT", help="the component to promote")
    p.add_argument("rev", nargs="?", metavar="REV", help=REV_PLAN)
    promotion_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("diff", "json"),
        default="diff",
        help="a unified diff, or json (default: diff)",
    )
    p.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 0 when nothing would change, 5 when something would"
    )


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import plan as render
    from promoter.ship.session import Session

    opened = repo(args)
    comp = core.component(opened.config, args.component)
    prepared = Session(opened, options(args)).prepare(comp, args.rev)
    notes(prepared)
    p = prepared.plan
    if args.verbose:
        err(f"{comp.name}: {args.rev or 'the branch head'} is {p.sha}")
    if args.output == "json":
        out(render.plan_json(p, prepared.notes))
    else:
        from promoter.render.table import terminal_width

        out(render.plan_text(p, width=terminal_width()))
        if p.empty:
            out(render.unchanged_text(prepared))
    return CHANGES_PENDING if args.detailed_exitcode and not p.empty else 0
