from __future__ import annotations

from pathlib import Path

from tests.conftest import git


def test_demo_runs_status_plan_promote_without_network(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("demo", tmp_path / "demo")

    assert (code, err) == (0, "")
    config = tmp_path / "demo" / "app-interface"
    head = git(tmp_path / "demo" / "qontract-reconcile", "rev-parse", "HEAD")
    assert out.count("$ promoter ") == 6
    assert "4 behind" in out and "tracks master" in out
    # the SOP: integration alone first, then the rest
    first = out.index("$ promoter promote qontract-reconcile --env integration --yes")
    rest = out.index("$ promoter promote qontract-reconcile --yes")
    assert f"promoted qontract-reconcile to {head[:7]} in 1 file" in out[first:rest]
    assert f"promoted qontract-reconcile to {head[:7]} in 4 files" in out[rest:]
    assert git(config, "diff", "--name-only").splitlines() == [
        ".env",
        "data/pipelines/tekton-provider-global-defaults.yaml",
        "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml",
        "data/services/app-interface/cicd/ci-int/saas-qontract-reconcile-int.yaml",
        "resources/jenkins/global/defaults.yaml",
    ]
    env = (config / ".env").read_text()
    assert f"export RECONCILE_IMAGE_TAG={head[:7]}\n" in env
    assert "# export RECONCILE_IMAGE_TAG=0000000" in env  # the commented-out pin stays
    saas = (config / "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml").read_text()
    assert f"ref: {head}\n" in saas and "ref: master  # staging" in saas
    assert "ref: 0123456789abcdef0123456789abcdef01234567" in saas  # another component's pin

    # the example is clean: every pin covered (the commented-out one is no pin)
    code, out, err = run("-C", config, "check")
    assert (code, out, err) == (0, "ok: no problems\n", "")


def test_demo_refuses_a_non_empty_directory(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x").write_text("mine")
    code, out, err = run("demo", tmp_path)
    assert code == 2
    assert "is not empty" in err
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
