"""The review library: set, shift, suggest, choose, confirm, undo — and re-detection that
never overrides a person's decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.models import File, UserDecision, db
from app.pipeline import importer, jobs, reprocess, timefix
from tests.time_helpers import make_exif, set_mtime, write_image

BERLIN = ZoneInfo("Europe/Berlin")  # the household zone the callers pass


@pytest.fixture
def library(app, tmp_path):
    """An imported folder: three photos from one camera, one from another, one without EXIF."""
    root = tmp_path / "photos"
    canon = {"make": "Canon", "model": "EOS 5D"}
    write_image(root / "a.jpg", make_exif("2019:06:15 14:30:00", **canon), color="red")
    write_image(root / "b.jpg", make_exif("2019:06:15 15:00:00", **canon), color="green")
    write_image(root / "c.jpg", make_exif("2019:06:16 09:00:00", **canon), color="blue")
    write_image(root / "d.jpg", make_exif("2019:06:15 14:31:00", make="Apple", model="iPhone 8"), color="yellow")
    write_image(root / "IMG-20190615-WA0001.jpg", color="white")
    set_mtime(root / "IMG-20190615-WA0001.jpg", datetime(2019, 6, 15, 20, 0, tzinfo=UTC))
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    return {f.original_name: f for f in db.session.execute(select(File)).scalars()}


def fresh(f: File) -> File:
    db.session.expire_all()
    return db.session.get(File, f.id)


def test_detected_state_after_import(library):
    a, wa = library["a.jpg"], library["IMG-20190615-WA0001.jpg"]
    assert (a.taken_local, a.confidence, a.time_decided) == ("2019-06-15T14:30:00", "high", False)
    assert (wa.taken_local, wa.taken_precision, wa.confidence, wa.needs_review) == (
        "2019-06-15T00:00:00",
        "day",
        "low",
        True,
    )


def test_set_time_with_offset_and_precision(library):
    wa = library["IMG-20190615-WA0001.jpg"]
    batch = timefix.set_time([wa.id], datetime(2019, 6, 14, 18, 45, 33), "minute", 120, zone=BERLIN)
    wa = fresh(wa)
    assert (wa.taken_local, wa.taken_offset, wa.taken_precision) == ("2019-06-14T18:45:00", 120, "minute")
    assert wa.taken_at == datetime(2019, 6, 14, 16, 45, tzinfo=UTC)
    assert (wa.taken_source, wa.confidence, wa.needs_review, wa.time_decided) == ("user", "high", False, True)
    decision = db.session.execute(select(UserDecision).where(UserDecision.batch == batch)).scalar_one()
    assert decision.kind == "timestamp" and decision.file_id == wa.id
    assert decision.payload["old"]["taken_local"] == "2019-06-15T00:00:00"
    assert decision.payload["new"]["taken_local"] == "2019-06-14T18:45:00"


def test_set_day_never_invents_a_time(library):
    wa = library["IMG-20190615-WA0001.jpg"]
    timefix.set_time([wa.id], datetime(2019, 6, 14, 18, 45), "day", 120, zone=BERLIN)
    wa = fresh(wa)
    assert (wa.taken_local, wa.taken_precision, wa.taken_offset) == ("2019-06-14T00:00:00", "day", None)
    # without an offset the wall clock is read in the household zone (Berlin, summer: +02:00)
    assert wa.taken_at == datetime(2019, 6, 13, 22, 0, tzinfo=UTC)


def test_the_household_zone_is_the_callers(library):
    """No settings are read here: the zone a caller passes decides the instant."""
    a = library["a.jpg"]
    timefix.set_time([a.id], datetime(2019, 6, 15, 14, 30), "minute", None, zone=ZoneInfo("Asia/Tokyo"))
    assert fresh(a).taken_at == datetime(2019, 6, 15, 5, 30, tzinfo=UTC)
    # wall clocks daylight saving skips or repeats: the first reading (the offset before the change)
    timefix.set_time([a.id], datetime(2019, 3, 31, 2, 30), "minute", None, zone=BERLIN)
    assert fresh(a).taken_at == datetime(2019, 3, 31, 1, 30, tzinfo=UTC)
    timefix.set_time([a.id], datetime(2019, 10, 27, 2, 30), "minute", None, zone=BERLIN)
    assert fresh(a).taken_at == datetime(2019, 10, 27, 0, 30, tzinfo=UTC)
    # an aware time a person knows: read in the file's own offset, else in the zone passed
    b, wa = library["b.jpg"], library["IMG-20190615-WA0001.jpg"]
    true = datetime(2019, 6, 15, 13, 0, tzinfo=UTC)
    assert timefix.suggest_shift(b.id, true, BERLIN) == timedelta(0)  # 15:00 in Berlin: what b says
    assert timefix.suggest_shift(b.id, true, ZoneInfo("Asia/Tokyo")) == timedelta(hours=7)
    timefix.set_time([wa.id], datetime(2019, 6, 15, 20, 0), "minute", -240, zone=BERLIN)
    assert timefix.suggest_shift(wa.id, true, ZoneInfo("Asia/Tokyo")) == timedelta(hours=-11)  # 09:00 at -04:00


def test_set_time_refuses_bad_input(library):
    a = library["a.jpg"]
    with pytest.raises(timefix.TimeFixError):
        timefix.set_time([a.id], datetime(2019, 6, 15), "hour", None, zone=BERLIN)
    with pytest.raises(timefix.TimeFixError):
        timefix.set_time([a.id], datetime(2019, 6, 15), "day", 24 * 60, zone=BERLIN)
    with pytest.raises(timefix.TimeFixError):
        timefix.set_time([a.id], datetime.now() + timedelta(days=30), "day", None, zone=BERLIN)
    with pytest.raises(timefix.TimeFixError):
        timefix.set_time([], datetime(2019, 6, 15), "day", None, zone=BERLIN)


def test_suggest_and_shift_a_camera(library):
    a, b, c, d = (library[n] for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"))
    # a photo of a clock: the camera said 14:30, the clock in the picture showed 15:42
    delta = timefix.suggest_shift(a.id, datetime(2019, 6, 15, 15, 42), BERLIN)
    assert delta == timedelta(hours=1, minutes=12)
    same = timefix.same_camera_file_ids(a.id)
    assert set(same) == {a.id, b.id, c.id} and d.id not in same
    preview = timefix.preview_shift(same, delta)
    assert (a.id, datetime(2019, 6, 15, 14, 30), datetime(2019, 6, 15, 15, 42)) in preview
    before_utc = fresh(b).taken_at
    batch = timefix.shift_times(same, delta)
    assert fresh(a).taken_local == "2019-06-15T15:42:00"
    assert fresh(c).taken_local == "2019-06-16T10:12:00"
    assert fresh(b).taken_at == before_utc + delta
    assert fresh(b).taken_precision == "second" and fresh(b).time_decided
    assert fresh(d).taken_local == "2019-06-15T14:31:00"  # another camera: untouched
    assert timefix.undo(batch) == 3
    assert fresh(a).taken_local == "2019-06-15T14:30:00" and not fresh(a).time_decided


def test_unknown_camera_gets_only_itself(library):
    wa = library["IMG-20190615-WA0001.jpg"]
    assert timefix.same_camera_file_ids(wa.id) == [wa.id]


def test_choose_candidate(library):
    wa = library["IMG-20190615-WA0001.jpg"]
    sources = [c["source"] for c in wa.time_candidates]
    assert "mtime" in sources and "filename:whatsapp" in sources
    timefix.choose_candidate(wa.id, "mtime", BERLIN)
    wa = fresh(wa)
    assert (wa.taken_local, wa.taken_offset, wa.taken_source) == ("2019-06-15T22:00:00", 120, "mtime")
    assert wa.time_decided and not wa.needs_review
    with pytest.raises(timefix.TimeFixError):
        timefix.choose_candidate(wa.id, "gps", BERLIN)


def test_confirm_and_confirm_all_high(library):
    wa = library["IMG-20190615-WA0001.jpg"]
    timefix.confirm([wa.id])
    wa = fresh(wa)
    assert (wa.needs_review, wa.time_decided, wa.taken_local, wa.confidence) == (
        False,
        True,
        "2019-06-15T00:00:00",
        "low",
    )
    count, batch = timefix.confirm_all_high()
    assert count == 4
    assert all(fresh(library[n]).time_decided for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"))
    assert timefix.confirm_all_high()[0] == 0  # nothing left to confirm
    assert timefix.undo(batch) == 4


def test_undo_is_a_decision_and_the_log_rebuilds_the_state(library):
    a = library["a.jpg"]
    first = timefix.set_time([a.id], datetime(2001, 1, 2, 3, 4, 5), "second", None, zone=BERLIN)
    second = timefix.set_time([a.id], datetime(2002, 2, 3, 4, 5, 6), "second", 60, zone=BERLIN)
    assert timefix.undo(first) == 0  # changed since: the later decision stands
    assert fresh(a).taken_local == "2002-02-03T04:05:06"
    assert timefix.undo(second) == 1
    assert fresh(a).taken_local == "2001-01-02T03:04:05"
    rows = db.session.execute(select(UserDecision).where(UserDecision.file_id == a.id).order_by(UserDecision.id))
    decisions = rows.scalars().all()
    assert [d.payload["action"] for d in decisions] == ["set", "set", "undo"]
    assert decisions[-1].undoes_id == decisions[1].id
    assert timefix.state_from_log(a.id) == timefix.snapshot(fresh(a))
    redo = decisions[-1].batch
    assert timefix.undo(redo) == 1  # undoing the undo redoes
    assert fresh(a).taken_local == "2002-02-03T04:05:06"
    assert [h["action"] for h in timefix.history(a.id)] == ["set", "set", "undo", "undo"]
    with pytest.raises(timefix.TimeFixError):
        timefix.undo("no-such-batch")


def test_redetect_never_overrides_a_decision(app, library):
    a, b = library["a.jpg"], library["b.jpg"]
    timefix.set_time([a.id], datetime(2001, 1, 2, 3, 4, 5), "second", None, zone=BERLIN)
    job = reprocess.start([a.id, b.id])
    assert jobs.run(job.id) == "completed"
    a, b = fresh(a), fresh(b)
    assert (a.taken_local, a.taken_source, a.time_decided) == ("2001-01-02T03:04:05", "user", True)
    assert any(c["source"] == "exif:DateTimeOriginal" for c in a.time_candidates)  # candidates refreshed
    assert b.taken_local == "2019-06-15T15:00:00" and not b.time_decided


def test_parse_human_time_is_part_of_the_api():
    assert timefix.parse_human_time("15.06.2019", "Europe/Berlin") == (datetime(2019, 6, 15), "day")
