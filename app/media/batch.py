"""The per-file function the import's worker processes run (pure: no Flask, no database).

Worker processes are started once per job with `start_process()`; each task is a small
tuple so that sending it costs nothing, and the result is the `Analysis` (thumbnails are
already written to disk by the worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..process_setup import limit_image_pixels
from . import analyze as media

_STATE: dict = {}


@dataclass(frozen=True)
class Task:
    file_id: int
    path: str
    name: str
    relative_dir: str
    mtime: datetime | None


def init(known: frozenset[str], zone: str, thumb_root: str) -> None:
    """What every task of this job shares (in a pool process, or inline in the worker)."""
    _STATE.update(known=known, zone=ZoneInfo(zone), thumb_root=Path(thumb_root))


def start_process(known: frozenset[str], zone: str, thumb_root: str, max_pixels: int) -> None:
    """An analysis process's entry point (the pool's initializer): set the process up, then `init`."""
    limit_image_pixels(max_pixels)
    init(known, zone, thumb_root)


def run(task: Task) -> tuple[int, media.Analysis]:
    return task.file_id, media.analyze(
        task.path,
        zone=_STATE["zone"],
        name=task.name,
        relative_dir=task.relative_dir,
        mtime=task.mtime,
        thumb_root=_STATE["thumb_root"],
        known_sha256=_STATE["known"],
    )
