"""Set date tags in an EXIF (TIFF) block without moving anything that is already there.

Rewriting a whole EXIF block (what piexif and Pillow do) moves every value, and breaks
maker notes, whose inner offsets point at absolute positions the writer does not know
about. This editor is append-only instead: the new Exif IFD — the old entries, unchanged,
plus the new and changed tags — is appended at the end of the block and the pointer to it
is patched; every existing value stays at its offset, so maker notes, thumbnails and
unknown tags remain valid. The old Exif IFD stays behind as a few unreferenced bytes.

Only ASCII tags of the Exif IFD (dates, sub-seconds, offsets) and IFD0's Orientation (a
person turned the picture) are written, which is all an export needs.
"""

from __future__ import annotations

import struct

EXIF_IFD_POINTER = 0x8769
EXIF_VERSION = 0x9000
ORIENTATION = 0x0112
ASCII = 2
SHORT = 3
LONG = 4
UNDEFINED = 7
IFD_TYPE = 13

DATETIME_ORIGINAL = 0x9003
CREATE_DATE = 0x9004  # DateTimeDigitized
OFFSET_TIME_ORIGINAL = 0x9011
OFFSET_TIME_DIGITIZED = 0x9012
SUBSEC_TIME_ORIGINAL = 0x9291
SUBSEC_TIME_DIGITIZED = 0x9292

# Bytes per component of each TIFF type, to find where an entry's value lives.
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
MAX_BLOCK = 0xFFFF - 2 - 6  # what fits in one APP1 segment after "Exif\0\0"


class ExifEditError(ValueError):
    """The EXIF block is not one this editor can change safely."""


class _Tiff:
    def __init__(self, data: bytes):
        if len(data) < 8 or data[:2] not in (b"II", b"MM"):
            raise ExifEditError("EXIF block without a TIFF header")
        self.data = data
        self.e = "<" if data[:2] == b"II" else ">"
        if self.u16(2) != 42:
            raise ExifEditError("EXIF block with a bad TIFF magic number")

    def u16(self, off: int) -> int:
        return struct.unpack_from(self.e + "H", self.data, off)[0]

    def u32(self, off: int) -> int:
        return struct.unpack_from(self.e + "I", self.data, off)[0]

    def ifd(self, off: int) -> tuple[list[bytes], int]:
        """The 12-byte entries of the IFD at `off` (raw, in file byte order) and the next-IFD offset."""
        if off < 8 or off + 2 > len(self.data):
            raise ExifEditError(f"IFD offset {off} outside the EXIF block")
        count = self.u16(off)
        end = off + 2 + 12 * count
        if count > 1000 or end + 4 > len(self.data):
            raise ExifEditError(f"IFD at {off} is damaged ({count} entries)")
        entries = [self.data[off + 2 + 12 * i : off + 14 + 12 * i] for i in range(count)]
        for entry in entries:  # every out-of-line value must lie inside the block
            tag, typ, n = struct.unpack(self.e + "HHI", entry[:8])
            size = TYPE_SIZES.get(typ, 1) * n
            if size > 4 and struct.unpack(self.e + "I", entry[8:])[0] + size > len(self.data):
                raise ExifEditError(f"tag 0x{tag:04X} points outside the EXIF block")
        return entries, self.u32(end)

    def tag_of(self, entry: bytes) -> int:
        return struct.unpack(self.e + "H", entry[:2])[0]


def _ascii_entry(e: str, tag: int, text: str, blob: bytearray) -> bytes:
    raw = text.encode("ascii") + b"\x00"
    if len(raw) <= 4:
        value = raw.ljust(4, b"\x00")
    else:
        value = struct.pack(e + "I", len(blob))
        blob += raw
        if len(blob) % 2:
            blob += b"\x00"
    return struct.pack(e + "HHI", tag, ASCII, len(raw)) + value


def _ifd_bytes(e: str, entries: list[bytes], next_offset: int) -> bytes:
    entries = sorted(entries, key=lambda raw: struct.unpack(e + "H", raw[:2])[0])
    return struct.pack(e + "H", len(entries)) + b"".join(entries) + struct.pack(e + "I", next_offset)


def _version_entry(e: str) -> bytes:
    """ExifVersion "0232" for an Exif IFD this editor creates (the tag is mandatory)."""
    return struct.pack(e + "HHI", EXIF_VERSION, UNDEFINED, 4) + b"0232"


def _fresh_block(changes: dict[int, str | None]) -> bytes:
    """A minimal little-endian TIFF block: IFD0 holding only the Exif pointer, then the Exif IFD."""
    wanted = sorted((tag, text) for tag, text in changes.items() if text is not None)
    if not wanted:
        return b""
    exif_offset = 8 + 2 + 12 + 4
    values_offset = exif_offset + 2 + 12 * (len(wanted) + 1) + 4
    values = bytearray()
    entries = []
    for tag, text in wanted:
        raw = text.encode("ascii") + b"\x00"
        if len(raw) <= 4:
            value = raw.ljust(4, b"\x00")
        else:
            value = struct.pack("<I", values_offset + len(values))
            values += raw + (b"\x00" if len(raw) % 2 else b"")
        entries.append(struct.pack("<HHI", tag, ASCII, len(raw)) + value)
    entries.append(_version_entry("<"))
    pointer = struct.pack("<HHII", EXIF_IFD_POINTER, LONG, 1, exif_offset)
    return b"II*\x00" + struct.pack("<I", 8) + _ifd_bytes("<", [pointer], 0) + _ifd_bytes("<", entries, 0) + values


def set_ascii_tags(block: bytes | None, changes: dict[int, str | None]) -> bytes:
    """The TIFF block (the APP1 payload after "Exif\\0\\0") with the Exif IFD's ASCII tags
    set (str) or removed (None). An empty/absent block gets a new minimal one."""
    if not block:
        return _fresh_block(changes)
    tiff = _Tiff(block)
    e = tiff.e
    ifd0_offset = tiff.u32(4)
    ifd0, ifd0_next = tiff.ifd(ifd0_offset)
    pointer_index = next((i for i, raw in enumerate(ifd0) if tiff.tag_of(raw) == EXIF_IFD_POINTER), None)
    if pointer_index is not None:
        _, typ, count = struct.unpack(e + "HHI", ifd0[pointer_index][:8])
        if typ not in (LONG, IFD_TYPE) or count != 1:
            raise ExifEditError("the Exif IFD pointer has an unexpected type")
        exif_entries, exif_next = tiff.ifd(struct.unpack(e + "I", ifd0[pointer_index][8:])[0])
    else:
        exif_entries, exif_next = [_version_entry(e)], 0

    blob = bytearray(block)
    if len(blob) % 2:
        blob += b"\x00"
    kept = [raw for raw in exif_entries if tiff.tag_of(raw) not in changes]
    added = [_ascii_entry(e, tag, text, blob) for tag, text in changes.items() if text is not None]
    new_exif_offset = len(blob)
    blob += _ifd_bytes(e, kept + added, exif_next)

    if pointer_index is not None:
        # Patch the pointer's value in place: IFD0 itself does not move.
        value_at = ifd0_offset + 2 + 12 * pointer_index + 8
        blob[value_at : value_at + 4] = struct.pack(e + "I", new_exif_offset)
    else:
        # IFD0 needs one more entry: append a copy of it with the pointer and repoint the header.
        pointer = struct.pack(e + "HHII", EXIF_IFD_POINTER, LONG, 1, new_exif_offset)
        return _with_new_ifd0(blob, e, ifd0 + [pointer], ifd0_next)
    return _finished(blob)


def read_ascii_tags(block: bytes) -> dict[int, str]:
    """The Exif IFD's ASCII tags (for checking what was written)."""
    tiff = _Tiff(block)
    ifd0, _ = tiff.ifd(tiff.u32(4))
    pointer = next((raw for raw in ifd0 if tiff.tag_of(raw) == EXIF_IFD_POINTER), None)
    if pointer is None:
        return {}
    entries, _ = tiff.ifd(struct.unpack(tiff.e + "I", pointer[8:])[0])
    found = {}
    for raw in entries:
        tag, typ, count = struct.unpack(tiff.e + "HHI", raw[:8])
        if typ != ASCII:
            continue
        if count <= 4:
            value = raw[8 : 8 + count]
        else:
            off = struct.unpack(tiff.e + "I", raw[8:])[0]
            value = block[off : off + count]
        found[tag] = value.split(b"\x00", 1)[0].decode("ascii", "replace")
    return found


def set_orientation(block: bytes | None, value: int) -> bytes:
    """The TIFF block with IFD0's Orientation set to `value` (1-8): an existing entry's value
    is changed where it is; otherwise IFD0 is appended again with the entry added (nothing
    else moves). An empty/absent block gets a new minimal one."""
    if not 1 <= value <= 8:
        raise ExifEditError(f"{value} is not an EXIF orientation")
    if not block:
        entry = struct.pack("<HHIH", ORIENTATION, SHORT, 1, value) + b"\x00\x00"
        return b"II*\x00" + struct.pack("<I", 8) + _ifd_bytes("<", [entry], 0)
    tiff = _Tiff(block)
    e = tiff.e
    ifd0_offset = tiff.u32(4)
    ifd0, ifd0_next = tiff.ifd(ifd0_offset)
    blob = bytearray(block)
    for i, raw in enumerate(ifd0):
        tag, typ, count = struct.unpack(e + "HHI", raw[:8])
        if tag == ORIENTATION and typ == SHORT and count == 1:
            value_at = ifd0_offset + 2 + 12 * i + 8
            blob[value_at : value_at + 4] = struct.pack(e + "HH", value, 0)
            return bytes(blob)
    kept = [raw for raw in ifd0 if tiff.tag_of(raw) != ORIENTATION]
    entry = struct.pack(e + "HHIHH", ORIENTATION, SHORT, 1, value, 0)
    if len(blob) % 2:
        blob += b"\x00"
    return _with_new_ifd0(blob, e, kept + [entry], ifd0_next)


def _with_new_ifd0(blob: bytearray, e: str, entries: list[bytes], next_ifd: int) -> bytes:
    """The block with a new IFD0 of `entries` appended and the header pointed at it."""
    new_ifd0_offset = len(blob)
    blob += _ifd_bytes(e, entries, next_ifd)
    blob[4:8] = struct.pack(e + "I", new_ifd0_offset)
    return _finished(blob)


def _finished(blob: bytearray) -> bytes:
    if len(blob) > MAX_BLOCK:
        raise ExifEditError("the EXIF block would be too large for a JPEG segment")
    return bytes(blob)
