"""Notifications of what `reconcile --push` did and found, each sent once, never for a dry run.

Events (`notify.to[].on`, default all of them):

- `opened`, `updated`: reconcile opened or updated a component's merge request (its promotion's
  content hash);
- `merged`: a promotion reached the deploy branch (a first-parent commit of the branch changed a
  component's pins since the run before; the changes, each once);
- `rollback`: a change back to an older version reached the branch, or reconcile opened a
  rollback merge request by itself (`rollback: {on: verify}`);
- `blocked`: an environment with a newer version to take stopped by the same gate (held, a closed
  window, soaking, blocked, unverified, ...) for longer than `notify.blocked_after`, or in error
  for `notify.error_runs` runs in a row (each stop once).

Each message names the authors of the commits concerned by their handles (`people:`), as the
SOP's "notify those team members" asks. Channels: Slack (an incoming webhook: a POST of Block Kit
JSON; its URL is its secret, so it may be `${VAR}`) and a generic webhook (a POST of the event as
JSON, its `headers:` filled from `${VAR}`s). Both go through `promoter.http` (its deadline: the
target's `timeout:`), every configured header bound to the URL's origin; no message, note or
error ever shows a webhook's URL or a header's value.

What was sent is remembered in the config repository's remote, not on the machine (a scheduled
job's clone is new every run): the ref `notify.state` (default `refs/promoter/notified`) is one
commit, without parents, whose `state.json` holds the keys of the events sent (a sha256 of what
each is about; kept 90 days), the commit of the deploy branch the last run read, and each
stopped environment's gate, since when and for how many runs. A run reads it, works out its
events, and claims them first: it pushes the new state with a lease on the ref (compare and
swap), so of two runs at once only one sends; then it sends, and a send that failed is released
(the state pushed again without its key) so that the next run tries it again. The first run
records where the branch is and sends no `merged` for the history before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timedelta

from promoter.errors import ExternalError, PromoterError, UsageError
from promoter.model import Component, NotifyConfig, NotifyTarget
from promoter.records import field, record
from promoter.text import printable
from promoter.upstream.git import Git
from promoter.urls import redact

TYPE_CHECKING = False  # typing is not imported at run time (start-up is counted)
if TYPE_CHECKING:
    from typing import Any

    from promoter.ship.reconcile import Reconciled
    from promoter.ship.session import Session

KEEP = 90 * 86400  # seconds a sent event's key is remembered
STATE_FILE = "state.json"
STOPS = ("held", "window", "soaking", "blocked", "unverified", "image-missing", "waiting-for-dependency", "untrusted")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@record(frozen=True)
class Event:
    kind: str  # opened, updated, merged, rollback, blocked
    component: str
    key: str  # a sha256 of the kind and what it is about: equal keys, the same event
    title: str  # one line
    lines: tuple[str, ...] = ()  # what else to say, plain text
    url: str | None = None  # the merge request, or the change's compare page
    environments: tuple[str, ...] = ()
    old: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    people: tuple[tuple[str, str | None], ...] = ()  # (name, handle) of the authors concerned
    commit: str | None = None  # the config repository's commit, for merged and rollback

    def json(self, at: datetime) -> dict[str, Any]:
        return {
            "event": self.kind,
            "key": self.key,
            "component": self.component,
            "environments": list(self.environments),
            "title": self.title,
            "text": "\n".join(self.lines),
            "url": self.url,
            "old": list(self.old),
            "new": list(self.new),
            "commit": self.commit,
            "people": [{"name": n, "handle": h} for n, h in self.people],
            "at": at.isoformat(),
        }

    @staticmethod
    def from_json(doc: dict[str, Any]) -> Event:
        """The event `json` wrote (a send that failed, kept in the state to be tried again)."""
        return Event(
            str(doc["event"]), str(doc["component"]), str(doc["key"]), str(doc["title"]),
            tuple(str(doc.get("text", "")).splitlines()), doc.get("url"),
            tuple(doc.get("environments", ())), tuple(doc.get("old", ())), tuple(doc.get("new", ())),
            tuple((str(p["name"]), p.get("handle")) for p in doc.get("people", ())), doc.get("commit"),
        )  # fmt: skip


@record
class State:
    since: datetime
    heads: dict[str, str] = field(default_factory=dict)  # branch -> the commit the last run read
    sent: dict[str, str] = field(default_factory=dict)  # event key -> when (ISO)
    stopped: dict[str, dict[str, Any]] = field(default_factory=dict)  # "component/environment" -> its stop
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # sent key -> an event whose send failed

    def text(self) -> str:
        return json.dumps(
            {"version": 1, "since": self.since.isoformat(), "heads": self.heads, "sent": self.sent,
             "stopped": self.stopped, "pending": self.pending},
            indent=1, sort_keys=True,
        ) + "\n"  # fmt: skip


@record
class Notified:
    """What a run's notifications did: each line for the terminal."""

    sent: list[tuple[Event, NotifyTarget]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"notified {t.kind}: {e.title}" for e, t in self.sent]
        out += [f"note: {n}" for n in self.notes]
        out += [f"warning: notification not sent: {f} (tried again next run)" for f in self.failed]
        return out


def key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


# -- the state on the remote ----------------------------------------------------------------------
def remote_tip(git: Git, remote: str, ref: str, fetched_as: str) -> str:
    """The commit the remote's `ref` is at ("" when there is none), fetched (as `fetched_as`) when
    this repository does not have it yet."""
    proc = git.run("ls-remote", "--", remote, ref, check=False)
    if proc.returncode != 0:
        raise ExternalError(f"git ls-remote {remote} {ref}: {proc.stderr.strip() or 'failed'}")
    tip = next((line.split("\t")[0] for line in proc.stdout.splitlines() if line.endswith(f"\t{ref}")), "")
    if tip and not git.ok("cat-file", "-e", f"{tip}^{{commit}}"):
        fetched = git.run("fetch", "--quiet", "--no-tags", remote, f"+{ref}:{fetched_as}", check=False)
        if fetched.returncode != 0:
            raise ExternalError(f"git fetch {ref} from {remote}: {fetched.stderr.strip() or 'failed'}")
    return tip


def read_state(git: Git, remote: str, ref: str) -> tuple[State | None, str]:
    """The state the remote's `ref` holds (None: there is none yet), and the commit it is at
    ("" when none: the lease of the next write)."""
    tip = remote_tip(git, remote, ref, "refs/promoter/fetched/notified")
    if not tip:
        return None, ""
    raw = git.run("cat-file", "blob", f"{tip}:{STATE_FILE}", check=False)
    try:
        doc = json.loads(raw.stdout) if raw.returncode == 0 else {}
        state = State(
            datetime.fromisoformat(doc["since"]),
            {str(k): str(v) for k, v in doc.get("heads", {}).items()},
            {str(k): str(v) for k, v in doc.get("sent", {}).items()},
            {str(k): dict(v) for k, v in doc.get("stopped", {}).items()},
            {str(k): dict(v) for k, v in doc.get("pending", {}).items()},
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ExternalError(
            f"{remote}'s {ref} holds no state promoter can read; delete it (git push {remote} :{ref}) and the next "
            "run starts afresh (it sends nothing twice that it can tell, and no old merge)"
        ) from None
    return state, tip


def write_state(git: Git, remote: str, ref: str, state: State, lease: str) -> str | None:
    """Push `state` to the remote's `ref` if it is still at `lease` ("" : it must not exist); the
    new commit, None when another run moved the ref first."""
    blob = git.run("hash-object", "-w", "--stdin", input=state.text()).stdout.strip()
    tree = git.run("mktree", input=f"100644 blob {blob}\t{STATE_FILE}\n").stdout.strip()
    who = {"GIT_AUTHOR_NAME": "promoter", "GIT_AUTHOR_EMAIL": "promoter@localhost",
           "GIT_COMMITTER_NAME": "promoter", "GIT_COMMITTER_EMAIL": "promoter@localhost"}  # fmt: skip
    commit = git.run("commit-tree", tree, "-m", "promoter: notifications sent", env=who).stdout.strip()
    proc = git.run("push", "--porcelain", "--quiet", f"--force-with-lease={ref}:{lease}", remote, f"{commit}:{ref}",
                   check=False)  # fmt: skip
    if proc.returncode == 0:
        return commit
    said = (proc.stderr + proc.stdout).lower()
    if "stale info" in said or "rejected" in said or "fetch first" in said:
        return None
    raise ExternalError(f"git push of {ref} to {remote} failed: {' '.join(proc.stderr.strip().splitlines()[-2:])}")


# -- the events ----------------------------------------------------------------------------------------
def _people(session: Session, comp: Component, base: str, head: str) -> tuple[tuple[str, str | None], ...]:
    """The authors of the upstream's commits `base..head` (no bots), with their handles."""
    from promoter.upstream.changelog import DEFAULT_BOTS, build

    try:
        up = session.upstream(comp)
        old, new = up.find(base), up.find(head)
        if old is None or new is None:
            return ()
        cfg = session.repo.config
        log = build(up.git, old, new, comp.repo, cfg.people, cfg.bots if cfg.bots is not None else DEFAULT_BOTS)
    except PromoterError:
        return ()
    return tuple((c.person.name, c.handle) for c in log.contributors)


def _short(comp: Component, values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(comp.short(v) if len(v) == 40 else v for v in values) or "(none)"


def run_events(session: Session, result: Reconciled) -> list[Event]:
    """`opened`, `updated` and the rollbacks reconcile opened, from this run's result."""
    from promoter.pipeline import core

    out: list[Event] = []
    cfg = session.repo.config
    for cp in result.components:
        comp = cfg.components[cp.component]
        for rb in cp.rollbacks:
            if rb.action != "rollback" or not rb.pushed or rb.runs is None or rb.to is None:
                continue
            out.append(
                Event(
                    "rollback",
                    comp.name,
                    key("auto-rollback", comp.name, rb.environment, rb.runs, rb.to),
                    f"{comp.name}: automatic rollback of {rb.environment} from {comp.short(rb.runs)} to "
                    f"{comp.short(rb.to)} opened: its verify checks fail",
                    tuple(rb.evidence),
                    rb.url,
                    (rb.environment,),
                    (rb.runs,),
                    (rb.to,),
                    _people(session, comp, rb.to, rb.runs),
                )
            )
        if cp.action not in ("open", "update") or not cp.hash:
            continue
        moving = [d for d in cp.environments if d.action == "promote" and d.candidate]
        envs = tuple(d.environment for d in moving)
        old = tuple(dict.fromkeys(v for d in moving for v in d.runs))
        new = tuple(dict.fromkeys(d.candidate or "" for d in moving))
        people: list[tuple[str, str | None]] = []
        for d in moving:
            assert d.candidate is not None
            scans = core.scan(session.repo, comp, [t for t in comp.targets if t.environment == d.environment])
            runs = [v for ts in scans for v in ts.values if not v.startswith("sha256:")]
            for p in _people(session, comp, runs[0], d.candidate) if runs else ():
                if p not in people:
                    people.append(p)
        verb = "opened" if cp.action == "open" else "updated"
        moves = ", ".join(f"{d.environment} to {comp.short(d.candidate or '')}" for d in moving)
        out.append(
            Event(
                verb,
                comp.name,
                key(verb, comp.name, cp.hash),
                f"{comp.name}: merge request {verb}: {moves}",
                (f"from {_short(comp, old)}",),
                cp.url,
                envs,
                old,
                new,
                tuple(people),
            )
        )
    return out


def history_events(session: Session, base: str, since: str | None) -> tuple[list[Event], str]:
    """`merged` and `rollback`: the changes of the components' pins that reached `base` (its
    first-parent history) after the commit `since` (None: the first run: none), and the commit
    `base` is at now."""
    from promoter.insight import history

    repo = session.repo
    git = Git(repo.root)
    head = git.out("rev-parse", "--verify", "--end-of-options", f"refs/heads/{base}^{{commit}}")
    if since is None or since == head or not git.ok("cat-file", "-e", f"{since}^{{commit}}"):
        return [], head
    out: list[Event] = []
    for comp in repo.config.components.values():
        if not comp.targets:
            continue
        h = history.build(repo.root, comp, list(comp.targets), None, rev=head, first_parent=True, exclude=since)
        for ch in h.changes:
            for env in ch.environments:
                mine = [tc for tc in ch.target_changes if tc.environment == env]
                old = history.forms(v for tc in mine for v in tc.old)
                new = history.forms(v for tc in mine for v in tc.new)
                if not old or not new:
                    continue
                back = _is_rollback(session, comp, old, new)
                kind = "rollback" if back else "merged"
                people = _people(session, comp, new[0], old[0]) if back else _people(session, comp, old[0], new[0])
                what = "rolled back" if back else "promoted"
                out.append(
                    Event(
                        kind,
                        comp.name,
                        key(kind, comp.name, ch.commit.sha, env),
                        f"{comp.name}: {env} {what} from {_short(comp, old)} to {_short(comp, new)}",
                        (f"{ch.commit.sha[:12]} {printable(ch.commit.subject)} ({printable(ch.commit.author)})",),
                        _compare(comp, new[0], old[0]) if back else _compare(comp, old[0], new[0]),
                        (env,),
                        old,
                        new,
                        people,
                        ch.commit.sha,
                    )
                )
    return out, head


def _is_rollback(session: Session, comp: Component, old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """A change to a version that is an ancestor of what ran before (upstream)."""
    try:
        up = session.upstream(comp)
        olds = [up.find(v) for v in old]
        news = [up.find(v) for v in new]
    except PromoterError:
        return False
    if None in olds or None in news:
        return False
    return all(n != o and up.is_ancestor(n, o) for n in news for o in olds if n and o)


def _compare(comp: Component, old: str, new: str) -> str | None:
    from promoter.upstream.changelog import compare_url

    return compare_url(comp.repo, old, new) if len(old) == 40 and len(new) == 40 else None


def stop_events(session: Session, result: Reconciled, cfg: NotifyConfig, state: State, now: datetime) -> list[Event]:
    """`blocked`: environments stopped by the same gate for longer than `blocked_after`, or in
    error for `error_runs` runs in a row. `state.stopped` is brought up to date."""
    out: list[Event] = []
    seen: set[str] = set()
    for cp in result.components:
        comp = session.repo.config.components[cp.component]
        for d in cp.environments:
            where = f"{cp.component}/{d.environment}"
            if d.action not in (*STOPS, "error"):
                continue
            seen.add(where)
            was = state.stopped.get(where)
            if was is None or was.get("action") != d.action:
                was = state.stopped[where] = {"action": d.action, "since": now.isoformat(), "runs": 0}
            was["runs"] = int(was.get("runs", 0)) + 1
            since = datetime.fromisoformat(str(was["since"]))
            long = now - since >= timedelta(seconds=cfg.blocked_after)
            due = was["runs"] >= cfg.error_runs if d.action == "error" else long
            if not due:
                continue
            how = (
                f"in error for {was['runs']} runs" if d.action == "error"
                else f"{d.action} since {since.strftime('%Y-%m-%d %H:%M UTC')}"
            )  # fmt: skip
            out.append(
                Event(
                    "blocked",
                    comp.name,
                    key("blocked", comp.name, d.environment, d.action, str(was["since"])),
                    f"{comp.name}: {d.environment} {how}",
                    (printable(d.reason),) + ((f"until {d.until.strftime('%Y-%m-%d %H:%M UTC')}",) if d.until else ()),
                    None,
                    (d.environment,),
                    d.runs,
                )
            )
    for where in list(state.stopped):
        if where not in seen:
            del state.stopped[where]
    return out


# -- sending -----------------------------------------------------------------------------------------
def _fill(text: str, what: str) -> tuple[str, list[str]]:
    """`text` with its ${VAR}s from the environment, and the values filled in (secrets)."""
    secrets: list[str] = []
    for var in _ENV_REF.findall(text):
        if not os.environ.get(var):
            raise UsageError(f"{what} names ${{{var}}}, which is not set")
        secrets.append(os.environ[var])
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], text), secrets


def _mrkdwn(text: str) -> str:
    """Text for Slack's mrkdwn: its three control characters escaped as Slack asks."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: Event) -> dict[str, Any]:
    """Block Kit: the title (a link to the merge request or the compare page), what else there is
    to say, and the people to tell."""
    title = _mrkdwn(event.title)
    if event.url:
        title = f"<{event.url.replace('|', '%7C').replace('>', '%3E')}|{title}>"
    icon = {"opened": ":arrow_up:", "updated": ":arrows_counterclockwise:", "merged": ":white_check_mark:",
            "rollback": ":rewind:", "blocked": ":warning:"}.get(event.kind, "")  # fmt: skip
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title}*".strip()}}
    ]
    if event.lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(map(_mrkdwn, event.lines))}})
    if event.people:
        cc = ", ".join(_mrkdwn(h) if h else _mrkdwn(n) for n, h in event.people)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"cc {cc}"}]})
    return {"text": printable(event.title), "blocks": blocks}


def send(target: NotifyTarget, event: Event, now: datetime) -> None:
    """POST `event` to `target`; an ExternalError saying why when it is not taken (2xx), never
    naming the URL or a header's value."""
    from promoter.http import Http, HttpError, Retrying, plain_http_allowed

    what = target.describe()
    url, secrets = _fill(target.url, what)
    if not plain_http_allowed(url, "PROMOTER_INSECURE_WEBHOOKS"):
        raise UsageError(f"{what}: the URL must be https (plain http only to loopback hosts)")
    headers = {"Content-Type": "application/json"}
    for name, value in target.headers:
        filled, more = _fill(value, f"{what}: header {name}")
        headers[name] = filled
        secrets += more
    body = slack_body(event) if target.kind == "slack" else event.json(now)
    client = Http(timeout=min(target.timeout, 30), deadline=target.timeout, retry=Retrying(attempts=2))

    def hide(text: str) -> str:
        for s in [url, *secrets]:
            if s:
                text = text.replace(s, "***")
        return redact(text)

    try:
        resp = client.request("POST", url, headers=headers, json=body, max_body=64 * 1024, private=list(headers))
    except HttpError as exc:
        raise ExternalError(f"{what}: {hide(exc.detail)}") from None
    finally:
        client.close()
    if not 200 <= resp.status < 300:
        said = printable(resp.body.decode("utf-8", "replace").strip())[:200]
        raise ExternalError(f"{what}: answered {resp.status} {resp.reason}" + (f": {hide(said)}" if said else ""))


# -- a run ---------------------------------------------------------------------------------------------
def notify(session: Session, result: Reconciled, remote: str, now: datetime | None = None) -> Notified:
    """Work out this run's events, claim them on the remote's state ref, send each to the targets
    that listen for its kind, release those that failed."""
    from promoter.policy import clock

    cfg = session.repo.config.notify
    done = Notified()
    if cfg is None or not cfg.to or not result.pushed:
        return done
    now = now or clock.now()
    git = Git(session.repo.root)
    base = session.base_branch or "main"
    state, lease = read_state(git, remote, cfg.state)
    first = state is None
    state = state or State(now)
    events, head = history_events(session, base, state.heads.get(base))
    if first:
        done.notes.append(f"notifications start now: {cfg.state} on {remote} remembers what was sent")
    events = run_events(session, result) + events + stop_events(session, result, cfg, state, now)
    state.heads[base] = head
    wanted = [(e, t) for e in dict((e.key, e) for e in events).values() for t in cfg.to if e.kind in t.events]
    fresh = [(e, t) for e, t in wanted if _sent_key(e, t) not in state.sent]
    by_key = {_target_key(t): t for t in cfg.to}
    retried = [
        (Event.from_json(doc), by_key[k.rpartition(":")[2]])
        for k, doc in state.pending.items()
        if k.rpartition(":")[2] in by_key and k not in {_sent_key(e, t) for e, t in fresh}
    ]
    stamp = now.isoformat()
    for e, t in fresh:
        state.sent[_sent_key(e, t)] = stamp
    cutoff = now - timedelta(seconds=KEEP)
    state.sent = {k: v for k, v in state.sent.items() if datetime.fromisoformat(v) >= cutoff}
    state.pending = {k: v for k, v in state.pending.items() if k.rpartition(":")[2] in by_key and k in state.sent}
    written = write_state(git, remote, cfg.state, state, lease)
    if written is None:
        done.notes.append(f"another run moved {cfg.state} on {remote} meanwhile: it sends this run's notifications")
        return done
    failed: dict[str, dict[str, Any]] = {}
    for e, target in [*retried, *fresh]:
        try:
            send(target, e, now)
        except PromoterError as exc:
            done.failed.append(f"{e.title}: {exc}")
            failed[_sent_key(e, target)] = e.json(now)
        else:
            done.sent.append((e, target))
    delivered = {_sent_key(e, t) for e, t in done.sent}
    if failed or delivered & set(state.pending):
        state.pending = {k: v for k, v in state.pending.items() if k not in delivered} | failed
        if write_state(git, remote, cfg.state, state, written) is None:
            done.notes.append(f"{cfg.state} moved before the failed notifications could be kept for the next run")
    return done


def _target_key(target: NotifyTarget) -> str:
    return key(target.kind, target.url)[:16]


def _sent_key(event: Event, target: NotifyTarget) -> str:
    """An event sent to one target: each target hears each event once."""
    return f"{event.key}:{_target_key(target)}"
