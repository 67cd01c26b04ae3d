#!/usr/bin/env python3
"""Benchmarks: figures and ratios against a baseline measured in the same run, on the same data.

    python bench/run.py            # the full set (real snapshot, growth to 200k files, start-up)
    python bench/run.py --quick    # a smoke run for CI: small sizes, fewer repeats

Nothing here asserts a time: it prints a table. Goals (from the issue) are printed beside the
ratios so a reader can judge; bench/README.md keeps the figures measured on a known machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNAPSHOT = ROOT.parent / "shared" / "realdata" / "app-interface" / "snapshot-2022-05-11.tar.gz"
EXAMPLE = ROOT / "examples" / "app-interface" / "promotion.yaml"
NEW_SHA = "ab0ae8f8e459d350dc0f80b93f6ed7633dc178b3"  # promotion 05, made on top of the snapshot
PROMOTER = [sys.executable, "-m", "promoter"]
# an installed package has its bytecode compiled: let Python write it (this machine's
# environment sets PYTHONDONTWRITEBYTECODE) and warm it up before timing
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> tuple[float, float]:
    """(median seconds, peak RSS in MB) of running `cmd` `repeat` times, after one run to warm up."""
    subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, check=False)
    times, peak = [], 0.0
    for _ in range(repeat):
        probe = (
            "import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, *cmd], cwd=cwd, env=ENV, capture_output=True, text=True, check=True
        ).stdout.split()
        if out[2] not in ("0", "1", "2", "3"):
            raise SystemExit(f"{cmd} failed with {out[2]}")
        times.append(float(out[0]))
        peak = max(peak, int(out[1]) / 1024)
    return statistics.median(times), peak


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def row(rows: list[list[str]], name: str, t: float, base: float, base_name: str, mem: float, goal: str = "") -> None:
    rows.append(
        [name, f"{t * 1000:.0f} ms", f"{base * 1000:.0f} ms ({base_name})", f"{t / base:.2f}x", f"{mem:.0f} MB", goal]
    )


def startup(rows: list[list[str]], repeat: int) -> None:
    base, _ = timed([sys.executable, "-c", "pass"], repeat)
    for args, goal in ((["--version"], "< 2.5x"), (["--help"], "< 4x")):
        t, mem = timed([*PROMOTER, *args], repeat)
        row(rows, f"promoter {' '.join(args)}", t, base, "python -c pass", mem, goal)


def snapshot(rows: list[list[str]], repeat: int, work: Path) -> None:
    if not SNAPSHOT.is_file():
        rows.append(["real snapshot", "skipped", "../shared/realdata is absent", "", "", ""])
        return
    with tarfile.open(SNAPSHOT) as tar:
        tar.extractall(work, filter="data")
    repo = work / "app-interface"
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot")
    files = sum(1 for _ in repo.rglob("*") if _.is_file() and ".git" not in _.parts)
    base, _ = timed(["git", "grep", "-l", "862eebc895ea7f496f9037a7b8a4d1f393d8a546"], repeat, repo)
    cfg = ["-C", str(repo), "--config", str(EXAMPLE), "--offline"]
    t, mem = timed([*PROMOTER, *cfg, "plan", "qontract-reconcile", NEW_SHA], repeat)
    row(rows, f"plan, snapshot ({files} files)", t, base, "git grep -l sha", mem, "< 3x")
    base, _ = timed(["git", "grep", "-l", "qontract_reconcile_image_tag"], repeat, repo)
    t, mem = timed([*PROMOTER, *cfg, "status"], repeat)
    row(rows, "status, snapshot", t, base, "git grep -l key", mem)
    base, _ = timed(["git", "grep", "-l", "-e", "862eebc", "-e", "qontract_reconcile_image_tag"], repeat, repo)
    # start-up: the interpreter and the modules discover/check import, run on nothing
    imports = "import promoter.cli, promoter.core, promoter.discover, promoter.render_discover"
    started, _ = timed([sys.executable, "-c", imports], repeat)
    for command, goal in ((["discover"], "< 2x"), (["check"], "")):
        t, mem = timed([*PROMOTER, *cfg, *command], repeat)
        row(rows, f"{command[0]}, snapshot", t, base, "git grep -l sha|key", mem, goal)
        row(rows, f"  {command[0]} beyond start-up", t - started, base, "git grep -l sha|key", mem)


def generate(repo: Path, files: int) -> int:
    """A synthetic config repo: `files` YAML files in 100-file directories, 3 of them pinning.
    Returns its size in bytes."""
    sha = "1" * 40
    size = 0
    for i in range(files):
        d = repo / "data" / f"d{i // 100:05d}"
        if i % 100 == 0:
            d.mkdir(parents=True)
        size += (d / f"f{i:06d}.yaml").write_text(
            f"---\nname: service-{i}\nlabels: {{team: t{i % 17}}}\nresourceTemplates:\n- name: x\n"
            f"  url: https://github.com/example/other-{i % 50}\n  targets:\n  - ref: {f'{i:040x}'}\n"
        )
    (repo / "pins").mkdir()
    (repo / "pins" / "saas.yaml").write_text(
        f"resourceTemplates:\n- name: c\n  url: https://github.com/example/c\n  targets:\n  - ref: {sha}\n"
    )
    (repo / "pins" / ".env").write_text(f"export C_TAG={sha[:7]}\n")
    (repo / "promotion.yaml").write_text(
        "version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    targets:\n"
        "      - {name: saas, file: pins/saas.yaml, saas: {}}\n      - {name: env, file: pins/.env, env: C_TAG}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "generated")
    return size


def growth(rows: list[list[str]], sizes: list[int], repeat: int, work: Path) -> None:
    for n in sizes:
        repo = work / f"gen-{n}"
        repo.mkdir()
        started = time.perf_counter()
        size = generate(repo, n) / 1e6
        made = time.perf_counter() - started
        base, _ = timed(["git", "grep", "-l", "1111111"], repeat, repo)
        t, mem = timed([*PROMOTER, "-C", str(repo), "--offline", "plan", "c", "2" * 40], repeat)
        row(rows, f"plan, {n} generated files ({size:.0f} MB)", t, base, "git grep -l", mem, "flat")
        t, mem = timed([*PROMOTER, "-C", str(repo), "--offline", "discover"], repeat)
        row(rows, f"discover, {n} generated files ({size:.0f} MB)", t, base, "git grep -l", mem, "linear; < 150 MB")
        print(f"  (generated {n} files in {made:.1f} s)", file=sys.stderr)


def history_repo(repo: Path, commits: int) -> None:
    """A config repo with `commits` commits, one in ten of them a promotion (built by fast-import)."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    config = (
        b"version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    targets:\n"
        b"      - {name: env, environment: production, file: pins/.env, env: C_TAG, format: sha}\n"
    )
    out = bytearray()
    for i in range(commits):
        stamp = 1_700_000_000 + i * 60
        msg = f"change {i}".encode()
        out += b"commit refs/heads/main\n"
        out += f"committer Bench <b@example.com> {stamp} +0000\n".encode()
        out += b"data %d\n%s\n" % (len(msg), msg)
        if i == 0:
            out += b"M 100644 inline promotion.yaml\ndata %d\n%s\n" % (len(config), config)
        if i % 10 == 0:
            pin = f"export C_TAG={'%040x' % (i + 1)}\n".encode()
            out += b"M 100644 inline pins/.env\ndata %d\n%s\n" % (len(pin), pin)
        else:
            note = f"{i}\n".encode()
            out += b"M 100644 inline notes/n%d.txt\ndata %d\n%s\n" % (i % 500, len(note), note)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(out), check=True, env=ENV)
    git(repo, "reset", "-q", "--hard", "main")


def history(rows: list[list[str]], commits: int, repeat: int, work: Path) -> None:
    repo = work / "history"
    history_repo(repo, commits)
    base, _ = timed(["git", "log", "--format=%H %ct", "-p", "--", "pins/.env"], repeat, repo)
    t, mem = timed([*PROMOTER, "-C", str(repo), "--offline", "history", "c", "-o", "json"], repeat)
    row(rows, f"history, {commits} commits ({commits // 10} promotions)", t, base, "git log -p -- file", mem)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI smoke run)")
    ap.add_argument("--sizes", default=None, help="comma-separated generated repo sizes (default 10000,50000,200000)")
    ap.add_argument("--commits", type=int, default=None, help="commits of the history repo (default 20000)")
    ap.add_argument("--only", choices=["startup", "snapshot", "growth", "history"], help="run just this part")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    sizes = [int(s) for s in (args.sizes or ("1000,5000" if args.quick else "10000,50000,200000")).split(",")]
    rows: list[list[str]] = [["benchmark", "promoter", "baseline (same run)", "ratio", "peak RSS", "goal"]]
    work = Path(tempfile.mkdtemp(prefix="promoter-bench-"))
    try:
        if args.only in (None, "startup"):
            startup(rows, repeat * 3)
        if args.only in (None, "snapshot"):
            snapshot(rows, repeat, work)
        if args.only in (None, "growth"):
            growth(rows, sizes, repeat, work)
        if args.only in (None, "history"):
            history(rows, args.commits or (2000 if args.quick else 20000), repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
