"""What is wrong with a video file's structure, in sentences a person can act on.

Players and ffprobe often read a damaged video without complaint (a cut-off MP4 whose index
sits at the start still "opens"); a household should still learn that the end of the
recording is missing. These checks read container headers only, with bounded work:

- MP4/MOV/3GP: the box structure (quicktime.check);
- AVI: the RIFF size against the file, and the header list;
- Matroska/WebM: the EBML header and the Segment's size against the file;
- MPEG transport streams (AVCHD): packets that lost their sync byte.
"""

from __future__ import annotations

from pathlib import Path

from . import quicktime

QUICKTIME_MIMES = {"video/mp4", "video/quicktime", "video/3gpp", "video/x-m4v"}
SCAN_BYTES = 4 * 1024 * 1024


def _avi(head: bytes, size: int) -> list[str]:
    declared = int.from_bytes(head[4:8], "little") + 8
    problems = []
    if head[12:16] != b"LIST" or head[20:24] != b"hdrl":
        problems.append("This AVI video's header is damaged: its contents cannot be described")
    if declared > size:
        problems.append(quicktime.cut_off(size, declared))
    return problems


def _vint(data: bytes, at: int) -> tuple[int | None, int]:
    """An EBML variable-length number: (value, its length); value None for 'unknown size'."""
    if at >= len(data) or data[at] == 0:
        return None, 0
    length = 8 - data[at].bit_length() + 1
    if at + length > len(data):
        return None, 0
    value = data[at] & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), length


def _matroska(head: bytes, size: int) -> list[str]:
    header_size, n = _vint(head, 4)
    if not n or header_size is None:
        return ["This Matroska/WebM video's header is damaged"]
    at = 4 + n + header_size
    if head[at : at + 4] != b"\x18\x53\x80\x67":  # the Segment that holds everything
        return ["This Matroska/WebM video is damaged: its contents do not follow its header"]
    segment_size, n = _vint(head, at + 4)
    if n and segment_size is not None and at + 4 + n + segment_size > size:
        return [quicktime.cut_off(size, at + 4 + n + segment_size)]
    return []


def _transport_stream(head: bytes) -> list[str]:
    size, sync = (192, 4) if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47 else (188, 0)
    packets = range(sync, len(head) - size + 1, size)
    lost = sum(1 for at in packets if head[at] != 0x47)
    if packets and lost > len(packets) // 20:
        return [f"This video stream is damaged: {lost * 100 // len(packets)}% of its packets are unreadable"]
    return []


def problems(path: str | Path, mime: str | None) -> list[str]:
    """Sentences about what is wrong; [] when the structure looks whole (or is not checked)."""
    if mime in QUICKTIME_MIMES:
        return quicktime.check(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(SCAN_BYTES)
            fh.seek(0, 2)
            size = fh.tell()
    except OSError as exc:
        return [f"This video could not be read ({exc.strerror or exc})"]
    if head[:4] == b"RIFF":
        return _avi(head, size)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _matroska(head, size)
    if head[:1] == b"\x47" or head[4:5] == b"\x47":
        return _transport_stream(head)
    return []
