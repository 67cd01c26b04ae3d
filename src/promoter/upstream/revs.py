"""What a revision the user names may look like, before git ever sees it."""

from __future__ import annotations

import re

from promoter.errors import UsageError

FULL_SHA = re.compile(r"[0-9a-f]{40}")
_REFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*")


def validate_rev(rev: str) -> str:
    """A REV as the user gave it, refused when it is not a plain sha, branch or tag name."""
    if not _REFNAME.fullmatch(rev) or ".." in rev or rev.endswith((".lock", "/", ".")) or "//" in rev:
        raise UsageError(f"'{rev}' is not a commit sha, branch or tag name")
    return rev
