"""Why each date clue won or lost, and what sources are called, in people's words
(app/media/explain.py, app/media/clues.py): the detail page only renders these."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.media import clues, filenames, timestamps
from app.media.explain import explain_clues, readable_note, why_lost
from app.vocab import ClueState

BERLIN = ZoneInfo("Europe/Berlin")
STORED = [
    {"source": "exif:DateTimeOriginal", "timestamp": "2019-06-05T14:00:00", "precision": "second"},
    {"source": "mtime", "timestamp": "2019-06-05T12:00:00+00:00", "precision": "second", "zone": "utc"},
    {"source": "exif:CreateDate", "timestamp": "0001-01-01T00:00:00", "rejected": "camera default date"},
    {"source": "filename:android", "timestamp": "2019-06-07T09:00:00", "precision": "second"},
    {"source": "folder", "timestamp": "2019-06-01T00:00:00", "precision": "month"},
    {"source": "gps", "timestamp": None, "rejected": "invalid GPS time", "note": "GPS date without a time"},
]


def by_source(found, source):
    return next(c for c in found if c.source == source)


def test_the_winner_first_then_the_others_then_the_rejected():
    found = explain_clues(STORED, "exif:DateTimeOriginal", False, BERLIN)
    assert [c.state for c in found] == [ClueState.WON] + [ClueState.LOST] * 3 + [ClueState.REJECTED] * 2
    assert [c.source for c in found] == [
        "exif:DateTimeOriginal",
        "mtime",
        "filename:android",
        "folder",
        "exif:CreateDate",
        "gps",
    ]
    assert found[0].why == "Chosen: the most trustworthy clue this file has"
    assert [c.usable for c in found] == [True] * 4 + [False] * 2


def test_why_each_clue_lost():
    found = explain_clues(STORED, "exif:DateTimeOriginal", False, BERLIN)
    assert by_source(found, "mtime").why == "Agrees with the chosen time"  # 12:00 UTC is 14:00 in Berlin
    assert by_source(found, "filename:android").why == (
        "Less trustworthy than “Camera: when the photo was taken”; says 43 h 0 min later"
    )
    assert (
        by_source(found, "folder").why
        == "Less trustworthy than “Camera: when the photo was taken”; says 4 days earlier"
    )
    assert by_source(found, "exif:CreateDate").why == "Not used: camera default date"
    assert by_source(found, "gps").why == "Not used: invalid GPS time (it says “GPS date without a time”)"


def test_values_shown_in_the_household_zone_except_camera_clocks():
    stored = [
        {"source": "exif:DateTimeOriginal", "timestamp": "2019-06-05T14:00:00+05:00", "precision": "second"},
        {"source": "video:creation_time", "timestamp": "2019-06-05T09:00:00+00:00", "precision": "second"},
        {"source": "folder", "timestamp": "2019-06-01T00:00:00", "precision": "month"},
    ]
    found = explain_clues(stored, "exif:DateTimeOriginal", False, BERLIN)
    camera, header, folder = found
    assert (camera.value, camera.offset) == ("2019-06-05T14:00:00", 300)  # the wall clock it recorded
    assert (header.value, header.offset) == ("2019-06-05T11:00:00", 120)  # the instant, in Berlin
    assert (folder.value, folder.offset, folder.precision) == ("2019-06-01T00:00:00", None, "month")
    assert header.why == "Agrees with the chosen time"  # 09:00 UTC is 14:00 at +05:00


def test_a_persons_choice_and_a_typed_date():
    chosen = explain_clues(STORED, "filename:android", True, BERLIN)
    assert chosen[0].source == "filename:android" and chosen[0].why == "Chosen by you"
    assert by_source(chosen, "exif:DateTimeOriginal").why.startswith("Less trustworthy than “File name (Android phone)")
    typed = explain_clues(STORED, "user", True, BERLIN)
    assert ClueState.WON not in [c.state for c in typed]
    assert by_source(typed, "mtime").why == "Not used: you set the date yourself"


def test_only_one_winner_when_a_source_repeats():
    stored = [STORED[0], dict(STORED[0])]
    found = explain_clues(stored, "exif:DateTimeOriginal", False, BERLIN)
    assert [c.state for c in found] == [ClueState.WON, ClueState.LOST]
    assert found[1].why == "Agrees with the chosen time"


def test_no_candidates_and_unreadable_values():
    assert explain_clues(None, None, False, BERLIN) == []
    found = explain_clues([{"source": "png:tIME", "timestamp": "not a date"}], "gps", False, BERLIN)
    assert (found[0].state, found[0].why, found[0].value) == (ClueState.LOST, "Not used", None)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (2, "Agrees with the chosen time"),
        (-2, "Agrees with the chosen time"),
        (3, "says 3 s later"),
        (-59, "says 59 s earlier"),
        (61, "says 1 min later"),
        (3599, "says 59 min later"),
        (3600 + 5 * 60, "says 1 h 5 min later"),
        (-47 * 3600, "says 47 h 0 min earlier"),
        (2 * 86400, "says 2 days later"),
        (700 * 86400, "says 700 days later"),
        (-3 * 365 * 86400, "says about 3 years earlier"),
    ],
)
def test_how_far_off_a_clue_is(seconds, words):
    best = datetime(2019, 6, 15, 12, 0)
    text = why_lost(best + timedelta(seconds=seconds), best, "exif:DateTimeOriginal", BERLIN)
    assert text.endswith(words)


def test_why_lost_without_a_chosen_time():
    assert why_lost(datetime(2019, 1, 1), None, "exif:DateTimeOriginal", BERLIN) == "Not used"
    assert why_lost(None, datetime(2019, 1, 1), "exif:DateTimeOriginal", BERLIN) == "Not used"
    assert why_lost(datetime(2019, 1, 1), datetime(2019, 1, 1), None, BERLIN) == "Not used"


# --- labels: one table, no internal keys for people -------------------------------------------

KEY = re.compile(r"\b(?:exif|xmp|iptc|photoshop|png|video|takeout|filename):\S|\bmtime\b|DateTime|CreateDate|tIME")


def every_source() -> set[str]:
    """Every source name detection can produce: the table, every file-name pattern, and the
    sources of a file with everything."""
    names = set(clues.SOURCES) | {f"filename:{p.name}" for p in filenames.PATTERNS}
    meta = {
        "datetime_original": "2019:06:15 14:30:00",
        "datetime_digitized": "2019:06:15 14:30:00",
        "datetime": "2019:06:15 14:30:00",
        "gps_date": "2019:06:15",
        "gps_time": [12, 30, 0],
        "xmp_datetime_original": "2019-06-15T14:30:00",
        "xmp_datetime_digitized": "2019-06-15T14:30:00",
        "photoshop_date_created": "2019-06-15",
        "xmp_create_date": "2019-06-15T14:30:00",
        "xmp_modify_date": "2019-06-15T14:30:00",
        "xmp_gps_datetime": "2019-06-15T12:30:00Z",
        "iptc_date_created": "20190615",
        "iptc_digital_date": "20190615",
        "png_creation_time": "2019-06-15T14:30:00",
        "png_date_create": "2019-06-15T14:30:00",
        "png_time": "2019-06-15T14:30:00",
    }
    video = {"apple_creationdate": "2019-06-15T14:30:00+0200", "creation_time": "2019-06-15T12:30:00Z"}
    sidecar = {"photo_taken": 1560601800, "created": 1560601900, "file": "x.json"}
    found = timestamps.collect(meta, video, "IMG_20190615_143000.jpg", "2019/06", None, sidecar)
    return names | {c.source for c in found} | {"mtime"}


def test_every_source_has_a_label_for_people():
    for source in sorted(every_source()):
        label = clues.source_label(source)
        assert label and not KEY.search(label), (source, label)
    assert clues.source_label("exif:DateTimeOriginal") == "Camera: when the photo was taken"
    assert clues.source_label("xmp:ModifyDate") == "Photo program: last change"
    assert clues.source_label("filename:android") == "File name (Android phone)"
    assert clues.source_label("user") == "Set by you"
    assert clues.source_label("something:new") == "Another date in the file"


def test_notes_name_sources_in_peoples_words():
    notes = {
        "exif:CreateDate (2019-03-02 10:00:00) is 34 years later: a scan, an edit or a copy made afterwards?": (
            "“Camera: when the picture was recorded” (2019-03-02 10:00:00) is 34 years later: "
            "a scan, an edit or a copy made afterwards?"
        ),
        "UTC offset +02:00 learned from gps": "UTC offset +02:00 learned from “GPS satellite clock”",
        "png:date:create (2014-08-31 13:10:22 UTC) is 2 h later: the sources disagree": (
            "“Picture file: when a program wrote it” (2014-08-31 13:10:22 UTC) is 2 h later: the sources disagree"
        ),
        "sources imply different time zones (gps +02:00, filename:pixel +01:00): a time-zone mix-up": (
            "sources imply different time zones (“GPS satellite clock” +02:00, “File name (Google Pixel phone)” +01:00): "
            "a time-zone mix-up"
        ),
        "time zone unknown: read as Europe/Berlin": "time zone unknown: read as Europe/Berlin",
        "shifted by +1:00:00 by a person (camera clock)": "shifted by +1:00:00 by a person (camera clock)",
    }
    for stored, shown in notes.items():
        assert readable_note(stored) == shown
    for source in every_source():
        assert not KEY.search(readable_note(f"{source} (2019-06-15 14:30:00) is 3 days later")), source
