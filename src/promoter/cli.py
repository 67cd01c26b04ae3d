"""Command line: parse arguments, call the core, render; errors become exit codes here only.

Exit codes: 0 ok; 1 unexpected error; 2 usage or config error; 3 refused (a check failed,
nothing written); 4 external failure (git, network); 130 interrupted.
`plan --detailed-exitcode`: 0 no change, 5 changes pending.
"""

from __future__ import annotations

import argparse
import os
import sys

from promoter import __version__
from promoter.errors import PromoterError, UsageError

# `promoter --version` and `--help` should feel instant: typing, pathlib and argparse's help
# formatter (shutil, textwrap) are left out of them
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from promoter.model import Component
    from promoter.pipeline.core import Repo
    from promoter.ship.holding import Changed
    from promoter.ship.session import Options, Prepared
    from promoter.upstream.mirror import Upstream


CHANGES_PENDING = 5  # `plan --detailed-exitcode`: apart from every error code


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


class _Version(argparse.Action):
    """--version without argparse's help formatter."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        sys.stdout.write(f"promoter {__version__}\n")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _global_options(p: argparse.ArgumentParser, top: bool) -> None:
    d: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument(
        "-C",
        "--repo",
        type=_path,
        metavar="PATH",
        help="the config repository (default: the git top-level of the working directory)",
        **d,
    )
    p.add_argument("--config", type=_path, metavar="FILE", help="the config file (default: <repo>/promotion.yaml)", **d)
    p.add_argument(
        "--offline", action="store_true", help="no network and no upstream access; REV must be a full sha", **d
    )
    p.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks for unexpected errors", **d)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promoter",
        description="Promote a component's new version across every place a GitOps config repository pins it.",
        epilog="exit codes: 0 ok, 1 unexpected error, 2 usage or config error, "
        "3 refused (nothing written), 4 git or network failure, 130 interrupted",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    _global_options(parser, top=True)
    # prog given: argparse would build a help formatter (importing shutil) to work it out
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, prog=parser.prog)

    st = sub.add_parser("status", help="where every target of the components stands")
    st.add_argument("components", nargs="*", metavar="COMPONENT")
    st.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
    st.add_argument("-o", "--output", choices=("table", "wide", "json"), default="table")

    rev_help = "sha, unique sha prefix (7+), branch or tag (default: head of the branch)"
    pl = sub.add_parser("plan", help="show what a promotion would change; writes nothing")
    pl.add_argument("component", metavar="COMPONENT")
    pl.add_argument("rev", nargs="?", metavar="REV", help=rev_help)
    pr = sub.add_parser(
        "promote",
        help="apply a promotion",
        description="promote COMPONENT [REV], or several components (each after those it depends on)",
    )
    pr.add_argument("names", nargs="*", metavar="COMPONENT [REV] | COMPONENT...")
    pr.add_argument("--all", action="store_true", help="every component, in dependency order")
    for p in (pl, pr):
        p.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
        p.add_argument("--target", action="append", default=[], metavar="T", help="only this target (repeatable)")
        p.add_argument("--allow-downgrade", action="store_true", help="allow a candidate older than what runs")
        p.add_argument("--allow-unmerged", action="store_true", help="allow a candidate that is not on the branch")
        p.add_argument("--ignore-deps", action="store_true", help="skip the depends_on check")
        p.add_argument("--wait", metavar="DURATION", help="poll the registry this long for a missing image (10m)")
        p.add_argument("--from-env", metavar="E", help="promote the version environment E runs (instead of REV)")
        for rule in ("soak", "window", "hold", "verify"):
            p.add_argument(f"--ignore-{rule}", action="store_true", help=f"promote even though the {rule} rule refuses")
    pl.add_argument("-o", "--output", choices=("diff", "json"), default="diff")
    pl.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 0 when nothing would change, 5 when something would"
    )
    pr.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    pr.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    pr.add_argument("--allow-dirty", action="store_true", help="write files that have uncommitted changes")
    pr.add_argument("--commit", action="store_true", help="commit the written files on a new branch")
    pr.add_argument(
        "--push", nargs="?", const="origin", metavar="REMOTE", help="commit, push the branch, open its merge request"
    )

    cl = sub.add_parser("changelog", help="the commits a promotion brings, and their authors")
    cl.add_argument("component", metavar="COMPONENT")
    cl.add_argument("rev", nargs="?", metavar="REV", help=rev_help)
    cl.add_argument("--from", dest="from_rev", metavar="REV", help="start here (default: the oldest deployed)")
    cl.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
    cl.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text")

    dis = sub.add_parser("discover", help="find pins of the components that no target covers")
    dis.add_argument("components", nargs="*", metavar="COMPONENT")
    dis.add_argument("--any-sha", action="store_true", help="also report any 40-hex value that is an upstream commit")
    dis.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    chk = sub.add_parser("check", help="lint the repo: targets locate, environments agree, no uncovered pins")
    chk.add_argument("-o", "--output", choices=("text", "json"), default="text")
    chk.add_argument(
        "--base",
        metavar="REV",
        help="also judge every pin changed since REV by the promotion policy (for CI on merge requests)",
    )

    hi = sub.add_parser("history", help="every change of a component's pinned values in the config repo's history")
    hi.add_argument("component", metavar="COMPONENT")
    hi.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
    hi.add_argument("--since", metavar="DATE", help="only changes committed on or after this ISO date")
    hi.add_argument("-o", "--output", choices=("table", "json", "html"), default="table", help="(default: table)")
    hi.add_argument("--out", metavar="FILE", help="write the output to FILE instead of standard output")

    ho = sub.add_parser("hold", help="hold environments of a component: nothing promotes them until released")
    re_ = sub.add_parser("release", help="release a component's holds")
    rb = sub.add_parser(
        "rollback", help="promote environments back to what they ran before (or to --to REV) and hold them"
    )
    for p in (ho, re_, rb):
        p.add_argument("component", metavar="COMPONENT")
        p.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
        p.add_argument("--commit", action="store_true", help="commit the change on a new branch")
        p.add_argument(
            "--push",
            nargs="?",
            const="origin",
            metavar="REMOTE",
            help="commit, push the branch, open its merge request",
        )
    for p in (ho, rb):
        p.add_argument("--reason", required=True, metavar="TEXT", help="why (shown to whoever meets the hold)")
    ho.add_argument("--until", metavar="TIME", help="the hold ends by itself then (ISO 8601, e.g. 2026-12-24T08:00Z)")
    rb.add_argument("--to", metavar="REV", help="the version to go back to (default: what ran before)")

    demo = sub.add_parser("demo", help="build a self-contained example and run status, plan and promote on it")
    demo.add_argument("dir", nargs="?", type=_path, metavar="DIR", help="where to build it (default: a new temp dir)")
    for p in sub.choices.values():
        _global_options(p, top=False)
    return parser


def _out(text: str) -> None:
    from promoter.text import printable

    sys.stdout.write(printable(text))
    sys.stdout.flush()


def _err(text: str) -> None:
    from promoter.text import printable

    sys.stderr.write(printable(text if text.endswith("\n") else text + "\n"))


def _repo(args: argparse.Namespace) -> Repo:
    from promoter.pipeline.core import open_repo

    repo = open_repo(args.repo, args.config)
    _recovered(repo)
    return repo


def _recovered(repo: Repo) -> None:
    """Say what rolling back a killed promotion did (once)."""
    from promoter.render.plan import recovery_text

    if repo.recovery is not None:
        _err(recovery_text(repo.recovery))
        repo.recovery = None


def _upstream(comp: Component) -> Upstream:
    from promoter.upstream.mirror import Upstream

    return Upstream(comp)


def cmd_status(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import status as render
    from promoter.render.table import terminal_width

    repo = _repo(args)
    names = args.components or list(repo.config.components)
    comps = [core.component(repo.config, n) for n in names]
    all_envs = {t.environment for c in comps for t in c.targets}
    for e in args.env:
        if e not in all_envs:
            raise UsageError(f"unknown environment '{e}'; valid: {', '.join(sorted(all_envs))}")
    statuses = []
    decisions = {}
    session = None
    if not args.offline:
        from promoter.ship.session import Session

        session = Session(repo, _options(args))
    for comp in comps:
        targets = [t for t in comp.targets if not args.env or t.environment in args.env]
        if not targets:
            continue
        statuses.append(core.status(repo, comp, targets, None if session is None else session.upstream(comp)))
        if session is not None and statuses[-1].head is not None:
            from promoter.ship.decisions import decide

            envs = {t.environment for t in targets}
            decisions[comp.name] = [d for d in decide(session, comp) if d.environment in envs]
    if args.output == "json":
        _out(render.status_json(statuses, decisions))
    else:
        _out(render.status_text(statuses, decisions, None if args.output == "wide" else terminal_width()))
    return 0


def _options(args: argparse.Namespace) -> Options:
    from promoter.ship.session import Options

    wait = getattr(args, "wait", None)
    return Options(
        offline=args.offline,
        envs=tuple(getattr(args, "env", ())),
        targets=tuple(getattr(args, "target", ())),
        allow_downgrade=getattr(args, "allow_downgrade", False),
        allow_unmerged=getattr(args, "allow_unmerged", False),
        ignore_deps=getattr(args, "ignore_deps", False),
        wait=_seconds(wait) if wait else None,
        from_env=getattr(args, "from_env", None),
        ignore_soak=getattr(args, "ignore_soak", False),
        ignore_window=getattr(args, "ignore_window", False),
        ignore_hold=getattr(args, "ignore_hold", False),
        ignore_verify=getattr(args, "ignore_verify", False),
    )


def _seconds(text: str) -> float:
    from promoter import durations

    try:
        return float(durations.parse(text))
    except ValueError as exc:
        raise UsageError(f"--wait: {exc}") from None


def _notes(prepared: Prepared) -> None:
    for n in prepared.notes:
        _err(f"note: {n}")
    for w in prepared.plan.warnings:
        _err(f"warning: {w}")


def cmd_plan(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import plan as render
    from promoter.ship.session import Session

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    prepared = Session(repo, _options(args)).prepare(comp, args.rev)
    _notes(prepared)
    p = prepared.plan
    if args.verbose:
        _err(f"{comp.name}: {args.rev or 'the branch head'} is {p.sha}")
    if args.output == "json":
        _out(render.plan_json(p))
    else:
        _out(render.plan_text(p))
        if p.empty:
            _out(f"{comp.name}: every selected target is already at {comp.short(p.sha)}; nothing to change\n")
    return CHANGES_PENDING if args.detailed_exitcode and not p.empty else 0


def _confirm(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _components_and_rev(args: argparse.Namespace, repo: Repo) -> tuple[list[str], str | None]:
    """`promote A B ...` names components; `promote A REV` one component and its revision."""
    from promoter.pipeline import core

    known = repo.config.components
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
        core.component(repo.config, others[0])  # raises: unknown component, with the valid ones
    return names, None


def cmd_promote(args: argparse.Namespace) -> int:
    from promoter.render import plan as render
    from promoter.ship.session import Promoted, Session

    repo = _repo(args)
    names, rev = _components_and_rev(args, repo)

    from promoter.text import plural

    def review(prepared: Prepared) -> bool:
        _notes(prepared)
        p = prepared.plan
        if args.verbose:
            _err(f"{p.component.name}: {rev or 'the branch head'} is {p.sha}")
        if p.empty:
            return True
        _out(render.plan_text(p))
        if args.dry_run or args.yes or not sys.stdin.isatty():
            return True
        return _confirm(f"Write {plural(len(p.changes), 'file')}?")

    def done(result: Promoted) -> None:
        if result.recovery is not None:
            _err(render.recovery_text(result.recovery))
        _out(render.promoted_text(result))
        for n in result.shipped.notes if result.shipped else ():
            _err(f"note: {n}")

    results = Session(repo, _options(args)).promote_many(
        names,
        rev,
        dry_run=args.dry_run,
        allow_dirty=args.allow_dirty,
        commit=args.commit,
        push_to=args.push,
        review=review,
        done=done,
    )
    return 3 if results and results[-1].state == "declined" else 0


def cmd_changelog(args: argparse.Namespace) -> int:
    import json

    from promoter.pipeline import core
    from promoter.render.changelog import changelog_json, changelog_text
    from promoter.ship.describe import changelog_markdown
    from promoter.ship.session import Session

    if args.offline:
        raise UsageError("changelog reads the upstream's history; it does not work with --offline")
    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    session = Session(repo, _options(args))
    up = session.upstream(comp)
    sha = up.resolve(args.rev)
    base = up.resolve(args.from_rev) if args.from_rev else None
    scans = core.scan(repo, comp, session.targets(comp))
    log = session.changelog(comp, sha, scans, base)
    if log is None:
        raise UsageError(f"{comp.name}: no deployed commit of the upstream found; give --from REV")
    if args.output == "json":
        _out(json.dumps(changelog_json(log), indent=2) + "\n")
    elif args.output == "markdown":
        _out(changelog_markdown(log, comp.short_length))
    else:
        _out(changelog_text(log, comp.short_length))
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from promoter.insight.discover import discover
    from promoter.pipeline import core
    from promoter.render import discover as render_discover

    if args.any_sha and args.offline:
        raise UsageError("--any-sha asks the upstream which values are commits; it does not work with --offline")
    repo = _repo(args)
    names = args.components or list(repo.config.components)
    comps = [core.component(repo.config, n) for n in names]
    found = discover(repo, comps, any_sha=args.any_sha, upstream_of=_upstream)
    render = {"json": render_discover.discovery_json, "yaml": render_discover.discovery_yaml}
    _out(render.get(args.output, render_discover.discovery_text)(found))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from promoter.insight.lint import lint
    from promoter.render import discover as render_discover

    repo = _repo(args)
    problems = lint(repo, list(repo.config.components.values()))
    if args.base is not None:
        from promoter.policy.audit import audit
        from promoter.ship.session import Session
        from promoter.upstream.revs import validate_rev

        validate_rev(args.base)
        problems += audit(repo, args.base, Session(repo, _options(args)).policy)
    _out(render_discover.check_json(problems) if args.output == "json" else render_discover.check_text(problems))
    return 3 if problems else 0


def cmd_history(args: argparse.Namespace) -> int:
    from promoter.insight import history
    from promoter.pipeline import core
    from promoter.render import history as report

    out = args.out
    if args.legacy_out is not None:
        if out is not None:
            raise UsageError(f"give the file once: --out {out} (not also {args.legacy_out})")
        out = args.legacy_out
        _err(f"promoter: note: '-o {args.output} FILE' is deprecated; write '-o {args.output} --out {out}'")
    since = history.parse_since(args.since) if args.since else None
    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    targets = core.select(comp, envs=args.env)
    shown = False

    def progress(line: str) -> None:  # one line on the terminal, rewritten in place
        nonlocal shown
        shown = True
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()

    on_terminal = sys.stderr.isatty() and args.output != "json"
    try:
        upstream = None if args.offline else _upstream(comp)
        h = history.build(repo.root, comp, targets, upstream, since, progress if on_terminal else None)
    finally:
        if shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
    if args.output == "json":
        text = report.history_json(h)
    elif args.output == "html":
        text = report.history_html(h)
    else:
        text = report.history_text(h, verbose=args.verbose)
    if out is not None:
        from promoter.pipeline.apply import write_file
        from promoter.text import printable

        write_file(_path(out), printable(text).encode("utf-8"))
        _out(f"wrote {out}: {len(h.changes)} change(s) of {comp.name}\n")
    else:
        _out(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from promoter import demo

    return demo.run(args.dir, _out, main)


def _changed(result: Changed) -> None:
    _out(f"{result.subject}: wrote {', '.join(result.files)}\n")
    shipped = result.shipped
    if shipped is not None:
        _out(f"committed {shipped.commit.sha[:12]} on {shipped.commit.branch}: {shipped.commit.subject}\n")
        for n in shipped.notes:
            _err(f"note: {n}")
        if shipped.remote:
            _out(f"pushed {shipped.commit.branch} to {shipped.remote}\n")
        if shipped.merge_request:
            verb = "opened" if shipped.merge_request.created else "updated"
            _out(f"{verb} merge request {shipped.merge_request.url}\n")


def _until(text: str | None) -> datetime | None:
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until takes an ISO 8601 time such as 2026-12-24T08:00:00+01:00, not '{text}'") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_hold(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.ship import holding
    from promoter.ship.session import Session

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    session = Session(repo, _options(args))
    until = _until(args.until)
    _changed(holding.hold(session, comp, tuple(args.env), args.reason, until, commit=args.commit, push_to=args.push))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.ship import holding
    from promoter.ship.session import Session

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    session = Session(repo, _options(args))
    _changed(holding.release(session, comp, tuple(args.env), commit=args.commit, push_to=args.push))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from promoter.pipeline import core
    from promoter.render import plan as render
    from promoter.ship import holding
    from promoter.ship.session import Session

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    session = Session(repo, _options(args))
    result = holding.rollback(
        session, comp, tuple(args.env), args.to, args.reason, commit=args.commit, push_to=args.push
    )
    if result.prepared is not None:
        _notes(result.prepared)
        _out(render.plan_text(result.prepared.plan))
    _changed(result)
    return 0


COMMANDS = {
    "hold": cmd_hold,
    "release": cmd_release,
    "rollback": cmd_rollback,
    "discover": cmd_discover,
    "check": cmd_check,
    "status": cmd_status,
    "plan": cmd_plan,
    "promote": cmd_promote,
    "changelog": cmd_changelog,
    "history": cmd_history,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    verbose = False
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:  # without building every parser
        sys.stdout.write(f"promoter {__version__}\n")
        return 0
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        args.legacy_out = None
        if extra and args.command == "history" and len(extra) == 1 and not extra[0].startswith("-"):
            args.legacy_out = extra[0]  # `history C -o html FILE`, the form before --out (deprecated)
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        verbose = bool(getattr(args, "verbose", False))
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except PromoterError as exc:
        _err(f"promoter: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        newline = "\n" if sys.stderr.isatty() else ""  # the terminal's ^C left the cursor mid-line
        _err(newline + (f"promoter: interrupted; {exc}" if exc.args else "promoter: interrupted"))
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        import traceback

        from promoter.urls import redact

        if verbose:
            _err(redact(traceback.format_exc()))

        _err(f"promoter: unexpected error: {redact(repr(exc))} (run with -v for details)")
        return 1
