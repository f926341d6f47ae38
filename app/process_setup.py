"""What a MediaParser process sets once, where it starts: logging, Pillow's decompression-bomb
limit, and for an import's analysis processes their memory ceiling and the guarantee that they
end with their parent. Only entry points call this (run.py, worker.py, the `flask` command
line through `create_app()`, and an import's analysis processes through
`media.batch.serve`); no other code changes process-wide state."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import resource
import select
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PR_SET_PDEATHSIG = 1
M_ARENA_MAX = -8


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl" on every start
    logging.getLogger("huey").setLevel(logging.WARNING)  # a line per task run, every minute


def limit_image_pixels(max_pixels: int) -> None:
    """Pictures over `max_pixels` are refused as decompression bombs; 0 keeps Pillow's
    default (about 89 MP warns, twice that is refused)."""
    if max_pixels:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = max_pixels


def configure(settings: Settings) -> None:
    configure_logging()
    limit_image_pixels(settings.max_image_pixels)


def settle_heap() -> None:
    """Once a long-running process has started (the app, its modules, SQLAlchemy's mappings:
    about 150,000 objects), keep those objects out of the cycle collector's full passes. They
    live as long as the process, yet each full pass walks them all again: about 60 ms, a
    pause in whatever request or import step happens to trigger it."""
    gc.collect()
    gc.freeze()


# --- children end with their parent ----------------------------------------------------------


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when the thread that started it ends
    (Linux prctl PR_SET_PDEATHSIG). False where that is not available."""
    return _LIBC is not None and _LIBC.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def child_preexec():
    """A `preexec_fn` for helper programs (ffprobe, ffmpeg): they end when the process that
    started them dies, and they get the memory rules of a program, not of an analysis process
    (ffmpeg starts a thread per core; its own size checks and the caller's timeout bound it)."""
    parent = os.getpid()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)

    def run_in_child() -> None:
        die_with_parent()
        if os.getppid() != parent:  # the parent died between fork and prctl
            os._exit(1)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))

    return run_in_child if _LIBC is not None else None


def watch_parent(pid: int) -> threading.Thread | None:
    """End this process as soon as process `pid` ends, even in the middle of a long decode
    (the pipe to the parent only says so when the next file is asked for). A pidfd becomes
    readable when the process exits; without pidfds (Linux < 5.3), poll once a second."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is None and not _alive(pid):
        os._exit(1)

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(pid):
                threading.Event().wait(1.0)
        os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- memory ----------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters
MB = 1024 * 1024


def reuse_freed_memory() -> bool:
    """Let glibc's malloc keep the memory one picture's work freed, for the next picture:
    blocks up to 32 MB (a photo's bytes, its decoded pixels) come from the heap, and up to
    64 MB of freed heap is kept. By default each such block is a fresh mapping of the kernel's,
    returned at free and faulted in again page by page for the next photo (measured on 12-MP
    JPEGs: 2,700 page faults and 6 ms of CPU per photo, 11 % of its analysis). Larger blocks
    (a bomb's pixels) are still returned at once. Returns False where malloc is not glibc's."""
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 32 * MB)) and bool(mallopt(M_TRIM_THRESHOLD, 64 * MB))


def limit_address_space(budget_bytes: int) -> int | None:
    """Give this process a memory ceiling: what it has reserved now (Python, Pillow, numpy and
    their libraries, already imported) plus `budget_bytes` for the work. RLIMIT_AS counts
    reserved address space, not only memory in use, so each new thread's malloc arena (64 MB
    reserved by glibc) would eat into it: threads share two arenas instead. Past the ceiling
    an allocation fails (MemoryError: that file fails with a message) instead of the machine
    running out of memory. Returns the limit in bytes, None where it cannot be set."""
    if _LIBC is not None:
        _LIBC.mallopt(M_ARENA_MAX, 2)
    reserved = _status_kb("VmSize")
    if reserved is None or budget_bytes <= 0:
        return None
    limit = reserved * 1024 + budget_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return None
    return limit


def peak_memory_bytes() -> int:
    """The most memory this process has held at once (its resident high-water mark)."""
    kb = _status_kb("VmHWM")
    return kb * 1024 if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
