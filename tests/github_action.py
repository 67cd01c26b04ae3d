"""A composite GitHub Action run as the runner runs it, for the tests of action.yml (GitHub cannot
run here).

What is implemented, after GitHub's documentation ("Metadata syntax for GitHub Actions",
"Workflow commands", "Evaluate expressions in workflows and actions"):
- `runs.using: composite` with `run` steps (a `uses` step is an error here); `shell: bash` runs
  as `bash --noprofile --norc -eo pipefail FILE`, in the given working directory;
- expressions `${{ ... }}` in `env` values, `if`, `run` and the outputs' `value`: contexts
  `inputs.NAME` (the given ones over each input's `default`, itself evaluated: `${{ github.token }}`),
  `steps.ID.outputs.NAME`, `github.NAME`, `runner.temp`, and 'single-quoted' strings; `==` and
  `!=` between two of them; an `if` without them, as the runner does, is read as an expression;
- each step gets fresh GITHUB_OUTPUT, GITHUB_PATH, GITHUB_ENV and GITHUB_STEP_SUMMARY files:
  outputs as `name=value` lines or `name<<DELIMITER` blocks, GITHUB_PATH lines put before PATH
  for the steps after, the step summaries collected in order;
- a step that fails stops the action (later steps would need `if: always()`, not used here).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class ActionError(Exception):
    """What the runner would refuse."""


@dataclass
class Result:
    outputs: dict[str, str]  # the action's outputs
    steps: dict[str, dict[str, str]]  # each step's outputs, by id
    summaries: list[str]  # each step's job summary, in order
    ran: list[str]  # the steps run, by id
    code: int  # the exit code of the last step run (0: every step passed)
    stdout: str = ""
    stderr: str = ""
    path: list[str] = field(default_factory=list)  # what GITHUB_PATH added


@dataclass
class Context:
    inputs: dict[str, str]
    github: dict[str, str]
    runner: dict[str, str]
    steps: dict[str, dict[str, str]] = field(default_factory=dict)

    def value(self, operand: str) -> str:
        operand = operand.strip()
        if operand.startswith("'") and operand.endswith("'"):
            return operand[1:-1].replace("''", "'")
        parts = operand.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            if parts[1] not in self.inputs:
                raise ActionError(f"unknown input: {parts[1]}")
            return self.inputs[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        if parts[0] == "github" and len(parts) == 2:
            return self.github.get(parts[1], "")
        if parts[0] == "runner" and len(parts) == 2:
            return self.runner.get(parts[1], "")
        raise ActionError(f"unsupported expression here: {operand}")

    def evaluate(self, expression: str) -> str | bool:
        m = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", expression.strip())
        if m:
            equal = self.value(m.group(1)).lower() == self.value(m.group(3)).lower()  # case-insensitive, as GitHub's
            return equal if m.group(2) == "==" else not equal
        return self.value(expression)

    def interpolate(self, text: str) -> str:
        return _EXPR.sub(lambda m: str(self.evaluate(m.group(1))), text)

    def condition(self, text: str) -> bool:
        whole = _EXPR.fullmatch(text.strip())
        result = self.evaluate(whole.group(1) if whole else text)
        return bool(result)


def _read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ActionError(f"Matching delimiter not found '{delimiter}'")
            i += 1
            out[name] = "\n".join(body)
        else:
            name, eq, value = line.partition("=")
            if not eq:
                raise ActionError(f"Invalid format '{line}'")
            out[name] = value
    return out


def run_action(
    action_dir: Path,
    inputs: dict[str, str],
    *,
    cwd: Path,
    env: dict[str, str],
    temp: Path,
    github: dict[str, str] | None = None,
) -> Result:
    """Run the action at `action_dir` with `inputs` in `cwd`, the job's environment `env`."""
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    if action["runs"]["using"] != "composite":
        raise ActionError("only composite actions here")
    declared: dict[str, dict[str, Any]] = action.get("inputs", {})
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise ActionError(f"Unexpected input(s) {', '.join(unknown)}")
    temp.mkdir(parents=True, exist_ok=True)
    github = {"action_path": str(action_dir), "workspace": str(cwd), **(github or {})}
    ctx = Context({}, github, {"temp": str(temp)})
    for name, spec in declared.items():
        if name in inputs:
            ctx.inputs[name] = inputs[name]
        elif spec.get("required") and "default" not in spec:
            raise ActionError(f"Input required and not supplied: {name}")
        else:
            ctx.inputs[name] = ctx.interpolate(str(spec.get("default", "")))
    result = Result({}, ctx.steps, [], [], 0)
    added_path: list[str] = []
    for number, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            raise ActionError("a `uses` step cannot run here")
        if "if" in step and not ctx.condition(str(step["if"])):
            continue
        if step.get("shell") != "bash":
            raise ActionError("only `shell: bash` steps here")
        sid = step.get("id", f"__{number}")
        files = {
            k: temp / f"{sid}.{k.lower()}"
            for k in ("GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
        }
        for f in files.values():
            f.write_text("")
        script = temp / f"{sid}.sh"
        script.write_text(ctx.interpolate(step["run"]))
        step_env = {
            **env,
            "PATH": os.pathsep.join([*reversed(added_path), env["PATH"]]),
            "RUNNER_TEMP": str(temp),
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_WORKSPACE": str(cwd),
            **{k: str(v) for k, v in files.items()},
            **{k: ctx.interpolate(str(v)) for k, v in (step.get("env") or {}).items()},
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd, env=step_env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        result.ran.append(sid)
        result.stdout += proc.stdout
        result.stderr += proc.stderr
        ctx.steps[sid] = _read_outputs(files["GITHUB_OUTPUT"])
        added_path += [line for line in files["GITHUB_PATH"].read_text().splitlines() if line]
        result.summaries.append(files["GITHUB_STEP_SUMMARY"].read_text())
        result.code = proc.returncode
        if proc.returncode != 0:
            break
    result.path = added_path
    for name, spec in (action.get("outputs") or {}).items():
        result.outputs[name] = ctx.interpolate(str(spec["value"]))
    return result
