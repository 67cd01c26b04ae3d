"""Secrets never leak: tokens, registry passwords and credentials in remote URLs appear in no
output, no commit and no message, with `-v`, on failing and succeeding commands alike.

GitLab is a contract fake (tests/forge_fakes.py): the merge request it receives is grepped too.
The registry password sits in REGISTRY_AUTH_FILE throughout; the registry exchanges that use it
(401 challenges, token services, wrong passwords) are tests/test_registry.py::
test_secrets_never_in_messages (a CLI run against a down registry here would only add 7 s of
retries). Unit-level: tests/test_registry.py::test_secrets_never_in_messages, tests/test_forge.py::
test_gitlab_401_never_shows_the_token, test_github_401_never_shows_the_token, test_no_token_in_logs.)
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tests.forge_fakes import FakeGitLab, running
from tests.reliability.helpers import cli, closed_port

OLD = "0123456789abcdef0123456789abcdef01234567"
GITHUB_TOKEN = "ghp_S3cretGitHubT0ken0000000000000000"
GITLAB_TOKEN = "glpat-S3cretGitLabT0ken00000"
REGISTRY_PASSWORD = "Registry-S3cret-pw"
FETCH_PASSWORD = "fetch-S3cret-pw"
PUSH_PASSWORD = "push-S3cret-pw"
SECRETS = [GITHUB_TOKEN, GITLAB_TOKEN, REGISTRY_PASSWORD, FETCH_PASSWORD, PUSH_PASSWORD]


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    """GitLab cannot run here: tests/forge_fakes.py is a contract fake of its REST API."""
    with running(FakeGitLab(GITLAB_TOKEN, project="group/cfg")) as server:
        assert isinstance(server, FakeGitLab)
        yield server


def test_no_secret_in_any_output_commit_or_message(tmp_path: Path, gitlab: FakeGitLab) -> None:
    down = closed_port()
    upstream = make_repo(tmp_path / "upstream", {"f": "1\n"})
    head = git(upstream, "rev-parse", "HEAD")
    bare = tmp_path / "cfg.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    push_url = f"https://deploy:{PUSH_PASSWORD}@gitlab.example.com/group/cfg.git"
    config = f"""\
version: 1
components:
  hidden:
    repo: https://robot:{FETCH_PASSWORD}@127.0.0.1:{down}/team/hidden.git
    targets:
      - {{name: h, file: h.yaml, key: ref, format: sha}}
  app:
    repo: https://robot:{FETCH_PASSWORD}@github.com/team/app
    fetch: {upstream}
    branch: main
    image: 127.0.0.1:{down}/team/app
    targets:
      - {{name: a, file: a.yaml, key: ref, format: sha}}
merge_request:
  method: api
  forge: gitlab
  api_url: {gitlab.url}/api/v4
"""
    root = make_repo(tmp_path / "r", {"promotion.yaml": config, "h.yaml": f"ref: {OLD}\n", "a.yaml": f"ref: {OLD}\n"})
    git(root, "remote", "add", "origin", push_url)
    git(root, "config", f"url.{bare}.pushInsteadOf", push_url)  # pushes land in `bare`; the URL keeps its password
    git(root, "remote", "add", "leaky", f"http://deploy:{PUSH_PASSWORD}@127.0.0.1:{down}/group/cfg.git")
    auth = tmp_path / "auth.json"
    token = base64.b64encode(f"robot:{REGISTRY_PASSWORD}".encode()).decode()
    auth.write_text(json.dumps({"auths": {f"127.0.0.1:{down}": {"auth": token}}}))
    env = {"GITHUB_TOKEN": GITHUB_TOKEN, "GITLAB_TOKEN": GITLAB_TOKEN, "REGISTRY_AUTH_FILE": str(auth)}

    runs = {
        # command: expected exit code
        ("status", "-v"): 3,  # upstream of `hidden` unreachable: said, with its URL; the registry of `app`
        # down: an error in the table (3, as check)
        ("plan", "hidden", "-v"): 4,  # cannot clone
        ("changelog", "hidden", "-v"): 4,
        ("plan", "app", head, "--offline", "-v"): 0,
        ("promote", "hidden", head, "--offline", "--push", "leaky", "--yes", "-v"): 4,  # push refused
        ("promote", "app", head, "--offline", "--push", "--yes", "-v"): 0,  # pushed, merge request opened
        ("status", "--offline", "-v", "-o", "json"): 0,
    }
    texts: list[str] = []
    for argv, code in runs.items():
        proc = cli(root, *argv, env=env)
        assert proc.returncode == code, (argv, proc.stdout, proc.stderr)
        texts += [proc.stdout, proc.stderr]

    assert any(f"cannot clone https://***@127.0.0.1:{down}/team/hidden.git" in t for t in texts)  # redacted
    assert any("cannot push to leaky: " in t for t in texts)  # checked before anything is written
    assert git(bare, "branch", "--list", "promote/*")  # the push did happen
    assert len(gitlab.mrs) == 1  # the merge request was opened: its title, body and labels as sent
    assert gitlab.requests[-1].headers["private-token"] == GITLAB_TOKEN  # the token was used...
    texts += [json.dumps(r.body) for r in gitlab.requests] + [r.raw_query for r in gitlab.requests]
    texts.append(json.dumps(gitlab.mrs))  # ...and appears in nothing sent
    assert f"(https://github.com/team/app/commit/{head})" in gitlab.mrs[0]["description"]  # link, no credentials
    for repo_dir in (root, bare):
        texts.append(git(repo_dir, "log", "--all", "--format=%H%n%an <%ae>%n%B"))
    texts.append(git(bare, "for-each-ref"))
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
            assert base64.b64encode(secret.encode()).decode() not in text
    assert token not in "".join(texts)
