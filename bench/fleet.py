#!/usr/bin/env python3
"""A generated app-interface-like config repository at fleet scale, with its `promotion.yaml`.

    python bench/fleet.py DIR [--components 267] [--unrelated 3000]

Modelled on the 2023 app-interface tree: every pinned saas resource template is a component's
target (267 components, about 600 file/template pairs in about 355 saas files). Each component
has its own upstream repository URL and 1-3 saas files: one or two of its own (production,
integration) and, for most, a shared saas file that holds several components' templates.
Targets pin 40-hex shas (`ref:`), staging targets track `ref: master`. A `.env` and a few YAML
files pin `*_IMAGE_TAG`/`*_image_tag` short shas of some components (`env:`/`key:` targets, one of
them a `files:` glob). Around them: app files and namespaces that mention the repository URLs,
users, saas files of unconfigured repos that track master, and a few stray pins no target covers
(a Dockerfile, a doc, a stage saas file, a key), so that `discover` and `check` have something to
report. Deterministic for a given seed; also imported by bench/run.py and tests/test_fleet.py.

`pinned_templates(tree)` writes the same kind of config for a real tree: every saas resource
template it pins, one component per repository (bench/run.py uses it on the 2022 snapshot).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_WORDS = (
    "account", "auth", "billing", "cert", "cloud", "cluster", "config", "cost", "dash", "deploy", "dns",
    "edge", "event", "gate", "graph", "hive", "ingest", "insight", "job", "key", "ledger", "log", "mail",
    "mesh", "metric", "node", "notify", "osd", "pager", "policy", "quota", "queue", "registry", "route",
    "rules", "scan", "search", "secret", "slo", "sre", "status", "sync", "telemetry", "tenant", "token",
    "trace", "ui", "uhc", "vault", "web", "worker"
)  # fmt: skip
_SUFFIXES = ("-ui", "-operator", "-api")  # some names extend another's: prefix-sharing URLs and keys
_ORGS = (
    "https://github.com/app-sre",
    "https://github.com/openshift",
    "https://gitlab.cee.redhat.com/service",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "fleet",
    "GIT_AUTHOR_EMAIL": "fleet@example.com",
    "GIT_COMMITTER_NAME": "fleet",
    "GIT_COMMITTER_EMAIL": "fleet@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Component:
    name: str
    repo: str
    image: str | None
    prod: str  # the 40-hex sha production runs
    integration: str
    targets: list[dict[str, object]] = field(default_factory=list)

    @property
    def env_name(self) -> str:
        return self.name.upper().replace("-", "_") + "_IMAGE_TAG"

    @property
    def key_name(self) -> str:
        return self.name.replace("-", "_") + "_image_tag"


@dataclass
class Fleet:
    root: Path
    components: list[Component]
    saas_files: int  # saas files that pin a component
    pairs: int  # (saas file, component) pairs: the saas targets
    files: int  # every file of the tree, promotion.yaml included
    strays: int  # pins no target covers


def _names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        if names and rng.random() < 0.1:
            name = rng.choice(names) + rng.choice(_SUFFIXES)
        else:
            name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def _saas_header(name: str, app: str, images: list[str]) -> str:
    patterns = "".join(f"- {image}\n" for image in images) or "- quay.io/app-sre/ubi8-ubi-minimal\n"
    return (
        "---\n"
        "$schema: /app-sre/saas-file-2.yml\n\n"
        f"labels:\n  service: {app}\n\n"
        f"name: {name}\n"
        f"description: 'SaaS tracking file for {app}'\n\n"
        f"app:\n  $ref: /services/{app}/app.yml\n\n"
        "pipelinesProvider:\n"
        "  $ref: /services/app-interface/pipelines/tekton.app-sre-pipelines.app-sre-prod-01.yaml\n\n"
        "deployResources:\n  requests:\n    cpu: 100m\n    memory: 200Mi\n"
        "  limits:\n    cpu: 500m\n    memory: 400Mi\n\n"
        "slack:\n  workspace:\n    $ref: /dependencies/slack/coreos.yml\n  channel: sd-app-sre-info\n\n"
        "managedResourceTypes:\n- Deployment\n- ConfigMap\n- Service\n\n"
        f"imagePatterns:\n{patterns}\n"
        "resourceTemplates:\n"
    )


def _template(rng: random.Random, comp: Component, template: str, ref: str, envs: list[str]) -> str:
    out = (
        f"- name: {template}\n"
        f"  url: {comp.repo}\n"
        f"  path: /openshift/{template}.yaml\n"
        f"  parameters:\n    IMAGE: {comp.image or 'quay.io/app-sre/' + comp.name}\n    REPLICAS: {rng.randint(1, 5)}\n"
        "  targets:\n"
    )
    out += (
        f"  - namespace:\n      $ref: /services/{comp.name}/namespaces/{comp.name}-stage.yml\n"
        "    ref: master\n"
        f"    upstream:\n      instance:\n        $ref: /dependencies/ci-ext/ci-ext.yml\n"
        f"      name: app-sre-{comp.name}-gh-build-master\n"
    )
    for env in envs:
        out += f"  - namespace:\n      $ref: /services/{comp.name}/namespaces/{comp.name}-{env}.yml\n    ref: {ref}\n"
        if rng.random() < 0.5:
            out += f"    parameters:\n      LOG_LEVEL: {rng.choice(['info', 'debug', 'warn'])}\n"
    return out + "\n"


def generate(root: Path, components: int = 267, unrelated: int = 3000, seed: int = 2023, strays: bool = True) -> Fleet:
    """Write the fleet into `root` (created; a git repository with one commit)."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    comps: list[Component] = []
    for i, name in enumerate(_names(rng, components)):
        org = _ORGS[i % len(_ORGS)]
        image = f"quay.io/app-sre/{name}" if i % 3 == 0 else None
        prod = _sha(rng)
        comps.append(Component(name, f"{org}/{name}", image, prod, prod if i % 4 else _sha(rng)))

    pairs = 0
    saas_files = 0
    # each component's own saas files: production, and for one in five also integration
    for i, comp in enumerate(comps):
        owned = [("production", comp.prod, f"data/services/{comp.name}/cicd/ci-ext/saas-{comp.name}.yaml")]
        if i % 5 == 0:
            owned.append(
                ("integration", comp.integration, f"data/services/{comp.name}/cicd/ci-int/saas-{comp.name}-int.yaml")
            )
        for env, ref, rel in owned:
            text = _saas_header(Path(rel).stem, comp.name, [comp.image] if comp.image else [])
            text += _template(rng, comp, comp.name, ref, ["production", "prod-01"] if env == "production" else ["int"])
            if rng.random() < 0.2:  # a second template from the same repo (dashboards)
                text += _template(rng, comp, f"grafana-{comp.name}", ref, ["production"])
            files[rel] = text
            comp.targets.append({"name": Path(rel).stem, "environment": env, "file": rel, "saas": {}})
            pairs += 1
            saas_files += 1
    # shared saas files: several components' templates in one file (most components have one)
    # (some in two: 85% of the components in one, 20% in a second)
    shared = [c for c in comps if rng.random() < 0.85]
    rng.shuffle(shared)
    twice = [c for c in comps if rng.random() < 0.2]
    rng.shuffle(twice)
    shared += twice
    group = 0
    while shared:
        size = rng.randint(4, 12)
        members: list[Component] = []
        while shared and len(members) < size and shared[0] not in members:
            members.append(shared.pop(0))
        rel = f"data/services/app-sre/cicd/ci-ext/saas-shared-{group:02d}.yaml"
        text = _saas_header(f"saas-shared-{group:02d}", "app-sre", [c.image for c in members if c.image])
        for comp in members:
            clusters = [f"prod-{k:02d}" for k in range(rng.randint(0, 5))]
            text += _template(rng, comp, f"{comp.name}-jobs", comp.prod, ["production", "jobs", *clusters])
            comp.targets.append(
                {"name": f"saas-shared-{group:02d}", "environment": "production", "file": rel, "saas": {}}
            )
            pairs += 1
        files[rel] = text
        saas_files += 1
        group += 1

    # image tags in app-interface's own CI: a .env, Jenkins defaults, Tekton providers (a glob)
    env_comps, key_comps, tekton_comps = comps[::6], comps[1::5], comps[2::9]
    env_lines = ["# image tags app-interface's CI runs", "export APP_INTERFACE_ENV=ci"]
    for comp in env_comps:
        env_lines.append(f"export {comp.env_name}={comp.prod[:7]}")
        comp.targets.append({"name": "dotenv", "environment": "ci", "file": ".env", "env": comp.env_name})
    files[".env"] = "\n".join(env_lines) + "\n"
    jenkins = ["---", "jenkins_defaults:", "  node: worker", "  timeout: 60"]
    for comp in key_comps:
        quote = "'" if rng.random() < 0.5 else ""
        jenkins.append(f"  {comp.key_name}: {quote}{comp.prod[:7]}{quote}")
        comp.targets.append(
            {
                "name": "jenkins",
                "environment": "ci",
                "file": "resources/jenkins/global/defaults.yaml",
                "key": comp.key_name,
            }
        )
    files["resources/jenkins/global/defaults.yaml"] = "\n".join(jenkins) + "\n"
    for provider in ("global-defaults", "app-sre-prod-01", "appsres03ue1"):
        lines = ["---", "$schema: /app-sre/pipelines-provider-tekton-provider-defaults-1.yml", f"name: {provider}"]
        lines += [f"{comp.key_name}: {comp.prod[:7]}" for comp in tekton_comps]
        files[f"data/pipelines/tekton-provider-{provider}.yaml"] = "\n".join(lines) + "\n"
    for comp in tekton_comps:
        comp.targets.append(
            {
                "name": "tekton",
                "environment": "ci",
                "files": "data/pipelines/tekton-provider-*.yaml",
                "key": comp.key_name,
            }
        )

    # around them: app files and namespaces naming the repos, users, saas files tracking master
    made = 0
    for comp in comps:
        files[f"data/services/{comp.name}/app.yml"] = (
            f"---\n$schema: /app-sre/app-1.yml\nname: {comp.name}\ndescription: {comp.name} service\n"
            f"serviceOwners:\n- name: Team {comp.name}\n  email: {comp.name}@example.com\n"
            f"codeComponents:\n- name: {comp.name}\n  resource: upstream\n  url: {comp.repo}\n"
        )
        made += 1
        for env in ("stage", "production", "int"):
            if made >= unrelated:
                break
            files[f"data/services/{comp.name}/namespaces/{comp.name}-{env}.yml"] = (
                f"---\n$schema: /openshift/namespace-1.yml\nname: {comp.name}-{env}\n"
                f"description: {comp.name} in {env}\n"
                f"cluster:\n  $ref: /openshift/app-sre-{env}-01/cluster.yml\n"
                f"app:\n  $ref: /services/{comp.name}/app.yml\n"
                f"environment:\n  $ref: /products/app-sre/environments/{env}.yml\n"
                f"# source: {comp.repo}/blob/master/openshift/{comp.name}.yaml\n"
            )
            made += 1
    other = 0
    while made < unrelated:
        if other < unrelated // 30:  # a saas file of a repo no component promotes: tracks master
            name = f"other-{other:03d}"
            text = _saas_header(f"saas-{name}", name, [])
            text += (
                f"- name: {name}\n  url: https://github.com/example/{name}\n  path: /openshift.yaml\n"
                f"  targets:\n  - namespace:\n      $ref: /services/{name}/namespaces/{name}.yml\n    ref: master\n"
            )
            files[f"data/services/{name}/cicd/saas-{name}.yaml"] = text
            other += 1
        else:
            n = made
            files[f"data/teams/team-{n % 40:02d}/users/user-{n:05d}.yml"] = (
                f"---\n$schema: /access/user-1.yml\nname: User {n}\norg_username: user{n}\n"
                f"github_username: user-{n}\nquay_username: user{n}\n"
                f"public_gpg_key: {rng.getrandbits(256):064x}\n"  # hex, but no pin of anyone
                f"roles:\n- $ref: /teams/team-{n % 40:02d}/roles/member.yml\n"
            )
        made += 1

    stray = 0
    if strays:
        for comp in comps[3:60:7]:  # a Dockerfile or a doc that names the deployed version
            if comp.image:
                files[f"hack/{comp.name}/Dockerfile"] = f"FROM {comp.image}:{comp.prod[:7]} AS base\nRUN true\n"
            else:
                files[f"docs/{comp.name}.md"] = (
                    f"# {comp.name}\n\nProduction runs {comp.prod[:7]} (see the saas file).\n"
                )
            stray += 1
        for comp in comps[5:40:11]:  # a stage saas file nobody added to promotion.yaml
            rel = f"data/services/{comp.name}/cicd/ci-ext/saas-{comp.name}-stage.yaml"
            files[rel] = _saas_header(f"saas-{comp.name}-stage", comp.name, []) + _template(
                rng, comp, comp.name, comp.integration, ["stage"]
            )
            stray += 1
        for comp in key_comps[:3]:  # an old copy of the Jenkins defaults
            files[f"resources/jenkins/{comp.name}/defaults.yaml"] = (
                f"defaults:\n  {comp.key_name}: '{comp.integration[:7]}'\n"
            )
            stray += 1

    # native: false: the components listed, not every resource template of the saas files too
    config = ["version: 1", "native: false", "components:"]
    for comp in comps:
        config += [f"  {comp.name}:", f"    repo: {comp.repo}", "    branch: master"]
        if comp.image:
            config.append(f"    image: {comp.image}")
        config.append("    targets:")
        for t in comp.targets:
            locator = "saas: {}" if "saas" in t else f"key: {t['key']}" if "key" in t else f"env: {t['env']}"
            where = f"file: {t['file']}" if "file" in t else f"files: '{t['files']}'"
            config.append(f"      - {{name: {t['name']}, environment: {t['environment']}, {where}, {locator}}}")
    files["promotion.yaml"] = "\n".join(config) + "\n"

    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "master"], ["add", "-A"], ["commit", "-q", "-m", "fleet"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return Fleet(root, comps, saas_files, pairs, len(files), stray)


def pinned_templates(root: Path) -> str:
    """A promotion.yaml for an existing config tree (a git work tree) with every pinned saas
    resource template as a target: one component per repository URL that some saas file pins
    (a `ref:` of 40 hex digits), a `saas: {}` target per saas file, each in its own environment."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    listed = subprocess.run(
        ["git", "grep", "-l", "-z", "-e", "resourceTemplates", "--", "*.yml", "*.yaml"],
        cwd=root,
        capture_output=True,
        check=False,
    ).stdout.decode()
    files: dict[str, set[str]] = {}  # repo URL -> saas files
    for rel in sorted(f for f in listed.split("\0") if f):
        try:
            doc = yaml.load((root / rel).read_text(), Loader=loader)  # a safe loader
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        templates = doc.get("resourceTemplates") if isinstance(doc, dict) else None
        for rt in templates if isinstance(templates, list) else []:
            if not isinstance(rt, dict) or not isinstance(rt.get("url"), str):
                continue
            refs = [t.get("ref") for t in rt.get("targets") or [] if isinstance(t, dict)]
            if any(isinstance(r, str) and re.fullmatch("[0-9a-f]{40}", r) for r in refs):
                files.setdefault(rt["url"].rstrip("/").removesuffix(".git"), set()).add(rel)
    out = ["version: 1", "native: false", "components:"]
    names: set[str] = set()
    for url, rels in sorted(files.items()):
        base = re.sub(r"[^A-Za-z0-9._-]", "-", url.split("://", 1)[-1].split("/", 1)[-1]).strip("-.") or "c"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.add(name)
        out += [f"  {name}:", f"    repo: {url}", "    targets:"]
        out += [
            f"      - {{name: t{i}, environment: e{i}, file: {rel}, saas: {{}}}}" for i, rel in enumerate(sorted(rels))
        ]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--components", type=int, default=267)
    ap.add_argument("--unrelated", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2023)
    args = ap.parse_args()
    fleet = generate(args.dir, args.components, args.unrelated, args.seed)
    print(
        f"{fleet.root}: {len(fleet.components)} components, {fleet.pairs} file/template pairs in "
        f"{fleet.saas_files} saas files, {fleet.files} files, {fleet.strays} stray pins"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
