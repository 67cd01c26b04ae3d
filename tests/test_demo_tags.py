"""`promoter demo`'s second example (issue 22): release tags as versions, in a Helm/kustomize/Argo
CD repository, walked through the real command line after the first one."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git


def test_the_demo_promotes_release_tags_in_a_gitops_repository(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("demo", tmp_path / "demo")
    assert (code, err) == (0, "")
    second = out[out.index("\n# A second example: release tags as versions\n") :]
    second = second[: second.index("\n# A third example")]  # (test_demo.py: the third)
    commands = [line for line in second.splitlines() if line.startswith("$ ")]
    assert commands == [
        "$ promoter status",
        "$ promoter plan app",
        "$ promoter changelog app v1.5.1 --from v1.4.2",
        "$ promoter promote app --env staging --yes --commit",
        "$ promoter status",
    ]
    app, gitops = tmp_path / "demo" / "app", tmp_path / "demo" / "gitops"
    v151 = git(app, "rev-parse", "v1.5.1^{commit}")
    # status: the tags and how many releases behind; v1.4.2 and 1.4.2 are one version
    first = second[: second.index("$ promoter plan app")]
    assert "app: upstream head" in first and "newest release v1.5.1" in first
    assert "production" in first and "2 versions" not in first and "2 behind: v1.5.1" in first
    # the plan: the highest release within ^1, each file in its own way of writing it
    assert "kustomize-production [production] kustomize/overlays/production/kustomization.yaml: 1.4.2 -> 1.5.1" in (
        second
    )
    assert "4 commits from v1.4.2 (" in second
    message = git(gitops, "log", "-1", "--format=%B")
    assert message.startswith("promote app v1.4.2 to v1.5.1 in staging\n")
    assert f"Promoted-Tag: v1.5.1 {v151}\n" in message
    assert "targetRevision: v1.5.1  # a release tag\n" in (gitops / "argocd/app-staging.yaml").read_text()
    last = second[second.rindex("$ promoter status") :]
    assert "up-to-date: runs v1.5.1" in last
    # the example is clean
    code, out, err = run("-C", gitops, "check")
    assert (code, out, err) == (0, "ok: no problems\n", "")
