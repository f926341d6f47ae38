"""Deciding about duplicate groups: keep one or several, not duplicates (remembered), undo,
accept all recommendations; what the keeper inherits; what the pages are given."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageFilter
from sqlalchemy import select

from app.models import DuplicateGroup, File, FileTag, Tag, UserDecision, db
from app.pipeline import duplicate_review as review
from app.pipeline import duplicates, importer, jobs


def picture(seed: int, size=(1200, 900)) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    detail = Image.fromarray((rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8))
    return Image.blend(img, detail.resize(size).filter(ImageFilter.GaussianBlur(2)), 0.3)


def camera_exif(when: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "FUJIFILM", "X100V"
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    return exif


def run_import(folder) -> None:
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id) == "completed"


def by_name(name: str, folder: str | None = None) -> File:
    query = select(File).where(File.original_name == name)
    if folder is not None:
        query = query.where(File.relative_dir.endswith(folder))
    return db.session.execute(query).scalar_one()


def tags_of(f: File) -> dict[str, str]:
    rows = db.session.execute(
        select(Tag.name, FileTag.source).join(FileTag, FileTag.tag_id == Tag.id).where(FileTag.file_id == f.id)
    ).all()
    return dict(rows)


@pytest.fixture
def library(app, tmp_path):
    """A camera original, its exact backup, a WhatsApp copy and a tagged PNG conversion;
    two identical copies of another picture; an unrelated picture."""
    photos = tmp_path / "photos"
    rome, whatsapp, backup, other = (photos / d for d in ("2019-06 Rome", "WhatsApp Images", "backup", "misc"))
    for d in (rome, whatsapp, backup, other):
        d.mkdir(parents=True)
    original = picture(1)
    original.save(rome / "IMG_20190615_143000.jpg", quality=92, exif=camera_exif("2019:06:15 14:30:00"))
    shutil.copy2(rome / "IMG_20190615_143000.jpg", backup / "IMG_20190615_143000.jpg")
    original.resize((800, 600)).save(whatsapp / "IMG-20190620-WA0001.jpg", quality=70)
    original.save(other / "sunset {anna}.png")
    picture(2).save(other / "dog.jpg", quality=90)
    shutil.copy2(other / "dog.jpg", other / "dog (1).jpg")
    picture(3).save(other / "tree.jpg", quality=90)
    run_import(photos)
    return photos


def near_group() -> DuplicateGroup:
    return db.session.get(DuplicateGroup, by_name("IMG-20190620-WA0001.jpg").group_id)


def test_groups_and_what_the_page_is_given(library):
    view = review.group_view(near_group().id)
    assert view["kind"] == "near" and view["status"] == "open"
    names = sorted(f["name"] for f in view["files"])
    assert names == [
        "IMG-20190620-WA0001.jpg",
        "IMG_20190615_143000.jpg",
        "IMG_20190615_143000.jpg",
        "sunset {anna}.png",
    ]
    recommended = [f for f in view["files"] if f["recommended"]]
    assert len(recommended) == 1 and recommended[0]["name"] == "IMG_20190615_143000.jpg"
    assert view["recommended_reason"] and view["recommended_path"] == recommended[0]["path"]
    wa = next(f for f in view["files"] if f["name"].startswith("IMG-"))
    assert (wa["width"], wa["height"], wa["format"]) == (800, 600, "JPEG")
    assert wa["size"] > 0 and wa["taken_source"] and wa["match"]["kind"] == "near"
    camera = recommended[0]
    assert camera["taken_local"] == "2019-06-15T14:30:00" and camera["taken_source"] == "exif:DateTimeOriginal"
    assert camera["camera"] == "FUJIFILM X100V"

    exact = db.session.get(DuplicateGroup, by_name("dog.jpg").group_id)
    assert exact.kind == "exact" and exact.recommended_id == by_name("dog.jpg").id
    assert by_name("tree.jpg").group_id is None
    assert review.open_group_counts() == {"exact": 1, "near": 1, "version": 0, "similar": 0, "total": 2}
    first = review.next_open_group()
    assert first["id"] == min(near_group().id, exact.id)
    assert review.next_open_group(after_id=first["id"])["id"] == max(near_group().id, exact.id)
    assert review.next_open_group(kinds=("similar",)) is None


def test_keep_the_whatsapp_copy_it_inherits_time_and_tags_and_undo_restores(library):
    group = near_group()
    wa = by_name("IMG-20190620-WA0001.jpg")
    before = (wa.taken_local, wa.taken_source, wa.confidence, wa.time_decided)
    assert wa.taken_source != "exif:DateTimeOriginal"
    batch = review.keep(group.id, [wa.id])

    db.session.expire_all()
    wa = by_name("IMG-20190620-WA0001.jpg")
    assert (wa.taken_local, wa.taken_source, wa.confidence) == ("2019-06-15T14:30:00", "exif:DateTimeOriginal", "high")
    assert wa.time_decided and "taken from its duplicate" in wa.time_notes[-1]
    assert tags_of(wa) == {"Rome": "merge", "anna": "merge"}
    members = db.session.execute(select(File).where(File.group_id == group.id)).scalars().all()
    assert {f.original_name for f in members if f.discarded} == {"IMG_20190615_143000.jpg", "sunset {anna}.png"}
    assert not wa.discarded
    assert db.session.get(DuplicateGroup, group.id).status == "resolved"
    rows = db.session.execute(select(UserDecision).where(UserDecision.batch == batch)).scalars().all()
    assert sorted(r.kind for r in rows) == ["discard", "discard", "discard", "keep"]

    assert review.undo(batch) == 4
    db.session.expire_all()
    wa = by_name("IMG-20190620-WA0001.jpg")
    assert (wa.taken_local, wa.taken_source, wa.confidence, wa.time_decided) == before
    assert tags_of(wa) == {}
    assert not any(f.discarded for f in db.session.execute(select(File)).scalars())
    assert db.session.get(DuplicateGroup, group.id).status == "open"
    assert len(db.session.execute(select(UserDecision).where(UserDecision.kind == "undo")).all()) == 4
    with pytest.raises(review.DecisionError):
        review.undo(batch)


def test_keep_the_original_it_keeps_its_own_time_and_keep_several(library):
    group = near_group()
    original = by_name("IMG_20190615_143000.jpg", "Rome")
    png = by_name("sunset {anna}.png")
    review.keep(group.id, [original.id, png.id])
    db.session.expire_all()
    original = by_name("IMG_20190615_143000.jpg", "Rome")
    assert original.taken_source == "exif:DateTimeOriginal" and not original.time_decided
    assert tags_of(original) == {"Rome": "folder", "anna": "merge"}
    discarded = {f.display_path for f in db.session.execute(select(File).where(File.discarded)).scalars()}
    assert discarded == {"photos/WhatsApp Images/IMG-20190620-WA0001.jpg", "photos/backup/IMG_20190615_143000.jpg"}
    with pytest.raises(review.DecisionError):
        review.keep(group.id, [])
    with pytest.raises(review.DecisionError):
        review.keep(group.id, [by_name("tree.jpg").id])


def test_not_duplicates_is_remembered_and_new_copies_still_group(library, tmp_path, settings):
    group = near_group()
    member_ids = {f.id for f in db.session.execute(select(File).where(File.group_id == group.id)).scalars()}
    batch = review.not_duplicates(group.id)
    assert db.session.get(DuplicateGroup, group.id).status == "dismissed"
    duplicates.scan_library(settings)
    db.session.expire_all()
    live = db.session.execute(select(DuplicateGroup).where(DuplicateGroup.status != "dismissed")).scalars().all()
    assert all(
        len(member_ids & {f.id for f in db.session.execute(select(File).where(File.group_id == g.id)).scalars()}) < 2
        for g in live
    ), "files people said are not duplicates were grouped again"

    # a new exact copy of the original arrives: it groups with one of them, not with the rest
    more = tmp_path / "more"
    more.mkdir()
    shutil.copy2(library / "2019-06 Rome" / "IMG_20190615_143000.jpg", more / "copy.jpg")
    run_import(more)
    db.session.expire_all()
    new = by_name("copy.jpg")
    members = db.session.execute(select(File).where(File.group_id == new.group_id)).scalars().all()
    assert len(members) == 2 and len(member_ids & {f.id for f in members}) == 1
    assert db.session.get(DuplicateGroup, new.group_id).kind == "exact"

    assert review.undo(batch) == 1
    assert db.session.get(DuplicateGroup, group.id).status == "open"


def test_accept_all_exact_counts_first_then_does_one_undoable_batch(library):
    assert review.recommendation_summary("exact") == {"groups": 1, "keep": 1, "set_aside": 1}
    assert review.accept_all_recommendations("exact") == 1  # dry run: nothing changes
    assert not any(f.discarded for f in db.session.execute(select(File)).scalars())
    assert review.accept_all_recommendations("exact", dry_run=False) == 1
    db.session.expire_all()
    assert by_name("dog (1).jpg").discarded and not by_name("dog.jpg").discarded
    assert review.open_group_counts()["exact"] == 0
    assert review.accept_all_recommendations("exact") == 0
    batch = review.last_batch()
    assert review.undo(batch) == 2
    db.session.expire_all()
    assert not by_name("dog (1).jpg").discarded and review.open_group_counts()["exact"] == 1


def test_a_new_copy_of_a_decided_picture_opens_the_group_again(library, tmp_path):
    group = near_group()
    review.keep(group.id, [by_name("IMG_20190615_143000.jpg", "Rome").id])
    more = tmp_path / "later"
    more.mkdir()
    picture(1).resize((600, 450)).save(more / "forwarded.jpg", quality=60)
    run_import(more)
    db.session.expire_all()
    assert by_name("forwarded.jpg").group_id == group.id
    refreshed = db.session.get(DuplicateGroup, group.id)
    assert refreshed.status == "open"
    assert refreshed.recommended_id == by_name("IMG_20190615_143000.jpg", "Rome").id
    assert not by_name("forwarded.jpg").discarded  # nothing is discarded until a person decides


def test_rescan_job_and_files_imported_before_fingerprints_existed(library):
    """A duplicates job re-scans the library; files without a fingerprint get one from their
    thumbnail (as after an upgrade) and are grouped like the rest."""
    from app.models import Duplicate, FileFingerprint, JobKind

    db.session.execute(File.__table__.update().values(group_id=None))
    db.session.execute(Duplicate.__table__.delete())
    db.session.execute(DuplicateGroup.__table__.delete())
    db.session.execute(FileFingerprint.__table__.delete())
    db.session.commit()
    job = jobs.create(JobKind.DUPLICATES, phase="scan")
    assert jobs.run(job.id) == "completed"
    db.session.expire_all()
    assert "groups new or changed" in db.session.get(type(job), job.id).message
    assert db.session.query(FileFingerprint).count() >= 5
    group = near_group()
    assert group is not None and group.kind == "near"
    assert len(db.session.execute(select(File).where(File.group_id == group.id)).all()) == 4
