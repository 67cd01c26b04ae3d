"""Two promotions of one repository at once: one wins, the other is refused; never interleaved.

The repository's lock is a kernel lock (flock): the first run is held inside the critical section
on a FIFO while the second runs, so the runs overlap for certain. A lock file left by a killed
run blocks nobody: tests/test_errors.py::test_a_lock_file_left_by_a_dead_process_blocks_nobody
(and a live holder refuses: test_lock_held_by_a_live_process_refuses).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from promoter.pipeline.apply import lock_holder
from tests.reliability.helpers import AFTER, PROMOTE, as_bytes, no_leftovers, start, targets, three_files

SLEEP = {"PROMOTER_FAULT_ACTION": "sleep"}


@pytest.mark.parametrize("point", ["journal-written", "renamed:2"])
def test_second_promotion_waits_for_nobody_and_is_refused(tmp_path: Path, point: str) -> None:
    """The first run is held inside the critical section (on a FIFO) while the second one runs."""
    root = three_files(tmp_path / "r")
    lock = root / ".git/promoter.lock"
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    first = start(root, *PROMOTE, env={"PROMOTER_FAULT": point, "PROMOTER_FAULT_ACTION": "wait",
                                       "PROMOTER_FAULT_FIFO": str(fifo)})  # fmt: skip
    with open(fifo, "wb"):  # returns once the first run waits at `point`, holding the lock
        holder = lock_holder(root / ".git")
        second = start(root, *PROMOTE)
        out2, err2 = second.communicate(timeout=30)
    out1, err1 = first.communicate(timeout=30)

    assert first.returncode == 0, err1
    assert second.returncode == 3, (out2, err2)
    assert holder is not None and holder.startswith(f"pid {first.pid} on {socket.gethostname()} since ")
    assert err2.endswith(
        f"promoter: error: another promoter run holds the lock {lock} ({holder}); wait for it to finish\n"
    )
    assert "promoted c to fedcba9 in 3 files" in out1
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
