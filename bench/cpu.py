"""CPU seconds spent by the processes of a run, read from /proc: where a path's time goes."""

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        # The command name may hold spaces; the fields after its closing parenthesis do not.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _processes() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def tree(root: int) -> list[int]:
    """A process and its descendants (a service's worker processes)."""
    parents = {pid: int(stat[1]) for pid in _processes() if (stat := _stat(pid)) is not None}
    found = [root]
    for pid in sorted(parents):
        if parents[pid] in found:
            found.append(pid)
    return found


def postgres() -> list[int]:
    """Every PostgreSQL server process (backends come and go with connections)."""
    return [pid for pid in _processes() if Path(f"/proc/{pid}/comm").exists() and _comm(pid) == "postgres"]


def kafka() -> list[int]:
    """The Kafka broker's JVM."""
    return [pid for pid in _processes() if _comm(pid) == "java" and b"kafka" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def seconds(pids: list[int]) -> float:
    """User and system CPU of the processes and of their reaped children."""
    total = 0
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            total += sum(int(field) for field in stat[11:15])  # utime, stime, cutime, cstime
    return total / _TICKS
