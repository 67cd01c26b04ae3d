"""`promoter release`: release a component's holds."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, LASTING, USAGE, change_arguments, changed, options, repo

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = "Remove the component's holds on these environments from the holds file."
EXAMPLES = ("promoter release qontract-reconcile --env production", "promoter release qontract-reconcile --push")
CODES = ("0    released", USAGE + "an unknown component or environment", LASTING, EXTERNAL + " (--push)")
OFFLINE = None


def arguments(p: Any) -> None:
    change_arguments(p)


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.ship import holding
    from promoter.ship.session import Session

    opened = repo(args)
    comp = core.component(opened.config, args.component)
    core.select(comp, envs=args.env)  # a component with targets, environments it has
    session = Session(opened, options(args))
    changed(holding.release(session, comp, tuple(args.env), commit=args.commit, push_to=args.push))
    return 0
