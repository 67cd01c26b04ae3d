"""The one shape of every JSON document promoter prints (the README's "JSON output").

Every document is an object with `schema_version` (SCHEMA_VERSION) and `kind` (the command, or
`error`); a version is always `{"value": as in the file, "sha": the full sha when known, else
null}`; the same names mean the same things everywhere: `component`, `target` (a target's
name), `targets` (a list of objects, each with its `target`), `environment`, `file`, `line`
(1-based), `old` and `new` (versions, or lists of versions).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1
ERROR_KINDS = ("usage", "config", "refused", "external", "bug", "interrupted")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")

Version = dict[str, str | None]


def version(value: str, sha: str | None = None) -> Version:
    """A version as written in the file, and its full sha when known (a full sha is its own)."""
    return {"value": value, "sha": value if _FULL_SHA.fullmatch(value) else sha}


def document(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` as a document of `kind`: schema_version and kind first."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **body}


def dumps(doc: dict[str, Any]) -> str:
    import json  # only for -o json

    return json.dumps(doc, indent=2) + "\n"


def error_json(kind: str, message: str) -> str:
    """What a command asked for `-o json` prints on stdout when it fails (the exit code and the
    message on stderr say it too): `{"kind": "error", "error": {"kind": ..., "message": ...}}`."""
    assert kind in ERROR_KINDS, kind
    return dumps(document("error", {"error": {"kind": kind, "message": message}}))


__all__ = ["ERROR_KINDS", "SCHEMA_VERSION", "Version", "document", "dumps", "error_json", "version"]
