"""The words a promotion ships with: the commit message and its trailers, the merge request's
description (targets, the changelog as markdown, who to tell, the SOP's reminders).

Text from outside (commit subjects, author names) is written literally: markdown-escaped, with
@mentions defused, so a subject cannot format or ping anything.
"""

from __future__ import annotations

import re

from promoter.model import Plan, version_key
from promoter.text import one_line, printable
from promoter.urls import without_credentials

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.upstream.changelog import Changelog

_MENTION = r"@(?=\w)"  # compiled (and cached) by re on first use
_MD_SPECIAL = r"([\\`*_\[\]<>|~#!])"


def short(value: str, n: int = 7) -> str:
    return value[:n] if len(value) == 40 else value


def commits_word(n: int) -> str:
    return f"{n} commit" if n == 1 else f"{n} commits"


def plan_summary(p: Plan) -> list[str]:
    """A line per target: `saas-production [production] data/…/saas.yaml: 4e537ab -> d6ecb27 (1 place)`."""
    return [f"{who} {where}: {what}" for who, where, what in summary_parts(p)]


def summary_parts(p: Plan) -> list[tuple[str, str, str]]:
    """Per target of `plan_summary`: (the target and its environment, where it is, what changes)."""
    parts = []
    for tc in p.targets:
        old = ", ".join(short(v) for v in tc.old_values) or "-"
        shown_new = short(tc.new_value)
        state = f"{old} -> {shown_new}" if tc.changed else f"already at {shown_new}"
        places = f"{tc.locations} place{'s' if tc.locations != 1 else ''}"
        if not tc.locations:  # an optional target that located nothing
            state, places = "skipped", "optional, nothing located"
        parts.append((f"{tc.target.name} [{tc.target.environment}]", tc.target.where, f"{state} ({places})"))
    for ch in p.changes:  # an app-interface subscriber's promotion_data, rewritten with its ref
        for e in ch.edits:
            if e.location.kind != "pin":
                loc, new = e.location, e.new.strip("'\"")
                parts.append((loc.target.name, f"{ch.file}:{loc.line}", f"{loc.kind} {loc.value} -> {new}"))
    return parts


def _from(plan: Plan) -> tuple[str, str]:
    """(shown old version, Promoted-From value) of the targets the plan changes: the old
    versions as full shas (a release tag's commit, when known)."""
    comp = plan.component
    olds = list(
        dict.fromkeys(v for tc in plan.targets if tc.changed for v in tc.old_values if not v.startswith("sha256:"))
    )
    if plan.release is not None:  # the release tags shown (their commits in the trailer)
        tags = [v for v in olds if comp.release_version(v) is not None]
        olds = tags or olds

    def key(value: str) -> str:  # one version: a sha and its short prefix, `v1.4.2` and `1.4.2`
        release = comp.release_version(value) if plan.release is not None else None
        return str(release) if release is not None else version_key(value, comp.short_length)

    shorts = {key(v): v if plan.release is not None else key(v) for v in reversed(olds)}
    shown = next(iter(shorts.values())) if len(shorts) == 1 else "several versions"
    return shown, promoted_from([plan])


def promoted_from(plans: list[Plan]) -> str:
    """The `Promoted-From:` value of the versions the plans change, in the form of `Promoted-To:`:
    each version once, as its full sha whenever the upstream (`Plan.shas`: a short sha, a release
    tag's commit) or another pin of the same commit in the files gives it, else as written; `-`
    when they changed none."""
    olds = list(
        dict.fromkeys(
            v for p in plans for tc in p.targets if tc.changed for v in tc.old_values if not v.startswith("sha256:")
        )
    )
    fulls = [v for v in olds if len(v) == 40] + [s for p in plans for s in p.shas.values()]

    def full(value: str) -> str:
        known = next((p.shas[value] for p in plans if value in p.shas), None)
        return known or next((f for f in fulls if f.startswith(value)), value)

    return ", ".join(dict.fromkeys(full(v) for v in olds)) or "-"


def shown_version(plan: Plan) -> str:
    """The version a plan promotes to, as people read it: its release tag, or its short sha."""
    return plan.release.tag if plan.release is not None else plan.component.short(plan.sha)


def commit_message(plan: Plan, summary: list[str], changelog: str | None) -> tuple[str, str]:
    """(subject, whole message) of a promotion commit."""
    comp = plan.component
    shown, was = _from(plan)
    subject = (
        f"promote {comp.name} from several versions to {shown_version(plan)}"
        if shown == "several versions"
        else f"promote {comp.name} {shown} to {shown_version(plan)}"
    )
    changed = list(dict.fromkeys(tc.target.environment for tc in plan.targets if tc.changed))
    envs = ", ".join(changed)
    if set(changed) != {t.environment for t in comp.targets}:  # not every environment: say which
        subject += f" in {envs}"
    body = "\n".join(summary)
    parts = [subject, body]
    if changelog:
        parts.append(changelog.rstrip("\n"))
    trailers = (
        f"Promoted-Component: {comp.name}\nPromoted-From: {was}\n"
        f"Promoted-To: {plan.sha}\nPromoted-Environments: {envs}" + tag_trailer(plan)
    )
    if plan.evidence is not None:  # what the trust gate verified (one line each: never text that breaks a trailer)
        trailers += "".join(f"\n{k}: {one_line(v)}" for k, v in plan.evidence.trailers())
    parts.append(trailers)
    return printable(subject), printable("\n\n".join(parts) + "\n")


def tag_trailer(plan: Plan) -> str:
    """`\nPromoted-Tag: v1.5.0 <full sha>` for a plan that promotes a release tag (what a later
    run tells a moved tag by), else nothing."""
    return f"\nPromoted-Tag: {plan.release.tag} {plan.release.sha}" if plan.release is not None else ""


def changelog_summary(cl: Changelog, short: int = 7) -> str:
    """A few lines for a commit message: how many commits, by whom, where to compare."""
    if not cl.commits:
        return "no new commits\n"
    lines = [f"{commits_word(cl.count)} from {cl.named('base', short)} to {cl.named('head', short)}"]
    names = [f"{who.person.name} ({len(who.commits)})" for who in cl.contributors]
    if names:
        lines.append("by " + ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else ""))
    if cl.compare_url:
        lines.append(cl.compare_url)
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """`text` shown literally in markdown (also in a table cell), without @mentions."""
    return re.sub(_MENTION, "@\u200b", re.sub(_MD_SPECIAL, r"\\\1", one_line(text)))


def _md_sha(cl: Changelog, sha: str, short: int) -> str:
    """A short sha in code style, linked to the commit's page when the forge is known."""
    pages = _commit_pages(cl)
    return f"[`{sha[:short]}`]({pages}{sha})" if pages else f"`{sha[:short]}`"


def _md_named(cl: Changelog, sha: str, tag: str | None, short: int) -> str:
    """A version in markdown: `v1.4.2` ([`10ac8b5`](…)) for a release tag, else the linked short sha."""
    return f"`{tag}` ({_md_sha(cl, sha, short)})" if tag else _md_sha(cl, sha, short)


def _commit_pages(cl: Changelog) -> str | None:
    """`https://host/repo/commit/` (GitHub) or `https://host/repo/-/commit/` (GitLab), from the compare URL."""
    if cl.compare_url is None:
        return None
    for sep in ("/-/compare/", "/compare/"):
        if sep in cl.compare_url:
            return cl.compare_url.split(sep, 1)[0] + sep.replace("compare", "commit")
    return None


def changelog_markdown(cl: Changelog, short: int = 7) -> str:
    """Markdown for a merge-request description: a table of the commits, the authors, cc."""
    if not cl.commits:
        return "no new commits\n"
    lines = [
        f"**{commits_word(cl.count)}** from {_md_named(cl, cl.base, cl.base_tag, short)} to "
        f"{_md_named(cl, cl.head, cl.head_tag, short)}" + (f" ([compare]({cl.compare_url}))" if cl.compare_url else ""),
        "",
        "| commit | date | author | subject |",
        "|---|---|---|---|",
    ]
    for c in cl.commits:
        merge = " _(merge)_" if c.merge else ""
        lines.append(
            f"| {_md_sha(cl, c.sha, short)} | {c.date:%Y-%m-%d} | {_md(c.author.name)} | {_md(c.subject)}{merge} |"
        )
    lines.append("")
    lines.append("**Authors**")
    lines.append("")
    for who in cl.contributors:
        handle = f" {who.handle}" if who.handle else ""
        lines.append(
            f"- {_md(who.person.name)} `{who.person.email}`{handle} — {commits_word(len(who.commits))}: "
            + ", ".join(f"`{c.sha[:short]}`" for c in who.commits)
        )
    if cl.bots_left_out:
        lines.append("")
        lines.append("Bots (left out): " + ", ".join(_md(p.name) for p in cl.bots_left_out))
    handles = list(dict.fromkeys(who.handle for who in cl.contributors if who.handle))
    if handles:
        lines.append("")
        lines.append("cc " + " ".join(handles))
    return "\n".join(lines) + "\n"


SOP_REMINDERS = (
    "- Check this merge request's validation output (the integrations' dry runs) before merging.",
    "- Newer team members: ask a teammate for a review before merging.",
    "- Promote one environment alone with `promoter promote COMPONENT --env ENV` when needed.",
)


def merge_request_description(p: Plan, changelog: Changelog | None) -> str:
    """Markdown for the merge request: targets old -> new, the changelog, who to tell, reminders."""
    comp = p.component
    web = without_credentials(comp.repo).rstrip("/")
    tag = f"`{p.release.tag}` " if p.release is not None else ""
    commit = f"[`{comp.short(p.sha)}`]({web}/commit/{p.sha})"
    lines = [
        f"Promotes **{comp.name}** to {tag + '(' + commit + ')' if tag else commit}.",
        "",
        "| environment | target | file | old | new |",
        "|---|---|---|---|---|",
    ]
    for tc in p.targets:
        if tc.changed:
            old = ", ".join(f"`{short(v, comp.short_length)}`" for v in tc.old_values)
            new = f"`{short(tc.new_value, comp.short_length)}`"
            lines.append(f"| {tc.target.environment} | {tc.target.name} | `{tc.target.where}` | {old} | {new} |")
    lines.append("")
    if changelog is not None:
        lines.append(changelog_markdown(changelog, comp.short_length).rstrip("\n"))
        lines.append("")
    if p.evidence is not None:
        e = p.evidence
        lines.append(
            f"**Trust**: the image `{e.digest}` is signed by {_md(e.signer)}"
            + ("" if e.tlog else " (no transparency log entry checked: `tlog: ignore`)")
            + "."
        )
        if e.builder and e.commit:
            lines.append(
                f"Its provenance: built by {_md(e.builder)} from `{e.commit}` of {_md(e.source or comp.repo)}."
            )
        lines.append("")
    lines.append("Before merging:")
    lines.extend(SOP_REMINDERS)
    lines.append("")
    tagged = f", Promoted-Tag: {p.release.tag}" if p.release is not None else ""
    lines.append(f"_Opened by promoter. Trailers: Promoted-Component: {comp.name}, Promoted-To: {p.sha}{tagged}._")
    return printable("\n".join(lines) + "\n")
