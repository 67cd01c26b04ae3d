"""The README's sample outputs are real: each fenced block after a `<!-- sample: NAME -->` marker
is `$ promoter ARGS` and its output, run here on the demo's config repository (nothing promoted
yet) at 100 columns, at the demo's fixed time, stdout and stderr as a terminal would interleave
them. A mismatch fails and prints the new block; `PROMOTER_UPDATE_README=1 pytest -k readme`
writes them into the README instead."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from promoter import demo

README = Path(__file__).resolve().parents[1] / "README.md"
SAMPLE = re.compile(r"(<!-- sample: (?P<name>[\w-]+) -->\n```console\n)(?P<body>.*?)(```\n)", re.S)


def _output(repo: Path, command: str) -> str:
    assert command.startswith("$ promoter "), command
    env = {**os.environ, "COLUMNS": "100", "PROMOTER_NOW": demo.NOON, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", *shlex.split(command.removeprefix("$ promoter "))],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # in the order a terminal shows them (promoter flushes each line)
        text=True,
        check=False,
        timeout=120,
    )
    assert str(repo) not in proc.stdout, "a sample would show this machine's temp path"
    return proc.stdout


def test_readme_samples_are_what_the_demo_prints(tmp_path: Path) -> None:
    _, repo, _ = demo.build(tmp_path / "demo")
    text = README.read_text()
    samples = list(SAMPLE.finditer(text))
    assert {m["name"] for m in samples} >= {"status", "plan", "check"}
    stale: list[str] = []
    new = text
    for m in reversed(samples):  # from the end: the offsets before each block stay valid
        command = m["body"].split("\n", 1)[0]
        body = f"{command}\n{_output(repo, command)}"
        if body != m["body"]:
            stale.append(f"<!-- sample: {m['name']} -->\n```console\n{body}```")
            new = new[: m.start("body")] + body + new[m.end("body") :]
    if stale and os.environ.get("PROMOTER_UPDATE_README") == "1":
        README.write_text(new)
        return
    assert not stale, (
        "README samples differ from what the demo prints (PROMOTER_UPDATE_README=1 rewrites them):\n\n"
        + ("\n\n".join(reversed(stale)))
    )
