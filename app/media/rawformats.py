"""Readers for the raw formats that are not a TIFF at heart: Canon CR3 (ISO-BMFF boxes whose
CMT1..CMT4 boxes hold TIFF-format EXIF), Canon CRW (CIFF heaps), Fujifilm RAF (a header
pointing at a JPEG that carries the EXIF), Sigma X3F (a header and a section directory) and
Minolta MRW (blocks, one of them a TIFF).

Each reader gives the same `RawInfo`: metadata with exif.py's keys, the picture's size as
the camera states it, and the embedded JPEG previews (no raw decoding). Like tiff.py they
check every offset and cap every loop: a cut or hostile file gives less, never an error.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import exif, tiff
from .isobmff import boxes

MAX_BLOCK = 64 * 1024 * 1024  # metadata and preview boxes are far smaller
CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
PREVIEW_UUID = bytes.fromhex("eaf42b5e1c984b88b9fbb7dc406e4d16")


@dataclass
class RawInfo:
    meta: dict[str, Any] = field(default_factory=dict)
    width: int | None = None  # as stored (not turned upright)
    height: int | None = None
    previews: list[bytes] = field(default_factory=list)  # embedded JPEGs, any order
    notes: list[str] = field(default_factory=list)


def jpeg_at(data: tiff.Bytes, start: int, length: int | None = None) -> bytes | None:
    """The JPEG starting at `start` (ending at its last EOI within `length`), if complete."""
    if start <= 0 or start >= len(data):
        return None
    chunk = data[start : start + (length or MAX_BLOCK)]
    if not chunk.startswith(b"\xff\xd8") or (length and len(chunk) < length):
        return None
    end = chunk.rfind(b"\xff\xd9")
    return bytes(chunk[: end + 2]) if end > 0 else None


def _exif_text(value: Any) -> str | None:
    return exif._clean_text(value)  # noqa: SLF001 - the one cleaning rule


def meta_from_ifd(t: tiff.Tiff, ifd: tiff.Ifd, kind: str) -> dict[str, Any]:
    """exif.py's normalized keys from one directory: kind "ifd0", "exif" or "gps"."""
    meta: dict[str, Any] = {}
    if kind == "gps":
        if 29 in ifd.entries:
            meta["gps_date"] = t.text(ifd.entries[29])
        stamp = t.numbers(ifd.entries.get(7))
        if len(stamp) == 3:
            meta["gps_time"] = stamp
        for tag, ref, key in ((2, 1, "gps_lat"), (4, 3, "gps_lon")):
            dms = t.numbers(ifd.entries.get(tag))
            if len(dms) == 3:
                sign = -1 if (t.text(ifd.entries.get(ref)) or "").upper().startswith(("S", "W")) else 1
                meta[key] = round(sign * (dms[0] + dms[1] / 60 + dms[2] / 3600), 7)
        return {k: v for k, v in meta.items() if v is not None}
    table = exif._PIL_IFD0 if kind == "ifd0" else exif._PIL_EXIF  # noqa: SLF001 - one tag table
    for tag, key in table.items():
        entry = ifd.entries.get(tag)
        if entry is None:
            continue
        meta[key] = t.int(entry) if key == "orientation" else _exif_text(t.raw(entry))
    return {k: v for k, v in meta.items() if v is not None}


# --- Canon CR3 ---------------------------------------------------------------------------------


def cr3(data: tiff.Bytes) -> RawInfo:
    info = RawInfo()
    for kind, start, end in boxes(data, 0, len(data)):
        if kind == b"moov":
            for child, c_start, c_end in boxes(data, start, end):
                if child == b"uuid" and data[c_start : c_start + 16] == CANON_UUID:
                    _canon_boxes(data, c_start + 16, c_end, info)
        elif kind == b"uuid" and data[start : start + 16] == PREVIEW_UUID and end - start < MAX_BLOCK:
            block = data[start:end]
            at = block.find(b"\xff\xd8\xff")
            if at > 0:
                jpeg = jpeg_at(block, at)
                if jpeg:
                    info.previews.append(jpeg)
    return info


def _canon_boxes(data: tiff.Bytes, start: int, end: int, info: RawInfo) -> None:
    kinds = {b"CMT1": "ifd0", b"CMT2": "exif", b"CMT4": "gps"}
    for kind, b_start, b_end in boxes(data, start, end):
        if kind in kinds and b_end - b_start < MAX_BLOCK:
            block = data[b_start:b_end]
            parsed = tiff.parse(block)
            if parsed is not None:
                info.meta.update(meta_from_ifd(parsed, parsed.ifds[0], kinds[kind]))
                if kind == b"CMT1":
                    first = parsed.ifds[0].entries
                    info.width, info.height = parsed.int(first.get(tiff.WIDTH)), parsed.int(first.get(tiff.HEIGHT))
        elif kind == b"THMB" and b_end - b_start < MAX_BLOCK:
            block = data[b_start:b_end]
            at = block.find(b"\xff\xd8\xff")
            jpeg = jpeg_at(block, at) if at > 0 else None
            if jpeg:
                info.previews.append(jpeg)


# --- Canon CRW (CIFF) --------------------------------------------------------------------------


def crw(data: tiff.Bytes) -> RawInfo:
    info = RawInfo()
    head = data[0:14]
    if len(head) < 14:
        return info
    endian = "<" if head[:2] == b"II" else ">"
    header_length = struct.unpack(f"{endian}I", head[2:6])[0]
    _ciff_heap(data, endian, header_length, len(data), info, depth=0, seen=set())
    return info


def _ciff_heap(data, endian: str, start: int, end: int, info: RawInfo, depth: int, seen: set[int]) -> None:
    """One CIFF heap: the last 4 bytes give where its table of 10-byte records starts."""
    if depth > 8 or end - start < 6 or start in seen:
        return
    seen.add(start)
    tail = data[end - 4 : end]
    if len(tail) < 4:
        return
    table = start + struct.unpack(f"{endian}I", tail)[0]
    count_bytes = data[table : table + 2]
    if len(count_bytes) < 2:
        return
    count = min(struct.unpack(f"{endian}H", count_bytes)[0], 1024)
    records = data[table + 2 : table + 2 + 10 * count]
    for i in range(len(records) // 10):
        tag, size, offset = struct.unpack_from(f"{endian}HII", records, 10 * i)
        kind, tag_id = tag & 0x3800, tag & 0x3FFF
        if tag & 0x4000:  # the value is in the record itself
            continue
        at = start + offset
        if kind in (0x2800, 0x3000):  # a sub-heap
            _ciff_heap(data, endian, at, min(at + size, end), info, depth + 1, seen)
        elif size <= MAX_BLOCK:
            _ciff_value(tag_id, data[at : at + size], endian, info)


def _ciff_value(tag: int, value: bytes, endian: str, info: RawInfo) -> None:
    if tag == 0x080A:  # make and model, NUL-separated
        parts = [p.decode("latin-1").strip() for p in value.split(b"\x00") if p.strip()]
        if parts:
            info.meta["make"] = parts[0]
        if len(parts) > 1:
            info.meta["model"] = parts[1]
    elif tag == 0x180E and len(value) >= 12:  # capture time: the camera's clock as if UTC
        seconds, zone, zone_info = struct.unpack_from(f"{endian}IiI", value)
        try:
            wall = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
        except OverflowError:
            return
        info.meta["datetime_original"] = wall.strftime("%Y:%m:%d %H:%M:%S")
        if zone_info & 0x80000000 and abs(zone) <= 14 * 3600:
            sign = "-" if zone < 0 else "+"
            info.meta["offset_original"] = f"{sign}{abs(zone) // 3600:02d}:{abs(zone) % 3600 // 60:02d}"
    elif tag == 0x1810 and len(value) >= 16:  # image info: width, height, aspect, rotation
        width, height, _aspect, rotation = struct.unpack_from(f"{endian}IIfi", value)
        info.width, info.height = width or None, height or None
        info.meta["orientation"] = {90: 6, 180: 3, 270: 8, -90: 8}.get(rotation, 1)
    elif tag in (0x2007, 0x2008) and value.startswith(b"\xff\xd8"):
        info.previews.append(bytes(value))


# --- Fujifilm RAF ------------------------------------------------------------------------------


def raf(data: tiff.Bytes) -> RawInfo:
    info = RawInfo()
    head = data[0:0x68]
    if len(head) < 0x68:
        return info
    jpeg_offset, jpeg_length, directory = struct.unpack(">III", head[0x54:0x60])
    jpeg = jpeg_at(data, jpeg_offset, jpeg_length)
    if jpeg:
        info.previews.append(jpeg)
        info.meta, _ = exif.read_exif(jpeg, "image/jpeg")
    sizes = _raf_directory(data, directory) if directory else {}
    size = sizes.get(0x111) or sizes.get(0x100)  # cropped size, else the full sensor
    if size:
        info.height, info.width = size
    return info


def _raf_directory(data: tiff.Bytes, start: int) -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    count_bytes = data[start : start + 4]
    if len(count_bytes) < 4:
        return found
    pos = start + 4
    for _ in range(min(struct.unpack(">I", count_bytes)[0], 256)):
        head = data[pos : pos + 4]
        if len(head) < 4:
            break
        tag, size = struct.unpack(">HH", head)
        if tag in (0x100, 0x111) and size == 4:
            found[tag] = struct.unpack(">HH", data[pos + 4 : pos + 8])
        pos += 4 + size
    return found


# --- Sigma X3F ---------------------------------------------------------------------------------


def x3f(data: tiff.Bytes) -> RawInfo:
    info = RawInfo()
    head = data[0:52]
    if len(head) < 52:
        return info
    version = struct.unpack("<I", head[4:8])[0] >> 16
    width_at = 28 if version < 4 else 40
    info.width, info.height, rotation = struct.unpack("<III", head[width_at : width_at + 12])
    info.meta["orientation"] = {90: 6, 180: 3, 270: 8}.get(rotation, 1)
    directory = struct.unpack("<I", data[len(data) - 4 : len(data)] or b"\0\0\0\0")[0]
    section = data[directory : directory + 12]
    if len(section) < 12 or not section.startswith(b"SECd"):
        return info
    count = min(struct.unpack("<I", section[8:12])[0], 256)
    entries = data[directory + 12 : directory + 12 + 12 * count]
    for i in range(len(entries) // 12):
        offset, length, kind = struct.unpack_from("<II4s", entries, 12 * i)
        if length > MAX_BLOCK:
            continue
        if kind == b"PROP":
            _x3f_properties(data[offset : offset + length], info)
        elif kind in (b"IMAG", b"IMA2"):
            block = data[offset : offset + length]
            # only JPEG previews: section version 2.0, type 2 (processed), format 18 (JPEG)
            if block.startswith(b"SECi\x00\x00\x02\x00\x02\x00\x00\x00\x12\x00\x00\x00"):
                jpeg = jpeg_at(block, 28)
                if jpeg:
                    info.previews.append(jpeg)
                    info.meta = {**exif.read_exif(jpeg, "image/jpeg")[0], **info.meta}
    return info


def _x3f_properties(block: bytes, info: RawInfo) -> None:
    if len(block) < 24 or not block.startswith(b"SECp"):
        return
    count, char_format, _reserved, length = struct.unpack_from("<IIII", block, 8)
    if char_format != 0 or count > 4096:
        return
    chars = block[24 + 8 * count : 24 + 8 * count + 2 * length]

    def string(at: int) -> str:
        text = chars[2 * at :].decode("utf-16-le", "replace")
        return text.split("\x00", 1)[0]

    props = {}
    for i in range(count):
        name_at, value_at = struct.unpack_from("<II", block, 24 + 8 * i)
        props[string(name_at)] = string(value_at)
    if props.get("TIME", "").isdigit():
        wall = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(props["TIME"]))
        info.meta["datetime_original"] = wall.strftime("%Y:%m:%d %H:%M:%S")
    for key, name in (("CAMMANUF", "make"), ("CAMMODEL", "model")):
        if props.get(key):
            info.meta[name] = props[key]


# --- Minolta MRW -------------------------------------------------------------------------------


def mrw(data: tiff.Bytes) -> RawInfo:
    info = RawInfo()
    head = data[0:8]
    if len(head) < 8:
        return info
    end = 8 + struct.unpack(">I", head[4:8])[0]
    pos = 8
    for _ in range(64):
        block = data[pos : pos + 8]
        if len(block) < 8 or pos >= end:
            break
        kind, size = struct.unpack(">4sI", block)
        if kind == b"\x00PRD":
            prd = data[pos + 8 : pos + 24]
            if len(prd) == 16:
                info.height, info.width = struct.unpack(">HH", prd[12:16])
        elif kind == b"\x00TTW" and size < MAX_BLOCK:
            _mrw_tiff(data[pos + 8 : pos + 8 + size], info)
        pos += 8 + size
    return info


def _mrw_tiff(block: bytes, info: RawInfo) -> None:
    with contextlib.suppress(Exception):  # exifread raises assorted errors on odd blocks
        info.meta.update(exif.from_exifread(block))
    parsed = tiff.parse(block)
    if parsed is None:
        return
    for ifd in parsed.image_ifds():
        start, length = parsed.int(ifd.entries.get(tiff.JPEG_OFFSET)), parsed.int(ifd.entries.get(tiff.JPEG_LENGTH))
        jpeg = jpeg_at(block, start, length) if start and length else None
        if jpeg:
            info.previews.append(jpeg)
