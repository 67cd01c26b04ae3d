#!/usr/bin/env python3
"""reconcile at fleet scale against status, measured in the same run on the same repository.

    python bench/reconcile_bench.py            # 200 components x 3 environments: 1,000 target files among 50,000
    python bench/reconcile_bench.py --quick    # 20 components, 5,000 files

Both commands run with --offline over the same components (reconcile --dry-run: it judges every
environment's holds and windows and plans nothing without an upstream), so the ratio is what
reconcile adds to reading every target. The goal: within 3x of status, peak RSS under 200 MB.
`reconcile_rows(quick)` gives the rows for bench/run.py's table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ENV, PROMOTER, git, row, timed  # noqa: E402


def build(root: Path, components: int, files: int) -> Path:
    """A config repo: per component two production and two integration saas-like files and a ci
    values file (5 target files), the rest of `files` unrelated YAML."""
    repo = root / "fleet"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lines = ["version: 1", "environments:", "  production:", "    windows:",
             "      - deny: '0 16 * * FRI'", "        duration: 64h", "components:"]  # fmt: skip
    sha = "0123456789abcdef0123456789abcdef01234567"
    written = 0
    for i in range(components):
        name = f"svc{i:03d}"
        lines += [f"  {name}:", f"    repo: https://github.com/org/{name}", "    branch: main", "    targets:"]
        for env, n in (("production", 2), ("integration", 2)):
            for k in range(n):
                rel = f"data/{name}/{env}-{k}.yaml"
                path = repo / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"name: {name}-{env}-{k}\nresourceTemplates:\n- url: https://github.com/org/{name}\n"
                                f"  targets:\n  - namespace: {env}\n    ref: {sha}\n")  # fmt: skip
                lines.append(f"      - {{name: {env}-{k}, environment: {env}, file: {rel}, saas: {{}}}}")
                written += 1
        rel = f"ci/{name}.yaml"
        (repo / "ci").mkdir(exist_ok=True)
        (repo / rel).write_text(f"image_tag: '{sha[:7]}'\n")
        lines.append(f"      - {{name: ci, environment: ci, file: {rel}, key: image_tag}}")
        written += 1
    (repo / "promotion.yaml").write_text("\n".join(lines) + "\n")
    other = repo / "other"
    for j in range(files - written):
        d = other / f"d{j // 1000:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{j}.yaml").write_text(f"key: value-{j}\nlist: [a, b]\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fleet")
    return repo


def reconcile_rows(quick: bool) -> list[list[str]]:
    components, files, repeat = (20, 5_000, 3) if quick else (200, 50_000, 5)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="promoter-bench-reconcile-") as tmp:
        repo = build(Path(tmp), components, files)
        status, _ = timed([*PROMOTER, "-C", str(repo), "status", "--offline", "-o", "json"], repeat)
        t, mem = timed([*PROMOTER, "-C", str(repo), "reconcile", "--dry-run", "--offline", "-o", "json"], repeat)
        row(rows, f"reconcile --dry-run --offline, {components} components x 3 envs ({files:,} files)",
            t, status, "status --offline", mem, "< 3x, < 200 MB")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for r in reconcile_rows(args.quick):
        print(" | ".join(r))


if __name__ == "__main__":
    os.environ.update({k: v for k, v in ENV.items() if k.startswith("GIT_")})
    main()
