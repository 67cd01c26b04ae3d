"""promoter as a person sees it: run on a real pseudo-terminal of a given size (stdout and stderr
on it, TERM=xterm, no COLUMNS, no NO_COLOR), and what the screen then shows."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

# promoter's own colour codes (promoter.text.STYLES and the reset): what may reach a terminal
OWN_SGR = re.compile(r"\x1b\[(?:0|1|2|32|33|31;1)m")
ANY_SGR = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal(
    argv: list[str], columns: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """`promoter ARGV` with stdout and stderr on a pseudo-terminal `columns` wide (its window size
    set as a terminal emulator sets it): (exit code, every byte it wrote, decoded)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    child = subprocess.Popen(
        [sys.executable, "-m", "promoter", *argv],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env={**base, "TERM": "xterm", **(env or {})},
    )
    os.close(follower)
    data = drained(leader)
    return child.wait(timeout=120), data.decode("utf-8")


def drained(leader: int) -> bytes:
    """Everything written on a pseudo-terminal, read from its leader until the child closed its
    end; the leader is closed then."""
    data = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(leader)
    return data


def screen(raw: str) -> list[str]:
    """The lines the terminal shows (colour codes kept): a line rewritten in place after `\\r`
    (the progress line) shows its last text, `\\x1b[K` erases nothing visible."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        lines.append(line.rsplit("\r", 1)[-1].replace("\x1b[K", ""))
    return lines


def visible(line: str) -> str:
    """`line` as it looks: without its colour codes."""
    return ANY_SGR.sub("", line)
