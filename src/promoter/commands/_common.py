"""What the commands share: the terminal (output, the progress line, a question), opening the
config repository, the session's options from the arguments, and a few argument sets."""

from __future__ import annotations

import os
import sys

from promoter.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from promoter.model import Component
    from promoter.pipeline.core import Repo
    from promoter.ship.holding import Changed
    from promoter.ship.session import Options, Prepared
    from promoter.upstream.mirror import Upstream


def path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


# -- the terminal -------------------------------------------------------------------------------
class Line:
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


LINE = Line()


def out(text: str) -> None:
    """`text` on stdout, every control character in it escaped but the colour a renderer added
    to its `Painted` text (promoter.text.shown)."""
    from promoter.text import shown

    LINE.clear()
    sys.stdout.write(shown(text))
    sys.stdout.flush()


def err(text: str) -> None:
    from promoter.text import printable

    LINE.clear()
    sys.stderr.write(printable(text if text.endswith("\n") else text + "\n"))


def confirm(question: str) -> bool:
    LINE.clear()
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


# -- the repository and the session -------------------------------------------------------------
def repo(args: argparse.Namespace) -> Repo:
    from promoter.pipeline.core import open_repo

    opened = open_repo(args.repo, args.config)
    recovered(opened)
    return opened


def recovered(opened: Repo) -> None:
    """Say what rolling back a killed promotion did (once)."""
    if opened.recovery is not None:
        from promoter.render.plan import recovery_text

        err(recovery_text(opened.recovery))
        opened.recovery = None


def upstream(comp: Component) -> Upstream:
    from promoter.upstream.mirror import Upstream

    return Upstream(comp)


def options(args: argparse.Namespace) -> Options:
    from promoter.ship.session import Options

    wait = getattr(args, "wait", None)
    return Options(
        offline=args.offline,
        envs=tuple(getattr(args, "env", ())),
        targets=tuple(getattr(args, "target", ())),
        allow_downgrade=getattr(args, "allow_downgrade", False),
        allow_unmerged=getattr(args, "allow_unmerged", False),
        ignore_deps=getattr(args, "ignore_deps", False),
        wait=seconds(wait) if wait else None,
        from_env=getattr(args, "from_env", None),
        ignore_soak=getattr(args, "ignore_soak", False),
        ignore_window=getattr(args, "ignore_window", False),
        ignore_hold=getattr(args, "ignore_hold", False),
        ignore_verify=getattr(args, "ignore_verify", False),
        ignore_trust=getattr(args, "ignore_trust", False),
    )


def seconds(text: str) -> float:
    from promoter import durations

    try:
        return float(durations.parse(text))
    except ValueError as exc:
        raise UsageError(f"--wait: {exc}") from None


def notes(prepared: Prepared) -> None:
    for n in prepared.notes:
        err(f"note: {n}")
    for w in prepared.plan.warnings:
        err(f"warning: {w}")


def changed(result: Changed) -> None:
    """What hold, release and rollback wrote, committed, pushed and opened."""
    if result.files:
        out(f"{result.subject}: wrote {', '.join(result.files)}\n")
    else:  # an earlier run committed it and could not finish: finished now
        out(f"{result.subject}: already committed on {result.branch}\n")
    shipped = result.shipped
    if shipped is None:
        err(
            f"note: not committed: this takes effect for everyone (reconcile, check --base, other clones) once "
            f"{', '.join(result.files)} {'is' if len(result.files) == 1 else 'are'} committed and merged; "
            "--commit or --push does it"
        )
    else:
        from promoter.render.plan import committed_line
        from promoter.render.table import flow, terminal_width

        said = committed_line(shipped.commit.sha, shipped.commit.branch, shipped.commit.subject)
        out(flow(said, terminal_width()) + "\n")
        for n in shipped.notes:
            err(f"note: {n}")
        if shipped.remote:
            out(f"pushed {shipped.commit.branch} to {shipped.remote}\n")
        if shipped.merge_request:
            verb = "opened" if shipped.merge_request.created else "updated"
            out(f"{verb} merge request {shipped.merge_request.url}\n")


def until(text: str | None) -> datetime | None:
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until takes an ISO 8601 time such as 2026-12-24T08:00:00+01:00, not '{text}'") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def write_out(to: str, text: str) -> None:
    """`--out FILE`: the output written to FILE, atomically."""
    from promoter.pipeline.apply import write_file
    from promoter.text import printable

    write_file(path(to), printable(text).encode("utf-8"))


# -- argument sets ------------------------------------------------------------------------------
ENV = "only this environment (repeatable; default: every one)"
REV = "a full sha, a unique sha prefix (7+ hex digits), a branch or a tag of the upstream (default: the newest"
REV_PLAN = (
    f"{REV} commit of the branch that passes every rule; for a component pinned by release tags, a release "
    "such as v1.5.0 or 1.5.0, default the highest that does)"
)
USAGE = "2    usage or config error: "
EXTERNAL = "4    git or the network failed (the upstream cannot be reached, say)"
LASTING = "3    refused: the holds file is dirty, or the repository locked; nothing was written"


def promotion_arguments(p: Any) -> None:
    """What plan and promote both take: where, and the checks to lift."""
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
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
    p.add_argument(
        "--ignore-trust",
        action="store_true",
        help="promote an image whose signature or provenance (trust:) does not hold; never lifts blocked",
    )


def change_arguments(p: Any) -> None:
    """What hold, release and rollback all take."""
    p.add_argument("component", metavar="COMPONENT", help="the component")
    p.add_argument("--env", action="append", default=[], metavar="E", help=ENV)
    p.add_argument("--commit", action="store_true", help="commit the change on a new branch")
    push_argument(p, "commit, push the branch to REMOTE (default: origin), open its merge request")


def push_argument(p: Any, text: str) -> None:
    p.add_argument("--push", nargs="?", const="origin", metavar="REMOTE", help=text)
