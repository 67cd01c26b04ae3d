"""`promoter help`: a command's help, or the overview."""

from __future__ import annotations

from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = "The help of COMMAND: its arguments, their defaults, examples and its exit codes."
EXAMPLES = ("promoter help", "promoter help promote")
CODES = ("0    shown", "2    an unknown command")
OFFLINE = None
GLOBALS = False  # no global option means anything to it


def arguments(p: Any) -> None:
    p.add_argument("topic", nargs="?", metavar="COMMAND", help="the command (default: the overview)")


def run(args: argparse.Namespace) -> int:
    from promoter.cli import build_parser, commands_of

    parser = build_parser()
    if args.topic is None:
        parser.print_help()
        return 0
    commands = commands_of(parser)
    if args.topic not in commands:
        from promoter.text import did_you_mean

        hint = did_you_mean(args.topic, commands)
        raise UsageError(f"unknown command '{args.topic}'{hint}; commands: {', '.join(commands)}")
    commands[args.topic].print_help()
    return 0
