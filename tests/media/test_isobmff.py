"""The one box walker that the MP4/MOV, CR3 and motion-photo readers share."""

from __future__ import annotations

import struct

from app.media.isobmff import boxes


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_boxes_plain_large_and_to_the_end():
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 3) + b"abc"
    rest = struct.pack(">I4s", 0, b"free") + b"tail"
    data = _box(b"ftyp", b"isom") + large + rest
    assert list(boxes(data, 0, len(data))) == [(b"ftyp", 8, 12), (b"mdat", 28, 31), (b"free", 39, 43)]


def test_a_size_that_does_not_fit_ends_the_walk():
    data = _box(b"ftyp", b"isom") + struct.pack(">I4s", 4000, b"moov") + b"short"
    assert [k for k, _, _ in boxes(data, 0, len(data))] == [b"ftyp"]
    assert list(boxes(struct.pack(">I4s", 3, b"bad!"), 0, 8)) == []  # smaller than its own header


def test_a_crafted_file_of_endless_boxes_is_bounded():
    data = _box(b"free", b"") * 10_000
    assert len(list(boxes(data, 0, len(data)))) == 4096
    assert len(list(boxes(memoryview(data), 0, len(data), limit=3))) == 3


def test_a_last_box_cut_short_is_given_when_asked():
    data = _box(b"ftyp", b"heic") + struct.pack(">I4s", 1000, b"mpvd") + b"only part of it"
    assert [k for k, _, _ in boxes(data, 0, len(data))] == [b"ftyp"]
    assert list(boxes(data, 0, len(data), cut_off_ok=True))[-1] == (b"mpvd", 20, 1012)
