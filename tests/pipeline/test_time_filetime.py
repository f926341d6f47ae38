"""A file time is a hint, never a fact (clues.FILE_TIME_HINT, clues.FILE_TIME_CORROBORATED),
on real files through the real import (and a real upload through the web API):

- a file time alone (a `cp`-copied file, or an upload's lastModified) is "No date"
  (confidence NONE), the hint kept for sorting, the file marked for review;
- a file time on the same day as a date-only name, folder or sidecar date gives that day's
  time of day, at MEDIUM; on another day it is ignored;
- a messaging app's "sent" day is a bound, not a capture day: it corroborates nothing;
- camera-card files keep their EXIF dates.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.media import clues
from app.models import File, db
from app.pipeline import importer, jobs
from app.vocab import Confidence
from tests.export_helpers import photo, write
from tests.web_helpers import headers, upload


def by_name(name: str) -> File:
    return db.session.execute(select(File).where(File.original_name == name)).scalar_one()


def test_the_rule_table_says_so():
    none_text = dict(clues.RULES)[Confidence.NONE]
    assert "only the file's own date" in none_text and "lastModified" in none_text
    assert "same day as a date-only name" in dict(clues.RULES)[Confidence.MEDIUM]
    assert "hint, never a fact" in clues.FILE_TIME_HINT and "MEDIUM" in clues.FILE_TIME_CORROBORATED


def test_file_times_on_imported_files(app, tmp_path):
    root = tmp_path / "photos"
    day = datetime(2019, 6, 15, 18, 0, tzinfo=UTC)  # 20:00 in Berlin
    copied = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    write(root / "2019-06-15 Birthday.jpg", photo("red"), day)  # a dated name, the file time that day
    write(root / "2019-06-15 Garden.jpg", photo("green"), copied)  # a dated name, copied later
    write(root / "2019-06-15 Party" / "cake.jpg", photo("blue"), day)  # a dated folder, that day
    write(root / "IMG-20190615-WA0001.jpg", photo("white"), day)  # WhatsApp: the day it was sent
    write(root / "portrait_1.jpg", photo("gray"), copied)  # nothing but the copy day
    write(root / "DSC_0001.JPG", photo("black", "2019:06:15 14:30:05", make="NIKON D90"), copied)  # a camera card
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"

    birthday = by_name("2019-06-15 Birthday.jpg")
    assert (birthday.taken_source, birthday.taken_local, birthday.confidence) == (
        "mtime",
        "2019-06-15T20:00:00",
        Confidence.MEDIUM,
    )
    assert any("falls on the day" in n for n in birthday.time_notes)
    garden = by_name("2019-06-15 Garden.jpg")
    assert (garden.taken_source, garden.taken_precision, garden.confidence) == ("filename:dated", "day", Confidence.LOW)
    cake = by_name("cake.jpg")
    assert (cake.taken_source, cake.confidence) == ("mtime", Confidence.MEDIUM)
    whatsapp = by_name("IMG-20190615-WA0001.jpg")
    assert (whatsapp.taken_source, whatsapp.taken_precision) == ("filename:whatsapp", "day")
    portrait = by_name("portrait_1.jpg")
    assert (portrait.taken_source, portrait.confidence, portrait.needs_review) == ("mtime", Confidence.NONE, True)
    assert portrait.taken_local == "2026-11-29T14:00:00"  # the hint stays (sorting, "file date: ...")
    camera = by_name("DSC_0001.JPG")
    assert (camera.taken_source, camera.confidence) == ("exif:DateTimeOriginal", Confidence.HIGH)


def test_an_uploads_last_modified_alone_is_no_date(client):
    h = headers(client)
    job_id = client.post("/api/uploads", json={}, headers=h).get_json()["job_id"]
    modified = int(datetime(2026, 11, 29, 13, 0, tzinfo=UTC).timestamp() * 1000)
    sent = upload(client, job_id, "portrait.jpg", photo("gray"), "portrait.jpg", modified, h)
    assert sent.status_code == 201
    assert client.post(f"/api/uploads/{job_id}/finish", json={}, headers=h).status_code == 200
    row = by_name("portrait.jpg")
    assert (row.taken_source, row.confidence, row.needs_review) == ("mtime", Confidence.NONE, True)
