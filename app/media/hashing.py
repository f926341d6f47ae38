"""Content hashes: sha256 (exact identity) and 64-bit perceptual hashes (near identity)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import imagehash
import numpy as np
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


def _as_int(bits: np.ndarray) -> int:
    value = 0
    for bit in bits.flatten():
        value = (value << 1) | int(bit)
    return to_signed64(value)


# imagehash's pHash takes the DCT of a 32x32 picture along both axes (scipy.fftpack.dct,
# type II, unnormalised) and keeps the 8x8 lowest frequencies: that corner is this 8x32
# matrix on each side. Same bits as imagehash.phash, without importing scipy into every
# analysis process (0.2 s each) for one small product.
_PHASH_SIDE, _HASH_SIDE = 32, 8
_LOW_DCT = 2 * np.cos(
    np.pi * np.arange(_HASH_SIDE)[:, None] * (2 * np.arange(_PHASH_SIDE)[None, :] + 1) / (2 * _PHASH_SIDE)
)


def phash_bits(gray: Image.Image) -> np.ndarray:
    """imagehash.phash's 8x8 bits of a greyscale picture."""
    pixels = np.asarray(gray.resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64)
    # rounded: on a flat picture every frequency but the mean is 0 up to float noise, which
    # must not decide its bits
    low = np.round(_LOW_DCT @ pixels @ _LOW_DCT.T, 6)
    return low > np.median(low)


def perceptual_hashes(image: Image.Image) -> tuple[int, int]:
    """(phash, dhash) of an upright image, as signed 64-bit integers (imagehash's).

    Stored on `File.phash` / `File.dhash` (`inspect` shows the pHash). The duplicate finder does
    not read them: it searches with probe hashes over crop windows of each fingerprint
    (app/media/similarity.py) and verifies on the fingerprints themselves.
    """
    gray = image if image.mode == "L" else image.convert("L")
    return _as_int(phash_bits(gray)), _as_int(imagehash.dhash(gray).hash)


def hamming(a: int, b: int) -> int:
    return (to_unsigned64(a) ^ to_unsigned64(b)).bit_count()
