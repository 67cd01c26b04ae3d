"""The config repository's files as the locators see them: inside the repo, UTF-8, read once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from promoter.errors import Refused
from promoter.model import Target

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.locate.yamlnodes import Node

MAX_FILE_BYTES = 64 * 1024 * 1024
_GLOB_CHARS = re.compile(r"[*?\[]")


class Workspace:
    def __init__(self, root: Path, texts: dict[str, str] | None = None) -> None:
        """`texts`: repo-relative path -> text read instead of the file (a commit's version)."""
        self.root = root.resolve()
        self._texts: dict[str, str] = dict(texts or {})
        self._nodes: dict[str, list[Node]] = {}  # the YAML documents of a file, composed once
        self._dirs: dict[str, str] = {}  # a directory (repo-relative) -> its real path
        self._real: dict[str, Path] = {}  # a file (repo-relative) -> its real path, resolved once

    def inside(self, rel: str) -> Path:
        """The real path of `rel`, refused when it (or a symlink on the way) leaves the repo.
        Each directory is resolved once (the native model reads hundreds of files from a few
        dozen directories); a file that is itself a symlink is resolved in full, once."""
        known = self._real.get(rel)
        if known is not None:
            return known
        parent, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or rel.startswith("/"):  # (an absolute path: resolved as it is)
            real = os.path.realpath(self.root / rel)
        else:
            real = os.path.join(self._dir(parent), name)
            if os.path.islink(real):
                real = os.path.realpath(real)
        root = str(self.root)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise Refused(f"{rel}: resolves to {real}, outside the repository {self.root}")
        path = self._real[rel] = Path(real)
        return path

    def _dir(self, rel: str) -> str:
        """The real path of the directory `rel` (repo-relative; "" the root), each directory on the
        way resolved once: one lstat for a directory whose parent is known."""
        real = self._dirs.get(rel)
        if real is None:
            parent, _, name = rel.rpartition("/")
            if not rel:
                real = str(self.root)
            elif name in ("", ".", ".."):
                real = os.path.realpath(self.root / rel)
            else:
                real = os.path.join(self._dir(parent), name)
                if os.path.islink(real):
                    real = os.path.realpath(real)
            self._dirs[rel] = real
        return real

    def files_of(self, target: Target) -> list[str]:
        """The repo-relative files a target names; a glob must match at least one file.

        A glob is matched over a walk of the tree that does not descend into symlinked
        directories (a loop such as `a -> .` cannot hang it, and a linked directory cannot list a
        file twice); a matched symlink to a file counts once with the file it names."""
        if target.file is not None:
            return [target.file]
        assert target.files is not None
        pattern = glob_regex(target.files)
        fixed = []
        for part in target.files.split("/")[:-1]:
            if _GLOB_CHARS.search(part):
                break
            fixed.append(part)
        top = self.root.joinpath(*fixed)
        matches: dict[str, str] = {}  # real path -> the repo-relative path naming it (the file over a link)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            if rel_dir == ".git" or rel_dir.startswith(".git/"):
                dirnames[:] = []
                continue
            dirnames[:] = [d for d in dirnames if not (rel_dir == "." and d == ".git")]
            for name in filenames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if pattern.fullmatch(rel) and (self.root / rel).is_file():
                    real = os.path.realpath(self.root / rel)
                    other = matches.get(real)
                    if other is None or ((self.root / other).is_symlink() and not (self.root / rel).is_symlink()):
                        matches[real] = rel
        return sorted(set(matches.values()))

    def exists(self, rel: str) -> bool:
        return self.inside(rel).is_file()

    def read(self, rel: str) -> str:
        if rel in self._texts:
            return self._texts[rel]
        path = self.inside(rel)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise Refused(f"{rel}: {size} bytes is larger than promoter edits ({MAX_FILE_BYTES} bytes)")
            data = path.read_bytes()
        except FileNotFoundError:
            raise Refused(f"{rel}: no such file") from None
        except IsADirectoryError:
            raise Refused(f"{rel}: is a directory, expected a file") from None
        except PermissionError:
            raise Refused(f"{rel}: permission denied") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise Refused(f"{rel}:{line}: not UTF-8 text (byte {exc.start}); promoter edits UTF-8 files only") from None
        self._texts[rel] = text
        return text

    def nodes(self, rel: str) -> list[Node]:
        """The YAML documents of `rel` with their positions, composed once however many targets
        and components read them (a file that is no valid YAML raises YamlSyntaxError each time)."""
        if rel not in self._nodes:
            from promoter.locate.yamlnodes import compose

            self._nodes[rel] = compose(self.read(rel))
        return self._nodes[rel]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The repo-relative paths a glob matches, as Python's recursive glob and git's `:(glob)` read
    it: `*` and `?` stay within one path segment, `**` spans any number of them; a pattern ending
    in `/` matches everything below that directory."""
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        j = 0
        while j < len(part):
            c = part[j]
            if c == "*":
                out.append("[^/]*")
            elif c == "?":
                out.append("[^/]")
            elif c == "[":
                end = part.find("]", j + 2 if part[j + 1 : j + 2] in ("!", "]") else j + 1)
                if end < 0:
                    out.append(re.escape(c))
                else:
                    body = part[j + 1 : end]
                    body = "^" + body[1:] if body.startswith("!") else body
                    out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                    j = end
            else:
                out.append(re.escape(c))
            j += 1
        if not last:
            out.append("/")
    return re.compile("".join(out))
