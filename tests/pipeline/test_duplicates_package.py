"""What the clean-up moved stays where it was put: the duplicates package's modules and the
names the rest of the app imports from it, the Settings the scan takes from its caller
(never from Flask's current_app), and the one batching helper (pipeline/sql.chunks)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from sqlalchemy import insert, select

from app.media import keeper
from app.models import DuplicateGroup, File, FileFingerprint, Job, LibraryLock, db
from app.pipeline import duplicates, jobs, sql, tagging
from app.pipeline.duplicates import describe, grouping, library, matching, scanning
from app.vocab import FileStatus, GroupKind, JobKind, JobStatus, MediaKind


def test_the_package_keeps_the_names_other_modules_import():
    assert duplicates.scan_library is scanning.scan_library
    assert duplicates.after_import is scanning.after_import
    assert duplicates.scan is scanning.scan
    assert duplicates.ScanReport is scanning.ScanReport
    assert duplicates.store_fingerprint is library.store_fingerprint
    assert duplicates.PROBES_VERSION == library.PROBES_VERSION
    assert duplicates.Shot is matching.Shot and duplicates.different_shots is matching.different_shots
    assert duplicates.keeper_candidate is describe.keeper_candidate
    assert jobs.HANDLERS[JobKind.DUPLICATES] is scanning.run_duplicates_job


def test_the_entry_points_take_settings_and_nothing_reads_current_app():
    for fn in (scanning.scan, scanning.scan_library, scanning.after_import):
        assert "settings" in inspect.signature(fn).parameters, fn.__name__
    for module in (library, matching, grouping, scanning, describe):
        assert "current_app" not in Path(module.__file__).read_text(), module.__name__


def test_batches_come_from_the_one_chunks_helper():
    for module in (library, matching, grouping, scanning, describe, tagging):
        assert module.chunks is sql.chunks, module.__name__
        assert not hasattr(module, "_chunks"), module.__name__
    assert [len(c) for c in sql.chunks(range(1201))] == [500, 500, 201]


def picture(seed: int, size=(640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    detail = Image.fromarray((rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8))
    return Image.blend(img, detail.resize(size).filter(ImageFilter.GaussianBlur(2)), 0.3)


def _file_row(i: int, thumb_key: str) -> dict:
    return dict(
        id=i,
        status=FileStatus.DONE,
        path=f"/photos/{i}.jpg",
        original_name=f"{i}.jpg",
        sha256=f"{i:064x}",
        media_kind=MediaKind.IMAGE,
        ext="jpg",
        width=640,
        height=480,
        size=200_000,
        mean_color=0x807060,
        contrast=40.0,
        thumb_key=thumb_key,
    )


def test_the_scan_uses_the_settings_it_is_given(app, settings, tmp_path):
    """Thumbnails (for fingerprints made afresh) come from the settings passed in: here
    another storage and instance folder than the app's own."""
    other = settings.with_overrides(storage_dir=tmp_path / "other-storage", instance_dir=tmp_path / "other-instance")
    other.thumbnails_dir.mkdir(parents=True)
    original = picture(1)
    original.save(other.thumbnails_dir / "a-s.jpg", quality=90)
    original.resize((320, 240)).save(other.thumbnails_dir / "b-s.jpg", quality=70)
    db.session.execute(insert(File), [_file_row(1, "a"), _file_row(2, "b")])
    db.session.commit()

    report = duplicates.scan_library(other)

    assert db.session.execute(select(LibraryLock)).first() is None  # the scan's lock is released
    assert db.session.execute(select(FileFingerprint.file_id)).scalars().all() == [1, 2]
    group = db.session.execute(select(DuplicateGroup)).scalar_one()
    assert group.kind == GroupKind.NEAR and report.groups_touched == 1
    assert sorted(db.session.execute(select(File.id).where(File.group_id == group.id)).scalars()) == [1, 2]


def test_the_job_handler_passes_the_jobs_settings(app, settings):
    job = jobs.create(JobKind.DUPLICATES, {"all": True})
    assert jobs.run(job.id) == "completed"
    done = db.session.get(Job, job.id)
    assert done.status == JobStatus.COMPLETED and "files compared" in done.message
    assert db.session.execute(select(LibraryLock)).first() is None


def test_tags_on_more_files_than_one_batch(app):
    n = 1201  # three batches of ids
    db.session.execute(insert(File), [_file_row(i, f"t{i}") for i in range(1, n + 1)])
    db.session.commit()
    ids = list(range(1, n + 1))
    added, batch = tagging.add_tags(ids, "holiday")
    assert added == n and tagging.tags_of(ids) == [("holiday", n)]
    assert tagging.undo(batch) == n and tagging.tags_of(ids) == []
    tagging.add_tags(ids, "holiday")
    removed, _ = tagging.remove_tags(ids, ["holiday"])
    assert removed == n and tagging.tags_of(ids) == []


def test_keeper_reasons_write_sizes_and_paths_the_one_way():
    small = keeper.Candidate(id=1, name="a.jpg", width=100, height=100, size=2_000_000, ext="jpg")
    large = keeper.Candidate(id=2, name="b.jpg", width=100, height=100, size=3_000_000, ext="jpg")
    assert keeper.recommend([small, large]) == (2, "Largest file, least compressed: 3.0 MB, the others at most 2.0 MB")
    deep = keeper.Candidate(id=1, name="a.jpg", relative_dir="x/y")
    flat = keeper.Candidate(id=2, name="a.jpg", relative_dir="x")
    kept, why = keeper.recommend([deep, flat])
    assert kept == 2 and why.endswith("(x/a.jpg)")
