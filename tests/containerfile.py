"""A Containerfile carried out without a container runtime, as buildah's chroot isolation does it:
the base image's root filesystem is given (a directory), then each instruction is applied to it
in order: RUN through /bin/sh -c in a chroot of it as root (the build's ARGs and ENVs in its
environment, the host's resolv.conf lent for the network), COPY from the build context, and
ARG, ENV, LABEL, USER, WORKDIR, ENTRYPOINT and CMD recorded in the image's config, as the
Dockerfile reference defines them. `run` then starts the image's entrypoint in a chroot as the
image's user, with its environment and working directory.

The subset: one stage (one FROM); ARG before FROM seen by FROM and by an ARG redeclared after it;
RUN in shell form; COPY SRC... DEST (globs, no --from or --chown); ENV and LABEL as key=value
pairs; ENTRYPOINT and CMD in exec (JSON) form. Variables in instructions other than RUN: $NAME,
${NAME}, ${NAME:-word}, ${NAME:+word}. Any other instruction or form is an error: the test
fails rather than build something the file does not say.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# what a Debian-based python:3.11-slim image sets (its Dockerfile's ENV lines)
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class Unsupported(Exception):
    """An instruction or a form of one outside the subset."""


def substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("bare")
        value = values.get(name, "")
        if m.group("op") == "-":
            return value or m.group("word")
        if m.group("op") == "+":
            return m.group("word") if value else ""
        return value

    return _VAR.sub(one, text)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, its arguments) in order: comments and blank lines dropped, continued lines
    joined (a comment line inside a continued instruction is dropped, as Docker does)."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if not whole:
            continue
        word, _, rest = whole.partition(" ")
        out.append((word.upper(), rest.strip()))
    if pending:
        raise Unsupported(f"a continued line ends the file: {pending!r}")
    return out


def _pairs(text: str, values: dict[str, str]) -> dict[str, str]:
    """ENV/LABEL `key=value ...` (values quoted as the shell quotes them)."""
    out = {}
    for word in shlex.split(text):
        key, eq, value = word.partition("=")
        if not eq:
            raise Unsupported(f"only key=value pairs are supported, not {text!r}")
        out[key] = substitute(value, values)
    return out


@dataclass
class Image:
    root: Path
    base: str = ""
    env: dict[str, str] = field(default_factory=lambda: dict(BASE_ENV))
    labels: dict[str, str] = field(default_factory=dict)
    user: str = "0:0"
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # the RUN commands, as run

    def ids(self) -> tuple[int, int]:
        """The image's user as numbers (a name looked up in its own /etc/passwd and /etc/group)."""
        name, _, group = self.user.partition(":")
        passwd = [line.split(":") for line in (self.root / "etc/passwd").read_text().splitlines() if line]
        groups = [line.split(":") for line in (self.root / "etc/group").read_text().splitlines() if line]
        uid = int(name) if name.isdigit() else int(next(p[2] for p in passwd if p[0] == name))
        if not group:
            gid = int(next(p[3] for p in passwd if int(p[2]) == uid))
        else:
            gid = int(group) if group.isdigit() else int(next(g[2] for g in groups if g[0] == group))
        return uid, gid


def _chroot(root: Path, argv: list[str], env: dict[str, str], workdir: str, ids: tuple[int, int] | None,
            timeout: float) -> subprocess.CompletedProcess[str]:  # fmt: skip
    userspec = [f"--userspec={ids[0]}:{ids[1]}", f"--groups={ids[1]}"] if ids else []
    # env -i: the image's environment alone; -C: its working directory
    cmd = ["chroot", *userspec, str(root), "/usr/bin/env", "-i", "-C", workdir, *(f"{k}={v}" for k, v in env.items())]
    return subprocess.run([*cmd, *argv], capture_output=True, text=True, timeout=timeout, check=False)


def build(containerfile: Path, context: Path, base_root: Path, build_args: dict[str, str]) -> Image:
    """Carry out `containerfile` on `base_root` (the FROM image's filesystem, changed in place)."""
    image = Image(base_root)
    args: dict[str, str] = {}  # the ARGs in scope
    global_args: dict[str, str] = {}  # declared before FROM
    seen_from = False
    for word, rest in instructions(containerfile.read_text()):
        values = {**args, **image.env}
        if word == "ARG":
            name, eq, default = rest.partition("=")
            name = name.strip()
            if name in build_args:
                value = build_args[name]
            elif eq:
                value = substitute(shlex.split(default)[0] if default.strip() else "", values)
            else:
                value = global_args.get(name, "")
            (args if seen_from else global_args)[name] = value
        elif word == "FROM":
            if seen_from:
                raise Unsupported("one stage only (a second FROM)")
            seen_from = True
            image.base = substitute(rest, global_args)
        elif not seen_from:
            raise Unsupported(f"{word} before FROM")
        elif word == "LABEL":
            image.labels.update(_pairs(rest, values))
        elif word == "ENV":
            image.env.update(_pairs(rest, values))
        elif word == "USER":
            image.user = substitute(rest, values)
        elif word == "WORKDIR":
            image.workdir = os.path.join(image.workdir, substitute(rest, values))
            (image.root / image.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif word in ("ENTRYPOINT", "CMD"):
            if not rest.startswith("["):
                raise Unsupported(f"{word} in exec (JSON) form only")
            setattr(image, word.lower(), json.loads(rest))
        elif word == "COPY":
            if rest.startswith("--"):
                raise Unsupported(f"COPY options: {rest}")
            *sources, dest = [substitute(w, values) for w in shlex.split(rest)]
            _copy(context, sources, image.root, dest, image.workdir)
        elif word == "RUN":
            if rest.startswith("[") or rest.startswith("--"):
                raise Unsupported("RUN in shell form only, without options")
            _run(image, rest, {**args, **image.env})
        else:
            raise Unsupported(f"instruction {word}")
    return image


def _copy(context: Path, sources: list[str], root: Path, dest: str, workdir: str) -> None:
    target = root / os.path.join(workdir, dest).lstrip("/")
    for source in sources:
        matches = sorted(glob.glob(str(context / source)))
        if not matches:
            raise FileNotFoundError(f"COPY {source}: nothing in the build context matches it")
        for m in map(Path, matches):
            if m.is_dir():  # a directory's contents go to dest
                shutil.copytree(m, target, dirs_exist_ok=True, symlinks=True)
            else:
                into = target / m.name if dest.endswith("/") or len(matches) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(m, into)


def _run(image: Image, command: str, env: dict[str, str]) -> None:
    """RUN as root in a chroot of the image, the host's resolv.conf lent to it for the command
    (as a container runtime mounts one)."""
    resolv = image.root / "etc/resolv.conf"
    kept = resolv.read_bytes() if resolv.is_file() and not resolv.is_symlink() else None
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    shutil.copy2("/etc/resolv.conf", resolv)
    try:
        proc = _chroot(image.root, ["/bin/sh", "-c", command], env, image.workdir, None, 900)
    finally:
        resolv.unlink()
        if kept is not None:
            resolv.write_bytes(kept)
    image.runs.append(command)
    if proc.returncode != 0:
        raise AssertionError(f"RUN {command}\nexit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def run(image: Image, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The image run as a runtime runs it: ENTRYPOINT + (args or CMD), as its USER, in its
    WORKDIR, with its environment alone (and HOME, the user's home unless the image sets it)."""
    argv = [*image.entrypoint, *(args or image.cmd)]
    uid, gid = image.ids()
    passwd = [line.split(":") for line in (image.root / "etc/passwd").read_text().splitlines() if line]
    home = next((p[5] for p in passwd if int(p[2]) == uid), "/")
    env = {"HOME": home, **image.env}  # as a runtime sets HOME: the user's, unless the image says
    return _chroot(image.root, argv, env, image.workdir, (uid, gid), timeout)
