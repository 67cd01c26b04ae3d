"""GitLab merge requests through python-gitlab (REST API v4).

python-gitlab is imported when a `GitLab` is built, never when this module is: it costs
~220 ms of start-up and only `--push` with `merge_request.method: api` needs it.

Requests made (GitLab REST docs): `GET /projects/:url-encoded-path` (the project),
`GET /users?username=` (one per reviewer), `GET /projects/:id/merge_requests?state=opened&source_branch=`,
then `PUT /projects/:id/merge_requests/:iid` (title, description, `add_labels`, reviewer_ids) or
`POST /projects/:id/merge_requests` (source and target branch, title, description, labels,
reviewer_ids, remove_source_branch).

On update, labels are added (`add_labels`) and reviewers are the ones already there plus the
configured ones: what people set by hand survives. A draft is a title starting with "Draft: "
(the REST API has no draft field). The token is sent as `PRIVATE-TOKEN`, scrubbed from every
message and kept out of `repr`. 5xx answers and connection errors are retried a bounded number of
times; 401/403/404 are `ExternalError` (exit 4), other 4xx (validation, conflict) `Refused` (exit 3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from promoter.errors import ExternalError, PromoterError, Refused
from promoter.ship.forge import MergeRequest, Opened
from promoter.urls import redact

if TYPE_CHECKING:
    from gitlab.v4.objects import Project

TIMEOUT = 10.0
RETRIES = 2  # after the first attempt: python-gitlab waits 0.1 s, then 0.2 s
DRAFT_PREFIX = "Draft: "
_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|\[wip\]|wip:)\s*", re.IGNORECASE)

T = TypeVar("T")


class GitLab:
    """One GitLab project's merge requests (`open_or_update`)."""

    def __init__(self, project: str, token: str, api_url: str, *, timeout: float = TIMEOUT) -> None:
        import gitlab

        self.project_path = project
        self.api_url = api_url.rstrip("/")
        base = self.api_url[: -len("/api/v4")] if self.api_url.endswith("/api/v4") else self.api_url
        self._token = token
        self._gl = gitlab.Gitlab(
            base, private_token=token, timeout=timeout, retry_transient_errors=True, user_agent="promoter"
        )

    def __repr__(self) -> str:
        return f"GitLab({self.project_path} at {self.api_url})"

    # -- the workflow ----------------------------------------------------------------------------
    def open_or_update(self, mr: MergeRequest) -> Opened:
        project = self._api(
            f"GET project {self.project_path}", lambda: self._gl.projects.get(self.project_path, max_retries=RETRIES)
        )
        reviewer_ids = [self._user_id(name) for name in mr.reviewers]
        title = _title(mr)
        existing = self._find(project, mr.source_branch)
        created = existing is None
        data: dict[str, Any]
        if existing is None:
            data = {
                "source_branch": mr.source_branch,
                "target_branch": mr.target_branch,
                "title": title,
                "description": mr.description,
                "remove_source_branch": mr.remove_source_branch,
            }
            if mr.labels:
                data["labels"] = list(mr.labels)
            if reviewer_ids:
                data["reviewer_ids"] = reviewer_ids
            try:
                done = self._api(
                    "create merge request",
                    lambda: project.mergerequests.create(data, max_retries=RETRIES).asdict(),
                )
            except Refused as e:
                # a create retried after a 5xx may have gone through the first time (409)
                if "already exists" not in str(e):
                    raise
                existing = self._find(project, mr.source_branch)
                if existing is None:
                    raise
                # none was open before our create: it is ours (updated to be sure), so created stays True
        if existing is not None:
            iid = _int(existing.get("iid"), "iid")
            data = {"title": title, "description": mr.description}
            if mr.labels:
                data["add_labels"] = list(mr.labels)
            if reviewer_ids:
                had = [r["id"] for r in existing.get("reviewers") or [] if isinstance(r, dict) and "id" in r]
                data["reviewer_ids"] = list(dict.fromkeys([*had, *reviewer_ids]))
            done = self._api(
                f"update merge request !{iid}",
                lambda: project.mergerequests.update(iid, data, max_retries=RETRIES),
            )
        url = done.get("web_url")
        if not isinstance(url, str):
            raise ExternalError("GitLab answered a merge request without its web_url")
        return Opened(url=url, number=_int(done.get("iid"), "iid"), created=created)

    def _find(self, project: Project, branch: str) -> dict[str, Any] | None:
        found = self._api(
            "list merge requests",
            lambda: project.mergerequests.list(
                state="opened", source_branch=branch, get_all=False, max_retries=RETRIES
            ),
        )
        for mr in found:
            attrs = mr.asdict()
            if attrs.get("source_branch") == branch:  # the filter is the server's; check it
                return attrs
        return None

    def _user_id(self, username: str) -> int:
        name = username.removeprefix("@")
        users = self._api(
            f"look up user {name}", lambda: self._gl.users.list(username=name, get_all=False, max_retries=RETRIES)
        )
        for user in users:
            attrs = user.asdict()
            if str(attrs.get("username", "")).lower() == name.lower():
                return _int(attrs.get("id"), "user id")
        raise Refused(f"GitLab has no user {name!r} (merge_request.reviewers)")

    # -- errors ----------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return redact(text)

    def _api(self, what: str, call: Callable[[], T]) -> T:
        """`call()`, with python-gitlab's and the network's exceptions turned into ours."""
        import gitlab.exceptions

        failure: PromoterError
        try:
            return call()
        except gitlab.exceptions.GitlabError as e:
            code = e.response_code
            # python-gitlab keeps GitLab's `message` as it came: a string, a list or a mapping
            message = _flatten(e.error_message)
            if code is not None and message.startswith(f"{code} "):
                message = message[len(str(code)) + 1 :]  # GitLab's own messages start with the code
            text = self._scrub(f"GitLab {what}: {code or 'error'} {message}".rstrip())
            if code == 401:
                failure = ExternalError(f"{text} (check GITLAB_TOKEN)")
            elif code is not None and 400 <= code < 500 and code not in (403, 404, 429):
                failure = Refused(text)
            else:
                failure = ExternalError(text)
        except OSError as e:  # requests' ConnectionError and Timeout are OSErrors
            failure = ExternalError(self._scrub(f"GitLab {what}: cannot reach {self.api_url}: {type(e).__name__}"))
        raise failure


def _title(mr: MergeRequest) -> str:
    title = _DRAFT.sub("", mr.title) if mr.draft else mr.title
    return f"{DRAFT_PREFIX}{title}" if mr.draft else title


def _int(value: object, what: str) -> int:
    if not isinstance(value, int):
        raise ExternalError(f"GitLab answered without a numeric {what}")
    return value


def _flatten(message: object) -> str:
    """GitLab's `message` can be a string, a list, or a field -> [errors] mapping."""
    if isinstance(message, dict):
        return "; ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items())
    if isinstance(message, list):
        return "; ".join(map(str, message))
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return str(message)
