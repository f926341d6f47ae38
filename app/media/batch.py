"""The per-file function the import's worker processes run (pure: no Flask, no database).

Worker processes are started once per job with `init()`; each task is a small tuple so
that sending it costs nothing, and the result is the `Analysis` (thumbnails are already
written to disk by the worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from . import analyze as media

_STATE: dict = {}


@dataclass(frozen=True)
class Task:
    file_id: int
    path: str
    name: str
    relative_dir: str
    mtime: datetime | None


def init(known: frozenset[str], zone: str, thumb_root: str, max_pixels: int) -> None:
    _STATE.update(known=known, zone=ZoneInfo(zone), thumb_root=Path(thumb_root), max_pixels=max_pixels)


def run(task: Task) -> tuple[int, media.Analysis]:
    return task.file_id, media.analyze(
        task.path,
        zone=_STATE["zone"],
        name=task.name,
        relative_dir=task.relative_dir,
        mtime=task.mtime,
        thumb_root=_STATE["thumb_root"],
        known_sha256=_STATE["known"],
        max_image_pixels=_STATE["max_pixels"],
    )
