"""The duplicate stage of one import into a big library: 100 new files against 100,000.

    python bench/duplicate_stage_bench.py [--library 100000] [--new 100] [--profile]

Builds a synthetic library in a temporary SQLite database (the photo-like fingerprints of
bench/duplicates_bench.py, 5 % copies, 1 % turned or mirrored versions), scans it once in
full (the admin re-run: it computes and stores every probe hash), then adds --new files as one
import (a fifth of them copies or versions of library pictures, one a byte-identical copy)
and times the import's duplicate stage (duplicates.after_import). Every picture has a camera
capture time, clustered in days out as in a real library (duplicates_bench.synthetic_times); a
copy keeps its original's, and a fifth of the new pictures were taken seconds from a library
picture (candidates for similar shots). Last, a full re-scan of a copy of the library checks
that the import's groups are the ones a full scan makes.
`--profile` prints the stage's cProfile top 25.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

# run as a script, its own folder is on the path: the sibling bench lends its synthetic library
from duplicates_bench import _fill_library, capture_time, synthetic_fingerprints, synthetic_times

from app.media import versions


def _new_pictures(old: np.ndarray, n: int, seed: int = 5) -> tuple[np.ndarray, list[int]]:
    """n new fingerprints: a fifth copies (brightened) or versions (turned) of library
    pictures, the rest new; and, per new picture, the library index it copies (-1: none)."""
    rng = np.random.default_rng(seed)
    fresh, _, _ = synthetic_fingerprints(n, seed=seed + 100)
    source = [-1] * n
    for k in range(0, n, 5):
        o = int(rng.integers(0, len(old)))
        source[k] = o
        if k % 10 == 0:
            fresh[k] = versions.transform(old[o], 2)
        else:
            fresh[k] = np.clip(old[o].astype(np.float32) * 1.05, 0, 255).astype(np.uint8)
    return fresh, source


def _new_times(source: list[int], library: int, seed: int = 8) -> list[int]:
    """Capture times of the new pictures: a copy or version keeps its original's; one in five
    of the others was taken 5-50 s from a library picture (the same day out); the rest, any time."""
    rng = np.random.default_rng(seed)
    old = synthetic_times(library)
    out = []
    for k, o in enumerate(source):
        if o >= 0:
            out.append(int(old[o]))
        elif k % 5 == 1:
            out.append(int(old[rng.integers(0, library)] + rng.integers(5, 50)))
        else:
            out.append(int(rng.choice(old) + rng.integers(-86400, 86400)))
    return out


def _add_import(fps: np.ndarray, first_id: int, copy_of: int, times: list[int]) -> int:
    """One import job holding the new files (ids from first_id) taken at `times`; the first is
    a byte copy of file `copy_of` (the same sha256). Returns the job id."""
    from sqlalchemy import insert

    from app.models import File, FileFingerprint, Job, db
    from app.vocab import FileStatus, JobKind, JobStatus, MediaKind, Precision

    job = Job(kind=JobKind.IMPORT, status=JobStatus.RUNNING, params={})
    db.session.add(job)
    db.session.flush()
    ids = range(first_id, first_id + len(fps))
    db.session.execute(
        insert(File),
        [
            dict(
                id=i,
                job_id=job.id,
                status=FileStatus.DONE,
                path=f"/synthetic/new/{i}.jpg",
                original_name=f"new{i}.jpg",
                sha256=f"{copy_of:064x}" if i == first_id else f"{i:064x}",
                media_kind=MediaKind.IMAGE,
                ext="jpg",
                width=4000,
                height=3000,
                size=3_000_000,
                mean_color=0x807060,
                contrast=45.0,
                taken_at=capture_time(times[i - first_id]),
                taken_source="exif:DateTimeOriginal",
                taken_precision=Precision.SECOND,
            )
            for i in ids
        ],
    )
    db.session.execute(insert(FileFingerprint), [{"file_id": i, "pixels": fps[i - first_id].tobytes()} for i in ids])
    db.session.commit()
    return job.id


def _groups() -> set[tuple[str, frozenset[int]]]:
    from sqlalchemy import select

    from app.models import DuplicateGroup, File, db

    members: dict[int, set[int]] = {}
    for fid, gid in db.session.execute(select(File.id, File.group_id).where(File.group_id.is_not(None))):
        members.setdefault(gid, set()).add(fid)
    kinds = dict(db.session.execute(select(DuplicateGroup.id, DuplicateGroup.kind)).all())
    return {(str(kinds[g]), frozenset(m)) for g, m in members.items()}


def _open(data: Path):
    from app import create_app
    from app.config import Settings

    settings = Settings.from_env(env={"MEDIAPARSER_DATA_DIR": str(data), "MEDIAPARSER_QUEUE": "memory"})
    return create_app(settings), settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the scanned library here and reuse it next time")
    args = parser.parse_args()

    from sqlalchemy import select

    from app.database import upgrade
    from app.models import File, Job, db
    from app.pipeline import companions, duplicates

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    data = Path(tempfile.mkdtemp(prefix="dupstage-bench-"))
    fps, planted, quarter = synthetic_fingerprints(args.library)
    new, source = _new_pictures(fps, args.new)
    source[0] = 0  # the byte copy of file 1 (below) keeps its time
    if args.keep and (args.keep / "mediaparser.db").exists():
        shutil.copytree(args.keep, data, dirs_exist_ok=True)
        print(f"library: {args.library:,} files, as scanned before in {args.keep}")
    else:
        app, settings = _open(data)
        upgrade(app)
        with app.app_context():
            _fill_library(fps, quarter)
            t = time.perf_counter()
            report = duplicates.scan_library(settings)
            print(f"library: {args.library:,} files; first full scan {time.perf_counter() - t:.1f} s ({report})")
            db.session.remove()
            db.engine.dispose()
        if args.keep:
            shutil.copytree(data, args.keep, dirs_exist_ok=True)
    app, settings = _open(data)
    t = time.perf_counter()
    upgrade(app)  # a kept library from before a new migration
    print(
        f"database upgrade (nothing to do, or the migrations since the library was kept): {time.perf_counter() - t:.1f} s"
    )
    with app.app_context():
        t = time.perf_counter()
        companions.link(settings)  # the first link after an upgrade is of the whole library, once
        print(f"first companion link after the upgrade (the whole library, once): {time.perf_counter() - t:.1f} s")
        job_id = _add_import(new, args.library + 1, copy_of=1, times=_new_times(source, args.library))
        db.session.remove()
        db.engine.dispose()
    rescan = Path(tempfile.mkdtemp(prefix="dupstage-rescan-"))
    shutil.copytree(data, rescan, dirs_exist_ok=True)  # the same library, for the full re-scan
    with app.app_context():
        job = db.session.get(Job, job_id)
        t = time.perf_counter()
        new_ids = db.session.execute(select(File.id).where(File.job_id == job_id)).scalars().all()
        linked = companions.link(settings, new_ids)
        print(f"companion step of the same import: {time.perf_counter() - t:.2f} s ({linked})")
        profile = cProfile.Profile() if args.profile else None
        t, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        duplicates.after_import(job, settings)
        if profile:
            profile.disable()
        stage, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(
            f"duplicate stage of an import of {args.new} files into {args.library:,}: {stage:.2f} s wall,"
            f" {cpu:.2f} s CPU  ({job.message})"
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        after_import = _groups()
        db.session.remove()
        db.engine.dispose()
    app2, settings2 = _open(rescan)
    with app2.app_context():
        t = time.perf_counter()
        duplicates.scan_library(settings2)
        print(f"full re-scan of the same library: {time.perf_counter() - t:.1f} s")
        full = _groups()
        db.session.remove()
        db.engine.dispose()
    print(f"groups after the import: {len(after_import):,}; the same as a full re-scan: {after_import == full}")
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(rescan, ignore_errors=True)


if __name__ == "__main__":
    main()
