"""One reduced decode per image, turned upright, from which every derived picture is made.

For JPEG, `Image.draft` lets libjpeg decode at 1/2, 1/4 or 1/8 scale directly. The import
decodes a large JPEG photo at the scale its grid thumbnail needs (1/8 for 12 megapixels), and
its detail preview is made when somebody first opens it (LARGE_ON_VIEW). Other pictures decode
once at the preview's size, and the grid thumbnail and the perceptual hash come from the same
pixels at no extra decode.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image

SMALL = 320  # grid thumbnail: longest side, px (sharp on 2x screens at 160 px cells)
LARGE = 1024  # detail-page preview
JPEG_QUALITY = 82
SIZES = {"s": SMALL, "l": LARGE}

# Pictures whose detail preview is made on first view, from the original, rather than during
# the import: a large JPEG decodes at 1/8 scale for its grid thumbnail, cheaper than the 1/4 its
# preview needs, and the preview then costs no encoding nor disk (about 70 KB) for the many
# photos nobody opens one by one. Other formats (HEIC, raw, video) cost too much to decode in
# the web app, and make theirs during the import.
LARGE_ON_VIEW = frozenset({"image/jpeg", "image/mpo"})


def large_on_view(mime: str | None) -> bool:
    return mime in LARGE_ON_VIEW


def import_size(mime: str | None, size: tuple[int, int]) -> int:
    """The longest side, px, the import decodes a picture of this type and size at. A JPEG
    whose 1/8-scale decode still gives half as much again as a grid thumbnail (504 px from
    12 megapixels) is decoded at that scale: its grid thumbnail and hashes need no more.
    Every other picture at the detail preview's size, as before: the duplicate checks were
    measured on thumbnails made so (tests/pipeline/test_versions.py)."""
    eighth = max(size) // 8
    if large_on_view(mime) and eighth >= SMALL * 3 // 2:
        return min(eighth, LARGE)
    return LARGE


class TooLarge(ValueError):
    """A picture whose full decode would not fit the memory one file may use."""

    def __init__(self, kind: str, pixels: int, limit: int):
        super().__init__(f"{kind} of {pixels} pixels over the limit of {limit}")
        self.kind, self.pixels, self.limit = kind, pixels, limit


# Memory a decoded pixel takes at the peak of analyze's decode, measured on 24-megapixel
# files (the file's own bytes not counted): Pillow keeps 3-channel pictures in 4 bytes, a
# shrunk picture with transparency takes a premultiplied copy first, ...
_MODE_BYTES = {"1": 2, "L": 2, "P": 2, "I;16": 3, "I;16L": 3, "I;16B": 3, "LA": 8, "La": 8, "PA": 8, "RGBA": 8}
# ... and what the format's decoder holds besides (its own output buffer, YUV planes).
_DECODER_BYTES = {"HEIF": 6, "AVIF": 6, "WEBP": 12}


def decode_bytes_needed(image: Image.Image) -> int:
    """About how much memory decoding `image` at its (drafted) size takes at its peak."""
    w, h = image.size
    return w * h * (_MODE_BYTES.get(image.mode, 4) + _DECODER_BYTES.get(image.format or "", 0))


def check_fits(image: Image.Image, max_bytes: int | None) -> None:
    """Refuse, before decoding, a picture that would need more than `max_bytes`."""
    if max_bytes and decode_bytes_needed(image) > max_bytes:
        w, h = image.size
        per_pixel = decode_bytes_needed(image) // max(1, w * h)
        raise TooLarge(image.format or "image", w * h, max_bytes // max(1, per_pixel))


def decode_reduced(image: Image.Image, longest: int = LARGE, max_bytes: int | None = None) -> Image.Image:
    """Decode `image` at the smallest scale that still gives `longest` px, upright, in RGB.

    JPEG decodes at 1/2, 1/4 or 1/8 scale directly (draft); other formats decode in full, so a
    picture whose full decode needs more than `max_bytes` is refused (TooLarge) before any
    pixel is read, and a large one is shrunk right after decoding, before any other copy."""
    if image.format == "JPEG" or image.format == "MPO":
        w, h = image.size
        scale = longest / max(w, h)
        if scale < 1:
            # draft keeps both sides >= the request; ask for ~90 % so 4032 px -> 1008 (1/4) is allowed
            image.draft("RGB", (max(1, int(w * scale * 0.9)), max(1, int(h * scale * 0.9))))
    check_fits(image, max_bytes)
    image.load()
    turn = _TRANSPOSE.get(image.getexif().get(0x0112))
    picture = _shrink(image, longest) if max(image.size) >= 2 * longest else image
    if turn is not None:
        picture = picture.transpose(turn)
    if picture.mode not in ("RGB", "L"):
        picture = flatten(picture)
    elif picture.mode == "L":
        picture = picture.convert("RGB")
    elif picture is image:
        picture = image.copy()  # the caller closes `image`
    if max(picture.size) > longest:
        picture.thumbnail((longest, longest), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return picture


def _shrink(image: Image.Image, longest: int) -> Image.Image:
    """A copy at most half as large as `image` and no smaller than `longest` (box average by
    an integer factor: cheap, and the full-size picture is not copied)."""
    factor = max(image.size) // longest
    if image.mode in ("1", "P", "PA", "I;16", "I;16L", "I;16B"):  # modes that cannot be averaged
        w, h = image.size
        return image.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.NEAREST)
    return image.reduce(factor)


# EXIF orientation -> the turn that makes the picture upright
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def decode_preview(jpegs: list[bytes], orientation: int | None, longest: int = LARGE) -> Image.Image | None:
    """The first of a raw file's embedded JPEG previews that decodes, upright, in RGB.

    A preview carries the raw file's orientation only when it has its own EXIF; otherwise
    the raw file's `orientation` turns it."""
    for jpeg in jpegs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                image = Image.open(io.BytesIO(jpeg))
                own = image.getexif().get(0x0112)
                picture = decode_reduced(image, longest)
            except Exception:  # noqa: BLE001 - a damaged preview: try the next one
                continue
        if not own and orientation in _TRANSPOSE:
            picture = picture.transpose(_TRANSPOSE[orientation])
        return picture
    return None


def flatten(image: Image.Image) -> Image.Image:
    """RGB on white for images with transparency or palettes (transparent pixels are not black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda v: v / 256).convert("RGB")
    return image.convert("RGB")


# A reduced picture at most this much larger than asked for is kept as it is: a second
# resample to the exact size costs as much as the reduce itself (0.7 ms for a 12-MP photo's
# 336 px small version), for pixels nobody sees.
SLACK = 1.1


def small_version(upright: Image.Image, longest: int = SMALL) -> Image.Image:
    """`upright` with its longest side `longest` px, or up to SLACK times that (`upright`
    itself when it is that size already: callers do not change it)."""
    if max(upright.size) <= longest:
        return upright
    factor = max(upright.size) // longest
    # reduce() (box average by an integer factor) does most of the shrinking cheaply
    small = upright.reduce(factor) if factor >= 2 else upright.copy()
    if max(small.size) > longest * SLACK:
        small.thumbnail((longest, longest), Image.Resampling.BILINEAR, reducing_gap=None)
    return small


def thumb_key(sha256: str) -> str:
    """Sharded location stem: 256 folders, so a million pictures make about 8,000 files per
    folder (fast on every filesystem), and the folders exist after the first few hundred
    files. (Files imported before kept their two-level key, `ab/cd/<sha256>`: the key is stored.)"""
    return f"{sha256[:2]}/{sha256}"


def thumb_path(root: Path, key: str, size: str) -> Path:
    return root / f"{key}-{size}.jpg"


def _write_jpeg(image: Image.Image, dest: Path) -> None:
    # Write then rename: a crash never leaves a half-written thumbnail under its final name.
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".jpg")
    except FileNotFoundError:  # the first thumbnail in its folder: most find theirs made
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, "JPEG", quality=JPEG_QUALITY, optimize=False)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_thumbnails(
    root: Path, key: str, upright: Image.Image, small: Image.Image | None = None, large: bool = True
) -> None:
    """The grid thumbnail and, when `large`, the detail preview (else made on view)."""
    if large:
        write_large(root, key, upright)
    _write_jpeg(small if small is not None else small_version(upright), thumb_path(root, key, "s"))


def write_large(root: Path, key: str, upright: Image.Image) -> None:
    _write_jpeg(small_version(upright, LARGE), thumb_path(root, key, "l"))


def large_from_bytes(data: bytes, max_bytes: int | None) -> Image.Image:
    """The detail preview of a picture whose preview is made on view (LARGE_ON_VIEW), from
    its file's bytes; raises what Pillow raises for a damaged file, TooLarge over `max_bytes`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data)) as image:
            return decode_reduced(image, LARGE, max_bytes)
