"""Docker credential helpers and the auth file, when they misbehave or are planted: a helper is
taken from PATH but never from the config repository or the current directory, its answer is read
to its end (never to the EOF a lingering child holds back) and at most MAX_HELPER_OUTPUT bytes of
it, and what cannot be read or run is named, exit 4.

The registry is the real docker-registry with htpasswd (tests/registry_fixtures.py); the helpers
are real programs whose behaviours are named there (HELPER_BEHAVIOURS).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from promoter.errors import ExternalError, Refused, UsageError
from promoter.upstream.registry import Registry, parse_image
from promoter.upstream.registry import credentials as credentials_module
from tests.conftest import git
from tests.registry_fixtures import REG_PASSWORD, REG_USER, RunningRegistry, install_helper


@pytest.fixture
def helper_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME with a ~/.docker/config.json naming no helper yet, a clean PATH prefix, the helpers'
    log; every process a helper leaves behind is ended after the test."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    for name, value in {
        "HELPER_LOG": tmp_path / "helper.log",
        "HELPER_PIDS": tmp_path / "helper.pids",
        "HELPER_USER": REG_USER,
        "HELPER_SECRET": REG_PASSWORD,
    }.items():
        monkeypatch.setenv(name, str(value))
    (tmp_path / "helper.log").touch()
    (tmp_path / "helper.pids").touch()
    yield tmp_path
    for pid in (tmp_path / "helper.pids").read_text().split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def uses(tmp_path: Path, helper: str) -> None:
    (tmp_path / "home" / ".docker" / "config.json").write_text(json.dumps({"credsStore": helper}))


def on_path(monkeypatch: pytest.MonkeyPatch, *entries: str | Path) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([*map(str, entries), os.environ["PATH"]]))


def ran(tmp_path: Path) -> list[str]:
    return (tmp_path / "helper.log").read_text().splitlines()


# --- where a helper comes from ----------------------------------------------------------------------


def test_a_helper_planted_in_the_config_repository_never_runs(
    auth_registry: RunningRegistry, helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-credential-x in the repository (its root, a bin/ in it, reached through PATH as "",
    "." or an absolute entry inside it) is never run; one in a directory of PATH outside is."""
    digest = auth_registry.push_image("helpers/app", "v1")
    repo = helper_env / "config-repo"
    (repo / "bin").mkdir(parents=True)
    git(repo, "init", "-q")
    install_helper(repo, "x", "answers")
    install_helper(repo / "bin", "x", "answers")
    monkeypatch.chdir(repo / "bin")
    uses(helper_env, "x")
    image = f"{auth_registry.host}/helpers/app"
    on_path(monkeypatch, "", ".", "..", repo / "bin", repo)
    with pytest.raises(UsageError) as err:
        Registry().digest(image, "v1")
    assert str(err.value).startswith(
        "~/.docker/config.json names the credential helper docker-credential-x, which is not installed "
        "(never run from the current directory or the repository: "
    )
    assert ran(helper_env) == []
    trusted = helper_env / "trusted-bin"
    install_helper(trusted, "x", "answers")
    on_path(monkeypatch, "", ".", repo / "bin", trusted)
    assert Registry().digest(image, "v1") == digest
    assert ran(helper_env) == [f"answers get {auth_registry.host}"]  # the trusted one, once


def test_the_repository_named_by_the_caller_is_left_out_too(
    auth_registry: RunningRegistry, helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from elsewhere (`-C repo`): the repository the caller names is left out of PATH."""
    repo = helper_env / "config-repo"
    install_helper(repo / "tools", "x", "answers")
    monkeypatch.chdir(helper_env)
    uses(helper_env, "x")
    on_path(monkeypatch, repo / "tools")
    with pytest.raises(UsageError, match="which is not installed"):
        Registry(untrusted_dirs=[repo]).digest(f"{auth_registry.host}/helpers/app", "v1")
    assert ran(helper_env) == []


# --- how its answer is read -------------------------------------------------------------------------


def test_a_helper_whose_child_keeps_stdout_open_is_read_to_its_answer(
    auth_registry: RunningRegistry, helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper answers and exits, a child of it holds stdout open for a minute: its answer is
    taken (subprocess.run waited for the EOF and timed out)."""
    digest = auth_registry.push_image("helpers/linger", "v1")
    install_helper(helper_env / "bin", "linger", "lingers")
    install_helper(helper_env / "bin", "empty", "lingers-empty")
    on_path(monkeypatch, helper_env / "bin")
    monkeypatch.setattr(credentials_module, "HELPER_TIMEOUT", 30.0)
    uses(helper_env, "linger")
    assert Registry().digest(f"{auth_registry.host}/helpers/linger", "v1") == digest
    uses(helper_env, "empty")  # no credentials, said the same way: a refusal naming the helper
    with pytest.raises(Refused, match=r"no credentials for .* in docker-credential-empty"):
        Registry().digest(f"{auth_registry.host}/helpers/linger", "v1")
    assert len((helper_env / "helper.pids").read_text().split()) == 2  # both children were still there


def test_a_helper_flooding_its_output_is_cut_off(
    auth_registry: RunningRegistry, helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_helper(helper_env / "bin", "flood", "floods")
    on_path(monkeypatch, helper_env / "bin")
    uses(helper_env, "flood")
    monkeypatch.setenv("HELPER_FLOOD", str(8 * 1024 * 1024))
    with pytest.raises(ExternalError) as err:
        Registry().digest(f"{auth_registry.host}/helpers/app", "v1")
    assert str(err.value) == (
        f"docker-credential-flood get: its answer for {auth_registry.host} is larger than 1024 KiB, "
        "more than promoter reads"
    )
    assert err.value.exit_code == 4


def test_an_endless_helper_cannot_exhaust_memory(auth_registry: RunningRegistry, helper_env: Path) -> None:
    """A helper writing without end, promoter in a process allowed 256 MB of address space (the
    hostile pass saw 1.5 GB for 800 MB of output): a refusal to read more, the helper ended."""
    install_helper(helper_env / "bin", "flood", "floods")
    uses(helper_env, "flood")
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
        from promoter.errors import PromoterError
        from promoter.upstream.registry import Registry, parse_image
        try:
            Registry().digest("{auth_registry.host}/helpers/app", "v1")
        except PromoterError as exc:
            print(exc.exit_code, exc)
        """
    )
    env = {**os.environ, "PATH": f"{helper_env / 'bin'}{os.pathsep}{os.environ['PATH']}", "HELPER_FLOOD": "endless"}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"4 docker-credential-flood get: its answer for {auth_registry.host} is larger than 1024 KiB, "
        "more than promoter reads"
    )
    (pid,) = (helper_env / "helper.pids").read_text().split()
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left writing
        os.kill(int(pid), 0)


# --- what cannot be read or run -----------------------------------------------------------------------


def test_a_helper_that_cannot_be_run_is_named(
    auth_registry: RunningRegistry, helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executable bits, but its interpreter may not be executed (EACCES, even for root)."""
    interpreter = helper_env / "interp"
    interpreter.write_text("not executable\n")
    interpreter.chmod(0o644)
    helper = helper_env / "bin" / "docker-credential-denied"
    helper.parent.mkdir()
    helper.write_text(f"#!{interpreter}\n")
    helper.chmod(0o755)
    on_path(monkeypatch, helper.parent)
    uses(helper_env, "denied")
    with pytest.raises(ExternalError) as err:
        Registry().digest(f"{auth_registry.host}/helpers/app", "v1")
    assert str(err.value) == (
        f"cannot run the credential helper {helper} (named in ~/.docker/config.json): Permission denied"
    )
    assert err.value.exit_code == 4


def _without_read_permission(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -c code` unable to read a file its mode forbids: as an ordinary user when that is
    what runs the tests, as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH otherwise."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("where", ["default", "env"])
def test_an_unreadable_auth_file_is_named(helper_env: Path, where: str) -> None:
    auth = helper_env / "home" / ".docker" / "config.json"
    if where == "env":
        auth = helper_env / "registry-auth.json"
    auth.write_text(json.dumps({"auths": {"quay.io": {"auth": "dTpw"}}}))
    auth.chmod(0o000)
    code = textwrap.dedent(
        """
        from promoter.errors import PromoterError
        from promoter.upstream.registry import Registry, parse_image
        try:
            Registry()._credentials(parse_image("quay.io/a/b"))  # what a 401 from quay.io makes it do
        except PromoterError as exc:
            print(exc.exit_code, exc)
        """
    )
    env = {**os.environ}
    if where == "env":
        env["REGISTRY_AUTH_FILE"] = str(auth)
    proc = _without_read_permission(code, env)
    assert proc.returncode == 0, proc.stderr
    shown = f"REGISTRY_AUTH_FILE={auth}" if where == "env" else f"~/.docker/config.json ({auth})"
    assert proc.stdout.strip() == f"4 {shown}: cannot read the registry auth file (Permission denied)"


def test_an_auth_file_that_is_no_regular_file_is_named_without_blocking(
    helper_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = helper_env / "auth.fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(fifo))
    with pytest.raises(ExternalError, match=r"cannot read the registry auth file \(not a regular file\)"):
        Registry()._credentials(parse_image("quay.io/a/b"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(helper_env))
    with pytest.raises(ExternalError, match=r"cannot read the registry auth file \(not a regular file\)"):
        Registry()._credentials(parse_image("quay.io/a/b"))
