"""Command line: parse arguments, call the core, render; errors become exit codes here only.

Exit codes: 0 ok; 1 unexpected error; 2 usage or config error; 3 refused (a check failed,
nothing written); 4 external failure (git, network); 130 interrupted.
`plan --detailed-exitcode`: 0 no change, 5 changes pending.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from promoter import __version__, commands
from promoter.commands._common import LINE as _LINE
from promoter.commands._common import err as _err
from promoter.commands._common import path
from promoter.errors import PromoterError, UsageError

# `promoter --version` and `--help` should feel instant: typing, pathlib and argparse's help
# formatter (shutil, textwrap) are left out of them
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


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
            words = " ".join(meaning.split())  # a meaning broken by hand flows again at this width
            out += textwrap.wrap(words, width, initial_indent=f"  {number:<5}", subsequent_indent=" " * 7)
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


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name (made when asked for)."""
    return next(a for a in parser._actions if a.dest == "command").choices or {}  # type: ignore[return-value]


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> None:
    """Refuse arguments no option takes, with the option each was probably meant to be."""
    from promoter.text import did_you_mean

    p = commands_of(parser).get(command, parser) if command else parser
    options = [o for a in p._actions for o in a.option_strings if o.startswith("--")]
    # options look alike ('--repo', '--reason'): only a near miss is suggested ('--evn', '--ofline')
    words = [w + (did_you_mean(w.partition("=")[0], options, 0.75) if w.startswith("--") else "") for w in extra]
    p.error(f"unrecognized arguments: {' '.join(words)}")


# the end of every command's exit codes
_GC_THRESHOLD = 100_000  # allocations between two young collections (the default is 700)
_LAST_CODES = ("1    unexpected error (a bug: run with -v and report it)", "130  interrupted (Ctrl-C)")


def _global_options(
    p: argparse.ArgumentParser, top: bool, offline: str | None = None, repo: bool = True, short: bool = False
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
            type=path,
            metavar="PATH",
            help="the config repository (default: the git top-level of the working directory)",
            **d,
        )
        g.add_argument(
            "--config", type=path, metavar="FILE", help="the config file (default: <repo>/promotion.yaml)", **d
        )
    if offline is not None:
        g.add_argument("--offline", action="store_true", help=offline, **d)
    g.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks for unexpected errors", **d)


class _Command:
    """A command's parser before it is made: its module (`promoter.commands`) is imported and its
    parser built only when first asked for (`_Commands`). A run uses one command; importing all
    fourteen and making their parsers (argparse and gettext work for each) would cost a good part
    of `promote`'s start-up."""

    def __init__(self, sub: Any, name: str) -> None:
        self.sub, self.name = sub, name

    def make(self) -> _Parser:
        # as argparse's add_parser makes it (listed already: `build_parser`)
        module = commands.load(self.name)
        p = _Parser(prog=f"{self.sub._prog_prefix} {self.name}", description=module.DESCRIPTION)
        p.examples = module.EXAMPLES
        p.codes = (*module.CODES, *getattr(module, "LAST_CODES", _LAST_CODES))
        module.arguments(p)
        if getattr(module, "GLOBALS", True):
            repo, short = getattr(module, "REPO", True), getattr(module, "SHORT", False)
            _global_options(p, top=False, offline=module.OFFLINE, repo=repo, short=short)
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
    for name, (_, summary) in commands.NAMES.items():
        sub._choices_actions.append(sub._ChoicesPseudoAction(name, (), summary))  # as add_parser(help=) lists it
        dict.__setitem__(sub.choices, name, _Command(sub, name))
    return parser


class _Runs(dict[str, "Callable[[argparse.Namespace], int]"]):
    """Each command's `run`, imported when first asked for (a test may put its own in)."""

    def __missing__(self, name: str) -> Callable[[argparse.Namespace], int]:
        run: Callable[[argparse.Namespace], int] = commands.load(name).run
        self[name] = run
        return run


COMMANDS = _Runs()


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
    # A command builds its model (the YAML of every saas file, the history's commits) as objects
    # that live until it ends: the cyclic collector, at its default pace, walks them again and
    # again for nothing (15-20 % of `status` of a fleet). Run it seldom, as mypy does.
    gc.set_threshold(_GC_THRESHOLD, 20, 20)
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
