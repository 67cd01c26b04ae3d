"""The container image, built here without a container runtime: the base image's root filesystem
made with Debian's mmdebstrap (Debian's python3 and venv on the same Debian release as the
`python:3.11-slim-*` image the Containerfile names, which is Debian with Python 3.11), then every
instruction of the Containerfile carried out on it (tests/containerfile.py: RUN in a chroot as
root, COPY from a build context holding the wheel and its dependencies' wheels, downloaded here
from the package index, installed with --no-index), then `promoter demo` run in it as the image
runs it: its entrypoint, as its non-root user, with its environment alone.

Needs root (chroot, mmdebstrap's root mode) and mmdebstrap (./test installs it); skipped, saying
which is missing, without them. The root filesystem is built anew each run and removed after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from promoter import __version__
from tests import containerfile
from tests.dist_fixtures import ROOT, Dist, pip_env

# the keys the OCI image spec defines (image-spec annotations.md, "Pre-Defined Annotation Keys")
OCI_KEYS = {
    f"org.opencontainers.image.{k}"
    for k in (
        "created", "authors", "url", "documentation", "source", "version", "revision", "vendor", "licenses",
        "ref.name", "title", "description", "base.digest", "base.name",
    )
}  # fmt: skip


def _base() -> tuple[str, str]:
    """The Containerfile's base image (its PYTHON_IMAGE default) and the Debian release it is made
    from (python:3.11-slim-bookworm: bookworm), which mmdebstrap builds whatever the host runs."""
    text = (ROOT / "Containerfile").read_text()
    (image,) = [
        a.partition("=")[2] for w, a in containerfile.instructions(text) if w == "ARG" and a.startswith("PYTHON_IMAGE=")
    ]
    return image, image.rpartition("-")[2]


@pytest.fixture(scope="module")
def image(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[containerfile.Image]:
    if os.geteuid() != 0:
        pytest.skip("building a root filesystem and chroot need root (CI runs as root)")
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (./test installs it: apt-get install mmdebstrap)")
    base = tmp_path_factory.mktemp("image")
    rootfs = base / "rootfs"
    codename = _base()[1]
    # the base image: Debian <codename> with Python 3 and venv, as python:3.11-slim-<codename> is
    made = subprocess.run(
        ["mmdebstrap", "--variant=minbase", "--mode=root", "--include=python3,python3-venv,ca-certificates",
         codename, str(rootfs)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert made.returncode == 0, f"mmdebstrap failed:\n{made.stderr[-4000:]}"
    assert not (rootfs / "usr/bin/git").exists()  # git comes from the Containerfile's RUN
    context = base / "context"
    (context / "dist").mkdir(parents=True)
    shutil.copy2(ROOT / "Containerfile", context / "Containerfile")
    shutil.copy2(dist.wheel, context / "dist")
    # the dependencies' wheels, for an install inside with --no-index (the Containerfile's offline form)
    got = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:", "-d", str(context / "dist"),
         str(dist.wheel)],
        env=pip_env(dist.pip_cache), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr[-3000:]
    revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    try:
        yield containerfile.build(
            context / "Containerfile",
            context,
            rootfs,
            {
                "PIP_OPTIONS": "--no-index --find-links /tmp/dist",
                "REVISION": revision.strip(),
                "CREATED": "2026-12-07T00:00:00Z",
            },
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_containerfile_names_a_debian_python_3_11_slim_base() -> None:
    """The release the test builds the base from is the one the image names; Debian's Python of
    that release is 3.11, as the image's (bookworm's is 3.11.2)."""
    image, codename = _base()
    assert image == f"docker.io/library/python:3.11-slim-{codename}" and codename == "bookworm"
    text = (ROOT / "Containerfile").read_text()
    version = [arg for word, arg in containerfile.instructions(text) if word == "ARG" and arg.startswith("VERSION=")]
    assert version == [f"VERSION={__version__}"]


def test_the_image_is_labelled_runs_promoter_and_is_not_root(image: containerfile.Image) -> None:
    assert image.entrypoint == ["promoter"]
    assert set(image.labels) <= OCI_KEYS
    assert image.labels["org.opencontainers.image.version"] == __version__
    assert image.labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert len(image.labels["org.opencontainers.image.revision"]) == 40
    assert image.labels["org.opencontainers.image.base.name"] == image.base
    uid, gid = image.ids()
    assert uid != 0 and gid != 0
    version = containerfile.run(image, ["--version"])
    assert (version.returncode, version.stdout) == (0, f"promoter {__version__}\n"), version.stderr
    helped = containerfile.run(image, [])  # CMD: the overview
    assert helped.returncode == 0 and "promoter demo" in helped.stdout


def test_promoter_demo_runs_in_the_image_as_its_user(image: containerfile.Image) -> None:
    demo = containerfile.run(image, ["demo", "/tmp/demo"])
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    made = image.root / "tmp/demo/app-interface/promotion.yaml"
    assert made.is_file() and made.stat().st_uid == image.ids()[0]
    assert "promoter status" in demo.stdout


def test_the_user_cannot_change_promoter_itself(image: containerfile.Image) -> None:
    shell = containerfile.Image(image.root, env=image.env, user=image.user, workdir=image.workdir)
    shell.entrypoint = ["/bin/sh", "-c"]
    proc = containerfile.run(
        shell, ["id -u; touch /opt/promoter/bin/x 2>/dev/null || echo refused; command -v promoter; command -v git"]
    )
    uid, said, *found = proc.stdout.splitlines()
    assert uid == str(image.ids()[0]) and said == "refused"
    assert found == ["/opt/promoter/bin/promoter", "/usr/bin/git"]
    python = containerfile.run(shell, ["python3 --version"])
    assert python.stdout.startswith("Python 3.11."), python.stdout + python.stderr  # as python:3.11-slim


def test_the_gitlab_component_runs_in_the_image_on_a_checkout_the_runner_owns(image: containerfile.Image) -> None:
    """The component's reconcile job, its script run in the image as the image's user, on a
    checkout owned by root and writable by all (as GitLab's runner clones it, umask 0000), pushing
    to a bare remote inside the image: git accepts the checkout (safe.directory), the promotion
    is pushed, the dashboard written."""
    from tests import gitlab_ci

    user = containerfile.Image(image.root, env=image.env, user=image.user, workdir=image.workdir)
    user.entrypoint = ["/bin/bash", "-c"]
    setup = (
        "set -e; promoter demo /tmp/ci >/dev/null; cd /tmp/ci/app-interface; git checkout -q -- .; "
        "git init -q --bare -b master /tmp/origin.git; "
        "git config -f /tmp/origin.git/config receive.advertisePushOptions true; "
        "git remote add origin /tmp/origin.git; git push -q origin master; "
        "git config --unset user.name; git config --unset user.email; "
        "git config --global url./tmp/origin.git.insteadOf https://gitlab.example.com/group/config.git"
    )
    made = containerfile.run(user, [setup])
    assert made.returncode == 0, made.stderr
    checkout = image.root / "tmp/ci/app-interface"
    subprocess.run(["chown", "-R", "0:0", str(checkout)], check=True)
    subprocess.run(["chmod", "-R", "a+rwX", str(checkout)], check=True)
    (job,) = gitlab_ci.jobs_of(gitlab_ci.render(ROOT / "templates" / "reconcile.yml"))
    ci = {
        "CI_PROJECT_DIR": "/tmp/ci/app-interface", "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_SERVER_HOST": "gitlab.example.com", "CI_PROJECT_PATH": "group/config", "CI_DEFAULT_BRANCH": "master",
        "CI_PIPELINE_SOURCE": "schedule", "PROMOTER_GITLAB_TOKEN": "glpat-not-a-real-one",
    }  # fmt: skip
    env = {**image.env, **gitlab_ci.job_env(job, ci)}
    script = "set -eo pipefail\ncd /tmp/ci/app-interface\n" + "\n".join(job.spec["script"]) + "\n"
    in_job = containerfile.Image(image.root, env=env, user=image.user, workdir=image.workdir)
    in_job.entrypoint = ["/bin/bash", "-c"]
    proc = containerfile.run(in_job, [script])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (checkout / "promotions.md").read_text().startswith("# Promotions")
    pushed = subprocess.run(
        ["git", "--git-dir", str(image.root / "tmp/origin.git"), "for-each-ref", "--format=%(refname)",
         "refs/heads/promote/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert pushed.stdout.strip() == "refs/heads/promote/qontract-reconcile"
