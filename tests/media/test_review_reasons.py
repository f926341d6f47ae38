"""Why a date needs a look, as reasons from a fixed vocabulary, and the rules that keep good
camera dates out of review: backup-named folders, the 2002-12-08 placeholder."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.media import clues, confidence, tags, timestamps
from app.media.timestamps import Candidate
from app.vocab import Confidence, ReviewReason

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def choose(meta=None, name="", folder="", mtime=None):
    found = timestamps.collect(meta=meta, name=name, relative_dir=folder, mtime=mtime, now=NOW)
    return confidence.choose(found, BERLIN, NOW)


def camera(dto="2018:07:04 10:15:00", **more):
    return {"datetime_original": dto, "make": "Canon", "model": "EOS 40D", **more}


# Folder names people's backups, exports and device dumps really have (and event names that
# are not): a camera date on or before the copy is never doubtful because of them.
BACKUPS = [
    "Phone backup 2020",
    "Camera Roll 2008",
    "Old laptop export 2019",
    "Sicherung Handy 2017",
    "iPhone Backup 2021-03",
    "Backup 2020-12-24",
    "Export 2019",
    "Google Photos Takeout 2022",
    "SD card dump 2019",
    "DCIM 2020",
    "Alter Laptop 2018",
    "Dropbox Camera Uploads 2021",
]
EVENTS = ["Holiday 2019", "Weihnachten 2018", "2019-06 Summer at the lake", "Summer 2019", "Oma 80 2019"]


@pytest.mark.parametrize("folder", BACKUPS)
def test_a_backup_folder_named_later_does_not_make_a_camera_date_doubtful(folder):
    assert clues.is_backup_folder(folder)
    choice = choose(camera("2005:05:01 12:00:00"), name="IMG_1234.JPG", folder=folder)
    assert choice.confidence == Confidence.HIGH, choice.notes
    assert choice.reasons == []


@pytest.mark.parametrize("folder", EVENTS)
def test_an_event_folder_that_disagrees_is_camera_vs_folder(folder):
    assert not clues.is_backup_folder(folder)
    choice = choose(camera("2011:05:01 12:00:00"), name="IMG_1234.JPG", folder=folder)
    assert choice.confidence == Confidence.LOW
    assert choice.reasons[0] == ReviewReason.CAMERA_VS_FOLDER


def test_a_camera_date_after_the_backup_was_made_still_disagrees():
    """A photo from 2023 cannot be in a backup made in 2020: one of them is wrong."""
    choice = choose(camera("2023:05:01 12:00:00"), name="IMG_1.JPG", folder="Phone backup 2020")
    assert choice.confidence == Confidence.LOW and choice.reasons == [ReviewReason.CAMERA_VS_FOLDER]


def test_a_camera_made_name_counts_as_a_camera_date():
    choice = choose(name="IMG_20160501_120000.jpg", folder="Phone backup 2020/DCIM/Camera")
    assert choice.confidence == Confidence.MEDIUM and choice.reasons == []


def test_the_android_create_date_placeholder_is_ignored_without_lowering_the_camera_date():
    meta = camera("2019:02:03 10:11:12", datetime_digitized="2002:12:08 12:00:00")
    found = timestamps.collect(meta=meta, now=NOW)
    assert any(c.source == "exif:CreateDate" for c in found)
    checked = confidence.sanity_check(found, NOW, BERLIN)
    create = next(c for c in checked if c.source == "exif:CreateDate")
    assert create.rejected and "Android" in create.rejected
    choice = confidence.choose(found, BERLIN, NOW)
    assert choice.confidence == Confidence.HIGH and choice.reasons == []


def test_the_placeholder_alone_is_no_date():
    choice = choose({"datetime_original": "2002:12:08 12:00:00"})
    assert choice.confidence == Confidence.NONE
    assert choice.reasons == [ReviewReason.PLACEHOLDER, ReviewReason.NO_DATE]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"name": "IMG-20190615-WA0001.jpg"}, ReviewReason.DAY_ONLY_NAME),
        ({"name": "scan_001.png", "mtime": datetime(2024, 3, 1, 9, tzinfo=UTC)}, ReviewReason.ONLY_FILE_TIME),
        ({"name": "scan_001.png", "folder": "Oma/1985"}, ReviewReason.WEAK_CLUE),
        ({"name": "scan_001.png"}, ReviewReason.NO_DATE),
        ({"meta": {"datetime_original": "2000:01:01 00:00:00"}, "name": "x.jpg"}, ReviewReason.PLACEHOLDER),
    ],
)
def test_each_kind_of_doubt_has_its_reason(kwargs, reason):
    choice = choose(**kwargs)
    assert choice.confidence <= Confidence.LOW
    assert ReviewReason.first(choice.reasons) == reason, (choice.reasons, choice.notes)


def test_sources_that_disagree_and_a_zone_mixup():
    disagree = choose(camera("2019:06:15 14:30:00"), name="IMG_20170101_101010.jpg")
    assert disagree.confidence == Confidence.LOW and ReviewReason.SOURCES_DISAGREE in disagree.reasons
    mixup = [
        Candidate("exif:DateTimeOriginal", datetime(2019, 6, 15, 14, 30), zone="local"),
        Candidate("gps", datetime(2019, 6, 15, 9, 30, tzinfo=UTC), zone="utc"),
        Candidate("xmp:DateTimeOriginal", datetime(2019, 6, 15, 14, 30, tzinfo=ZoneInfo("Asia/Tokyo")), zone="offset"),
    ]
    choice = confidence.choose(mixup, BERLIN, NOW)
    assert ReviewReason.ZONE_MIXUP in choice.reasons


def test_every_doubtful_choice_has_a_reason_and_sure_ones_none():
    cases = [
        choose(camera()),
        choose(name="IMG-20190615-WA0001.jpg"),
        choose(name="x.jpg"),
        choose(camera(), folder="Holiday 2012"),
        choose(name="Screenshot_20200102-101010.png"),
    ]
    for choice in cases:
        assert bool(choice.reasons) == (choice.confidence <= Confidence.LOW), (choice.confidence, choice.reasons)


def test_first_reason_follows_the_vocabulary_order():
    assert ReviewReason.first(["weak_clue", "camera_vs_folder", "nonsense"]) == ReviewReason.CAMERA_VS_FOLDER
    assert ReviewReason.first([]) is None


@pytest.mark.parametrize(
    ("folder", "generic"),
    [
        ("DCIM", True),
        ("Camera Roll", True),
        ("backup", True),
        ("export", True),
        ("WhatsApp Images", True),
        ("old phone", True),
        ("Phone backup 2020", True),
        ("Old laptop export", True),
        ("Backup (2)", True),
        ("100APPLE", True),
        ("Summer at the lake", False),
        ("Oma & Opa", False),
        ("Rome", False),
        ("Anna's phone", False),
        ("Holiday export", False),
    ],
)
def test_generic_folder_names_are_not_tags(folder, generic):
    assert tags.is_generic_folder(folder) is generic


def test_tags_keep_their_case_and_a_comma_separates_them():
    assert tags.split("Anna,  Summer at the lake ,, rome") == ["Anna", "Summer at the lake", "rome"]
    assert tags.unique(["Anna", "anna", "ANNA", "Rome"]) == ["Anna", "Rome"]
    assert tags.key("  Summer  at the Lake ") == "summer at the lake"
