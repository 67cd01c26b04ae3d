#!/usr/bin/env python3
"""`promoter history` with the upstream against the same history offline, on generated repositories.

    python bench/history_bench.py            # 100,000 config commits, a 20,000-commit upstream (about 2 minutes)
    python bench/history_bench.py --quick    # 10,000 and 2,000: a smoke run

Both repositories are written by `git fast-import` (as bench/run.py builds its history repo):

- the upstream: a main line with a feature branch of three commits merged every 40 commits (its
  commits dated before their parents, as rebased work is), 20,000 commits in all;
- the config repo: 100,000 commits, one in ten a promotion of one or two of three targets
  (`deploy/prod.yaml` and `deploy/stage.yaml` pin full shas, `.env` a short one) to the newest
  upstream commit that had landed zero to three days before (or the one after what the target
  ran), one in a hundred a rollback; the others touch unrelated files.

Measured, each the median of 5 runs (3 with `--quick`) after one warm-up run that also clones
the upstream into the bench's own cache: `history -o json` with the upstream against `history
--offline -o json` (goal: within 2x), and `history -o html --out FILE` with the upstream against
the same offline JSON. The peak RSS is the largest of the measured process and the git processes
it ran. With the full sizes, the cost of the per-change git calls the upstream figures used to
take (`rev-parse --disambiguate` and `rev-list --count --before` for each change) is measured on
200 changes and scaled to all of them, for comparison.

bench/run.py calls `history_rows(quick)` for its table; this file alone prints the same rows.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path

from run import ENV, PROMOTER  # bench/run.py, beside this script

BASE = 1_700_000_000  # the upstream's first commit
CONFIG = """version: 1
components:
  c:
    repo: https://github.com/example/c
    fetch: {fetch}
    branch: main
    targets:
      - {{name: prod, environment: production, file: deploy/prod.yaml, key: ref, format: sha}}
      - {{name: stage, environment: staging, file: deploy/stage.yaml, key: ref, format: sha}}
      - {{name: ci, environment: pipelines, file: .env, env: C_TAG}}
"""


def _fast_import(repo: Path, stream: bytes, marks: Path | None = None) -> None:
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=ENV, check=True)
    cmd = ["git", "fast-import", "--quiet"] + ([f"--export-marks={marks}"] if marks else [])
    subprocess.run(cmd, cwd=repo, input=stream, env=ENV, check=True)


def upstream_repo(path: Path, commits: int) -> list[tuple[str, int]]:
    """The upstream; returns (sha, commit time) of its main line's commits, oldest first."""
    out = bytearray()
    mainline: list[tuple[int, int]] = []  # (mark, time)
    mark = 0

    def commit(ref: bytes, when: int, parents: list[int]) -> int:
        nonlocal mark
        mark += 1
        who = b"Dev <dev@example.com> %d +0000" % when
        msg = b"change %d" % mark
        out.extend(
            b"commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (ref, mark, who, who, len(msg), msg)
        )
        if parents:
            out.extend(b"from :%d\n" % parents[0])
        for p in parents[1:]:
            out.extend(b"merge :%d\n" % p)
        body = b"%d\n" % mark
        out.extend(b"M 100644 inline src/f%d.py\ndata %d\n%s\n" % (mark % 300, len(body), body))
        return mark

    when = BASE
    while mark < commits:
        when += 300
        if len(mainline) > 10 and len(mainline) % 40 == 0 and mark + 4 <= commits:
            tip = mainline[-10][0]
            for k in range(3):
                tip = commit(b"refs/heads/feature", when - 6 * 3600 + k, [tip])  # older than its parent
            mainline.append((commit(b"refs/heads/main", when, [mainline[-1][0], tip]), when))
        else:
            mainline.append((commit(b"refs/heads/main", when, [mainline[-1][0]] if mainline else []), when))
    marks = path.parent / f"{path.name}.marks"
    _fast_import(path, bytes(out), marks)
    sha = dict(line.split() for line in marks.read_text().splitlines())
    return [(sha[f":{m}"], t) for m, t in mainline]


def config_repo(path: Path, commits: int, upstream: Path, up: list[tuple[str, int]]) -> int:
    """The config repo; returns how many commits promote."""
    rnd = random.Random(2024)
    config = CONFIG.format(fetch=upstream).encode()
    times = [t for _, t in up]
    start = times[len(times) // 20]  # the config's history starts once the upstream has some
    step = max((times[-1] - start) // commits, 1)
    pins = {"deploy/prod.yaml": 0, "deploy/stage.yaml": 0, ".env": 0}
    out = bytearray()
    promotions = 0

    def blob(name: str, index: int) -> bytes:
        sha = up[index][0]
        text = f"APP={sha[:7]}\nC_TAG={sha[:7]}\n" if name == ".env" else f"name: c\nref: {sha}\n"
        data = text.encode()
        return b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data)

    for i in range(commits):
        when = start + i * step
        msg = b"change %d" % i
        who = b"Ops%d <ops%d@example.com> %d +0000" % (i % 9, i % 9, when)
        out += b"commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (who, who, len(msg), msg)
        if i == 0:
            out += b"M 100644 inline promotion.yaml\ndata %d\n%s\n" % (len(config), config)
            for name in pins:
                out += blob(name, 0)
        elif i % 10 == 0:
            promotions += 1
            landed = bisect_right(times, when - rnd.randint(0, 3 * 86400)) - 1
            names = rnd.choice([["deploy/stage.yaml"], ["deploy/prod.yaml", ".env"], ["deploy/stage.yaml", ".env"]])
            for name in names:
                index = min(max(landed, pins[name] + 1), len(up) - 1)  # newer than what it ran
                if rnd.random() < 0.01:  # a rollback
                    index = max(pins[name] - rnd.randint(1, 20), 0)
                pins[name] = index
                out += blob(name, index)
        else:
            note = b"%d\n" % i
            out += b"M 100644 inline notes/n%d.txt\ndata %d\n%s\n" % (i % 500, len(note), note)
    _fast_import(path, bytes(out))
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, env=ENV, check=True)
    return promotions


_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
)


def probe(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one run of `cmd`, measured by a small process that starts it."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *cmd], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {out[2]}")
    return float(out[0]), int(out[1]) / 1024


def interleaved(cmds: dict[str, list[str]], repeat: int, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """(median seconds, peak RSS in MB) of each command, run by turns `repeat` times after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    peak = dict.fromkeys(cmds, 0.0)
    for round_ in range(repeat + 1):
        for name, cmd in cmds.items():
            t, mem = probe(cmd, env)
            if round_:
                times[name].append(t)
                peak[name] = max(peak[name], mem)
    return {name: (statistics.median(times[name]), peak[name]) for name in cmds}


def _per_change_calls(mirror: Path, values: list[tuple[str, str]], sample: int) -> float:
    """Seconds the per-change git calls took for `sample` of the (value, ISO date) pairs: a
    `rev-parse --disambiguate` and a `rev-list --count --before` each, as history used to run them."""
    started = time.perf_counter()
    for value, date in values[:sample]:
        subprocess.run(["git", "rev-parse", f"--disambiguate={value[:7]}"], cwd=mirror, capture_output=True, check=True)
        subprocess.run(
            ["git", "rev-list", "--count", f"--before={date}", f"{value}..refs/heads/main", "--"],
            cwd=mirror,
            capture_output=True,
            check=True,
        )
    return time.perf_counter() - started


def history_rows(quick: bool) -> list[list[str]]:
    """The rows bench/run.py prints: benchmark, promoter, baseline (same run), ratio, peak RSS, goal."""
    config_commits, upstream_commits, repeat = (10_000, 2_000, 3) if quick else (100_000, 20_000, 5)
    work = Path(tempfile.mkdtemp(prefix="promoter-history-bench-"))
    try:
        started = time.perf_counter()
        up = upstream_repo(work / "upstream", upstream_commits)
        promotions = config_repo(work / "config", config_commits, work / "upstream", up)
        made = time.perf_counter() - started
        print(f"  (generated both repositories in {made:.1f} s)", file=sys.stderr)
        env = {**ENV, "PROMOTER_CACHE_DIR": str(work / "cache")}
        base = [*PROMOTER, "-C", str(work / "config"), "history", "c"]
        report = str(work / "report.html")
        got = interleaved(
            {
                "offline": [*base, "--offline", "-o", "json"],
                "online": [*base, "-o", "json"],
                "html": [*base, "-o", "html", "--out", report],
            },
            repeat,
            env,
        )
        offline = got["offline"][0]
        shape = f"{config_commits:,} commits ({promotions:,} promotions), upstream {upstream_commits:,} commits"
        rows = []
        t, mem = got["offline"]
        rows.append([f"history --offline, {shape}", f"{t * 1000:,.0f} ms", "", "", f"{mem:.0f} MB", ""])
        for name, label in (("online", "history with the upstream"), ("html", "history -o html with the upstream")):
            t, mem = got[name]
            rows.append(
                [
                    f"{label}, {shape}",
                    f"{t * 1000:,.0f} ms",
                    f"{offline * 1000:,.0f} ms (history --offline)",
                    f"{t / offline:.2f}x",
                    f"{mem:.0f} MB",
                    "< 2x" if name == "online" else "",
                ]
            )
        if not quick:
            mirror = next((work / "cache" / "mirrors").iterdir())
            log = subprocess.run(
                ["git", "log", "--format=%cI", "--", "deploy/prod.yaml", "deploy/stage.yaml", ".env"],
                cwd=work / "config",
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            pairs = [(up[(i * 7919) % len(up)][0], date) for i, date in enumerate(log)]
            sample = 200
            took = _per_change_calls(mirror, pairs, sample) * len(pairs) / sample
            rows.append(
                [
                    f"  the per-change git calls it replaced ({len(pairs):,} changes; 200 timed, scaled)",
                    f"{took * 1000:,.0f} ms",
                    f"{offline * 1000:,.0f} ms (history --offline)",
                    f"{(took + offline) / offline:.2f}x",
                    "",
                    "",
                ]
            )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 config commits and a 2,000-commit upstream")
    args = ap.parse_args()
    rows = [["benchmark", "promoter", "baseline (same run)", "ratio", "peak RSS", "goal"], *history_rows(args.quick)]
    from run import print_table  # bench/run.py, beside this script

    print_table(rows, f", max RSS of this script {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
