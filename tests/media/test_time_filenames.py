"""The labelled table of file-name cases: every pattern, and near-misses that must not match.

Adding a naming scheme = one row in app/media/filenames.py + one line in CASES."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.media import filenames, timestamps
from app.vocab import Precision

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# (file name, pattern, expected value (ISO; +00:00 means a UTC instant), precision)
CASES = [
    ("PXL_20190615_123000123.jpg", "pixel", "2019-06-15T12:30:00.123000+00:00", "second"),
    ("PXL_20190615_123000123.MP.jpg", "pixel", "2019-06-15T12:30:00.123000+00:00", "second"),
    ("PXL_20191231_233000000.NIGHT.jpg", "pixel", "2019-12-31T23:30:00+00:00", "second"),
    ("00000IMG_00000_BURST20190615143000123_COVER.jpg", "burst", "2019-06-15T14:30:00.123000", "second"),
    ("00100lrPORTRAIT_00100_BURST20190615143000123_COVER.jpg", "burst", "2019-06-15T14:30:00.123000", "second"),
    ("IMG-20190615-WA0001.jpg", "whatsapp", "2019-06-15T00:00:00", "day"),
    ("VID-20190615-WA0012.mp4", "whatsapp", "2019-06-15T00:00:00", "day"),
    ("WhatsApp Image 2019-06-15 at 14.30.00.jpeg", "whatsapp_export", "2019-06-15T14:30:00", "second"),
    ("WhatsApp Image 2019-06-15 at 14.30.00 (1).jpeg", "whatsapp_export", "2019-06-15T14:30:00", "second"),
    ("WhatsApp Video 2019-06-15 at 2.30.05 PM.mp4", "whatsapp_export", "2019-06-15T14:30:05", "second"),
    ("WhatsApp Image 2019-06-15 at 12.05.00 AM.jpeg", "whatsapp_export", "2019-06-15T00:05:00", "second"),
    ("PHOTO-2019-06-15-14-30-00.jpg", "whatsapp_ios", "2019-06-15T14:30:00", "second"),
    ("VIDEO-2019-06-15-14-30-00.mp4", "whatsapp_ios", "2019-06-15T14:30:00", "second"),
    ("signal-2019-06-15-143000.jpg", "signal", "2019-06-15T14:30:00", "second"),
    ("signal-2019-06-15-14-30-00-123.jpg", "signal", "2019-06-15T14:30:00", "second"),
    ("photo_2019-06-15_14-30-00.jpg", "telegram", "2019-06-15T14:30:00", "second"),
    ("Screenshot 2019-06-15 at 14.30.00.png", "screenshot_macos", "2019-06-15T14:30:00", "second"),
    ("Screen Shot 2019-06-15 at 2.30.00 PM.png", "screenshot_macos", "2019-06-15T14:30:00", "second"),
    ("Screenshot 2023-01-05 at 2.30.00\u202fPM.png", "screenshot_macos", "2023-01-05T14:30:00", "second"),
    ("Bildschirmfoto 2019-06-15 um 14.30.00.png", "screenshot_macos", "2019-06-15T14:30:00", "second"),
    ("Screenshot 2024-01-15 093012.png", "screenshot_windows", "2024-01-15T09:30:12", "second"),
    ("IMG_20190615_143000.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("IMG_20190615_143000_1.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("VID_20190615_143000.mp4", "android", "2019-06-15T14:30:00", "second"),
    ("MVIMG_20190615_143000.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("IMG_20190615_143000_BURST001_COVER.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("PANO_20190615_143000.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("Screenshot_20190615-143000.png", "android", "2019-06-15T14:30:00", "second"),
    ("Screenshot_20190615-143000_Chrome.jpg", "android", "2019-06-15T14:30:00", "second"),
    ("Screen_Recording_20190615-143000_YouTube.mp4", "android", "2019-06-15T14:30:00", "second"),
    ("Screenshot_2019-06-15-14-30-00.png", "android_dashed", "2019-06-15T14:30:00", "second"),
    ("Screenshot_2019-06-15-14-30-00-123_com.whatsapp.jpg", "android_dashed", "2019-06-15T14:30:00", "second"),
    ("2019-06-15 14.30.00.jpg", "dropbox", "2019-06-15T14:30:00", "second"),
    ("2019-06-15 14.30.00-1.jpg", "dropbox", "2019-06-15T14:30:00", "second"),
    ("22-04-06 15-21-03 2160.jpg", "nextcloud", "2022-04-06T15:21:03", "second"),
    ("20190615_143000.jpg", "samsung", "2019-06-15T14:30:00", "second"),
    ("20190615_143000(0).jpg", "samsung", "2019-06-15T14:30:00", "second"),
    ("DJI_20190615143000_0001_D.JPG", "dji", "2019-06-15T14:30:00", "second"),
    ("WP_20140615_14_30_00_Pro.jpg", "windows_phone", "2014-06-15T14:30:00", "second"),
    ("1560601800123.jpg", "epoch_ms", "2019-06-15T12:30:00.123000+00:00", "second"),
    ("FB_IMG_1560601800123.jpg", "epoch_ms", "2019-06-15T12:30:00.123000+00:00", "second"),
    ("mmexport1560601800123.jpg", "epoch_ms", "2019-06-15T12:30:00.123000+00:00", "second"),
    ("1560601800.jpg", "epoch_s", "2019-06-15T12:30:00+00:00", "second"),
    ("Party 2019-06-15 14-30-00.jpg", "dated_time", "2019-06-15T14:30:00", "second"),
    ("scan_20190615-143000.jpg", "compact_time", "2019-06-15T14:30:00", "second"),
    ("20190615143000.jpg", "compact_time", "2019-06-15T14:30:00", "second"),
    ("2019-06-15 Birthday.jpg", "dated", "2019-06-15T00:00:00", "day"),
    ("Oma_1975_08_02.jpg", "dated", "1975-08-02T00:00:00", "day"),
    ("scan_20190615.jpg", "compact_date", "2019-06-15T00:00:00", "day"),
    ("IMG-20190615-WA.jpg", "compact_date", "2019-06-15T00:00:00", "day"),  # not WhatsApp's shape, still a date
    ("IMG_20190615_256100.jpg", "compact_date", "2019-06-15T00:00:00", "day"),  # hour 25: only the date is real
]

NEAR_MISSES = [
    "IMG_1234.JPG",  # camera counter
    "DSC_0001.JPG",
    "P1010001.JPG",
    "GOPR0123.MP4",
    "DJI_0001.JPG",  # old DJI names carry no date
    "MVI_1234.AVI",
    "12345678.jpg",  # a random 8-digit id
    "IMG_48213957.jpg",  # a random 8-digit id behind a prefix
    "83749201_1234.jpg",
    "+49 170 1234567.jpg",  # a phone number
    "Anruf 01701234567.jpg",  # an 11-digit phone number
    "4915112345678.jpg",  # 13 digits, not an epoch in range
    "015112345678.jpg",
    "Snapchat-1560601800.jpg",  # Snapchat numbers are random, not times
    "received_10156789012345678.jpeg",  # a Facebook id
    "IMG_20191332_101010.jpg",  # month 13
    "20190230_120000.jpg",  # 30 February
    "20991231.jpg",  # a date in the future is not believed from digits
    "1899.jpg",
    "9999999999.jpg",  # an epoch far in the future
    "0000000000123.jpg",
    "v2.0.1 build 1234.jpg",
]


@pytest.mark.parametrize(("name", "pattern", "expected", "precision"), CASES, ids=[c[0] for c in CASES])
def test_filename_case(name, pattern, expected, precision):
    found = filenames.match(name, NOW)
    assert found is not None, f"{name} should match {pattern}"
    assert found.pattern.name == pattern
    assert found.value.isoformat() == expected
    assert found.precision == precision


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_miss_does_not_match(name):
    found = filenames.match(name, NOW)
    assert found is None, f"{name} wrongly matched {found.pattern.name}: {found.value}"


def test_every_pattern_row_has_a_labelled_case_and_its_example_matches():
    covered = {c[1] for c in CASES}
    for p in filenames.PATTERNS:
        assert p.name in covered, f"pattern {p.name} needs a line in CASES"
        found = filenames.match(p.example, NOW)
        assert found is not None and found.pattern.name == p.name, f"{p.name}: its example {p.example!r} must match it"
        assert p.meaning in ("local", "utc", "sent") and p.precision in tuple(Precision)


def test_pattern_table_covers_the_issue_list():
    names = {p.name for p in filenames.PATTERNS}
    for required in ("android", "pixel", "burst", "whatsapp", "whatsapp_export", "whatsapp_ios", "screenshot_macos",
                     "signal", "dropbox", "samsung", "dji", "epoch_ms", "epoch_s", "dated", "compact_date",
                     "dated_time", "compact_time"):  # fmt: skip
        assert required in names


def test_meanings_become_candidate_zone_and_role():
    pixel = timestamps.filename_candidates("PXL_20190615_123000123.jpg", NOW)[0]
    assert (pixel.source, pixel.zone, pixel.role) == ("filename:pixel", "utc", "capture")
    phone = timestamps.filename_candidates("IMG_20190615_143000.jpg", NOW)[0]
    assert (phone.zone, phone.role, phone.value.tzinfo) == ("local", "capture", None)
    sent = timestamps.filename_candidates("IMG-20190615-WA0001.jpg", NOW)[0]
    assert (sent.zone, sent.role, sent.precision) == ("local", "not_after", "day")


def test_epoch_only_inside_plausible_range():
    assert filenames.match("1000000000.jpg", NOW).value == datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
    assert filenames.match("946684799.jpg", NOW) is None  # 9 digits: before 2000
    future = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    assert filenames.match(f"{future}.jpg", NOW) is None


def test_stem_keeps_dots_that_are_not_an_extension():
    assert filenames.stem_of("2019-06-15 14.30.00.jpg") == "2019-06-15 14.30.00"
    assert filenames.stem_of("2019-06-15 14.30.00") == "2019-06-15 14.30.00"
    assert filenames.stem_of("dir/PXL_20190615_123000123.MP.jpg") == "PXL_20190615_123000123.MP"


FOLDERS = [
    ("2019", "2019-01-01T00:00:00", "year"),
    ("2019-06", "2019-06-01T00:00:00", "month"),
    ("2008-07 Summer", "2008-07-01T00:00:00", "month"),
    ("Photos/2019/06/15", "2019-06-15T00:00:00", "day"),
    ("Photos/2019/06", "2019-06-01T00:00:00", "month"),
    ("2019/06/Party", "2019-06-01T00:00:00", "month"),
    ("2019_06_15 Wedding", "2019-06-15T00:00:00", "day"),
    ("20190615", "2019-06-15T00:00:00", "day"),
    ("15.06.2019 Geburtstag", "2019-06-15T00:00:00", "day"),
    ("Party 2019-06-15", "2019-06-15T00:00:00", "day"),
    ("June 2019", "2019-06-01T00:00:00", "month"),
    ("Juni 2019", "2019-06-01T00:00:00", "month"),
    ("Summer 2019", "2019-01-01T00:00:00", "year"),
    ("Scans/1975 Christmas", "1975-01-01T00:00:00", "year"),  # old scans are real
    ("2018/Holiday/2019-06 Trip/DCIM", "2019-06-01T00:00:00", "month"),  # the deepest dated folder wins
    ("/home/anna/Pictures/2019/06/15", "2019-06-15T00:00:00", "day"),
]
FOLDER_MISSES = ["DCIM/100CANON", "Camera", "2099", "pytest-of-root/pytest-12/test_x0", "100_0615", "Room 101", ""]


@pytest.mark.parametrize(("folder", "expected", "precision"), FOLDERS)
def test_folder_dates(folder, expected, precision):
    found = timestamps.folder_candidates(folder, NOW)
    assert len(found) == 1
    assert found[0].value.isoformat() == expected and found[0].precision == precision
    assert found[0].source == "folder" and found[0].zone == "local"


@pytest.mark.parametrize("folder", FOLDER_MISSES)
def test_folder_without_date(folder):
    assert timestamps.folder_candidates(folder, NOW) == []
