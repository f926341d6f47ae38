"""The export job on a generated library: names, what is skipped and why, duplicates and
tags, the manifest, idempotence, dry run, full disk, pause/cancel, orphan adoption, and
the clean-up with its restore."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.media import archive_copy
from app.media.metadata_writer import PythonWriter
from app.models import File, Job, JobItem, db
from app.pipeline import export_batch, export_plan, exporter, importer, jobs, settings_store, trash
from tests.export_helpers import run_export, tree

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def jpeg_bytes(when: str | None, color, subsec: str | None = None, offset: str | None = None) -> bytes:
    image = Image.new("RGB", (48, 32), color)
    image.putpixel((0, 0), (1, 2, 3))
    buf = io.BytesIO()
    exif = Image.Exif()
    if when:
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = when
        if subsec:
            ifd[0x9291] = subsec
        if offset:
            ifd[0x9011] = offset
    image.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def by_name(name: str, relative_dir: str | None = None) -> File:
    query = select(File).where(File.original_name == name)
    if relative_dir is not None:
        query = query.where(File.relative_dir == relative_dir)
    return db.session.execute(query).scalar_one()


@pytest.fixture
def library(app, tmp_path):
    """A small folder import with the cases an export must get right."""
    root = tmp_path / "photos"
    holiday = root / "2019-06 Holiday"
    grandma = root / "Grandma"
    for folder in (holiday, grandma):
        folder.mkdir(parents=True)
    burst = jpeg_bytes("2019:06:15 14:30:05", "red", subsec="12", offset="+02:00")
    (holiday / "IMG_0001.JPG").write_bytes(burst)
    (grandma / "same as IMG_0001.jpg").write_bytes(burst)  # exact duplicate, another tag
    (holiday / "IMG_0002.jpg").write_bytes(jpeg_bytes("2019:06:15 14:30:05", "blue", subsec="45", offset="+02:00"))
    png = io.BytesIO()
    Image.new("RGB", (30, 20), "green").save(png, "PNG")
    (holiday / "Screenshot_20190616-101010.jpg").write_bytes(png.getvalue())  # a PNG named .jpg
    (root / "discard me.jpg").write_bytes(jpeg_bytes("2018:01:01 10:00:00", "yellow"))
    (root / "no date.jpg").write_bytes(jpeg_bytes(None, "white"))
    (root / "day only.jpg").write_bytes(jpeg_bytes(None, "gray"))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    # what review would have decided
    by_name("discard me.jpg").discarded = True
    undated = by_name("no date.jpg")  # e.g. an upload that came without a file time
    undated.taken_local = undated.taken_at = undated.taken_precision = undated.taken_source = None
    undated.confidence, undated.needs_review = "none", True
    day = by_name("day only.jpg")
    day.taken_local, day.taken_precision, day.taken_offset = "2018-03-04T00:00:00", "day", None
    day.taken_source, day.confidence, day.needs_review, day.time_decided = "folder", "low", False, True
    db.session.commit()
    return root


def manifest_by_output(output: Path) -> dict[str, dict]:
    return {r["output"]: r for r in export_plan.read_manifest(output)}


def test_export_names_skips_and_manifest(app, library, tmp_path):
    output = tmp_path / "archive"
    sources_before = tree(library)
    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert not output.exists()  # a dry run writes nothing
    reasons = {f.display: f.reason for f in plan.files if f.action == "skip"}
    copies = {"photos/Grandma/same as IMG_0001.jpg", "photos/2019-06 Holiday/IMG_0001.JPG"}
    [(copy, _)] = [(d, r) for d, r in reasons.items() if r == "same_content"]  # which copy speaks: import order
    assert copy in copies
    assert reasons == {copy: "same_content", "photos/discard me.jpg": "discarded", "photos/broken.jpg": "unreadable"}

    job = run_export(app, output)
    assert job.status == "completed", job.message
    files = tree(output)
    assert sorted(files) == [
        "2018/20180304_day only.jpg",
        "2019/20190615_143005.jpg",
        "2019/20190615_143005_450.jpg",
        "2019/20190616_101010.png",
        "2019/20190616_101010.png.xmp",
        "undated/no date.jpg",
    ]
    records = manifest_by_output(output)
    first = records["2019/20190615_143005.jpg"]
    assert first["tags"] == ["Grandma", "Holiday"]  # exact copies: one file, every tag
    assert {first["source_name"], *first["also"]} == copies
    assert first["capture"] == {
        "local": "2019-06-15T14:30:05.120000",
        "offset": 120,
        "precision": "second",
        "utc": "2019-06-15T12:30:05.120000+00:00",
    }
    assert (first["time_source"], first["confidence"], first["method"]) == ("exif:DateTimeOriginal", "high", "embed")
    assert first["sha256"] == hashlib.sha256((library / "2019-06 Holiday/IMG_0001.JPG").read_bytes()).hexdigest()
    assert first["output_sha256"] == files["2019/20190615_143005.jpg"][0]
    assert records["2019/20190616_101010.png"]["sidecar"] == "2019/20190616_101010.png.xmp"
    # the copy's file time is the capture instant; an undated copy keeps the original's
    assert (output / first["output"]).stat().st_mtime == pytest.approx(1560601805.12, abs=0.01)
    assert (output / "undated/no date.jpg").stat().st_mtime_ns == (library / "no date.jpg").stat().st_mtime_ns
    assert tree(library) == sources_before  # originals untouched

    # a second export writes nothing
    again = run_export(app, output)
    assert again.status == "completed"
    assert exporter.result_counts(again) == {
        "already_exported": 6 - 1,  # every exported picture (the sidecar is not a picture)
        "same_content": 1,
        "discarded": 1,
        "unreadable": 1,
    }
    assert tree(output) == files
    assert len(export_plan.read_manifest(output)) == 5


@needs_exiftool
def test_exported_metadata_reads_back_with_exiftool(app, library, tmp_path):
    output = tmp_path / "archive"
    run_export(app, output)
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-n", "-r", "-ext", "*", str(output)], capture_output=True, text=True, check=True
    )
    info = {Path(r["SourceFile"]).relative_to(output).as_posix(): r for r in json.loads(out.stdout)}
    first = info["2019/20190615_143005.jpg"]
    assert first["ExifIFD:DateTimeOriginal"] == "2019:06:15 14:30:05"
    assert first["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    assert first["XMP-dc:Subject"] == ["Grandma", "Holiday"]
    assert first["IPTC:Keywords"] == ["Grandma", "Holiday"]
    assert info["2019/20190615_143005_450.jpg"]["ExifIFD:SubSecTimeOriginal"] == 45
    day = info["2018/20180304_day only.jpg"]
    assert "ExifIFD:DateTimeOriginal" not in day and str(day["XMP-photoshop:DateCreated"]) == "2018:03:04"
    assert "ExifIFD:DateTimeOriginal" not in info["undated/no date.jpg"]
    assert info["2019/20190616_101010.png.xmp"]["XMP-exif:DateTimeOriginal"].startswith("2019:06:16 10:10:10")


def test_only_reviewed_setting_makes_doubtful_files_wait(app, library, tmp_path):
    settings_store.save({export_plan.SETTING_ONLY_REVIEWED: True})
    plan = export_plan.dry_run(tmp_path / "archive", app.config["MEDIAPARSER"])
    waiting = {f.display for f in plan.files if f.reason == "waiting_review"}
    assert "photos/no date.jpg" in waiting  # undated: waits instead of going to undated/
    assert "photos/day only.jpg" not in waiting  # a person decided its date
    assert not any(f.target and f.target.startswith("undated/") for f in plan.files)


def test_dry_run_reports_conflicts_and_space(app, library, tmp_path):
    output = tmp_path / "archive"
    (output / "2019").mkdir(parents=True)
    (output / "2019" / "20190615_143005.JPG").write_bytes(b"someone else's photo")
    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    targets = {f.sha256: f.target for f in plan.files if f.action == "export"}
    sha = hashlib.sha256((library / "2019-06 Holiday/IMG_0001.JPG").read_bytes()).hexdigest()
    assert targets[sha] == "2019/20190615_143005_120.jpg"
    assert any("20190615_143005.jpg already exists" in c for c in plan.conflicts)
    assert plan.bytes_needed > sum(f.size for f in plan.to_export) and plan.bytes_free > 0 and plan.enough_space
    job = run_export(app, output)
    assert (output / "2019" / "20190615_143005.JPG").read_bytes() == b"someone else's photo"
    assert job.status == "completed"


def test_refuses_storage_and_parallel_exports(app, library, tmp_path):
    settings = app.config["MEDIAPARSER"]
    with pytest.raises(exporter.ExportRefused, match="storage"):
        exporter.start_export(settings.storage_dir / "out", settings)
    with pytest.raises(exporter.ExportRefused, match="holds"):
        exporter.start_export(settings.instance_dir.parent, settings)
    first = exporter.start_export(tmp_path / "archive", settings)
    with pytest.raises(exporter.ExportRefused, match=f"Export job {first.id}"):
        exporter.start_export(tmp_path / "archive", settings)


def test_full_disk_fails_the_job_then_a_rerun_finishes(app, library, tmp_path, monkeypatch):
    output = tmp_path / "archive"
    monkeypatch.setattr(export_batch, "BATCH_FILES", 1)
    real_write = os.write
    written = []

    def fill_up(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(archive_copy.TMP_SUFFIX):  # archive files only
            written.append(len(data))
            if len(written) > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(archive_copy.os, "write", fill_up)
    monkeypatch.setattr(export_batch, "open_writer", PythonWriter)  # it writes through os.write
    job = run_export(app, output)
    assert job.status == "failed"
    assert "disk is full" in job.message and "run the export again" in job.message
    partial = tree(output)
    assert 0 < len(partial) < 6
    recorded = {r["output"]: r["output_sha256"] for r in export_plan.read_manifest(output)}
    for path, (sha, _mtime) in partial.items():  # nothing half-written under a final name
        assert path.endswith(".xmp") or recorded[path] == sha
    assert not [p for p in output.rglob("*.mptmp")]

    monkeypatch.setattr(archive_copy.os, "write", real_write)
    job2 = run_export(app, output)
    assert job2.status == "completed"
    reference = tmp_path / "reference"
    run_export(app, reference)
    assert tree(output) == tree(reference)


def test_pause_resume_and_cancel(app, library, tmp_path, monkeypatch):
    monkeypatch.setattr(export_batch, "BATCH_FILES", 1)
    output = tmp_path / "archive"
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    seen = []

    def pause_after_two(j):
        seen.append(j.id)
        if len(seen) == 2:
            jobs.pause(j.id)

    assert jobs.run(job.id, on_progress=pause_after_two) == "paused"
    db.session.refresh(job)
    assert job.status == "paused" and 0 < job.done < job.total
    assert jobs.resume(job.id)
    assert jobs.run(job.id) == "completed"
    assert len(tree(output)) == 6

    other = tmp_path / "other"
    job2 = exporter.start_export(other, app.config["MEDIAPARSER"])
    calls = []
    assert jobs.run(job2.id, on_progress=lambda j: calls.append(1) or (len(calls) == 1 and jobs.cancel(j.id))) == (
        "cancelled"
    )
    db.session.refresh(job2)
    assert job2.status == "cancelled"
    counts = exporter.result_counts(job2)
    assert counts["cancelled"] > 0 and counts.get("pending", 0) == 0
    records = {r["output"]: r["output_sha256"] for r in export_plan.read_manifest(other)}
    for path, (sha, _) in tree(other).items():
        assert path.endswith(".xmp") or records[path] == sha


def test_copy_renamed_by_a_killed_job_is_adopted_not_duplicated(app, library, tmp_path, monkeypatch):
    output = tmp_path / "archive"
    real_append = export_batch.append_manifest

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for SIGKILL between rename and manifest: nothing after runs

    monkeypatch.setattr(export_batch, "append_manifest", killed)
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    db.session.rollback()
    placed = tree(output)
    assert placed and not export_plan.read_manifest(output)
    # the person cancels the dead job instead of letting it resume, then exports again
    db.session.execute(Job.__table__.update().where(Job.id == job.id).values(lease_owner=None, status="cancelled"))
    db.session.commit()
    monkeypatch.setattr(export_batch, "append_manifest", real_append)
    job2 = run_export(app, output)
    assert job2.status == "completed"
    final = tree(output)
    assert {p: s for p, (s, _) in placed.items()}.items() <= {p: s for p, (s, _) in final.items()}.items()
    assert len(final) == 6  # no second copy of anything
    assert len(export_plan.read_manifest(output)) == 5


def test_cleanup_moves_exported_originals_to_trash_and_restore_puts_them_back(app, library, tmp_path):
    sources_before = tree(library)
    output = tmp_path / "archive"
    job = run_export(app, output, cleanup=True)
    assert job.status == "completed", job.message
    moved = trash.cleanup_counts(job.id)
    # both copies of IMG_0001 (their bytes are in the archive); not the discarded or broken ones
    assert moved["moved"] == 6
    remaining = {p for p in tree(library) if ".mediaparser-trash" not in p}
    assert remaining == {"broken.jpg", "discard me.jpg"}
    trash_dir = library.parent / "photos" / trash.TRASH_DIR / f"export-{job.id}"
    assert (trash_dir / trash.TRASH_MANIFEST).exists()
    lines = [json.loads(x) for x in (trash_dir / trash.TRASH_MANIFEST).read_text().splitlines()]
    assert {Path(x["original"]).name for x in lines} >= {"IMG_0001.JPG", "same as IMG_0001.jpg"}

    report = trash.restore(output)
    assert len(report["restored"]) == 6 and report["left"] == []
    assert {p: v for p, v in tree(library).items() if ".mediaparser-trash" not in p} == sources_before
    assert trash.restore(output)["restored"] == []  # idempotent


def test_cleanup_leaves_import_roots_alone_unless_allowed(app, library, tmp_path):
    settings = app.config["MEDIAPARSER"].with_overrides(import_roots=(library.resolve(),))
    app.config["MEDIAPARSER"] = settings
    job = run_export(app, tmp_path / "archive", cleanup=True)
    assert trash.cleanup_counts(job.id)["moved"] == 0
    items = db.session.execute(select(JobItem.result).where(JobItem.job_id == job.id)).scalars()
    assert any("read-only" in (r.get("cleanup") or {}).get("left", "") for r in items)
    settings_store.save({export_plan.SETTING_CLEANUP_IMPORT_ROOTS: "on"})
    job2 = run_export(app, tmp_path / "archive", cleanup=True)
    assert trash.cleanup_counts(job2.id)["moved"] == 6
