"""`promoter history` on the shapes the real app-interface history has: glob-matched files that pin
nothing, one commit promoting several targets (full and short shas), rollbacks, files created and
removed, thousands of notes, short shas the upstream cannot tell apart."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tests.test_history import ADA, BOB, CAROL, DAVE, DAY, HOUR, Run, T, _commit, _env, _upstream

CONFIG = """version: 1
components:
  app:
    repo: https://github.com/example/app
    fetch: {fetch}
    branch: main
    short_length: {short}
    targets:
      - {{name: prod, environment: production, file: deploy/prod.yaml, key: ref, format: sha}}
      - {{name: tekton, environment: pipelines, files: "pipelines/tekton-*.yaml", key: app_image_tag, format: short}}
      - {{name: ci, environment: pipelines, file: .env, env: APP_REF}}
"""


def _values(versions: list[dict[str, str | None]]) -> list[str | None]:
    """The values of versions as JSON gives them ({"value", "sha"})."""
    return [v["value"] for v in versions]


def _names(change: dict) -> list[str]:  # type: ignore[type-arg]
    """The targets a change changed."""
    return [t["target"] for t in change["targets"]]


def _config_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], fetch: Path | str, short: int = 7
) -> Path:
    for k, v in _env(CAROL, T - DAY).items():
        monkeypatch.setenv(k, v)
    return make_repo(tmp_path / "config", {"promotion.yaml": CONFIG.format(fetch=fetch, short=short), **files})


def _doc(run: Run, repo: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("-C", repo, "history", "app", "-o", "json", *args)
    assert (code, err) == (0, ""), err
    return json.loads(out)  # type: ignore[no-any-return]


def _rows(doc: dict) -> list[tuple[str, list[str], list[str], list[str], list[str]]]:  # type: ignore[type-arg]
    return [(ch["commit"], _names(ch), _values(ch["old"]), _values(ch["new"]), ch["files"]) for ch in doc["changes"]]


def test_a_glob_file_without_a_pin_drops_no_change_and_each_change_is_its_own_commits(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tekton-provider file that pins nothing (or cannot be read) beside those that do: the
    promotions of the others are still seen, in the commits that made them, and nowhere else."""
    v = [(f"{i}{i}{i}abcd" * 6)[:40] for i in range(6)]
    repo = _config_repo(
        tmp_path,
        monkeypatch,
        {
            "deploy/prod.yaml": f"ref: {v[0]}\n",
            "pipelines/tekton-a.yaml": f"app_image_tag: {v[0][:7]}\n",
            "pipelines/tekton-b.yaml": f"app_image_tag: '{v[0][:7]}'\n",
        },
        "/nowhere",
    )
    init = git(repo, "rev-parse", "HEAD")
    add_c = _commit(repo, ADA, T + DAY, "a provider without app", {"pipelines/tekton-c.yaml": "other_image_tag: x\n"})
    tekton = _commit(
        repo,
        BOB,
        T + 2 * DAY,
        "promote app in tekton",
        {
            "pipelines/tekton-a.yaml": f"app_image_tag: {v[3][:7]}\n",
            "pipelines/tekton-b.yaml": f"app_image_tag: '{v[3][:7]}'\n",
        },
    )
    prod = _commit(repo, CAROL, T + 3 * DAY, "promote prod", {"deploy/prod.yaml": f"ref: {v[3]}\n"})
    _commit(repo, DAVE, T + 4 * DAY, "drop provider c", {"pipelines/tekton-c.yaml": None})
    broken = _commit(
        repo,
        ADA,
        T + 5 * DAY,
        "promote tekton; a broken new provider",
        {
            "pipelines/tekton-a.yaml": f"app_image_tag: {v[5][:7]}\n",
            "pipelines/tekton-b.yaml": f"app_image_tag: '{v[5][:7]}'\n",
            "pipelines/tekton-d.yaml": "app_image_tag: [\n",
        },
    )
    doc = _doc(run, repo, "--offline")
    a, b = "pipelines/tekton-a.yaml", "pipelines/tekton-b.yaml"
    assert _rows(doc) == [
        (init, ["prod", "tekton"], [], [v[0]], ["deploy/prod.yaml", a, b]),
        (tekton, ["tekton"], [v[0][:7]], [v[3][:7]], [a, b]),
        (prod, ["prod"], [v[0]], [v[3]], ["deploy/prod.yaml"]),
        (broken, ["tekton"], [v[3][:7]], [v[5][:7]], [a, b]),
    ]
    assert [(n["commit"], n["target"], n["reason"]) for n in doc["notes"]] == [
        (add_c, "tekton", "no pin in pipelines/tekton-c.yaml"),
        (broken, "tekton", "invalid YAML in pipelines/tekton-d.yaml"),
    ]
    assert doc["notes"][1]["detail"].startswith("pipelines/tekton-d.yaml:2: invalid YAML: ")


def test_one_commit_is_one_row_and_a_full_sha_and_its_prefix_count_once(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = "1" * 40, "2" * 40
    repo = _config_repo(
        tmp_path,
        monkeypatch,
        {"deploy/prod.yaml": f"ref: {old}\n", "pipelines/tekton-a.yaml": f"app_image_tag: {old[:7]}\n"},
        "/nowhere",
    )
    both = _commit(
        repo,
        BOB,
        T,
        "promote all",
        {"deploy/prod.yaml": f"ref: {new}\n", "pipelines/tekton-a.yaml": f"app_image_tag: {new[:7]}\n"},
    )
    doc = _doc(run, repo, "--offline")
    assert [ch["commit"] for ch in doc["changes"]] == [git(repo, "rev-parse", "HEAD~1"), both]
    row = doc["changes"][1]
    assert (_values(row["old"]), _values(row["new"]), _names(row), row["environments"]) == (
        [old],
        [new],
        ["prod", "tekton"],
        ["production", "pipelines"],
    )
    assert [(t["target"], _values(t["old"]), _values(t["new"])) for t in row["targets"]] == [
        ("prod", [old], [new]),
        ("tekton", [old[:7]], [new[:7]]),
    ]
    code, out, err = run("-C", repo, "history", "app", "--offline")
    assert out.splitlines()[0] == "app: 2 changes"
    assert out.count(f"{old[:7]} -> {new[:7]}") == 1


def test_files_created_and_removed_are_changes_from_and_to_none(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = "a" * 40, "b" * 40
    repo = _config_repo(tmp_path, monkeypatch, {"deploy/prod.yaml": f"ref: {a}\n"}, "/nowhere")
    created = _commit(repo, ADA, T, "ci pins app", {".env": f"APP_REF={a[:7]}\n"})
    removed = _commit(repo, BOB, T + DAY, "prod goes", {"deploy/prod.yaml": None})
    back = _commit(repo, CAROL, T + 2 * DAY, "prod is back", {"deploy/prod.yaml": f"ref: {b}\n"})
    doc = _doc(run, repo, "--offline")
    assert [(ch["commit"], _names(ch), _values(ch["old"]), _values(ch["new"])) for ch in doc["changes"]][1:] == [
        (created, ["ci"], [], [a[:7]]),
        (removed, ["prod"], [a], []),
        (back, ["prod"], [], [b]),
    ]
    code, out, err = run("-C", repo, "history", "app", "--offline")
    assert f"(none) -> {a[:7]}" in out and f"{a[:7]} -> (none)" in out and f"(none) -> {b[:7]}" in out


def test_a_rollback_is_marked_and_counted_apart(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    u = _upstream(tmp_path / "upstream")
    repo = _config_repo(tmp_path, monkeypatch, {"deploy/prod.yaml": f"ref: {u[0]}\n"}, tmp_path / "upstream")
    c = [
        _commit(repo, ADA, T + 4 * DAY, "promote u5", {"deploy/prod.yaml": f"ref: {u[5]}\n"}),
        _commit(repo, BOB, T + 4 * DAY + HOUR, "roll back to u3", {"deploy/prod.yaml": f"ref: {u[3]}\n"}),
        _commit(repo, CAROL, T + 8 * DAY, "promote u9", {"deploy/prod.yaml": f"ref: {u[9]}\n"}),
    ]
    doc = _doc(run, repo)
    assert [(ch["commit"], ch["rollback"]) for ch in doc["changes"]][1:] == [(c[0], False), (c[1], True), (c[2], False)]
    assert doc["changes"][2]["targets"][0]["rollback"] is True
    assert doc["weeks"] == {
        "2023-W52": {"promotions": 1, "rollbacks": 0},
        "2024-W01": {"promotions": 1, "rollbacks": 1},
        "2024-W02": {"promotions": 1, "rollbacks": 0},
    }
    code, out, err = run("-C", repo, "history", "app")
    line = next(x for x in out.splitlines() if c[1][:7] in x)
    assert f"{u[5][:7]} -> {u[3][:7]} (rollback)" in line
    assert "  2024-W01  1 + 1 rollback" in out.splitlines()
    offline = _doc(run, repo, "--offline")  # ancestry needs the upstream: unknown, not false
    assert {ch["rollback"] for ch in offline["changes"]} == {None}


def test_notes_are_summarised_per_target_and_reason_and_listed_with_v(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = "c" * 40
    repo = _config_repo(tmp_path, monkeypatch, {"pipelines/tekton-a.yaml": f"app_image_tag: {sha[:7]}\n"}, "/x")
    noted = [
        _commit(repo, ADA, T + i * DAY, f"provider c, take {i}", {"pipelines/tekton-c.yaml": f"other: {i}\n"})
        for i in range(1, 6)
    ]
    broken = _commit(repo, BOB, T + 9 * DAY, "oops", {"pipelines/tekton-a.yaml": "app_image_tag: [\n"})
    doc = _doc(run, repo, "--offline")
    assert [(n["commit"], n["date"], n["target"], n["reason"]) for n in doc["notes"]] == [
        *[(c, f"2024-01-0{i + 1}T00:00:00+00:00", "tekton", "no pin in pipelines/tekton-c.yaml") for i, c in
          enumerate(noted, start=1)],
        (broken, "2024-01-10T00:00:00+00:00", "tekton", "invalid YAML in pipelines/tekton-a.yaml"),
    ]  # fmt: skip
    code, out, err = run("-C", repo, "history", "app", "--offline")
    notes = [x for x in out.splitlines() if x.startswith("note: ")]
    assert notes == [
        "note: target 'tekton': 5 commits: no pin in pipelines/tekton-c.yaml; first 2024-01-02, last 2024-01-06",
        f"note: target 'tekton': {broken[:12]} (2024-01-10): pipelines/tekton-a.yaml:2: invalid YAML: "
        + doc["notes"][-1]["detail"].split("invalid YAML: ", 1)[1],
        "note: 6 notes in 2 groups; promoter -v history lists each",
    ]
    code, out, err = run("-C", repo, "-v", "history", "app", "--offline")
    notes = [x for x in out.splitlines() if x.startswith("note: ")]
    assert len(notes) == 6 and notes[0] == (
        f"note: target 'tekton': {noted[0][:12]} (2024-01-02): pipelines/tekton-c.yaml: located no pinned value"
    )


def _ambiguous_upstream(path: Path, short: int) -> tuple[list[str], tuple[str, str]]:
    """An upstream of 1,500 commits (fast-import, fixed dates) and two of them whose shas share
    their first `short` digits."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    out = bytearray()
    for i in range(1500):
        who = f"Ada <ada@example.com> {T + i * 60} +0000".encode()
        msg = f"u{i}".encode()
        out += b"commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (
            i + 1,
            who,
            who,
            len(msg),
            msg,
        )
        if i:
            out += b"from :%d\n" % i
        body = f"{i}\n".encode()
        out += b"M 100644 inline f\ndata %d\n%s\n" % (len(body), body)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=bytes(out), check=True)
    shas = git(path, "rev-list", "--reverse", "main").split()
    seen: dict[str, str] = {}
    for sha in shas:
        if sha[:short] in seen:
            return shas, (seen[sha[:short]], sha)
        seen[sha[:short]] = sha
    raise AssertionError("no two commits share a prefix; make the upstream longer")


def test_an_ambiguous_short_sha_is_said_so_and_resolved_through_the_full_sha_of_its_commit(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    shas, (x, y) = _ambiguous_upstream(tmp_path / "upstream", 4)
    unique = next(s for s in shas if sum(o.startswith(s[:4]) for o in shas) == 1)
    repo = _config_repo(
        tmp_path, monkeypatch, {"deploy/prod.yaml": f"ref: {unique}\n", ".env": f"APP_REF={unique[:4]}\n"},
        tmp_path / "upstream", short=4,
    )  # fmt: skip
    both = _commit(repo, ADA, T + DAY, "promote x", {"deploy/prod.yaml": f"ref: {y}\n", ".env": f"APP_REF={y[:4]}\n"})
    away = _commit(repo, BOB, T + 2 * DAY, "ci away", {".env": f"APP_REF={unique[:4]}\n"})
    beside = _commit(repo, BOB, T + 3 * DAY, "ci back beside prod", {".env": f"APP_REF={y[:4]}\n"})
    _commit(repo, CAROL, T + 4 * DAY, "prod away", {"deploy/prod.yaml": f"ref: {unique}\n"})
    _commit(repo, DAVE, T + 6 * DAY, "ci away again", {".env": f"APP_REF={unique[:4]}\n"})
    alone = _commit(repo, DAVE, T + 7 * DAY, "ci alone to y", {".env": f"APP_REF={x[:4]}\n"})
    doc = _doc(run, repo)
    rows = {ch["commit"]: ch for ch in doc["changes"]}
    assert (
        rows[both]["new"] == [{"value": y, "sha": y}] and rows[both]["promoted"] == y and rows[both]["unresolved"] == {}
    )
    assert [t["promoted"] for t in rows[both]["targets"]] == [y, y]  # the short one through y
    assert rows[away]["promoted"] == unique
    assert (
        rows[beside]["new"] == [{"value": y[:4], "sha": y}] and rows[beside]["promoted"] == y
    )  # prod pins y in this commit
    assert rows[alone]["promoted"] is None and rows[alone]["unresolved"] == {x[:4]: "ambiguous"}
    code, out, err = run("-C", repo, "history", "app")
    line = next(x for x in out.splitlines() if x.endswith("ci alone to y"))
    assert line.split()[-6:-4] == ["-", "ambiguous"] and "not in upstream" not in out
