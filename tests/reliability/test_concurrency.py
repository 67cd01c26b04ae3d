"""Two promotions of one repository at once: one wins, the other is refused; never interleaved.

The winner sleeps 2 s inside the critical section (PROMOTER_FAULT_ACTION=sleep) so the runs
overlap for certain. A stale lock left by a dead process is taken over: that is
tests/test_errors.py::test_stale_lock_of_a_dead_process_on_this_host_is_taken_over (and a live
or foreign-host lock refuses: test_lock_held_by_a_live_process_refuses,
test_lock_of_a_dead_pid_on_another_host_refuses).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import AFTER, PROMOTE, as_bytes, no_leftovers, start, targets, three_files

SLEEP = {"PROMOTER_FAULT_ACTION": "sleep"}


@pytest.mark.parametrize("point", ["journal-written", "renamed:2"])
def test_second_promotion_waits_for_nobody_and_is_refused(tmp_path: Path, point: str) -> None:
    root = three_files(tmp_path / "r")
    lock = root / ".git/promoter.lock"
    first = start(root, *PROMOTE, env={"PROMOTER_FAULT": point, **SLEEP})
    deadline = time.monotonic() + 20
    while not lock.exists():  # the first run is inside the critical section
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.01)
    holder = lock.read_text()
    second = start(root, *PROMOTE, env={"PROMOTER_FAULT": point, **SLEEP})
    out2, err2 = second.communicate(timeout=30)
    out1, err1 = first.communicate(timeout=30)

    assert first.returncode == 0, err1
    assert second.returncode == 3, (out2, err2)
    assert f"promoter: error: another promoter run holds {lock} (pid {first.pid} on {socket.gethostname()}); " in err2
    assert err2.rstrip().endswith("wait for it, or delete the file if no promoter is running")
    assert holder == f"{first.pid} {socket.gethostname()}"
    assert "promoted c to fedcba9 in 3 file(s)" in out1
    assert "promoted" not in out2
    assert targets(root) == as_bytes(AFTER)
    no_leftovers(root)


def test_simultaneous_promotions_one_wins(tmp_path: Path) -> None:
    """Started together: exactly one writes; the other is refused by the lock (or, had it come
    after, would find nothing to change); the files are the winner's, whole."""
    root = three_files(tmp_path / "r")
    env = {"PROMOTER_FAULT": "tmp-written:1", **SLEEP}
    procs = [start(root, *PROMOTE, env=env) for _ in range(2)]
    results = [(p.wait(timeout=30), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    loser = next(err for code, _, err in results if code == 3)
    assert "another promoter run holds" in loser or "rolled back" not in loser
    assert sum("promoted c to" in out for _, out, _ in results) == 1
    assert targets(root) == as_bytes(AFTER)
    no_leftovers(root)
