"""The bot's 17 automated promotions of April-May 2022, replayed by promoter with no promotion.yaml
(../shared/realdata, never copied here; skipped without it).

In the 2022-05-11 snapshot with a case's `context` files (what the bot read at the promotion's
parent) and `before` files laid over it, committed: `promoter promote COMPONENT NEW_SHA --target
<the subscriber> --offline --yes` turns `before` into the bot's `after` byte for byte (its `ref`
and its `promotion_data`'s `target_config_hash`, computed by the recipe of the qontract-reconcile
the tree pins), where the bot kept the file's text; where it re-wrote the file (ruamel dropping
blank lines and comments: `formatting` in the case), every line but those it dropped is the
bot's, and promoter changed nothing else. The component and the subscriber are found from
`status -o json`, by the case's saas file, resource template and namespace, never by name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.test_native_realdata import committed_snapshot

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "app-interface"
AUTO = SHARED / "auto-promotions"
CASES = sorted(p for p in AUTO.iterdir() if (p / "case.json").is_file()) if AUTO.is_dir() else []


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole snapshot, committed once (each case is laid over it on a branch of its own)."""
    repo = committed_snapshot(tmp_path_factory)
    git(repo, "tag", "snapshot")
    return repo


def _reconcile_version(info: dict[str, Any], env: str) -> str:
    """The tree's .env, pinning the qontract-reconcile App-SRE ran at the case's date. The cases do
    not carry .env: up to 2022-05-24 the snapshot's (862eebc, 2022-05-10; the same recipe since
    2022-03-17); case 17 (2022-05-24 14:56 UTC) ran a3dcc41 (merged 2022-05-24 11:09 UTC), the
    first whose target config holds the Jenkins instance's serverUrl (tests/test_confighash.py)."""
    if str(info["date"]) < "2022-05-24T12":
        return env
    lines = [
        "export RECONCILE_IMAGE_TAG=a3dcc41" if line.startswith("export RECONCILE_IMAGE_TAG=") else line
        for line in env.splitlines()
    ]
    assert lines != env.splitlines()
    return "\n".join(lines) + "\n"


def _case_tree(base: Path, case: Path, info: dict[str, Any]) -> Path:
    git(base, "checkout", "-q", "-f", "-B", f"case-{case.name}", "snapshot")
    git(base, "clean", "-qfdx")
    shutil.copytree(case / "context", base, dirs_exist_ok=True)
    shutil.copytree(case / "before", base, dirs_exist_ok=True)
    env = base / ".env"
    env.write_text(_reconcile_version(info, env.read_text()))
    git(base, "add", "-A")
    git(base, "commit", "-qm", f"parent of {info['commit']}", "--allow-empty")
    return base


def _content(text: str) -> list[str]:
    """The lines the bot's re-writing keeps: not blank, not a comment alone."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.skipif(not CASES, reason="../shared/realdata is absent")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_bots_promotion_is_reproduced_byte_for_byte(base: Path, case: Path, run) -> None:  # type: ignore[no-untyped-def]
    info = json.loads((case / "case.json").read_text())
    repo = _case_tree(base, case, info)
    code, out, err = run("-C", repo, "--offline", "status", "-o", "json")
    assert code == 0, err
    targets = [
        (c["component"], t) for c in json.loads(out)["components"] for e in c["environments"] for t in e["targets"]
    ]
    # the subscriber: the case's target, and (as the bot moves them together) every other target of
    # its saas file subscribed to the same channels
    (comp, subscriber) = next(
        (c, t)
        for c, t in targets
        if t["native"]["saas_file"] == info["saas_file"]
        and t["native"]["resource_template"] == info["resource_template_name"]
        and t["native"]["namespace"] == info["target_namespace"]
    )
    assert subscriber["native"]["auto"] is True and subscriber["native"]["ref"] == info["old_ref"]
    assert set(subscriber["native"]["channels"]["subscribe"]) == set(info["channels_subscribed"])
    moved = [
        t["target"]
        for c, t in targets
        if c == comp
        and t["native"]["saas_file"] == info["saas_file"]
        and t["native"]["auto"]
        and set(t["native"]["channels"]["subscribe"]) == set(info["channels_subscribed"])
        and t["native"]["ref"] == info["old_ref"]
    ]
    chosen = [a for name in moved for a in ("--target", name)]
    code, out, err = run("-C", repo, "promote", comp, info["new_ref"], *chosen, "--offline", "--yes")
    assert code == 0, err
    file = info["saas_file"]
    before = (case / "before" / file).read_text()
    bot = (case / "after" / file).read_text()
    mine = (repo / file).read_text()
    if not any(a.startswith("formatting") for a in info["also_changed"]):
        assert mine == bot
    else:  # the bot re-wrote the file: every line it kept is ours, and ours changed no other line
        assert _content(mine) == _content(bot)
        old, new = before.splitlines(), mine.splitlines()
        assert len(old) == len(new)
        for a, b in zip(old, new):
            if a != b:
                assert a.lstrip().startswith(("ref: ", "target_config_hash: ")), (a, b)
    hashes = [line for line in mine.splitlines() if "target_config_hash:" in line]
    assert ("promotion.promotion_data" in info["also_changed"]) == (
        hashes != [line for line in before.splitlines() if "target_config_hash:" in line]
    )
