"""EXIF metadata as one normalized, JSON-ready dict.

exifread reads JPEG, TIFF and PNG headers without decoding anything. It returns nothing for
WebP and crashes on many HEIC files (see STACK-NOTES), so for those — and whenever it fails —
Pillow's `getexif()` is used instead. Both paths produce the same keys:

    make, model, software, lens, orientation,
    datetime_original, subsec_original, offset_original,
    datetime_digitized, subsec_digitized, offset_digitized,
    datetime, subsec, offset,            (IFD0 DateTime = ModifyDate)
    gps_date, gps_time, gps_lat, gps_lon, gps_alt

Date values stay the raw EXIF strings ("2019:06:15 14:30:00"); timestamps.py interprets them.
"""

from __future__ import annotations

import io
import logging
from fractions import Fraction
from typing import Any

import exifread
from PIL import Image

logging.getLogger("exifread").setLevel(logging.ERROR)

# exifread key -> normalized key
_EXIFREAD_TEXT = {
    "Image Make": "make",
    "Image Model": "model",
    "Image Software": "software",
    "EXIF LensModel": "lens",
    "EXIF DateTimeOriginal": "datetime_original",
    "EXIF SubSecTimeOriginal": "subsec_original",
    "EXIF OffsetTimeOriginal": "offset_original",
    "EXIF DateTimeDigitized": "datetime_digitized",
    "EXIF SubSecTimeDigitized": "subsec_digitized",
    "EXIF OffsetTimeDigitized": "offset_digitized",
    "Image DateTime": "datetime",
    "EXIF SubSecTime": "subsec",
    "EXIF OffsetTime": "offset",
    "GPS GPSDate": "gps_date",
}

# Pillow tag number -> normalized key, per IFD
_PIL_IFD0 = {0x010F: "make", 0x0110: "model", 0x0131: "software", 0x0132: "datetime", 0x0112: "orientation"}
_PIL_EXIF = {
    0xA434: "lens",
    0x9003: "datetime_original",
    0x9291: "subsec_original",
    0x9011: "offset_original",
    0x9004: "datetime_digitized",
    0x9292: "subsec_digitized",
    0x9012: "offset_digitized",
    0x9290: "subsec",
    0x9010: "offset",
}
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825


def _clean_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def _number(value: Any) -> float | None:
    try:
        if hasattr(value, "numerator") and hasattr(value, "denominator"):
            if value.denominator == 0:
                return None
            return float(Fraction(int(value.numerator), int(value.denominator)))
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _triple(values: Any) -> list[float] | None:
    try:
        numbers = [_number(v) for v in list(values)[:3]]
    except TypeError:
        return None
    if len(numbers) != 3 or any(n is None for n in numbers):
        return None
    return numbers


def _degrees(values: Any, ref: Any) -> float | None:
    dms = _triple(values)
    if dms is None:
        return None
    deg = dms[0] + dms[1] / 60 + dms[2] / 3600
    ref_text = _clean_text(ref) or ""
    return round(-deg if ref_text.upper().startswith(("S", "W")) else deg, 7)


def _finish(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v is not None}


def from_exifread(data: bytes) -> dict[str, Any]:
    """Normalized metadata via exifread; raises whatever exifread raises."""
    tags = exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    if not tags:
        return {}
    meta: dict[str, Any] = {}
    for key, name in _EXIFREAD_TEXT.items():
        if key in tags:
            meta[name] = _clean_text(tags[key].values)
    if "Image Orientation" in tags:
        values = tags["Image Orientation"].values
        meta["orientation"] = int(values[0]) if values and isinstance(values[0], int) else None
    if "GPS GPSTimeStamp" in tags:
        meta["gps_time"] = _triple(tags["GPS GPSTimeStamp"].values)
    if "GPS GPSLatitude" in tags:
        meta["gps_lat"] = _degrees(
            tags["GPS GPSLatitude"].values, getattr(tags.get("GPS GPSLatitudeRef"), "values", "")
        )
    if "GPS GPSLongitude" in tags:
        meta["gps_lon"] = _degrees(
            tags["GPS GPSLongitude"].values, getattr(tags.get("GPS GPSLongitudeRef"), "values", "")
        )
    return _finish(meta)


def from_pillow(image: Image.Image) -> dict[str, Any]:
    """Normalized metadata from an open Pillow image (works for HEIC, WebP, AVIF too)."""
    exif = image.getexif()
    if not exif:
        return {}
    meta: dict[str, Any] = {}
    for tag, name in _PIL_IFD0.items():
        if tag in exif:
            meta[name] = exif[tag] if name == "orientation" else _clean_text(exif[tag])
    try:
        exif_ifd = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001 - a malformed sub-IFD must not lose the rest
        exif_ifd = {}
    for tag, name in _PIL_EXIF.items():
        if tag in exif_ifd:
            meta[name] = _clean_text(exif_ifd[tag])
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001
        gps = {}
    if gps:
        meta["gps_date"] = _clean_text(gps.get(29))
        if 7 in gps:
            meta["gps_time"] = _triple(gps[7])
        if 2 in gps:
            meta["gps_lat"] = _degrees(gps[2], gps.get(1))
        if 4 in gps:
            meta["gps_lon"] = _degrees(gps[4], gps.get(3))
    if not isinstance(meta.get("orientation"), int):
        meta.pop("orientation", None)
    # pillow-heif applies the HEIF rotation itself and resets Orientation to 1; the value
    # the camera wrote is kept in info for display only (never rotate by it again).
    if "original_orientation" in image.info:
        meta["stored_orientation"] = image.info["original_orientation"]
    return _finish(meta)


def read_exif(data: bytes, mime: str, image: Image.Image | None = None) -> tuple[dict[str, Any], str | None]:
    """(metadata, warning). exifread first where it works, Pillow where it does not.

    Never raises: a malformed EXIF block is a warning on an otherwise fine photo.
    """
    warning = None
    meta: dict[str, Any] = {}
    if mime in ("image/jpeg", "image/tiff", "image/png") or mime.startswith("image/x-"):
        try:
            meta = from_exifread(data)
        except Exception as exc:  # noqa: BLE001 - exifread raises assorted errors on odd files
            warning = f"EXIF block could not be fully read ({type(exc).__name__})"
    if not meta and image is not None:
        try:
            meta = from_pillow(image)
            warning = None if meta else warning
        except Exception as exc:  # noqa: BLE001
            warning = f"EXIF block could not be read ({type(exc).__name__})"
    return meta, warning
