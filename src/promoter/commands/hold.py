"""`promoter hold`: hold environments of a component; nothing promotes them until released."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, LASTING, USAGE, change_arguments, changed, options, repo, until

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Write a hold into the holds file (holds: in promotion.yaml, default promotion-holds.yaml):\n"
    "no promotion of these environments goes through (but with --ignore-hold) until release."
)
EXAMPLES = (
    'promoter hold qontract-reconcile --env production --reason "incident 123"',
    'promoter hold qontract-reconcile --reason "freeze" --until 2026-12-27T08:00Z --push',
)
CODES = ("0    held", USAGE + "an unknown component or environment, a bad --until", LASTING, EXTERNAL + " (--push)")
OFFLINE = None


def arguments(p: Any) -> None:
    change_arguments(p)
    p.add_argument("--reason", required=True, metavar="TEXT", help="why (shown to whoever meets the hold)")
    p.add_argument(
        "--until",
        metavar="TIME",
        help="the hold ends by itself then (ISO 8601, e.g. 2026-12-24T08:00Z; default: never)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.ship import holding
    from promoter.ship.session import Session

    opened = repo(args)
    comp = core.component(opened.config, args.component)
    core.select(comp, envs=args.env)  # a component with targets, environments it has
    session = Session(opened, options(args))
    ends = until(args.until)
    changed(holding.hold(session, comp, tuple(args.env), args.reason, ends, commit=args.commit, push_to=args.push))
    return 0
