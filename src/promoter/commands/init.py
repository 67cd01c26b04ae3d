"""`promoter init`: a first promotion.yaml for a component, with a target for each pin found."""

from __future__ import annotations

import os

from promoter.commands._common import USAGE, out, upstream
from promoter.errors import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Find every pin of the component in the files git tracks, from zero: saas files whose\n"
    "resourceTemplates build from its repo, its image references (with --image), and any value\n"
    "of 40 hex digits or of 7 that is a commit of its upstream. Each gets a target with a\n"
    "name of its own and an environment guessed from where it is (a namespace or directory\n"
    "such as -int, stage, prod; else the directory's name), written to a new promotion.yaml\n"
    "(never over one: promoter discover finds what an existing config misses)."
)
EXAMPLES = (
    "promoter init --component qontract-reconcile --repo https://github.com/app-sre/qontract-reconcile",
    "promoter init --component app --repo https://gitlab.com/org/app --fetch ../app --branch main --print",
)
CODES = (
    "0    written (or printed), also when no pin was found (targets: [])",
    USAGE + "a bad component name or URL",
    "3    refused: the config file exists already",
    "4    the upstream (--fetch, default --repo) cannot be read",
)
OFFLINE = None
SHORT = True  # -C alone: its --repo is the component's


def arguments(p: Any) -> None:
    p.add_argument("--component", required=True, metavar="NAME", help="the component's name (letters, digits, . _ -)")
    p.add_argument(
        "--repo",
        dest="component_repo",
        required=True,
        metavar="URL",
        help="its canonical repository URL (what saas files' resourceTemplates name)",
    )
    p.add_argument(
        "--fetch",
        metavar="PATH_OR_URL",
        help="where git fetches it from, a URL or a path (default: --repo)",
    )
    p.add_argument("--branch", metavar="B", help="the branch it promotes from (default: the remote's HEAD branch)")
    p.add_argument(
        "--image",
        metavar="IMAGE",
        help="its image, e.g. quay.io/app-sre/app: its references are pins too (default: none)",
    )
    p.add_argument("--print", action="store_true", help="print the config on standard output instead of writing it")


def run(args: argparse.Namespace) -> int:
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
    start = starting_config(root, args.component, args.component_repo, fetch, args.branch, args.image, upstream)
    if args.print:
        out(start.text)
        return 0
    from promoter.pipeline.apply import write_file

    write_file(path, start.text.encode("utf-8"))
    from promoter.text import plural

    envs = sorted({t["environment"] for t in start.targets})
    files = {t["file"] for t in start.targets}
    out(f"wrote {path}: {args.component}, {plural(len(start.targets), 'target')} in {plural(len(files), 'file')}")
    out(f" (environments: {', '.join(envs)})\n" if envs else "; no pin found: add targets by hand\n")
    out("check the environments it guessed, then: promoter check && promoter status\n")
    return 0
