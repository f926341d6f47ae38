"""A small, bounded reader of TIFF directories (IFDs), for the files TIFF is the skeleton
of: camera raw files (CR2, NEF, ARW, DNG, ORF, RW2, PEF, ...) and the EXIF blocks that
CR3, MRW and RAF files carry.

It reads entry headers and the few values MediaParser needs (names, sizes, where embedded
JPEG previews lie), never image data. Every offset is checked against the data, every
list is capped and every directory is visited once: a damaged or hostile file gives
fewer entries, never an exception, a loop or unbounded work.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

MAX_IFDS = 48  # raw files have up to ~10 (IFD chain, SubIFDs, EXIF, GPS, maker IFDs)
MAX_ENTRIES = 1024
MAX_VALUES = 4096
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_INT_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q", 18: "Q"}

# Tags that point at other directories: name of the directory they lead to.
SUB_IFD, EXIF_IFD, GPS_IFD = 0x014A, 0x8769, 0x8825
WIDTH, HEIGHT, COMPRESSION, PHOTOMETRIC = 0x0100, 0x0101, 0x0103, 0x0106
MAKE, MODEL, ORIENTATION, SUBFILE_TYPE = 0x010F, 0x0110, 0x0112, 0x00FE
STRIP_OFFSETS, STRIP_COUNTS = 0x0111, 0x0117
JPEG_OFFSET, JPEG_LENGTH = 0x0201, 0x0202
DNG_VERSION = 0xC612
EXIF_WIDTH, EXIF_HEIGHT = 0xA002, 0xA003
CFA_PHOTOMETRICS = {32803, 34892}  # colour filter array, linear raw: sensor data


class Bytes(Protocol):
    """What the reader needs of its data: bytes, or a FileView over an open file."""

    def __len__(self) -> int: ...
    def __getitem__(self, item: slice) -> bytes: ...


class FileView:
    """An open file seen as bytes, read only where sliced: directories can sit anywhere in
    a large raw file (Lightroom writes a DNG's IFD0 at the end)."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        fh.seek(0, 2)
        self._size = fh.tell()

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, item: slice) -> bytes:
        start, stop, _ = item.indices(self._size)
        if stop <= start:
            return b""
        self._fh.seek(start)
        return self._fh.read(stop - start)


def _unpack(fmt: str, data: Bytes, pos: int) -> tuple:
    size = struct.calcsize(fmt)
    chunk = data[pos : pos + size]
    if len(chunk) < size:
        raise struct.error("past the end")
    return struct.unpack(fmt, chunk)


@dataclass(frozen=True)
class Entry:
    tag: int
    kind: int
    count: int
    at: int  # absolute position of the value in the data


@dataclass
class Ifd:
    name: str  # "IFD0", "IFD1", "SubIFD", "ExifIFD", "GPS"
    entries: dict[int, Entry] = field(default_factory=dict)


@dataclass
class Tiff:
    data: Bytes
    base: int  # where the TIFF header starts: offsets count from here
    endian: str  # "<" or ">"
    ifds: list[Ifd] = field(default_factory=list)
    truncated: bool = False  # an offset pointed past the end of the data

    # --- values ---------------------------------------------------------------------

    def ints(self, entry: Entry | None) -> list[int]:
        if entry is None or entry.kind not in _INT_FORMATS:
            return []
        count = min(entry.count, MAX_VALUES)
        size = TYPE_SIZES[entry.kind] * count
        if entry.at + size > len(self.data):
            return []
        return list(_unpack(f"{self.endian}{count}{_INT_FORMATS[entry.kind]}", self.data, entry.at))

    def int(self, entry: Entry | None) -> int | None:
        values = self.ints(entry)
        return values[0] if values else None

    def numbers(self, entry: Entry | None) -> list[float]:
        """Integers and (signed) rationals as floats; a zero denominator gives nothing."""
        if entry is None:
            return []
        if entry.kind not in (5, 10):
            return [float(v) for v in self.ints(entry)]
        count = min(entry.count, MAX_VALUES)
        try:
            pairs = _unpack(f"{self.endian}{2 * count}{'I' if entry.kind == 5 else 'i'}", self.data, entry.at)
        except struct.error:
            return []
        if any(den == 0 for den in pairs[1::2]):
            return []
        return [num / den for num, den in zip(pairs[0::2], pairs[1::2], strict=True)]

    def text(self, entry: Entry | None) -> str | None:
        if entry is None or entry.kind not in (1, 2, 7):
            return None
        raw = self.data[entry.at : entry.at + min(entry.count, 4096)]
        text = raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()
        return text or None

    def raw(self, entry: Entry | None) -> bytes:
        if entry is None:
            return b""
        size = TYPE_SIZES.get(entry.kind, 1) * entry.count
        return self.data[entry.at : entry.at + size]

    def first(self, tag: int, *, names: tuple[str, ...] | None = None) -> Entry | None:
        for ifd in self.ifds:
            if (names is None or ifd.name in names) and tag in ifd.entries:
                return ifd.entries[tag]
        return None

    def image_ifds(self) -> list[Ifd]:
        """Directories that describe a picture (not EXIF, GPS or maker data)."""
        return [ifd for ifd in self.ifds if ifd.name.startswith(("IFD", "SubIFD"))]


def parse(data: Bytes, base: int = 0, *, first_ifd_name: str = "IFD0") -> Tiff | None:
    """The directories of the TIFF structure starting at `base` in `data`, or None when
    there is no TIFF header there. Accepts the raw flavours' own magic numbers (ORF, RW2)."""
    head = data[base : base + 8]
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        return None
    endian = "<" if head[:2] == b"II" else ">"
    tiff = Tiff(data, base, endian)
    first = struct.unpack(f"{endian}I", head[4:8])[0]
    _walk(tiff, first, first_ifd_name)
    return tiff if tiff.ifds else None


def _walk(tiff: Tiff, first: int, first_name: str) -> None:
    queue: list[tuple[int, str]] = [(first, first_name)]
    seen: set[int] = set()
    chain = 0
    while queue and len(tiff.ifds) < MAX_IFDS:
        offset, name = queue.pop(0)
        if offset in seen or offset < 8:
            continue
        seen.add(offset)
        ifd, next_offset = _read_ifd(tiff, offset, name)
        if ifd is None:
            continue
        tiff.ifds.append(ifd)
        if name.startswith("IFD") and next_offset:
            chain += 1
            queue.append((next_offset, f"IFD{chain}"))
        for tag, child in ((SUB_IFD, "SubIFD"), (EXIF_IFD, "ExifIFD"), (GPS_IFD, "GPS")):
            for sub in tiff.ints(ifd.entries.get(tag))[:16]:
                queue.append((sub, child))


def _read_ifd(tiff: Tiff, offset: int, name: str) -> tuple[Ifd | None, int]:
    data, e = tiff.data, tiff.endian
    at = tiff.base + offset
    if at + 2 > len(data):
        tiff.truncated = True
        return None, 0
    count = _unpack(f"{e}H", data, at)[0]
    if count == 0 or count > MAX_ENTRIES:
        return None, 0
    ifd = Ifd(name)
    table = data[at + 2 : at + 2 + 12 * count + 4]  # one read for the whole directory
    if len(table) < 12 * count:
        tiff.truncated = True
    for i in range(min(count, len(table) // 12)):
        tag, kind, n = struct.unpack_from(f"{e}HHI", table, 12 * i)
        if kind not in TYPE_SIZES:
            continue
        pos = at + 2 + 12 * i
        size = TYPE_SIZES[kind] * n
        value_at = pos + 8 if size <= 4 else tiff.base + struct.unpack_from(f"{e}I", table, 12 * i + 8)[0]
        if size > 4 and value_at + min(size, 16) > len(data):
            tiff.truncated = True  # the value lies past the end: keep the tag, values read as empty
        ifd.entries.setdefault(tag, Entry(tag, kind, n, value_at))
    tail = table[12 * count : 12 * count + 4]
    next_offset = struct.unpack(f"{e}I", tail)[0] if len(tail) == 4 else 0
    return ifd, next_offset
