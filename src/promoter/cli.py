"""Command line: parse arguments, call the core, render; errors become exit codes here only.

Exit codes: 0 ok; 1 unexpected error; 2 usage or config error; 3 refused (a check failed,
nothing written); 4 external failure (git, network); 130 interrupted.
`plan --detailed-exitcode`: 0 no change, 2 changes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promoter import __version__
from promoter.errors import PromoterError, UsageError

if TYPE_CHECKING:
    from promoter.core import Repo
    from promoter.model import Component
    from promoter.upstream import Upstream


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _global_options(p: argparse.ArgumentParser, top: bool) -> None:
    d: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument(
        "-C",
        "--repo",
        type=Path,
        metavar="PATH",
        help="the config repository (default: the git top-level of the working directory)",
        **d,
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="the config file (default: <repo>/promotion.yaml)", **d)
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
    parser.add_argument("--version", action="version", version=f"promoter {__version__}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    st = sub.add_parser("status", help="where every target of the components stands")
    st.add_argument("components", nargs="*", metavar="COMPONENT")
    st.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
    st.add_argument("-o", "--output", choices=("table", "json"), default="table")

    for name, helptext in (
        ("plan", "show what a promotion would change; writes nothing"),
        ("promote", "apply a promotion"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("component", metavar="COMPONENT")
        p.add_argument(
            "rev",
            nargs="?",
            metavar="REV",
            help="sha, unique sha prefix (7+), branch or tag (default: head of the branch)",
        )
        p.add_argument("--env", action="append", default=[], metavar="E", help="only this environment (repeatable)")
        p.add_argument("--target", action="append", default=[], metavar="T", help="only this target (repeatable)")
        if name == "plan":
            p.add_argument("-o", "--output", choices=("diff", "json"), default="diff")
            p.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 0 when nothing would change, 2 when something would",
            )
        else:
            p.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
            p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
            p.add_argument("--allow-dirty", action="store_true", help="write files that have uncommitted changes")

    demo = sub.add_parser("demo", help="build a self-contained example and run status, plan and promote on it")
    demo.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="where to build it (default: a new temp dir)")
    for p in sub.choices.values():
        _global_options(p, top=False)
    return parser


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _repo(args: argparse.Namespace) -> Repo:
    from promoter.core import open_repo

    repo = open_repo(args.repo, args.config)
    if repo.recovered:
        _err(f"promoter: rolled back an interrupted promotion: restored {', '.join(repo.recovered)}")
    return repo


def _upstream(comp: Component) -> Upstream:
    from promoter.upstream import Upstream

    return Upstream(comp)


def cmd_status(args: argparse.Namespace) -> int:
    from promoter import core, render

    repo = _repo(args)
    names = args.components or list(repo.config.components)
    comps = [core.component(repo.config, n) for n in names]
    all_envs = {t.environment for c in comps for t in c.targets}
    for e in args.env:
        if e not in all_envs:
            raise UsageError(f"unknown environment '{e}'; valid: {', '.join(sorted(all_envs))}")
    statuses = []
    for comp in comps:
        targets = [t for t in comp.targets if not args.env or t.environment in args.env]
        if targets:
            statuses.append(core.status(repo, comp, targets, None if args.offline else _upstream(comp)))
    _out(render.status_json(statuses) if args.output == "json" else render.status_text(statuses))
    return 0


def _resolve(args: argparse.Namespace, comp: Component) -> str:
    from promoter.upstream import FULL_SHA, check_rev

    if args.rev is not None:
        check_rev(args.rev)
    if args.offline:
        if args.rev is None or not FULL_SHA.fullmatch(args.rev):
            raise UsageError("with --offline, give REV as a full 40-character commit sha")
        return str(args.rev)
    sha = _upstream(comp).resolve(args.rev)
    if args.verbose:
        _err(f"{comp.name}: {args.rev or 'the branch head'} is {sha}")
    return sha


def cmd_plan(args: argparse.Namespace) -> int:
    from promoter import core, render

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    targets = core.select(comp, args.env, args.target)
    p = core.plan(repo, comp, _resolve(args, comp), targets)
    for w in p.warnings:
        _err(f"warning: {w}")
    if args.output == "json":
        _out(render.plan_json(p))
    else:
        _out(render.plan_text(p))
        if p.empty:
            _out(f"{comp.name}: every selected target is already at {p.sha[: comp.short_length]}; nothing to change\n")
    return 2 if args.detailed_exitcode and not p.empty else 0


def _confirm(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_promote(args: argparse.Namespace) -> int:
    from promoter import core, render

    repo = _repo(args)
    comp = core.component(repo.config, args.component)
    targets = core.select(comp, args.env, args.target)
    sha = _resolve(args, comp)
    p = core.plan(repo, comp, sha, targets)
    for w in p.warnings:
        _err(f"warning: {w}")
    new = sha[: comp.short_length]
    if p.empty:
        _out(f"{comp.name}: every selected target is already at {new}; nothing to change\n")
        return 0
    _out(render.plan_text(p))
    if args.dry_run:
        _out("dry run: nothing written\n")
        return 0
    if not args.yes and sys.stdin.isatty() and not _confirm(f"Write {len(p.changes)} file(s)?"):
        _out("nothing written\n")
        return 3
    files = core.apply_plan(repo, p, allow_dirty=args.allow_dirty)
    _out(f"promoted {comp.name} to {new} in {len(files)} file(s)\n")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from promoter import demo

    return demo.run(args.dir, _out)


COMMANDS = {"status": cmd_status, "plan": cmd_plan, "promote": cmd_promote, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    verbose = False
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        verbose = bool(getattr(args, "verbose", False))
        if args.command is None:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except PromoterError as exc:
        _err(f"promoter: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("promoter: interrupted")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        import traceback

        from promoter.git import redact

        if verbose:
            _err(redact(traceback.format_exc()))

        _err(f"promoter: unexpected error: {redact(repr(exc))} (run with -v for details)")
        return 1
