"""One version everywhere: `promoter.__version__` is semantic versioning, `promoter --version` says
it, CHANGELOG.md has its section (and an Unreleased one on top), and every artifact that pins
promoter pins it: the Containerfile's VERSION, the GitLab component's and the action's default,
the CI examples' image and action. A release bumps them together (CHANGELOG.md says how)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from promoter import __version__

ROOT = Path(__file__).resolve().parents[1]
# semver.org's regular expression for a version (core, pre-release, build)
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def test_the_version_is_semver_and_promoter_says_it(run) -> None:  # type: ignore[no-untyped-def]
    assert SEMVER.match(__version__)
    assert run("--version") == (0, f"promoter {__version__}\n", "")


def test_the_changelog_keeps_an_unreleased_section_and_one_per_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    versions = [v for v, _ in headings[1:]]
    assert __version__ in versions and all(SEMVER.match(v) for v in versions)
    assert all(date for _, date in headings[1:])  # a release has its date
    keys = [tuple(int(n) for n in v.split("-")[0].split(".")) for v in versions]
    assert keys == sorted(keys, reverse=True)  # newest first
    for name, _ in headings:  # each heading's link at the end
        assert re.search(rf"^\[{re.escape(name)}\]: https://", text, re.M), name


def test_every_artifact_pins_this_version() -> None:
    containerfile = (ROOT / "Containerfile").read_text()
    assert re.findall(r"^ARG VERSION=(.*)$", containerfile, re.M) == [__version__]
    for name in ("reconcile", "check"):
        header = next(yaml.safe_load_all((ROOT / "templates" / f"{name}.yml").read_text()))
        assert header["spec"]["inputs"]["version"]["default"] == __version__
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["inputs"]["version"]["default"] == __version__
    gitlab = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    assert gitlab[".promoter"]["image"]["name"] == f"ghcr.io/OWNER/promoter:{__version__}"
    github = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    uses = {s["uses"] for job in github["jobs"].values() for s in job["steps"] if "promoter" in s.get("uses", "")}
    assert uses == {f"OWNER/promoter@v{__version__}"}
