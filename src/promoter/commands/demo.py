"""`promoter demo`: build a self-contained example and walk the promotion SOP on it."""

from __future__ import annotations

from promoter.commands._common import out, path

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Build an upstream repository and an app-interface-like config repository in DIR (no\n"
    "network, no tokens) and run status, plan, promote on it; DIR is left to explore."
)
EXAMPLES = ("promoter demo", "promoter demo /tmp/demo && cd /tmp/demo/app-interface && promoter status")
CODES = ("0    done", "2    DIR is not empty", "3    a step was refused (a bug in the demo: report it)")
OFFLINE = None
REPO = False  # it makes its own repositories


def arguments(p: Any) -> None:
    p.add_argument("dir", nargs="?", type=path, metavar="DIR", help="where to build it (default: a new temp dir)")


def run(args: argparse.Namespace) -> int:
    from promoter import demo
    from promoter.cli import main

    return demo.run(args.dir, out, main)
