"""Hostile input made in a test's own folder: odd names, deep trees, decompression bombs and
broken containers (never copied from anywhere: every byte is written here)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

PATH_MAX = 4096


def jpeg(path: Path, colour=(200, 30, 30), size=(96, 72)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    image.paste((colour[2], colour[0], colour[1]), (0, 0, size[0] // 3, size[1] // 2))
    image.save(path, "JPEG", quality=85)
    return path


def jpeg_bytes(colour=(40, 80, 120), size=(96, 72)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.paste((colour[2], colour[0], colour[1]), (0, 0, size[0] // 3, size[1] // 2))
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def build_deep_tree(top: Path, name_length: int = 250) -> int:
    """Folders inside folders until the path is longer than PATH_MAX, with a photo at the
    bottom; made relative to open folders (dir_fd), as no path that long can be used.
    Returns the depth."""
    top.mkdir(parents=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    depth, length = 0, len(os.fsencode(str(top)))
    try:
        while length <= PATH_MAX + name_length:
            name = f"{depth:03d}" + "d" * (name_length - 3)
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, depth, length = inner, depth + 1, length + name_length + 1
        photo = os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with os.fdopen(photo, "wb") as fh:
            fh.write(jpeg_bytes())
    finally:
        os.close(fd)
    return depth


# --- pictures that lie about their size ------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int, height: int, colour_type: int = 2, complete: bool = True) -> Path:
    """A black PNG of width x height pixels whose data compresses to almost nothing (a
    0.7 MB file can hold 177 megapixels). `complete=False` writes only a little of the data:
    the header still promises every pixel."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\x00" * (1 + width * channels)
    packer = zlib.compressobj(9)
    rows = height if complete else min(height, 64)
    parts, chunk_rows = [], max(1, (1 << 22) // len(row))
    for start in range(0, rows, chunk_rows):
        parts.append(packer.compress(row * min(chunk_rows, rows - start)))
    parts.append(packer.flush())
    data = b"".join(parts)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)))
        for start in range(0, len(data), 1 << 20):
            fh.write(_chunk(b"IDAT", data[start : start + (1 << 20)]))
        fh.write(_chunk(b"IEND", b""))
    return path


def jpeg_huge_header(path: Path, width: int = 65000, height: int = 65000) -> Path:
    """A small JPEG whose frame header says width x height."""
    data = bytearray(jpeg_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def truncated(path: Path, data: bytes, keep: float = 0.4) -> Path:
    path.write_bytes(data[: max(16, int(len(data) * keep))])
    return path


# --- MP4 boxes ----------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"", size: int | None = None) -> bytes:
    return struct.pack(">I", len(payload) + 8 if size is None else size) + kind + payload


def mvhd(timescale: int = 1000, duration: int = 5000) -> bytes:
    body = struct.pack(">B3xIIII", 0, 3_600_000_000, 3_600_000_000, timescale, duration)
    return box(b"mvhd", body + b"\x00" * 80)


def ftyp() -> bytes:
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")


def broken_mp4s() -> dict[str, bytes]:
    """MP4 files whose boxes lie: size 0, a size past the end, 30,000 nested boxes, a
    2^63 largesize, a zero timescale."""
    nested = b""
    for _ in range(30_000):
        nested = box(b"moov", nested) if len(nested) < 0xFFFF_FFF0 else nested
    return {
        "size_zero.mp4": ftyp() + box(b"moov", mvhd(), size=0) + b"\x00" * 64,
        "past_the_end.mp4": ftyp() + box(b"moov", mvhd(), size=10_000_000),
        "nested.mp4": ftyp() + nested,
        "largesize.mp4": ftyp() + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 1 << 63) + b"\x00" * 32,
        "zero_timescale.mp4": ftyp() + box(b"moov", mvhd(timescale=0)),
    }
