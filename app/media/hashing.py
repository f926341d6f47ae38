"""Content hashes: sha256 (exact identity) and 64-bit perceptual hashes (near identity)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import imagehash
from PIL import Image

CHUNK = 1 << 20
_U64 = 1 << 64


def sha256_stream(stream: BinaryIO, copy_to: BinaryIO | None = None, first: bytes = b"") -> tuple[str, int]:
    """(sha256, size) of `first` and then everything read from `stream`, in chunks (memory
    stays flat for a 2 GB video); each chunk is also written to `copy_to` when given."""
    digest, size = hashlib.sha256(), 0
    chunk = first or stream.read(CHUNK)
    while chunk:
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
        size += len(chunk)
        chunk = stream.read(CHUNK)
    return digest.hexdigest(), size


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)[0]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_signed64(value: int) -> int:
    """An unsigned 64-bit hash as the signed integer a BIGINT column holds."""
    return value - _U64 if value >= (1 << 63) else value


def to_unsigned64(value: int) -> int:
    return value & (_U64 - 1)


def hash_hex(value: int | None) -> str | None:
    """16 hex digits, the form people and `inspect` see."""
    return None if value is None else format(to_unsigned64(value), "016x")


def _as_int(h: imagehash.ImageHash) -> int:
    bits = 0
    for bit in h.hash.flatten():
        bits = (bits << 1) | int(bit)
    return to_signed64(bits)


def perceptual_hashes(image: Image.Image) -> tuple[int, int]:
    """(phash, dhash) of an upright image, as signed 64-bit integers (imagehash's).

    Stored on `File.phash` / `File.dhash` (`inspect` shows the pHash). The duplicate finder does
    not read them: it searches with probe hashes over crop windows of each fingerprint
    (app/media/similarity.py) and verifies on the fingerprints themselves.
    """
    gray = image if image.mode == "L" else image.convert("L")
    return _as_int(imagehash.phash(gray)), _as_int(imagehash.dhash(gray))


def hamming(a: int, b: int) -> int:
    return (to_unsigned64(a) ^ to_unsigned64(b)).bit_count()
