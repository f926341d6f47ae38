"""Choosing the capture time: trust order, agreement, time zones, sanity, confidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.media import clues, confidence, timestamps
from app.vocab import Confidence

HIGH, MEDIUM, LOW, NONE = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW, Confidence.NONE

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def detect(meta=None, video=None, name="", folder="", mtime=None, sidecar=None, zone=BERLIN):
    """(the checked candidates, the choice), as an import stores them."""
    found = timestamps.collect(meta, video, name, folder, mtime, sidecar, now=NOW)
    candidates = confidence.sanity_check(found, NOW)
    return candidates, confidence.choose(found, zone, NOW)


def by_source(candidates, source):
    return next(c for c in candidates if c.source == source)


# --- trust order and HIGH ----------------------------------------------------------------


def test_exif_original_alone_is_high_and_naive():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:00"})
    assert (choice.iso(), choice.confidence, choice.source, choice.precision) == (
        "2019-06-15T14:30:00",
        HIGH,
        "exif:DateTimeOriginal",
        "second",
    )
    assert choice.offset is None
    assert choice.utc == datetime(2019, 6, 15, 12, 30, tzinfo=UTC)  # read in the household zone


def test_not_first_tag_and_not_earliest():
    # ModifyDate is earliest in the list and in time; DateTimeOriginal still wins.
    _, choice = detect(
        {"datetime": "2019:06:15 14:30:00", "datetime_original": "2019:06:15 14:30:00"},
        name="IMG_20190601_100000.jpg",
    )
    assert choice.source == "exif:DateTimeOriginal"


def test_offset_time_original_is_kept():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:00", "offset_original": "-05:00"})
    assert choice.iso() == "2019-06-15T14:30:00-05:00"
    assert choice.offset == -300 and choice.utc == datetime(2019, 6, 15, 19, 30, tzinfo=UTC)
    assert choice.confidence == HIGH


def test_subseconds_are_kept_but_not_printed():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:00", "subsec_original": "123"})
    assert choice.local.microsecond == 123000 and choice.iso() == "2019-06-15T14:30:00"


def test_filename_agreeing_with_exif_keeps_high():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:01"}, name="IMG_20190615_143000.jpg")
    assert choice.confidence == HIGH


def test_filename_disagreeing_with_exif_is_low():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:00"}, name="IMG_20180101_093000.jpg")
    assert choice.source == "exif:DateTimeOriginal" and choice.confidence == LOW
    assert any("filename:android" in n and "disagree" in n for n in choice.notes)


def test_whole_hour_difference_is_a_time_zone_mixup():
    _, choice = detect({"datetime_original": "2019:06:15 14:30:00"}, name="IMG_20190615_133000.jpg")
    assert choice.confidence == MEDIUM
    assert any("time-zone mix-up" in n for n in choice.notes)


def test_created_later_than_taken_is_a_scan_or_copy():
    _, choice = detect({"datetime_original": "1985:07:01 12:00:00", "datetime_digitized": "2019:03:02 10:00:00"})
    assert choice.iso() == "1985-07-01T12:00:00" and choice.confidence == MEDIUM
    _, choice = detect({"datetime_original": "2019:03:02 10:00:00", "datetime_digitized": "2018:03:02 10:00:00"})
    assert choice.confidence == LOW  # digitized before it was taken: a clock is wrong


def test_modified_before_taken_means_a_wrong_clock():
    # WWL_Polaroid-like: capture date far after the file's own modification date.
    _, choice = detect({"datetime_original": "2026:11:24 14:41:16", "datetime": "2008:07:31 17:32:06"})
    assert choice.iso() == "2026-11-24T14:41:16" and choice.confidence == LOW
    assert any("before it was taken" in n for n in choice.notes)


def test_video_header_alone_is_medium_and_shown_in_household_zone():
    _, choice = detect(video={"creation_time": "2019-06-15T12:30:00Z"})
    assert (choice.iso(), choice.confidence) == ("2019-06-15T14:30:00+02:00", MEDIUM)


def test_apple_creation_date_is_high_when_header_agrees():
    _, choice = detect(
        video={
            "apple_creationdate": "2019-07-24T11:25:40+0300",
            "creation_time": "2019-07-24T08:25:41Z",
            "duration": 4.0,
        }
    )
    assert (choice.iso(), choice.confidence, choice.source) == (
        "2019-07-24T11:25:40+03:00",
        HIGH,
        "video:apple_creationdate",
    )


def test_apple_creation_date_with_header_17s_later_is_not_high():
    # with-gps.mov: the header is 17 s after the capture start of a 4 s clip
    _, choice = detect(
        video={
            "apple_creationdate": "2019-07-24T11:25:40+0300",
            "creation_time": "2019-07-24T08:25:57Z",
            "duration": 4.0,
        }
    )
    assert choice.iso() == "2019-07-24T11:25:40+03:00" and choice.confidence == MEDIUM


def test_avi_local_time_stays_local():
    _, choice = detect(video={"creation_time": "2009-10-27 12:14:34"})
    assert (choice.iso(), choice.offset) == ("2009-10-27T12:14:34", None)


# --- GPS: offsets learned in 15-minute steps ------------------------------------------------


@pytest.mark.parametrize(
    ("local", "gps", "offset"),
    [
        ("2019:06:15 14:30:00", (12, 30, 0), "+02:00"),  # Berlin summer
        ("2019:01:15 13:30:00", (12, 30, 0), "+01:00"),  # Berlin winter
        ("2019:06:15 18:15:00", (12, 30, 0), "+05:45"),  # Nepal
        ("2019:06:15 22:00:00", (12, 30, 0), "+09:30"),  # Adelaide
        ("2019:06:15 08:30:00", (12, 30, 0), "-04:00"),  # New York
        ("2019:06:16 02:30:00", (12, 30, 0), "+14:00"),  # Kiribati, next calendar day
        ("2019:06:15 00:30:00", (12, 30, 0), "-12:00"),
        ("2019:06:15 14:31:40", (12, 30, 0), "+02:00"),  # a GPS fix 100 s old still fits
    ],
)
def test_gps_teaches_the_offset(local, gps, offset):
    gps_day = "2019:01:15" if local.startswith("2019:01") else "2019:06:15"
    meta = {"datetime_original": local, "gps_date": gps_day, "gps_time": list(gps)}
    candidates, choice = detect(meta)
    assert choice.iso() == local.replace(":", "-", 2).replace(" ", "T") + offset
    assert choice.confidence == HIGH
    assert any("learned from gps" in n for n in choice.notes)
    expected = datetime.fromisoformat(choice.iso()).astimezone(UTC)
    assert choice.utc == expected


def test_gps_that_fits_no_time_zone_is_a_disagreement():
    # DSCN0010-like: GPS 22 h after the camera time; no offset explains it.
    meta = {"datetime_original": "2008:10:22 16:28:39", "gps_date": "2008:10:23", "gps_time": [14, 27, 7.24]}
    _, choice = detect(meta)
    assert choice.iso() == "2008-10-22T16:28:39" and choice.offset is None
    assert choice.confidence == LOW
    assert any("no time zone explains that" in n for n in choice.notes)


def test_gps_off_the_15_minute_grid_is_not_trusted_for_the_offset():
    meta = {"datetime_original": "2019:06:15 14:37:30", "gps_date": "2019:06:15", "gps_time": [12, 30, 0]}
    _, choice = detect(meta)
    assert choice.offset is None and choice.confidence == MEDIUM  # 7.5 min from any zone: not HIGH
    meta = {"datetime_original": "2019:06:15 14:50:00", "gps_date": "2019:06:15", "gps_time": [12, 30, 0]}
    _, choice = detect(meta)
    assert choice.offset is None and choice.confidence == LOW  # +02:20 (or +02:15): no zone uses that


def test_gps_disagreeing_with_a_written_offset_is_a_mixup():
    meta = {
        "datetime_original": "2019:06:15 14:30:00",
        "offset_original": "+02:00",
        "gps_date": "2019:06:15",
        "gps_time": [13, 30, 0],
    }
    _, choice = detect(meta)
    assert choice.iso() == "2019-06-15T14:30:00+02:00" and choice.confidence == MEDIUM
    assert any("time-zone mix-up" in n for n in choice.notes)


def test_gps_alone_is_an_instant_in_the_household_zone():
    _, choice = detect({"gps_date": "2019:10:27", "gps_time": [0, 30, 0]})
    assert (choice.iso(), choice.confidence, choice.source) == ("2019-10-27T02:30:00+02:00", MEDIUM, "gps")
    _, choice = detect({"gps_date": "2019:10:27", "gps_time": [1, 30, 0]})
    assert choice.iso() == "2019-10-27T02:30:00+01:00"  # the same wall clock an hour later: DST ended


def test_invalid_gps_is_rejected_and_kept():
    candidates, choice = detect({"datetime_original": "2099:09:29 10:10:10", "gps_date": "1999:99:99 99:99:99"})
    gps = by_source(candidates, "gps")
    assert gps.rejected and gps.value is None
    assert by_source(candidates, "exif:DateTimeOriginal").rejected == "in the future"
    assert choice.confidence == NONE and choice.iso() is None


# --- time zones and DST with MEDIAPARSER_TIMEZONE=Europe/Berlin -----------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("PXL_20190615_123000000.jpg", "2019-06-15T14:30:00+02:00"),  # CEST
        ("PXL_20190115_123000000.jpg", "2019-01-15T13:30:00+01:00"),  # CET
        ("PXL_20190331_005959000.jpg", "2019-03-31T01:59:59+01:00"),  # just before the spring change
        ("PXL_20190331_010000000.jpg", "2019-03-31T03:00:00+02:00"),  # 02:00 CET never happened
        ("PXL_20191027_003000000.jpg", "2019-10-27T02:30:00+02:00"),  # the first 02:30
        ("PXL_20191027_013000000.jpg", "2019-10-27T02:30:00+01:00"),  # the second 02:30
        ("1560601800.jpg", "2019-06-15T14:30:00+02:00"),
    ],
)
def test_utc_names_are_shown_in_berlin_with_dst(name, expected):
    _, choice = detect(name=name)
    assert choice.iso() == expected


def test_naive_times_are_read_in_the_household_zone():
    _, summer = detect({"datetime_original": "2019:06:15 14:30:00"})
    _, winter = detect({"datetime_original": "2019:01:15 14:30:00"})
    assert summer.utc == datetime(2019, 6, 15, 12, 30, tzinfo=UTC)
    assert winter.utc == datetime(2019, 1, 15, 13, 30, tzinfo=UTC)
    _, tokyo = detect({"datetime_original": "2019:06:15 14:30:00"}, zone=ZoneInfo("Asia/Tokyo"))
    assert tokyo.iso() == "2019-06-15T14:30:00" and tokyo.utc == datetime(2019, 6, 15, 5, 30, tzinfo=UTC)


def test_local_name_gives_a_video_header_its_local_time():
    # A phone in New York: local name, UTC header -> the local time with its offset.
    _, choice = detect(video={"creation_time": "2019-06-15T12:30:02Z"}, name="VID_20190615_083000.mp4")
    assert choice.iso() == "2019-06-15T08:30:02-04:00"
    assert choice.confidence == MEDIUM


# --- sanity: placeholders, clock-never-set, future, range ------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0000:00:00 00:00:00",
        "    :  :     :  :  ",
        "2000:01:01 00:00:00",
        "2000:01:01 00:03:12",  # a clock that started at its default and ran a few minutes
        "1980:01:01 00:00:00",
        "1970:01:01 00:00:00",
        "2007:01:01 00:00:00",  # Sony_DSLR-A200
        "1998:01:01 00:00:00",  # sanyo-vpcg250
        "2019:13:45 10:00:00",
        "2019:02:30 10:00:00",
        "2019:06:15 25:00:00",
        "2099:06:15 10:00:00",
        "1820:06:15 10:00:00",
        "garbage",
    ],
)
def test_placeholders_are_rejected_but_kept_visible(value):
    candidates, choice = detect({"datetime_original": value}, name="IMG_20190615_143000.jpg")
    dto = by_source(candidates, "exif:DateTimeOriginal")
    assert dto.rejected, value
    assert choice.source == "filename:android"
    assert choice.iso() == "2019-06-15T14:30:00"


def test_old_scans_are_real():
    # A scan's own date from 1962, a folder from 1975, a person's IPTC date from 1955.
    _, choice = detect({"datetime_original": "1962:05:01 12:00:00"})
    assert choice.iso() == "1962-05-01T12:00:00" and choice.confidence == HIGH
    _, choice = detect(folder="Scans/1975 Christmas")
    assert (choice.iso(), choice.precision, choice.source) == ("1975-01-01T00:00:00", "year", "folder")
    _, choice = detect({"iptc_date_created": "19550101"})
    assert (choice.iso(), choice.precision) == ("1955-01-01T00:00:00", "day")


def test_midnight_from_software_means_date_only():
    candidates, choice = detect({"datetime_original": "2003:08:30 00:00:00"})
    assert choice.precision == "day" and choice.iso() == "2003-08-30T00:00:00"


def test_sanity_check_returns_new_candidates_and_leaves_the_given_ones_alone():
    found = timestamps.collect(
        {"datetime_original": "2000:01:01 00:03:12", "datetime_digitized": "2003:08:30 00:00:00"},
        name="IMG_20190615_143000.jpg",
        now=NOW,
    )
    before = [c.to_dict() for c in found]
    checked = confidence.sanity_check(found, NOW)
    assert [c.to_dict() for c in found] == before  # nothing changed in place
    assert by_source(checked, "exif:DateTimeOriginal").rejected.startswith("a device's start date (2000-01-01)")
    digitized = by_source(checked, "exif:CreateDate")
    assert (digitized.precision, digitized.note) == (
        "day",
        "time 00:00:00 is how software writes a date without a time",
    )
    assert by_source(checked, "filename:android") is by_source(found, "filename:android")  # unchanged: the same
    again = confidence.sanity_check(checked, NOW)
    assert [c.to_dict() for c in again] == [c.to_dict() for c in checked]  # checking twice changes nothing
    choice = confidence.choose(found, BERLIN, NOW)
    assert [c.to_dict() for c in found] == before and (choice.source, choice.precision) == ("exif:CreateDate", "day")


def test_future_mtime_and_placeholder_mtime_are_rejected():
    candidates, choice = detect(mtime=datetime(1980, 1, 1, tzinfo=UTC))
    assert by_source(candidates, "mtime").rejected and choice.confidence == NONE
    candidates, choice = detect(mtime=NOW + timedelta(days=30))
    assert by_source(candidates, "mtime").rejected == "in the future"


# --- precision -------------------------------------------------------------------------------


def test_whatsapp_day_is_low_and_never_gets_a_time_of_day():
    _, choice = detect(name="IMG-20190615-WA0001.jpg", mtime=datetime(2019, 6, 15, 18, 12, tzinfo=UTC))
    assert (choice.iso(), choice.precision, choice.confidence) == ("2019-06-15T00:00:00", "day", LOW)
    assert choice.offset is None


def test_whatsapp_day_is_an_upper_bound_for_exif():
    _, choice = detect({"datetime_original": "2019:06:10 09:00:00"}, name="IMG-20190615-WA0001.jpg")
    assert choice.confidence == HIGH  # taken five days before it was sent: fine
    _, choice = detect({"datetime_original": "2019:06:20 09:00:00"}, name="IMG-20190615-WA0001.jpg")
    assert choice.confidence == LOW  # taken after it was sent: a clock is wrong


def test_folder_month_is_kept_as_month():
    _, choice = detect(folder="2008-07 Summer", mtime=datetime(2020, 1, 1, tzinfo=UTC))
    assert (choice.iso(), choice.precision, choice.source, choice.confidence) == (
        "2008-07-01T00:00:00",
        "month",
        "folder",
        LOW,
    )


def test_folder_disagreeing_with_camera_lowers_confidence():
    _, inside = detect({"datetime_original": "2008:07:20 10:00:00"}, folder="2008-07 Summer")
    assert inside.confidence == HIGH
    _, near = detect({"datetime_original": "2008:08:20 10:00:00"}, folder="2008-07 Summer")
    assert near.confidence == MEDIUM
    _, far = detect({"datetime_original": "2019:08:20 10:00:00"}, folder="1985 Christmas")
    assert far.confidence == LOW


def test_coarse_best_takes_a_finer_agreeing_time():
    meta = {"photoshop_date_created": "2019-06-15", "xmp_create_date": "2019-06-15T14:30:00"}
    _, choice = detect(meta)
    assert (choice.iso(), choice.precision, choice.source) == ("2019-06-15T14:30:00", "second", "xmp:CreateDate")


def test_mtime_is_the_weakest_and_shown_in_household_zone():
    _, choice = detect(mtime=datetime(2019, 6, 15, 12, 30, tzinfo=UTC))
    # a file time alone is a hint: kept (and shown in the household zone), but "No date"
    assert (choice.iso(), choice.source, choice.confidence) == ("2019-06-15T14:30:00+02:00", "mtime", NONE)
    _, choice = detect(name="IMG_20190615_143000.jpg", mtime=datetime(2021, 1, 1, tzinfo=UTC))
    assert choice.source == "filename:android" and choice.confidence == MEDIUM  # mtime never disagrees


def test_nothing_usable_is_none():
    _, choice = detect()
    assert choice.confidence == NONE and choice.iso() is None and choice.precision is None


# --- XMP / IPTC / PNG semantics -----------------------------------------------------------------


def test_xmp_zero_offset_means_unknown_and_z_means_instant():
    candidates, _ = detect({"xmp_create_date": "2019-06-15T14:30:00+00:00", "xmp_modify_date": "2019-06-15T12:30:00Z"})
    assert by_source(candidates, "xmp:CreateDate").zone == "local"
    assert by_source(candidates, "xmp:ModifyDate").zone == "utc"


def test_iptc_date_and_time_with_offset():
    _, choice = detect({"iptc_date_created": "20061029", "iptc_time_created": "062751-0500"})
    assert (choice.iso(), choice.confidence, choice.source) == ("2006-10-29T06:27:51-05:00", MEDIUM, "iptc:DateCreated")


def test_xmp_copy_in_another_zone_is_no_mixup():
    # 33-type_error.jpg: XMP writes the same instant as CreateDate in a different zone.
    meta = {
        "datetime_original": "2008:05:25 19:31:26",
        "xmp_datetime_original": "2008-05-25T19:31:26.0+1:00",
        "xmp_create_date": "2008-05-25T20:31:26+02:00",
    }
    _, choice = detect(meta)
    assert choice.confidence == HIGH and choice.offset is None


def test_png_time_is_utc_and_only_an_upper_bound():
    _, choice = detect({"png_time": "2014-08-31T13:10:22"})
    assert (choice.iso(), choice.source, choice.confidence) == ("2014-08-31T15:10:22+02:00", "png:tIME", LOW)


def test_rules_are_data_for_the_review_page():
    assert [level for level, _ in clues.RULES] == [HIGH, MEDIUM, LOW, NONE]
    assert all(isinstance(text, str) and len(text) > 30 for _, text in clues.RULES)
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in clues.TOLERANCES)
    assert clues.SOURCES["exif:DateTimeOriginal"].rank < clues.SOURCES["mtime"].rank


def test_candidates_round_trip_through_json():
    candidates, _ = detect(
        {"datetime_original": "2019:06:15 14:30:00", "offset_original": "+02:00", "datetime": "0000:00:00 00:00:00"},
        name="PXL_20190615_123000123.jpg",
    )
    again = [timestamps.Candidate.from_dict(c.to_dict()) for c in candidates]
    assert [(c.source, c.value, c.zone, c.role, c.rejected) for c in again] == [
        (c.source, c.value, c.zone, c.role, c.rejected) for c in candidates
    ]


def test_prefer_uses_the_named_candidate():
    candidates = timestamps.collect({"datetime_original": "2019:06:15 14:30:00"}, name="IMG_20180101_120000.jpg")
    choice = confidence.choose(candidates, BERLIN, NOW, prefer="filename:android")
    assert choice.source == "filename:android" and choice.iso() == "2018-01-01T12:00:00"


def test_video_header_holding_local_time_is_not_taken_for_utc():
    # A camera that writes its local wall clock into the "UTC" header: the name agrees to the second.
    _, choice = detect(video={"creation_time": "2019-06-15T14:30:00Z"}, name="20190615_143000.mp4")
    assert (choice.iso(), choice.offset, choice.confidence) == ("2019-06-15T14:30:00", None, MEDIUM)
    assert any("holds the local time" in n for n in choice.notes)


def test_takeout_upload_time_loses_to_a_dated_name():
    uploaded = int(datetime(2021, 3, 1, 9, 0, tzinfo=UTC).timestamp())
    sidecar = {"photo_taken": uploaded, "created": uploaded, "file": "x.json"}
    _, choice = detect(name="IMG-20190615-WA0001.jpg", sidecar=sidecar)
    assert (choice.iso(), choice.source) == ("2019-06-15T00:00:00", "filename:whatsapp")


def test_gps_date_alone_keeps_its_utc_day_in_any_household_zone():
    _, choice = detect({"gps_date": "2019:06:15"}, zone=ZoneInfo("America/New_York"))
    assert (choice.iso(), choice.precision) == ("2019-06-15T00:00:00", "day")
