"""GitHub pull requests through the REST API, over `promoter.http`.

Endpoints (GitHub REST docs, API version 2022-11-28):
`GET /repos/{o}/{r}/pulls?head={o}:{branch}&state=open` (and `state=closed`: those closed without
a `merged_at`), `POST /repos/{o}/{r}/pulls`,
`PATCH /repos/{o}/{r}/pulls/{n}`, `POST /repos/{o}/{r}/issues/{n}/labels`,
`POST /repos/{o}/{r}/pulls/{n}/requested_reviewers`.

The open pull request to update is one whose `head.ref` is the branch and whose
`head.repo.full_name` is this repository, checked on every candidate the list returns: a server
that ignores `?head=` (or a fork's pull request from a same-named branch) never gets another
person's pull request overwritten.

Labels and reviewers are added, never removed (both endpoints add to what is there), so labels
or reviewers people put on the pull request by hand survive an update. `remove_source_branch`
has no per-pull-request switch on GitHub (it is the repository's "automatically delete head
branches" setting) and the draft state of an existing pull request is left as it is (REST cannot
change it).

Errors: 401/403/404 and network failures are `ExternalError` (exit 4), 422 (validation) is
`Refused` (exit 3), each with GitHub's message. 5xx answers and network failures are retried a
bounded number of times with back-off; rate limits (429, or 403 with `retry-after` or
`x-ratelimit-remaining: 0`) are waited out as `retry-after` or `x-ratelimit-reset` says, unless
that is longer than MAX_RATE_LIMIT_WAIT: then the run ends (exit 4) saying so. Redirects (a
renamed repository) are followed; the token goes to the API's own origin only, and never over
plain http but to loopback or a PROMOTER_INSECURE_FORGES host. The token is sent only in the
Authorization header; it is scrubbed from every message and kept out of `repr`. An answer of an
unexpected shape (a list for an object, a string number, not JSON) is an `ExternalError` naming
the request, never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import quote

from promoter.errors import ExternalError, PromoterError, Refused
from promoter.http import Cutoff, Http, HttpError, Response, Retrying, WaitTooLong
from promoter.http import retry_after as parse_retry_after
from promoter.ship.forge import MergeRequest, Opened, OpenRequest, Secret, require_secure_api
from promoter.urls import redact

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

MAX_PAGES = 20  # 2,000 open pull requests at the most
API_VERSION = "2022-11-28"
TIMEOUT = 10.0
DEADLINE = 120.0  # seconds one API call may take with its retries
MAX_RATE_LIMIT_WAIT = 30.0  # a longer wait asked by a rate limit ends the run instead (exit 4)
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the 2nd attempt, doubled for each further one


class GitHub:
    """One GitHub repository's pull requests (`open_or_update`)."""

    def __init__(
        self,
        owner: str,
        repo: str,
        token: str,
        api_url: str = "https://api.github.com",
        *,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.owner = owner
        self.repo = repo
        self.api_url = api_url.rstrip("/")
        require_secure_api("github", self.api_url)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._token = Secret(token)
        self._http = Http(
            timeout=timeout,
            deadline=DEADLINE,
            retry=Retrying(
                attempts=self.attempts, backoff=backoff, max_wait=MAX_RATE_LIMIT_WAIT, rate_limit=_rate_limit_wait
            ),
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"GitHub({self.owner}/{self.repo} at {self.api_url})"

    # -- the workflow ----------------------------------------------------------------------------
    def open_or_update(self, mr: MergeRequest) -> Opened:
        repo = f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"
        existing = self._find(repo, mr.source_branch)
        created = existing is None
        if existing is None:
            body = {
                "title": mr.title,
                "head": mr.source_branch,
                "base": mr.target_branch,
                "body": mr.description,
                "draft": mr.draft,
            }
            try:
                pull = _object(self._call("POST", f"{repo}/pulls", body=body), "POST pulls")
            except Refused as e:
                # a create retried after a 5xx may have gone through the first time
                if "already exists" not in str(e):
                    raise
                existing = self._find(repo, mr.source_branch)
                if existing is None:
                    raise
                # none was open before our create: it is ours (updated to be sure), so created stays True
        if existing is not None:
            number = _number(existing)
            pull = _object(
                self._call("PATCH", f"{repo}/pulls/{number}", body={"title": mr.title, "body": mr.description}),
                f"PATCH pulls/{number}",
            )
        number = _number(pull)
        if mr.labels:
            self._call("POST", f"{repo}/issues/{number}/labels", body={"labels": list(mr.labels)})
        if mr.reviewers:
            self._call("POST", f"{repo}/pulls/{number}/requested_reviewers", body={"reviewers": list(mr.reviewers)})
        url = pull.get("html_url")
        if not isinstance(url, str):
            raise ExternalError(f"GitHub answered pull request #{number} without its html_url")
        return Opened(url=url, number=number, created=created)

    def commit_statuses(self, sha: str) -> dict[str, str]:
        """Commit `sha`'s combined statuses (by context) and check runs (by name): "success" when
        it succeeded, else its state ("pending", "failure", "error") or conclusion."""
        repo = f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"
        states: dict[str, str] = {}
        combined = _object(self._call("GET", f"{repo}/commits/{quote(sha, safe='')}/status"), "combined status")
        for status in combined.get("statuses") or []:
            if isinstance(status, dict) and isinstance(status.get("context"), str):
                states.setdefault(status["context"], str(status.get("state") or "pending"))
        runs = _object(self._call("GET", f"{repo}/commits/{quote(sha, safe='')}/check-runs"), "check runs")
        for run in runs.get("check_runs") or []:
            if isinstance(run, dict) and isinstance(run.get("name"), str):
                done = run.get("status") == "completed"
                states.setdefault(run["name"], str(run.get("conclusion") or "pending") if done else "pending")
        return states

    def open_requests(self) -> list[OpenRequest]:
        """Open pull requests from this repository's own branches (forks left out), 100 a page."""
        repo = f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"
        full_name = f"{self.owner}/{self.repo}".lower()
        out: list[OpenRequest] = []
        for page in range(1, MAX_PAGES + 1):
            pulls = self._call("GET", f"{repo}/pulls", query={"state": "open", "per_page": "100", "page": str(page)})
            if not isinstance(pulls, list):
                raise ExternalError("GitHub answered the pull request list with something else than a list")
            for item in pulls:
                pull = _object(item, "GET pulls")
                head: dict[str, Any] = pull["head"] if isinstance(pull.get("head"), dict) else {}
                head_repo = head.get("repo")
                name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
                if pull.get("state") != "open" or not isinstance(name, str) or name.lower() != full_name:
                    continue
                ref, url, body = head.get("ref"), pull.get("html_url"), pull.get("body")
                if isinstance(ref, str) and isinstance(url, str):
                    out.append(OpenRequest(_number(pull), url, ref, body if isinstance(body, str) else ""))
            if len(pulls) < 100:
                break
        return out

    def closed_requests(self, source_branch: str) -> list[OpenRequest]:
        """Pull requests from `source_branch` of this very repository that were closed without
        being merged (`state: closed` and no `merged_at`), the newest 100; each checked here."""
        repo = f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"
        query = {"head": f"{self.owner}:{source_branch}", "state": "closed", "per_page": "100"}
        pulls = self._call("GET", f"{repo}/pulls", query=query)
        if not isinstance(pulls, list):
            raise ExternalError("GitHub answered the pull request list with something else than a list")
        full_name = f"{self.owner}/{self.repo}".lower()
        out: list[OpenRequest] = []
        for item in pulls:
            pull = _object(item, "GET pulls")
            head: dict[str, Any] = pull["head"] if isinstance(pull.get("head"), dict) else {}
            head_repo = head.get("repo")
            name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
            url, body = pull.get("html_url"), pull.get("body")
            if (
                pull.get("state") == "closed"
                and pull.get("merged_at") is None
                and head.get("ref") == source_branch
                and isinstance(name, str)
                and name.lower() == full_name
                and isinstance(url, str)
            ):
                out.append(OpenRequest(_number(pull), url, source_branch, body if isinstance(body, str) else ""))
        return out

    def close(self, number: int, comment: str, description: str | None = None) -> None:
        repo = f"/repos/{quote(self.owner, safe='')}/{quote(self.repo, safe='')}"
        self._call("POST", f"{repo}/issues/{number}/comments", body={"body": comment})
        body = {"state": "closed"} if description is None else {"state": "closed", "body": description}
        self._call("PATCH", f"{repo}/pulls/{number}", body=body)

    def _find(self, repo: str, branch: str) -> dict[str, Any] | None:
        """The open pull request from `branch` of this very repository; the list's `head` filter
        is the server's, so each candidate is checked here."""
        pulls = self._call("GET", f"{repo}/pulls", query={"head": f"{self.owner}:{branch}", "state": "open"})
        if not isinstance(pulls, list):
            raise ExternalError("GitHub answered the pull request list with something else than a list")
        full_name = f"{self.owner}/{self.repo}".lower()
        for item in pulls:
            pull = _object(item, "GET pulls")
            head = pull.get("head")
            head_repo = head.get("repo") if isinstance(head, dict) else None
            if (
                isinstance(head, dict)
                and head.get("ref") == branch
                and isinstance(head_repo, dict)
                and str(head_repo.get("full_name", "")).lower() == full_name
                and pull.get("state", "open") == "open"
            ):
                return pull
        return None

    # -- HTTP ------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        token = self._token.value
        if token:
            text = text.replace(token, "***")
        return redact(text)

    def _call(self, method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {self._token.value}",
        }
        what = f"GitHub {method} {path}"
        failure: PromoterError | None = None
        try:
            resp = self._http.request(method, f"{self.api_url}{path}", headers=headers, params=query, json=body)
        except WaitTooLong as e:
            said = self._error(what, e.response.status, e.response.body)
            failure = ExternalError(f"{said} (rate limited; GitHub asks to wait {e.wait:.0f} s: try again later)")
        except Cutoff as e:
            failure = ExternalError(
                self._scrub(f"{what}: the answer from {self.api_url} was cut off ({e.received} bytes came)")
            )
        except HttpError as e:
            failure = ExternalError(self._scrub(f"{what}: cannot reach {self.api_url}: {e.detail}"))
        if failure is not None:
            raise failure
        if 200 <= resp.status < 300:
            return _json(resp.body) if resp.body.strip() else None
        raise self._error(what, resp.status, resp.body)

    def _error(self, what: str, status: int, payload: bytes) -> PromoterError:
        message = _message(payload)
        text = self._scrub(f"{what}: {status} {message}".rstrip())
        if status == 422:
            return Refused(text)
        if status == 401:
            return ExternalError(f"{text} (check GITHUB_TOKEN)")
        return ExternalError(text)


def _rate_limit_wait(resp: Response) -> float | None:
    """Seconds to wait before retrying a rate-limited request, or None when it was not one.

    GitHub answers 429, or 403 with `retry-after` or `x-ratelimit-remaining: 0`, when a primary
    or secondary rate limit is hit; `retry-after` (promoter.http reads it first, as seconds or a
    date) or `x-ratelimit-reset` (epoch seconds) says when to come back, else wait at least a
    minute (GitHub's REST API docs)."""
    if resp.status not in (403, 429):
        return None
    retry_after = resp.headers.get("retry-after")
    remaining = resp.headers.get("x-ratelimit-remaining")
    if resp.status == 403 and retry_after is None and remaining != "0":
        return None  # a plain permission error
    if retry_after is not None and parse_retry_after(retry_after) is None and remaining != "0":
        return None  # negative or malformed: a 429 is retried after the back-off, a 403 not at all
    reset = resp.headers.get("x-ratelimit-reset")
    if remaining == "0" and reset is not None:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return 60.0


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise ExternalError("GitHub answered with something else than JSON") from None


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a string", type(None): "null"}.get(type(value), "a scalar")
        raise ExternalError(f"GitHub {what}: answered {kind} where an object was expected")
    return value


def _number(pull: dict[str, Any]) -> int:
    number = pull.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise ExternalError("GitHub answered a pull request without its number")
    return number


def _message(payload: bytes) -> str:
    """GitHub's error text: `message`, then each validation error's message (or field + code)."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace").strip()[:500]
    if not isinstance(doc, dict):
        return str(doc)[:500]
    parts = [str(doc.get("message", "")).strip()]
    errors = doc.get("errors")
    details: list[str] = []
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, dict):
                if err.get("message"):
                    details.append(str(err["message"]))
                else:
                    details.append(" ".join(str(err[k]) for k in ("resource", "field", "code") if err.get(k)))
            else:
                details.append(str(err))
    if details:
        parts.append("; ".join(d for d in details if d))
    return ": ".join(p for p in parts if p)
