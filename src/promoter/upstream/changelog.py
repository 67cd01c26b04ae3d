"""The commits a promotion brings and the people who wrote them: data, and text/markdown/JSON of it.

`build` reads the range `base..head` of the upstream with a single `git log` (no diffs, no
mailmap: in a blobless mirror it needs no blob), credits every author and every
`Co-authored-by:` co-author, leaves bots out of the people to tell, and finds each person's
handle (from the config's `people:` or a GitHub noreply address).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from promoter.errors import ExternalError, UsageError
from promoter.records import field, record
from promoter.upstream.git import Git

DEFAULT_BOTS: tuple[str, ...] = (
    "*[bot]",
    "*[bot]@users.noreply.github.com",
    "dependabot*",
    "renovate*",
    "*-bot@*",
    "noreply@github.com",
)

_EMPTY: Mapping[str, str] = {}

# One record per commit (`-z`: NUL-terminated); fields by RS (0x1e), the subject last so that
# whatever it holds cannot shift the other fields; co-authors by US (0x1f).
_RS, _US = "\x1e", "\x1f"
_FIELDS = ("%H", "%P", "%aI", "%an", "%ae", "%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x1f)", "%s")
_FORMAT = "%x1e".join(_FIELDS)
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_IDENT = re.compile(r"(?P<name>[^<>]*?)\s*<(?P<email>[^<>]*)>\s*")
_NOREPLY = re.compile(
    r"(?:\d+\+)?(?P<login>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)@users\.noreply\.github\.com", re.IGNORECASE
)


@record(frozen=True)
class Person:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@record(frozen=True)
class Commit:
    sha: str
    author: Person
    date: datetime  # the author date, with its own UTC offset
    subject: str
    co_authors: tuple[Person, ...]
    merge: bool

    @property
    def people(self) -> tuple[Person, ...]:
        """The author, then every co-author who is not them."""
        seen = {_key(self.author)}
        out = [self.author]
        for p in self.co_authors:
            if _key(p) not in seen:
                seen.add(_key(p))
                out.append(p)
        return tuple(out)


@record
class Contributor:
    person: Person
    handle: str | None
    commits: list[Commit] = field(default_factory=list)  # authored or co-authored, newest first


@record
class Changelog:
    base: str
    head: str
    commits: list[Commit]  # newest first; bots' commits included
    contributors: list[Contributor]  # most commits first; no bots
    bots_left_out: list[Person]
    compare_url: str | None
    base_tag: str | None = None  # the release tags base and head are, for a component pinned by tags
    head_tag: str | None = None

    @property
    def count(self) -> int:
        return len(self.commits)

    def named(self, which: str, short: int = 7) -> str:
        """`base` or `head` as people read it: `v1.4.2 (10ac8b5)`, or the short sha."""
        sha, tag = (self.base, self.base_tag) if which == "base" else (self.head, self.head_tag)
        return f"{tag} ({sha[:short]})" if tag else sha[:short]


# -- building -----------------------------------------------------------------------------------
def build(
    git: Git,
    base: str,
    head: str,
    repo_url: str,
    people: Mapping[str, str] = _EMPTY,
    bots: Sequence[str] = DEFAULT_BOTS,
) -> Changelog:
    """The commits of `head` that `base` does not have, newest first, and who wrote them."""
    out = git.run(
        "log",
        "--no-color",
        "--no-mailmap",
        "--no-show-signature",
        "-z",
        f"--format={_FORMAT}",
        "--end-of-options",
        f"{base}..{head}",
        "--",
    ).stdout
    commits = [_parse(record) for record in out.split("\0") if record.strip("\n")]
    contributors, left_out = _contributors(commits, people, bots)
    return Changelog(base, head, commits, contributors, left_out, compare_url(repo_url, base, head))


def _parse(record: str) -> Commit:
    fields = record.lstrip("\n").split(_RS, len(_FIELDS) - 1)
    if len(fields) != len(_FIELDS) or not _SHA.fullmatch(fields[0]):
        raise ExternalError(f"git log: cannot read a commit record: {record[:80]!r}")
    sha, parents, date, name, email, trailers, subject = fields
    try:
        when = datetime.fromisoformat(date)
    except ValueError:
        raise ExternalError(f"git log: commit {sha} has an unreadable author date {date!r}") from None
    co_authors = tuple(p for p in (_person(v) for v in trailers.split(_US)) if p is not None)
    return Commit(sha, Person(name, email), when, subject, co_authors, len(parents.split()) > 1)


def _person(value: str) -> Person | None:
    """`Name <email>` of a trailer; None when it names no email."""
    m = _IDENT.fullmatch(value.strip())
    if m is None or not m["email"].strip():
        return None
    return Person(" ".join(m["name"].split()), m["email"].strip())


def _key(person: Person) -> str:
    return person.email.lower() if person.email else f"name:{person.name.lower()}"


def is_bot(person: Person, bots: Sequence[str] = DEFAULT_BOTS) -> bool:
    """Whether name or email matches one of the `bots` patterns (case-insensitive shell globs
    with `*` and `?`; brackets are literal, so `*[bot]` means a name ending in "[bot]")."""
    values = (person.name.lower(), person.email.lower())
    return any(fnmatchcase(v, _literal_brackets(p.lower())) for p in bots for v in values)


def _literal_brackets(pattern: str) -> str:
    return "".join("[[]" if c == "[" else "[]]" if c == "]" else c for c in pattern)


def _contributors(
    commits: list[Commit], people: Mapping[str, str], bots: Sequence[str]
) -> tuple[list[Contributor], list[Person]]:
    found: dict[str, Contributor] = {}
    authored: set[str] = set()  # keys whose shown identity comes from an authored commit
    bot_keys: set[str] = set()
    checked: set[Person] = set()
    for c in commits:
        for i, p in enumerate(c.people):
            key = _key(p)
            if p not in checked:  # every identity a bot's key is seen with is checked, each once
                checked.add(p)
                if is_bot(p, bots):
                    bot_keys.add(key)
            entry = found.get(key)
            if entry is None:
                entry = found[key] = Contributor(p, None)
            if i == 0 and key not in authored:  # as they sign their own commits, newest first
                authored.add(key)
                entry.person = p
            entry.commits.append(c)
    ordered = sorted(found.items(), key=lambda kv: (-len(kv[1].commits), kv[1].person.name.lower(), kv[0]))
    contributors = []
    for key, entry in ordered:
        if key not in bot_keys:
            entry.handle = handle_for(entry.person, people)
            contributors.append(entry)
    return contributors, [entry.person for key, entry in ordered if key in bot_keys]


def handle_for(person: Person, people: Mapping[str, str]) -> str | None:
    """The person's handle: `people` by email (any case) or name, else a GitHub noreply login."""
    if person.email:
        email = person.email.lower()
        for key, handle in people.items():
            if key.lower() == email:
                return handle
    if person.name in people:
        return people[person.name]
    m = _NOREPLY.fullmatch(person.email)
    return f"@{m['login']}" if m is not None else None


def compare_url(repo_url: str, base: str, head: str) -> str | None:
    """The forge's web page comparing `base` to `head` (GitHub, GitLab); None for other hosts."""
    web = web_url(repo_url)
    if web is None:
        return None
    sep = "/compare/" if urlsplit(web).hostname == "github.com" else "/-/compare/"
    return f"{web}{sep}{base}...{head}"


def web_url(repo_url: str) -> str | None:
    """`https://host/path` of a GitHub or GitLab repository given by its clone URL (https or ssh)."""
    from promoter.urls import parse_repo_url

    try:
        ref = parse_repo_url(repo_url)
    except UsageError:
        return None
    if ref.host == "github.com" and len(ref.path) != 2:
        return None
    if ref.host != "github.com" and "gitlab" not in ref.host:
        return None
    return f"https://{ref.host}/{'/'.join(ref.path)}"
