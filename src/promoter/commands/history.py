"""`promoter history`: every change of a component's pins in the config repository's history, and
DORA's four measures per environment; with no COMPONENT (or --all) those of the whole fleet."""

from __future__ import annotations

from promoter.commands._common import ENV, EXTERNAL, LINE, USAGE, err, out, repo, upstream, write_out
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from promoter.insight.dora import Measures
    from promoter.insight.history import History
    from promoter.model import Component
    from promoter.pipeline.core import Repo

DESCRIPTION = (
    "One row per commit that changed the component's pinned values: date, author, old -> new,\n"
    "environments; with the upstream, each promotion's lead time, how far behind it was and\n"
    "whether it was a rollback; promotions per week; DORA's four measures per environment\n"
    "(deployment frequency, lead time for changes, change failure rate, time to restore).\n"
    "With no COMPONENT (or --all), those measures for every component and environment.\n"
    "-o html writes one self-contained page; -o openmetrics a file a Prometheus textfile\n"
    "collector or Pushgateway takes. On a terminal, progress shows on stderr."
)
EXAMPLES = (
    "promoter history qontract-reconcile --since 2026-01-01",
    "promoter history qontract-reconcile -o html --out report.html",
    "promoter history --all --since 2026-01-01 -o openmetrics --out /var/lib/node_exporter/promoter.prom",
)
CODES = (
    "0    shown (or written to --out)",
    USAGE + "an unknown component or environment, a bad --since, --until or --failure-window",
    "3    refused: --out cannot be written",
    EXTERNAL,
)
OFFLINE = "do not read the upstream: no lead times, commits behind or rollbacks"
FORMATS = ("table", "json", "html", "openmetrics")


def arguments(p: Any) -> None:
    p.add_argument("component", metavar="COMPONENT", nargs="?", help="the component (default: every one, as --all)")
    p.add_argument("--all", action="store_true", help="every component: DORA's measures, one row per environment")
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
    p.add_argument(
        "--since", metavar="DATE", help="only changes committed on or after this ISO date (default: all history)"
    )
    p.add_argument("--until", metavar="DATE", help="only changes committed up to this ISO date (default: all history)")
    p.add_argument(
        "--failure-window",
        metavar="DURATION",
        default="7d",
        help="a promotion backed out (rollback or revert) within this long failed (default: 7d)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=FORMATS,
        default="table",
        help="table, json, html or openmetrics (default: table)",
    )
    p.add_argument("--out", metavar="FILE", help="write to FILE, atomically (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from promoter import durations
    from promoter.insight import history

    to = args.out
    if args.legacy_out is not None:
        if to is not None:
            raise UsageError(f"give the file once: --out {to} (not also {args.legacy_out})")
        to = args.legacy_out
        err(f"promoter: note: '-o {args.output} FILE' is deprecated; write '-o {args.output} --out {to}'")
    since = history.parse_since(args.since) if args.since else None
    until = history.parse_since(args.until, "--until") if args.until else None
    if since is not None and until is not None and until < since:
        raise UsageError(f"--until {args.until} is before --since {args.since}")
    try:
        window = durations.parse(args.failure_window)
    except ValueError as exc:
        raise UsageError(f"--failure-window: {exc}") from None
    if args.all and args.component:
        raise UsageError(f"give a COMPONENT or --all, not both (--all with {args.component})")
    opened = repo(args)
    if args.component is None:
        return _fleet(args, opened, since, until, window, to)
    from promoter.insight import dora
    from promoter.pipeline import core
    from promoter.render import dora as dora_report
    from promoter.render import history as report

    comp = core.component(opened.config, args.component)
    targets = core.select(comp, envs=args.env)
    h = _build(args, opened, comp, targets, since, until)
    measures = dora.measure(h, window)
    if args.output == "json":
        text = report.history_json(h, measures)
    elif args.output == "html":
        text = report.history_html(h, measures, _config_web(opened))
    elif args.output == "openmetrics":
        text = dora_report.dora_openmetrics(measures)
    else:
        from promoter.render.table import terminal_width

        text = report.history_text(h, verbose=args.verbose, width=None if to else terminal_width())
        if measures:
            text += "DORA:\n" + "\n".join(dora_report.dora_lines(measures, component=False)) + "\n"
    _emit(to, text, f"{len(h.changes)} change{'' if len(h.changes) == 1 else 's'} of {comp.name}")
    return 0


def _build(
    args: argparse.Namespace, opened: Repo, comp: Component, targets: Any, since: Any, until: Any, label: str = ""
) -> History:
    from promoter.insight import history

    show = None
    if LINE.enabled:
        show = (lambda text: LINE.show(f"{label}{text}")) if label else LINE.show
    try:  # how far it got, on a terminal (LINE)
        up = None if args.offline else upstream(comp)
        return history.build(opened.root, comp, targets, up, since, show, until=until, landings=True)
    finally:
        LINE.clear()


def _fleet(args: argparse.Namespace, opened: Repo, since: Any, until: Any, window: int, to: str | None) -> int:
    """DORA's measures for every component and environment."""
    from promoter.insight import dora
    from promoter.render import dora as dora_report

    comps = list(opened.config.components.values())
    known = {t.environment for c in comps for t in c.targets}
    for e in args.env:
        if e not in known:
            from promoter.text import did_you_mean

            raise UsageError(f"unknown environment '{e}'{did_you_mean(e, known)}; valid: {', '.join(sorted(known))}")
    rows: list[Measures] = []
    errors: list[tuple[str, str]] = []
    for i, comp in enumerate(comps):
        targets = [t for t in comp.targets if not args.env or t.environment in args.env]
        if not targets:
            continue
        h = _build(args, opened, comp, targets, since, until, f"{comp.name} ({i + 1}/{len(comps)}): ")
        if h.upstream_error:
            errors.append((comp.name, f"upstream not read: {h.upstream_error}"))
        rows += dora.measure(h, window)
    if args.output == "json":
        text = dora_report.dora_json(rows, errors)
    elif args.output == "html":
        from promoter.policy.clock import now

        text = dora_report.fleet_html(rows, errors, now())
    elif args.output == "openmetrics":
        text = dora_report.dora_openmetrics(rows)
    else:
        text = dora_report.dora_text(rows, errors)
    _emit(to, text, f"{len(rows)} row{'' if len(rows) == 1 else 's'} of DORA measures")
    return 0


def _emit(to: str | None, text: str, what: str) -> None:
    if to is not None:
        write_out(to, text)
        out(f"wrote {to}: {what}\n")
    else:
        out(text)


def _config_web(opened: Repo) -> str | None:
    """The config repository's web page (its origin on GitHub or GitLab), for links to its commits."""
    from promoter.upstream.changelog import web_url
    from promoter.upstream.git import Git

    url = Git(opened.root).run("remote", "get-url", "origin", check=False).stdout.strip()
    return web_url(url) if url else None
