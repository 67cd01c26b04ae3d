"""Write a promotion's files atomically: all or none, one run per repository at a time.

Order of operations: take the lock (a kernel lock on a file that stays); roll back any promotion
a crash interrupted (only files still holding what it wrote); check that no file changed since
it was planned; save the old texts and the temp file names in a journal under
the git dir (written aside and renamed into place, so it is complete or absent); write each new
text to a temp file beside its target, then fsync them all at once; rename every temp file over
its target; fsync the directories (at once too); drop the journal. A crash before the journal changed nothing; after it,
the next run (any command) removes the temp files and restores every old file from the journal.
An error or an interrupt (KeyboardInterrupt) does the same at once. `fault` is the tests' fault
injection (PROMOTER_FAULT / PROMOTER_FAULT_ACTION).
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from promoter.errors import Refused
from promoter.model import FileChange
from promoter.records import field, record

LOCK = "promoter.lock"
JOURNAL = "promoter-journal.json"
TMP_SUFFIX = ".promoter-tmp"


_held: dict[Path, tuple[int, int]] = {}  # lock file -> (fd, depth): this process's locks


def _holder(fd: int) -> str:
    """Who holds a lock, as its holder wrote it into the lock file ("pid N on HOST since T")."""
    try:
        return os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


@contextlib.contextmanager
def lock(state_dir: Path) -> Iterator[None]:
    """The repository's lock: a kernel lock (`flock`) on a lock file that stays in the git dir.

    The kernel drops it when its process ends, however it ends, so there is no stale lock to
    judge (PIDs are reused, containers all start at 1). Held again by the same process, it nests.
    Another run holding it is a Refused naming who holds it; a lock file that cannot be created
    (disk full, read-only git dir) is a Refused too, and never leaves a file that blocks anyone.
    """
    import fcntl

    path = state_dir / LOCK
    if path in _held:
        fd, depth = _held[path]
        _held[path] = (fd, depth + 1)
        try:
            yield
        finally:
            _held[path] = (fd, _held[path][1] - 1)
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise Refused(f"cannot create the lock file {path}: {exc.strerror}; nothing written") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd)
        os.close(fd)
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise Refused(f"cannot lock {path}: {exc.strerror}; nothing written") from None
        raise Refused(
            f"another promoter run holds the lock {path} ({holder or 'holder unknown'}); wait for it to finish"
        ) from None
    try:
        me = f"pid {os.getpid()} on {os.uname().nodename} since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
        with contextlib.suppress(OSError):  # who holds it is a courtesy: the kernel's lock is the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
        _held[path] = (fd, 1)
        try:
            yield
        finally:
            del _held[path]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the last descriptor releases the kernel's lock


def lock_holder(state_dir: Path) -> str | None:
    """Who holds the repository's lock now ("" when unknown), None when it is free."""
    import fcntl

    try:
        fd = os.open(state_dir / LOCK, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _holder(fd)
    finally:
        os.close(fd)
    return None


class _Syncing:
    """fsyncs running at once, each in a thread started as soon as its file is written: the file
    system commits what they wait for together (one journal commit where one fsync after another
    costs one each), and each still returns only once its file is on disk. A thread owns its
    descriptor (it closes it), and at most `_AT_ONCE` run: a promotion of thousands of files
    holds no more descriptors or threads than that. Where no thread can start, this one syncs."""

    def __init__(self) -> None:
        import threading  # already imported by subprocess: costs nothing here

        self._threads: list[threading.Thread] = []
        self._failed: list[OSError] = []
        self._slots = threading.BoundedSemaphore(_AT_ONCE)
        self._thread = threading.Thread

    def add(self, fd: int) -> None:
        """fsync (then close) `fd`, which is this object's from now on."""
        try:
            self._slots.acquire()
        except BaseException:
            os.close(fd)
            raise
        try:
            thread = self._thread(target=self._sync, args=(fd,))
            thread.start()
        except RuntimeError:  # no thread to be had (a process or thread limit): here, then
            self._sync(fd)
            return
        self._threads.append(thread)

    def _sync(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            self._failed.append(exc)
        finally:
            os.close(fd)
            self._slots.release()

    def wait(self, quiet: bool = False) -> None:
        """Every fsync ended; the first error raised unless `quiet`."""
        while self._threads:
            self._threads[0].join()
            self._threads.pop(0)
        if self._failed and not quiet:
            raise self._failed[0]


_AT_ONCE = 32  # fsyncs running at once (threads, descriptors)


def _fsync_dirs(paths: Iterable[Path]) -> None:
    """fsync directories (the renames in them made durable), all at once."""
    syncing = _Syncing()
    try:
        for path in dict.fromkeys(paths):
            syncing.add(os.open(path, os.O_RDONLY))
    except BaseException:
        syncing.wait(quiet=True)
        raise
    syncing.wait()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_written(path: Path, data: bytes, mode: int | None = None, owner: tuple[int, int] | None = None) -> int:
    """A new file at `path` holding `data` (mode and owner set), still open and not yet synced."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644 if mode is None else mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            os.fchown(fd, *owner)  # before the mode: a change of owner clears set-id bits
        if mode is not None:
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_durable(path: Path, data: bytes, mode: int | None = None, owner: tuple[int, int] | None = None) -> None:
    fd = _open_written(path, data, mode, owner)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write one file whole or not at all (a temp file beside it, fsynced, renamed over it);
    an error is a Refused naming the file, and leaves no temp file behind."""
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    try:
        _write_durable(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise Refused(f"{path}: cannot write ({exc.strerror}); nothing written") from None


@record(frozen=True)
class _Planned:
    change: FileChange
    path: Path  # the real file (behind any symlink)
    tmp: Path
    mode: int
    owner: tuple[int, int]  # uid, gid


class _OwnerLost(Exception):
    def __init__(self, planned: _Planned) -> None:
        self.planned = planned


@record
class Recovery:
    """What rolling back an interrupted promotion did."""

    restored: list[str] = field(default_factory=list)  # back to their old text
    left_alone: list[str] = field(default_factory=list)  # changed (or gone) since: not ours to touch

    def __bool__(self) -> bool:
        return bool(self.restored or self.left_alone)


def _written_by_it(entry: dict[str, object], data: bytes) -> bool:
    """Whether `data` is exactly what the journal's run wrote (journals before 0.2 kept a digest)."""
    if isinstance(entry.get("new_text"), str):
        return data.hex() == entry["new_text"]
    return entry.get("new") is None or _digest(data) == entry["new"]


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def recover(root: Path, state_dir: Path) -> Recovery | None:
    """Undo a promotion a crash interrupted (None when there was none). The caller holds the lock.

    A file is restored only while it holds exactly the text the crashed run wrote; a file that
    still has its old text needs nothing; one changed since (finished by hand, another branch
    checked out) or gone is left alone and named, never overwritten."""
    import json  # here, not at import: only a run that writes (or finds a journal) needs it

    journal = state_dir / JOURNAL
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise Refused(
            f"{journal}: an interrupted promotion's journal cannot be read ({exc}); "
            "check the files it names by hand, then delete it"
        ) from None
    done = Recovery()
    for entry in entries:
        target = Path(entry["path"]) if "path" in entry else root / entry["file"]
        Path(entry["tmp"]).unlink(missing_ok=True)
        if entry["old"] is None:  # the run created it: gone again, unless it changed since
            try:
                ours = _written_by_it(entry, target.read_bytes())
            except FileNotFoundError:
                continue
            except OSError:
                ours = False
            if ours:
                target.unlink()
                done.restored.append(entry["file"])
            else:
                done.left_alone.append(entry["file"])
            continue
        old = bytes.fromhex(entry["old"])
        try:
            current = target.read_bytes()
        except OSError:  # gone, or no longer a file we can read: not ours to recreate
            done.left_alone.append(entry["file"])
            continue
        if current == old:
            continue
        ours = _written_by_it(entry, current)
        if not ours:
            done.left_alone.append(entry["file"])
            continue
        back = target.with_name(f".{target.name}{TMP_SUFFIX}")
        owner = entry.get("owner")
        _write_durable(back, old, entry.get("mode"), tuple(owner) if owner else None)
        os.replace(back, target)
        done.restored.append(entry["file"])
    journal.unlink()
    _fsync_dir(state_dir)
    return done


def write(
    root: Path, state_dir: Path, changes: list[FileChange], before_renaming: Callable[[], None] | None = None
) -> Recovery | None:
    """Write every change or none. The caller holds the lock. `before_renaming` runs once the
    temp files are on disk, before the first one replaces its file: an exception from it undoes
    the write (nothing written) and is raised.

    A journal found here, under the lock and right before writing, is a run that was killed
    after this one started (while it planned, asked, or waited on the network): it is rolled
    back first (returned), and the files are then checked against the plan as always."""
    import json

    earlier = recover(root, state_dir)
    top = root.resolve()
    planned: list[_Planned] = []
    seen: dict[Path, str] = {}
    for ch in changes:
        # a symlink stays a symlink: the file behind it is promoted, when it is in the repository
        path = (root / ch.file).resolve()
        if top not in path.parents:
            raise Refused(f"{ch.file}: a symlink to {path}, outside the repository; nothing written")
        if path in seen:
            raise Refused(f"{ch.file} and {seen[path]} are one file (a symlink); promote it through one target")
        seen[path] = ch.file
        if ch.created:
            if os.path.lexists(path):
                raise Refused(f"{ch.file}: exists now, but did not when it was planned; nothing written, run again")
            if not path.parent.is_dir():
                where = posixpath.dirname(ch.file)
                raise Refused(
                    f"{ch.file}: its directory {where}/ does not exist: create it (mkdir -p {where}) and run again; "
                    "nothing written"
                )
            tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
            planned.append(_Planned(ch, path, tmp, 0o644, (os.geteuid(), os.getegid())))
            continue
        try:
            current = path.read_bytes()
            st = path.stat()
        except OSError as exc:
            raise Refused(f"{ch.file}: cannot read ({exc.strerror}); nothing written") from None
        if current != ch.old_text.encode("utf-8"):
            raise Refused(f"{ch.file}: changed since it was planned; nothing written, run again")
        if st.st_nlink > 1:
            raise Refused(
                f"{ch.file}: has {st.st_nlink} hard links, which writing a new file would split; "
                "make it a single file (or a symlink) and run again; nothing written"
            )
        tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
        planned.append(_Planned(ch, path, tmp, st.st_mode & 0o7777, (st.st_uid, st.st_gid)))
    journal = state_dir / JOURNAL
    entries = [
        {
            "file": p.change.file,
            "path": str(p.path),
            "tmp": str(p.tmp),
            "mode": p.mode,
            "owner": list(p.owner),
            "old": None if p.change.created else p.change.old_text.encode("utf-8").hex(),
            "new_text": p.change.new_text.encode("utf-8").hex(),
        }
        for p in planned
    ]
    staged = journal.with_name(JOURNAL + TMP_SUFFIX)
    try:  # the journal first, complete or not at all: from here on a crash is rolled back
        _write_durable(staged, json.dumps(entries).encode("utf-8"))
        os.replace(staged, journal)
        _fsync_dir(state_dir)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise Refused(f"cannot write the journal in {state_dir}: {exc.strerror}; nothing written") from None
    renaming, where = False, str(state_dir)
    try:
        fault("journal-written")
        syncing = _Syncing()
        try:  # every temp file written, each synced from then on, all at once
            for n, p in enumerate(planned, 1):
                where = str(p.tmp.parent)
                try:
                    fd = _open_written(p.tmp, p.change.new_text.encode("utf-8"), p.mode, p.owner)
                except PermissionError as exc:
                    if exc.errno == errno.EPERM:  # fchown: only its owner's or root's to give
                        raise _OwnerLost(p) from None
                    raise
                syncing.add(fd)
                fault(f"tmp-written:{n}")
        except BaseException:
            syncing.wait(quiet=True)
            raise
        where = "the new files to disk (fsync)"
        syncing.wait()
        if before_renaming is not None:
            before_renaming()
        renaming = True
        for n, p in enumerate(planned, 1):
            os.replace(p.tmp, p.path)
            fault(f"renamed:{n}")
        _fsync_dirs(p.path.parent for p in planned)
        fault("dirs-synced")
        fault("done")
    except _OwnerLost as lost:
        recover(root, state_dir)
        uid, gid = lost.planned.owner
        raise Refused(
            f"{lost.planned.change.file}: owned by uid {uid} (gid {gid}), which this user cannot give a new "
            "file; run promoter as its owner or as root; nothing written"
        ) from None
    except OSError as exc:
        recover(root, state_dir)
        if not renaming:
            raise Refused(f"cannot write {where}: {exc.strerror}; nothing written") from None
        raise Refused(f"replacing the files failed ({exc.strerror}); every file restored, nothing written") from None
    except KeyboardInterrupt:
        recover(root, state_dir)
        raise KeyboardInterrupt("every file restored, nothing written") from None
    except BaseException:
        recover(root, state_dir)
        raise
    journal.unlink()
    _fsync_dir(state_dir)
    return earlier


def fault(point: str) -> None:
    """Fault injection for the reliability tests: act when PROMOTER_FAULT names this point."""
    if os.environ.get("PROMOTER_FAULT") != point:
        return
    action = os.environ.get("PROMOTER_FAULT_ACTION", "kill")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "int":
        raise KeyboardInterrupt
    elif action in ("enospc", "eacces"):
        code = errno.ENOSPC if action == "enospc" else errno.EACCES
        raise OSError(code, os.strerror(code))
    elif action == "sleep":
        time.sleep(2)
    elif action == "wait":  # hold here until the test lets go: it learns we are here by opening
        with open(os.environ["PROMOTER_FAULT_FIFO"], "rb") as fifo:  # the FIFO for writing,
            fifo.read()  # and lets go by closing it (or interrupts us while we wait)
