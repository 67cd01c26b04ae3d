"""`promoter discover`: pins of the components that no target covers."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, USAGE, out, repo, upstream
from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Search every file git tracks for pins of the components that no target covers: the\n"
    "versions they deploy, their image, the keys and variables their targets use, saas files\n"
    "of their repo. Each finding comes with a target to paste under the component's targets:."
)
EXAMPLES = (
    "promoter discover",
    "promoter discover qontract-reconcile --any-sha",
    "promoter discover -o yaml",
)
CODES = (
    "0    searched (also when it found pins)",
    USAGE + "an unknown component, an invalid promotion.yaml",
    EXTERNAL,
)
OFFLINE = None


def arguments(p: Any) -> None:
    p.add_argument("components", nargs="*", metavar="COMPONENT", help="only these components (default: all)")
    p.add_argument(
        "--any-sha", action="store_true", help="also report any 40-hex value that is a commit of the upstream"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("table", "json", "yaml"),
        default="table",
        help="table, json or yaml (default: table)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.insight.discover import discover
    from promoter.pipeline import core
    from promoter.render import discover as render_discover

    if args.any_sha and args.offline:
        raise UsageError("--any-sha asks the upstream which values are commits; it does not work with --offline")
    opened = repo(args)
    names = args.components or list(opened.config.components)
    comps = [core.component(opened.config, n) for n in names]
    if args.offline and any(not c.targets for c in comps):
        zero = next(c.name for c in comps if not c.targets)
        raise UsageError(
            f"{zero} has no targets yet: its pins are found by asking its upstream which values are commits; "
            "that does not work with --offline"
        )
    found = discover(opened, comps, any_sha=args.any_sha, upstream_of=upstream)
    render = {"json": render_discover.discovery_json, "yaml": render_discover.discovery_yaml}
    if args.output in render:
        out(render[args.output](found))
    else:
        from promoter.render.table import terminal_width

        out(render_discover.discovery_text(found, terminal_width()))
    return 0
