"""`promoter check --base REV`: the policy held to merge requests written by hand.

Every pin that changed between REV and the working tree is judged by the rules promoter holds
itself to (order and soak, windows at the time of the check, holds, blocked versions), and each
broken rule is a problem at the file and line of the new value. A hold that the change itself
adds (a rollback written by hand) does not stop that change: holds are those of REV.
"""

from __future__ import annotations

from collections.abc import Callable

from promoter.errors import PromoterError
from promoter.insight.lint import Problem
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, Config, Location, Target
from promoter.pipeline import core
from promoter.pipeline.workspace import glob_regex
from promoter.policy import holds as holds_file
from promoter.policy.rules import Policy, config_at
from promoter.records import replace
from promoter.upstream.git import CatFile, Git


def _base_values(root_git: Git, base: str, comp: Component, target: Target) -> set[str] | None:
    """The values `target` pinned at `base` (None: its files did not exist or did not parse)."""
    if target.file is not None:
        files = [target.file]
    else:
        assert target.files is not None
        listed = root_git.run("ls-tree", "-r", "-z", "--name-only", base, "--").stdout.split("\0")
        pattern = glob_regex(target.files)
        files = [f for f in listed if f and pattern.fullmatch(f)]
    values: set[str] = set()
    with CatFile(root_git.cwd) as cat:
        got = cat.read([f"{base}:{f}" for f in files])
    for file, blob in zip(files, got):
        if blob is None or blob[1] != "blob":
            continue
        try:
            text = blob[2].decode("utf-8")
            locations, _ = classify(text, file, comp, target, find(text, comp, target))
        except (UnicodeDecodeError, LocateError, YamlSyntaxError):
            return None
        values |= {loc.value for loc in locations}
    return values


def audit(repo: core.Repo, base: str, policy_of: Callable[[Component], Policy]) -> list[Problem]:
    """Every rule a pin change between `base` and the working tree breaks."""
    git = Git(repo.root)
    base_sha = git.out("rev-parse", "--verify", "--end-of-options", f"{base}^{{commit}}")
    base_holds = _holds_at(git, base_sha, repo.config.holds, config_at(repo.root, base_sha, repo.config))
    problems: list[Problem] = []
    for comp in repo.config.components.values():
        policy = replace(policy_of(comp), holds=base_holds)
        for target in comp.targets:
            before = _base_values(git, base_sha, comp, target)
            try:
                scans = core.scan(repo, comp, [target])
            except PromoterError:
                continue  # `check` without --base reports it
            changed = [loc for ts in scans for loc in ts.locations if before is not None and loc.value not in before]
            for loc in changed:
                problems += _judge(policy, comp, target, loc)
    return problems


_HINTS = {
    "held": "release the hold first (promoter release COMPONENT --env ENV), or wait for it to end",
    "window": "merge it when the window opens",
    "soaking": "wait until it has soaked, or promote a version that has",
    "blocked": "choose another version: this one is listed in `blocked:`",
}


def _judge(policy: Policy, comp: Component, target: Target, loc: Location) -> list[Problem]:
    sha = loc.value if len(loc.value) == 40 else (policy.upstream.find(loc.value) if policy.upstream else None)
    where = f"{comp.name}: target '{target.name}' now pins {loc.value}"
    if sha is None:  # offline, or a value the upstream cannot name: the rules that need no upstream
        gates = [g for g in (policy.held(target.environment), policy.window(target.environment, loc.value)) if g]
        blocked = next((p for p in comp.blocked if p.startswith(loc.value) or loc.value.startswith(p)), None)
        found = [(g.action, g.reason) for g in gates]
        if blocked:
            found.append(("blocked", f"{comp.name}: {loc.value} is blocked (`blocked: [{blocked}]`)"))
    else:
        found = [(g.action, g.reason) for g in policy.gates([target], sha, verify=False)]
    return [
        Problem(
            loc.file,
            loc.line,
            f"{where}: {reason}",
            _HINTS.get(action, ""),
            f"policy-{action}",
            comp.name,
            target.name,
            target.environment,
            loc.value,
            sha,
        )
        for action, reason in found
    ]


def _holds_at(git: Git, base: str, path: str, config: Config) -> list[holds_file.Hold]:
    proc = git.run("show", f"{base}:{path}", check=False)
    if proc.returncode != 0:
        return []
    file = f"{path} (at {base[:12]})"
    return holds_file.validate(holds_file.parse(proc.stdout, file), config, file)
