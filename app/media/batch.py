"""The import's analysis processes: one file at a time each, on every core (no Flask, no database).

Parent side, `AnalysisPool`: N processes started from a fork server, each with its own pipe,
so the pool always knows which file each process is working on. When one dies (the kernel's
out-of-memory killer, a crash inside a decoder library), the pool reports that file as
crashed, starts a new process in its place and hands it the files the dead one had not
begun; the other processes go on undisturbed.

Child side, `serve()`: an analysis process's main. It ends with its parent (parent-death
signal, a watch on the parent's pid, and the pipe closing), has a memory ceiling, and answers
each `Task` with `(file_id, Analysis)`; thumbnails are already written to disk."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import connection, forkserver
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import process_setup
from . import analyze as media
from . import exiftool_reader

log = logging.getLogger(__name__)

_STATE: dict = {}
MB = process_setup.MB
DEPTH = 2  # files handed to one process at a time: the one it works on and the next
TASK_SECONDS = 15 * 60  # a file still not done after this is given up (a decoder that hangs)
STOP_SECONDS = 10


@dataclass(frozen=True)
class Task:
    file_id: int
    path: str
    name: str
    relative_dir: str
    mtime: datetime | None
    use_known: bool = True  # False: analyze even when the bytes are already in the library


@dataclass(frozen=True)
class Setup:
    """What every analysis process of one import is given."""

    known: frozenset[str]  # sha256 of the library's files: such files are not decoded again
    zone: str
    thumb_root: str
    max_image_pixels: int = 0  # Pillow's decompression-bomb limit (0: Pillow's own)
    memory_bytes: int = 0  # ceiling for the work of one process (0: none)
    parent_pid: int = 0  # the process that runs the import: analysis processes end with it


def decode_budget(memory_bytes: int) -> int | None:
    """Bytes one picture's pixels may take: three quarters of the ceiling (the rest holds the
    file's bytes, the thumbnails and the libraries' own needs)."""
    return memory_bytes * 3 // 4 if memory_bytes else None


def init(known: frozenset[str], zone: str, thumb_root: str, memory_bytes: int = 0) -> None:
    """What every task of this import shares (in an analysis process, or inline)."""
    _STATE.update(
        known=known, zone=ZoneInfo(zone), thumb_root=Path(thumb_root), decode_bytes=decode_budget(memory_bytes)
    )


def run(task: Task) -> tuple[int, media.Analysis]:
    return task.file_id, media.analyze(
        task.path,
        zone=_STATE["zone"],
        name=task.name,
        relative_dir=task.relative_dir,
        mtime=task.mtime,
        thumb_root=_STATE["thumb_root"],
        known_sha256=_STATE["known"] if task.use_known else frozenset(),
        decode_bytes=_STATE["decode_bytes"],
    )


def _not_now(signum, frame) -> None:
    """A stop signal meant for the whole process group: the parent ends this process."""


def set_up(setup: Setup) -> int | None:
    """Make this process an analysis process; returns its address-space limit (None: none)."""
    # Ctrl-C and SIGTERM reach the whole process group: the parent decides when we stop. Not
    # SIG_IGN: that would be inherited by exiftool and ffmpeg, whose parent-death signal is SIGTERM.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _not_now)
    process_setup.die_with_parent()  # the fork server
    if setup.parent_pid:
        process_setup.watch_parent(setup.parent_pid)  # the import's process
    process_setup.limit_image_pixels(setup.max_image_pixels)
    process_setup.reuse_freed_memory()
    limit = process_setup.limit_address_space(setup.memory_bytes)
    init(setup.known, setup.zone, setup.thumb_root, setup.memory_bytes)
    return limit


def serve(conn: connection.Connection, setup: Setup) -> None:
    """An analysis process's entry point: set the process up, say ready, then answer tasks
    until the parent sends None or goes away."""
    limit = set_up(setup)
    try:
        conn.send(("ready", os.getpid(), limit))
        while (task := conn.recv()) is not None:
            conn.send((*run(task), process_setup.peak_memory_bytes()))
    except (EOFError, OSError):
        pass  # the parent is gone
    finally:
        exiftool_reader.close()


# --- how many processes, and how much memory each ---------------------------------------------

MIN_MEMORY = 512 * MB  # a 12-megapixel HEIC needs about 150 MB; below this, pictures fail
MAX_MEMORY = 1024 * MB  # enough for real photos (a 48-megapixel HEIC takes about 500 MB); more only feeds bombs
SHARE = 0.75  # of the memory available now: the rest stays for the web pages, database and disk cache


def available_memory() -> int | None:
    """Memory that can be used now, in bytes: the kernel's MemAvailable, or less where a
    container's memory limit (cgroup v2) leaves less. None where it cannot be known."""
    found = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found = min(found, int(limit) - used) if found is not None else int(limit) - used
    except (OSError, ValueError):
        pass
    return found


def plan(cores: int, memory_mb: int = 0, available: int | None = None) -> tuple[int, int]:
    """(analysis processes, memory ceiling of each in bytes) for this machine now: as many
    processes as cores, but no more than the memory allows each its ceiling, so that every
    process meeting a bomb at the same time still cannot exhaust the machine. The ceiling is
    `memory_mb` when set, else the available memory shared by the cores, within bounds."""
    cores = max(1, cores)
    usable = int(available * SHARE) if available else None
    if memory_mb:
        each = memory_mb * MB
    elif usable is None:
        each = MAX_MEMORY // 2
    else:
        each = max(MIN_MEMORY, min(MAX_MEMORY, usable // cores))
    count = cores if usable is None else max(1, min(cores, usable // each))
    return count, each


# --- the parent side ---------------------------------------------------------------------------


class PoolBroken(RuntimeError):
    """The analysis processes cannot start; the message says why."""


@dataclass
class Finished:
    """One task's end: its analysis, or `crashed` with how the process ended."""

    task: Task
    analysis: media.Analysis | None = None
    crashed: str | None = None  # "killed by signal 9", "timed out", ...


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: connection.Connection
    tasks: deque[Task] = field(default_factory=deque)
    ready: bool = False
    started: float = 0.0  # when the task at the head began


def _ended(process) -> str:
    process.join(STOP_SECONDS)
    code = process.exitcode
    if code is None:
        return "did not answer"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


PRELOAD = ["app.media.batch"]  # imported once by the fork server, not by every analysis process


def _fork_server() -> multiprocessing.context.ForkServerContext:
    """The context analysis processes start from: a fork server, which starts once with
    `PRELOAD` imported. Not `fork`: the process that runs an import has threads (web server,
    queue) that must not be forked."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_fork_server() -> None:
    """Start the fork server now, in the background, rather than when the first import needs
    its processes (a worker calls this as it starts: its first import starts as fast as later ones)."""
    _fork_server()
    forkserver.ensure_running()


class AnalysisPool:
    """`size` analysis processes; `submit()` while `has_room()`, `collect()` what finished."""

    def __init__(self, setup: Setup, size: int):
        self.setup = setup
        self.size = max(1, size)
        self.started = 0  # processes started over the pool's life (replacements included)
        self.peak_memory = 0  # the most resident memory one of its processes reported, in bytes
        self._context = _fork_server()
        self._workers: list[_Worker] = []
        try:
            for _ in range(self.size):
                self._workers.append(self._start())
        except BaseException:
            self.close()
            raise

    def _start(self) -> _Worker:
        mine, theirs = self._context.Pipe()
        process = self._context.Process(target=serve, args=(theirs, self.setup), name="mediaparser-analysis")
        process.daemon = True
        try:
            process.start()
        except OSError as exc:
            raise PoolBroken(f"MediaParser could not start an analysis process ({exc.strerror or exc})") from exc
        finally:
            theirs.close()
        self.started += 1
        return _Worker(process, mine)

    @property
    def in_flight(self) -> int:
        return sum(len(w.tasks) for w in self._workers)

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid]

    def has_room(self) -> bool:
        return any(len(w.tasks) < DEPTH for w in self._workers)

    def submit(self, task: Task) -> None:
        worker = min(self._workers, key=lambda w: len(w.tasks))
        if not worker.tasks:
            worker.started = time.monotonic()
        worker.tasks.append(task)
        with contextlib.suppress(OSError):  # it died: collect() finds out and hands the task on
            worker.conn.send(task)

    def collect(self, timeout: float) -> list[Finished]:
        """Wait up to `timeout` seconds for results; return every task that ended."""
        waitables = {}
        for w in self._workers:
            waitables[w.conn] = w
            waitables[w.process.sentinel] = w
        ready = connection.wait(list(waitables), timeout)
        out: list[Finished] = []
        for w in {id(waitables[r]): waitables[r] for r in ready}.values():
            self._read(w, out)
        for w in list(self._workers):
            if w.tasks and time.monotonic() - w.started > TASK_SECONDS:
                w.process.kill()
                self._replace(w, out, "timed out")
        return out

    def _read(self, w: _Worker, out: list[Finished]) -> None:
        try:
            while w.conn.poll():
                message = w.conn.recv()
                if not w.ready:
                    w.ready = True
                    continue
                _, analysis, peak = message
                self.peak_memory = max(self.peak_memory, peak)
                out.append(Finished(w.tasks.popleft(), analysis))
                w.started = time.monotonic()
        except (EOFError, OSError):
            pass
        if not w.process.is_alive():
            self._replace(w, out, None)

    def _replace(self, w: _Worker, out: list[Finished], why: str | None) -> None:
        ended = _ended(w.process)  # and reaped
        why = why or ended
        w.conn.close()
        self._workers.remove(w)
        if not w.ready:
            self._workers.append(w)  # keep it listed so close() cleans up
            raise PoolBroken(f"An analysis process stopped while starting ({why})")
        crashed = w.tasks.popleft() if w.tasks else None
        log.warning("analysis process %s ended (%s) while reading %s", w.process.pid, why, crashed and crashed.path)
        self._workers.append(self._start())
        if crashed is not None:
            out.append(Finished(crashed, crashed=why))
        for task in w.tasks:  # not begun: the new process takes them
            self.submit(task)

    def close(self) -> None:
        """Stop every process: the ones that still work on a file are killed."""
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        deadline = time.monotonic() + STOP_SECONDS
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()) if not w.tasks else 0.5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(STOP_SECONDS)
            w.conn.close()
        self._workers = []

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
