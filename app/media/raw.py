"""Camera raw files as first-class pictures, without decoding a raw image at import.

- Dates and camera: TIFF-based raws (CR2, NEF, NRW, ARW, SRF, SR2, ORF, RW2, PEF, SRW,
  DNG, 3FR, IIQ, ERF, KDC, DCR) through the same EXIF reader as JPEGs; CR3, CRW, RAF, X3F
  and MRW through rawformats.py; a persistent exiftool fills what those leave open.
- Size: the picture's own (a DNG's main raw image, not its 256-pixel preview; the size the
  camera wrote in EXIF; Fujifilm's cropped sensor size).
- Thumbnail and perceptual hash: from the largest embedded JPEG preview that decodes.

`read()` is pure: bytes or a path in, a `RawInfo` out; a damaged file gives less and says
why in `notes`, never an exception.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from . import exif, exiftool_reader, rawformats, tiff
from .rawformats import RawInfo

OWN_READERS = {
    "image/x-canon-cr3": rawformats.cr3,
    "image/x-canon-crw": rawformats.crw,
    "image/x-fujifilm-raf": rawformats.raf,
    "image/x-sigma-x3f": rawformats.x3f,
    "image/x-minolta-mrw": rawformats.mrw,
}
PANASONIC_JPEG = 0x002E  # RW2: a complete JPEG (with its own EXIF) inside IFD0


def read(path: str | Path, mime: str, data: bytes | None = None) -> RawInfo:
    """Metadata, size and previews of a raw file. `data`: the whole file when already in
    memory (the EXIF reader needs it); otherwise the file is read where needed."""
    path = Path(path)
    with open(path, "rb") as fh:
        view: tiff.Bytes = data if data is not None else tiff.FileView(fh)
        try:
            reader = OWN_READERS.get(mime)
            info = reader(view) if reader else _tiff_raw(view, data, mime)
        except (struct.error, ValueError, OverflowError) as exc:
            info = RawInfo(notes=[f"Part of this raw file could not be read ({type(exc).__name__})"])
    _fill_from_exiftool(path, info)
    return info


def _tiff_raw(view: tiff.Bytes, data: bytes | None, mime: str) -> RawInfo:
    info = RawInfo()
    if data is not None:
        info.meta, warning = exif.read_exif(data, mime)
        if warning:
            info.notes.append(warning)
    parsed = tiff.parse(view)
    if parsed is None:
        info.notes.append("The raw file's directory could not be read")
        return info
    if parsed.truncated:
        info.notes.append("This raw file is cut short: part of it points past its end")
    info.width, info.height = dimensions(parsed)
    info.previews = _tiff_previews(parsed)
    if "orientation" not in info.meta:
        orientation = parsed.int(parsed.first(tiff.ORIENTATION, names=("IFD0",)))
        if orientation:
            info.meta["orientation"] = orientation
    return info


def dimensions(t: tiff.Tiff) -> tuple[int | None, int | None]:
    """The picture's size: a DNG's main image (NewSubFileType 0); else the size the camera
    wrote in EXIF; else the main image; else Panasonic's sensor borders; else the largest."""
    images = []
    for ifd in t.image_ifds():
        w, h = t.int(ifd.entries.get(tiff.WIDTH)), t.int(ifd.entries.get(tiff.HEIGHT))
        if w and h:
            images.append((t.int(ifd.entries.get(tiff.SUBFILE_TYPE)), w, h))
    main = next(((w, h) for kind, w, h in images if kind == 0), None)
    if main and t.first(tiff.DNG_VERSION) is not None:
        return main
    exif_w, exif_h = t.int(t.first(tiff.EXIF_WIDTH)), t.int(t.first(tiff.EXIF_HEIGHT))
    if exif_w and exif_h and exif_w > 1 and exif_h > 1:
        return exif_w, exif_h
    if main:
        return main
    panasonic = _panasonic_size(t)
    if panasonic:
        return panasonic
    if images:
        _, w, h = max(images, key=lambda i: i[1] * i[2])
        return w, h
    return None, None


def _panasonic_size(t: tiff.Tiff) -> tuple[int, int] | None:
    first = t.ifds[0].entries if t.ifds else {}
    top, left, bottom, right = (t.int(first.get(tag)) for tag in (4, 5, 6, 7))
    if None in (top, left, bottom, right) or bottom <= top or right <= left:
        return None
    return right - left, bottom - top


def _tiff_previews(t: tiff.Tiff) -> list[bytes]:
    """Every complete JPEG the directories point at (the sensor data itself excluded)."""
    found: list[bytes] = []
    for ifd in t.image_ifds():
        e = ifd.entries
        if t.int(e.get(tiff.PHOTOMETRIC)) in tiff.CFA_PHOTOMETRICS:
            continue
        spans = [(t.int(e.get(tiff.JPEG_OFFSET)), t.int(e.get(tiff.JPEG_LENGTH)))]
        strips, counts = t.ints(e.get(tiff.STRIP_OFFSETS)), t.ints(e.get(tiff.STRIP_COUNTS))
        if len(strips) == 1 and len(counts) == 1 and t.int(e.get(tiff.COMPRESSION)) in (6, 7):
            spans.append((strips[0], counts[0]))
        for start, length in spans:
            jpeg = rawformats.jpeg_at(t.data, t.base + start, length) if start and length else None
            if jpeg:
                found.append(jpeg)
        embedded = e.get(PANASONIC_JPEG)
        if embedded is not None and embedded.count < rawformats.MAX_BLOCK:
            jpeg = rawformats.jpeg_at(t.data, embedded.at, embedded.count)
            if jpeg:
                found.append(jpeg)
    return found


def _fill_from_exiftool(path: Path, info: RawInfo) -> None:
    """ExifTool for what the own readers left open: the capture date, the size, a preview."""
    has_date = info.meta.get("datetime_original") or info.meta.get("datetime_digitized")
    if has_date and info.width and info.previews or not exiftool_reader.available():
        return
    facts = exiftool_reader.raw_facts(path)
    for key, name in (
        ("DateTimeOriginal", "datetime_original"),
        ("SubSecTimeOriginal", "subsec_original"),
        ("OffsetTimeOriginal", "offset_original"),
        ("CreateDate", "datetime_digitized"),
        ("Make", "make"),
        ("Model", "model"),
        ("Orientation", "orientation"),
    ):
        if facts.get(key) not in (None, "") and name not in info.meta:
            info.meta[name] = facts[key] if name == "orientation" else str(facts[key])
    size = str(facts.get("ImageSize") or "").replace("x", " ").split()
    if not info.width and len(size) == 2 and all(s.isdigit() for s in size):
        info.width, info.height = int(size[0]), int(size[1])
    if not info.previews:
        jpeg = exiftool_reader.preview(path)
        if jpeg:
            info.previews.append(jpeg)


def upright_preview(path: str | Path, mime: str):
    """The raw file's best embedded preview, decoded and upright (for the thumbnail job), or None."""
    from . import thumbnails

    info = read(path, mime)
    orientation = info.meta.get("orientation") if isinstance(info.meta.get("orientation"), int) else None
    return thumbnails.decode_preview(preview_order(info.previews), orientation)


def preview_order(previews: list[bytes]) -> list[bytes]:
    """Largest first: the first one that decodes becomes the thumbnail."""
    return sorted(previews, key=len, reverse=True)


def summary(info: RawInfo) -> dict[str, Any]:
    return {"width": info.width, "height": info.height, "previews": len(info.previews)}
