"""`promoter status`: where every environment of the components stands."""

from __future__ import annotations

from promoter.commands._common import ENV, USAGE, err, options, out, repo, write_out
from promoter.errors import PromoterError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from promoter.pipeline.core import ComponentStatus, Repo
    from promoter.ship.decisions import Decision

DESCRIPTION = (
    "Per component and environment: the version it runs, how many commits of the upstream\n"
    "branch it lacks, and what promoting it would do next (the policy's decision: promote,\n"
    "held, window closed, soaking...); under it each target with FILE:LINE. The table fits\n"
    "the terminal (reasons wrapped, paths cut in the middle); colour only on a terminal (not\n"
    "with NO_COLOR)."
)
EXAMPLES = (
    "promoter status",
    "promoter status qontract-reconcile --env production -o wide",
    "promoter status -o json | jq '.components[].environments[].versions'",
)
CODES = (
    "0    shown (an upstream that cannot be reached is said, and its columns left empty)",
    USAGE + "an unknown component or environment, an invalid promotion.yaml",
    "3    shown with errors, as check: a target that cannot be read (an ERROR row), a next step "
    "that could not be decided (the registry cannot be reached, say); or an interrupted promotion could "
    "not be rolled back",
)
OFFLINE = "do not read the upstream: no branch head, no commits behind, no next step"


def arguments(p: Any) -> None:
    p.add_argument("components", nargs="*", metavar="COMPONENT", help="only these components (default: all)")
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "wide", "json", "html"),
        default="table",
        help="table (fits the terminal), wide (nothing cut), json, or html (one page; with --out) (default: table)",
    )
    p.add_argument("--out", metavar="FILE", help="write the output to FILE (atomically) instead of standard output")


def run(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import status as render
    from promoter.render.table import terminal_width

    opened = repo(args)
    names = args.components or list(opened.config.components)
    comps = [core.component(opened.config, n) for n in names]
    all_envs = {t.environment for c in comps for t in c.targets}
    for e in args.env:
        if e not in all_envs:
            from promoter.text import did_you_mean

            hint = did_you_mean(e, all_envs)
            raise UsageError(f"unknown environment '{e}'{hint}; valid: {', '.join(sorted(all_envs))}")
    statuses = []
    decisions = {}
    session = None
    if not args.offline:
        from promoter.ship.session import Session

        session = Session(opened, options(args))
    for comp in comps:
        if not comp.targets:
            err(f"note: {comp.name} has no targets yet: 'promoter discover {comp.name}' finds its pins")
        targets = [t for t in comp.targets if not args.env or t.environment in args.env]
        if not targets:
            continue
        statuses.append(core.status(opened, comp, targets, None if session is None else session.upstream(comp)))
        if session is not None and statuses[-1].head is not None:
            from promoter.ship.decisions import decide

            envs = {t.environment for t in targets}
            decisions[comp.name] = [d for d in decide(session, comp) if d.environment in envs]
    if args.output == "json":
        text = render.status_json(statuses, decisions)
    elif args.output == "html":
        from promoter.render.status_html import fleet_page

        text = fleet_page(opened, statuses, decisions, _open_requests(opened, args.offline))
    else:
        width = None if args.output == "wide" or args.out else terminal_width()
        text = render.status_text(statuses, decisions, width, colour=False if args.out else None)
    if args.out:
        write_out(args.out, text)
        out(f"wrote {args.out}\n")
    else:
        out(text)
    return 3 if _problems(statuses, decisions) else 0


def _problems(statuses: list[ComponentStatus], decisions: dict[str, list[Decision]]) -> bool:
    """Whether the status shows an error: a target not read (an ERROR row), a next step that
    failed (`error: ...`). As `check`, exit 3: the table is shown, and something in it needs a
    look. An upstream not reached is said on the component's line, as --offline would leave it."""
    if any(st.errors for st in statuses):
        return True
    if not decisions:  # --offline, or no upstream: nothing decided (and ship.decisions not imported)
        return False
    from promoter.ship.decisions import OFFLINE

    return any(d.action == "error" and d.exit_code != OFFLINE for ds in decisions.values() for d in ds)


def _open_requests(opened: Repo, offline: bool) -> dict[str, dict[str, str]]:
    """component -> its open promotion merge request (reconcile's branch), when the config uses the
    forge's API and its token is set; nothing otherwise (a page without links)."""
    import os

    from promoter.ship.forge import TOKEN_ENV

    mr = opened.config.merge_request
    if offline or mr.method != "api":
        return {}
    from promoter.ship import commit as commits
    from promoter.ship.forge import forge_for, forge_kind
    from promoter.upstream.git import Git

    try:
        url = commits.remote_url(Git(opened.root), "origin")
        kind = forge_kind(url, mr.forge)
        if not os.environ.get(TOKEN_ENV[kind]):
            return {}
        listed = forge_for(kind, url, api_url=mr.api_url).open_requests()
    except PromoterError as exc:
        err(f"note: open merge requests not shown: {exc}")
        return {}
    by_branch = {r.source_branch: r.url for r in listed}
    found_for = {}
    for name in opened.config.components:
        found = by_branch.get(mr.reconcile_branch.format(component=name))
        if found:
            found_for[name] = {"url": found}
    return found_for
