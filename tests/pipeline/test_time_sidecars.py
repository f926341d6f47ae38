"""Google Takeout sidecars: found beside the file under every naming quirk, and weighed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, sidecars
from tests.time_helpers import make_exif, write_image, write_takeout

BERLIN = ZoneInfo("Europe/Berlin")
TAKEN = int(datetime(2019, 6, 15, 12, 30, tzinfo=UTC).timestamp())  # 14:30 in Berlin
UPLOADED = int(datetime(2021, 3, 1, 9, 0, tzinfo=UTC).timestamp())

LONG = "Screenshot_20220207_102421_com.snapchat.android.jpg"  # 51 characters

# (media file name, sidecar name Takeout gave it)
NAMES = [
    ("IMG_1234.JPG", "IMG_1234.JPG.json"),
    ("IMG_1234.JPG", "IMG_1234.JPG.supplemental-metadata.json"),
    ("IMG_20190615_143000123.jpg", "IMG_20190615_143000123.jpg.supplemental-metada.json"),  # cut to 46
    ("IMG_20190615_143000123.jpg", "IMG_20190615_143000123.jpg.supplemental-metadat.json"),  # cut to 47
    ("IMG_20190615_143000123.jpg", "IMG_20190615_143000123.jpg.supplemental-me.json"),  # cut elsewhere
    ("D7157814-D2D5-4A62-AFCE-9CF465CB7D66.jpeg", "D7157814-D2D5-4A62-AFCE-9CF465CB7D66.jpeg.supp.json"),
    (LONG, "Screenshot_20220207_102421_com.snapchat.androi.json"),  # the name itself cut, old style
    (LONG, "Screenshot_20220207_102421_com.snapchat.android.json"),  # cut at 47
    ("IMG_1234(1).JPG", "IMG_1234.JPG(1).json"),  # the counter moves to the end
    ("IMG_1234(1).JPG", "IMG_1234.JPG.supplemental-metadata(1).json"),
    ("IMG_1234(2).jpg", "IMG_1234.jpg.supplemental-metadata(2).json"),
    ("IMG_1234-edited.jpg", "IMG_1234.jpg.json"),  # edited copies share the original's sidecar
    ("IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.supplemental-metadata.json"),
    ("IMG_1234.jpg", "IMG_1234.json"),  # some exports drop the extension
    ("very_long_file_name_that_google_cuts_somewhere_odd.jpg", "very_long_file_name_that_google_cuts_so.json"),
]


@pytest.mark.parametrize(("media", "json_name"), NAMES, ids=[n[1] for n in NAMES])
def test_sidecar_is_found(tmp_path, media, json_name):
    (tmp_path / media).write_bytes(b"not needed")
    write_takeout(tmp_path, json_name, media.replace("(1)", "").replace("(2)", ""), TAKEN, UPLOADED)
    found = sidecars.find_sidecar(tmp_path, media)
    assert found is not None and found.name == json_name
    facts = sidecars.read_for(tmp_path / media)
    assert facts["photo_taken"] == TAKEN and facts["created"] == UPLOADED and facts["file"] == json_name


def test_numbered_copy_does_not_take_the_unnumbered_sidecar(tmp_path):
    write_takeout(tmp_path, "IMG_1234.JPG.json", "IMG_1234.JPG", TAKEN)
    write_takeout(tmp_path, "IMG_1234.JPG(1).json", "IMG_1234.JPG", TAKEN + 60)
    assert sidecars.find_sidecar(tmp_path, "IMG_1234(1).JPG").name == "IMG_1234.JPG(1).json"
    assert sidecars.find_sidecar(tmp_path, "IMG_1234.JPG").name == "IMG_1234.JPG.json"


def test_no_sidecar_and_foreign_json_are_ignored(tmp_path):
    (tmp_path / "metadata.json").write_text('{"title": "My album"}')
    (tmp_path / "broken.jpg.json").write_text("{not json")
    assert sidecars.read_for(tmp_path / "IMG_9.jpg") is None
    assert sidecars.read_for(tmp_path / "broken.jpg") is None


def test_takeout_time_in_inspect_analysis(tmp_path):
    photo = write_image(tmp_path / "Takeout" / "IMG_1234.jpg")
    write_takeout(photo.parent, "IMG_1234.jpg.supplemental-metadata.json", "IMG_1234.jpg", TAKEN, UPLOADED)
    result = analyze.analyze(photo, zone=BERLIN)
    record = result.inspect_record()
    assert record["timestamp"] == "2019-06-15T14:30:00+02:00"
    assert record["source"] == "takeout:photoTakenTime" and record["confidence"] == "medium"
    sources = {c["source"] for c in record["candidates"]}
    assert {"takeout:photoTakenTime", "takeout:creationTime", "mtime"} <= sources


def test_takeout_teaches_the_offset_of_exif(tmp_path):
    # Taken in New York: EXIF says 08:30 local, Takeout knows the instant 12:30 UTC.
    photo = write_image(tmp_path / "IMG_1.jpg", make_exif("2019:06:15 08:30:00"))
    write_takeout(tmp_path, "IMG_1.jpg.json", "IMG_1.jpg", TAKEN, UPLOADED)
    record = analyze.analyze(photo, zone=BERLIN).inspect_record()
    assert (record["timestamp"], record["confidence"]) == ("2019-06-15T08:30:00-04:00", "high")


def test_takeout_equal_to_upload_time_is_weak(tmp_path):
    photo = write_image(tmp_path / "IMG-20190615-WA0001.jpg")
    write_takeout(tmp_path, "IMG-20190615-WA0001.jpg.json", "IMG-20190615-WA0001.jpg", UPLOADED, UPLOADED)
    record = analyze.analyze(photo, zone=BERLIN).inspect_record()
    assert record["confidence"] == "low"


def test_takeout_disagreeing_with_exif_is_not_high(tmp_path):
    photo = write_image(tmp_path / "IMG_2.jpg", make_exif("2015:01:01 10:00:00"))
    write_takeout(tmp_path, "IMG_2.jpg.json", "IMG_2.jpg", TAKEN, UPLOADED)
    record = analyze.analyze(photo, zone=BERLIN).inspect_record()
    assert record["source"] == "exif:DateTimeOriginal" and record["confidence"] == "low"


def test_zero_photo_taken_time_is_rejected(tmp_path):
    photo = write_image(tmp_path / "IMG_3.jpg")
    write_takeout(tmp_path, "IMG_3.jpg.json", "IMG_3.jpg", 0, UPLOADED)
    record = analyze.analyze(photo, zone=BERLIN).inspect_record()
    taken = next(c for c in record["candidates"] if c["source"] == "takeout:photoTakenTime")
    assert taken["rejected"]


def test_exact_duplicates_keep_their_own_sidecar(app, tmp_path):
    from sqlalchemy import select

    from app.models import File, db
    from app.pipeline import importer, jobs

    root = tmp_path / "Takeout"
    first = write_image(root / "Album A" / "IMG_7.jpg")
    (root / "Album B").mkdir()
    (root / "Album B" / "IMG_7.jpg").write_bytes(first.read_bytes())
    write_takeout(root / "Album A", "IMG_7.jpg.json", "IMG_7.jpg", TAKEN)
    write_takeout(root / "Album B", "IMG_7.jpg.json", "IMG_7.jpg", TAKEN + 3600)
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    rows = {
        f.relative_dir: f for f in db.session.execute(select(File).where(File.original_name == "IMG_7.jpg")).scalars()
    }
    a, b = rows["Takeout/Album A"], rows["Takeout/Album B"]
    assert {a.status, b.status} == {"done", "duplicate"}
    assert (a.taken_local, b.taken_local) == ("2019-06-15T14:30:00", "2019-06-15T15:30:00")
    assert a.meta["sidecar"]["photo_taken"] == TAKEN and b.meta["sidecar"]["photo_taken"] == TAKEN + 3600
