"""Verification: checks a candidate must pass before it may be promoted into an environment.

- `http`: GET a URL (through `promoter.http`: proxies, retries, a deadline for the whole
  exchange); the answer must be a 2xx whose body contains `expect`. `{sha}`, `{short}` and
  `{environment}` are filled in the URL and in `expect`; header values may name environment
  variables as `${NAME}` (a token, say). Every configured header is taken for a credential: it
  goes to the URL's origin (scheme, host, port) only, and a redirect to another origin is
  followed without any of them (the verdict says so).
- `command`: a program and its arguments, no shell, run in the config repository in a process
  group of its own, with a timeout; exit status 0 passes. The same placeholders are filled in
  each argument. When it times out, or once it has exited, what is left of its group (children
  it started in the background) is ended: SIGTERM, then SIGKILL. Its output is read as it
  comes, and only its last MAX_OUTPUT bytes of each stream are kept: a command printing
  gigabytes costs no memory.
- `commit_status`: the forge's statuses and check runs of the candidate commit; every name listed
  must have succeeded. The caller supplies the forge (it lives on a floor above this one).

Each check is tried `1 + retries` times (2 s, then 4 s, … between tries). What a check printed
or answered reaches messages only redacted, without control characters, its last lines only.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from promoter.errors import ExternalError, PromoterError, UsageError
from promoter.model import VerifyCheck
from promoter.records import record
from promoter.text import printable
from promoter.urls import redact

MAX_OUTPUT = 64 * 1024  # bytes of a command's output kept, of stdout and of stderr each
LAST_LINES = 5
GRACE = 2.0  # seconds a timed-out command has between SIGTERM and SIGKILL
_POLL = 0.05  # seconds between looks at whether a command whose output is held open has exited
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# name of a status or check run -> its state: "success", "pending", "failure", ...
Statuses = Callable[[str], Mapping[str, str]]


@record(frozen=True)
class Verdict:
    check: VerifyCheck
    passed: bool
    detail: str  # why it failed (redacted, printable), or what passed
    unreachable: bool = False  # failed because its server could not be reached: no verdict on the candidate


def _fill(text: str, sha: str, short: str, environment: str) -> str:
    return text.replace("{sha}", sha).replace("{short}", short).replace("{environment}", environment)


def _tail(text: str) -> str:
    lines = [line for line in printable(redact(text)).splitlines() if line.strip()]
    return " | ".join(lines[-LAST_LINES:])


def _secret_free(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _headers(check: VerifyCheck) -> tuple[dict[str, str], list[str]]:
    """The check's headers with `${NAME}` filled from the environment, and the values filled in
    (kept out of every message)."""
    out: dict[str, str] = {}
    secrets: list[str] = []
    for name, value in check.headers:
        for var in _ENV_REF.findall(value):
            if var not in os.environ:
                raise UsageError(f"verify http {check.url}: header {name} names ${{{var}}}, which is not set")
            secrets.append(os.environ[var])
        out[name] = _ENV_REF.sub(lambda m: os.environ[m.group(1)], value)
    return out, secrets


def _http(check: VerifyCheck, sha: str, short: str, environment: str) -> Verdict:
    from promoter.http import Http, Retrying, origin, same_origin

    url = _fill(check.url, sha, short, environment)
    expect = _fill(check.expect, sha, short, environment)
    headers, secrets = _headers(check)
    client = Http(timeout=min(check.timeout, 30), deadline=check.timeout, retry=Retrying(attempts=1))
    try:
        # every configured header stays on the URL's origin, not only Authorization
        resp = client.request("GET", url, headers=headers, max_body=1024 * 1024, private=headers)
    finally:
        client.close()
    shown = redact(url)
    if headers and not same_origin(resp.url, url):
        shown += f" (redirected to {redact(origin(resp.url))}, which is not sent the configured headers)"
    if not 200 <= resp.status < 300:
        said = _secret_free(_tail(resp.body.decode("utf-8", "replace")), secrets)
        return Verdict(
            check, False, f"GET {shown} answered {resp.status} {resp.reason}" + (f": {said}" if said else "")
        )
    body = resp.body.decode("utf-8", "replace")
    if expect not in body:
        said = _secret_free(_tail(body), secrets)
        return Verdict(
            check, False, f"GET {shown}: the answer does not contain '{expect}'" + (f" ({said})" if said else "")
        )
    return Verdict(check, True, f"GET {shown} contains '{expect}'")


def _command(check: VerifyCheck, sha: str, short: str, environment: str, root: Path) -> Verdict:
    argv = [_fill(a, sha, short, environment) for a in check.command]
    program = argv[0]
    if "/" in program and not os.path.isabs(program):
        program = str(root / program)  # a script of the config repository
    shown = " ".join(argv)
    try:
        code, out, err = _run_bounded([program, *argv[1:]], root, check.timeout)
    except FileNotFoundError:
        return Verdict(check, False, f"{argv[0]}: no such program")
    except PermissionError:
        return Verdict(check, False, f"{argv[0]}: not executable")
    said = _tail((out + err).decode("utf-8", "replace"))
    if code is None:
        return Verdict(check, False, f"{shown}: no result within {check.timeout} s" + (f": {said}" if said else ""))
    if code != 0:
        return Verdict(check, False, f"{shown} exited with {code}" + (f": {said}" if said else ""))
    return Verdict(check, True, f"{shown} passed")


class _Tail:
    """The last `keep` bytes of a stream (what came before them is dropped as it comes)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > 2 * self.keep:  # trimmed now and then, not on every chunk
            del self._data[: -self.keep]

    def value(self) -> bytes:
        return bytes(self._data[-self.keep :])


def _run_bounded(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, bytes, bytes]:
    """Run `argv` in a process group of its own: its exit status (None when it did not exit
    within `timeout` seconds) and the last MAX_OUTPUT bytes of its stdout and of its stderr.
    Output is read as it comes and the rest dropped; the group is ended before returning."""
    import selectors

    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: what it starts can be ended with it
    )
    assert proc.stdout is not None and proc.stderr is not None
    end = time.monotonic() + timeout
    out, err = _Tail(MAX_OUTPUT), _Tail(MAX_OUTPUT)
    code: int | None = None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, out)
            selector.register(proc.stderr, selectors.EVENT_READ, err)
            while selector.get_map():
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                exited = proc.poll() is not None
                ready = selector.select(0 if exited else min(remaining, _POLL))
                if not ready and exited:
                    break  # it is gone; something it started holds its output open
                for key, _ in ready:
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        key.data.add(chunk)
                    else:
                        selector.unregister(key.fileobj)
        try:
            code = proc.wait(max(end - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            code = None
    finally:
        _end_group(proc)
        proc.stdout.close()
        proc.stderr.close()
    return code, out.value(), err.value()


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """End what is left of `proc`'s process group: SIGTERM to all of it, at most GRACE seconds
    for the group to empty, then SIGKILL; `proc` reaped. Signals go to the group only while it
    has a process (the kernel keeps its id for it till then): no other process gets them."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        give_up = time.monotonic() + GRACE
        while time.monotonic() < give_up:
            if proc.poll() is not None:
                os.killpg(proc.pid, 0)  # ProcessLookupError once nothing of the group is left
            time.sleep(_POLL)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # nothing (more) left of it
        pass
    proc.wait()


def _statuses(check: VerifyCheck, sha: str, statuses: Statuses | None) -> Verdict:
    if statuses is None:
        return Verdict(
            check, False, "no forge to ask for the commit's statuses (the component's repo is not on GitHub or GitLab)"
        )
    states = statuses(sha)
    missing = [n for n in check.statuses if n not in states]
    failed = [f"{n}: {states[n]}" for n in check.statuses if n in states and states[n] != "success"]
    if missing or failed:
        parts = failed + [f"{n}: not reported" for n in missing]
        return Verdict(check, False, "; ".join(printable(p) for p in parts))
    return Verdict(check, True, ", ".join(check.statuses) + " succeeded")


def run(
    checks: tuple[VerifyCheck, ...],
    sha: str,
    short: str,
    environment: str,
    root: Path,
    statuses: Statuses | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Verdict]:
    """Every check's verdict for the candidate `sha` in `environment` (each retried as it says)."""
    out: list[Verdict] = []
    for check in checks:
        verdict: Verdict | None = None
        for attempt in range(1 + check.retries):
            if attempt:
                sleep(2.0 * 2 ** (attempt - 1))
            try:
                if check.kind == "http":
                    verdict = _http(check, sha, short, environment)
                elif check.kind == "command":
                    verdict = _command(check, sha, short, environment, root)
                else:
                    verdict = _statuses(check, sha, statuses)
            except UsageError:
                raise
            except ExternalError as exc:  # the network: says nothing of the candidate
                verdict = Verdict(check, False, printable(redact(str(exc))), unreachable=True)
            except PromoterError as exc:
                verdict = Verdict(check, False, printable(redact(str(exc))))
            if verdict.passed:
                break
        assert verdict is not None
        out.append(verdict)
    return out
