"""`promoter reconcile`: keep every environment promoted under its policy (a scheduled CI job)."""

from __future__ import annotations

import os

from promoter.commands._common import USAGE, err, options, out, push_argument, repo, write_out
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from promoter.ship.reconcile import Reconciled
    from promoter.ship.session import Session

DESCRIPTION = (
    "For every component (dependency order) and environment (after: order): the newest candidate\n"
    "that passes every gate (image, min_age, dependencies, soak, windows, holds, blocked, verify),\n"
    "and one merge request per component on promote/COMPONENT kept in step with it: opened,\n"
    "updated, left or closed (with --push; without it, or with --dry-run, the same decision, made\n"
    "by reading the remote's branches and, with a token, the forge's merge requests: what cannot\n"
    "be read is said, as unknown); one a person closed is declined until the promotion changes.\n"
    "Held, a closed window and soaking are the policy working: reported, exit 0."
)
EXAMPLES = (
    "promoter reconcile",
    "promoter reconcile --push --shard 2/4 -o markdown > dashboard.md",
    "promoter reconcile --push --max-open 5 --shard auto   # GitLab's parallel: N",
)
CODES = (
    "0    done, or nothing to do (held, a closed window, soaking, blocked and waiting are reported)",
    USAGE + "an unknown component, a bad --shard or --max-open, an invalid promotion.yaml",
    "3    something needs a person: a refusal or an error (a foreign commit on a promotion branch, a target\n"
    "       that locates nothing); the other components were done",
    "4    something failed on the network (an upstream, the registry, the forge, the push); the others were done",
)
OFFLINE = (
    "do not read the upstream or the registry: no candidate can be chosen, so only what runs and the "
    "holds and windows are shown (nothing is pushed)"
)


def arguments(p: Any) -> None:
    p.add_argument("components", nargs="*", metavar="COMPONENT", help="only these (default: all)")
    push_argument(p, "push to REMOTE (default: origin) and open, update or close the merge requests (default: show)")
    p.add_argument("--dry-run", action="store_true", help="decide and show, push nothing (also with --push)")
    p.add_argument(
        "--max-open",
        type=int,
        metavar="N",
        help="never more than N open promotion merge requests; the rest wait (default: no limit)",
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="only shard I of N (from 1), dependency chains kept together; auto: GitLab's CI_NODE_INDEX/"
        "CI_NODE_TOTAL (parallel: N) (default: SHARDS/SHARD_ID, SHARD_ID from 0, when set; else every component)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("text", "json", "markdown", "html"),
        default="text",
        help="text, json, markdown (a dashboard for an issue or a wiki page), or html (the fleet's page, as "
        "status -o html; with --out) (default: text)",
    )
    p.add_argument("--out", metavar="FILE", help="write the output to FILE, atomically (default: standard output)")
    p.add_argument(
        "--markdown",
        metavar="FILE",
        help="also write the markdown dashboard to FILE, atomically, whatever -o says (a CI job's summary beside "
        "-o json) (default: none)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.render import reconcile as render
    from promoter.render.table import terminal_width
    from promoter.ship.reconcile import reconcile, shard_spec
    from promoter.ship.session import Session

    shard = shard_spec(args.shard, os.environ)
    if args.max_open is not None and args.max_open < 0:
        raise UsageError("--max-open takes a number of merge requests (0 or more)")
    opened = repo(args)
    for name in args.components:
        from promoter.pipeline import core

        core.component(opened.config, name)
    session = Session(opened, options(args))
    result = reconcile(
        session,
        list(args.components),
        push_to=args.push,
        dry_run=args.dry_run,
        max_open=args.max_open,
        shard_of=shard,
    )
    if result.pushed and opened.config.notify is not None:
        _notify(session, result, args.push)
    if args.markdown is not None:
        write_out(args.markdown, render.reconcile_markdown(result))
    if args.output == "json":
        text = render.reconcile_json(result)
    elif args.output == "markdown":
        text = render.reconcile_markdown(result)
    elif args.output == "html":
        text = _html(session, result)
    else:
        text = render.reconcile_text(result, None if args.out else terminal_width())
    if args.out:
        write_out(args.out, text)
        out(f"wrote {args.out}\n")
    else:
        out(text)
    return result.exit_code


def _notify(session: Session, result: Reconciled, remote: str) -> None:
    """Send this run's notifications (notify: in promotion.yaml), each once; said on stderr."""
    from promoter.errors import PromoterError
    from promoter.ship.notify import notify

    try:
        done = notify(session, result, remote)
    except PromoterError as exc:
        err(f"warning: no notification sent this run: {exc}")
        return
    for line in done.lines():
        err(line)


def _html(session: Session, result: Reconciled) -> str:
    """The fleet's page (as `status -o html`), with reconcile's decisions and merge requests."""
    from promoter.pipeline import core
    from promoter.render.status_html import fleet_page

    config = session.repo.config
    statuses, decisions, requests = [], {}, {}
    for cp in result.components:
        comp = config.components[cp.component]
        up = None if session.options.offline else session.upstream(comp)
        statuses.append(core.status(session.repo, comp, list(comp.targets), up))
        decisions[cp.component] = cp.environments
        requests[cp.component] = {"url": cp.url or "", "action": cp.action, "reason": cp.reason}
    note = "merge requests pushed and opened" if result.pushed else "a dry run: nothing pushed"
    return fleet_page(session.repo, statuses, decisions, requests, title="Promotions", note=note, pushed=result.pushed)
