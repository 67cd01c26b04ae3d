"""`promoter promote`: apply a promotion (write, and commit, push, open the merge request)."""

from __future__ import annotations

import sys

from promoter.commands import plan
from promoter.commands._common import (
    EXTERNAL,
    USAGE,
    confirm,
    err,
    notes,
    options,
    out,
    promotion_arguments,
    push_argument,
    recovered,
    repo,
)
from promoter.errors import PromoterError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from promoter.pipeline.core import Repo
    from promoter.ship.session import Prepared, Promoted

DESCRIPTION = (
    "Promote COMPONENT to REV, or several components (each after those it depends on, each\n"
    "from the branch you started on): the same checks and plan as `plan`, then every file\n"
    "written or none. Asks before writing when stdin is a terminal (not with --yes).\n"
    "With --commit, on a new branch you are left on; with --push, also pushed, and its merge\n"
    "request opened (or updated)."
)
EXAMPLES = (
    "promoter promote qontract-reconcile --env integration",
    "promoter promote qontract-reconcile 2f529cf --yes --push",
    "promoter promote --all --commit",
)
CODES = (
    "0    promoted (or nothing to change)",
    USAGE + "an unknown component, environment, target or REV; an invalid promotion.yaml",
    "3    refused: a check or a rule refused, the confirmation was declined, a file is dirty or "
    "the repository locked; nothing was written",
    EXTERNAL + "; or the push failed",
)
OFFLINE = plan.OFFLINE


def arguments(p: Any) -> None:
    p.add_argument(
        "names",
        nargs="*",
        metavar="COMPONENT [REV] | COMPONENT...",
        help="a component and its REV (as for plan; default: the newest commit that passes every rule), "
        "or several components",
    )
    p.add_argument("--all", action="store_true", help="every component, in dependency order")
    promotion_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--allow-dirty", action="store_true", help="write files that have uncommitted changes")
    p.add_argument(
        "--commit",
        action="store_true",
        help="commit the written files on a new branch (merge_request.branch, default promote/COMPONENT-SHORT)",
    )
    push_argument(p, "commit, push the branch to REMOTE (default: origin), open its merge request")


def _components_and_rev(args: argparse.Namespace, opened: Repo) -> tuple[list[str], str | None]:
    """`promote A B ...` names components; `promote A REV` one component and its revision."""
    from promoter.pipeline import core

    known = opened.config.components
    if args.all:
        if args.names:
            raise UsageError("give component names or --all, not both")
        return list(known), None
    if not args.names:
        raise UsageError("name the component to promote (or --all)")
    names = [n for n in args.names if n in known]
    others = [n for n in args.names if n not in known]
    if len(args.names) == 2 and len(names) == 1 and args.names[0] in known:
        return names, args.names[1]  # COMPONENT REV
    if others:
        core.component(opened.config, others[0])  # raises: unknown component, with the valid ones
    return names, None


def run(args: argparse.Namespace) -> int:
    from promoter.render import plan as render
    from promoter.render.table import terminal_width
    from promoter.ship.session import Session
    from promoter.text import plural

    opened = repo(args)
    names, rev = _components_and_rev(args, opened)

    def review(prepared: Prepared) -> bool:
        notes(prepared)
        p = prepared.plan
        if args.verbose:
            err(f"{p.component.name}: {rev or 'the branch head'} is {p.sha}")
        if p.empty:
            return True
        out(render.plan_text(p, width=terminal_width()))
        if args.dry_run or args.yes or not sys.stdin.isatty():
            return True
        return confirm(f"Write {plural(len(p.changes), 'file')}?")

    finished: list[Promoted] = []
    total = len(set(names))

    def done(result: Promoted) -> None:
        finished.append(result)
        if result.recovery is not None:
            err(render.recovery_text(result.recovery))
        # the next component starts from the branch the run started on
        out(render.promoted_text(result, current=len(finished) == total, width=terminal_width()))
        for n in result.shipped.notes if result.shipped else ():
            err(f"note: {n}")

    try:
        results = Session(opened, options(args)).promote_many(
            names,
            rev,
            dry_run=args.dry_run,
            allow_dirty=args.allow_dirty,
            commit=args.commit,
            push_to=args.push,
            review=review,
            done=done,
        )
    except PromoterError:
        recovered(opened)  # a run killed meanwhile, rolled back before this one failed
        raise
    return 3 if results and results[-1].state == "declined" else 0
