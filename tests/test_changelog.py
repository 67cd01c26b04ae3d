"""The changelog of a promotion, against real upstream repositories built with git in temp dirs."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from promoter.model import Component
from promoter.render.changelog import changelog_doc as to_json
from promoter.render.changelog import changelog_text as render_text
from promoter.ship.describe import changelog_markdown as render_markdown
from promoter.upstream.changelog import (
    DEFAULT_BOTS,
    Changelog,
    Person,
    build,
    compare_url,
    handle_for,
    is_bot,
)
from promoter.upstream.git import Git, GitError
from promoter.upstream.mirror import Upstream
from tests.conftest import git

ALICE = Person("Alice Ærø", "alice@example.com")
BOB = Person("Bob Builder", "bob@example.com")
CAROL = Person("Carol Co", "carol@example.org")  # only ever a co-author
DANA = Person("Dana", "12345+dana-x@users.noreply.github.com")
DEPENDABOT = Person("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
REPO_URL = "https://github.com/example/widget.git"


def _commit(path: Path, who: Person, when: str, message: str, *extra: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": who.name,
        "GIT_AUTHOR_EMAIL": who.email,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }
    git(path, "commit", "-q", "--allow-empty", *extra, "-F", "-", env=env, input_=message)
    return git(path, "rev-parse", "HEAD")


class Repo:
    """The upstream: base, then a1 b2 bot3 d4 on main, f5 on a feature branch off b2, m6 merging it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        git(path, "init", "-q", "-b", "main")
        (path / "f").write_text("0\n")
        git(path, "add", "f")
        self.base = _commit(path, Person("Test Author", "author@example.com"), "2024-01-01T09:00:00+00:00", "initial")
        self.a1 = _commit(
            path,
            ALICE,
            "2024-01-02T23:30:00-05:00",  # the author's own day, not UTC's (2024-01-03)
            "Add ünïcode | pipes % and\ttabs\n\nBody text.\n\nCo-authored-by: Carol Co <carol@example.org>\n",
        )
        self.b2 = _commit(
            path,
            BOB,
            "2024-01-04T10:00:00+02:00",
            "Fix %s and %x00 in *formats* (#12)\n\nCo-authored-by: Alice Ærø <ALICE@Example.COM>\n"
            "Co-authored-by: Bob Builder <bob@example.com>\n",
        )
        self.bot3 = _commit(path, DEPENDABOT, "2024-01-05T10:00:00+00:00", "Bump @babel/core from 7.1 to 7.2")
        self.d4 = _commit(path, DANA, "2024-01-06T10:00:00+00:00", "Docs: <b>bold</b> claims")
        git(path, "checkout", "-q", "-b", "feature", self.b2)
        self.f5 = _commit(path, BOB, "2024-01-07T10:00:00+00:00", "Feature work")
        git(path, "checkout", "-q", "main")
        self.m6 = self._merge()

    def _merge(self) -> str:
        env = {
            "GIT_AUTHOR_NAME": ALICE.name,
            "GIT_AUTHOR_EMAIL": ALICE.email,
            "GIT_AUTHOR_DATE": "2024-01-08T10:00:00+00:00",
            "GIT_COMMITTER_DATE": "2024-01-08T10:00:00+00:00",
        }
        git(self.path, "merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", env=env)
        return git(self.path, "rev-parse", "HEAD")

    @property
    def git(self) -> Git:
        return Git(self.path)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "upstream")


def _shas(cl: Changelog) -> list[str]:
    return [c.sha for c in cl.commits]


def test_commits_newest_first_with_authors_dates_subjects_and_co_authors(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, REPO_URL)
    assert cl.base == repo.base and cl.head == repo.m6
    assert _shas(cl) == [repo.m6, repo.f5, repo.d4, repo.bot3, repo.b2, repo.a1]
    assert cl.count == 6
    by_sha = {c.sha: c for c in cl.commits}
    a1, b2, m6 = by_sha[repo.a1], by_sha[repo.b2], by_sha[repo.m6]
    assert a1.author == ALICE
    assert a1.subject == "Add ünïcode | pipes % and\ttabs"
    assert a1.date == datetime(2024, 1, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert a1.date.utcoffset() == timedelta(hours=-5)
    assert a1.co_authors == (CAROL,)
    assert b2.subject == "Fix %s and %x00 in *formats* (#12)"
    assert b2.co_authors == (Person("Alice Ærø", "ALICE@Example.COM"), BOB)
    assert b2.people == (BOB, Person("Alice Ærø", "ALICE@Example.COM"))  # the author once
    assert by_sha[repo.bot3].author == DEPENDABOT
    assert [c.merge for c in cl.commits] == [True, False, False, False, False, False]
    assert m6.subject == "Merge branch 'feature'" and m6.author == ALICE


def test_contributors_deduplicated_by_email_ordered_by_commits_then_name(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, REPO_URL)
    assert [(w.person, [c.sha for c in w.commits]) for w in cl.contributors] == [
        (ALICE, [repo.m6, repo.b2, repo.a1]),  # authored a1 and the merge, co-authored b2 (other case)
        (BOB, [repo.f5, repo.b2]),  # b2 counted once although he also "co-authored" it
        (CAROL, [repo.a1]),
        (DANA, [repo.d4]),
    ]
    assert cl.bots_left_out == [DEPENDABOT]
    assert repo.bot3 in _shas(cl)  # a bot's commits stay in the list


def test_handles_from_people_by_email_or_name_and_from_noreply_addresses(repo: Repo) -> None:
    people = {"BOB@example.COM": "@bobby", "Carol Co": "@carol", "alice@example.com": "@alice"}
    cl = build(repo.git, repo.base, repo.m6, REPO_URL, people)
    assert [(w.person.name, w.handle) for w in cl.contributors] == [
        ("Alice Ærø", "@alice"),
        ("Bob Builder", "@bobby"),
        ("Carol Co", "@carol"),
        ("Dana", "@dana-x"),
    ]
    assert [w.handle for w in build(repo.git, repo.base, repo.m6, REPO_URL).contributors] == [
        None,
        None,
        None,
        "@dana-x",
    ]


@pytest.mark.parametrize(
    ("person", "people", "handle"),
    [
        (Person("J Doe", "jdoe@corp.example"), {"JDoe@Corp.Example": "@jdoe"}, "@jdoe"),
        (Person("J Doe", "jdoe@corp.example"), {"J Doe": "@jd"}, "@jd"),
        (Person("J Doe", "jdoe@corp.example"), {"j doe": "@jd"}, None),  # names match exactly
        (Person("J Doe", "jdoe@corp.example"), {"jdoe@corp.example": "@mail", "J Doe": "@name"}, "@mail"),
        (Person("J Doe", "12345+JDoe-1@users.noreply.github.com"), {}, "@JDoe-1"),
        (Person("J Doe", "jdoe@users.noreply.github.com"), {}, "@jdoe"),
        (Person("J Doe", "12345+jdoe@users.noreply.github.com"), {"J Doe": "@override"}, "@override"),
        (Person("J Doe", "jdoe@users.noreply.github.com.evil.example"), {}, None),
        (Person("J Doe", "jdoe@github.com"), {}, None),
        (Person("", ""), {}, None),
    ],
)
def test_handle_for(person: Person, people: dict[str, str], handle: str | None) -> None:
    assert handle_for(person, people) == handle


@pytest.mark.parametrize(
    ("person", "bot"),
    [
        (DEPENDABOT, True),
        (Person("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com"), True),
        (Person("Renovate Bot", "bot@renovateapp.com"), True),
        (Person("GitHub", "noreply@github.com"), True),
        (Person("CI", "ci-bot@corp.example"), True),
        (Person("Some App[BOT]", "app@example.com"), True),
        (Person("Robert", "robert@example.com"), False),  # "[bot]" is literal, not a character class
        (Person("Bob", "bob@example.com"), False),
        (Person("Abbot", "abbot@example.com"), False),
    ],
)
def test_default_bots(person: Person, bot: bool) -> None:
    assert is_bot(person, DEFAULT_BOTS) is bot


def test_custom_bot_patterns(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, REPO_URL, bots=("*@users.noreply.github.com",))
    assert [w.person for w in cl.contributors] == [ALICE, BOB, CAROL]
    assert cl.bots_left_out == [DANA, DEPENDABOT]
    everyone = build(repo.git, repo.base, repo.m6, REPO_URL, bots=())
    assert [w.person for w in everyone.contributors] == [ALICE, BOB, CAROL, DANA, DEPENDABOT]
    assert everyone.bots_left_out == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/o/r", "https://github.com/o/r/compare/B...H"),
        ("https://github.com/o/r.git", "https://github.com/o/r/compare/B...H"),
        ("https://github.com/o/r/", "https://github.com/o/r/compare/B...H"),
        ("https://GitHub.com/o/r.git", "https://github.com/o/r/compare/B...H"),
        ("https://user:token@github.com/o/r.git", "https://github.com/o/r/compare/B...H"),
        ("git@github.com:o/r.git", "https://github.com/o/r/compare/B...H"),
        ("ssh://git@github.com/o/r.git", "https://github.com/o/r/compare/B...H"),
        ("https://github.com/o", None),
        ("https://github.com/o/r/tree/main", None),
        ("https://gitlab.com/group/proj", "https://gitlab.com/group/proj/-/compare/B...H"),
        ("https://gitlab.com/group/sub/proj.git", "https://gitlab.com/group/sub/proj/-/compare/B...H"),
        ("git@gitlab.com:group/sub/proj.git", "https://gitlab.com/group/sub/proj/-/compare/B...H"),
        (
            "https://gitlab.cee.redhat.com/service/app-interface",
            "https://gitlab.cee.redhat.com/service/app-interface/-/compare/B...H",
        ),
        (
            "ssh://git@gitlab.example.com:2222/g/p.git",
            "https://gitlab.example.com/g/p/-/compare/B...H",
        ),
        ("https://gitlab.example.com:8443/g/p", "https://gitlab.example.com:8443/g/p/-/compare/B...H"),
        ("https://gitlab.com/proj", None),
        ("https://bitbucket.org/o/r.git", None),
        ("https://git.example.com/o/r.git", None),
        ("/srv/mirrors/r.git", None),
        ("file:///srv/mirrors/r.git", None),
        ("", None),
    ],
)
def test_compare_url(url: str, expected: str | None) -> None:
    assert compare_url(url, "B", "H") == expected


def test_compare_url_on_the_changelog(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, "git@gitlab.com:group/widget.git")
    assert cl.compare_url == f"https://gitlab.com/group/widget/-/compare/{repo.base}...{repo.m6}"
    assert build(repo.git, repo.base, repo.m6, str(repo.path)).compare_url is None


def test_render_text(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, REPO_URL, {"bob@example.com": "@bobby"})
    s = {name: getattr(repo, name)[:7] for name in ("base", "a1", "b2", "bot3", "d4", "f5", "m6")}
    assert render_text(cl) == (
        f"6 commits from {s['base']} to {s['m6']}\n"
        f"{s['m6']} 2024-01-08 Alice Ærø: Merge branch 'feature' (merge)\n"
        f"{s['f5']} 2024-01-07 Bob Builder: Feature work\n"
        f"{s['d4']} 2024-01-06 Dana: Docs: <b>bold</b> claims\n"
        f"{s['bot3']} 2024-01-05 dependabot[bot]: Bump @babel/core from 7.1 to 7.2\n"
        f"{s['b2']} 2024-01-04 Bob Builder: Fix %s and %x00 in *formats* (#12)\n"
        f"{s['a1']} 2024-01-02 Alice Ærø: Add ünïcode | pipes % and\ttabs\n"
        "\n"
        "Authors:\n"
        f"  Alice Ærø <alice@example.com> — 3 commits: {s['m6']} {s['b2']} {s['a1']}\n"
        f"  Bob Builder <bob@example.com> (@bobby) — 2 commits: {s['f5']} {s['b2']}\n"
        f"  Carol Co <carol@example.org> — 1 commit: {s['a1']}\n"
        f"  Dana <12345+dana-x@users.noreply.github.com> (@dana-x) — 1 commit: {s['d4']}\n"
        "Bots (left out): dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>\n"
        "\n"
        f"Compare: https://github.com/example/widget/compare/{repo.base}...{repo.m6}\n"
    )


def test_render_text_single_commit_without_forge(repo: Repo) -> None:
    cl = build(repo.git, repo.bot3, repo.d4, str(repo.path))
    assert render_text(cl, short=10) == (
        f"1 commit from {repo.bot3[:10]} to {repo.d4[:10]}\n"
        f"{repo.d4[:10]} 2024-01-06 Dana: Docs: <b>bold</b> claims\n"
        "\n"
        "Authors:\n"
        f"  Dana <12345+dana-x@users.noreply.github.com> (@dana-x) — 1 commit: {repo.d4[:10]}\n"
    )


def test_render_markdown(repo: Repo) -> None:
    cl = build(repo.git, repo.base, repo.m6, REPO_URL, {"bob@example.com": "@bobby", "Carol Co": "@bobby"})
    s = {name: getattr(repo, name)[:7] for name in ("base", "a1", "b2", "bot3", "d4", "f5", "m6")}
    web = "https://github.com/example/widget"

    def link(name: str) -> str:
        return f"[`{s[name]}`]({web}/commit/{getattr(repo, name)})"

    assert render_markdown(cl) == (
        f"**6 commits** from {link('base')} to {link('m6')} ([compare]({web}/compare/{repo.base}...{repo.m6}))\n"
        "\n"
        "| commit | date | author | subject |\n"
        "|---|---|---|---|\n"
        f"| {link('m6')} | 2024-01-08 | Alice Ærø | Merge branch 'feature' _(merge)_ |\n"
        f"| {link('f5')} | 2024-01-07 | Bob Builder | Feature work |\n"
        f"| {link('d4')} | 2024-01-06 | Dana | Docs: \\<b\\>bold\\</b\\> claims |\n"
        f"| {link('bot3')} | 2024-01-05 | dependabot\\[bot\\] | Bump @\u200bbabel/core from 7.1 to 7.2 |\n"
        f"| {link('b2')} | 2024-01-04 | Bob Builder | Fix %s and %x00 in \\*formats\\* (\\#12) |\n"
        f"| {link('a1')} | 2024-01-02 | Alice Ærø | Add ünïcode \\| pipes % and tabs |\n"
        "\n"
        "**Authors**\n"
        "\n"
        f"- Alice Ærø `alice@example.com` — 3 commits: `{s['m6']}`, `{s['b2']}`, `{s['a1']}`\n"
        f"- Bob Builder `bob@example.com` @bobby — 2 commits: `{s['f5']}`, `{s['b2']}`\n"
        f"- Carol Co `carol@example.org` @bobby — 1 commit: `{s['a1']}`\n"
        f"- Dana `12345+dana-x@users.noreply.github.com` @dana-x — 1 commit: `{s['d4']}`\n"
        "\n"
        "Bots (left out): dependabot\\[bot\\]\n"
        "\n"
        "cc @bobby @dana-x\n"  # each handle once, in contributor order
    )


def test_render_markdown_gitlab_links_and_no_cc_without_handles(repo: Repo) -> None:
    cl = build(repo.git, repo.a1, repo.b2, "https://gitlab.example.com/g/sub/widget.git", bots=())
    web = "https://gitlab.example.com/g/sub/widget"
    a, b = repo.a1, repo.b2
    assert render_markdown(cl) == (
        f"**1 commit** from [`{a[:7]}`]({web}/-/commit/{a}) to [`{b[:7]}`]({web}/-/commit/{b})"
        f" ([compare]({web}/-/compare/{a}...{b}))\n"
        "\n"
        "| commit | date | author | subject |\n"
        "|---|---|---|---|\n"
        f"| [`{b[:7]}`]({web}/-/commit/{b}) | 2024-01-04 | Bob Builder | Fix %s and %x00 in \\*formats\\* (\\#12) |\n"
        "\n"
        "**Authors**\n"
        "\n"
        f"- Alice Ærø `ALICE@Example.COM` — 1 commit: `{b[:7]}`\n"
        f"- Bob Builder `bob@example.com` — 1 commit: `{b[:7]}`\n"
    )
    plain = build(repo.git, repo.a1, repo.b2, str(repo.path))
    assert plain.compare_url is None
    assert render_markdown(plain).splitlines()[0] == f"**1 commit** from `{a[:7]}` to `{b[:7]}`"


def test_empty_range(repo: Repo) -> None:
    for base, head in ((repo.m6, repo.m6), (repo.m6, repo.b2)):  # the same commit; an older one
        cl = build(repo.git, base, head, REPO_URL)
        assert (cl.commits, cl.contributors, cl.bots_left_out, cl.count) == ([], [], [], 0)
        assert render_text(cl) == "no new commits\n"
        assert render_markdown(cl) == "no new commits\n"
        assert to_json(cl)["count"] == 0


def test_to_json(repo: Repo) -> None:
    cl = build(repo.git, repo.a1, repo.b2, REPO_URL, {"Bob Builder": "@bobby"})
    assert to_json(cl, "widget") == {
        "schema_version": 1,
        "kind": "changelog",
        "component": "widget",
        "old": {"value": repo.a1, "sha": repo.a1},
        "new": {"value": repo.b2, "sha": repo.b2},
        "count": 1,
        "compare_url": f"https://github.com/example/widget/compare/{repo.a1}...{repo.b2}",
        "commits": [
            {
                "sha": repo.b2,
                "author": {"name": "Bob Builder", "email": "bob@example.com"},
                "date": "2024-01-04T10:00:00+02:00",
                "subject": "Fix %s and %x00 in *formats* (#12)",
                "co_authors": [
                    {"name": "Alice Ærø", "email": "ALICE@Example.COM"},
                    {"name": "Bob Builder", "email": "bob@example.com"},
                ],
                "merge": False,
            }
        ],
        "contributors": [
            {"name": "Alice Ærø", "email": "ALICE@Example.COM", "handle": None, "commits": [repo.b2]},
            {"name": "Bob Builder", "email": "bob@example.com", "handle": "@bobby", "commits": [repo.b2]},
        ],
        "bots_left_out": [],
    }


def test_awkward_messages_and_trailers(tmp_path: Path) -> None:
    path = tmp_path / "u"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    base = _commit(path, ALICE, "2024-02-01T00:00:00+00:00", "base")
    subject = "x\x1ey\x1fz \u202e | %H %(trailers) ` * _ [a](b) \\ 🚀"
    odd = _commit(
        path,
        BOB,
        "2024-02-02T00:00:00+00:00",
        f"{subject}\n\nCo-authored-by: no email here\nCo-authored-by:   Spaced   Out   <spaced@example.com>  \n"
        "CO-AUTHORED-BY: Shouty <shouty@example.com>\nSigned-off-by: Not Credited <nc@example.com>\n",
    )
    multi = _commit(path, CAROL, "2024-02-03T00:00:00+00:00", "first line\nsecond line of the subject\n\nbody")
    cl = build(Git(path), base, multi, REPO_URL)
    assert [(c.sha, c.subject) for c in cl.commits] == [
        (multi, "first line second line of the subject"),  # git's %s: the first paragraph, joined
        (odd, subject),
    ]
    assert cl.commits[1].co_authors == (
        Person("Spaced Out", "spaced@example.com"),
        Person("Shouty", "shouty@example.com"),
    )
    assert [w.person.name for w in cl.contributors] == ["Bob Builder", "Carol Co", "Shouty", "Spaced Out"]


def test_bad_revisions_are_git_errors(repo: Repo) -> None:
    with pytest.raises(GitError):
        build(repo.git, "0" * 40, repo.m6, REPO_URL)
    with pytest.raises(GitError):
        build(repo.git, "--output=/tmp/x", repo.m6, REPO_URL)  # never taken for an option


def _fast_import(path: Path, n: int) -> list[str]:
    """`n` commits on main, authored in turn by 7 people, every 10th with a co-author; their shas."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    chunks = []
    for i in range(1, n + 1):
        who = f"Dev {i % 7}", f"dev{i % 7}@example.com"
        message = f"change {i} | 100% ✓\n" + ("\nCo-authored-by: Pair <pair@example.com>\n" if i % 10 == 0 else "")
        data = message.encode()
        chunks.append(
            f"commit refs/heads/main\nmark :{i}\n"
            f"author {who[0]} <{who[1]}> {1700000000 + i} +0000\n"
            f"committer {who[0]} <{who[1]}> {1700000000 + i} +0000\n"
            f"data {len(data)}\n{message}\n" + (f"from :{i - 1}\n" if i > 1 else "") + "\n"
        )
    git(path, "fast-import", "--quiet", input_="".join(chunks))
    return git(path, "rev-list", "--reverse", "main").split()


def test_three_thousand_commits(tmp_path: Path) -> None:
    shas = _fast_import(tmp_path / "big", 3000)
    assert len(shas) == 3000
    cl = build(Git(tmp_path / "big"), shas[0], shas[-1], REPO_URL)
    assert cl.count == 2999
    assert _shas(cl) == shas[:0:-1]
    assert cl.commits[0].subject == "change 3000 | 100% ✓"
    counts = {w.person.email: len(w.commits) for w in cl.contributors}
    assert counts == {
        **{f"dev{k}@example.com": sum(1 for i in range(2, 3001) if i % 7 == k) for k in range(7)},
        "pair@example.com": 300,
    }
    assert [w.person.name for w in cl.contributors][:1] == ["Dev 2"]  # 429 commits; ties broken by name
    assert sum(len(w.commits) for w in cl.contributors) == 2999 + 300


@pytest.mark.parametrize("url", [False, True])
def test_builds_in_a_blobless_mirror_without_the_upstream(tmp_path: Path, url: bool) -> None:
    path = tmp_path / "upstream"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "uploadpack.allowFilter", "true")
    (path / ".mailmap").write_text("Mapped Name <alice@example.com>\n")  # must not be read (it is a blob)
    for i in range(3):
        (path / "f").write_text(f"{i}\n")
        git(path, "add", "-A")
        _commit(path, [ALICE, BOB, DANA][i], f"2024-03-0{i + 1}T12:00:00+00:00", f"change {i}")
    shas = git(path, "rev-list", "--reverse", "main").split()
    fetch = f"file://{path}" if url else str(path)
    up = Upstream(Component("widget", "https://github.com/example/widget", fetch, "main", 7, (), 1))
    assert up.resolve(None) == shas[-1]
    shutil.rmtree(path)
    if url:  # git ignores --filter for a plain local path; over file:// the mirror really has no blob
        kinds = up.git.out("cat-file", "--batch-all-objects", "--batch-check=%(objecttype)").split()
        assert "blob" not in kinds and "commit" in kinds
        with pytest.raises(GitError):  # what needs a blob would have to fetch it from the gone upstream
            up.git.run("log", "--stat", "-1", shas[-1])
    cl = build(up.git, shas[0], shas[-1], up.component.repo)
    assert [(c.sha, c.author, c.subject) for c in cl.commits] == [
        (shas[2], DANA, "change 2"),
        (shas[1], BOB, "change 1"),
    ]
    assert [(w.person, w.handle) for w in cl.contributors] == [(BOB, None), (DANA, "@dana-x")]
