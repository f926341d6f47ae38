"""The two capture-time facts of an MP4/MOV file, read straight from its boxes.

- `mvhd` creation time: seconds since 1904-01-01, UTC by the QuickTime/MP4 specification
  (some cameras write local time there; confidence.py treats it with care). A zero here is
  kept as the raw text "0000:00:00 00:00:00" so it shows up as a rejected placeholder.
- Apple's `com.apple.quicktime.creationdate` (moov/meta keys + ilst): the local time of
  capture *with its UTC offset*, written by iPhones and many Android phones.

ffprobe reads both too, but it drops a zero creation time and is a separate program;
hachoir (the pure-Python fallback) ignores Apple's key. This walker is pure Python, reads
only box headers and the small `moov` box (never the media data), and takes ~0.1 ms.
"""

from __future__ import annotations

import contextlib
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from ..wording import size_text
from .isobmff import boxes

QT_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
MAX_MOOV = 64 * 1024 * 1024
_CONTAINERS = {b"moov", b"udta", b"meta", b"trak", b"mdia"}
_APPLE_KEYS = {
    "com.apple.quicktime.creationdate": "apple_creationdate",
    "com.apple.quicktime.make": "make",
    "com.apple.quicktime.model": "model",
    "com.apple.quicktime.location.ISO6709": "location",
    "com.apple.quicktime.content.identifier": "content_identifier",  # pairs a Live Photo's halves
}


def _find_moov(fh: BinaryIO) -> bytes | None:
    fh.seek(0, 2)
    file_size = fh.tell()
    pos = 0
    while pos + 8 <= file_size:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return None
        size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1 and len(head) >= 16:
            size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = file_size - pos
        if size < header:
            return None
        if kind == b"moov":
            if size > MAX_MOOV:
                return None
            fh.seek(pos)
            return fh.read(size)
        pos += size
    return None


def _mvhd(buf: bytes, start: int, end: int, info: dict[str, Any]) -> None:
    if end - start < 20:
        return
    version = buf[start]
    if version == 1 and end - start >= 32:
        created = struct.unpack_from(">Q", buf, start + 4)[0]
        timescale, duration = struct.unpack_from(">IQ", buf, start + 20)
    else:
        created = struct.unpack_from(">I", buf, start + 4)[0]
        timescale, duration = struct.unpack_from(">II", buf, start + 12)
    if created == 0:
        info["creation_time"] = "0000:00:00 00:00:00"  # a placeholder: kept, and rejected later
    else:
        try:
            when = QT_EPOCH + timedelta(seconds=created)
            info["creation_time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        except OverflowError:
            info["creation_time"] = f"invalid ({created})"
    if timescale:
        info["duration"] = round(duration / timescale, 3)


def _meta(buf: bytes, start: int, end: int, info: dict[str, Any]) -> None:
    # ISO 'meta' is a full box (4 bytes of version/flags); QuickTime's is not.
    if buf[start + 4 : start + 8] != b"hdlr":
        start += 4
    keys: list[str] = []
    items: list[tuple[int, int, int]] = []
    for kind, p_start, p_end in boxes(buf, start, end):
        if kind == b"keys" and p_end - p_start >= 8:
            count = struct.unpack_from(">I", buf, p_start + 4)[0]
            pos = p_start + 8
            for _ in range(count):
                if pos + 8 > p_end:
                    break
                size = struct.unpack_from(">I", buf, pos)[0]
                if size < 8 or pos + size > p_end:
                    break
                keys.append(buf[pos + 8 : pos + size].decode("utf-8", "replace"))
                pos += size
        elif kind == b"ilst":
            for item, i_start, i_end in boxes(buf, p_start, p_end):
                items.append((struct.unpack(">I", item)[0], i_start, i_end))
    for index, i_start, i_end in items:
        if not 1 <= index <= len(keys) or keys[index - 1] not in _APPLE_KEYS:
            continue
        for kind, d_start, d_end in boxes(buf, i_start, i_end):
            if kind == b"data" and d_end - d_start > 8:
                value = buf[d_start + 8 : d_end].decode("utf-8", "replace").strip("\x00 ")
                if value:
                    info.setdefault(_APPLE_KEYS[keys[index - 1]], value)


def _walk(buf: bytes, start: int, end: int, info: dict[str, Any], depth: int = 0) -> None:
    for kind, p_start, p_end in boxes(buf, start, end):
        if kind == b"mvhd" and depth == 0:
            _mvhd(buf, p_start, p_end, info)
        elif kind == b"meta":
            _meta(buf, p_start, p_end, info)
        elif kind == b"\xa9xyz" and p_end - p_start > 4:  # QuickTime location: "+40.71-074.00/"
            info.setdefault("location", buf[p_start + 4 : p_end].decode("latin-1", "replace").strip("\x00 "))
        elif kind in _CONTAINERS and depth < 4 and kind != b"meta":
            _walk(buf, p_start, p_end, info, depth + 1)


def read(path: str | Path) -> dict[str, Any]:
    """{creation_time, duration, apple_creationdate, make, model} as found; {} if not MP4/MOV."""
    info: dict[str, Any] = {}
    try:
        with open(path, "rb") as fh:
            moov = _find_moov(fh)
    except OSError:
        return info
    if not moov:
        return info
    with contextlib.suppress(struct.error, IndexError):  # a damaged box: keep what was read before it
        _walk(moov, 8, len(moov), info)
    return info


# --- structure check ---------------------------------------------------------------------------

MAX_TOP_BOXES = 10_000  # a real file has a handful; tens of thousands is damage or a trap


def _percent(part: int, whole: int) -> int:
    return max(0, min(99, part * 100 // whole)) if whole > 0 else 0


def cut_off(have: int, want: int) -> str:
    """A video that holds `have` bytes of the `want` its structure declares, in a sentence."""
    if have * 100 < want:  # "cut off after 0%" reads like nothing is there at all
        return f"This video is cut off: only {size_text(have)} of its {size_text(want)} are there"
    return f"This video is cut off after {_percent(have, want)}%: the end of the recording is missing"


def _top_boxes(fh: BinaryIO, file_size: int) -> tuple[list[tuple[bytes, int, int]], str | None]:
    """The top-level boxes (type, start, declared end), and what is wrong with them, if anything."""
    boxes: list[tuple[bytes, int, int]] = []
    pos = 0
    while pos + 8 <= file_size:
        if len(boxes) >= MAX_TOP_BOXES:
            return boxes, f"This video holds more than {MAX_TOP_BOXES:,} top-level boxes: the file is damaged"
        fh.seek(pos)
        head = fh.read(16)
        size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1:
            if len(head) < 16:
                return boxes, f"This video is cut off after {_percent(pos, file_size)}%: the end is missing"
            size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            if kind != b"mdat":  # "to the end of the file" is for the media data, last
                return boxes, f"This video is damaged {_percent(pos, file_size)}% of the way in (a box without a size)"
            size = file_size - pos
        if size < header:
            return boxes, f"This video is damaged {_percent(pos, file_size)}% of the way in (a box of {size} bytes)"
        boxes.append((kind, pos, pos + size))
        if size > max(64 * file_size, 1 << 40):
            return boxes, f"This video is damaged: a part of it claims {size:,} bytes, far more than the file holds"
        if pos + size > file_size:
            return boxes, cut_off(file_size, pos + size)
        pos += size
    return boxes, None


def check(path: str | Path) -> list[str]:
    """What is wrong with an MP4/MOV file's structure, in sentences (empty: nothing found).
    Reads box headers only; bounded work whatever the file claims."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            file_size = fh.tell()
            top, problem = _top_boxes(fh, file_size)
            moov = next(((s, e) for k, s, e in top if k == b"moov"), None)
            whole = moov is not None and moov[1] <= file_size and moov[1] - moov[0] <= MAX_MOOV
            if whole:
                fh.seek(moov[0])
                index = fh.read(moov[1] - moov[0])
    except OSError as exc:
        return [f"This video could not be read ({exc.strerror or exc})"]
    problems = [problem] if problem else []
    if moov is None:
        problems.append("This video has no index (its 'moov' box is missing): players cannot open it")
    elif whole:
        problems += _index_problems(index)
    return problems


INDEX_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"mvex", b"tref"}
MAX_DEPTH = 16  # real files nest about 8 deep
MAX_INDEX_BOXES = 100_000


def _index_problems(buf: bytes) -> list[str]:
    """Walk the index box by box (no recursion): depth, sizes, and the time scale."""
    problems: list[str] = []
    stack = [(8, len(buf), 1)]
    seen = 0
    timescale = None
    while stack:
        start, end, depth = stack.pop()
        if depth > MAX_DEPTH or seen > MAX_INDEX_BOXES:
            problems.append("This video's index is nested far deeper than a real video's: the file is damaged")
            return problems
        pos = start
        for kind, p_start, p_end in boxes(buf, start, end):
            seen += 1
            pos = p_end
            if buf[p_start - 8 : p_start - 4] == b"\0\0\0\0":
                problems.append("This video's index is damaged: a part of it has no size")
                return problems
            if kind == b"mvhd" and depth == 1 and p_end - p_start >= 20:
                offset = 20 if buf[p_start] == 1 else 12
                if p_start + offset + 4 <= p_end:
                    timescale = struct.unpack_from(">I", buf, p_start + offset)[0]
            elif kind in INDEX_CONTAINERS:
                stack.append((p_start, p_end, depth + 1))
        if end - pos >= 8:
            problems.append("This video's index is damaged: a part of it claims more room than it has")
            break
    if timescale == 0:
        problems.append("This video's header gives a time scale of zero: its length is unknown")
    return problems
