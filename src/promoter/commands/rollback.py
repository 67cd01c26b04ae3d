"""`promoter rollback`: environments back to what they ran before (or to --to REV), and held."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, USAGE, change_arguments, changed, notes, options, out, repo

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "The way out of an incident: the environments go back to the version they ran before (from\n"
    "the config repository's history) or to --to REV, downgrade allowed, soak, windows and\n"
    "verify skipped; a hold is written in the same write and commit, so nothing promotes them\n"
    "forward again until release."
)
EXAMPLES = (
    'promoter rollback qontract-reconcile --env production --reason "d6ecb27 breaks logins"',
    'promoter rollback qontract-reconcile --env production --to 4e537ab --reason "..." --push',
)
CODES = (
    "0    rolled back and held",
    USAGE + "an unknown component, environment or REV",
    "3    refused: nothing ran before, a blocked version, an untrusted image, a dirty file; nothing\n"
    "       was written",
    EXTERNAL,
)
OFFLINE = (
    "do not read the upstream: what ran before comes from the config repository alone; --to must be a full 40-hex sha"
)


def arguments(p: Any) -> None:
    change_arguments(p)
    p.add_argument("--reason", required=True, metavar="TEXT", help="why (shown to whoever meets the hold)")
    p.add_argument("--to", metavar="REV", help="the version to go back to (default: what ran before)")
    p.add_argument(
        "--ignore-trust",
        action="store_true",
        help="go back to an image whose signature or provenance (trust:) does not hold; never lifts blocked",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import plan as render
    from promoter.ship import holding
    from promoter.ship.session import Session

    opened = repo(args)
    comp = core.component(opened.config, args.component)
    session = Session(opened, options(args))
    result = holding.rollback(
        session, comp, tuple(args.env), args.to, args.reason, commit=args.commit, push_to=args.push
    )
    if result.prepared is not None:
        notes(result.prepared)
        from promoter.render.table import terminal_width

        out(render.plan_text(result.prepared.plan, width=terminal_width()))
    changed(result)
    return 0
