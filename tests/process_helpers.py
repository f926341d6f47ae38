"""Real processes for end-to-end tests: run.py and worker.py started as people start them,
the database read beside them, and the process tree below them read from /proc."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO


def worker_env(data: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPARSER_")}
    env.update(
        MEDIAPARSER_DATA_DIR=str(data),
        MEDIAPARSER_QUEUE=f"sqlite:///{data / 'queue.db'}",
        MEDIAPARSER_TIMEZONE="Europe/Berlin",
        MEDIAPARSER_WORKERS="2",
        MEDIAPARSER_LEASE_SECONDS="10",  # a killed worker's job is taken over 10 s after its last heartbeat
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)  # what a test sets itself wins
    return env


def start(script: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / script)],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the pool processes die with it
    )


def query(db: Path, sql: str, *args):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_table() -> dict[int, tuple[int, str, int]]:
    """{pid: (parent pid, state, resident bytes)} of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), fields[0], int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))
    return table


def descendants(pid: int) -> dict[int, int]:
    """{pid: resident bytes} of every living process below `pid`."""
    table = _proc_table()
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (its_parent, state, rss) in table.items():
            if its_parent == parent and child not in found and state != "Z":
                found[child] = rss
                frontier.append(child)
    return found


def alive(pids) -> list[int]:
    """The ones among `pids` still running (a zombie has ended: only its exit status is left)."""
    table = _proc_table()
    return [p for p in pids if p in table and table[p][1] != "Z"]


def peak_memory(pid: int) -> int:
    """A process's resident high-water mark in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> set[int]:
    """The living processes whose parent is `pid` (started by any of its threads)."""
    return {child for child, (parent, state, _) in _proc_table().items() if parent == pid and state != "Z"}
