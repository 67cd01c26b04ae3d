"""A small GitOps config repository of the usual kinds, and the upstream it deploys.

`build(tmp)` makes a local upstream repository (a monorepo: `app` and `worker` are both built
from it, images `quay.io/org/app` and `quay.io/org/worker`) and a config repository pinning
`app` the ways real repositories do, each file with something beside the pin that a sloppy
target would also catch:

- Helm values: `image: {repository: quay.io/org/app, tag: <short>}` and the worker's image
  (`worker.image.repository`/`tag`) at the same commit, in the same file;
- a kustomization whose `images[]` (`name`, `newName`, `newTag`) holds app's, worker's (the same
  commit) and nginx's (`1.25.3`);
- an Argo CD Application (`spec.source.targetRevision: <sha>`);
- a `.tfvars` (`app_version = "<sha>"`, beside an unrelated hex value);
- a docker compose file (`image: quay.io/org/app:<short>`, and worker's at the same commit);
- an app-interface saas file (a resource template of the repo, refs of two namespaces).

`APP` lists where app's pins are (file, line, format) and `WORKER` where worker's are,
so a test can tell a promotion that changed exactly app's values from one that changed more.
Nothing here imports promoter.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import git, make_repo

URL = "https://github.com/org/app"
IMAGE = "quay.io/org/app"
WORKER_IMAGE = "quay.io/org/worker"

HELM = "helm/app/values-production.yaml"
KUSTOMIZE = "kustomize/overlays/integration/kustomization.yaml"
ARGO = "argocd/app-staging.yaml"
TFVARS = "terraform/production.tfvars"
COMPOSE = "compose/docker-compose.yml"
SAAS = "data/services/app/cicd/saas-app.yaml"


def upstream(root: Path, commits: int = 4) -> tuple[Path, list[str]]:
    """A local upstream repository on `main` with `commits` commits; their shas, oldest first."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    shas = []
    for n in range(commits):
        (root / "VERSION").write_text(f"{n}\n")
        git(root, "add", "VERSION")
        when = f"2026-01-0{n + 1}T10:00:00Z"  # the same shas on every run: the tests read the same text
        git(root, "commit", "-q", "-m", f"change {n}", env={"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when})
        shas.append(git(root, "rev-parse", "HEAD"))
    return root, shas


def files(app: str, worker: str, other_hex: str = "0123456789abcdef0123456789abcdef01234567") -> dict[str, str]:
    """The config repository's files with app at commit `app` and worker at `worker` (full shas)."""
    a, w = app[:7], worker[:7]
    return {
        HELM: (
            "# Helm values of app in production\n"
            "replicaCount: 3\n"
            "image:\n"
            f"  repository: {IMAGE}\n"
            f'  tag: "{a}"\n'
            "  pullPolicy: IfNotPresent\n"
            "worker:\n"
            "  replicaCount: 2\n"
            "  image:\n"
            f"    repository: {WORKER_IMAGE}\n"
            f'    tag: "{w}"\n'
        ),
        KUSTOMIZE: (
            "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n"
            "resources:\n"
            "  - ../../base\n"
            "images:\n"
            "  - name: app\n"
            f"    newName: {IMAGE}\n"
            f"    newTag: {a}\n"
            f"  - name: {WORKER_IMAGE}\n"
            f"    newTag: {w}\n"
            "  - name: nginx\n"
            "    newName: quay.io/nginx/nginx-unprivileged\n"
            "    newTag: 1.25.3\n"
        ),
        ARGO: (
            "apiVersion: argoproj.io/v1alpha1\n"
            "kind: Application\n"
            "metadata:\n"
            "  name: app-staging\n"
            "  namespace: argocd\n"
            "spec:\n"
            "  project: default\n"
            "  source:\n"
            f"    repoURL: {URL}.git\n"
            "    path: deploy/manifests\n"
            f"    targetRevision: {app}\n"
            "  destination:\n"
            "    server: https://kubernetes.default.svc\n"
            "    namespace: app-staging\n"
        ),
        TFVARS: (
            'region      = "eu-west-1"\n'  # aligned, as terraform fmt writes it
            f'app_version = "{app}"\n'
            f'ami_build   = "{other_hex}"\n'
            "replicas    = 3\n"
        ),
        COMPOSE: (
            "services:\n"
            "  app:\n"
            f"    image: {IMAGE}:{a}\n"
            '    ports: ["8080:8080"]\n'
            "  worker:\n"
            f"    image: {WORKER_IMAGE}:{w}\n"
            "  db:\n"
            "    image: postgres:16\n"
        ),
        SAAS: (
            "$schema: /app-sre/saas-file-2.yml\n"
            "name: saas-app\n"
            "resourceTemplates:\n"
            "- name: app\n"
            f"  url: {URL}\n"
            "  path: /openshift/app.yaml\n"
            "  targets:\n"
            "  - namespace:\n"
            "      $ref: /services/app/namespaces/app-stage.yml\n"
            "    ref: main\n"
            "  - namespace:\n"
            "      $ref: /services/app/namespaces/app-production.yml\n"
            f"    ref: {app}\n"
        ),
        "README.md": "# deployments\n",
    }


# where app's and worker's pins are: (file, line, format)
APP = [
    (HELM, 5, "short"),
    (KUSTOMIZE, 8, "short"),
    (ARGO, 11, "sha"),
    (TFVARS, 2, "sha"),
    (COMPOSE, 3, "short"),
    (SAAS, 13, "sha"),
]
WORKER = [(HELM, 11, "short"), (KUSTOMIZE, 10, "short"), (COMPOSE, 6, "short")]


def build(tmp: Path, app: int = 1, worker: int = 1) -> tuple[Path, Path, list[str]]:
    """The upstream and the config repository (app at commit `app`, worker at `worker`, indexes
    into the upstream's shas), and the shas."""
    up, shas = upstream(tmp / "upstream")
    repo = make_repo(tmp / "config", files(shas[app], shas[worker]))
    return up, repo, shas


def moved(before: dict[str, str], pins: list[tuple[str, int, str]], old: str, new: str) -> dict[str, str]:
    """`before` (file -> text) with exactly the values at `pins` moved from commit `old` to `new`."""
    out = dict(before)
    for file, number, fmt in pins:
        lines = out[file].split("\n")
        was, now = (old, new) if fmt == "sha" else (old[:7], new[:7])
        # a short sha YAML reads as a number (1234567, 3e10107) is quoted by the engine; this oracle does not
        assert not re.fullmatch(r"[0-9]*[eE]?[0-9]+", now), f"{now}: pick commits whose short sha reads as text"
        assert lines[number - 1].count(was) == 1, (file, number, lines[number - 1])
        lines[number - 1] = lines[number - 1].replace(was, now)
        out[file] = "\n".join(lines)
    return out
