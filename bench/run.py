#!/usr/bin/env python3
"""Benchmarks: figures and ratios against a baseline measured in the same run, on the same data.

    python bench/run.py            # the full set (real snapshot, growth to 200k files, start-up,
                                   # history, a generated fleet, tbump beside promoter)
    python bench/run.py --quick    # a smoke run for CI: small sizes, fewer repeats

Nothing here asserts a time: it prints a table. Goals (from the issue) are printed beside the
ratios so a reader can judge; bench/README.md keeps the figures measured on a known machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fleet import generate as generate_fleet  # bench/fleet.py (this script's directory is on sys.path)
from fleet import pinned_templates

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNAPSHOT = ROOT.parent / "shared" / "realdata" / "app-interface" / "snapshot-2022-05-11.tar.gz"
EXAMPLE = ROOT / "examples" / "app-interface" / "promotion.yaml"
OLD_SHA = "862eebc895ea7f496f9037a7b8a4d1f393d8a546"  # what the snapshot runs
NEW_SHA = "ab0ae8f8e459d350dc0f80b93f6ed7633dc178b3"  # promotion 05, made on top of the snapshot
VENV = HERE / ".venv"  # the bench's own virtualenv for the peer tools (git-ignored)
TBUMP = "tbump==6.11.0"
# promoter as a user runs it: the console script pip installed beside this interpreter, as tbump
# is run (`python -m promoter` adds runpy's few milliseconds); -m when it is not installed
_SCRIPT = Path(sys.executable).parent / "promoter"
PROMOTER = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "promoter"]
# an installed package has its bytecode compiled: let Python write it (this machine's
# environment sets PYTHONDONTWRITEBYTECODE) and warm it up before timing
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
)


def probe(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one run of `cmd`, measured by a small process that starts it."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *cmd], cwd=cwd, env=ENV, capture_output=True, text=True, check=True
    ).stdout.split()
    if out[2] not in ("0", "1", "2", "3"):
        raise SystemExit(f"{cmd} failed with {out[2]}")
    return float(out[0]), int(out[1]) / 1024


def timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> tuple[float, float]:
    """(median seconds, peak RSS in MB) of running `cmd` `repeat` times, after one run to warm up."""
    return interleaved({"cmd": cmd}, repeat, cwd)["cmd"]


def interleaved(
    cmds: dict[str, list[str]], repeat: int, cwd: Path | None = None, reset: Callable[[], None] | None = None
) -> dict[str, tuple[float, float]]:
    """(median seconds, peak RSS in MB) of each command, run by turns `repeat` times after one
    round to warm up; `reset` (not timed) runs before each command."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    peak = dict.fromkeys(cmds, 0.0)
    for round_ in range(repeat + 1):
        for name, cmd in cmds.items():
            if reset is not None:
                reset()
            t, mem = probe(cmd, cwd)
            if round_:
                times[name].append(t)
                peak[name] = max(peak[name], mem)
    return {name: (statistics.median(times[name]), peak[name]) for name in cmds}


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


def unpack(work: Path, extra: dict[str, str] | None = None) -> Path:
    """The real snapshot in `work`, a git repository with one commit (holding `extra` files too)."""
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(SNAPSHOT) as tar:
        tar.extractall(work, filter="data")
    repo = work / "app-interface"
    for rel, text in (extra or {}).items():
        (repo / rel).write_text(text)
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot")
    return repo


def snapshot(rows: list[list[str]], repeat: int, work: Path) -> None:
    if not SNAPSHOT.is_file():
        rows.append(["real snapshot", "skipped", "../shared/realdata is absent", "", "", ""])
        return
    repo = unpack(work / "snapshot")
    files = sum(1 for _ in repo.rglob("*") if _.is_file() and ".git" not in _.parts)
    base, _ = timed(["git", "grep", "-l", OLD_SHA], repeat, repo)
    cfg = ["-C", str(repo), "--config", str(EXAMPLE), "--offline"]
    t, mem = timed([*PROMOTER, *cfg, "plan", "qontract-reconcile", NEW_SHA], repeat)
    row(rows, f"plan, snapshot ({files} files)", t, base, "git grep -l sha", mem, "< 3x")
    base, _ = timed(["git", "grep", "-l", "qontract_reconcile_image_tag"], repeat, repo)
    t, mem = timed([*PROMOTER, *cfg, "status"], repeat)
    row(rows, "status, snapshot", t, base, "git grep -l key", mem)
    base, _ = timed(["git", "grep", "-l", "-e", "862eebc", "-e", "qontract_reconcile_image_tag"], repeat, repo)
    # start-up: the interpreter and the modules discover/check import, run on nothing
    imports = (
        "import promoter.cli, promoter.pipeline.core, promoter.insight.discover, promoter.insight.lint, "
        "promoter.render.discover"
    )
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
    # native: false: no saas file to look for under data/ (a git grep of every file there)
    (repo / "promotion.yaml").write_text(
        "version: 1\nnative: false\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    targets:\n"
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


def fleet(rows: list[list[str]], repeat: int, work: Path, components: int, unrelated: int) -> None:
    """`check` and `discover` of every component against `status --offline` of every component,
    on a generated fleet (bench/fleet.py)."""
    started = time.perf_counter()
    made = generate_fleet(work / "fleet", components, unrelated)
    print(f"  (generated the fleet in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    cfg = [*PROMOTER, "-C", str(made.root), "--offline"]
    got = interleaved({c: [*cfg, c] for c in ("status", "check", "discover")}, repeat)
    base = got["status"][0]
    shape = f"{len(made.components)} components, {made.pairs} saas pairs, {made.files} files"
    t, mem = got["check"]
    row(rows, f"check, fleet ({shape})", t, base, "status --offline", mem, "< 3x")
    t, mem = got["discover"]
    row(rows, "discover, fleet", t, base, "status --offline", mem)
    if not SNAPSHOT.is_file():
        rows.append(["real snapshot as a fleet", "skipped", "../shared/realdata is absent", "", "", ""])
        return
    # the real tree, every saas resource template it pins a target (the config outside the tree)
    repo = unpack(work / "snapshot-fleet")
    config = work / "snapshot-fleet.yaml"
    config.write_text(pinned_templates(repo))
    cfg = [*PROMOTER, "-C", str(repo), "--config", str(config), "--offline"]
    got = interleaved({c: [*cfg, c] for c in ("status", "check", "discover")}, repeat)
    base = got["status"][0]
    text = config.read_text()
    shape = f"{text.count(chr(10) + '    repo: ')} components, {text.count('saas: {}')} saas pairs"
    t, mem = got["check"]
    row(rows, f"check, snapshot as a fleet ({shape})", t, base, "status --offline", mem, "< 3x")
    t, mem = got["discover"]
    row(rows, "discover, snapshot as a fleet", t, base, "status --offline", mem)


def native(rows: list[list[str]], repeat: int, work: Path, components: int, unrelated: int) -> None:
    """app-interface native, with no promotion.yaml: `status --offline` of every component (goal
    under a second; beside it the `git grep` that finds the saas files), and `check` and
    `reconcile --dry-run --offline` of every component against it; on the real snapshot, and on
    the generated fleet with its promotion.yaml removed."""
    trees = []
    if SNAPSHOT.is_file():
        trees.append(("native snapshot", unpack(work / "native-snapshot")))
    else:
        rows.append(["native snapshot", "skipped", "../shared/realdata is absent", "", "", ""])
    made = generate_fleet(work / "native-fleet", components, unrelated)
    git(made.root, "rm", "-q", "promotion.yaml")
    git(made.root, "commit", "-qm", "no promotion.yaml")
    trees.append(("native fleet", made.root))
    for name, repo in trees:
        cfg = [*PROMOTER, "-C", str(repo), "--offline"]
        grep = ["git", "grep", "-l", "-F", "-e", "saas-file-1.yml", "-e", "saas-file-2.yml", "--", "data/"]
        got = interleaved(
            {
                "grep": grep,
                "status": [*cfg, "status"],
                "check": [*cfg, "check"],
                "reconcile": [*cfg, "reconcile", "--dry-run"],
            },
            repeat,
            repo,
        )
        shape = subprocess.run(
            [*PROMOTER, "-C", str(repo), "--offline", "status", "-o", "json"], env=ENV, capture_output=True, check=True
        ).stdout
        doc = json.loads(shape)
        targets = sum(len(e["targets"]) for c in doc["components"] for e in c["environments"])
        t, mem = got["status"]
        row(
            rows,
            f"status, {name} ({len(doc['components'])} components, {targets} targets)",
            t,
            got["grep"][0],
            "git grep -l saas schema",
            mem,
            f"< 1 s {'✓' if t < 1 else '✗'}",
        )
        for command in ("check", "reconcile"):
            t, mem = got[command]
            shown = "reconcile --dry-run" if command == "reconcile" else command
            row(rows, f"{shown}, {name}", t, got["status"][0], "status --offline", mem, "< 3x")


# tbump, configured for the seven places promotion 05 writes (examples/app-interface/promotion.yaml's
# qontract-reconcile targets). tbump finds lines by a regex and replaces the version text on them:
# a saas `ref:` is every `ref: <old sha>` line of the four saas files (promoter: the refs of the
# resource templates whose url is the repo; the same lines in this snapshot).
TBUMP_TOML = (
    f"""\
[version]
current = "{OLD_SHA}"
regex = '(?P<short>[0-9a-f]{{7}})(?P<rest>[0-9a-f]{{33}})'

[git]
message_template = "promote qontract-reconcile to {{new_version}}"
tag_template = "qontract-reconcile-{{new_version}}"
"""
    + "".join(
        f'\n[[file]]\nsrc = "data/services/app-interface/cicd/{path}"\nsearch = "ref: {{current_version}}"\n'
        for path in (
            "ci-ext/saas-qontract-reconcile.yaml",
            "ci-ext/saas-qontract-manager.yaml",
            "ci-int/saas-qontract-reconcile-int.yaml",
            "ci-int/saas-qontract-manager-int.yaml",
        )
    )
    + "".join(
        f'\n[[file]]\nsrc = "{src}"\nversion_template = "{{short}}"\nsearch = "{search}"\n'
        for src, search in (
            (".env", "RECONCILE_IMAGE_TAG={current_version}"),
            ("resources/jenkins/global/defaults.yaml", r"qontract_reconcile_image_tag: ['\"]?{current_version}"),
            ("data/pipelines/tekton-provider-*.yaml", r"qontract_reconcile_image_tag: ['\"]?{current_version}"),
        )
    )
)


def tbump() -> Path | None:
    """tbump in the bench's own virtualenv (created, and tbump installed, when missing); None
    when pip cannot install it."""
    exe = VENV / "bin" / "tbump"
    with contextlib.suppress(OSError):
        if subprocess.run([exe, "--version"], capture_output=True, check=False).returncode == 0:
            return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], capture_output=True, check=True)
        pip = [VENV / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", TBUMP]
        subprocess.run(pip, capture_output=True, check=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        said = (getattr(exc, "stderr", None) or b"").decode(errors="replace").strip().splitlines()
        print(f"  (could not install {TBUMP} in {VENV}: {said[-1] if said else exc}; skipped)", file=sys.stderr)
        return None
    return exe


def peers(rows: list[list[str]], repeat: int, work: Path) -> None:
    """promoter beside a peer tool on the real snapshot: `promote` against `tbump --only-patch`
    (the same seven places; both start from a clean checkout, reset between runs, not timed), and
    `plan` against `git grep -l` of the old sha."""
    if not SNAPSHOT.is_file():
        rows.append(["peers (tbump)", "skipped", "../shared/realdata is absent", "", "", ""])
        return
    repo = unpack(work / "peers", {"tbump.toml": TBUMP_TOML})
    cfg = [*PROMOTER, "-C", str(repo), "--config", str(EXAMPLE), "--offline"]
    plan = [*cfg, "plan", "qontract-reconcile", NEW_SHA]
    got = interleaved({"plan": plan, "grep": ["git", "grep", "-l", OLD_SHA]}, repeat, repo)
    t, mem = got["plan"]
    row(rows, "plan, snapshot (7 targets)", t, got["grep"][0], "git grep -l sha", mem, "< 1.5x")
    exe = tbump()
    if exe is None:
        rows.append(["promote, snapshot", "skipped", f"{TBUMP} could not be installed", "", "", ""])
        return

    def reset() -> None:
        git(repo, "checkout", "-q", "--", ".")
        # the checkout's writes reach the disk here, not in the first fsync of the timed run
        os.sync()

    promote = [*cfg, "promote", "qontract-reconcile", NEW_SHA, "--yes"]
    bump = [str(exe), "--non-interactive", "--only-patch", NEW_SHA]
    # both must succeed and write the same edits (tbump also writes the new version into tbump.toml)
    diffs = []
    for cmd in (promote, bump):
        reset()
        done = subprocess.run(cmd, cwd=repo, env=ENV, capture_output=True, check=False)
        diff = subprocess.run(["git", "diff", "--", ".", ":!tbump.toml"], cwd=repo, capture_output=True, check=True)
        diffs.append(diff.stdout if done.returncode == 0 else b"")
    if not all(diffs):
        rows.append(["promote, snapshot", "skipped", "promote or tbump failed or changed nothing", "", "", ""])
        return
    same = "same edits" if diffs[0] == diffs[1] else "DIFFERENT edits"
    got = interleaved({"promote": promote, "tbump": bump}, repeat, repo, reset)
    reset()
    t, mem = got["promote"]
    row(rows, f"promote, snapshot ({same})", t, got["tbump"][0], "tbump --only-patch", mem, "<= 1x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI smoke run)")
    ap.add_argument("--sizes", default=None, help="comma-separated generated repo sizes (default 10000,50000,200000)")
    ap.add_argument("--commits", type=int, default=None, help="commits of the history repo (default 20000)")
    ap.add_argument("--components", type=int, default=267, help="components of the generated fleet (default 267)")
    ap.add_argument(
        "--only",
        choices=[
            "startup",
            "snapshot",
            "growth",
            "history",
            "upstream",
            "fleet",
            "native",
            "reconcile",
            "trust",
            "peers",
        ],
        help="run just this part",
    )
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
        if args.only in (None, "upstream"):  # history with the upstream against offline (history_bench.py)
            from history_bench import history_rows

            rows += history_rows(args.quick)
        if args.only in (None, "fleet"):
            fleet(rows, repeat, work, args.components, 3000)
        if args.only in (None, "native"):
            native(rows, repeat, work, args.components, 3000)
        if args.only in (None, "reconcile"):  # reconcile against status on a fleet (reconcile_bench.py)
            from reconcile_bench import reconcile_rows

            rows += reconcile_rows(args.quick)
        if args.only in (None, "trust"):  # the trust gate against the image gate alone (trust_bench.py)
            from trust_bench import trust_rows

            rows += trust_rows(args.quick)
        if args.only in (None, "peers"):
            peers(rows, repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    return 0


def print_table(rows: list[list[str]], about: str = "") -> None:
    """The machine, then `rows` as aligned columns (the first row is the header)."""
    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}{about}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
