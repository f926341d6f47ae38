"""Video capture times from tiny generated clips: MP4/MOV headers, Apple's creation date,
AVI and Matroska dates, with ffprobe and with the pure-Python fallbacks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, quicktime, video
from tests.time_helpers import make_clip, needs_ffmpeg

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = needs_ffmpeg


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_clip(d / "plain.mp4", "creation_time=2019-06-15T12:30:00Z"),
        "mov": make_clip(
            d / "iphone.mov",
            "creation_time=2019-07-24T08:25:41Z",
            "com.apple.quicktime.creationdate=2019-07-24T11:25:40+0300",
            "com.apple.quicktime.make=Apple",
            "com.apple.quicktime.model=iPhone 6",
            movflags=True,
        ),
        "bare": make_clip(d / "bare.mp4"),
        "mkv": make_clip(d / "clip.mkv", "creation_time=2019-06-15T12:30:00Z"),
        "avi": make_clip(d / "clip.avi", "date=2019-06-15 14:30:00", codec="mjpeg"),
        "named": make_clip(d / "VID_20190615_083000.mp4", "creation_time=2019-06-15T12:30:01Z"),
    }


def record(path):
    return analyze.analyze(path, zone=BERLIN).inspect_record()


def test_mp4_header_is_utc_shown_in_berlin(clips):
    r = record(clips["mp4"])
    assert (r["timestamp"], r["source"], r["confidence"]) == (
        "2019-06-15T14:30:00+02:00",
        "video:creation_time",
        "medium",
    )


def test_apple_creation_date_keeps_its_offset_and_is_high(clips):
    r = record(clips["mov"])
    assert (r["timestamp"], r["source"], r["confidence"]) == (
        "2019-07-24T11:25:40+03:00",
        "video:apple_creationdate",
        "high",
    )


def test_missing_header_time_is_a_visible_placeholder(clips):
    boxes = quicktime.read(clips["bare"])
    assert boxes["creation_time"] == "0000:00:00 00:00:00"
    r = record(clips["bare"])
    header = next(c for c in r["candidates"] if c["source"] == "video:creation_time")
    assert header["rejected"] == "placeholder (all zeros)"
    assert r["source"] == "mtime"


def test_matroska_date_is_utc(clips):
    r = record(clips["mkv"])
    assert r["timestamp"] == "2019-06-15T14:30:00+02:00"


def test_avi_date_is_local(clips):
    r = record(clips["avi"])
    assert (r["timestamp"], r["source"]) == ("2019-06-15T14:30:00", "video:creation_time")


def test_phone_name_gives_the_header_its_local_time(clips):
    r = record(clips["named"])
    assert r["timestamp"] == "2019-06-15T08:30:01-04:00"


def test_without_ffprobe_the_pure_python_readers_still_work(clips, monkeypatch):
    monkeypatch.setattr(video, "have_ffmpeg", lambda: False)
    assert video.probe_video(clips["mov"], "video/quicktime")["apple_creationdate"] == "2019-07-24T11:25:40+0300"
    assert record(clips["mov"])["timestamp"] == "2019-07-24T11:25:40+03:00"
    assert record(clips["mp4"])["timestamp"] == "2019-06-15T14:30:00+02:00"
    info = video.probe_video(clips["mkv"], "video/x-matroska")
    assert info["reader"] == "hachoir" and info["creation_time"] == "2019-06-15T12:30:00Z"
    assert record(clips["avi"])["timestamp"] == "2019-06-15T14:30:00"


def test_damaged_boxes_keep_what_could_be_read(tmp_path, clips):
    data = bytearray(clips["mov"].read_bytes())
    ilst = data.find(b"ilst")
    data[ilst - 4 : ilst] = (0x7FFFFFFF).to_bytes(4, "big")  # a box claiming to be 2 GB
    broken = tmp_path / "broken.mov"
    broken.write_bytes(bytes(data))
    boxes = quicktime.read(broken)
    assert boxes["creation_time"] == "2019-07-24T08:25:41Z" and "apple_creationdate" not in boxes
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\xff" * 64)
    assert quicktime.read(garbage) == {}
