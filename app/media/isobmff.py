"""The box structure of ISO base media files (MP4, MOV, HEIC, CR3): one walker for every reader.

A box is a 32-bit size and a four-letter type, then its payload; size 1 means a 64-bit size
follows, size 0 means "to the end". A size that does not fit ends the walk (a cut or damaged
file), and so does a box count past `limit` (a crafted file of a million empty boxes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

MAX_BOXES = 4096


def boxes(
    data, start: int, end: int, limit: int = MAX_BOXES, cut_off_ok: bool = False
) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in data[start:end]; `data` is anything that
    slices to bytes (bytes, a memory map, a lazy file view). With `cut_off_ok`, a last box
    that runs past `end` (a file cut short by a copy) is still given, with its declared end."""
    pos, count = start, 0
    while pos + 8 <= end and count < limit:
        head = bytes(data[pos : pos + 16])
        if len(head) < 8:
            return
        size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1:
            if len(head) < 16 or pos + 16 > end:
                return
            size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or (pos + size > end and not cut_off_ok):
            return
        yield kind, pos + header, pos + size
        pos += size
        count += 1
