"""The deploy branch: the branch merge requests target and environments deploy from, whose
first-parent history says what ran (the soak of `policy.soak` is measured on it).

Resolved in one place (`resolve`), in this order:
1. `merge_request.target_branch`, when the config sets it;
2. when HEAD is on a branch promoter made for a promotion (`promote --commit`, `hold`, `release`,
   `rollback`), the branch it was made from, recorded then as `branch.<name>.promoterBase` in
   the repository's git config (`record_base`); a branch named like one of the config's branch
   templates (`promote/{component}-{short}`, `hold/…`) with nothing recorded: the remote's
   default branch (`refs/remotes/<remote>/HEAD`);
3. else the branch HEAD is on; a detached HEAD: HEAD itself.
`check --base REV` judges on REV instead (policy/audit.py).

A branch is read as the local branch `refs/heads/<name>`, even when its remote-tracking ref is
ahead (fetch and merge to bring it up to date); only when the local branch does not exist is
`refs/remotes/<remote>/<name>` read. A commit of a branch that was never merged into it never
counts as having run.
"""

from __future__ import annotations

import re
import string

from promoter.errors import Refused
from promoter.model import Config
from promoter.policy.soak import remote_of
from promoter.records import record
from promoter.ship.commit import current_branch
from promoter.upstream.git import Git

BASE_KEY = "promoterBase"  # branch.<name>.promoterBase: the branch a promotion branch was made from
_PREFIXES = ("hold", "release", "rollback")  # the branches of `promoter hold`, `release` and `rollback`


@record(frozen=True)
class DeployRef:
    rev: str  # what git reads: refs/heads/main, refs/remotes/origin/main, HEAD
    name: str  # how a message names it: main, origin/main, HEAD
    why: str  # how it was chosen, for messages


def recorded_base(git: Git, branch: str) -> str | None:
    """The branch `branch` was made from, when promoter made it and recorded it."""
    got = git.run("config", "--get", f"branch.{branch}.{BASE_KEY}", check=False).stdout.strip()
    return got or None


def record_base(git: Git, branch: str, made_from: str) -> None:
    """Record that promoter made `branch` from `made_from` (a promotion branch made from another
    inherits that one's base). `git branch -D` drops it with the branch."""
    base = recorded_base(git, made_from) or made_from
    git.run("config", f"branch.{branch}.{BASE_KEY}", base)


def resolve(git: Git, config: Config) -> DeployRef:
    """The deploy branch of the config repository at `git` (see the module's doc)."""
    target = config.merge_request.target_branch
    if target:
        return _branch(git, target, "merge_request.target_branch")
    here = current_branch(git)
    if here is None:
        return DeployRef("HEAD", "HEAD", "HEAD is detached")
    base = recorded_base(git, here)
    if base is not None:
        return _branch(git, base, f"the branch {here} was made from")
    if is_promotion_branch(config, here):
        remote = remote_of(git, here)
        default = git.run("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False).stdout.strip()
        if default.startswith(f"refs/remotes/{remote}/"):
            return _branch(git, default.removeprefix(f"refs/remotes/{remote}/"), f"{remote}'s default branch")
        raise Refused(
            f"HEAD is on {here}, a promotion branch, and promoter did not record the branch it was made from: "
            "what ran is read from the branch environments deploy from; switch to that branch (git switch main) "
            "or set merge_request.target_branch, and run again"
        )
    return DeployRef(f"refs/heads/{here}", here, "the branch checked out")


def _branch(git: Git, name: str, why: str) -> DeployRef:
    local = f"refs/heads/{name}"
    if git.ok("rev-parse", "--verify", "--quiet", f"{local}^{{commit}}"):
        return DeployRef(local, name, why)
    remote = remote_of(git, name)
    tracking = f"refs/remotes/{remote}/{name}"
    if git.ok("rev-parse", "--verify", "--quiet", f"{tracking}^{{commit}}"):
        return DeployRef(tracking, f"{remote}/{name}", why)
    raise Refused(
        f"environments deploy from {name} ({why}), and this clone has neither branch {name} nor {remote}/{name}: "
        f"fetch it (git fetch {remote} {name}:{name}) and run again"
    )


def is_promotion_branch(config: Config, branch: str) -> bool:
    """Whether `branch` is named like a branch promoter makes for `config`'s components."""
    names = "|".join(re.escape(n) for n in sorted(config.components, key=len, reverse=True)) or "(?!)"
    fields = {
        "component": f"(?:{names})",
        "short": "[0-9a-f]{4,40}",
        "sha": "[0-9a-f]{40}",
        "environments": "[A-Za-z0-9._-]+",
    }
    mr = config.merge_request
    patterns = [_template(mr.branch, fields), _template(mr.reconcile_branch, fields)]
    if "{environments}" not in mr.branch:  # a promotion of some environments adds them
        patterns.append(_template(mr.branch, fields) + "-[A-Za-z0-9._-]+")
    patterns += [f"{p}/(?:{names})-.+" for p in _PREFIXES]
    return any(re.fullmatch(p, branch) for p in patterns)


def _template(text: str, fields: dict[str, str]) -> str:
    out = []
    for literal, name, _, _ in string.Formatter().parse(text):
        out.append(re.escape(literal))
        if name is not None:
            out.append(fields.get(name, ".+"))
    return "".join(out)
