from __future__ import annotations

from pathlib import Path

from tests.conftest import git


def test_demo_walks_the_sop_and_the_policy_without_network(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("demo", tmp_path / "demo")

    assert (code, err) == (0, "")
    assert "in the future" not in out and "wrong clock" not in out  # the walkthrough's own clock agrees with itself
    config = tmp_path / "demo" / "app-interface"
    head = git(tmp_path / "demo" / "qontract-reconcile", "rev-parse", "HEAD")
    out = out[: out.index("\n# A second example")]  # the first walkthrough (test_demo_tags.py: the second)
    commands = [line for line in out.splitlines() if line.startswith("$ ")]
    assert len(commands) == 8 and sum("promoter " in c for c in commands) == 7
    assert "$ git switch master && git merge promote/qontract-reconcile-d6ecb27-integration" in commands
    assert "4 behind" in out and "tracks master" in out
    # the SOP: integration alone first, committed, merged
    first = out.index("$ promoter promote qontract-reconcile --env integration --yes --commit")
    assert f"promoted qontract-reconcile to {head[:7]} in 1 file" in out[first:]
    # the policy decides: production soaks an hour in integration, the pipelines are held
    now = out.index("$ promoter reconcile")
    later = out.index("$ PROMOTER_NOW=2026-01-02T11:00:00+00:00 promoter reconcile")
    assert f"{head[:7]} is soaking in integration until 2026-01-02 10:00 UTC (1h left)" in out[now:later]
    assert "pipelines is held by Ada Lovelace" in out[now:later]
    assert "production   promote" in out[later:] and "merge request: open" in out[later:]
    promote = out.index("promoter promote qontract-reconcile --env production --yes")
    assert f"promoted qontract-reconcile to {head[:7]} in 1 file" in out[promote:]
    assert git(config, "branch", "--show-current") == "master"
    assert git(config, "diff", "--name-only").splitlines() == [
        "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml"
    ]
    saas = (config / "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml").read_text()
    assert f"ref: {head}\n" in saas and "ref: master  # staging" in saas
    assert "ref: 0123456789abcdef0123456789abcdef01234567" in saas  # another component's pin
    env = (config / ".env").read_text()
    assert "# export RECONCILE_IMAGE_TAG=0000000" in env  # the commented-out pin stays

    # the example is clean: every pin covered (the commented-out one is no pin)
    code, out, err = run("-C", config, "check")
    assert (code, out, err) == (0, "ok: no problems\n", "")


def test_demo_refuses_a_non_empty_directory(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x").write_text("mine")
    code, out, err = run("demo", tmp_path)
    assert code == 2
    assert "is not empty" in err
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_demo_runs_where_git_has_no_identity(tmp_path: Path) -> None:
    """A fresh Debian machine or CI runner: no user.name/user.email anywhere, and git told not to
    guess one (user.useConfigOnly). The demo's repositories carry their own identity."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "EMAIL"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="user.useConfigOnly",
        GIT_CONFIG_VALUE_0="true",
    )
    probe = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0  # the machine as the newcomer has it: git knows no one
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", "demo", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "committed" in proc.stdout and "Author identity unknown" not in proc.stderr


def test_demo_ends_with_app_interface_native_a_publisher_and_an_auto_subscriber(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from promoter.native.confighash import repository_reader, target_config_hash

    code, out, err = run("demo", tmp_path / "demo")
    assert (code, err) == (0, "")
    native = tmp_path / "demo" / "app-interface-native"
    shop = [git(tmp_path / "demo" / "shop", "rev-parse", f"HEAD~{n}") for n in (2, 1, 0)]
    part = out[out.index("\n# A third example: app-interface native") :]
    assert not (native / "promotion.yaml").exists() and "no promotion.yaml" in part
    commands = [line.split(" promoter ", 1)[1] for line in part.splitlines() if line.startswith("$ ")]
    assert commands == [
        "status",
        "reconcile",
        "plan shop --target saas-shop/shop/shop-production",
        "promote shop --target saas-shop/shop/shop-production --yes",
    ]
    decided = part[part.index("promoter reconcile") : part.index("promoter plan")]
    # production follows what stage runs (not the branch's head); stage is left to people
    assert f"shop-production  promote         to {shop[1][:7]}" in decided
    assert "shop-stage       manual" in decided
    assert f"promoted shop to {shop[1][:7]} in 1 file" in part
    saas = "data/services/shop/cicd/saas-shop.yaml"
    assert git(native, "diff", "--name-only").splitlines() == [saas]
    doc = yaml.safe_load((native / saas).read_text())
    stage, production = doc["resourceTemplates"][0]["targets"]
    assert (stage["ref"], production["ref"]) == (shop[1], shop[1])
    hashed = target_config_hash(doc, 0, 0, repository_reader(str(native)), "862eebc")
    assert production["promotion"]["promotion_data"][0]["data"][0]["target_config_hash"] == hashed
    assert f"target_config_hash: {hashed}" in git(native, "diff")
