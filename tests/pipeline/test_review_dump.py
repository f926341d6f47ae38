"""A realistic family dump imported for real: camera photos in backup-named folders with
copied file times, WhatsApp pictures, scans, screenshots. The review must flag what needs a
person, for the right reason, and leave the good camera dates alone (at most 5% flagged)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from app.models import File, db
from app.pipeline import counts, importer, jobs, triage
from app.vocab import Confidence, ReviewReason
from tests.dump_helpers import make_dump


@pytest.fixture
def dump(app, tmp_path):
    made = make_dump(tmp_path / "Family photos")
    job = importer.start_folder_import(made.root, roots=None)
    assert jobs.run(job.id) == "completed"
    return made


def rows_by_path(dump) -> dict[str, File]:
    out = {}
    for f in db.session.execute(select(File)).scalars():
        out[f"{f.relative_dir}/{f.original_name}".split("/", 1)[1]] = f
    return out


def test_review_counts_by_reason(dump):
    summary = counts.summary()
    assert summary.files == len(dump.files)
    assert summary.by_reason == {
        ReviewReason.ONLY_FILE_TIME: len(dump.of("scan")),
        ReviewReason.CAMERA_VS_FOLDER: len(dump.of("camera_mismatch")),
        ReviewReason.DAY_ONLY_NAME: len(dump.of("whatsapp")),
    }
    assert summary.review == sum(summary.by_reason.values())
    rows = rows_by_path(dump)
    for f in dump.of("whatsapp"):
        assert rows[f.path].taken_local[:10] == f.taken.date().isoformat()
    for f in dump.of("screenshot"):
        assert not rows[f.path].needs_review and rows[f.path].taken_local == f.taken.isoformat()


def test_at_most_five_percent_of_good_camera_dates_are_flagged(dump):
    rows = rows_by_path(dump)
    camera = dump.camera
    flagged = [f.path for f in camera if rows[f.path].needs_review]
    assert len(flagged) / len(camera) <= 0.05, flagged
    for f in camera:  # and every camera date is the camera's, whatever the folder says
        assert rows[f.path].taken_local == f.taken.isoformat()
    placeholders = [r for r in rows.values() if r.camera_make == "HUAWEI"]
    assert placeholders and all(r.confidence == Confidence.HIGH for r in placeholders)


def test_triage_answers_the_dump_and_one_undo_reverts_each(dump, app):
    zone = app.config["MEDIAPARSER"].zone
    before = counts.summary().by_reason
    preview = triage.preview(ReviewReason.CAMERA_VS_FOLDER, triage.CONFIRM, zone)
    assert preview.count == 2 and {r["name"] for r in preview.rows} == {"DSC_0900.JPG", "DSC_0901.JPG"}
    with pytest.raises(ValueError, match="changed"):
        triage.apply(ReviewReason.CAMERA_VS_FOLDER, triage.CONFIRM, zone, expected=3)
    n, trusted = triage.apply(ReviewReason.CAMERA_VS_FOLDER, triage.CONFIRM, zone, expected=2)
    n_files, file_dates = triage.apply(ReviewReason.ONLY_FILE_TIME, triage.FILE_TIME, zone)
    n_day, days = triage.apply(ReviewReason.DAY_ONLY_NAME, triage.CONFIRM, zone)
    assert (n, n_files, n_day) == (2, 8, 12)
    assert counts.summary().review == 0
    scan = db.session.execute(select(File).where(File.original_name == "scan_001.png")).scalar_one()
    assert scan.time_decided and scan.taken_source == "mtime" and scan.taken_local.startswith("2024-03-01")

    from app.pipeline import decisions

    for batch in (days, file_dates, trusted):
        assert decisions.undo(batch) > 0
    assert counts.summary().by_reason == before
    db.session.expire_all()
    scan = db.session.execute(select(File).where(File.original_name == "scan_001.png")).scalar_one()
    assert not scan.time_decided and scan.needs_review


def test_leave_undated_drops_the_file_time_hint(dump, app):
    batch = triage.apply(ReviewReason.ONLY_FILE_TIME, triage.UNDATED, app.config["MEDIAPARSER"].zone)[1]
    scans = db.session.execute(select(File).where(File.original_name.like("scan_%"))).scalars().all()
    assert all(s.taken_at is None and s.time_decided and not s.needs_review for s in scans)
    assert counts.summary().undated == len(scans)
    from app.pipeline import decisions

    decisions.undo(batch)
    assert counts.summary().by_reason[ReviewReason.ONLY_FILE_TIME] == len(scans)


def test_tags_from_the_dump_skip_generic_folders(dump):
    from app.models import Tag

    names = set(db.session.execute(select(Tag.name)).scalars())
    assert names == {"Family photos", "Summer at the lake", "Holiday 2019", "Scans", "Oma"}
    kinds = Counter(f.kind for f in dump.files)
    assert kinds["camera"] > 70
