"""Soak measured on what ran: the first-parent history of the branch environments deploy from
(never a merge request's or a promotion branch's own commits), each state from the date it
reached that branch (a merge commit's), a shallow clone deepened rather than the soak restarted
at its cut, and a commit dated in the future counted from no later than the time of judging.
Real git repositories (the config repository and the component's upstream) in temp dirs, the
clock set with PROMOTER_NOW and the commits' dates with GIT_COMMITTER_DATE."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, make_repo, snapshot

SAT, SUN, MON, TUE, WED = "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"


def at(day: str, time: str) -> dict[str, str]:
    stamp = f"{day}T{time}:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


class World:
    """An upstream with c1..c5 (the week before) and a config repository created on Friday with
    integration and production on c1; production comes after integration, soak 24h."""

    def __init__(self, root: Path, mr: str = "") -> None:
        self.up = root / "up"
        self.up.mkdir()
        git(self.up, "init", "-q", "-b", "main")
        self.c: list[str] = []
        for i in range(1, 6):
            (self.up / "f").write_text(f"{i}\n")
            git(self.up, "add", "f")
            git(self.up, "commit", "-qm", f"c{i}", env=at("2026-11-23", f"0{i}:00"))
            self.c.append(git(self.up, "rev-parse", "HEAD"))
        yaml = (
            "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
            f"    fetch: {self.up}\n    branch: main\n"
            "    targets:\n"
            "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
            "      - {name: prod, environment: production, file: prod.yaml, key: ref, format: sha}\n"
            "environments:\n  production:\n    after: [integration]\n    soak: 24h\n" + mr
        )
        with pytest.MonkeyPatch.context() as mp:
            for var, value in at("2026-11-27", "12:00").items():
                mp.setenv(var, value)
            self.config = make_repo(
                root / "config",
                {"promotion.yaml": yaml, "int.yaml": f"ref: {self.c[0]}\n", "prod.yaml": f"ref: {self.c[0]}\n"},
            )

    def pin(self, repo: Path, when: dict[str, str], integration: str, production: str | None = None) -> str:
        (repo / "int.yaml").write_text(f"ref: {integration}\n")
        if production is not None:
            (repo / "prod.yaml").write_text(f"ref: {production}\n")
        git(repo, "commit", "-qam", f"pin {integration[:7]}", env=when)
        return git(repo, "rev-parse", "HEAD")

    @staticmethod
    def other(repo: Path, when: dict[str, str], text: str) -> str:
        (repo / "notes.txt").write_text(text)
        git(repo, "add", "notes.txt")
        git(repo, "commit", "-qm", f"notes: {text}", env=when)
        return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMOTER_NOW", f"{WED}T00:00:00+00:00")


def test_a_merge_request_commit_never_counts_as_having_run(tmp_path: Path, run, now: None) -> None:  # type: ignore[no-untyped-def]
    """One commit of a merge request pins integration and production to c3, 40 h before now (the
    soak is 24 h): integration has not run c3, it never reached main. `check --base` judges on
    the base; `plan` from the merge request's branch on the target branch."""
    w = World(tmp_path, mr="merge_request:\n  target_branch: main\n")
    cfg, c3 = w.config, w.c[2]
    git(cfg, "switch", "-q", "-c", "by-hand")
    w.pin(cfg, at(MON, "08:00"), c3, c3)
    base = git(cfg, "rev-parse", "main")
    code, out, err = run("-C", cfg, "check", "--base", "main")
    assert code == 3, out
    assert f"prod.yaml:1: app: target 'prod' (production) now pins {c3}: production comes after integration, " in out
    assert f"integration does not run {c3[:7]} on {base[:12]} (nor a newer version since it ran it)" in out
    before = snapshot(cfg)
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 0 and "nothing to change" in out, err  # the branch pins it already: nothing is refused,
    assert f"production comes after integration, and integration does not run {c3[:7]} on main" in err  # but said
    assert snapshot(cfg) == before
    # merged on Tuesday 10:00 by a merge commit: integration runs c3 from then on, on main
    git(cfg, "switch", "-q", "main")
    git(cfg, "merge", "-q", "--no-ff", "-m", "merge by-hand", "by-hand", env=at(TUE, "10:00"))
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 0, err  # production pins it too since the merge: nothing changes, so nothing is refused
    assert f"app: {c3[:7]} is soaking in integration until 2026-12-02 10:00 UTC (10h left)" in err


def test_production_from_the_branch_promote_commit_left_you_on_is_refused(  # type: ignore[no-untyped-def]
    tmp_path: Path, run, now: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`promote --commit` integration leaves you on its unmerged branch; production from there
    must not count that branch's commit (40 h old) as integration having run it."""
    w = World(tmp_path)
    cfg, c3 = w.config, w.c[2]
    with monkeypatch.context() as mp:
        for var, value in at(MON, "08:00").items():
            mp.setenv(var, value)
        code, out, err = run("-C", cfg, "promote", "app", c3, "--env", "integration", "--commit", "--yes")
    assert code == 0, err
    branch = f"promote/app-{c3[:7]}-integration"
    assert git(cfg, "symbolic-ref", "--short", "HEAD") == branch
    before = snapshot(cfg)
    for argv in (("plan", "app", c3), ("promote", "app", c3, "--yes")):
        code, out, err = run("-C", cfg, *argv, "--env", "production")
        assert code == 3, (argv, out)
        assert f"production comes after integration, and integration does not run {c3[:7]} on main" in err
    assert snapshot(cfg) == before
    assert git(cfg, "config", "--get", f"branch.{branch}.promoterBase") == "main"  # recorded when it was made
    # status from the branch judges on main too: production's next step is not c3
    code, out, err = run("-C", cfg, "status", "-o", "json")
    assert code == 0, err
    envs = {e["environment"]: e["next"] for e in json.loads(out)["components"][0]["environments"]}
    assert envs["production"]["candidate"] is None or envs["production"]["candidate"]["sha"] != c3
    # once merged (Tuesday 12:00) it soaks from the merge
    git(cfg, "switch", "-q", "main")
    git(cfg, "merge", "-q", "--no-ff", "-m", "merge it", branch, env=at(TUE, "12:00"))
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 3 and f"app: {c3[:7]} is soaking in integration until 2026-12-02 12:00 UTC (12h left)" in err


def test_a_promotion_merged_late_soaks_from_its_merge(tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Committed on Saturday, merged on Monday 09:00 by a merge commit: on Tuesday 00:00 it has
    soaked 15 h, not 62 h. A branch merged by fast-forward keeps its commit's own date (all git
    records of it)."""
    w = World(tmp_path)
    cfg, c3, c4 = w.config, w.c[2], w.c[3]
    git(cfg, "switch", "-q", "-c", "saturday")
    w.pin(cfg, at(SAT, "10:00"), c3)
    git(cfg, "switch", "-q", "main")
    w.other(cfg, at(SUN, "10:00"), "meanwhile on main")
    git(cfg, "merge", "-q", "--no-ff", "-m", "merge saturday", "saturday", env=at(MON, "09:00"))
    monkeypatch.setenv("PROMOTER_NOW", f"{TUE}T00:00:00+00:00")
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 3
    assert f"app: {c3[:7]} is soaking in integration until 2026-12-01 09:00 UTC (9h left)" in err
    monkeypatch.setenv("PROMOTER_NOW", f"{TUE}T09:00:00+00:00")
    assert run("-C", cfg, "plan", "app", c3, "--env", "production")[0] == 0
    # fast-forward: the commit is the first-parent commit that brought it, with its own date
    git(cfg, "switch", "-q", "-c", "ff")
    w.pin(cfg, at(MON, "10:00"), c4)
    git(cfg, "switch", "-q", "main")
    git(cfg, "merge", "-q", "--ff-only", "ff")
    monkeypatch.setenv("PROMOTER_NOW", f"{TUE}T09:00:00+00:00")
    code, out, err = run("-C", cfg, "plan", "app", c4, "--env", "production")
    assert code == 3 and f"app: {c4[:7]} is soaking in integration until 2026-12-01 10:00 UTC (1h left)" in err


def shallow_world(tmp_path: Path) -> tuple[World, Path, str]:
    """Integration on c3 from Monday 08:00 on main, then commits of other files until Tuesday
    22:00; a clone of depth 3 (through file://) stops on Tuesday, long after c3 arrived."""
    w = World(tmp_path)
    c3 = w.c[2]
    arrived = w.pin(w.config, at(MON, "08:00"), c3)
    for hour in range(10, 23, 4):  # Monday 10:00 .. 22:00
        w.other(w.config, at(MON, f"{hour:02d}:00"), f"monday {hour}")
    for hour in range(6, 23, 8):  # Tuesday 06:00, 14:00, 22:00
        w.other(w.config, at(TUE, f"{hour:02d}:00"), f"tuesday {hour}")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "3", f"file://{w.config}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    return w, clone, arrived


def test_a_shallow_clone_is_deepened_instead_of_restarting_the_soak(tmp_path: Path, run, now: None) -> None:  # type: ignore[no-untyped-def]
    w, clone, arrived = shallow_world(tmp_path)
    c3 = w.c[2]
    with pytest.raises(subprocess.CalledProcessError):
        git(clone, "cat-file", "-e", arrived)  # not in the clone: beyond its cut
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 0, err  # c3 has run in integration since Monday 08:00 (40 h), not since Tuesday
    assert f"prod [production] prod.yaml: {w.c[0][:7]} -> {c3[:7]}" in out
    # deepened by date, enough for the soak: the commit that brought c3 is there now
    assert git(clone, "cat-file", "-t", arrived) == "commit"
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"  # deepened, not the whole history


def test_a_shallow_clone_that_cannot_be_deepened_is_refused_saying_how_to_fix_it(  # type: ignore[no-untyped-def]
    tmp_path: Path, run, now: None
) -> None:
    w, clone, _ = shallow_world(tmp_path)
    c3 = w.c[2]
    before = snapshot(clone)
    git(clone, "remote", "set-url", "origin", f"file://{tmp_path}/gone")
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 4, err
    assert "app: the config repository is a shallow clone: its history stops at " in err
    assert "where integration already ran" in err and "deepening it from origin failed" in err
    assert "git fetch --unshallow origin; in GitLab CI set GIT_DEPTH: 0" in err and "fetch-depth: 0" in err
    git(clone, "remote", "remove", "origin")
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 3, err
    assert "and there is no remote 'origin' to deepen it from; fetch the whole history" in err
    assert snapshot(clone) == before
    # a version whose answer the cut does not change is judged without deepening: integration
    # never ran c4, whatever came before
    code, out, err = run("-C", clone, "plan", "app", w.c[3], "--env", "production")
    assert code == 3 and f"integration does not run {w.c[3][:7]} on main" in err


def test_a_commit_dated_in_the_future_is_clamped_with_a_warning(tmp_path: Path, run, now: None) -> None:  # type: ignore[no-untyped-def]
    """Integration moved to c3 by a commit whose clock says 2031. As the newest commit it counts
    from the time of judging (soaking a day from now, not until 2031); once a commit with a sane
    date follows it, from that commit's date at the latest."""
    w = World(tmp_path)
    cfg, c3 = w.config, w.c[2]
    future = w.pin(cfg, at("2031-01-01", "00:00"), c3)
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 3
    assert f"app: {c3[:7]} is soaking in integration until 2026-12-03 00:00 UTC (1d left)" in err
    said = f"commit {future[:12]} is dated 2031-01-01 00:00 UTC, in the future (a wrong clock)"
    assert said in err and "counted from 2026-12-02 00:00 UTC" in err and err.count(said) == 1
    code, out, err = run("-C", cfg, "status", "-o", "json")
    envs = {e["environment"]: e["next"] for e in json.loads(out)["components"][0]["environments"]}
    assert any(said in x for x in envs["production"]["warnings"])
    code, out, err = run("-C", cfg, "status", "--env", "production", "-o", "wide")
    assert code == 0, err
    row = next(line for line in out.splitlines() if said in line)
    assert row.split()[0] == "warning" and "integration's history: commit" in row  # under production's line
    # a commit made on Monday 12:00 after it: c3 ran from then at the latest, 36 h ago
    w.other(cfg, at(MON, "12:00"), "after the skewed one")
    code, out, err = run("-C", cfg, "plan", "app", c3, "--env", "production")
    assert code == 0, err
    assert f"warning: integration's history: {said}: what it brought is counted from 2026-11-30 12:00 UTC" in err


def test_a_promotion_branch_made_by_hand_or_a_missing_branch_is_read_where_it_should_be(  # type: ignore[no-untyped-def]
    tmp_path: Path, run, now: None
) -> None:
    """A branch named like a promotion branch with no recorded base (made by hand, or by another
    clone): judged on the remote's default branch, or refused when there is none; a configured
    target branch missing locally is read from its remote-tracking branch."""
    w = World(tmp_path)
    c3 = w.c[2]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{w.config}", str(clone))
    branch = f"promote/app-{c3[:7]}-integration"
    for repo in (clone, w.config):
        git(repo, "switch", "-q", "-c", branch)
        w.pin(repo, at(MON, "08:00"), c3)
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 3 and f"integration does not run {c3[:7]} on main" in err
    code, out, err = run("-C", w.config, "plan", "app", c3, "--env", "production")
    assert code == 3
    assert f"HEAD is on {branch}, a promotion branch, and promoter did not record the branch it was made from" in err
    assert "switch to that branch (git switch main) or set merge_request.target_branch" in err
    # detached, with the configured target branch only as origin/main
    (clone / "promotion.yaml").write_text(
        (clone / "promotion.yaml").read_text() + "merge_request:\n  target_branch: main\n"
    )
    git(clone, "commit", "-qam", "target main")
    git(clone, "switch", "-q", "--detach")
    git(clone, "branch", "-q", "-D", "main", branch)
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 3 and f"integration does not run {c3[:7]} on origin/main" in err
    git(clone, "update-ref", "-d", "refs/remotes/origin/main")
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 3
    assert "environments deploy from main (merge_request.target_branch), and this clone has neither branch main" in err


def test_a_cut_older_than_the_soak_needs_is_unshallowed(tmp_path: Path, run, now: None) -> None:  # type: ignore[no-untyped-def]
    """Integration took c3 on Friday and c5 (a descendant) on Saturday; the clone stops on
    Saturday, after c5: whether integration ran c3 itself is before the cut, which is older than
    any date the soak needs, so the whole history is fetched."""
    w = World(tmp_path)
    c3, c5 = w.c[2], w.c[4]
    w.pin(w.config, at("2026-11-27", "13:00"), c3)
    w.pin(w.config, at(SAT, "10:00"), c5)
    for hour in (12, 14, 16):
        w.other(w.config, at(SAT, f"{hour}:00"), f"saturday {hour}")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "3", f"file://{w.config}", str(clone))
    code, out, err = run("-C", clone, "plan", "app", c3, "--env", "production")
    assert code == 0, err  # c3 from Friday, then its descendant c5: soaked
    assert git(clone, "rev-parse", "--is-shallow-repository") == "false"
