"""`promoter reconcile`: keep every environment promoted under its policy (a scheduled CI job)."""

from __future__ import annotations

from promoter.commands._common import options, out, push_argument, repo
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "For every component and environment: the newest candidate that passes every gate; "
    "one merge request per component opened, updated, left or closed (with --push)."
)
EXAMPLES: tuple[str, ...] = ()
CODES: tuple[str, ...] = ()
LAST_CODES: tuple[str, ...] = ()
OFFLINE = "do not read the upstream"


def arguments(p: Any) -> None:
    p.add_argument("components", nargs="*", metavar="COMPONENT", help="only these (default: all)")
    push_argument(p, "push and open or update the merge requests")
    p.add_argument("--dry-run", action="store_true", help="decide and show, push nothing (also with --push)")
    p.add_argument("--max-open", type=int, metavar="N", help="never more than N open promotion merge requests")
    p.add_argument("--shard", metavar="I/N", help="only shard I of N (dependency chains kept together)")
    p.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text", help="(default: text)")


def run(args: argparse.Namespace) -> int:
    from promoter.render import reconcile as render
    from promoter.render.table import terminal_width
    from promoter.ship.reconcile import reconcile
    from promoter.ship.session import Session

    shard = None
    if args.shard is not None:
        left, sep, right = args.shard.partition("/")
        if not (sep and left.isdigit() and right.isdigit()):
            raise UsageError(f"--shard takes I/N (e.g. 2/4), not '{args.shard}'")
        shard = (int(left), int(right))
    if args.max_open is not None and args.max_open < 0:
        raise UsageError("--max-open takes a number of merge requests (0 or more)")
    opened = repo(args)
    for name in args.components:
        from promoter.pipeline import core

        core.component(opened.config, name)
    result = reconcile(
        Session(opened, options(args)),
        list(args.components),
        push_to=args.push,
        dry_run=args.dry_run,
        max_open=args.max_open,
        shard_of=shard,
    )
    if args.output == "json":
        out(render.reconcile_json(result))
    elif args.output == "markdown":
        out(render.reconcile_markdown(result))
    else:
        out(render.reconcile_text(result, terminal_width()))
    return result.exit_code
