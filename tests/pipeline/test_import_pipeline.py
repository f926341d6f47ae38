"""The import job on a real SQLite database (WAL): discovery, processing, exact duplicates,
import roots, pause/resume/cancel, take-over of a dead worker's job, and uploads."""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from app import create_app
from app.media import batch
from app.models import File, FileTag, Job, Tag, db
from app.pipeline import import_process, importer, jobs, storage
from tests.conftest import make_settings


def photo(path: Path, colour=(200, 30, 30), size=(320, 240), taken: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    image.paste((colour[2], colour[0], colour[1]), (0, 0, size[0] // 3, size[1] // 2))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    image.save(path, "JPEG", exif=exif)
    return path


def files_by_name() -> dict[str, File]:
    return {f.original_name: f for f in db.session.execute(select(File)).scalars()}


def assert_each_file_once(job: Job, expected_names: set[str]) -> None:
    rows = db.session.execute(select(File).where(File.job_id == job.id)).scalars().all()
    assert sorted(r.original_name for r in rows) == sorted(expected_names)  # one row per file
    assert all(r.status != "pending" for r in rows)
    db.session.refresh(job)
    assert job.status == "completed"
    # the counters were bumped in the same transactions that recorded the files: a file
    # recorded twice would show here
    assert job.done == job.total == len(rows)
    assert job.errors == sum(r.status == "error" for r in rows)
    assert job.duplicates == sum(r.status == "duplicate" for r in rows)


@pytest.mark.sqlite
def test_database_is_sqlite_in_wal_mode_with_foreign_keys(app):
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_folder_import_records_everything(app, tmp_path):
    root = tmp_path / "Family"
    photo(root / "2019-06 Holiday" / "IMG_20190615_143000.jpg")
    photo(root / "2019-06 Holiday" / "beach {anna,sea}.jpg", colour=(20, 90, 200), taken="2019:06:16 10:00:00")
    (root / "2019-06 Holiday" / "notes.txt").write_text("packing list")
    (root / ".hidden.jpg").write_bytes(b"\xff\xd8\xff")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # what a Mac leaves behind: left out quietly
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    rows = files_by_name()
    assert set(rows) == {"IMG_20190615_143000.jpg", "beach {anna,sea}.jpg", "notes.txt", ".hidden.jpg"}
    hidden = rows.pop(".hidden.jpg")
    assert hidden.status == "skipped" and "hidden file" in hidden.error and hidden.sha256 is None
    first = rows["IMG_20190615_143000.jpg"]
    assert first.status == "done" and first.relative_dir == "Family/2019-06 Holiday"
    assert first.taken_local == "2019-06-15T14:30:00" and first.taken_source.startswith("filename")
    assert first.thumb_key and (app.config["MEDIAPARSER"].thumbnails_dir / f"{first.thumb_key}-s.jpg").exists()
    assert first.mtime is not None and first.sha256 and first.phash is not None
    beach = rows["beach {anna,sea}.jpg"]
    assert beach.confidence == "high" and beach.taken_local == "2019-06-16T10:00:00"
    assert {t.name for t in beach.tags} == {"anna", "sea", "Family", "Holiday"}  # the case people wrote
    assert rows["notes.txt"].status == "skipped" and "Not a photo" in rows["notes.txt"].error
    assert_each_file_once(job, {*rows, ".hidden.jpg"})


def test_the_import_logs_how_much_memory_its_analysis_processes_held(app, tmp_path, caplog):
    """Read after the pool closed (before, the figure was always 0 bytes)."""
    photo(tmp_path / "in" / "a.jpg")
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    with caplog.at_level("INFO", logger="app.pipeline.import_process"):
        assert jobs.run(job.id) == "completed"
    (line,) = [r.getMessage() for r in caplog.records if "held at most" in r.getMessage()]
    assert line.endswith(" MB"), line  # a Python process holds megabytes, never "0 bytes"


def test_exact_duplicates_are_recorded_against_the_first_copy(app, tmp_path):
    original = photo(tmp_path / "a" / "DSC_0001.jpg", taken="2018:01:02 03:04:05")
    job1 = importer.start_folder_import(tmp_path / "a", roots=None)
    jobs.run(job1.id)
    copy = tmp_path / "b" / "IMG-20180102-WA0003.jpg"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    shutil.copy(original, tmp_path / "b" / "again.jpg")
    job2 = importer.start_folder_import(tmp_path / "b", roots=None)
    assert jobs.run(job2.id) == "completed"
    rows = files_by_name()
    first = rows["DSC_0001.jpg"]
    for name in ("IMG-20180102-WA0003.jpg", "again.jpg"):
        dup = rows[name]
        assert dup.status == "duplicate" and dup.exact_of_id == first.id
        assert (dup.sha256, dup.phash, dup.thumb_key, dup.width) == (
            first.sha256,
            first.phash,
            first.thumb_key,
            first.width,
        )
        assert dup.taken_local == "2018-01-02T03:04:05"  # the bytes' EXIF date
    # its own name is evidence too: the WhatsApp day is among its candidates
    assert any(c["source"].startswith("filename") for c in rows["IMG-20180102-WA0003.jpg"].time_candidates)
    assert_each_file_once(job2, {"IMG-20180102-WA0003.jpg", "again.jpg"})


def test_identical_files_in_one_import(app, tmp_path):
    a = photo(tmp_path / "in" / "one.jpg")
    shutil.copy(a, tmp_path / "in" / "two.jpg")
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    jobs.run(job.id)
    rows = files_by_name()
    assert {rows["one.jpg"].status, rows["two.jpg"].status} == {"done", "duplicate"}
    assert_each_file_once(job, {"one.jpg", "two.jpg"})


def test_import_roots_are_enforced(tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "escape").symlink_to(outside, target_is_directory=True)
    roots = (allowed.resolve(),)
    assert importer.check_import_path(allowed / "sub", roots)[0] == (allowed / "sub").resolve()
    for bad in (outside, allowed / ".." / "outside", allowed / "escape", "/etc"):
        with pytest.raises(importer.ImportRefused, match="outside"):
            importer.check_import_path(bad, roots)
    with pytest.raises(importer.ImportRefused, match="not found"):
        importer.check_import_path(allowed / "missing", roots)
    with pytest.raises(importer.ImportRefused, match="No import folders"):
        importer.check_import_path(allowed, ())


def test_symlinked_file_leading_outside_is_not_followed(app, tmp_path):
    secret = photo(tmp_path / "private" / "secret.jpg")
    photo(tmp_path / "share" / "ok.jpg")
    (tmp_path / "share" / "link.jpg").symlink_to(secret)
    job = importer.start_folder_import(tmp_path / "share", roots=None)
    jobs.run(job.id)
    rows = files_by_name()
    assert rows["link.jpg"].status == "skipped" and "outside" in rows["link.jpg"].error
    assert rows["link.jpg"].sha256 is None  # never read
    assert rows["ok.jpg"].status == "done"


def test_corpus_bad_files_go_through_cleanly(app, corpus):
    job = importer.start_folder_import(corpus / "bad", roots=None)
    assert jobs.run(job.id) == "completed"
    rows = db.session.execute(select(File).where(File.job_id == job.id)).scalars().all()
    errors = [r for r in rows if r.status == "error"]
    assert errors and all(r.error and len(r.error) > 15 for r in errors)
    by_name = {r.original_name: r for r in rows}
    assert by_name["empty.heic"].error.startswith("Empty file")
    assert "megapixels" in by_name["decompression_bomb.gif"].error
    assert by_name["hopper_bad_exif.jpg"].status == "done"  # bad metadata, fine picture
    for r in errors:
        print(f"{r.relative_dir}/{r.original_name}: {r.error}")


def _slow_batches(monkeypatch):
    monkeypatch.setattr(import_process, "BATCH_FILES", 2)
    monkeypatch.setattr(import_process, "BATCH_SECONDS", 0.0)


def test_pause_and_resume_between_files(app, tmp_path, monkeypatch):
    _slow_batches(monkeypatch)
    names = {f"p{i:02d}.jpg" for i in range(12)}
    for i, name in enumerate(sorted(names)):
        photo(tmp_path / "in" / name, colour=(i * 20, 100, 50))
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    paused = []

    def pause_once(j):
        if not paused and j.id == job.id:
            paused.append(jobs.pause(job.id))

    assert jobs.run(job.id, on_progress=pause_once) == "paused"
    db.session.refresh(job)
    assert job.status == "paused" and 0 < job.done < 12 and job.lease_owner is None
    assert jobs.run(job.id) is None  # a paused job is not run until resumed
    assert jobs.resume(job.id)
    assert jobs.run(job.id) == "completed"
    assert_each_file_once(job, names)
    progress = jobs.progress(job)
    assert progress["percent"] == 100.0 and progress["total"] == 12


def test_cancel_skips_the_rest_with_a_reason(app, tmp_path, monkeypatch):
    _slow_batches(monkeypatch)
    for i in range(8):
        photo(tmp_path / "in" / f"c{i}.jpg", colour=(i * 30, 10, 10))
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    assert jobs.run(job.id, on_progress=lambda j: jobs.cancel(job.id)) == "cancelled"
    rows = db.session.execute(select(File).where(File.job_id == job.id)).scalars().all()
    db.session.refresh(job)
    assert job.status == "cancelled" and job.finished_at is not None
    skipped = [r for r in rows if r.status == "skipped"]
    assert skipped and all("cancelled" in r.error for r in skipped)
    assert not [r for r in rows if r.status == "pending"]


def test_a_dead_workers_job_is_taken_over_and_finished_once(app, tmp_path, monkeypatch):
    _slow_batches(monkeypatch)
    names = {f"k{i}.jpg" for i in range(6)}
    for i, name in enumerate(sorted(names)):
        photo(tmp_path / "in" / name, colour=(10, i * 40, 10))
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    # the first worker stops after its first batch, as if it had been killed ...
    jobs.SHUTDOWN.set()
    try:
        assert jobs.run(job.id) == "interrupted"
    finally:
        jobs.SHUTDOWN.clear()
    db.session.refresh(job)
    done_before = job.done
    assert 0 < done_before < 6
    # ... and left a lease behind that its heartbeat no longer renews: it ran out
    job.status, job.lease_owner = "running", f"{jobs.HOST}:99999999:dead"
    job.lease_until = datetime(2000, 1, 1, tzinfo=UTC)
    db.session.commit()
    assert jobs.recoverable_ids() == [job.id]
    assert jobs.run(job.id) == "completed"
    assert_each_file_once(job, names)


def test_a_live_workers_job_is_not_taken(app, tmp_path):
    photo(tmp_path / "in" / "x.jpg")
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    job.status, job.lease_owner = "running", f"{jobs.HOST}:{os.getpid()}:alive"
    job.lease_until = datetime(2999, 1, 1, tzinfo=UTC)
    db.session.commit()
    assert jobs.recoverable_ids() == []
    assert jobs.run(job.id) is None


def test_import_with_a_process_pool(tmp_path, _template_db):
    """Two worker processes (forkserver), one writer: the same result as inline."""
    settings = make_settings(tmp_path / "data", MEDIAPARSER_WORKERS=2)
    settings.instance_dir.mkdir(parents=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    names = {f"w{i}.jpg" for i in range(10)}
    for i, name in enumerate(sorted(names)):
        photo(tmp_path / "in" / name, colour=(i * 25, 200 - i * 10, 90))
    app = create_app(settings)
    with app.app_context():
        job = importer.start_folder_import(tmp_path / "in", roots=None)
        assert jobs.run(job.id) == "completed"
        assert_each_file_once(job, names)
        db.session.remove()
        db.engine.dispose()


def test_analysis_processes_take_the_pixel_limit_from_settings(tmp_path, _template_db):
    """The pool's initializer is the analysis processes' entry point: the limit is set
    there, and the process that runs the job keeps its own."""
    settings = make_settings(tmp_path / "data", MEDIAPARSER_WORKERS=2, MEDIAPARSER_MAX_IMAGE_PIXELS=50_000)
    settings.instance_dir.mkdir(parents=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    photo(tmp_path / "in" / "small.jpg", size=(120, 90))
    photo(tmp_path / "in" / "large.jpg", size=(400, 300))  # 120,000 pixels: over twice the limit
    limit_before = Image.MAX_IMAGE_PIXELS
    app = create_app(settings)
    with app.app_context():
        job = importer.start_folder_import(tmp_path / "in", roots=None)
        assert jobs.run(job.id, settings) == "completed"
        found = files_by_name()
        assert found["small.jpg"].status == "done"
        assert found["large.jpg"].status == "error" and "opened safely" in found["large.jpg"].error
        db.session.remove()
        db.engine.dispose()
    assert limit_before == Image.MAX_IMAGE_PIXELS


def test_failed_job_says_why(app, tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    job = importer.start_folder_import(folder, roots=None)
    folder.rmdir()
    assert jobs.run(job.id) == "failed"
    db.session.refresh(job)
    assert job.status == "failed" and "no longer there" in job.message


# --- uploads -----------------------------------------------------------------------------


def _jpeg_bytes(colour=(1, 2, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def test_uploads_are_stored_once_by_content(app, settings):
    data = _jpeg_bytes()
    first = storage.store_upload(io.BytesIO(data), settings)
    second = storage.store_upload(io.BytesIO(data), settings)
    assert first.is_new and not second.is_new and first.path == second.path
    assert first.path.read_bytes() == data and first.path.parent.parent.parent == settings.originals_dir
    assert first.path.name == f"{first.sha256}.jpg"
    assert not any(settings.incoming_dir.iterdir())  # no temporary file left behind
    with pytest.raises(storage.UploadRefused, match="Not a photo"):
        storage.store_upload(io.BytesIO(b"%PDF-1.4 a document"), settings)
    with pytest.raises(storage.UploadRefused, match="empty"):
        storage.store_upload(io.BytesIO(b""), settings)


def test_uploaded_files_are_imported_with_their_names_folders_and_times(app, settings):
    job = storage.upload_job()
    modified = datetime(2015, 7, 1, 12, 0, tzinfo=UTC)
    data = _jpeg_bytes((9, 9, 9))
    for rel in ("Trip {alps}/IMG_20150701_120000.jpg", "Trip {alps}/copy.jpg", "../../etc/passwd.jpg"):
        stored = storage.store_upload(io.BytesIO(data), settings)
        storage.add_upload(job, stored, rel.rsplit("/", 1)[-1], rel, modified)
    # the browser retried one file: nothing new
    storage.add_upload(job, stored, "passwd.jpg", "../../etc/passwd.jpg", modified)
    assert jobs.run(job.id) == "completed"
    rows = files_by_name()
    assert rows["IMG_20150701_120000.jpg"].relative_dir == "Trip {alps}"
    assert rows["passwd.jpg"].relative_dir == "etc"  # '..' dropped: data, never a path
    assert rows["IMG_20150701_120000.jpg"].source == "upload"
    assert rows["copy.jpg"].mtime == modified
    assert {s for r in rows.values() for s in [r.status]} == {"done", "duplicate"}
    assert db.session.execute(select(func.count()).select_from(File)).scalar() == 3
    tag_names = {t.name for t in db.session.execute(select(Tag).join(FileTag)).scalars()}
    assert "alps" in tag_names
    # a file arriving after the job finished reopens it
    late = storage.store_upload(io.BytesIO(_jpeg_bytes((200, 0, 0))), settings)
    storage.add_upload(job, late, "late.jpg", "late.jpg", None)
    db.session.refresh(job)
    assert job.status == "pending"
    assert jobs.run(job.id) == "completed"
    assert files_by_name()["late.jpg"].status == "done"


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_files_trickling_in_during_an_upload_import_are_taken_up_by_one_loop_and_one_pool(app, settings, monkeypatch):
    """A browser still uploading while the worker catches up: the same loop and the same pool
    of analysis processes take the new files up (no call of itself per catch-up, no new pool)."""
    _slow_batches(monkeypatch)
    pools = []
    real_init = batch.AnalysisPool.__init__

    def counting_init(self, *args, **kwargs):
        pools.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(batch.AnalysisPool, "__init__", counting_init)
    job = storage.upload_job()
    sent = []

    def upload(n: int) -> None:
        for _ in range(n):
            i = len(sent)
            data = _jpeg_bytes((i % 256, (i * 7) % 256, (i * 13) % 256))
            stored = storage.store_upload(io.BytesIO(data), settings)
            sent.append(storage.add_upload(job, stored, f"t{i:03d}.jpg", f"Trickle/t{i:03d}.jpg", None).id)

    depths = []

    def trickle(j):
        depths.append(_stack_depth())
        if len(sent) < 160:
            upload(2)

    upload(2)
    assert jobs.run(job.id, on_progress=trickle) == "completed"
    assert len(sent) == 160 and len(depths) > 60
    assert max(depths) - min(depths) <= 2, f"the import called itself: stack depth {min(depths)}..{max(depths)}"
    assert len(pools) == 1
    assert_each_file_once(job, {f"t{i:03d}.jpg" for i in range(160)})


def test_an_import_stopped_by_a_problem_can_be_resumed_from_the_jobs_page(app, client, tmp_path, monkeypatch):
    for i in range(4):
        photo(tmp_path / "in" / f"r{i}.jpg", colour=(i * 50, 10, 10))
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    real = import_process.analyze

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(import_process, "analyze", broken)
    assert jobs.run(job.id) == "failed"
    db.session.refresh(job)
    assert job.status == "failed" and "disk went away" in job.message and job.done < job.total
    monkeypatch.setattr(import_process, "analyze", real)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
    answer = client.post(f"/api/jobs/{job.id}/resume", json={}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    db.session.refresh(job)
    assert job.status == "completed" and "disk went away" not in (job.message or "")
    assert_each_file_once(job, {f"r{i}.jpg" for i in range(4)})


def test_a_share_of_an_import_can_be_analyzed_by_itself(app, settings, tmp_path):
    """What a queue task running part of an import calls: only the files it is given."""
    for i in range(6):
        photo(tmp_path / "in" / f"s{i}.jpg", colour=(10, i * 40, 200))
    job = importer.start_folder_import(tmp_path / "in", roots=None)
    job.lease_owner = "test"  # as the runner that took the job holds it
    db.session.commit()
    ctx = jobs.JobContext(job, "test", settings)
    importer.discover(ctx)
    ids = db.session.execute(select(File.id).where(File.job_id == job.id).order_by(File.id)).scalars().all()
    assert import_process.analyze_files(ctx, ids[:2]) == "run"
    statuses = dict(db.session.execute(select(File.id, File.status).where(File.job_id == job.id)).all())
    assert [statuses[i] for i in ids] == ["done", "done", "pending", "pending", "pending", "pending"]
    assert import_process.analyze_files(ctx, ids) == "run"
    assert {s for _, s in db.session.execute(select(File.id, File.status).where(File.job_id == job.id))} == {"done"}
    db.session.refresh(job)
    assert job.done == 6  # each counted once


def test_a_file_the_last_flush_hands_back_is_analyzed_again_before_the_stream_ends(tmp_path):
    """The writer hands a file back (its copy, found later, was recorded first by another
    worker: this one is the original and is analyzed in full). When that happens in the very
    last flush, the file still goes through the processes again, else its batch never ends."""

    class HandsBackOnce:
        def __init__(self):
            self.recorded: list[list[int]] = []

        def record(self, results):
            self.recorded.append([file_id for file_id, _ in results])
            return [results[-1][0]] if len(self.recorded) == 1 else []

    class Running:
        def checkpoint(self):
            return jobs.JobControl.RUN

    picture = tmp_path / "IMG_1.jpg"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(picture)
    setup = batch.Setup(known=frozenset(), zone="UTC", thumb_root=str(tmp_path / "thumbs"))
    recorder = HandsBackOnce()
    run = import_process.Importing(Running(), setup, 1, recorder)
    with batch.AnalysisPool(setup, 1) as pool:
        tasks = iter([batch.Task(1, str(picture), picture.name, "", None)])
        assert import_process.analyze(run, pool, tasks) == jobs.JobControl.RUN
        assert pool.in_flight == 0
    assert recorder.recorded == [[1], [1]], "handed back in the last flush, analyzed and recorded again"
