"""Linking companion files (Live Photos, RAW + JPEG, edits, sidecars) in a big library.

    python bench/companions_bench.py [--library 100000] [--new 100]

Fills a temporary SQLite library with --library imported photos (one in 20 a Live Photo with
its video, one in 50 a RAW + JPEG pair, one in 100 with an edit), links it once in full (the
first import after an upgrade), links it again with nothing new, then adds --new files (a
fifth of them the videos of Live Photos already in the library) and links them as an import
that ends does (only the sets its files can be in), and last the whole library once more (it
must find nothing left to do). Prints the seconds of each and the sets found.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _open(data: Path):
    from app import create_app
    from app.config import Settings

    settings = Settings.from_env(env={"MEDIAPARSER_DATA_DIR": str(data), "MEDIAPARSER_QUEUE": "memory"})
    return create_app(settings), settings


def _row(i: int, name: str, when: datetime, kind: str = "image", mime: str = "image/jpeg", **extra) -> dict:
    from app.media.companion_names import family_key
    from app.vocab import FileStatus

    return {
        "companion_key": family_key(name),  # as the recorder sets it
        "path": f"/photos/{i // 1000:03d}/{name}",
        "relative_dir": f"{i // 1000:03d}",
        "original_name": name,
        "status": FileStatus.DONE,
        "mime": mime,
        "media_kind": kind,
        "taken_at": when,
        "confidence": "high",
        "camera_make": "Apple",
        "camera_model": "iPhone 12",
        "sha256": f"{i:064x}",
        "size": 2_000_000,
        **extra,
    }


START = datetime(2015, 1, 1, tzinfo=UTC)


def _rows(first: int, n: int, video_every: int = 20) -> list[dict]:
    rows = []
    for i in range(first, first + n):
        when = START + timedelta(minutes=37 * i)
        stem = f"IMG_{i:06d}"
        rows.append(_row(i, f"{stem}.JPG", when))
        if i % video_every == 0:
            rows.append(_row(10_000_000 + i, f"{stem}.MOV", when, "video", "video/quicktime", duration=2.5))
        if i % 50 == 1:
            rows.append(_row(20_000_000 + i, f"{stem}.CR2", when, mime="image/x-canon-cr2"))
        if i % 100 == 2:
            rows.append(_row(30_000_000 + i, f"{stem}-edited.JPG", when))
    return rows


def _timed(label: str, fn) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    report = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<34} {wall:6.2f} s wall, {cpu:6.2f} s CPU   {report}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    args = parser.parse_args()

    from sqlalchemy import func, insert, select

    from app.database import upgrade
    from app.models import File, db
    from app.pipeline import companions

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    app, settings = _open(Path(tempfile.mkdtemp(prefix="companions-bench-")))
    upgrade(app)
    with app.app_context():
        rows = _rows(0, args.library)
        for k in range(0, len(rows), 5000):
            db.session.execute(insert(File), rows[k : k + 5000])
        db.session.commit()
        files = db.session.execute(select(func.count()).select_from(File)).scalar()
        print(f"library: {files:,} files ({args.library:,} photos with their videos, RAWs and edits)")
        _timed("first link of the whole library", lambda: companions.link(settings))
        _timed("again, nothing new", lambda: companions.link(settings))
        # new photos, and the videos of a fifth as many Live Photos already in the library
        late = [k * 20 + 7 for k in range(args.new // 5)]
        videos = [_row(40_000_000 + i, f"IMG_{i:06d}.MOV", START + timedelta(minutes=37 * i), "video",
                       "video/quicktime", duration=2.5) for i in late]  # fmt: skip
        new = list(
            db.session.execute(insert(File).returning(File.id), _rows(args.library, args.new) + videos).scalars()
        )
        db.session.commit()
        _timed(f"an import of {len(new)} new files ends", lambda: companions.link(settings, new))
        _timed("the whole library again", lambda: companions.link(settings))


if __name__ == "__main__":
    main()
