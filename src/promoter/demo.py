"""`promoter demo`: a self-contained example, built from scratch and promoted, with no network.

It makes an upstream repository (a stand-in for qontract-reconcile, commits by several authors)
and an app-interface-like config repository pinning it in saas files, a `.env`, Jenkins
defaults and Tekton shared resources, with a policy (production after integration, an hour of
soak; the pipelines held), then walks the SOP on it (status; plan and promote integration alone;
merge it; what `reconcile` decides, then and two hours later; promote production) through the
real command line (the CLI hands its entry point
in: the demo never imports the CLI). The directory is left for the user to explore.

A second example follows: an upstream released by tags (`v1.4.2` … `v2.0.0`) and a GitOps
repository pinning them in an Argo CD Application, a kustomization's `images[]` (`1.4.2`, beside
another image's tag) and Helm values, promoted to the highest release within `constraint: ^1`.

A third, app-interface native: a checkout with no promotion.yaml, whose saas file has a
publisher (stage, pinned) and an auto subscriber (production, `promotion.auto`, with its
`promotion_data`): `status`, what `reconcile` decides (production to what stage runs), its `plan`
(the ref and the target_config_hash) and `promote`. Its upstream's url is rewritten to a local
repository for git (`url.<path>.insteadOf`, in git's environment, for those commands alone).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from promoter.upstream.git import Git

REPO_URL = "https://github.com/app-sre/qontract-reconcile"

_AUTHORS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Linus Benedict", "linus@example.com"),
]
_COMMITS = [
    (0, "initial integration runner"),
    (1, "saas-deploy: retry on conflict"),
    (2, "terraform-resources: support ca_cert"),
    (0, "openshift-groups: skip deleted clusters"),
    (1, "gitlab-mr: label promotions"),
    (2, "jenkins: bump timeouts"),
]


def _saas(name: str, prod_ref: str, namespace: str) -> str:
    return f"""---
$schema: /app-sre/saas-file-2.yml

labels:
  service: app-interface

name: {name}
description: 'SaaS tracking file for App-interface'

app:
  $ref: /services/app-interface/app.yml

resourceTemplates:
- name: qontract-reconcile
  url: {REPO_URL}
  path: /openshift/qontract-reconcile.yaml
  targets:
  - namespace:
      $ref: /services/app-interface/namespaces/{namespace}-stage.yml
    ref: master  # staging follows the branch
  - namespace:
      $ref: /services/app-interface/namespaces/{namespace}.yml
    ref: {prod_ref}
- name: qontract-server
  url: https://github.com/app-sre/qontract-server
  path: /openshift/qontract-server.yaml
  targets:
  - namespace:
      $ref: /services/app-interface/namespaces/{namespace}.yml
    ref: 0123456789abcdef0123456789abcdef01234567
"""


def _namespace(name: str, cluster: str, environment: str) -> str:
    """A namespace file: where a saas target deploys, and the environment that is (app-interface native)."""
    return f"""---
$schema: /openshift/namespace-1.yml

name: {name}
description: {name} on {cluster}

cluster:
  $ref: /openshift/{cluster}/cluster.yml

app:
  $ref: /services/app-interface/app.yml

environment:
  $ref: /products/app-interface/environments/{environment}.yml
"""


def _environment(name: str, kind: str) -> str:
    return f"---\n$schema: /app-sre/environment-1.yml\n\nlabels:\n  type: {kind}\n\nname: {name}\n"


def _context_files() -> dict[str, str]:
    """The files the saas files' `$ref`s name: namespaces, their environments and clusters."""
    files = {
        "data/services/app-interface/app.yml": "---\n$schema: /app-sre/app-1.yml\n\nname: app-interface\n",
    }
    for cluster, suffix in (("app-sre-prod-01", ""), ("appsres03ue1", "-int")):
        files[f"data/openshift/{cluster}/cluster.yml"] = f"---\n$schema: /openshift/cluster-1.yml\n\nname: {cluster}\n"
        for env, kind in (("production", "production"), ("stage", "stage")):
            namespace = f"app-interface-production{suffix}" + ("-stage" if env == "stage" else "")
            environment = f"{env}{suffix}"
            files[f"data/services/app-interface/namespaces/{namespace}.yml"] = _namespace(
                namespace, cluster, environment
            )
            files[f"data/products/app-interface/environments/{environment}.yml"] = _environment(
                f"app-interface-{environment}", kind
            )
    return files


def _config_files(deployed: str, upstream: Path) -> dict[str, str]:
    short = deployed[:7]
    return {
        **_context_files(),
        "promotion.yaml": f"""version: 1
components:
  qontract-reconcile:
    repo: {REPO_URL}
    fetch: ../{upstream.name}   # where git fetches from: a local repository in this demo
    branch: master
    targets:
      - name: saas-production
        environment: production
        file: data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml
        saas: {{}}
      - name: saas-integration
        environment: integration
        file: data/services/app-interface/cicd/ci-int/saas-qontract-reconcile-int.yaml
        saas: {{}}
      - name: dotenv
        environment: pipelines
        file: .env
        env: RECONCILE_IMAGE_TAG
      - name: jenkins-defaults
        environment: pipelines
        file: resources/jenkins/global/defaults.yaml
        key: qontract_reconcile_image_tag
      - name: tekton-defaults
        environment: pipelines
        files: data/pipelines/tekton-*.yaml
        key: qontract_reconcile_image_tag
environments:
  production:
    after: [integration]   # production takes a version integration ran...
    soak: 1h               # ...for an hour at least
holds: promotion-holds.yaml
native: false              # only the components above (not every resource template of the saas files)
""",
        "promotion-holds.yaml": """# promotion holds: written by promoter hold / release / rollback
holds:
  - component: "qontract-reconcile"
    environments: ["pipelines"]
    reason: "the pipelines are frozen this week"
    author: "Ada Lovelace <ada@example.com>"
    since: "2026-01-01T00:00:00Z"
""",
        "data/services/app-interface/cicd/ci-ext/saas-qontract-reconcile.yaml": _saas(
            "saas-qontract-reconcile", deployed, "app-interface-production"
        ),
        "data/services/app-interface/cicd/ci-int/saas-qontract-reconcile-int.yaml": _saas(
            "saas-qontract-reconcile-int", deployed, "app-interface-production-int"
        ),
        ".env": f"""export RECONCILE_REPO={REPO_URL}
export RECONCILE_IMAGE=quay.io/app-sre/qontract-reconcile
# export RECONCILE_IMAGE_TAG=0000000  (an old pin, commented out: never touched)
export RECONCILE_IMAGE_TAG={short}
""",
        "resources/jenkins/global/defaults.yaml": f"""- defaults:
    <<: *local_defaults   # defined in another file: not valid standalone YAML, still editable
    name: global
    quay_org: app-sre
    qontract_reconcile_image_tag: '{short}'
    qontract_reconcile_image: 'quay.io/app-sre/qontract-reconcile:{{qontract_reconcile_image_tag}}'
""",
        "data/pipelines/tekton-provider-global-defaults.yaml": f"""---
$schema: /app-sre/tekton-provider-defaults-1.yml
name: tekton-provider-global-defaults
taskTemplates:
- name: openshift-saas-deploy
  variables:
    qontract_reconcile_image: quay.io/app-sre/qontract-reconcile
    qontract_reconcile_image_tag: {short}
""",
    }


def _commit(repo: Git, message: str, author: tuple[str, str], when: int) -> str:
    name, email = author
    env = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
    }
    repo.run("add", "-A", env=env)
    repo.run("commit", "--quiet", "--no-verify", "-m", message, env=env)
    return repo.out("rev-parse", "HEAD")


def build(base: Path) -> tuple[Path, Path, list[str]]:
    """Make the upstream and config repositories under `base`; returns them and the upstream shas."""
    upstream, config = base / "qontract-reconcile", base / "app-interface"
    for path in (upstream, config):
        path.mkdir(parents=True)
        Git(path).run("init", "--quiet", "-b", "master")
        Git(path).run("config", "core.autocrlf", "false")
        # its own identity: the walkthrough commits, and a fresh machine or CI runner has none
        Git(path).run("config", "user.name", "Promoter Demo")
        Git(path).run("config", "user.email", "demo@example.com")
    shas: list[str] = []
    when = 1_767_225_600  # 2026-01-01, so the demo's shas are the same on every machine
    for i, (who, subject) in enumerate(_COMMITS):
        (upstream / "CHANGES").write_text("".join(f"{s}\n" for _, s in _COMMITS[: i + 1]))
        shas.append(_commit(Git(upstream), subject, _AUTHORS[who], when + i * 3600))
    for rel, text in _config_files(shas[1], upstream).items():
        (config / rel).parent.mkdir(parents=True, exist_ok=True)
        (config / rel).write_text(text, encoding="utf-8")
    _commit(Git(config), "deploy qontract-reconcile", _AUTHORS[0], when + 86400)
    return upstream, config, shas


_RELEASES = [  # (subject, the tags made on it)
    ("first release", ("v1.4.2",)),
    ("api: paginate list calls", ()),
    ("worker: drain before exit", ("v1.5.0-rc.1",)),
    ("release 1.5.0", ("v1.5.0",)),
    ("fix: retry on 503", ("v1.5.1",)),
    ("breaking: new config format", ("v2.0.0",)),
]
APP_URL = "https://github.com/example/app"


def _gitops_files(version: str, upstream: Path) -> dict[str, str]:
    return {
        "promotion.yaml": f"""version: 1
components:
  app:
    repo: {APP_URL}
    fetch: ../{upstream.name}   # a local repository in this demo
    branch: main
    constraint: ^1               # releases 1.x only: v2.0.0 waits for a person
    targets:
      - name: argocd-staging
        environment: staging
        file: argocd/app-staging.yaml
        key: targetRevision
        format: tag              # pins release tags, written v{{semver}} (the default)
      - name: kustomize-production
        environment: production
        file: kustomize/overlays/production/kustomization.yaml
        path: $.images[?(@.name == 'app')].newTag
        format: tag
        tag_pattern: '{{semver}}'  # written without the v: 1.4.2
      - name: helm-production
        environment: production
        file: helm/app/values-production.yaml
        path: $.image.tag
        format: tag
""",
        "argocd/app-staging.yaml": f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: app-staging
  namespace: argocd
spec:
  project: default
  source:
    repoURL: {APP_URL}.git
    path: deploy/manifests
    targetRevision: v{version}  # a release tag
  destination:
    server: https://kubernetes.default.svc
    namespace: app-staging
""",
        "kustomize/overlays/production/kustomization.yaml": f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: app
    newName: quay.io/example/app
    newTag: {version}
  - name: nginx
    newName: quay.io/nginx/nginx-unprivileged
    newTag: 1.25.3
""",
        "helm/app/values-production.yaml": f"""# Helm values of app in production
replicaCount: 3
image:
  repository: quay.io/example/app
  tag: "v{version}"
  pullPolicy: IfNotPresent
""",
    }


def build_tags(base: Path) -> tuple[Path, Path, list[str]]:
    """The second example under `base`: an upstream released by tags and a GitOps repository
    pinning v1.4.2; returns them and the upstream shas."""
    upstream, config = base / "app", base / "gitops"
    for path in (upstream, config):
        path.mkdir(parents=True)
        Git(path).run("init", "--quiet", "-b", "main")
        Git(path).run("config", "core.autocrlf", "false")
        Git(path).run("config", "user.name", "Promoter Demo")
        Git(path).run("config", "user.email", "demo@example.com")
    shas: list[str] = []
    when = 1_767_225_600
    for i, (subject, tags) in enumerate(_RELEASES):
        (upstream / "CHANGES").write_text("".join(f"{s}\n" for s, _ in _RELEASES[: i + 1]))
        shas.append(_commit(Git(upstream), subject, _AUTHORS[i % len(_AUTHORS)], when + i * 3600))
        for tag in tags:  # annotated, as release tooling makes them
            Git(upstream).run("tag", "--annotate", "--message", f"release {tag}", tag)
    for rel, text in _gitops_files("1.4.2", upstream).items():
        (config / rel).parent.mkdir(parents=True, exist_ok=True)
        (config / rel).write_text(text, encoding="utf-8")
    _commit(Git(config), "deploy app v1.4.2", _AUTHORS[0], when + 86400)
    return upstream, config, shas


# -- app-interface native: a publisher and an auto subscriber, no promotion.yaml ------------------------

SHOP_URL = "https://github.com/acme/shop"
SHOP_SAAS = "data/services/shop/cicd/saas-shop.yaml"
SHOP_PRODUCTION = "saas-shop/shop/shop-production"
_SHOP_COMMITS = [(2, "checkout: a first page"), (0, "cart: keep items across sessions"), (1, "cart: show totals")]


def _shop_saas(stage: str, production: str, config_hash: str) -> str:
    return f"""---
$schema: /app-sre/saas-file-2.yml

name: saas-shop
description: the shop, deployed to stage, then to production

app:
  $ref: /services/shop/app.yml

managedResourceTypes:
- Deployment

resourceTemplates:
- name: shop
  url: {SHOP_URL}
  path: /openshift/shop.yaml
  targets:
  - namespace:
      $ref: /services/shop/namespaces/shop-stage.yml
    ref: {stage}
    promotion:
      publish:
      - shop-stage-deploy-success
  - namespace:
      $ref: /services/shop/namespaces/shop-production.yml
    ref: {production}
    promotion:
      auto: true  # reconcile moves it by itself, to what stage runs
      subscribe:
      - shop-stage-deploy-success
      promotion_data:
      - channel: shop-stage-deploy-success
        data:
        - parent_saas: saas-shop
          target_config_hash: {config_hash}
          type: parent_saas_config
"""


def _shop_files() -> dict[str, str]:
    files = {
        ".env": "# the qontract-reconcile whose recipe the target_config_hash follows\n"
        "export RECONCILE_IMAGE_TAG=862eebc\n",
        "data/services/shop/app.yml": f"---\n$schema: /app-sre/app-1.yml\n\nname: shop\n"
        f"codeComponents:\n- name: shop\n  resource: upstream\n  url: {SHOP_URL}\n",
        "data/openshift/appsres01/cluster.yml": "---\n$schema: /openshift/cluster-1.yml\n\nname: appsres01\n"
        "serverUrl: https://api.appsres01.example.com:6443\n",
    }
    for env in ("stage", "production"):
        files[f"data/services/shop/namespaces/shop-{env}.yml"] = (
            _namespace(f"shop-{env}", "appsres01", env)
            .replace("/services/app-interface/app.yml", "/services/shop/app.yml")
            .replace("/products/app-interface/", "/products/shop/")
        )
        files[f"data/products/shop/environments/{env}.yml"] = _environment(f"shop-{env}", env)
    return files


def build_native(base: Path) -> tuple[Path, Path, list[str]]:
    """The native part under `base`: the shop's upstream and an app-interface checkout with no
    promotion.yaml (production at the first commit, with stage's hash then; stage moved to the
    second since); returns them and the upstream's shas."""
    from promoter.native.confighash import repository_reader, target_config_hash

    upstream, config = base / "shop", base / "app-interface-native"
    for path in (upstream, config):
        path.mkdir(parents=True)
        Git(path).run("init", "--quiet", "-b", "main")
        Git(path).run("config", "core.autocrlf", "false")
        Git(path).run("config", "user.name", "Promoter Demo")
        Git(path).run("config", "user.email", "demo@example.com")
    when = 1_767_225_600  # 2026-01-01
    shas: list[str] = []
    for i, (who, subject) in enumerate(_SHOP_COMMITS):
        (upstream / "CHANGES").write_text("".join(f"{s}\n" for _, s in _SHOP_COMMITS[: i + 1]))
        shas.append(_commit(Git(upstream), subject, _AUTHORS[who], when + i * 3600))
    for rel, text in _shop_files().items():
        (config / rel).parent.mkdir(parents=True, exist_ok=True)
        (config / rel).write_text(text, encoding="utf-8")
    saas = config / SHOP_SAAS
    saas.parent.mkdir(parents=True, exist_ok=True)
    saas.write_text(_shop_saas(shas[0], shas[0], "0" * 16), encoding="utf-8")
    import yaml

    doc = yaml.safe_load(saas.read_text(encoding="utf-8"))
    stage_hash = target_config_hash(doc, 0, 0, repository_reader(str(config)), "862eebc", where=SHOP_SAAS)
    saas.write_text(_shop_saas(shas[0], shas[0], stage_hash), encoding="utf-8")
    _commit(Git(config), "deploy the shop", _AUTHORS[0], when + 86400)
    saas.write_text(_shop_saas(shas[1], shas[0], stage_hash), encoding="utf-8")
    _commit(Git(config), f"promote shop {shas[1][:7]} to stage", _AUTHORS[1], when + 86400 + 3600)
    return upstream, config, shas


NOON = "2026-01-02T09:00:00+00:00"  # the walkthrough's clock: set, so that it reads the same everywhere
LATER = "2026-01-02T11:00:00+00:00"


def _merge(repo: Git, branch: str) -> None:
    env = {
        "GIT_AUTHOR_NAME": "Grace Hopper",
        "GIT_AUTHOR_EMAIL": "grace@example.com",
        "GIT_COMMITTER_NAME": "Grace Hopper",
        "GIT_COMMITTER_EMAIL": "grace@example.com",
        "GIT_AUTHOR_DATE": NOON,
        "GIT_COMMITTER_DATE": NOON,
    }
    repo.run("switch", "--quiet", "master")
    repo.run("merge", "--quiet", "--no-ff", "--no-edit", branch, env=env)


def _command_line(line: str) -> str:
    """A command as a person types it on a terminal too narrow for it: continued with ` \\`."""
    from promoter.render.table import terminal_width

    width = terminal_width()
    if width is None or len(line) <= width:
        return line
    words, lines = line.split(" "), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) + 2 > width:
            lines[-1] += " \\"
            lines.append("    ")
        lines[-1] += ("" if not lines[-1].strip() else " ") + word
    return "\n".join(lines)


def run(directory: Path | None, out: Callable[[str], None], command: Callable[[list[str]], int]) -> int:
    """Build the demo in `directory` and run the walkthrough's commands through `command` (the
    command line's entry point: argv in, exit code out), showing each as `$ promoter ...`."""
    import os

    base = directory.resolve() if directory else Path(tempfile.mkdtemp(prefix="promoter-demo-"))
    if base.exists() and any(base.iterdir()):
        from promoter.errors import UsageError

        raise UsageError(f"{base} is not empty; give a new or empty directory")
    upstream, config, shas = build(base)
    os.environ.setdefault("PROMOTER_CACHE_DIR", str(base / "cache"))
    from promoter.render.table import flow, terminal_width

    width = terminal_width()

    def part(built: list[str], steps: list[tuple[str, list[str], str]], repo: Path, explore: str) -> int:
        """One example: what was built, its steps run in `repo`, then where to look."""
        out("".join(flow(line, width) + "\n" for line in built))
        code = _walk(steps, repo, out, command)
        if code == 0:
            out("\n" + flow(f"Explore it: cd {repo} && {explore}", width) + "\n")
        return code

    built = [
        f"Built an upstream repository ({len(shas)} commits) in {upstream}",
        f"and a config repository pinning commit {shas[1][:7]} in {config}",
    ]
    merged = "promote/qontract-reconcile-d6ecb27-integration"
    steps: list[tuple[str, list[str], str]] = [
        ("where every environment stands, and what the policy lets it do next", ["status"], NOON),
        ("the SOP: one environment alone first", ["plan", "qontract-reconcile", "--env", "integration"], NOON),
        ("", ["promote", "qontract-reconcile", "--env", "integration", "--yes", "--commit"], NOON),
        ("its merge request is merged", ["git merge", merged], NOON),
        ("what an unattended run does now: production soaks, pipelines are held", ["reconcile"], NOON),
        ("two hours later (PROMOTER_NOW rehearses a time)", ["reconcile"], LATER),
        ("", ["promote", "qontract-reconcile", "--env", "production", "--yes"], LATER),
        ("", ["status", "--env", "integration", "--env", "production"], LATER),
    ]
    code = part(built, steps, config, "git diff && cat promotion.yaml")
    if code != 0:
        return code

    app, gitops, _ = build_tags(base)
    out("\n# A second example: release tags as versions\n")
    built = [
        f"Built an upstream repository released by tags (v1.4.2 ... v2.0.0) in {app}",
        f"and a GitOps repository (Argo CD, kustomize, Helm) pinning v1.4.2 in {gitops}",
    ]
    tagged: list[tuple[str, list[str], str]] = [
        ("each pin is a release tag, resolved to its commit through the upstream's tags", ["status"], NOON),
        ("the highest release within ^1 (v2.0.0 is not, v1.5.0-rc.1 is a pre-release)", ["plan", "app"], NOON),
        ("what it brings, between two tags", ["changelog", "app", "v1.5.1", "--from", "v1.4.2"], NOON),
        ("", ["promote", "app", "--env", "staging", "--yes", "--commit"], NOON),
        ("", ["status"], NOON),
    ]
    code = part(built, tagged, gitops, "git log -1 && cat promotion.yaml")
    if code != 0:
        return code

    shop, native, shop_shas = build_native(base)
    out("\n# A third example: app-interface native, a publisher and an auto subscriber\n")
    built = [
        f"Built an upstream repository ({len(shop_shas)} commits) in {shop}",
        f"and an app-interface checkout with no promotion.yaml in {native}",
    ]
    production = ["--target", SHOP_PRODUCTION]
    channels: list[tuple[str, list[str], str]] = [
        ("no promotion.yaml: stage publishes what it runs, production subscribes to it", ["status"], NOON),
        ("reconcile: production (auto) takes what stage runs; stage waits for people", ["reconcile"], NOON),
        ("its ref, and the target_config_hash of the publisher it follows", ["plan", "shop", *production], NOON),
        ("", ["promote", "shop", *production, "--yes"], NOON),
    ]
    with _fetched_from(shop, SHOP_URL):  # the shop's url, as git fetches it, is the local repository
        return part(built, channels, native, "git diff")


@contextlib.contextmanager
def _fetched_from(path: Path, url: str) -> Iterator[None]:
    """Within the block, git fetches `url` from `path` (`url.<path>.insteadOf`, in git's
    environment, after the settings the caller's environment gives it already)."""
    import os

    given = os.environ.get("GIT_CONFIG_COUNT", "0")
    n = int(given) if given.isdigit() else 0
    names = ("GIT_CONFIG_COUNT", f"GIT_CONFIG_KEY_{n}", f"GIT_CONFIG_VALUE_{n}")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({names[0]: str(n + 1), names[1]: f"url.{path}.insteadOf", names[2]: url})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _walk(
    steps: list[tuple[str, list[str], str]],
    config: Path,
    out: Callable[[str], None],
    command: Callable[[list[str]], int],
) -> int:
    """Run each step in `config` at its time, shown as `$ promoter ...`; the first failing exit code."""
    import os

    saved = {var: os.environ.get(var) for var in ("PROMOTER_NOW", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
    try:
        for say, argv, now in steps:
            out(f"\n# {say}\n" if say else "\n")
            if argv[0] == "git merge":  # what the reviewer does: merge it
                out(f"$ git switch master && git merge {argv[1]}\n")
                _merge(Git(config), argv[1])
                continue
            for var in ("PROMOTER_NOW", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):  # commits dated by it too
                os.environ[var] = now
            shown = f"PROMOTER_NOW={now} " if now != NOON else ""
            out(_command_line(f"$ {shown}promoter {' '.join(argv)}") + "\n")
            code = command(["-C", str(config), *argv])
            if code != 0:
                return code
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return 0
