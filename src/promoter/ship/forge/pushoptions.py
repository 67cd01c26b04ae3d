"""GitLab merge requests through `git push -o` (push options): no token, no API client.

GitLab reads `merge_request.*` push options (GitLab docs, "Push options for merge requests"):
`create`, `target`, `title`, `description`, `label` (repeatable), `remove_source_branch`,
`draft`, ... Their limits shape what this module produces:

- git refuses a push option containing a newline, so the title's line breaks become spaces and
  the description is cut to its first non-empty line, with a note that the full description
  needs the API method (`merge_request.method: api`);
- an option travels in one pkt-line, so each one is kept under 64 KiB (longer values are cut at
  a character boundary, ending in "…");
- GitLab trims values and keeps quotes verbatim: the options are argv items for `git push -o`,
  never shell-quoted;
- reviewers cannot be set by push options (GitLab has `merge_request.assign` for assignees,
  nothing for reviewers): `MergeRequest.reviewers` is ignored here; the API method sets them.
"""

from __future__ import annotations

import re

from promoter.ship.forge import MergeRequest

MAX_OPTION_BYTES = 64_000  # under 64 KiB, the pkt-line payload limit being 65,516 bytes
DESCRIPTION_NOTE = " (full description: use merge_request.method: api)"

_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+\s*")


def one_line(text: str) -> str:
    """`text` with every line break (and the blanks around it) replaced by one space; no NUL."""
    return _LINE_BREAKS.sub(" ", text.replace("\0", "")).strip()


def first_line(text: str) -> tuple[str, bool]:
    """The first non-empty line of `text` (stripped), and whether anything else was dropped."""
    lines = [line.strip() for line in text.replace("\0", "").splitlines()]
    kept = [line for line in lines if line]
    if not kept:
        return "", False
    return kept[0], len(kept) > 1


def _option(key: str, value: str | None = None, *, suffix: str = "") -> str:
    """`key=value<suffix>` (or bare `key`), the value cut so the whole stays under the limit."""
    if value is None:
        return key
    head = f"{key}="
    budget = MAX_OPTION_BYTES - len(head.encode("utf-8")) - len(suffix.encode("utf-8"))
    raw = value.encode("utf-8")
    if len(raw) > budget:
        ellipsis = "…"
        value = raw[: budget - len(ellipsis.encode("utf-8"))].decode("utf-8", "ignore").rstrip() + ellipsis
    return f"{head}{value}{suffix}"


def push_options(mr: MergeRequest) -> list[str]:
    """The `git push -o` values that make GitLab open (or update) the merge request `mr`."""
    options = [_option("merge_request.create")]
    target = one_line(mr.target_branch)
    if target:
        options.append(_option("merge_request.target", target))
    title = one_line(mr.title)
    if title:
        options.append(_option("merge_request.title", title))
    description, cut = first_line(mr.description)
    if description:
        options.append(_option("merge_request.description", description, suffix=DESCRIPTION_NOTE if cut else ""))
    for label in mr.labels:
        value = one_line(label)
        if value:
            options.append(_option("merge_request.label", value))
    if mr.remove_source_branch:
        options.append(_option("merge_request.remove_source_branch"))
    if mr.draft:
        options.append(_option("merge_request.draft"))
    return options
