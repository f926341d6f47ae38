"""Locks in the database (app/pipeline/locks.py): one holder at a time on every machine, a
live holder keeps its lock for as long as it works, a dead one frees it when its lease runs
out; and the duplicate scan takes turns through one, so two scans at once make neither
empty nor doubled groups. Runs on SQLite and, under `make test-scale`, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from PIL import Image, ImageFilter
from sqlalchemy import func, insert, select

from app.models import Duplicate, DuplicateGroup, File, LibraryLock, db
from app.pipeline import duplicates, locks
from app.pipeline.duplicates import scanning
from app.vocab import FileStatus, MediaKind

LEASE = 1.0
WAIT = 30


def _threads(app, *fns) -> list:
    """Run each fn in its own thread and app context (its own session and connection)."""
    results: list = [None] * len(fns)
    errors: list = []

    def body(i, fn):
        with app.app_context():
            try:
                results[i] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the test below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=body, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors, errors
    return results


def test_one_holder_at_a_time_the_next_one_waits(app):
    events: list[str] = []
    first_in = threading.Event()

    def first():
        with locks.hold("step", seconds=LEASE):
            events.append("first in")
            first_in.set()
            time.sleep(LEASE / 2)
            events.append("first out")

    def second():
        assert first_in.wait(WAIT)
        with locks.hold("step", seconds=LEASE):
            events.append("second in")
        events.append("second out")

    _threads(app, first, second)
    assert events == ["first in", "first out", "second in", "second out"]
    assert db.session.execute(select(LibraryLock)).first() is None  # released


def test_without_waiting_a_taken_lock_gives_nothing(app):
    with locks.hold("step", seconds=LEASE) as mine:
        assert mine is not None and locks.holder("step") == mine.owner
        [other] = _threads(app, lambda: _try_hold("step"))
        assert other is None
    [again] = _threads(app, lambda: _try_hold("step"))
    assert again == "held"


def _try_hold(name: str):
    with locks.hold(name, seconds=LEASE, wait=False) as lease:
        return None if lease is None else "held"


def test_the_heartbeat_keeps_a_lock_longer_than_its_lease(app):
    tries: list[bool] = []
    with locks.hold("step", seconds=LEASE) as mine:
        deadline = time.monotonic() + 3 * LEASE
        while time.monotonic() < deadline:
            tries.append(locks.try_acquire(db.engine, "step", "someone else", LEASE))
            time.sleep(LEASE / 4)
        assert not mine.lost.is_set()
    assert tries and not any(tries)


def test_a_dead_holders_lock_is_taken_over_when_its_lease_runs_out(app):
    past = datetime.now(UTC) - timedelta(seconds=1)
    db.session.execute(insert(LibraryLock).values(name="step", owner="gone:1:x", lease_until=past, acquired_at=past))
    db.session.commit()
    assert locks.holder("step") is None
    with locks.hold("step", seconds=LEASE, wait=False) as lease:
        assert lease is not None
    # a holder that stopped renewing (no heartbeat): free once its lease has run out
    assert locks.try_acquire(db.engine, "step", "stalled", LEASE)
    assert not locks.try_acquire(db.engine, "step", "next", LEASE)
    time.sleep(LEASE * 1.5)
    assert locks.try_acquire(db.engine, "step", "next", LEASE)
    assert db.session.execute(select(LibraryLock.owner)).scalar_one() == "next"


# --- the duplicate scan -----------------------------------------------------------------


def _picture(seed: int, size=(640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    detail = Image.fromarray((rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8))
    return Image.blend(img, detail.resize(size).filter(ImageFilter.GaussianBlur(2)), 0.3)


def _library_of_pairs(settings, pairs: int) -> None:
    """`pairs` pictures, each with a smaller re-compressed copy: `pairs` near-duplicate groups."""
    settings.thumbnails_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(pairs):
        original = _picture(100 + n)
        for copy, (key, image, quality) in enumerate(
            ((f"p{n}a", original, 90), (f"p{n}b", original.resize((320, 240)), 70))
        ):
            image.save(settings.thumbnails_dir / f"{key}-s.jpg", quality=quality)
            file_id = 2 * n + copy + 1
            rows.append(
                dict(
                    id=file_id, status=FileStatus.DONE, path=f"/photos/{key}.jpg", original_name=f"{key}.jpg",
                    sha256=f"{file_id:064x}", media_kind=MediaKind.IMAGE, ext="jpg", width=640, height=480,
                    size=200_000, mean_color=0x807060, contrast=40.0, thumb_key=key,
                )
            )  # fmt: skip
    db.session.execute(insert(File), rows)
    db.session.commit()


def test_two_scans_at_once_take_turns_no_empty_or_doubled_groups(app, settings, monkeypatch):
    pairs = 4
    _library_of_pairs(settings, pairs)
    inside, most = [0], [0]
    guard = threading.Lock()
    real_scan = scanning._scan

    def watched_scan(*args, **kwargs):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.3)  # long enough for the other scan to arrive while this one runs
            return real_scan(*args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(scanning, "_scan", watched_scan)
    reports = _threads(app, lambda: duplicates.scan_library(settings), lambda: duplicates.scan_library(settings))

    assert most[0] == 1  # the second scan waited for the first
    assert sorted(r.groups_touched for r in reports) == [0, pairs]  # and found the work done
    db.session.expire_all()
    groups = db.session.execute(select(DuplicateGroup.id)).scalars().all()
    assert len(groups) == pairs  # none doubled
    members = dict(db.session.execute(select(File.group_id, func.count()).group_by(File.group_id)).all())
    assert all(members.get(g) == 2 for g in groups)  # none empty, each holds its pair
    evidence = db.session.execute(select(Duplicate.group_id, func.count()).group_by(Duplicate.group_id)).all()
    assert sorted(n for _, n in evidence) == [1] * pairs
    assert db.session.execute(select(LibraryLock)).first() is None
