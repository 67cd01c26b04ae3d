"""Contract fakes of the GitLab and GitHub REST APIs, for tests/test_forge.py.

GitLab and GitHub cannot run here (no network, no forge server), so these are local HTTP
servers on 127.0.0.1 that implement exactly the endpoints promoter uses, as their public API
documentation describes them (status codes, field names, error bodies). They check the
credentials, keep state (a second request sees the merge request the first one opened) and
record every request (method, raw path, query, JSON body, headers) for the tests to assert.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str  # raw, percent-encoding kept
    query: dict[str, list[str]]
    body: Any  # parsed JSON, or None
    headers: dict[str, str]  # lower-case names
    raw_query: str = ""

    @property
    def line(self) -> str:
        """`METHOD /path?query` as sent, for compact assertions."""
        return f"{self.method} {self.path}" + (f"?{self.raw_query}" if self.raw_query else "")


@dataclass
class Reply:
    status: int
    body: Any  # sent as JSON; bytes are sent as they are (text/html)
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1; subclasses route requests in `handle`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.fail_next: list[Reply] = []  # canned answers for the next requests (e.g. a 502)
        self.truncate_next = 0  # this many next answers stop half-way and close the connection
        self.lose_reply: dict[str, list[Reply]] = {}  # per method: carry the request out, answer this instead
        self.delay_next: list[float] = []  # seconds to stall the next requests before answering
        self.echo_auth = False  # error messages quote the Authorization header (a hostile API)
        self.ignores_list_filters = False  # a misbehaving server: list endpoints return everything, unfiltered
        self.misshapen: dict[str, list[Reply]] = {}  # "METHOD /path": answer these (wrong shapes) instead
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                rec = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    body=body,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    raw_query=parts.query,
                )
                with server.lock:
                    server.requests.append(rec)
                    canned = server.fail_next.pop(0) if server.fail_next else None
                    delay = server.delay_next.pop(0) if server.delay_next else 0.0
                    truncate = server.truncate_next > 0
                    server.truncate_next -= truncate
                if delay:
                    time.sleep(delay)
                if canned is None:
                    with server.lock:
                        wrong = server.misshapen.get(f"{rec.method} {rec.path}")
                        canned = wrong.pop(0) if wrong else server.handle(rec)
                        if server.lose_reply.get(rec.method):
                            canned = server.lose_reply[rec.method].pop(0)
                raw_body = isinstance(canned.body, bytes)  # a page of something else than JSON
                data = canned.body if raw_body else json.dumps(canned.body).encode("utf-8")
                try:
                    self.send_response(canned.status)
                    self.send_header("Content-Type", "text/html" if raw_body else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in canned.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if truncate:  # the promised Content-Length never arrives
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, rec: Recorded) -> Reply:
        raise NotImplementedError

    def lines(self) -> list[str]:
        with self.lock:
            return [r.line for r in self.requests]


class FakeGitLab(FakeServer):
    """Contract fake of GitLab's REST API v4, following the public API docs (GitLab cannot run here).

    Endpoints: `GET /api/v4/projects/:id` (numeric id or URL-encoded path),
    `GET /api/v4/users?username=`, `GET /api/v4/projects/:id/merge_requests`
    (filters `state`: `opened`, `closed` (closed unmerged), `merged`, `all`; `source_branch`,
    `target_branch`; each merge request with its
    `source_project_id` and `target_project_id`, a fork's merge request having its fork's id as
    `source_project_id`), `POST /api/v4/projects/:id/merge_requests`,
    `PUT /api/v4/projects/:id/merge_requests/:merge_request_iid` (`title`, `description`,
    `target_branch`, `labels`, `add_labels`, `remove_labels`, `reviewer_ids`,
    `remove_source_branch`, `state_event`). Authentication: `PRIVATE-TOKEN: <token>` or
    `Authorization: Bearer <token>`; otherwise 401 `{"message": "401 Unauthorized"}`.
    Errors as GitLab answers them: 400 `{"error": "title is missing"}`, 404
    `{"message": "404 Project Not Found"}`, 409 for a second open merge request of one source
    branch (`{"message": ["Another open merge request already exists for this source branch: !1"]}`).

    `add_mr` opens one as a person would (by hand, or from a fork); `ignores_list_filters` makes the
    list endpoints misbehave: every merge request is returned whatever the filters say.
    """

    def __init__(self, token: str, project: str = "service/app-interface", project_id: int = 13) -> None:
        super().__init__(token)
        self.project = {
            "id": project_id,
            "path_with_namespace": project,
            "name": project.rsplit("/", 1)[-1],
            "default_branch": "master",
        }
        self.users = {"jdoe": 101, "ada": 102, "grace": 103}
        self.mrs: list[dict[str, Any]] = []

    # -- helpers --
    def _web(self) -> str:
        return f"{self.url}/{self.project['path_with_namespace']}"

    def _mr_json(self, mr: dict[str, Any]) -> dict[str, Any]:
        out = dict(mr)
        out["reviewers"] = [
            {"id": uid, "username": next((n for n, i in self.users.items() if i == uid), f"user{uid}")}
            for uid in mr["reviewer_ids"]
        ]
        del out["reviewer_ids"]
        out["draft"] = out["work_in_progress"] = bool(re.match(r"(?i)\s*(draft:|\[draft\]|\(draft\))", mr["title"]))
        return out

    def _error(self, status: int, message: Any, key: str = "message") -> Reply:
        if self.echo_auth:
            message = f"{message} (token {self._sent_token})"
        return Reply(status, {key: message})

    @staticmethod
    def _labels(value: Any) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(x).strip() for x in items if str(x).strip()]

    def _authorized(self, rec: Recorded) -> bool:
        return rec.headers.get("private-token") == self.token or rec.headers.get("authorization") == (
            f"Bearer {self.token}"
        )

    def add_mr(
        self,
        source_branch: str,
        *,
        target_branch: str = "master",
        title: str = "someone's work",
        description: str = "",
        labels: list[str] | None = None,
        reviewer_ids: list[int] | None = None,
        remove_source_branch: bool = False,
        source_project_id: int | None = None,
        state: str = "opened",
    ) -> dict[str, Any]:
        """Open a merge request (through the API, by hand, or from a fork: `source_project_id`)."""
        n = len(self.mrs) + 1
        mr = {
            "id": 1000 + n,
            "iid": n,
            "project_id": self.project["id"],
            "source_project_id": self.project["id"] if source_project_id is None else source_project_id,
            "target_project_id": self.project["id"],
            "title": title,
            "description": description,
            "state": state,
            "source_branch": source_branch,
            "target_branch": target_branch,
            "labels": list(labels or []),
            "reviewer_ids": list(reviewer_ids or []),
            "force_remove_source_branch": remove_source_branch,
            "web_url": f"{self._web()}/-/merge_requests/{n}",
        }
        self.mrs.append(mr)
        return mr

    # -- routing --
    def handle(self, rec: Recorded) -> Reply:
        self._sent_token = rec.headers.get("private-token") or rec.headers.get("authorization", "")
        if not self._authorized(rec):
            return self._error(401, "401 Unauthorized")
        path = rec.path
        q = {k: v[-1] for k, v in rec.query.items()}
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method == "GET" and path == "/api/v4/users":
            name = q.get("username")
            hits = [n for n in self.users if name is not None and n.lower() == name.lower()]
            return Reply(
                200, [{"id": self.users[n], "username": n, "name": n.title(), "state": "active"} for n in hits]
            )
        notes = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes", path)
        if notes is not None and rec.method == "POST":  # a comment on a merge request
            hits = [mr for mr in self.mrs if mr["iid"] == int(notes.group(2))]
            if not hits:
                return self._error(404, "404 Not found")
            hits[0].setdefault("notes", []).append(str(body.get("body", "")))
            return Reply(201, {"id": len(hits[0]["notes"]), "body": body.get("body", "")})
        m = re.fullmatch(r"/api/v4/projects/([^/]+)(/merge_requests(?:/(\d+))?)?", path)
        if m is None:
            return Reply(404, {"error": "404 Not Found"})
        pid = unquote(m.group(1))
        if pid not in (str(self.project["id"]), self.project["path_with_namespace"]):
            return self._error(404, "404 Project Not Found")
        if m.group(2) is None:
            if rec.method != "GET":
                return Reply(405, {"error": "405 Method Not Allowed"})
            return Reply(200, {**self.project, "web_url": self._web()})
        iid = m.group(3)
        if iid is None and rec.method == "GET":
            found = [
                mr
                for mr in self.mrs
                if self.ignores_list_filters
                or (
                    all(q.get(k) in (None, mr[k]) for k in ("source_branch", "target_branch"))
                    and q.get("state", "all") in ("all", mr["state"])
                )
            ]
            headers = {"X-Page": "1", "X-Per-Page": "20", "X-Total": str(len(found)), "X-Total-Pages": "1"}
            return Reply(200, [self._mr_json(mr) for mr in reversed(found)], headers)
        if iid is None and rec.method == "POST":
            for required in ("source_branch", "target_branch", "title"):
                if not body.get(required):
                    return self._error(400, f"{required} is missing", key="error")
            for other in self.mrs:
                if (
                    other["state"] == "opened"
                    and other["source_branch"] == body["source_branch"]
                    and other["source_project_id"] == self.project["id"]
                ):
                    return self._error(
                        409, [f"Another open merge request already exists for this source branch: !{other['iid']}"]
                    )
            mr = self.add_mr(
                body["source_branch"],
                target_branch=body["target_branch"],
                title=body["title"],
                description=body.get("description") or "",
                labels=self._labels(body.get("labels")),
                reviewer_ids=[int(x) for x in body.get("reviewer_ids") or []],
                remove_source_branch=bool(body.get("remove_source_branch")),
            )
            return Reply(201, self._mr_json(mr))
        if iid is not None and rec.method == "PUT":
            matches = [mr for mr in self.mrs if mr["iid"] == int(iid)]
            if not matches:
                return self._error(404, "404 Not found")
            mr = matches[0]
            for key in ("title", "description", "target_branch"):
                if key in body:
                    if key != "description" and not body[key]:
                        return self._error(400, {key: ["can't be blank"]})
                    mr[key] = body[key]
            if "labels" in body:
                mr["labels"] = self._labels(body["labels"])
            for label in self._labels(body.get("add_labels")):
                if label not in mr["labels"]:
                    mr["labels"].append(label)
            mr["labels"] = [x for x in mr["labels"] if x not in self._labels(body.get("remove_labels"))]
            if "reviewer_ids" in body:
                mr["reviewer_ids"] = [int(x) for x in body["reviewer_ids"] or []]
            if "remove_source_branch" in body:
                mr["force_remove_source_branch"] = bool(body["remove_source_branch"])
            if body.get("state_event") == "close":
                mr["state"] = "closed"
            return Reply(200, self._mr_json(mr))
        return Reply(405, {"error": "405 Method Not Allowed"})


class FakeGitHub(FakeServer):
    """Contract fake of GitHub's REST API (version 2022-11-28), following the public API docs
    (GitHub cannot run here).

    Endpoints: `GET /repos/{owner}/{repo}/pulls` (filters `state`, `head` as `owner:branch`,
    `base`), `POST /repos/{owner}/{repo}/pulls` (`title`, `head`, `base`, `body`, `draft`),
    `PATCH /repos/{owner}/{repo}/pulls/{n}` (`title`, `body`, `state`, `base`),
    `POST /repos/{owner}/{repo}/issues/{n}/labels` (`{"labels": [...]}`, adds),
    `POST /repos/{owner}/{repo}/pulls/{n}/requested_reviewers` (`{"reviewers": [...]}`, adds),
    `POST /repos/{owner}/{repo}/issues/{n}/comments` (`{"body": ...}`),
    `GET /repos/{owner}/{repo}/commits/{ref}/status` (the combined status: `state`, `statuses`
    with `context` and `state`), `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`
    (`check_runs` with `name`, `status`, `conclusion`).
    Authentication: `Authorization: Bearer <token>` (or `token <token>`); otherwise 401
    `{"message": "Bad credentials"}`. Errors as GitHub answers them: 404 `Not Found`, 422
    `{"message": "Validation Failed", "errors": [...]}` for an unknown base branch, a second
    open pull request of one head, a reviewer who is no collaborator; 400 for an unsupported
    `X-GitHub-Api-Version`. A pull request's `head` and `base` carry `ref`, `label`, `sha`, `user`
    and `repo` (`full_name`, `owner`), a fork's head its fork's repository (`null` once the fork is
    deleted), and `merged_at` (null unless merged: `state: closed` is both merged and closed
    unmerged), as GitHub's pull request object does.

    `add_pull` opens one as a person would (by hand, or from a fork); `ignores_list_filters` makes
    the list endpoint misbehave: every pull request is returned whatever `head`/`state` say.
    """

    DOCS = "https://docs.github.com/rest"

    def __init__(self, token: str, owner: str = "app-sre", repo: str = "qontract-reconcile") -> None:
        super().__init__(token)
        self.owner = owner
        self.repo = repo
        self.branches = {"main", "master"}
        self.collaborators = {"jdoe", "ada", "grace"}
        self.pulls: list[dict[str, Any]] = []
        self.statuses: dict[str, list[dict[str, Any]]] = {}  # sha -> [{"context", "state"}], newest first
        self.check_runs: dict[str, list[dict[str, Any]]] = {}  # sha -> [{"name", "status", "conclusion"}]

    def _error(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Reply:
        if self.echo_auth:
            message = f"{message}: {self._auth_header}"
        body: dict[str, Any] = {"message": message, "documentation_url": self.DOCS, "status": str(status)}
        if errors is not None:
            body["errors"] = errors
        return Reply(status, body)

    def _side(self, ref: str, owner: str, repo: str | None) -> dict[str, Any]:
        return {
            "ref": ref,
            "label": f"{owner}:{ref}",
            "sha": "0" * 40,
            "user": {"login": owner},
            "repo": None
            if repo is None
            else {"full_name": repo, "name": repo.split("/")[1], "owner": {"login": owner}},
        }

    def add_pull(
        self,
        head: str,
        *,
        base: str = "main",
        title: str = "someone's work",
        body: str | None = "",
        draft: bool = False,
        state: str = "open",
        head_owner: str | None = None,
        head_repo: str | None = "",
        merged: bool = False,
    ) -> dict[str, Any]:
        """Open a pull request (through the API, by hand, or from a fork: `head_owner`/`head_repo`;
        `head_repo=None`: a fork deleted since); `merged`: one merged already (closed, `merged_at` set)."""
        owner = self.owner if head_owner is None else head_owner
        pr = {
            "number": len(self.pulls) + 1,
            "state": state,
            "title": title,
            "body": body,
            "draft": draft,
            "head": head,
            "head_owner": owner,
            "head_repo": f"{owner}/{self.repo}" if head_repo == "" else head_repo,
            "base": base,
            "labels": [],
            "reviewers": [],
            "merged_at": "2026-01-01T00:00:00Z" if merged else None,
        }
        if merged:
            pr["state"] = "closed"
        self.pulls.append(pr)
        return pr

    def _pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.url}/repos/{self.owner}/{self.repo}/pulls/{pr['number']}",
            "html_url": f"https://github.com/{self.owner}/{self.repo}/pull/{pr['number']}",
            "number": pr["number"],
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "draft": pr["draft"],
            "head": self._side(pr["head"], pr["head_owner"], pr["head_repo"]),
            "base": self._side(pr["base"], self.owner, f"{self.owner}/{self.repo}"),
            "labels": [{"name": name} for name in pr["labels"]],
            "requested_reviewers": [{"login": login} for login in pr["reviewers"]],
            "merged_at": pr.get("merged_at"),  # null unless merged: a closed one with null was closed unmerged
        }

    def handle(self, rec: Recorded) -> Reply:
        self._auth_header = rec.headers.get("authorization", "")
        if self._auth_header not in (f"Bearer {self.token}", f"token {self.token}"):
            return self._error(401, "Bad credentials")
        version = rec.headers.get("x-github-api-version")
        if version not in (None, "2022-11-28"):
            return self._error(400, f"Unsupported API version {version}")
        prefix = f"/repos/{self.owner}/{self.repo}"
        if not rec.path.startswith(prefix + "/"):
            return self._error(404, "Not Found")
        path = rec.path[len(prefix) :]
        q = {k: v[-1] for k, v in rec.query.items()}
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method == "GET" and path.startswith("/commits/") and path.endswith("/status"):
            sha = path[len("/commits/") : -len("/status")]  # the combined status of a ref
            items = self.statuses.get(sha, [])
            states = {s["state"] for s in items}
            combined = (
                "failure"
                if states & {"failure", "error"}
                else "pending"
                if "pending" in states or not items
                else "success"
            )
            return Reply(200, {"state": combined, "sha": sha, "total_count": len(items), "statuses": items})
        if rec.method == "GET" and path.startswith("/commits/") and path.endswith("/check-runs"):
            sha = path[len("/commits/") : -len("/check-runs")]
            runs = self.check_runs.get(sha, [])
            return Reply(200, {"total_count": len(runs), "check_runs": runs})
        if path == "/pulls" and rec.method == "GET":
            state = q.get("state", "open")
            found = [
                pr
                for pr in self.pulls
                if self.ignores_list_filters
                or (
                    state in ("all", pr["state"])
                    and ("head" not in q or q["head"] == f"{pr['head_owner']}:{pr['head']}")
                    and ("base" not in q or q["base"] == pr["base"])
                )
            ]
            return Reply(200, [self._pull_json(pr) for pr in reversed(found)])
        if path == "/pulls" and rec.method == "POST":
            missing = [k for k in ("title", "head", "base") if not body.get(k)]
            if missing:
                return self._error(
                    422,
                    "Validation Failed",
                    [{"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing],
                )
            if body["base"] not in self.branches:
                return self._error(
                    422, "Validation Failed", [{"resource": "PullRequest", "field": "base", "code": "invalid"}]
                )
            if any(
                pr["state"] == "open" and pr["head"] == body["head"] and pr["head_owner"] == self.owner
                for pr in self.pulls
            ):
                return self._error(
                    422,
                    "Validation Failed",
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {self.owner}:{body['head']}.",
                        }
                    ],
                )
            pr = self.add_pull(
                body["head"],
                base=body["base"],
                title=body["title"],
                body=body.get("body"),
                draft=bool(body.get("draft")),
            )
            return Reply(201, self._pull_json(pr))
        m = re.fullmatch(r"/(pulls|issues)/(\d+)(/labels|/requested_reviewers|/comments)?", path)
        if m is None:
            return self._error(404, "Not Found")
        matches = [pr for pr in self.pulls if pr["number"] == int(m.group(2))]
        if not matches:
            return self._error(404, "Not Found")
        pr = matches[0]
        kind, sub = m.group(1), m.group(3)
        if kind == "pulls" and sub is None and rec.method == "PATCH":
            for key in ("title", "body", "state", "base"):
                if key in body:
                    pr[key] = body[key]
            return Reply(200, self._pull_json(pr))
        if kind == "issues" and sub == "/comments" and rec.method == "POST":
            pr.setdefault("comments", []).append(str(body.get("body", "")))
            return Reply(201, {"id": len(pr["comments"]), "body": body.get("body", "")})
        if kind == "issues" and sub == "/labels" and rec.method == "POST":
            for name in body.get("labels") or []:
                if name not in pr["labels"]:
                    pr["labels"].append(name)
            return Reply(200, [{"name": name} for name in pr["labels"]])
        if kind == "pulls" and sub == "/requested_reviewers" and rec.method == "POST":
            outsiders = [r for r in body.get("reviewers") or [] if r not in self.collaborators]
            if outsiders:
                return self._error(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the users or teams you "
                    f"specified is not a collaborator of the {self.owner}/{self.repo} repository.",
                )
            for login in body.get("reviewers") or []:
                if login not in pr["reviewers"]:
                    pr["reviewers"].append(login)
            return Reply(201, self._pull_json(pr))
        return self._error(404, "Not Found")


@contextmanager
def running(server: FakeServer) -> Iterator[FakeServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
