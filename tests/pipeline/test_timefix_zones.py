"""Time zones of typed and corrected dates, and the camera-clock correction across the whole
library — on real imported files (two separate imports), with undo.

- a typed wall-clock time takes the offset the household zone has at that date (DST),
  unless the person types one; a shift keeps each file's wall-clock meaning;
- a clue a person picks keeps the zone of the place the GPS position names;
- "this photo was really taken at": every file of the same camera (make, model, serial
  number) from every import within ±N days, shifted by the exact offset, to the second;
  undo restores every file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.models import File, db
from app.pipeline import importer, jobs, timefix
from app.vocab import Confidence
from tests.time_helpers import make_exif, write_image

BERLIN = ZoneInfo("Europe/Berlin")


def fresh(f: File) -> File:
    db.session.expire_all()
    return db.session.get(File, f.id)


def camera_photo(path, when: str, serial: str | None = "S-111", gps: tuple[float, float] | None = None, color="red"):
    exif = make_exif(when, make="NIKON", model="COOLPIX P6000")
    if serial:
        exif.get_ifd(0x8769)[0xA431] = serial
    if gps:
        lat, lon = gps
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if lat >= 0 else "S"), (abs(int(lat)), int(abs(lat) % 1 * 60), 0.0)
        g[3], g[4] = ("E" if lon >= 0 else "W"), (abs(int(lon)), int(abs(lon) % 1 * 60), 0.0)
    return write_image(path, exif, color=color)


def imported(root) -> None:
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"


def by_name(name: str) -> File:
    return db.session.execute(select(File).where(File.original_name == name)).scalar_one()


@pytest.fixture
def two_imports(app, tmp_path):
    """One camera's photos from two separate imports, plus another body of the same model,
    a photo far outside the window, and one whose date a person typed."""
    first = tmp_path / "card-2008"
    camera_photo(first / "DSCN0001.JPG", "2008:10:22 12:30:20", color=(10, 0, 0))
    camera_photo(first / "DSCN0002.JPG", "2008:10:22 16:28:39", color=(20, 0, 0))
    camera_photo(first / "other_body.JPG", "2008:10:22 13:00:00", serial="S-999", color=(30, 0, 0))
    imported(first)
    second = tmp_path / "laptop-copy"  # imported separately, later
    for i, when in enumerate(
        ("2008:10:23 09:00:05", "2008:10:25 18:45:59", "2008:11:05 10:00:00", "2008:10:24 08:00:00")
    ):
        camera_photo(second / f"DSCN01{i:02d}.JPG", when, color=(0, 10 * i + 10, 0))
    camera_photo(second / "far_away.JPG", "2009:03:01 10:00:00", color=(0, 0, 50))
    imported(second)
    typed = by_name("DSCN0103.JPG")
    timefix.set_time([typed.id], datetime(2008, 10, 24, 9, 15), "minute", zone=BERLIN)
    return {f.original_name: f for f in db.session.execute(select(File)).scalars()}


def test_a_july_date_typed_in_berlin_is_plus_two_hours(two_imports):
    f = two_imports["DSCN0002.JPG"]
    local, precision, typed = timefix.parse_typed_time("4 July 2015 10:00", BERLIN)
    assert typed is None
    timefix.set_time([f.id], local, precision, typed, zone=BERLIN)
    f = fresh(f)
    assert (f.taken_local, f.taken_offset, f.taken_at) == (
        "2015-07-04T10:00:00",
        120,
        datetime(2015, 7, 4, 8, tzinfo=UTC),
    )
    local, precision, typed = timefix.parse_typed_time("4 December 2015 10:00", BERLIN)
    timefix.set_time([f.id], local, precision, typed, zone=BERLIN)
    assert fresh(f).taken_offset == 60  # winter time
    local, precision, typed = timefix.parse_typed_time("4 July 2015 10:00 -05:00", BERLIN)
    timefix.set_time([f.id], local, precision, typed, zone=BERLIN)
    assert (fresh(f).taken_offset, fresh(f).taken_at) == (-300, datetime(2015, 7, 4, 15, tzinfo=UTC))


def test_a_typed_time_on_a_photo_with_gps_takes_the_place_zone(app, tmp_path):
    camera_photo(tmp_path / "ny" / "NY.JPG", "2019:07:04 10:00:00", gps=(40.7128, -74.0060))
    imported(tmp_path / "ny")
    f = by_name("NY.JPG")
    assert f.taken_offset == -240  # detection: New York in July
    timefix.set_time([f.id], datetime(2019, 7, 4, 11, 0), "minute", zone=BERLIN)
    assert (fresh(f).taken_offset, fresh(f).taken_at) == (-240, datetime(2019, 7, 4, 15, tzinfo=UTC))


def test_choosing_a_clue_keeps_the_gps_zone(app, tmp_path):
    exif = make_exif("2019:07:04 10:00:00", create="2019:07:04 09:00:00", make="Canon", model="X")
    g = exif.get_ifd(0x8825)
    g[1], g[2], g[3], g[4] = "N", (40, 42, 46.0), "W", (74, 0, 21.0)
    write_image(tmp_path / "ny" / "pick.jpg", exif)
    imported(tmp_path / "ny")
    f = by_name("pick.jpg")
    timefix.choose_candidate(f.id, "exif:CreateDate", BERLIN)
    f = fresh(f)
    assert (f.taken_local, f.taken_offset) == ("2019-07-04T09:00:00", -240)  # New York, not Berlin
    assert f.taken_at == datetime(2019, 7, 4, 13, tzinfo=UTC)


def test_a_shift_keeps_each_files_wall_clock_meaning(app, tmp_path):
    write_image(tmp_path / "p" / "a.jpg", make_exif("2019:03:30 12:00:00", make="Canon", model="X"), color="red")
    write_image(
        tmp_path / "p" / "b.jpg",
        make_exif("2019:03:30 12:00:00", offset="+01:00", make="Canon", model="X"),
        color="blue",
    )
    imported(tmp_path / "p")
    a, b = by_name("a.jpg"), by_name("b.jpg")
    timefix.shift_times([a.id, b.id], timedelta(days=1), BERLIN)  # across the start of summer time
    a, b = fresh(a), fresh(b)
    assert (a.taken_local, a.taken_offset, a.taken_at) == (
        "2019-03-31T12:00:00",
        None,
        datetime(2019, 3, 31, 10, tzinfo=UTC),
    )
    assert (b.taken_local, b.taken_offset, b.taken_at) == (
        "2019-03-31T12:00:00",
        60,
        datetime(2019, 3, 31, 11, tzinfo=UTC),
    )


def test_camera_clock_correction_reaches_every_import_exactly(two_imports):
    anchor = two_imports["DSCN0001.JPG"]
    scope = timefix.camera_files(anchor.id)
    names = [db.session.get(File, i).original_name for i in scope.ids]
    assert names == ["DSCN0001.JPG", "DSCN0002.JPG", "DSCN0100.JPG", "DSCN0101.JPG", "DSCN0102.JPG"]
    assert (scope.serial, scope.days, scope.other_bodies, scope.outside, scope.not_clock) == ("S-111", 30, 1, 1, 1)
    assert "COOLPIX P6000" in scope.describe() and "S-111" in scope.describe()
    assert timefix.camera_files(anchor.id, days=1).outside == 3  # the window is the person's to change
    assert len(timefix.camera_files(anchor.id, days=None).ids) == 6

    delta = timefix.suggest_shift(anchor.id, datetime(2008, 10, 22, 14, 30), BERLIN)
    assert delta == timedelta(hours=1, minutes=59, seconds=40)  # the anchor's seconds are kept
    before = {i: fresh(db.session.get(File, i)).taken_local for i in scope.ids}
    batch = timefix.shift_times(scope.ids, delta, BERLIN, action="camera_clock", anchor=anchor.id)
    for i in scope.ids:
        moved = datetime.fromisoformat(fresh(db.session.get(File, i)).taken_local)
        assert moved - datetime.fromisoformat(before[i]) == delta  # to the second, in every import
    assert fresh(anchor).taken_local == "2008-10-22T14:30:00"
    assert fresh(two_imports["other_body.JPG"]).taken_local == "2008-10-22T13:00:00"  # another camera
    assert fresh(two_imports["DSCN0103.JPG"]).taken_local == "2008-10-24T09:15:00"  # typed by a person

    assert timefix.undo(batch) == 5  # undo restores every file
    assert {i: fresh(db.session.get(File, i)).taken_local for i in scope.ids} == before


def test_confirming_the_file_date_of_a_no_date_file(app, tmp_path):
    write_image(tmp_path / "p" / "scan.jpg", color="gray", mtime=datetime(2026, 11, 29, 13, 13, tzinfo=UTC))
    imported(tmp_path / "p")
    f = by_name("scan.jpg")
    assert f.confidence == Confidence.NONE and f.needs_review
    batch = timefix.confirm([f.id])
    assert (fresh(f).confidence, fresh(f).time_decided, fresh(f).needs_review) == (Confidence.HIGH, True, False)
    assert timefix.undo(batch) == 1
    assert (fresh(f).confidence, fresh(f).time_decided) == (Confidence.NONE, False)
