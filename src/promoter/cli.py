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
from promoter.errors import PromoterError, Refused, UsageError

# `promoter --version` and `--help` should feel instant: typing, pathlib and argparse's help
# formatter (shutil, textwrap) are left out of them
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
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


def _help_columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` finds it (COLUMNS, then stdout, else 80)
    without importing shutil: argparse builds a help formatter for every `add_argument`."""
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else 80  # a new pseudo-terminal says 0


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width found without shutil."""

    def __init__(self, prog: str, indent: int = 2, help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent, help_position, _help_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    examples: tuple[str, ...] = ()  # shown after the arguments, as written
    codes: tuple[str, ...] = ()  # "N  meaning": the exit codes the command can give

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def format_help(self) -> str:
        """argparse's help, then the examples and the exit codes (wrapped to the terminal)."""
        text = super().format_help()
        if not self.examples and not self.codes:
            return text
        import textwrap  # as argparse's formatter does (it imported it already)

        width = max(min(_help_columns() - 2, 100), 40)
        out = [text.rstrip("\n"), "", "examples:", *(f"  {e}" for e in self.examples), "", "exit codes:"]
        for code in sorted(self.codes, key=lambda c: int(c.split()[0])):
            number, _, meaning = code.partition(" ")
            out += textwrap.wrap(meaning.strip(), width, initial_indent=f"  {number:<5}", subsequent_indent=" " * 7)
        return "\n".join(out) + "\n"

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """An unknown choice says which one was meant: `promoter statsu`, `-o jsn`."""
        if action.choices is None or value in action.choices:
            return
        from promoter.text import did_you_mean

        hint = did_you_mean(value, action.choices)
        if action.dest == "command":
            raise argparse.ArgumentError(None, f"unknown command '{value}'{hint}")
        listed = ", ".join(map(str, action.choices))
        raise argparse.ArgumentError(action, f"invalid choice: '{value}'{hint}; choose from {listed}")


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name."""
    return next(a for a in parser._actions if a.dest == "command").choices or {}  # type: ignore[return-value]


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> None:
    """Refuse arguments no option takes, with the option each was probably meant to be."""
    from promoter.text import did_you_mean

    p = _commands(parser).get(command, parser) if command else parser
    options = [o for a in p._actions for o in a.option_strings if o.startswith("--")]
    # options look alike ('--repo', '--reason'): only a near miss is suggested ('--evn', '--ofline')
    words = [w + (did_you_mean(w.partition("=")[0], options, 0.75) if w.startswith("--") else "") for w in extra]
    p.error(f"unrecognized arguments: {' '.join(words)}")


# global options as each command takes them: --offline only where it changes something, in that
# command's words; the commands missing here do not offer it
_OFFLINE = {
    "status": "do not read the upstream: no branch head, no commits behind, no next step",
    "plan": "do not read the upstream or the registry: REV must be a full 40-hex sha; the merged, "
    "downgrade, dependency and image checks are skipped (a note says so)",
    "history": "do not read the upstream: no lead times, commits behind or rollbacks",
    "check": "with --base: judge without the upstream (holds, windows and blocked versions only)",
    "rollback": "do not read the upstream: what ran before comes from the config repository alone; "
    "--to must be a full 40-hex sha",
}
_OFFLINE["promote"] = _OFFLINE["plan"]
_NO_OFFLINE = {"changelog", "discover", "hold", "release", "init", "demo", "help"}
_NO_REPO = {"demo", "help"}  # they make their own repository, or need none

# the end of every command's exit codes
_LAST_CODES = ("1    unexpected error (a bug: run with -v and report it)", "130  interrupted (Ctrl-C)")


def _global_options(
    p: argparse.ArgumentParser | _Later, top: bool, offline: str | None = None, repo: bool = True, short: bool = False
) -> None:
    """-C/--repo, --config, --offline (with `offline`, its help) and -v: on the top parser for every
    command, and on each command that takes them (given before or after it, they mean the same).
    `short`: -C alone (init's --repo is the component's)."""
    d: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    g = p.add_argument_group("global options" if top else "global options (also before the command)")
    if repo:
        g.add_argument(
            *(("-C",) if short else ("-C", "--repo")),
            dest="repo",
            type=_path,
            metavar="PATH",
            help="the config repository (default: the git top-level of the working directory)",
            **d,
        )
        g.add_argument(
            "--config", type=_path, metavar="FILE", help="the config file (default: <repo>/promotion.yaml)", **d
        )
    if offline is not None:
        g.add_argument("--offline", action="store_true", help=offline, **d)
    g.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks for unexpected errors", **d)


class _Later:
    """A command's parser as `build_parser` describes it, made only when it is first asked for
    (`_Commands`): the calls are recorded here and replayed on the real parser. A run uses one
    command; making all fourteen parsers (argparse and gettext work for each) cost a twentieth
    of `promote`'s start-up. Groups are recorded the same way."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any], _Later | None]] = []

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("add_argument", args, kwargs, None))

    def add_argument_group(self, *args: Any, **kwargs: Any) -> _Later:
        group = _Later()
        self.calls.append(("add_argument_group", args, kwargs, group))
        return group

    def replay(self, target: Any) -> None:
        for name, args, kwargs, group in self.calls:
            made = getattr(target, name)(*args, **kwargs)
            if group is not None:
                group.replay(made)


class _Command(_Later):
    def __init__(
        self, sub: Any, name: str, description: str, examples: tuple[str, ...], codes: tuple[str, ...]
    ) -> None:
        super().__init__()
        self.sub, self.name, self.description, self.examples, self.codes = sub, name, description, examples, codes

    def make(self) -> _Parser:
        # as argparse's add_parser makes it (listed already: `_command`)
        p = _Parser(prog=f"{self.sub._prog_prefix} {self.name}", description=self.description)
        p.examples, p.codes = self.examples, self.codes
        self.replay(p)
        return p


class _Commands(dict[str, "Any"]):
    """The commands' parsers by name (argparse's subparsers map), each made on first use."""

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, _Command):
            value = value.make()
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default  # noqa: SIM401 - self.get is this method

    def items(self) -> Any:
        return [(name, self[name]) for name in self]

    def values(self) -> Any:
        return [self[name] for name in self]

    def pending(self) -> list[tuple[str, _Command]]:
        return [(k, v) for k, v in super().items() if isinstance(v, _Command)]


def _command(
    sub: Any,
    name: str,
    summary: str,
    description: str,
    examples: tuple[str, ...],
    codes: tuple[str, ...],
    last_codes: tuple[str, ...] = _LAST_CODES,
) -> _Command:
    """A command's parser whose help says what it does, then (after its arguments) two or three
    examples and the exit codes it can give; listed now, made when first used (`_Command`)."""
    sub._choices_actions.append(sub._ChoicesPseudoAction(name, (), summary))  # as add_parser(help=) lists it
    later = _Command(sub, name, description, examples, (*codes, *last_codes))
    dict.__setitem__(sub.choices, name, later)
    return later


_ENV = "only this environment (repeatable; default: every one)"
_REV = "a full sha, a unique sha prefix (7+ hex digits), a branch or a tag of the upstream (default: the newest"
_REV_PLAN = f"{_REV} commit of the branch that passes every rule)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promoter",
        description="Promote a component's new version across every place a GitOps config repository "
        "pins it, exactly: only the version's characters change, in every file or in none. Global "
        "options work before or after the command; each command's help lists those it takes.",
    )
    parser.examples = (
        "promoter demo              # build an example repository and walk the SOP on it",
        "promoter init --component NAME --repo URL   # a first promotion.yaml",
        "promoter status            # where every environment stands",
        "promoter help promote      # a command's arguments, defaults, examples, exit codes",
    )
    parser.codes = (
        "0 ok",
        "2 usage or config error (bad option, promotion.yaml, unknown name or REV)",
        "3 refused: a check failed; nothing was written",
        "4 git or the network failed",
        "5 plan --detailed-exitcode: changes pending",
        *_LAST_CODES,
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    _global_options(
        parser, top=True, offline="work without the network where a command can (see its help: status, plan, ...)"
    )
    # prog given: argparse would build a help formatter (importing shutil) to work it out
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, prog=parser.prog)
    sub.choices = sub._name_parser_map = _Commands()  # each command's parser made on first use
    usage = "2    usage or config error: "
    external = "4    git or the network failed (the upstream cannot be reached, say)"

    st = _command(
        sub,
        "status",
        "where every environment of the components stands",
        "Per component and environment: the version it runs, how many commits of the upstream\n"
        "branch it lacks, and what promoting it would do next (the policy's decision: promote,\n"
        "held, window closed, soaking...); under it each target with FILE:LINE. The table fits\n"
        "the terminal (paths cut in the middle); colour only on a terminal (not with NO_COLOR).",
        (
            "promoter status",
            "promoter status qontract-reconcile --env production -o wide",
            "promoter status -o json | jq '.components[].environments[].versions'",
        ),
        (
            "0    shown (a target that cannot be read is an ERROR row; an unreachable upstream is said)",
            usage + "an unknown component or environment, an invalid promotion.yaml",
            "3    refused: an interrupted promotion could not be rolled back",
        ),
    )
    st.add_argument("components", nargs="*", metavar="COMPONENT", help="only these components (default: all)")
    st.add_argument("--env", action="append", default=[], metavar="E", help=_ENV)
    st.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "wide", "json", "html"),
        default="table",
        help="table (fits the terminal), wide (nothing cut), json, or html (one page; with --out) (default: table)",
    )
    st.add_argument("--out", metavar="FILE", help="write the output to FILE (atomically) instead of standard output")

    pl = _command(
        sub,
        "plan",
        "show what a promotion would change; writes nothing",
        "What promoting COMPONENT to REV would change: a unified diff of every file and a line per\n"
        "target (old -> new). The candidate is checked first, as promote checks it (not older than\n"
        "what runs, merged, soaked, dependencies first, its image exists, the policy's rules).\n"
        "Nothing is written.",
        (
            "promoter plan qontract-reconcile",
            "promoter plan qontract-reconcile 2f529cf --env integration",
            "promoter plan qontract-reconcile --detailed-exitcode -o json > plan.json",
        ),
        (
            "0    planned (with --detailed-exitcode: nothing would change)",
            usage + "an unknown component, environment, target or REV; an invalid promotion.yaml",
            "3    refused: a check or a rule refuses the candidate (the message says which option lifts it)",
            external,
            "5    --detailed-exitcode only: something would change",
        ),
    )
    pl.add_argument("component", metavar="COMPONENT", help="the component to promote")
    pl.add_argument("rev", nargs="?", metavar="REV", help=_REV_PLAN)
    pr = _command(
        sub,
        "promote",
        "apply a promotion: write the files (and commit, push, open the merge request)",
        "Promote COMPONENT to REV, or several components (each after those it depends on, each\n"
        "from the branch you started on): the same checks and plan as `plan`, then every file\n"
        "written or none. Asks before writing when stdin is a terminal (not with --yes).\n"
        "With --commit, on a new branch you are left on; with --push, also pushed, and its merge\n"
        "request opened (or updated).",
        (
            "promoter promote qontract-reconcile --env integration",
            "promoter promote qontract-reconcile 2f529cf --yes --push",
            "promoter promote --all --commit",
        ),
        (
            "0    promoted (or nothing to change)",
            usage + "an unknown component, environment, target or REV; an invalid promotion.yaml",
            "3    refused: a check or a rule refused, the confirmation was declined, a file is dirty or\n"
            "       the repository locked; nothing was written",
            external + "; or the push failed",
        ),
    )
    pr.add_argument(
        "names",
        nargs="*",
        metavar="COMPONENT [REV] | COMPONENT...",
        help="a component and its REV (as for plan; default: the newest commit that passes every rule), "
        "or several components",
    )
    pr.add_argument("--all", action="store_true", help="every component, in dependency order")
    for p in (pl, pr):
        p.add_argument("--env", action="append", default=[], metavar="E", help=_ENV)
        p.add_argument(
            "--target",
            action="append",
            default=[],
            metavar="T",
            help="only this target (repeatable; default: every one)",
        )
        p.add_argument(
            "--from-env", metavar="E", help="promote the version environment E runs, e.g. integration (default: REV)"
        )
        p.add_argument(
            "--wait",
            metavar="DURATION",
            help="poll the registry this long for a missing image, e.g. 10m (default: do not wait)",
        )
        p.add_argument("--allow-downgrade", action="store_true", help="allow a candidate older than what runs")
        p.add_argument("--allow-unmerged", action="store_true", help="allow a candidate that is not on the branch")
        p.add_argument("--ignore-deps", action="store_true", help="do not wait for the components of depends_on")
        for rule in ("soak", "window", "hold", "verify"):
            p.add_argument(f"--ignore-{rule}", action="store_true", help=f"promote even though the {rule} rule refuses")
    pl.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("diff", "json"),
        default="diff",
        help="a unified diff, or json (default: diff)",
    )
    pl.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 0 when nothing would change, 5 when something would"
    )
    pr.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
    pr.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    pr.add_argument("--allow-dirty", action="store_true", help="write files that have uncommitted changes")
    pr.add_argument(
        "--commit",
        action="store_true",
        help="commit the written files on a new branch (merge_request.branch, default promote/COMPONENT-SHORT)",
    )
    pr.add_argument(
        "--push",
        nargs="?",
        const="origin",
        metavar="REMOTE",
        help="commit, push the branch to REMOTE (default: origin), open its merge request",
    )

    cl = _command(
        sub,
        "changelog",
        "the commits a promotion brings, and their authors",
        "The commits between what the selected environments run (the oldest of them) and the\n"
        "candidate: short sha, date, author, subject; then the authors (co-authors too, bots left\n"
        "out) with their chat handles from `people:`, and a compare link on GitHub and GitLab.",
        (
            "promoter changelog qontract-reconcile",
            "promoter changelog qontract-reconcile --env production -o markdown",
            "promoter changelog qontract-reconcile v1.2 --from v1.1 -o json",
        ),
        (
            "0    shown",
            usage + "an unknown component, environment or REV; nothing deployed is in the upstream",
            external,
        ),
    )
    cl.add_argument("component", metavar="COMPONENT", help="the component")
    cl.add_argument("rev", nargs="?", metavar="REV", help=f"{_REV} commit of the branch)")
    cl.add_argument("--from", dest="from_rev", metavar="REV", help="start here (default: the oldest version deployed)")
    cl.add_argument("--env", action="append", default=[], metavar="E", help=_ENV)
    cl.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("text", "markdown", "json"),
        default="text",
        help="text, markdown (as a merge request shows it) or json (default: text)",
    )

    dis = _command(
        sub,
        "discover",
        "find pins of the components that no target covers",
        "Search every file git tracks for pins of the components that no target covers: the\n"
        "versions they deploy, their image, the keys and variables their targets use, saas files\n"
        "of their repo. Each finding comes with a target to paste under the component's targets:.",
        (
            "promoter discover",
            "promoter discover qontract-reconcile --any-sha",
            "promoter discover -o yaml",
        ),
        (
            "0    searched (also when it found pins)",
            usage + "an unknown component, an invalid promotion.yaml",
            external,
        ),
    )
    dis.add_argument("components", nargs="*", metavar="COMPONENT", help="only these components (default: all)")
    dis.add_argument(
        "--any-sha", action="store_true", help="also report any 40-hex value that is a commit of the upstream"
    )
    dis.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "json", "yaml"),
        default="table",
        help="table, json or yaml (default: table)",
    )
    chk = _command(
        sub,
        "check",
        "lint the config repository (for CI and pre-commit)",
        "Every problem as FILE:LINE: message, with what to do: a target that locates nothing, an\n"
        "environment whose targets run different versions, a pin no target covers (outside\n"
        "ignore:). With --base, also every pin changed since REV judged by the promotion policy.",
        ("promoter check", "promoter check --base origin/master", "promoter check -o json"),
        (
            "0    no problem",
            usage + "an invalid promotion.yaml or holds file, an unknown --base",
            "3    problems found (each one listed)",
            external + " (with --base)",
        ),
    )
    chk.add_argument(
        "--base",
        metavar="REV",
        help="also judge every pin changed since REV (of the config repository) by the promotion policy "
        "(default: the lint alone)",
    )
    chk.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("text", "json"),
        default="text",
        help="text or json (default: text)",
    )

    hi = _command(
        sub,
        "history",
        "every change of a component's pins in the config repository's history",
        "One row per commit that changed the component's pinned values: date, author, old -> new,\n"
        "environments; with the upstream, each promotion's lead time, how far behind it was and\n"
        "whether it was a rollback; promotions per week. -o html writes one self-contained page.\n"
        "On a terminal, progress shows on stderr.",
        (
            "promoter history qontract-reconcile --since 2026-01-01",
            "promoter history qontract-reconcile -o html --out report.html",
            "promoter history qontract-reconcile --env production -o json",
        ),
        (
            "0    shown (or written to --out)",
            usage + "an unknown component or environment, a bad --since",
            "3    refused: --out cannot be written",
            external,
        ),
    )
    hi.add_argument("component", metavar="COMPONENT", help="the component")
    hi.add_argument("--env", action="append", default=[], metavar="E", help=_ENV)
    hi.add_argument(
        "--since", metavar="DATE", help="only changes committed on or after this ISO date (default: all history)"
    )
    hi.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "json", "html"),
        default="table",
        help="table, json or html (default: table)",
    )
    hi.add_argument("--out", metavar="FILE", help="write to FILE, atomically (default: standard output)")

    lasting = "3    refused: the holds file is dirty, or the repository locked; nothing was written"
    ho = _command(
        sub,
        "hold",
        "hold environments of a component: nothing promotes them until released",
        "Write a hold into the holds file (holds: in promotion.yaml, default promotion-holds.yaml):\n"
        "no promotion of these environments goes through (but with --ignore-hold) until release.",
        (
            'promoter hold qontract-reconcile --env production --reason "incident 123"',
            'promoter hold qontract-reconcile --reason "freeze" --until 2026-12-27T08:00Z --push',
        ),
        ("0    held", usage + "an unknown component or environment, a bad --until", lasting, external + " (--push)"),
    )
    re_ = _command(
        sub,
        "release",
        "release a component's holds",
        "Remove the component's holds on these environments from the holds file.",
        ("promoter release qontract-reconcile --env production", "promoter release qontract-reconcile --push"),
        ("0    released", usage + "an unknown component or environment", lasting, external + " (--push)"),
    )
    rb = _command(
        sub,
        "rollback",
        "promote environments back to what they ran before (or to --to REV) and hold them",
        "The way out of an incident: the environments go back to the version they ran before (from\n"
        "the config repository's history) or to --to REV, downgrade allowed, soak, windows and\n"
        "verify skipped; a hold is written in the same write and commit, so nothing promotes them\n"
        "forward again until release.",
        (
            'promoter rollback qontract-reconcile --env production --reason "d6ecb27 breaks logins"',
            'promoter rollback qontract-reconcile --env production --to 4e537ab --reason "..." --push',
        ),
        (
            "0    rolled back and held",
            usage + "an unknown component, environment or REV",
            "3    refused: nothing ran before, a blocked version, a dirty file; nothing was written",
            external,
        ),
    )
    for p in (ho, re_, rb):
        p.add_argument("component", metavar="COMPONENT", help="the component")
        p.add_argument("--env", action="append", default=[], metavar="E", help=_ENV)
        p.add_argument("--commit", action="store_true", help="commit the change on a new branch")
        p.add_argument(
            "--push",
            nargs="?",
            const="origin",
            metavar="REMOTE",
            help="commit, push the branch to REMOTE (default: origin), open its merge request",
        )
    for p in (ho, rb):
        p.add_argument("--reason", required=True, metavar="TEXT", help="why (shown to whoever meets the hold)")
    ho.add_argument(
        "--until",
        metavar="TIME",
        help="the hold ends by itself then (ISO 8601, e.g. 2026-12-24T08:00Z; default: never)",
    )
    rb.add_argument("--to", metavar="REV", help="the version to go back to (default: what ran before)")

    it = _command(
        sub,
        "init",
        "write a first promotion.yaml for a component, with a target for each pin found",
        "Find every pin of the component in the files git tracks, from zero: saas files whose\n"
        "resourceTemplates build from its repo, its image references (with --image), and any value\n"
        "of 40 hex digits or of 7 that is a commit of its upstream. Each gets a target with a\n"
        "name of its own and an environment guessed from where it is (a namespace or directory\n"
        "such as -int, stage, prod; else the directory's name), written to a new promotion.yaml\n"
        "(never over one: promoter discover finds what an existing config misses).",
        (
            "promoter init --component qontract-reconcile --repo https://github.com/app-sre/qontract-reconcile",
            "promoter init --component app --repo https://gitlab.com/org/app --fetch ../app --branch main --print",
        ),
        (
            "0    written (or printed), also when no pin was found (targets: [])",
            usage + "a bad component name or URL",
            "3    refused: the config file exists already",
            "4    the upstream (--fetch, default --repo) cannot be read",
        ),
    )
    it.add_argument("--component", required=True, metavar="NAME", help="the component's name (letters, digits, . _ -)")
    it.add_argument(
        "--repo",
        dest="component_repo",
        required=True,
        metavar="URL",
        help="its canonical repository URL (what saas files' resourceTemplates name)",
    )
    it.add_argument(
        "--fetch",
        metavar="PATH_OR_URL",
        help="where git fetches it from, a URL or a path (default: --repo)",
    )
    it.add_argument("--branch", metavar="B", help="the branch it promotes from (default: the remote's HEAD branch)")
    it.add_argument(
        "--image",
        metavar="IMAGE",
        help="its image, e.g. quay.io/app-sre/app: its references are pins too (default: none)",
    )
    it.add_argument("--print", action="store_true", help="print the config on standard output instead of writing it")

    demo = _command(
        sub,
        "demo",
        "build a self-contained example and walk the promotion SOP on it",
        "Build an upstream repository and an app-interface-like config repository in DIR (no\n"
        "network, no tokens) and run status, plan, promote on it; DIR is left to explore.",
        ("promoter demo", "promoter demo /tmp/demo && cd /tmp/demo/app-interface && promoter status"),
        ("0    done", "2    DIR is not empty", "3    a step was refused (a bug in the demo: report it)"),
    )
    demo.add_argument("dir", nargs="?", type=_path, metavar="DIR", help="where to build it (default: a new temp dir)")
    hp = _command(
        sub,
        "help",
        "show a command's help (or this overview)",
        "The help of COMMAND: its arguments, their defaults, examples and its exit codes.",
        ("promoter help", "promoter help promote"),
        ("0    shown", "2    an unknown command"),
    )
    hp.add_argument("topic", nargs="?", metavar="COMMAND", help="the command (default: the overview)")

    # -- reconcile ------------------------------------------------------------------------------
    rc = _command(
        sub,
        "reconcile",
        "keep every environment promoted under its policy: the loop a scheduled CI job runs",
        "For every component and environment: the newest candidate that passes every gate; "
        "one merge request per component opened, updated, left or closed (with --push).",
        (),
        (),
        last_codes=(),
    )
    rc.add_argument("components", nargs="*", metavar="COMPONENT", help="only these (default: all)")
    rc.add_argument(
        "--push", nargs="?", const="origin", metavar="REMOTE", help="push and open or update the merge requests"
    )
    rc.add_argument("--dry-run", action="store_true", help="decide and show, push nothing (also with --push)")
    rc.add_argument("--max-open", type=int, metavar="N", help="never more than N open promotion merge requests")
    rc.add_argument("--shard", metavar="I/N", help="only shard I of N (dependency chains kept together)")
    rc.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text", help="(default: text)")

    for name, p in sub.choices.pending():
        if name != "help":
            offline = None if name in _NO_OFFLINE else _OFFLINE.get(name, "do not read the upstream")
            _global_options(p, top=False, offline=offline, repo=name not in _NO_REPO, short=name == "init")
    return parser


class _Line:
    """What a long wait waits for (a clone, a fetch, the registry, history's progress), on the
    terminal's stderr: one line rewritten in place, cleared before anything else is written and
    at the end. `enabled` only when stderr is a terminal and the output is not JSON."""

    def __init__(self) -> None:
        self.enabled = False
        self.shown = False

    def show(self, text: str) -> None:
        from promoter.text import one_line

        line = one_line(text)
        try:  # a line longer than the terminal would wrap, and \r could not take it back
            columns = os.get_terminal_size(sys.stderr.fileno()).columns
        except (OSError, ValueError):
            columns = 0  # not known: as it is
        if columns > 1 and len(line) >= columns:
            line = line[: columns - 2] + "…"
        self.shown = True
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.shown:
            self.shown = False
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


_LINE = _Line()


def _out(text: str) -> None:
    from promoter.text import printable

    _LINE.clear()
    sys.stdout.write(printable(text))
    sys.stdout.flush()


def _err(text: str) -> None:
    from promoter.text import printable

    _LINE.clear()
    sys.stderr.write(printable(text if text.endswith("\n") else text + "\n"))


def _repo(args: argparse.Namespace) -> Repo:
    from promoter.pipeline.core import open_repo

    repo = open_repo(args.repo, args.config)
    _recovered(repo)
    return repo


def _recovered(repo: Repo) -> None:
    """Say what rolling back a killed promotion did (once)."""
    if repo.recovery is not None:
        from promoter.render.plan import recovery_text

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
            from promoter.text import did_you_mean

            hint = did_you_mean(e, all_envs)
            raise UsageError(f"unknown environment '{e}'{hint}; valid: {', '.join(sorted(all_envs))}")
    statuses = []
    decisions = {}
    session = None
    if not args.offline:
        from promoter.ship.session import Session

        session = Session(repo, _options(args))
    for comp in comps:
        if not comp.targets:
            _err(f"note: {comp.name} has no targets yet: 'promoter discover {comp.name}' finds its pins")
        targets = [t for t in comp.targets if not args.env or t.environment in args.env]
        if not targets:
            continue
        statuses.append(core.status(repo, comp, targets, None if session is None else session.upstream(comp)))
        if session is not None and statuses[-1].head is not None:
            from promoter.ship.decisions import decide

            envs = {t.environment for t in targets}
            decisions[comp.name] = [d for d in decide(session, comp) if d.environment in envs]
    if args.output == "json":
        text = render.status_json(statuses, decisions)
    elif args.output == "html":
        from promoter.render.status_html import status_html

        text = status_html(render.status_doc(statuses, decisions), _open_requests(repo, args.offline))
    else:
        width = None if args.output == "wide" or args.out else terminal_width()
        text = render.status_text(statuses, decisions, width, colour=False if args.out else None)
    if args.out:
        from promoter.pipeline.apply import write_file
        from promoter.text import printable

        write_file(_path(args.out), printable(text).encode("utf-8"))
        _out(f"wrote {args.out}\n")
    else:
        _out(text)
    return 0


def _open_requests(repo: Repo, offline: bool) -> dict[str, str]:
    """component -> its open promotion merge request (reconcile's branch), when the config uses the
    forge's API and its token is set; nothing otherwise (a page without links)."""
    import os

    from promoter.ship.forge import TOKEN_ENV

    mr = repo.config.merge_request
    if offline or mr.method != "api":
        return {}
    from promoter.ship import commit as commits
    from promoter.ship.forge import forge_for, forge_kind
    from promoter.upstream.git import Git

    try:
        url = commits.remote_url(Git(repo.root), "origin")
        kind = forge_kind(url, mr.forge)
        if not os.environ.get(TOKEN_ENV[kind]):
            return {}
        listed = forge_for(kind, url, api_url=mr.api_url).open_requests()
    except PromoterError as exc:
        _err(f"note: open merge requests not shown: {exc}")
        return {}
    by_branch = {r.source_branch: r.url for r in listed}
    out = {}
    for name in repo.config.components:
        found = by_branch.get(mr.reconcile_branch.format(component=name))
        if found:
            out[name] = found
    return out


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
        _out(render.plan_json(p, prepared.notes))
    else:
        _out(render.plan_text(p))
        if p.empty:
            _out(f"{comp.name}: every selected target is already at {comp.short(p.sha)}; nothing to change\n")
    return CHANGES_PENDING if args.detailed_exitcode and not p.empty else 0


def _confirm(question: str) -> bool:
    _LINE.clear()
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

    finished: list[Promoted] = []
    total = len(set(names))

    def done(result: Promoted) -> None:
        finished.append(result)
        if result.recovery is not None:
            _err(render.recovery_text(result.recovery))
        # the next component starts from the branch the run started on
        _out(render.promoted_text(result, current=len(finished) == total))
        for n in result.shipped.notes if result.shipped else ():
            _err(f"note: {n}")

    try:
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
    except PromoterError:
        _recovered(repo)  # a run killed meanwhile, rolled back before this one failed
        raise
    return 3 if results and results[-1].state == "declined" else 0


def cmd_changelog(args: argparse.Namespace) -> int:
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
        _out(changelog_json(log, comp.name))
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
    if args.offline and any(not c.targets for c in comps):
        zero = next(c.name for c in comps if not c.targets)
        raise UsageError(
            f"{zero} has no targets yet: its pins are found by asking its upstream which values are commits; "
            "that does not work with --offline"
        )
    found = discover(repo, comps, any_sha=args.any_sha, upstream_of=_upstream)
    render = {"json": render_discover.discovery_json, "yaml": render_discover.discovery_yaml}
    if args.output in render:
        _out(render[args.output](found))
    else:
        from promoter.render.table import terminal_width

        _out(render_discover.discovery_text(found, terminal_width()))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from promoter.insight.lint import lint
    from promoter.policy.rules import load_holds
    from promoter.render import discover as render_discover

    repo = _repo(args)
    load_holds(repo.config, repo.root)  # the holds file is linted too: wrong, it is a config error (exit 2)
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
    try:  # how far it got, on a terminal (_Line)
        upstream = None if args.offline else _upstream(comp)
        h = history.build(repo.root, comp, targets, upstream, since, _LINE.show if _LINE.enabled else None)
    finally:
        _LINE.clear()
    if args.output == "json":
        text = report.history_json(h)
    elif args.output == "html":
        text = report.history_html(h)
    else:
        from promoter.render.table import terminal_width

        text = report.history_text(h, verbose=args.verbose, width=None if args.out else terminal_width())
    if out is not None:
        from promoter.pipeline.apply import write_file
        from promoter.text import printable

        write_file(_path(out), printable(text).encode("utf-8"))
        from promoter.text import plural

        _out(f"wrote {out}: {plural(len(h.changes), 'change')} of {comp.name}\n")
    else:
        _out(text)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promoter.insight.bootstrap import starting_config
    from promoter.upstream import git
    from promoter.urls import is_url

    root = git.toplevel(args.repo or Path.cwd())
    path = args.config or root / "promotion.yaml"
    if path.exists() and not args.print:
        raise Refused(f"{path} exists already: edit it ('promoter discover' lists the pins it misses)")
    fetch = args.fetch
    if fetch is not None and not is_url(fetch) and not Path(fetch).is_absolute():
        # a path as the user typed it (from here), written relative to the repository root as the config reads it
        fetch = os.path.relpath(Path(fetch).resolve(), root.resolve())
    start = starting_config(root, args.component, args.component_repo, fetch, args.branch, args.image, _upstream)
    if args.print:
        _out(start.text)
        return 0
    from promoter.pipeline.apply import write_file

    write_file(path, start.text.encode("utf-8"))
    from promoter.text import plural

    envs = sorted({t["environment"] for t in start.targets})
    files = {t["file"] for t in start.targets}
    _out(f"wrote {path}: {args.component}, {plural(len(start.targets), 'target')} in {plural(len(files), 'file')}")
    _out(f" (environments: {', '.join(envs)})\n" if envs else "; no pin found: add targets by hand\n")
    _out("check the environments it guessed, then: promoter check && promoter status\n")
    return 0


def cmd_help(args: argparse.Namespace) -> int:
    parser = build_parser()
    if args.topic is None:
        parser.print_help()
        return 0
    commands = _commands(parser)
    if args.topic not in commands:
        from promoter.text import did_you_mean

        hint = did_you_mean(args.topic, commands)
        raise UsageError(f"unknown command '{args.topic}'{hint}; commands: {', '.join(commands)}")
    commands[args.topic].print_help()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from promoter import demo

    return demo.run(args.dir, _out, main)


def _changed(result: Changed) -> None:
    _out(f"{result.subject}: wrote {', '.join(result.files)}\n")
    shipped = result.shipped
    if shipped is not None:
        from promoter.render.plan import committed_line

        _out(committed_line(shipped.commit.sha, shipped.commit.branch, shipped.commit.subject) + "\n")
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
    core.select(comp, envs=args.env)  # a component with targets, environments it has
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
    core.select(comp, envs=args.env)  # a component with targets, environments it has
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


def cmd_reconcile(args: argparse.Namespace) -> int:
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
    repo = _repo(args)
    for name in args.components:
        from promoter.pipeline import core

        core.component(repo.config, name)
    result = reconcile(
        Session(repo, _options(args)),
        list(args.components),
        push_to=args.push,
        dry_run=args.dry_run,
        max_open=args.max_open,
        shard_of=shard,
    )
    if args.output == "json":
        _out(render.reconcile_json(result))
    elif args.output == "markdown":
        _out(render.reconcile_markdown(result))
    else:
        _out(render.reconcile_text(result, terminal_width()))
    return result.exit_code


COMMANDS = {
    "reconcile": cmd_reconcile,
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
    "help": cmd_help,
    "init": cmd_init,
}


def _json_asked(argv: list[str]) -> bool:
    """Whether the command line asks for `-o json`: read before parsing, so that a usage error is
    JSON too."""
    pairs = zip(argv, [*argv[1:], ""])
    return any((a in ("-o", "--output") and b == "json") or a in ("-ojson", "--output=json") for a, b in pairs)


def _json_error(exc: BaseException, message: str) -> None:
    """The error as JSON on stdout, for a command asked for `-o json` (stderr says it to people)."""
    from promoter.errors import ConfigError, ExternalError, Refused
    from promoter.render.document import error_json

    kinds: list[tuple[type[BaseException], str]] = [
        (ConfigError, "config"),
        (UsageError, "usage"),
        (Refused, "refused"),
        (ExternalError, "external"),
        (KeyboardInterrupt, "interrupted"),
    ]
    kind = next((k for cls, k in kinds if isinstance(exc, cls)), "bug")
    sys.stdout.write(error_json(kind, message))
    sys.stdout.flush()


def _on_terminal(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run `command` saying on the terminal what its long waits wait for: the upstream's mirror
    (the first clone, fetches) and the registry (`--wait`) tell `_LINE`."""
    from promoter.upstream import mirror
    from promoter.upstream.registry import client

    enabled, _LINE.enabled = _LINE.enabled, True
    try:
        with mirror.reporting(_LINE.show), client.reporting(_LINE.show):
            return command(args)
    finally:
        _LINE.enabled = enabled
        _LINE.clear()


def main(argv: list[str] | None = None) -> int:
    verbose = False
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # without building every parser
        sys.stdout.write(f"promoter {__version__}\n")
        return 0
    as_json = _json_asked(argv)
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        as_json = getattr(args, "output", None) == "json"
        args.legacy_out = None
        if extra and args.command == "history" and len(extra) == 1 and not extra[0].startswith("-"):
            args.legacy_out = extra[0]  # `history C -o html FILE`, the form before --out (deprecated)
        elif extra:
            _unrecognized(parser, args.command, extra)
        verbose = bool(getattr(args, "verbose", False))
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "help" or not sys.stderr.isatty() or as_json:
            return COMMANDS[args.command](args)
        return _on_terminal(COMMANDS[args.command], args)
    except PromoterError as exc:
        _err(f"promoter: error: {exc}")
        if as_json:
            _json_error(exc, str(exc))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        newline = "\n" if sys.stderr.isatty() else ""  # the terminal's ^C left the cursor mid-line
        said = f"interrupted; {exc}" if exc.args else "interrupted"
        _err(f"{newline}promoter: {said}")
        if as_json:
            _json_error(exc, said)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        import traceback

        from promoter.urls import redact

        if verbose:
            _err(redact(traceback.format_exc()))

        said = f"unexpected error: {redact(repr(exc))} (run with -v for details)"
        _err(f"promoter: {said}")
        if as_json:
            _json_error(exc, said)
        return 1
