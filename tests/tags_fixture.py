"""An upstream released by tags, and a Helm/kustomize/Argo CD config repository that pins them.

The upstream (`main`):

    c0 -- c1 -- c2 -- c3 -- c4 -- c5          main
          |     |     |     |      \\
       v1.4.2  v1.5.0-rc.1 (annotated)      c6   side (v2.0.0 there: not on main)
                      v1.5.0 (annotated)
                            v1.10.0, latest-build (not semver)

c5 carries no tag. The config repository pins app as `v1.4.2` in Argo CD (`targetRevision`,
staging), `1.4.2` in a kustomization's `images[]` (`newTag`, integration; beside nginx's
`1.25.3`) and `v1.4.2` in Helm values (`image.tag`, production; quoted, beside the sidecar's
`v9.9.9`). Nothing here imports promoter.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import git, make_repo

URL = "https://github.com/org/app"
IMAGE = "quay.io/org/app"
ARGO = "argocd/app-staging.yaml"
KUSTOMIZE = "kustomize/overlays/integration/kustomization.yaml"
HELM = "helm/app/values-production.yaml"


def upstream(root: Path) -> tuple[Path, list[str]]:
    """The upstream above; the shas of c0..c6."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    shas = []
    for n in range(6):
        (root / "VERSION").write_text(f"{n}\n")
        git(root, "add", "VERSION")
        when = f"2026-01-0{n + 1}T10:00:00Z"
        who = {"GIT_AUTHOR_NAME": f"Dev {n % 2}", "GIT_AUTHOR_EMAIL": f"dev{n % 2}@example.com"}
        git(root, "commit", "-q", "-m", f"change {n}", env={"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when, **who})
        shas.append(git(root, "rev-parse", "HEAD"))
    git(root, "tag", "v1.4.2", shas[1])
    git(root, "tag", "-a", "-m", "rc", "v1.5.0-rc.1", shas[2])
    git(root, "tag", "-a", "-m", "1.5.0", "v1.5.0", shas[3])
    git(root, "tag", "v1.10.0", shas[4])
    git(root, "tag", "latest-build", shas[4])
    git(root, "switch", "-q", "-c", "side", shas[5])
    (root / "VERSION").write_text("side\n")
    git(root, "commit", "-qam", "side", env={"GIT_COMMITTER_DATE": "2026-01-08T10:00:00Z"})
    shas.append(git(root, "rev-parse", "HEAD"))
    git(root, "tag", "v2.0.0", shas[6])
    git(root, "switch", "-q", "main")
    return root, shas


def files(version: str = "1.4.2") -> dict[str, str]:
    return {
        ARGO: (
            "apiVersion: argoproj.io/v1alpha1\n"
            "kind: Application\n"
            "metadata:\n"
            "  name: app-staging\n"
            "spec:\n"
            "  source:\n"
            f"    repoURL: {URL}.git\n"
            "    path: deploy/manifests\n"
            f"    targetRevision: v{version}  # the release\n"
        ),
        KUSTOMIZE: (
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            "images:\n"
            "  - name: app\n"
            f"    newName: {IMAGE}\n"
            f"    newTag: {version}\n"
            "  - name: nginx\n"
            "    newTag: 1.25.3\n"
        ),
        HELM: (
            "# Helm values of app in production\n"
            "image:\n"
            f"  repository: {IMAGE}\n"
            f"  tag: 'v{version}'\n"
            "sidecar:\n"
            "  image:\n"
            "    repository: quay.io/org/proxy\n"
            '    tag: "v9.9.9"\n'
        ),
        "README.md": "# deployments\n",
    }


TARGETS = [
    {"name": "argo", "environment": "staging", "file": ARGO, "key": "targetRevision", "format": "tag"},
    {
        "name": "kustomize",
        "environment": "integration",
        "file": KUSTOMIZE,
        "path": "$.images[?(@.name == 'app')].newTag",
        "format": "tag",
        "tag_pattern": "{semver}",
    },
    {"name": "helm", "environment": "production", "file": HELM, "path": "$.image.tag", "format": "tag"},
]


def config(up: Path, extra: tuple[dict[str, object], ...] = (), **component: object) -> str:
    comp = {"repo": URL, "fetch": str(up), "branch": "main", **component, "targets": [*TARGETS, *extra]}
    return yaml.safe_dump({"version": 1, "components": {"app": comp}}, sort_keys=False)


def build(tmp: Path, version: str = "1.4.2", **component: object) -> tuple[Path, Path, list[str]]:
    """The upstream and the config repository pinning app at `version` everywhere."""
    up, shas = upstream(tmp / "upstream")
    repo = make_repo(tmp / "config", {**files(version), "promotion.yaml": config(up, **component)})
    return up, repo, shas


def set_config(repo: Path, up: Path, extra: tuple[dict[str, object], ...] = (), **component: object) -> None:
    (repo / "promotion.yaml").write_text(config(up, extra, **component))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
