"""A small fleet whose environments stand in every state the status page shows, on real git
repositories: six components, each with its own upstream, three environments (integration,
production after integration with a 1 h soak, pipelines with a deny window), a hold, a blocked
commit, promotions by several people. The clock is NOW (PROMOTER_NOW), every date is set.

    schemas   pipelines   runs its head                          -> up to date (window closed too)
    app       integration runs a1 of a0..a4                       -> ready: a4
              production  runs a0; integration ran a1 for a day   -> ready: a1
    web       integration runs w3 (its head) since 30 min         -> up to date
              production  runs w2                                 -> soaking until NOW + 30 min
    billing   production  runs b0, held (incident 42) until NOW + 1d
    tool      production  runs t1; its head t2 is blocked         -> blocked
    jobs      pipelines   runs j0 of j0..j2                       -> window closed until 23:00
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, make_repo

NOW = 1772445600  # 2026-03-02 10:00:00 UTC, a Monday
HOUR, DAY = 3600, 86400
PEOPLE = (("Ada Lovelace", "ada@example.com"), ("Grace Hopper", "grace@example.com"), ("Linus T", "lt@example.com"))


def _env(who: tuple[str, str], when: int) -> dict[str, str]:
    date = f"@{when} +0000"
    return {"GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1], "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1], "GIT_COMMITTER_DATE": date}  # fmt: skip


def _upstream(path: Path, name: str, times: list[int]) -> list[str]:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i, when in enumerate(times):
        (path / "log").write_text(f"{name} {i}\n")
        git(path, "add", "log")
        git(path, "commit", "-qm", f"{name}: change {i}", env=_env(PEOPLE[i % 3], when))
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


def _promote(repo: Path, who: tuple[str, str], when: int, subject: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", subject, env=_env(who, when))


class PagesFleet:
    def __init__(self, root: Path) -> None:
        self.root = root
        ago = [NOW - h * HOUR for h in (96, 72, 48, 30, 2)]
        self.shas = {
            "schemas": _upstream(root / "schemas", "schemas", ago[:3]),
            "app": _upstream(root / "app", "app", ago),
            "web": _upstream(root / "web", "web", [NOW - h * HOUR for h in (60, 50, 40, 20)]),
            "billing": _upstream(root / "billing", "billing", ago[:3]),
            "tool": _upstream(root / "tool", "tool", ago[:3]),
            "jobs": _upstream(root / "jobs", "jobs", ago[:3]),
        }
        s = self.shas
        comps = []
        for name, targets in (
            ("schemas", [("schemas", "pipelines", "pipelines/schemas.env", "env: SCHEMAS_TAG", "")]),
            ("app", [("app-prod", "production", "prod/app.yaml", "key: ref", "sha"),
                     ("app-int", "integration", "int/app.yaml", "key: ref", "sha")]),
            ("web", [("web-prod", "production", "prod/web.yaml", "key: ref", "sha"),
                     ("web-int", "integration", "int/web.yaml", "key: ref", "sha")]),
            ("billing", [("billing-prod", "production", "prod/billing.yaml", "key: ref", "sha")]),
            ("tool", [("tool-prod", "production", "prod/tool.yaml", "key: ref", "sha")]),
            ("jobs", [("jobs", "pipelines", "pipelines/jobs.env", "env: JOBS_TAG", "")]),
        ):  # fmt: skip
            lines = [f"  {name}:", f"    repo: https://github.com/example/{name}", f"    fetch: {root / name}",
                     "    branch: main"]  # fmt: skip
            if name == "tool":
                lines.append(f"    blocked: ['{s['tool'][2][:7]}']")
            lines.append("    targets:")
            for tname, env, file, loc, fmt in targets:
                lines.append(f"      - {{name: {tname}, environment: {env}, file: {file}, {loc}"
                             + (f", format: {fmt}" if fmt else "") + "}")  # fmt: skip
            comps.append("\n".join(lines))
        config = (
            "version: 1\ncomponents:\n" + "\n".join(comps) + "\n"
            "environments:\n"
            "  integration: {}\n"
            "  production:\n    after: [integration]\n    soak: 1h\n"
            "  pipelines:\n    windows:\n      - deny: '0 0 * * *'\n        duration: 23h\n"
        )
        ada, grace, linus = PEOPLE
        self.config = make_repo(
            root / "config",
            {
                "promotion.yaml": config,
                "pipelines/schemas.env": f"SCHEMAS_TAG={s['schemas'][0][:7]}\n",
                "pipelines/jobs.env": f"JOBS_TAG={s['jobs'][0][:7]}\n",
                "prod/app.yaml": f"ref: {s['app'][0]}\n",
                "int/app.yaml": f"ref: {s['app'][0]}\n",
                "prod/web.yaml": f"ref: {s['web'][0]}\n",
                "int/web.yaml": f"ref: {s['web'][0]}\n",
                "prod/billing.yaml": f"ref: {s['billing'][0]}\n",
                "prod/tool.yaml": f"ref: {s['tool'][0]}\n",
            },
        )
        cfg = self.config
        git(cfg, "commit", "-q", "--amend", "--no-edit", "--reset-author", env=_env(linus, NOW - 10 * DAY))
        _promote(cfg, ada, NOW - 60 * HOUR, "promote app integration", {"int/app.yaml": f"ref: {s['app'][1]}\n"})
        _promote(cfg, grace, NOW - 40 * HOUR, "promote tool production", {"prod/tool.yaml": f"ref: {s['tool'][1]}\n"})
        _promote(cfg, ada, NOW - 20 * HOUR, "promote schemas",
                 {"pipelines/schemas.env": f"SCHEMAS_TAG={s['schemas'][2][:7]}\n"})  # fmt: skip
        _promote(cfg, grace, NOW - 10 * HOUR, "promote web", {"int/web.yaml": f"ref: {s['web'][2]}\n",
                                                              "prod/web.yaml": f"ref: {s['web'][2]}\n"})  # fmt: skip
        _promote(
            cfg, ada, NOW - 2 * HOUR, "hold billing",
            {"promotion-holds.yaml": "holds:\n  - component: billing\n    environments: [production]\n"
             "    reason: incident 42, payments failing\n    author: Ada Lovelace <ada@example.com>\n"
             "    since: '2026-03-02T08:00:00Z'\n    until: '2026-03-03T10:00:00Z'\n"},
        )  # fmt: skip
        _promote(cfg, linus, NOW - HOUR // 2, "promote web integration", {"int/web.yaml": f"ref: {s['web'][3]}\n"})
