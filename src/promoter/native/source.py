"""Where the native model reads app-interface's files from: the working tree, or a git revision
(`check --base`). Both find the saas files the same way (one `git grep` on their `$schema` under
`data/`, then the YAML itself decides) and read a file once, however many targets name it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from promoter.errors import Refused
from promoter.locate.yamlnodes import Alias, Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose, parse_events

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.pipeline.workspace import Workspace

DATA = "data"  # app-interface's data tree: `$ref: /a/b.yml` names data/a/b.yml
SAAS_SCHEMAS = ("/app-sre/saas-file-1.yml", "/app-sre/saas-file-2.yml")
# a cheap prefilter only (git's fixed-string search): every file it names is parsed, and its
# top-level `$schema` decides
_SAAS_GREP = ("saas-file-1.yml", "saas-file-2.yml")


def ref_path(ref: str) -> str | None:
    """The repo-relative file a `$ref` names (`/services/x.yml` -> `data/services/x.yml`), None
    when it leaves the data tree or is no path."""
    rel = ref.strip()
    if not rel.startswith("/") or "\\" in rel or "\0" in rel:
        return None
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join([DATA, *parts])


class Source:
    """The files of the config repository at one state; `saas_files` are the candidates (the
    caller checks their `$schema`), `nodes` their YAML documents (composed once)."""

    def saas_files(self) -> list[str]:
        raise NotImplementedError

    def text(self, path: str) -> str | None:
        """The text of `path`, None when there is no such file (or it cannot be read as UTF-8)."""
        raise NotImplementedError

    def nodes(self, path: str) -> list[Node]:
        """The YAML documents of `path` with positions; YamlSyntaxError when it is not YAML,
        Refused when it cannot be read."""
        raise NotImplementedError

    def raw(self, path: str) -> bytes | None:
        """The bytes of `path`, whatever they are (to say what a file that cannot be read claims)."""
        raise NotImplementedError

    def files_with(self, *fixed: str) -> list[str]:
        """The files under data/ whose text holds one of the strings `fixed`."""
        raise NotImplementedError


class WorkTree(Source):
    """The working tree of the repository at `root`: the files git tracks, as they are on disk,
    read and composed through the workspace the commands locate with (so each once)."""

    def __init__(self, root: Path, workspace: Workspace) -> None:
        from promoter.upstream.git import Git

        self.git = Git(root)
        self.workspace = workspace

    def files_with(self, *fixed: str) -> list[str]:
        patterns = [arg for f in fixed for arg in ("-e", f)]
        proc = self.git.run("grep", "-l", "-z", "-I", "-F", *patterns, "--", f"{DATA}/", check=False)
        if proc.returncode not in (0, 1):  # 1: nothing found
            from promoter.upstream.git import GitError

            raise GitError(["grep"], proc.returncode, proc.stderr)
        return sorted(f for f in proc.stdout.split("\0") if f)

    def saas_files(self) -> list[str]:
        return self.files_with(*_SAAS_GREP)

    def text(self, path: str) -> str | None:
        """The file's text; None when it is missing, no file, outside the repository or unreadable
        (read refuses each of them)."""
        try:
            return self.workspace.read(path)
        except Refused:
            return None

    def nodes(self, path: str) -> list[Node]:
        return self.workspace.nodes(path)

    def raw(self, path: str) -> bytes | None:
        try:
            with self.workspace.inside(path).open("rb") as f:
                return f.read(1 << 20)
        except (OSError, Refused):
            return None


class Revision(Source):
    """The repository's files at commit `sha`, read through `read` (one `git cat-file --batch`)."""

    def __init__(
        self,
        root: Path,
        sha: str,
        read: Callable[[str], bytes | None],
        composed: Callable[[str, str], list[Node]] | None = None,
    ) -> None:
        """`composed(path, text)`: the documents of a file, from a cache shared with the caller."""
        from promoter.upstream.git import Git

        self.git = Git(root)
        self.sha = sha
        self.read = read
        self.composed = composed
        self._texts: dict[str, str | None] = {}
        self._nodes: dict[str, list[Node]] = {}

    def files_with(self, *fixed: str) -> list[str]:
        patterns = [arg for f in fixed for arg in ("-e", f)]
        proc = self.git.run("grep", "-l", "-z", "-I", "-F", *patterns, self.sha, "--", f"{DATA}/", check=False)
        if proc.returncode not in (0, 1):
            from promoter.upstream.git import GitError

            raise GitError(["grep"], proc.returncode, proc.stderr)
        prefix = f"{self.sha}:"
        return sorted(f.removeprefix(prefix) for f in proc.stdout.split("\0") if f)

    def saas_files(self) -> list[str]:
        return self.files_with(*_SAAS_GREP)

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            data = self.read(path)
            try:
                self._texts[path] = None if data is None else data.decode("utf-8")
            except UnicodeDecodeError:
                self._texts[path] = None
        return self._texts[path]

    def raw(self, path: str) -> bytes | None:
        return self.read(path)

    def nodes(self, path: str) -> list[Node]:
        if path not in self._nodes:
            text = self.text(path)
            if text is None:
                raise Refused(f"{self.sha[:12]}:{path}: no such file, or not UTF-8 text")
            self._nodes[path] = self.composed(path, text) if self.composed is not None else compose(text)
        return self._nodes[path]


# -- a few fields of a small file, without composing all of it ---------------------------------------


def fields(text: str, wanted: set[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """The scalar values at the paths `wanted` (one or two keys deep: `("name",)`,
    `("environment", "$ref")`) of the first document's top-level mapping, read from the YAML
    event stream and stopped as soon as each is found: a namespace file's `environment` comes
    long before its resources. A key written twice keeps its first value (app-interface's
    validator refuses such files anyway); an alias or a collection where a scalar is wanted is
    left out. YamlSyntaxError when the text is no YAML up to there."""
    import yaml

    found: dict[tuple[str, ...], str] = {}
    deepest = max((len(w) for w in wanted), default=0)
    # the open mappings from the top-level one down: [key being read (None: a key comes next)]
    stack: list[list[str | None]] = []
    events = parse_events(text)
    for ev in events:
        if isinstance(ev, yaml.ScalarEvent | yaml.AliasEvent):
            if not stack:
                break  # the document is a scalar: no fields
            top = stack[-1]
            if top[0] is None:  # a key
                top[0] = ev.value if isinstance(ev, yaml.ScalarEvent) else "\0alias"
                continue
            at = tuple(str(f[0]) for f in stack)
            if isinstance(ev, yaml.ScalarEvent) and at in wanted and at not in found:
                found[at] = ev.value
                if len(found) == len(wanted):
                    break
            top[0] = None
        elif isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if not stack:
                if isinstance(ev, yaml.SequenceStartEvent):
                    break  # the document is a list: no fields
                stack.append([None])
                continue
            top = stack[-1]
            if top[0] is None:  # a collection as a key: skipped, and its value with it
                _skip(events)
                top[0] = "\0complex"
                continue
            if isinstance(ev, yaml.MappingStartEvent) and len(stack) < deepest:
                stack.append([None])
                continue
            _skip(events)  # a list, or deeper than any wanted path: not looked into
            top[0] = None
        elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            stack.pop()
            if not stack:
                break  # the first document is read
            stack[-1][0] = None
    return found


def _skip(events: object) -> None:
    """Consume the events of the collection just opened, to its end."""
    import yaml

    depth = 1
    for ev in events:  # type: ignore[attr-defined]
        if isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
        elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
            if depth == 0:
                return


# -- reading composed nodes ---------------------------------------------------------------------------


def get(node: Node | None, key: str) -> Node | None:
    """The value of `key` in a mapping (the first, when written twice), None otherwise."""
    if not isinstance(node, Mapping):
        return None
    for k, v in node.pairs:
        if isinstance(k, Scalar) and k.value == key:
            return v
    return None


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, Scalar) else None


def strings(node: Node | None) -> tuple[str, ...]:
    if not isinstance(node, Sequence):
        return ()
    return tuple(i.value for i in node.items if isinstance(i, Scalar))


def is_alias(node: Node | None) -> bool:
    return isinstance(node, Alias)


__all__ = ["Revision", "Source", "WorkTree", "YamlSyntaxError", "fields", "ref_path"]
