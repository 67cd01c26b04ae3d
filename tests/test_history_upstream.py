"""`promoter history` with the upstream: the figures read from one walk of the branch's graph are
exactly what git says for each change (`rev-list --count --before`, `show -s --format=%ct`,
`merge-base --is-ancestor`), on an upstream with merges, out-of-order commit dates and a branch
that was never merged."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promoter.insight import history
from promoter.pipeline import core
from promoter.upstream.mirror import Upstream
from tests.conftest import git, make_repo
from tests.test_history import ADA, BOB, CAROL, DAY, HOUR, Run, T, _commit, _env

CONFIG = """version: 1
components:
  app:
    repo: https://gitlab.example.com/group/app
    fetch: {fetch}
    branch: main
    targets:
      - {{name: prod, environment: production, file: prod.yaml, key: ref, format: sha}}
      - {{name: stage, environment: staging, file: stage.yaml, key: ref, format: sha}}
      - {{name: ci, environment: pipelines, file: .env, env: APP_REF}}
"""


def _tangled_upstream(path: Path) -> tuple[list[str], list[str]]:
    """About 120 commits: a main line with feature branches merged back (their commits dated
    before their parents, some at the same second as others), and a hotfix branch never merged.
    Returns (every commit of main, the hotfix's commits)."""
    rnd = random.Random(20240101)
    out = bytearray()
    mark = 0
    main_marks: list[int] = []

    def commit(ref: str, when: int, parents: list[int]) -> int:
        nonlocal mark
        mark += 1
        who = f"Ada <ada@example.com> {when} +0000".encode()
        msg = f"c{mark}".encode()
        out.extend(
            b"commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n"
            % (ref.encode(), mark, who, who, len(msg), msg)
        )
        if parents:
            out.extend(b"from :%d\n" % parents[0])
        for p in parents[1:]:
            out.extend(b"merge :%d\n" % p)
        body = f"{mark}\n".encode()
        out.extend(b"M 100644 inline f%d\ndata %d\n%s\n" % (mark % 7, len(body), body))
        return mark

    when = T
    main_marks.append(commit("refs/heads/main", when, []))
    for i in range(60):
        when += rnd.choice([0, 600, 3600, 3 * HOUR])  # some at the very same second
        if i % 6 == 3:  # a feature branch from a commit some way back, merged now
            base = main_marks[-rnd.randint(2, min(8, len(main_marks)))]
            tip = base
            for _ in range(rnd.randint(1, 4)):
                skew = rnd.choice([-5 * HOUR, -DAY, 1800, -60])  # often older than its parent
                tip = commit("refs/heads/feature", when + skew, [tip])
            main_marks.append(commit("refs/heads/main", when, [main_marks[-1], tip]))
        else:
            main_marks.append(commit("refs/heads/main", when, [main_marks[-1]]))
    hotfix = [commit("refs/heads/hotfix", when - DAY, [main_marks[20]])]
    hotfix.append(commit("refs/heads/hotfix", when + HOUR, [hotfix[-1]]))
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    marks = path / "marks"
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=path, input=bytes(out), check=True)
    sha = dict(line.split() for line in marks.read_text().splitlines())
    git(path, "branch", "-D", "feature")
    return git(path, "rev-list", "--topo-order", "--reverse", "main").split(), [sha[f":{m}"] for m in hotfix]


def _git_figures(up: Path, value: str, when: datetime, old: list[str]) -> tuple[int, int, bool]:
    """What per-change git commands say: lead time, commits behind, rollback."""
    ct = int(git(up, "show", "-s", "--format=%ct", value))
    behind = int(git(up, "rev-list", "--count", f"--before={when.isoformat()}", f"{value}..refs/heads/main", "--"))
    rollback = any(
        o != value and subprocess.run(["git", "merge-base", "--is-ancestor", value, o], cwd=up).returncode == 0
        for o in old
    )
    return int(when.timestamp()) - ct, behind, rollback


@pytest.fixture
def tangled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[str], list[str]]:
    up = tmp_path / "upstream"
    main, hotfix = _tangled_upstream(up)
    rnd = random.Random(7)
    for k, v in _env(CAROL, T).items():
        monkeypatch.setenv(k, v)
    repo = make_repo(
        tmp_path / "config",
        {
            "promotion.yaml": CONFIG.format(fetch=up),
            "prod.yaml": f"ref: {main[0]}\n",
            "stage.yaml": f"ref: {main[0]}\n",
            ".env": f"APP_REF={main[0][:7]}\n",
        },
    )
    times = sorted(int(git(up, "show", "-s", "--format=%ct", s)) for s in main)
    pins = {"prod.yaml": main[0], "stage.yaml": main[0], ".env": main[0]}
    for i in range(40):
        when = rnd.choice(times) + rnd.choice([0, 0, -1, 1, 1800, DAY])  # often at the second of an upstream commit
        name = rnd.choice(list(pins))
        value = rnd.choice([*main, *main[-10:], hotfix[0]]) if i != 30 else hotfix[1]
        if value == pins[name]:
            continue
        pins[name] = value
        text = f"APP_REF={value[:7]}\n" if name == ".env" else f"ref: {value}\n"
        _commit(repo, rnd.choice([ADA, BOB]), max(when, T + i), f"promote {name} {i}", {name: text})
    return up, repo, main, hotfix


def test_batched_figures_are_what_git_says_for_each_change(
    tangled: tuple[Path, Path, list[str], list[str]], run: Run
) -> None:
    up, repo, main, hotfix = tangled
    code, out, err = run("-C", repo, "history", "app", "-o", "json")
    assert (code, err) == (0, ""), err
    doc = json.loads(out)
    checked = rollbacks = off_branch = 0
    for ch in doc["changes"]:
        when = datetime.fromisoformat(ch["date"])
        for tc in ch["targets"]:
            if not tc["old"]:
                continue
            full = next(s for s in [*main, *hotfix] if s.startswith(tc["new"][0]["value"]))
            olds = [next(s for s in [*main, *hotfix] if s.startswith(v["value"])) for v in tc["old"]]
            lead, behind, rollback = _git_figures(up, full, when, olds)
            assert (tc["promoted"], tc["lead_time_seconds"], tc["behind"], tc["rollback"]) == (
                full,
                lead,
                behind,
                rollback,
            ), (ch["commit"], tc)
            checked += 1
            rollbacks += rollback
            off_branch += full in hotfix
    assert checked >= 30 and rollbacks >= 5 and off_branch >= 2  # the history exercises every path


def test_behind_over_time_is_what_git_says_at_every_instant(
    tangled: tuple[Path, Path, list[str], list[str]],
) -> None:
    up, repo, main, hotfix = tangled
    r = core.open_repo(repo, None)
    comp = core.component(r.config, "app")
    h = history.build(r.root, comp, list(comp.targets), Upstream(comp))
    assert h.upstream_error is None and h.index is not None
    times = sorted(
        {int(s.start.timestamp()) + d for env in h.environments for s in h.timeline(env) for d in (-1, 0, 1)}
    )
    times += [int(git(up, "show", "-s", "--format=%ct", s)) for s in main[::5]]
    for env in h.environments:
        segs = h.timeline(env)
        got = h.behind_at(env, times)
        for when, behind in zip(times, got):
            running = [s for s in segs if s.start.timestamp() <= when and (s.end is None or when < s.end.timestamp())]
            if not running:
                assert behind is None
                continue
            (seg,) = running
            full = [next(s for s in [*main, *hotfix] if s.startswith(v)) for v in seg.values]
            on_main = [f for f in full if f in main]
            iso = datetime.fromtimestamp(when, UTC).isoformat()
            expected = [int(git(up, "rev-list", "--count", f"--before={iso}", f"{f}..main", "--")) for f in on_main]
            assert behind == (max(expected) if expected else None), (env, when, seg.values)
