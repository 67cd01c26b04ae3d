"""`check --base REV` judges a change by the base's rules: the policy, the holds, `blocked:` and
`hotfix:`, the windows and each target's environment are read at REV, never from the change under
review; a change of policy is its own problem (`policy-changed`), a pin turned into a non-pin is
one (`unpinned`), and REV is any git revision. Real git repositories; the clock is PROMOTER_NOW."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, make_repo

MON = "2026-11-30"  # a Monday
NOW = "2026-12-02T00:00:00+00:00"  # Wednesday 00:00
HOLD = (
    "holds:\n  - component: app\n    environments: [production]\n    reason: freeze\n"
    '    author: Ada <ada@example.com>\n    since: "2026-11-29T00:00:00Z"\n'
)


def at(day: str, time: str) -> dict[str, str]:
    stamp = f"{day}T{time}:00+00:00"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def prod_text(first: str, second: str | None = None) -> str:
    """prod.yaml: two documents, each pinning production (a `key:` locator finds both)."""
    return f"name: eu-west\nref: {first}\n---\nname: us-east\nref: {first if second is None else second}\n"


class World:
    """Upstream c1..c5 (a week before); integration ran c1 from Monday 08:00, c3 from 18:00 and c5
    from Tuesday 14:00; production (prod.yaml, prod-eu.yaml) runs c1; production comes 24 h after
    integration. It is Wednesday 00:00: c3 has soaked 30 h, c5 10 h, c2 and c4 never ran."""

    def __init__(self, root: Path, base: dict[str, str], holds: str | None = None) -> None:
        self.up = root / "up"
        self.up.mkdir()
        git(self.up, "init", "-q", "-b", "main")
        self.c: list[str] = []
        for i in range(1, 6):
            (self.up / "f").write_text(f"{i}\n")
            git(self.up, "add", "f")
            git(self.up, "commit", "-qm", f"c{i}", env=at("2026-11-23", f"0{i}:00"))
            self.c.append(git(self.up, "rev-parse", "HEAD"))
        with pytest.MonkeyPatch.context() as mp:
            for var, value in at("2026-11-29", "12:00").items():
                mp.setenv(var, value)
            files = {
                "promotion.yaml": self.config(**base),
                "int.yaml": f"ref: {'0' * 40}\n",
                "prod.yaml": prod_text(self.c[0]),
                "prod-eu.yaml": f"ref: {self.c[0]}\n",
            }
            if holds is not None:
                files["promotion-holds.yaml"] = holds
            self.repo = make_repo(root / "config", files)
        for sha, day, time in (
            (self.c[0], MON, "08:00"),
            (self.c[2], MON, "18:00"),
            (self.c[4], "2026-12-01", "14:00"),
        ):
            (self.repo / "int.yaml").write_text(f"ref: {sha}\n")
            git(self.repo, "commit", "-qam", f"integration to {sha[:7]}", env=at(day, time))
        git(self.repo, "switch", "-q", "-c", "by-hand")

    def config(
        self,
        after: str = "[integration]",
        soak: str = "24h",
        windows: str = "",
        blocked: str = "",
        hotfix: str = "",
        prod_env: str = "production",
        holds: str = "",
    ) -> str:
        comp = (f"    blocked: [{blocked}]\n" if blocked else "") + (f"    hotfix: [{hotfix}]\n" if hotfix else "")
        env = "  production:\n" + (f"    after: {after}\n" if after else "") + (f"    soak: {soak}\n" if soak else "")
        return (
            "version: 1\ncomponents:\n  app:\n    repo: https://github.com/org/app\n"
            f"    fetch: {self.up}\n    branch: main\n{comp}    targets:\n"
            "      - {name: int, environment: integration, file: int.yaml, key: ref, format: sha}\n"
            f"      - {{name: prod, environment: {prod_env}, file: prod.yaml, key: ref, format: sha}}\n"
            "      - {name: prod-eu, environment: production, file: prod-eu.yaml, key: ref, format: sha}\n"
            "environments:\n" + env + windows + (f"holds: {holds}\n" if holds else "")
        )

    def change(
        self, config: dict[str, str] | None = None, prod: str | None = None, files: dict[str, str] | None = None
    ) -> None:
        """The change under review: a commit on `by-hand` (the base is main); `prod`: production's
        new version, in both of its files."""
        if config is not None:
            (self.repo / "promotion.yaml").write_text(self.config(**config))
        if prod is not None:
            (self.repo / "prod.yaml").write_text(prod_text(prod))
            (self.repo / "prod-eu.yaml").write_text(f"ref: {prod}\n")
        for name, text in (files or {}).items():
            (self.repo / name).write_text(text)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "by hand")


def check(run: Any, repo: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("-C", repo, "check", "-o", "json", *argv)
    assert out, err
    return code, json.loads(out)


def line_of(repo: Path, file: str, text: str) -> int:
    lines = (repo / file).read_text().split("\n")
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


@pytest.fixture(autouse=True)
def _wednesday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMOTER_NOW", NOW)


WINDOW = "    windows:\n      - deny: '0 20 * * TUE'\n        duration: 8h\n"

# name: (base config, change config, production's new version (index of c), the base's rule that
# refuses it, where the policy change stands in the change: (file, start of its line))
BYPASSES = {
    "soak set to 0s": ({}, {"soak": "0s"}, 4, "policy-soaking", ("promotion.yaml", "    soak: 0s")),
    "after removed": ({}, {"after": "", "soak": ""}, 3, "policy-after", ("promotion.yaml", "  production:")),
    "version added to hotfix": ({}, {"hotfix": "C5"}, 4, "policy-soaking", ("promotion.yaml", "    hotfix:")),
    "blocked entry removed": ({"blocked": "C3"}, {"blocked": ""}, 2, "policy-blocked", ("promotion.yaml", "  app:")),
    "deny window removed": (
        {"windows": WINDOW},
        {"windows": ""},
        2,
        "policy-window",
        ("promotion.yaml", "  production:"),
    ),
    "target moved to another environment": (
        {},
        {"prod_env": "integration"},
        4,
        "policy-soaking",
        ("promotion.yaml", "      - {name: prod,"),
    ),
    "holds pointed at another file": (
        {},
        {"holds": "other-holds.yaml"},
        2,
        "policy-held",
        ("promotion.yaml", "holds: other-holds.yaml"),
    ),
}


@pytest.mark.parametrize("case", list(BYPASSES))
def test_a_policy_edit_in_the_same_change_does_not_lift_the_base_rule(tmp_path: Path, run: Any, case: str) -> None:
    base, change, version, kind, (file, line_start) = BYPASSES[case]
    w = World(tmp_path, {}, HOLD if kind == "policy-held" else None)
    c = w.c

    def fill(d: dict[str, str]) -> dict[str, str]:
        return {k: v.replace("C5", c[4][:9]).replace("C3", c[2][:7]) for k, v in d.items()}

    if base:  # the rule is on main already, before the change branches off
        git(w.repo, "switch", "-q", "main")
        (w.repo / "promotion.yaml").write_text(w.config(**fill(base)))
        git(w.repo, "commit", "-qam", "policy")
        git(w.repo, "switch", "-q", "-C", "by-hand")
    w.change({**fill(base), **fill(change)}, prod=c[version])
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 3, doc
    kinds = {(p["kind"], p["target"], p["file"], p["line"]) for p in doc["problems"]}
    assert (kind, "prod", "prod.yaml", 2) in kinds, doc  # the base's rule, at the new value
    assert (kind, "prod", "prod.yaml", 5) in kinds, doc
    changed = [p for p in doc["problems"] if p["kind"] == "policy-changed"]
    assert changed and all(p["level"] == "error" for p in changed), doc  # mixed with a promotion: refused
    assert (file, line_of(w.repo, file, line_start)) in {(p["file"], p["line"]) for p in changed}, changed
    assert doc["ok"] is False
    code, out, err = run("-C", w.repo, "check", "--base", "main")
    assert code == 3 and "split" in out, out  # the text says what to do


def test_a_hold_removed_from_the_holds_file_still_holds(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {}, HOLD)
    w.change(prod=w.c[2], files={"promotion-holds.yaml": "holds: []\n"})  # c3 soaked: only the hold stops it
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 3, doc
    got = {(p["kind"], p["file"], p["line"], p["environment"]) for p in doc["problems"]}
    assert ("policy-held", "prod.yaml", 2, "production") in got, doc
    assert ("policy-changed", "promotion-holds.yaml", 1, "production") in got, doc
    message = next(p["message"] for p in doc["problems"] if p["kind"] == "policy-changed")
    assert "freeze" in message and "main" in message, message


def test_a_hold_added_with_the_promotion_is_no_policy_change(tmp_path: Path, run: Any) -> None:
    """A rollback by hand writes a hold in the same change: adding a hold only tightens."""
    w = World(tmp_path, {})
    w.change(prod=w.c[2], files={"promotion-holds.yaml": HOLD})
    code, out, err = run("-C", w.repo, "check", "--base", "main")
    assert (code, out) == (0, "ok: no problems\n"), out + err


def test_a_change_of_policy_alone_passes_with_notes(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    w.change({"soak": "48h", "hotfix": w.c[4][:9]})
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 0, doc
    assert doc["ok"] is True
    notes = {(p["kind"], p["level"], p["line"]) for p in doc["problems"]}
    assert notes == {
        ("policy-changed", "note", line_of(w.repo, "promotion.yaml", "    soak: 48h")),
        ("policy-changed", "note", line_of(w.repo, "promotion.yaml", "    hotfix:")),
    }, doc
    code, out, err = run("-C", w.repo, "check", "--base", "main")
    assert code == 0, out
    assert f"promotion.yaml:{line_of(w.repo, 'promotion.yaml', '    soak: 48h')}: note: app: " in out, out
    assert "soak 1d -> 2d" in out and out.endswith("ok: no problems; 2 notes\n"), out


def test_a_change_of_automatic_rollback_is_a_policy_change(tmp_path: Path, run: Any) -> None:
    verify = '    verify:\n      - command: ["true"]\n'
    w = World(tmp_path, {"windows": verify + "    rollback: {on: verify, grace: 15m}\n"})
    w.change({"windows": verify + "    rollback: {on: verify, grace: 1d}\n"})
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 0, doc
    ((p),) = doc["problems"]
    assert (p["kind"], p["level"], p["line"]) == (
        "policy-changed",
        "note",
        line_of(w.repo, "promotion.yaml", "    rollback:"),
    ), doc
    assert "rollback on verify, grace 15m -> on verify, grace 1d" in p["message"]


def test_the_same_promotion_without_a_policy_edit_passes(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    w.change(prod=w.c[2])  # c3 has soaked 30 h
    code, out, err = run("-C", w.repo, "check", "--base", "main")
    assert (code, out) == (0, "ok: no problems\n"), out + err


# -- non-pins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"), [("a branch", "master"), ("the sha upper-cased", "UPPER"), ("an empty value", '""')]
)
def test_a_pin_turned_into_a_non_pin_is_a_problem(tmp_path: Path, run: Any, name: str, value: str) -> None:
    w = World(tmp_path, {})
    value = w.c[0].upper() if value == "UPPER" else value
    w.change(files={"prod.yaml": prod_text(w.c[0], value)})  # the first document still pins c1
    code, doc = check(run, w.repo, "--base", "main", "--offline")
    assert code == 3, doc
    got = [(p["kind"], p["target"], p["environment"], p["file"], p["line"], p["version"]) for p in doc["problems"]]
    assert got == [("unpinned", "prod", "production", "prod.yaml", 5, {"value": w.c[0], "sha": w.c[0]})], doc


def test_a_key_emptied_is_a_problem_too(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    w.change(files={"prod.yaml": prod_text(w.c[0]).replace(f"ref: {w.c[0]}\n", "ref:\n", 1)})  # the first document's
    code, doc = check(run, w.repo, "--base", "main", "--offline")
    assert code == 3, doc
    assert [(p["kind"], p["file"], p["line"]) for p in doc["problems"]] == [("unpinned", "prod.yaml", 2)], doc


def saas(*targets: tuple[str, str]) -> str:
    """A saas file building app into the namespaces given, in that order: (namespace, ref)."""
    head = "resourceTemplates:\n- name: app\n  url: https://github.com/org/app\n  targets:\n"
    return head + "".join(f"  - namespace:\n      $ref: /namespaces/{ns}.yml\n    ref: {ref}\n" for ns, ref in targets)


def test_a_saas_target_unpinned_while_another_still_pins(tmp_path: Path, run: Any) -> None:
    """Places are matched by their resource template and namespace, not by their order."""
    w = World(tmp_path, {})
    c1 = w.c[0]
    git(w.repo, "switch", "-q", "main")
    (w.repo / "saas.yaml").write_text(saas(("prod-a", c1), ("prod-b", c1), ("stage", "master")))
    text = (
        (w.repo / "promotion.yaml")
        .read_text()
        .replace(
            "environments:", "      - {name: saas, environment: production, file: saas.yaml, saas: {}}\nenvironments:"
        )
    )
    (w.repo / "promotion.yaml").write_text(text)
    git(w.repo, "add", "-A")
    git(w.repo, "commit", "-qm", "a saas file")
    git(w.repo, "switch", "-q", "-C", "by-hand")
    # reordered: stage (which tracked master at the base already) first; prod-b follows master now
    w.change(files={"saas.yaml": saas(("stage", "master"), ("prod-b", "master"), ("prod-a", c1))})
    code, doc = check(run, w.repo, "--base", "main", "--offline")
    assert code == 3, doc
    got = [(p["kind"], p["target"], p["file"], p["line"]) for p in doc["problems"]]
    assert got == [("unpinned", "saas", "saas.yaml", 10)], doc  # prod-b's ref, not stage's
    w.change(files={"saas.yaml": saas(("stage", "master"), ("prod-b", c1), ("prod-a", c1))})  # reordered only
    assert run("-C", w.repo, "check", "--base", "main", "--offline")[:2] == (0, "ok: no problems\n")


# -- any revision --------------------------------------------------------------------------------


@pytest.fixture
def blocked(tmp_path: Path) -> World:
    """main blocks c3; the change (one commit on by-hand) pins production to it."""
    w = World(tmp_path, {})
    git(w.repo, "switch", "-q", "main")
    (w.repo / "promotion.yaml").write_text(w.config(blocked=w.c[2][:7]))
    git(w.repo, "commit", "-qam", "block c3")
    git(w.repo, "switch", "-q", "-C", "by-hand")
    w.change(prod=w.c[2])
    return w


def refused_as_blocked(run: Any, w: World, base: str) -> None:
    code, doc = check(run, w.repo, "--base", base, "--offline")
    assert code == 3, doc
    assert {(p["kind"], p["file"], p["line"]) for p in doc["problems"]} == {
        ("policy-blocked", "prod.yaml", 2),
        ("policy-blocked", "prod.yaml", 5),
        ("policy-blocked", "prod-eu.yaml", 1),
    }, doc


def test_base_head_tilde_one(blocked: World, run: Any) -> None:
    refused_as_blocked(run, blocked, "HEAD~1")


def test_base_the_upstream_of_the_branch(blocked: World, run: Any) -> None:
    git(blocked.repo, "branch", "-q", "--set-upstream-to=main")
    refused_as_blocked(run, blocked, "@{upstream}")
    refused_as_blocked(run, blocked, "@{u}")


def test_base_a_tag(blocked: World, run: Any) -> None:
    git(blocked.repo, "tag", "-a", "-m", "reviewed", "v1", "main")  # an annotated tag: its commit
    refused_as_blocked(run, blocked, "v1")


def test_base_a_remote_branch(blocked: World, run: Any, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(blocked.repo, "remote", "add", "origin", str(remote))
    git(blocked.repo, "push", "-q", "origin", "main:master")
    git(blocked.repo, "fetch", "-q", "origin")
    refused_as_blocked(run, blocked, "origin/master")


def test_base_that_git_would_read_as_an_option_is_a_usage_error(blocked: World, run: Any) -> None:
    for argv in (["--base=-x"], ["--base=--output=/tmp/x"]):
        code, out, err = run("-C", blocked.repo, "check", *argv)
        assert code == 2, err
        assert "starts with '-'" in err, err


def test_an_unknown_base_is_a_usage_error_naming_it(blocked: World, run: Any) -> None:
    code, out, err = run("-C", blocked.repo, "check", "--base", "no-such-branch")
    assert code == 2, err
    assert "--base 'no-such-branch'" in err and "names no commit" in err, err
    code, out, err = run("-C", blocked.repo, "check", "--base", "@{upstream}")  # none set
    assert code == 2 and "no upstream" in err, err


def test_a_base_without_a_config_or_with_a_broken_one_is_said_plainly(blocked: World, run: Any) -> None:
    empty = git(blocked.repo, "hash-object", "-t", "tree", "/dev/null")
    bare = git(blocked.repo, "commit-tree", empty, "-m", "nothing")
    code, out, err = run("-C", blocked.repo, "check", "--base", bare)
    assert code == 2, err
    assert f"no promotion.yaml at {bare}" in err, err
    git(blocked.repo, "switch", "-q", "-c", "broken", "main")
    (blocked.repo / "promotion.yaml").write_text("version: 1\ncomponents: [\n")
    git(blocked.repo, "commit", "-qam", "broken")
    git(blocked.repo, "switch", "-q", "by-hand")
    code, out, err = run("-C", blocked.repo, "check", "--base", "broken")
    assert code == 2, err
    assert "broken:promotion.yaml:" in err and "invalid YAML" in err, err


# -- targets the change relocates, adds, or makes unreadable -------------------------------------------


def test_a_target_relocated_by_the_change_is_judged_where_it_points_now(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    git(w.repo, "mv", "prod-eu.yaml", "prod-eu-new.yaml")
    text = w.config().replace(  # and into integration, where no rule would stop it
        "prod-eu, environment: production, file: prod-eu.yaml",
        "prod-eu, environment: integration, file: prod-eu-new.yaml",
    )
    w.change(files={"promotion.yaml": text, "prod-eu-new.yaml": f"ref: {w.c[4]}\n"})
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 3, doc
    got = {(p["kind"], p["target"], p["environment"], p["file"]) for p in doc["problems"]}
    assert ("policy-soaking", "prod-eu", "production", "prod-eu-new.yaml") in got, doc  # the base's environment


def test_a_target_added_by_the_change_is_judged_by_its_environment_at_the_base(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    text = w.config(soak="0s").replace(
        "environments:", "      - {name: prod-us, environment: production, file: prod-us.yaml, key: ref}\nenvironments:"
    )
    w.change(files={"promotion.yaml": text, "prod-us.yaml": f"ref: {w.c[4][:7]}\n"})
    code, doc = check(run, w.repo, "--base", "main")
    assert code == 3, doc
    got = {(p["kind"], p["target"], p["file"], p["level"]) for p in doc["problems"]}
    assert ("policy-soaking", "prod-us", "prod-us.yaml", "error") in got, doc
    assert ("policy-changed", "prod-us", "promotion.yaml", "error") in got, doc  # target added, with a pin


def test_a_pin_made_unreadable_is_unpinned(tmp_path: Path, run: Any) -> None:
    w = World(tmp_path, {})
    w.change(files={"prod-eu.yaml": "branch: &b master\nref: *b\n"})  # production would follow master
    code, doc = check(run, w.repo, "--base", "main", "--offline")
    assert code == 3, doc
    got = {(p["kind"], p["target"], p["file"], p["line"]) for p in doc["problems"]}
    assert ("unpinned", "prod-eu", "prod-eu.yaml", 2) in got, doc


def test_a_target_that_locates_only_a_branch_now_is_unpinned(tmp_path: Path, run: Any) -> None:
    """A glob's file renamed to one that tracks master: no place matches, the target pins nothing."""
    w = World(tmp_path, {})
    git(w.repo, "switch", "-q", "main")
    (w.repo / "eu").mkdir()
    (w.repo / "eu" / "a.yaml").write_text(f"ref: {w.c[0]}\n")
    text = (w.repo / "promotion.yaml").read_text()
    extra = "      - {name: eu, environment: production, files: eu/*.yaml, key: ref, format: sha, optional: true}\n"
    (w.repo / "promotion.yaml").write_text(text.replace("environments:", extra + "environments:"))
    git(w.repo, "add", "-A")
    git(w.repo, "commit", "-qm", "eu")
    git(w.repo, "switch", "-q", "-C", "by-hand")
    git(w.repo, "mv", "eu/a.yaml", "eu/b.yaml")
    w.change(files={"eu/b.yaml": "ref: master\n"})
    code, doc = check(run, w.repo, "--base", "main", "--offline")
    assert code == 3, doc
    assert [(p["kind"], p["target"], p["file"]) for p in doc["problems"]] == [("unpinned", "eu", "eu/b.yaml")], doc


def test_the_base_config_reads_its_own_files_at_the_base(tmp_path: Path, run: Any) -> None:
    """`people: people.yaml` at the base is read at the base, even when the change removes it."""
    w = World(tmp_path, {})
    git(w.repo, "switch", "-q", "main")
    (w.repo / "people.yaml").write_text("ada@example.com: '@ada'\n")
    (w.repo / "promotion.yaml").write_text(w.config() + "people: people.yaml\n")
    git(w.repo, "add", "-A")
    git(w.repo, "commit", "-qm", "people")
    git(w.repo, "switch", "-q", "-C", "by-hand")
    git(w.repo, "rm", "-q", "people.yaml")
    w.change({}, prod=w.c[2])
    code, out, err = run("-C", w.repo, "check", "--base", "main")
    assert (code, out) == (0, "ok: no problems\n"), out + err
