"""GitLab merge requests through the REST API v4, over `promoter.http` (as github.py is).

Requests made (GitLab REST docs): `GET /projects/:url-encoded-path` (the project),
`GET /users?username=` (one per reviewer), `GET /projects/:id/merge_requests?state=opened&source_branch=`
(and `state=closed` for the closed ones of a branch),
then `PUT /projects/:id/merge_requests/:iid` (title, description, `add_labels`, reviewer_ids) or
`POST /projects/:id/merge_requests` (source and target branch, title, description, labels,
reviewer_ids, remove_source_branch).

The open merge request to update is one whose `source_branch` is the branch and whose
`source_project_id` is the project's own id, checked on every candidate the list returns: a
server that ignores the filter (or a fork's merge request of a same-named branch) never gets
another person's merge request overwritten. On update, labels are added (`add_labels`) and
reviewers are the ones already there plus the configured ones: what people set by hand survives.
A draft is a title starting with "Draft: " (the REST API has no draft field).

The token is sent as `PRIVATE-TOKEN` (kept on the API's origin across redirects, never over
plain http but to loopback or a PROMOTER_INSECURE_FORGES host), scrubbed from every message and
kept out of `repr`. 5xx answers, cut-off answers and network failures are retried a bounded
number of times with back-off; a 429 waits what `Retry-After` (seconds or an HTTP date) or
`RateLimit-Reset` says, unless that is longer than MAX_RATE_LIMIT_WAIT: then the run ends (exit 4)
saying so. 401/403/404 are `ExternalError` (exit 4), other 4xx (validation, conflict) `Refused`
(exit 3). An answer of an unexpected shape (a list for an object, a string id, not JSON) is an
`ExternalError` naming the request, never a traceback.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from urllib.parse import quote

from promoter.errors import ExternalError, PromoterError, Refused
from promoter.http import Cutoff, Http, HttpError, Response, Retrying, TooLarge, WaitTooLong
from promoter.ship.forge import MergeRequest, Opened, OpenRequest, Secret, require_secure_api
from promoter.urls import redact

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

MAX_PAGES = 20  # 2,000 open merge requests at the most
TIMEOUT = 10.0
DEADLINE = 120.0  # seconds one API call may take with its retries
MAX_RATE_LIMIT_WAIT = 30.0  # a longer wait asked by a rate limit ends the run instead (exit 4)
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt, doubled for each further one
DRAFT_PREFIX = "Draft: "
_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|\[wip\]|wip:)\s*", re.IGNORECASE)


class GitLab:
    """One GitLab project's merge requests (`open_or_update`)."""

    def __init__(
        self,
        project: str,
        token: str,
        api_url: str,
        *,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.project_path = project
        self.api_url = api_url.rstrip("/")
        require_secure_api("gitlab", self.api_url)
        self._token = Secret(token)
        self._pid: int | None = None
        self._http = Http(
            timeout=timeout,
            deadline=DEADLINE,
            retry=Retrying(
                attempts=max(1, attempts), backoff=backoff, max_wait=MAX_RATE_LIMIT_WAIT, rate_limit=_rate_limit_wait
            ),
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"GitLab({self.project_path} at {self.api_url})"

    # -- the workflow ----------------------------------------------------------------------------
    def open_or_update(self, mr: MergeRequest) -> Opened:
        pid = self._project_id()
        reviewer_ids = [self._user_id(name) for name in mr.reviewers]
        title = _title(mr)
        existing = self._find(pid, mr.source_branch)
        created = existing is None
        data: dict[str, Any]
        done: Any = None
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
            what = "create merge request"
            try:
                done = _object(self._call("POST", f"/projects/{pid}/merge_requests", what, body=data), what)
            except Refused as e:
                # a create retried after a 5xx may have gone through the first time (409)
                if "already exists" not in str(e):
                    raise
                existing = self._find(pid, mr.source_branch)
                if existing is None:
                    raise
                # none was open before our create: it is ours (updated to be sure), so created stays True
        if existing is not None:
            iid = _int(existing.get("iid"), "list merge requests", "iid")
            data = {"title": title, "description": mr.description}
            if mr.labels:
                data["add_labels"] = list(mr.labels)
            if reviewer_ids:
                had = [_int(r.get("id"), "list merge requests", "reviewer id") for r in _reviewers(existing)]
                data["reviewer_ids"] = list(dict.fromkeys([*had, *reviewer_ids]))
            what = f"update merge request !{iid}"
            done = _object(self._call("PUT", f"/projects/{pid}/merge_requests/{iid}", what, body=data), what)
        url = done.get("web_url")
        if not isinstance(url, str):
            raise ExternalError("GitLab answered a merge request without its web_url")
        return Opened(url=url, number=_int(done.get("iid"), "merge request", "iid"), created=created)

    def commit_statuses(self, sha: str) -> dict[str, str]:
        """Commit `sha`'s statuses (pipelines' jobs and external ones), by name: "success", "pending",
        "running", "failed"... (the newest of each name)."""
        what = f"GET statuses of {sha[:12]}"
        path = f"/projects/{quote(self.project_path, safe='')}/repository/commits/{quote(sha, safe='')}/statuses"
        found = self._call("GET", path, what, query={"all": "true", "per_page": "100"})
        if not isinstance(found, list):
            raise ExternalError(f"GitLab {what}: answered something else than a list")
        states: dict[str, str] = {}
        for status in found:  # newest first, as GitLab lists them
            if isinstance(status, dict) and isinstance(status.get("name"), str):
                states.setdefault(status["name"], str(status.get("status") or "pending"))
        return states

    def _project_id(self) -> int:
        """The project's numeric id, asked once per client (a reconcile run asks for it again and
        again: listing, closing, opening)."""
        if self._pid is None:
            what = f"GET project {self.project_path}"
            project = _object(self._call("GET", f"/projects/{quote(self.project_path, safe='')}", what), what)
            self._pid = _int(project.get("id"), what, "id")
        return self._pid

    def open_requests(self) -> list[OpenRequest]:
        """Open merge requests from this project's own branches (forks left out), 100 a page."""
        pid = self._project_id()
        out: list[OpenRequest] = []
        for page in range(1, MAX_PAGES + 1):
            what = "list merge requests"
            found = self._call(
                "GET",
                f"/projects/{pid}/merge_requests",
                what,
                query={"state": "opened", "per_page": "100", "page": str(page)},
            )
            if not isinstance(found, list):
                raise ExternalError(f"GitLab {what}: answered something else than a list")
            for item in found:
                mr = _object(item, what)
                ref, url, body = mr.get("source_branch"), mr.get("web_url"), mr.get("description")
                if mr.get("state") != "opened" or mr.get("source_project_id") != pid:
                    continue
                if isinstance(ref, str) and isinstance(url, str):
                    iid = _int(mr.get("iid"), what, "iid")
                    out.append(OpenRequest(iid, url, ref, body if isinstance(body, str) else ""))
            if len(found) < 100:
                break
        return out

    def closed_requests(self, source_branch: str) -> list[OpenRequest]:
        """Merge requests from `source_branch` of this very project that were closed without being
        merged (GitLab's `closed` state; `merged` is another), the newest 100; each checked here."""
        pid = self._project_id()
        what = "list closed merge requests"
        found = self._call(
            "GET",
            f"/projects/{pid}/merge_requests",
            what,
            query={"state": "closed", "source_branch": source_branch, "per_page": "100"},
        )
        if not isinstance(found, list):
            raise ExternalError(f"GitLab {what}: answered {_kind(found)} where a list was expected")
        out: list[OpenRequest] = []
        for item in found:
            mr = _object(item, what)
            url, body = mr.get("web_url"), mr.get("description")
            if (
                mr.get("state") == "closed"
                and mr.get("source_branch") == source_branch
                and mr.get("source_project_id") == pid
                and isinstance(url, str)
            ):
                out.append(
                    OpenRequest(
                        _int(mr.get("iid"), what, "iid"), url, source_branch, body if isinstance(body, str) else ""
                    )
                )
        return out

    def close(self, number: int, comment: str, description: str | None = None) -> None:
        pid = self._project_id()
        self._call(
            "POST", f"/projects/{pid}/merge_requests/{number}/notes", f"comment on !{number}", body={"body": comment}
        )
        body = {"state_event": "close"} if description is None else {"state_event": "close", "description": description}
        self._call("PUT", f"/projects/{pid}/merge_requests/{number}", f"close !{number}", body=body)

    def _find(self, pid: int, branch: str) -> dict[str, Any] | None:
        """The open merge request from `branch` of this very project; the list's filter is the
        server's, so each candidate is checked here."""
        what = "list merge requests"
        found = self._call(
            "GET", f"/projects/{pid}/merge_requests", what, query={"state": "opened", "source_branch": branch}
        )
        if not isinstance(found, list):
            raise ExternalError(f"GitLab {what}: answered {_kind(found)} where a list was expected")
        for item in found:
            mr = _object(item, what)
            if mr.get("source_branch") == branch and mr.get("source_project_id") == pid and mr.get("state") == "opened":
                return mr
        return None

    def _user_id(self, username: str) -> int:
        name = username.removeprefix("@")
        what = f"look up user {name}"
        users = self._call("GET", "/users", what, query={"username": name})
        if not isinstance(users, list):
            raise ExternalError(f"GitLab {what}: answered {_kind(users)} where a list was expected")
        for item in users:
            user = _object(item, what)
            if str(user.get("username", "")).lower() == name.lower():
                return _int(user.get("id"), what, "id")
        raise Refused(f"GitLab has no user {name!r} (merge_request.reviewers)")

    # -- HTTP ------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        token = self._token.value
        if token:
            text = text.replace(token, "***")
        return redact(text)

    def _call(self, method: str, path: str, what: str, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
        """One API call: the parsed JSON of a 2xx answer; every failure as our exception."""
        headers = {"Accept": "application/json", "PRIVATE-TOKEN": self._token.value}
        failure: PromoterError | None = None
        try:
            resp = self._http.request(method, f"{self.api_url}{path}", headers=headers, params=query, json=body)
        except WaitTooLong as e:
            said = self._error(what, e.response)
            failure = ExternalError(f"{said} (rate limited; GitLab asks to wait {e.wait:.0f} s: try again later)")
        except Cutoff as e:
            failure = ExternalError(
                self._scrub(f"GitLab {what}: the answer from {self.api_url} was cut off ({e.received} bytes came)")
            )
        except TooLarge as e:
            failure = ExternalError(self._scrub(f"GitLab {what}: {self.api_url}: {e.detail}"))
        except HttpError as e:
            failure = ExternalError(self._scrub(f"GitLab {what}: cannot reach {self.api_url}: {e.detail}"))
        if failure is not None:
            raise failure
        if 200 <= resp.status < 300:
            try:
                return json.loads(resp.body)
            except (ValueError, UnicodeDecodeError):
                raise ExternalError(f"GitLab {what}: answered {resp.status} with something else than JSON") from None
        raise self._error(what, resp)

    def _error(self, what: str, resp: Response) -> PromoterError:
        code = resp.status
        message = _message(resp.body)
        if message.startswith(f"{code} "):
            message = message[len(str(code)) + 1 :]  # GitLab's own messages start with the code
        text = self._scrub(f"GitLab {what}: {code} {message or resp.reason}".rstrip())
        if code == 401:
            return ExternalError(f"{text} (check GITLAB_TOKEN)")
        if 400 <= code < 500 and code not in (403, 404, 429):
            return Refused(text)
        return ExternalError(text)


def _rate_limit_wait(resp: Response) -> float | None:
    """Seconds to wait before retrying a 429 without a (valid) Retry-After: GitLab's
    `RateLimit-Reset` (epoch seconds) when it sends one; None otherwise (the back-off)."""
    if resp.status != 429:
        return None
    reset = resp.headers.get("ratelimit-reset")
    if reset is None:
        return None
    try:
        return max(0.0, float(reset) - time.time())
    except ValueError:
        return None


def _title(mr: MergeRequest) -> str:
    title = _DRAFT.sub("", mr.title) if mr.draft else mr.title
    return f"{DRAFT_PREFIX}{title}" if mr.draft else title


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExternalError(f"GitLab {what}: answered {_kind(value)} where an object was expected")
    return value


def _int(value: object, what: str, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExternalError(f"GitLab {what}: answered without a numeric {field} ({_kind(value)})")
    return value


def _reviewers(mr: dict[str, Any]) -> list[dict[str, Any]]:
    reviewers = mr.get("reviewers") or []
    if not isinstance(reviewers, list):
        raise ExternalError(f"GitLab list merge requests: answered reviewers as {_kind(reviewers)}")
    return [_object(r, "list merge requests") for r in reviewers]


def _message(payload: bytes) -> str:
    """GitLab's error text: its `message` (a string, a list, or a field -> [errors] mapping), else
    its `error`, else the body's text."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace").strip()[:500]
    if isinstance(doc, dict):
        for key in ("message", "error"):
            if key in doc:
                return _flatten(doc[key])[:500]
    return _flatten(doc)[:500]


def _flatten(message: object) -> str:
    if isinstance(message, dict):
        return "; ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items())
    if isinstance(message, list):
        return "; ".join(map(str, message))
    return str(message)
