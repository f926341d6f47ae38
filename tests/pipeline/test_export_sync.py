"""The archive follows the library: a re-export brings it in step. Real files, the real
import and export jobs, and exiftool reading the copies back.

- a `cp`-copied folder: files whose only date is the copy day go to undated/ under their
  own names, with no written capture date; the "No date" filter finds them;
- fix a date -> export again: the copy is rewritten under its new name, the old name is
  gone from the dated tree (the old copy is in the archive's trash);
- tags change -> rewritten in place; a PNG's new tags: only its sidecar is new (the copy
  is renamed, not copied); left out -> retired to the archive's trash;
- a copy someone changed in the archive is never overwritten: it is reported;
- the dry run says "N new, M updated, K retired" and lists the renames.
"""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import select

from app.models import File, Job, Tag, db
from app.pipeline import export_batch, export_plan, exporter, importer, jobs, timefix
from app.vocab import Confidence
from app.web.queries import Filters, matching_ids
from tests.export_helpers import (
    assert_archive_agrees,
    comparable,
    exiftool,
    needs_exiftool,
    photo,
    run_export,
    tree,
    write,
)

COPY_DAY = datetime(2026, 11, 29, 14, 13, 56, tzinfo=UTC)  # when `cp` ran: every file time


def by_name(name: str) -> File:
    return db.session.execute(select(File).where(File.original_name == name)).scalar_one()


@pytest.fixture
def dump(app, tmp_path):
    """A family dump copied with a plain `cp`: every file time is the copy day."""
    root = tmp_path / "dump"
    write(root / "portrait_1.jpg", photo("red"), COPY_DAY)
    write(root / "Kids" / "portrait_1.jpg", photo("orange"), COPY_DAY)  # same name, other folder
    for i in range(2):
        tiff = io.BytesIO()
        Image.new("RGB", (20, 10), (i * 90, 40, 40)).save(tiff, "TIFF")
        write(root / "Scans" / "Oma" / f"oma_{i}.tiff", tiff.getvalue(), COPY_DAY)
    write(root / "DCIM" / "DSC_0001.JPG", photo("blue", "2019:06:15 14:30:05", make="NIKON D90"), COPY_DAY)
    write(root / "2018-03-04 Party" / "cake.jpg", photo("green"), datetime(2018, 3, 4, 17, 5, tzinfo=UTC))
    png = io.BytesIO()
    Image.new("RGB", (30, 20), "purple").save(png, "PNG")
    write(root / "Screenshot_20190616-101010.png", png.getvalue(), COPY_DAY)
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    return root


def test_a_file_time_alone_is_no_date_and_goes_to_undated_under_its_own_name(app, dump, tmp_path):
    portrait = by_name("oma_0.tiff")
    assert portrait.confidence == Confidence.NONE and portrait.needs_review
    assert portrait.taken_source == "mtime" and portrait.taken_local.startswith("2026-11-29")  # the hint stays
    zone = app.config["MEDIAPARSER"].zone
    no_date = {db.session.get(File, i).original_name for i in matching_ids(Filters(confidence=["none"]), zone)}
    assert no_date == {"portrait_1.jpg", "oma_0.tiff", "oma_1.tiff"}
    cake = by_name("cake.jpg")  # a folder day with the file time on it: the two agree
    assert (cake.taken_source, cake.confidence) == ("mtime", Confidence.MEDIUM)

    output = tmp_path / "archive"
    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert plan.in_step() == "7 new, 0 updated, 0 retired"
    job = run_export(app, output)
    assert job.status == "completed", job.message
    files = tree(output)
    assert {p for p in files if p.startswith("undated/")} == {
        "undated/portrait_1.jpg",
        "undated/portrait_1_1.jpg",  # a collision gets a stable suffix
        "undated/oma_0.tiff",
        "undated/oma_0.tiff.xmp",  # the folder's tag, no date
        "undated/oma_1.tiff",
        "undated/oma_1.tiff.xmp",
    }
    assert "2018/20180304_cake.jpg" in files  # the day only: the file time's clock is never stated
    assert "2019/20190615_143005.jpg" in files and "2019/20190616_101010.png" in files
    assert not any(p.startswith("2026/") for p in files)  # the copy day is nobody's capture date
    records = assert_archive_agrees(output)
    # the preview told the same story: every name, what each copy states, from which source
    said = {f.target: (f.stated, f.local, f.time_source, f.confidence) for f in plan.to_export}
    assert said == {
        n: (r["stated"], r["capture"]["local"], r["time_source"], r["confidence"]) for n, r in records.items()
    }
    assert {r["stated"] for n, r in records.items() if n.startswith("undated/")} == {"none"}
    assert (records["undated/oma_0.tiff"]["time_source"], records["undated/oma_0.tiff"]["confidence"]) == (
        "mtime",
        "none",
    )
    assert records["2018/20180304_cake.jpg"]["stated"] == "date"
    read = exiftool(output)
    assert "ExifIFD:DateTimeOriginal" not in read["undated/portrait_1.jpg"]
    assert "XMP-exif:DateTimeOriginal" not in read["undated/oma_0.tiff.xmp"]


@needs_exiftool
def test_fix_then_export_again_moves_and_rewrites_the_copy(app, dump, tmp_path):
    output = tmp_path / "archive"
    assert run_export(app, output).status == "completed"
    zone = app.config["MEDIAPARSER"].zone
    portrait = by_name("oma_0.tiff")
    local, precision, offset = timefix.parse_typed_time("4 July 2015 10:00", zone)
    timefix.set_time([portrait.id], local, precision, offset, zone=zone)
    camera = by_name("DSC_0001.JPG")
    camera.tags.append(Tag(name="Holiday"))
    db.session.commit()

    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert plan.in_step() == "0 new, 2 updated, 0 retired"
    assert plan.summary()["renames"] == ["undated/oma_0.tiff → 2015/20150704_1000.tiff"]
    job = run_export(app, output)
    assert job.status == "completed", job.message
    assert exporter.result_counts(job)["updated"] == 2
    files = tree(output)
    assert "undated/oma_0.tiff" not in files and "undated/oma_0.tiff.xmp" not in files  # gone from the tree
    assert "2015/20150704_1000.tiff" in files
    trash = output / export_plan.META_DIR / "trash" / f"export-{job.id}"
    assert (trash / "undated/oma_0.tiff").exists() and (trash / "undated/oma_0.tiff.xmp").exists()  # never deleted
    read = exiftool(output)
    assert read["2015/20150704_1000.tiff.xmp"]["XMP-exif:DateTimeOriginal"] == "2015:07:04 10:00+02:00"  # July: DST
    assert "Holiday" in read["2019/20190615_143005.jpg"]["XMP-dc:Subject"]
    assert (trash / "2019/20190615_143005.jpg").exists()  # the rewritten JPEG's old copy
    records = assert_archive_agrees(output)
    assert records["2015/20150704_1000.tiff"]["replaces"]["output"] == "undated/oma_0.tiff"
    assert records["2015/20150704_1000.tiff"]["confidence"] == "high"

    again = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert again.in_step() == "0 new, 0 updated, 0 retired"  # in step now


def test_new_tags_on_a_sidecar_format_rewrite_only_the_sidecar(app, dump, tmp_path):
    output = tmp_path / "archive"
    run_export(app, output)
    copy = output / "2019/20190616_101010.png"
    before = copy.stat()
    shot = by_name("Screenshot_20190616-101010.png")
    shot.tags.append(Tag(name="Phone"))
    db.session.commit()
    [planned] = export_plan.dry_run(output, app.config["MEDIAPARSER"]).to_export
    assert (planned.action, planned.changes, planned.reuse) == ("update", ["tags"], True)
    job = run_export(app, output)
    after = copy.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # the copy was not touched
    trash = output / export_plan.META_DIR / "trash" / f"export-{job.id}"
    assert (trash / "2019/20190616_101010.png.xmp").exists() and not (trash / "2019/20190616_101010.png").exists()
    assert "Phone" in exiftool(output)["2019/20190616_101010.png.xmp"]["XMP-dc:Subject"]
    assert_archive_agrees(output)


def test_left_out_files_retire_to_the_archive_trash(app, dump, tmp_path):
    output = tmp_path / "archive"
    run_export(app, output)
    camera = by_name("DSC_0001.JPG")
    camera.discarded = True
    db.session.commit()
    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert plan.in_step() == "0 new, 0 updated, 1 retired"
    job = run_export(app, output)
    assert exporter.result_counts(job)["retired"] == 1
    assert "2019/20190615_143005.jpg" not in tree(output)
    assert (output / export_plan.META_DIR / "trash" / f"export-{job.id}" / "2019/20190615_143005.jpg").exists()
    assert_archive_agrees(output)
    camera.discarded = False  # kept again: written again
    db.session.commit()
    assert export_plan.dry_run(output, app.config["MEDIAPARSER"]).in_step() == "1 new, 0 updated, 0 retired"
    run_export(app, output)
    assert "2019/20190615_143005.jpg" in tree(output)
    assert_archive_agrees(output)


def test_a_copy_changed_in_the_archive_is_never_overwritten(app, dump, tmp_path):
    output = tmp_path / "archive"
    run_export(app, output)
    edited = output / "2019/20190615_143005.jpg"
    edited.write_bytes(edited.read_bytes() + b"edited by another program")
    camera = by_name("DSC_0001.JPG")
    camera.tags.append(Tag(name="Holiday"))
    db.session.commit()
    plan = export_plan.dry_run(output, app.config["MEDIAPARSER"])
    assert plan.in_step() == "0 new, 0 updated, 0 retired"
    assert any("was changed in the archive" in c for c in plan.conflicts)
    job = run_export(app, output)
    assert exporter.result_counts(job)["changed_in_archive"] == 1
    assert edited.read_bytes().endswith(b"edited by another program")
    assert "changed in the archive by someone else" in job.message


def test_camera_card_files_keep_their_exif_dates(app, dump):
    camera = by_name("DSC_0001.JPG")
    assert (camera.taken_source, camera.confidence) == ("exif:DateTimeOriginal", Confidence.HIGH)


def test_confirming_a_file_date_makes_it_the_persons_date(app, dump, tmp_path):
    portrait = by_name("oma_1.tiff")
    timefix.confirm([portrait.id])
    db.session.refresh(portrait)
    assert portrait.time_decided and portrait.confidence == Confidence.HIGH
    output = tmp_path / "archive"
    run_export(app, output)
    assert "2026/20261129_151356.tiff" in tree(output)  # a person said the file date is right
    assert_archive_agrees(output)


@pytest.mark.parametrize("then", ["resume", "cancel"])
def test_killed_after_the_manifest_line_records_nothing_twice(app, dump, tmp_path, monkeypatch, then):
    """SIGKILL between the manifest lines and the database commit (simulated): the same job
    resumed, or a new export after it was cancelled, records every update and retirement
    exactly once."""
    output = tmp_path / "archive"
    run_export(app, output)
    by_name("DSC_0001.JPG").discarded = True
    shot = by_name("Screenshot_20190616-101010.png")
    shot.tags.append(Tag(name="Phone"))
    db.session.commit()
    real_append = export_batch.append_manifest

    def killed(*args, **kwargs):
        real_append(*args, **kwargs)
        raise KeyboardInterrupt  # nothing after this runs

    monkeypatch.setattr(export_batch, "append_manifest", killed)
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    db.session.rollback()
    monkeypatch.setattr(export_batch, "append_manifest", real_append)
    status = "pending" if then == "resume" else "cancelled"
    db.session.execute(Job.__table__.update().where(Job.id == job.id).values(lease_owner=None, status=status))
    db.session.commit()
    final = jobs.run(job.id) if then == "resume" else run_export(app, output).status
    assert final == "completed"
    records = export_plan.read_manifest(output)
    assert len(records) == 7 + 2  # the first export, then one retirement and one update
    assert_archive_agrees(output)
    assert export_plan.dry_run(output, app.config["MEDIAPARSER"]).in_step() == "0 new, 0 updated, 0 retired"


@pytest.mark.parametrize("then", ["resume", "cancel"])
def test_killed_after_the_renames_records_what_an_uninterrupted_export_records(app, dump, tmp_path, monkeypatch, then):
    """SIGKILL after the copies are renamed into place and the old ones set aside, before
    the manifest line (simulated): the same job resumed, or a new export after it was
    cancelled, leaves the manifest an uninterrupted export writes (which copy replaced
    which, and where every old copy went)."""
    output, reference = tmp_path / "archive", tmp_path / "reference"
    run_export(app, output)
    camera, shot = by_name("DSC_0001.JPG"), by_name("Screenshot_20190616-101010.png")
    camera.tags.append(Tag(name="Holiday"))  # rewritten under the same name
    shot.tags.append(Tag(name="Phone"))  # only its sidecar
    by_name("cake.jpg").discarded = True  # retired
    zone = app.config["MEDIAPARSER"].zone
    local, precision, offset = timefix.parse_typed_time("4 July 2015 10:00", zone)
    timefix.set_time([by_name("oma_0.tiff").id], local, precision, offset, zone=zone)  # renamed
    db.session.commit()
    shutil.copytree(output, reference)
    assert run_export(app, reference).status == "completed"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # nothing from here on runs

    monkeypatch.setattr(export_batch, "append_manifest", killed)
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    with pytest.raises(KeyboardInterrupt):
        jobs.run(job.id)
    db.session.rollback()
    monkeypatch.undo()
    status = "pending" if then == "resume" else "cancelled"
    db.session.execute(Job.__table__.update().where(Job.id == job.id).values(lease_owner=None, status=status))
    db.session.commit()
    final = jobs.run(job.id) if then == "resume" else run_export(app, output).status
    assert final == "completed"
    assert tree(output) == tree(reference)
    got, want = comparable(export_plan.read_manifest(output)), comparable(export_plan.read_manifest(reference))
    assert got == want, [r for r in got if r not in want] + ["<- got | wanted ->"] + [r for r in want if r not in got]
    assert_archive_agrees(output)
