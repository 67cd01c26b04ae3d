"""A GitLab CI/CD component rendered and its jobs run as GitLab would run them, for the tests of
templates/ (GitLab cannot run here).

What is implemented, after GitLab's documentation ("CI/CD inputs", "CI/CD YAML syntax reference"):
- `spec:inputs` in the file's first YAML document, the jobs in the second (after `---`); an input
  is `string` (the default type), `number` or `boolean`, with `default`, `options`, `regex` and
  `description`; an input given that the spec does not declare, one without a default left out,
  a value of the wrong type, outside `options` or not matching `regex` are errors, as GitLab's;
- `$[[ inputs.NAME ]]` interpolated in every string of the jobs (keys too): a string that is
  only the one block takes the input's typed value (a number stays a number), a longer one its
  text; an interpolation function (`| expand_vars`, `| truncate`) is an error here;
- `parallel: N` makes N jobs, `name I/N`, each with `CI_NODE_INDEX=I` and `CI_NODE_TOTAL=N`;
- `rules: - if:` expressions of `$VAR`, `$VAR == "text"`, `$VAR != "text"`, `&&`, `||`
  (no parentheses, no regular expressions), evaluated on the job's variables;
- `variables:` with `$VAR`/`${VAR}` in their values expanded from the ones before them (as the
  runner does), then `before_script` and `script` run as one bash script with `set -eo
  pipefail`, each line in order, stopping at the first that fails (as the runner's bash shell).
Everything else (image, artifacts, resource_group, stage) is data the tests read.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_BLOCK = re.compile(r"\$\[\[\s*([^\]]*?)\s*\]\]")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class InputError(Exception):
    """What GitLab would refuse the pipeline for."""


def _value(spec: dict[str, Any], name: str, given: dict[str, Any]) -> Any:
    kind = spec.get("type", "string")
    if name in given:
        value = given[name]
    elif "default" in spec:
        value = spec["default"]
    else:
        raise InputError(f"`{name}` input: required value has not been provided")
    expected = {"string": str, "number": (int, float), "boolean": bool}[kind]
    if not isinstance(value, expected) or (kind == "number" and isinstance(value, bool)):
        raise InputError(f"`{name}` input: provided value is not a {kind}")
    if "options" in spec and value not in spec["options"]:
        raise InputError(f"`{name}` input: `{value}` cannot be used because it is not in the list of allowed options")
    if "regex" in spec and not re.search(spec["regex"], str(value)):
        raise InputError(f"`{name}` input: provided value does not match required RegEx pattern")
    return value


def _interpolate(node: Any, inputs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {_interpolate(k, inputs): _interpolate(v, inputs) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, inputs) for v in node]
    if not isinstance(node, str):
        return node

    def name_of(expression: str) -> str:
        m = re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)", expression)
        if m is None:
            raise InputError(f"unsupported interpolation: $[[ {expression} ]]")
        if m.group(1) not in inputs:
            raise InputError(f"unknown interpolation key: `{m.group(1)}`")
        return m.group(1)

    whole = _BLOCK.fullmatch(node)
    if whole:
        return inputs[name_of(whole.group(1))]
    return _BLOCK.sub(lambda m: str(inputs[name_of(m.group(1))]), node)


def render(path: Path, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The jobs of the component at `path` with `given` inputs (by name)."""
    header, body = yaml.safe_load_all(path.read_text())
    specs: dict[str, dict[str, Any]] = {k: v or {} for k, v in header["spec"]["inputs"].items()}
    given = given or {}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise InputError(f"unknown input arguments: {', '.join(unknown)}")
    inputs = {name: _value(spec, name, given) for name, spec in specs.items()}
    jobs: dict[str, Any] = _interpolate(body, inputs)
    return jobs


def _expand(text: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def rule_matches(expression: str, env: dict[str, str]) -> bool:
    def one(clause: str) -> bool:
        clause = clause.strip()
        m = re.fullmatch(r'\$([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*"([^"]*)"', clause)
        if m:
            equal = env.get(m.group(1)) == m.group(3)
            return equal if m.group(2) == "==" else not equal
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", clause)
        if m:
            return bool(env.get(m.group(1)))
        raise InputError(f"unsupported rules:if clause here: {clause}")

    return any(all(one(c) for c in part.split("&&")) for part in expression.split("||"))


@dataclass
class Job:
    name: str
    spec: dict[str, Any]
    variables: dict[str, str] = field(default_factory=dict)  # CI_NODE_INDEX/TOTAL of a parallel job


def jobs_of(rendered: dict[str, Any]) -> list[Job]:
    """The jobs a pipeline makes of the rendered file (hidden `.jobs` and keywords left out),
    a `parallel: N` job as N jobs."""
    out = []
    for name, spec in rendered.items():
        if name.startswith(".") or not isinstance(spec, dict) or "script" not in spec:
            continue
        count = spec.get("parallel")
        if count is None:
            out.append(Job(name, spec))
            continue
        if not isinstance(count, int) or not 1 <= count <= 200:
            raise InputError(f"jobs:{name}:parallel config must be a number from 1 to 200, not {count!r}")
        out += [
            Job(f"{name} {i}/{count}", spec, {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(count)})
            for i in range(1, count + 1)
        ]
    return out


def job_env(job: Job, ci: dict[str, str]) -> dict[str, str]:
    """The job's variables on top of the pipeline's (`ci`), each expanded from those before it."""
    env = {**ci, **job.variables}
    for key, value in (job.spec.get("variables") or {}).items():
        env[key] = _expand("" if value is None else str(value), env)
    return env


def runs(job: Job, ci: dict[str, str]) -> bool:
    env = job_env(job, ci)
    rules = job.spec.get("rules")
    return rules is None or any(rule_matches(r["if"], env) for r in rules if "if" in r)


def run(job: Job, ci: dict[str, str], cwd: Path, path: str) -> subprocess.CompletedProcess[str]:
    """Run the job's before_script and script in `cwd` with bash, `path` first on PATH."""
    # a runner's environment has no git identity of the test's own
    host = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    env = {**host, **job_env(job, ci), "PATH": f"{path}{os.pathsep}{os.environ['PATH']}"}
    lines = [*job.spec.get("before_script", []), *job.spec["script"]]
    script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
