"""`promoter check`: lint the config repository (for CI and pre-commit); with --base, the policy."""

from __future__ import annotations

from promoter.commands._common import EXTERNAL, USAGE, out, repo

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

DESCRIPTION = (
    "Every problem as FILE:LINE: message, with what to do: a target that locates nothing, a\n"
    "key: or path: target whose places are of several kinds (key paths, images), an\n"
    "environment whose targets run different versions, a pin no target covers (outside\n"
    "ignore:). With --base, also every pin changed since REV judged by the promotion policy."
)
EXAMPLES = (
    "promoter check",
    "promoter check --base origin/master",
    "promoter check -o json --markdown summary.md   # a CI job: data, and a summary for people",
)
CODES = (
    "0    no problem",
    USAGE + "an invalid promotion.yaml or holds file, an unknown --base",
    "3    problems found (each one listed)",
    EXTERNAL + " (with --base)",
)
OFFLINE = "with --base: judge without the upstream (holds, windows and blocked versions only)"


def arguments(p: Any) -> None:
    p.add_argument(
        "--base",
        metavar="REV",
        help="also judge the change since REV (any git revision of the config repository: origin/master, "
        "HEAD~1, a tag) by REV's policy (default: the lint alone)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FORMAT",
        choices=("text", "json", "markdown"),
        default="text",
        help="text, json, or markdown (for a merge request's comment or a CI job's summary) (default: text)",
    )
    p.add_argument(
        "--markdown",
        metavar="FILE",
        help="also write the markdown to FILE, atomically, whatever -o says (default: none)",
    )


def run(args: argparse.Namespace) -> int:
    from promoter.insight.lint import failing, lint
    from promoter.policy.rules import load_holds
    from promoter.render import discover as render_discover

    opened = repo(args)
    load_holds(opened.config, opened.root)  # the holds file is linted too: wrong, it is a config error (exit 2)
    problems = lint(opened, list(opened.config.components.values()))
    if args.base is not None:
        from promoter.policy.audit import audit

        problems += audit(opened, args.base, offline=args.offline)
    if args.markdown is not None:
        from promoter.commands._common import write_out

        write_out(args.markdown, render_discover.check_markdown(problems))
    if args.output == "json":
        out(render_discover.check_json(problems))
    elif args.output == "markdown":
        out(render_discover.check_markdown(problems))
    else:
        out(render_discover.check_text(problems))
    return 3 if failing(problems) else 0
