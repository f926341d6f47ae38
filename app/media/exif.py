"""Embedded metadata as one normalized, JSON-ready dict (EXIF, plus the dates in XMP,
IPTC and PNG chunks).

EXIF: exifread reads JPEG, TIFF and PNG headers without decoding anything. It returns
nothing for WebP (it expects an `Exif\0\0` prefix that WebP's EXIF chunk does not have)
and crashes on many HEIC files (it ignores the iloc base offset), so for those — and
whenever it fails — Pillow's `getexif()` is used instead (HEIC/AVIF/WebP/JPEG/PNG). When a
file is too damaged for Pillow to open, an EXIF block is still looked for in the raw bytes
(`Exif\0\0` + a TIFF header) and read with Pillow's EXIF parser. All paths produce:

    make, model, software, lens, serial (BodySerialNumber), orientation,
    datetime_original, subsec_original, offset_original,
    datetime_digitized, subsec_digitized, offset_digitized,
    datetime, subsec, offset,            (IFD0 DateTime = ModifyDate)
    gps_date, gps_time, gps_lat, gps_lon, gps_alt

Other dates (see xmp.py): xmp_datetime_original, xmp_datetime_digitized, xmp_create_date,
xmp_modify_date, photoshop_date_created, xmp_gps_datetime; IPTC iptc_date_created,
iptc_time_created, iptc_digital_date, iptc_digital_time; PNG png_time (tIME, UTC),
png_creation_time ("Creation Time" text), png_date_create (ImageMagick "date:create").

Date values stay raw strings ("2019:06:15 14:30:00"); timestamps.py interprets them.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zlib
from fractions import Fraction
from typing import Any

import exifread
from PIL import Image, IptcImagePlugin

from . import xmp

logging.getLogger("exifread").setLevel(logging.ERROR)

# exifread key -> normalized key
_EXIFREAD_TEXT = {
    "Image Make": "make",
    "Image Model": "model",
    "Image Software": "software",
    "EXIF LensModel": "lens",
    "EXIF BodySerialNumber": "serial",  # which camera body (a clock correction follows it)
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
    0xA431: "serial",
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
    meta = from_exif_object(image.getexif())
    # pillow-heif applies the HEIF rotation itself and resets Orientation to 1; the value
    # the camera wrote is kept in info for display only (never rotate by it again).
    if meta and image.info.get("original_orientation") is not None:
        meta["stored_orientation"] = image.info["original_orientation"]
    return meta


def from_exif_object(exif: Image.Exif) -> dict[str, Any]:
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
    return _finish(meta)


_EMBEDDED_EXIF = re.compile(rb"Exif\x00\x00(?=II\*\x00|MM\x00\*)")


def from_embedded_exif(data: bytes) -> dict[str, Any]:
    """An EXIF block found in the raw bytes (HEIC/AVIF items, damaged files): `Exif\\0\\0`
    followed by a TIFF header is a 10-byte signature that does not occur by chance."""
    m = _EMBEDDED_EXIF.search(data)
    if not m:
        return {}
    exif = Image.Exif()
    try:
        exif.load(data[m.end() :])
    except Exception:  # noqa: BLE001 - a damaged block gives nothing, not an error
        return {}
    return from_exif_object(exif)


def iptc_dates(image: Image.Image) -> dict[str, str]:
    """IPTC DateCreated/TimeCreated and DigitalCreationDate/Time (JPEG and TIFF)."""
    try:
        info = IptcImagePlugin.getiptcinfo(image) or {}
    except Exception:  # noqa: BLE001 - malformed Photoshop/IPTC blocks are common
        return {}
    found = {}
    for key, name in (
        ((2, 55), "iptc_date_created"),
        ((2, 60), "iptc_time_created"),
        ((2, 62), "iptc_digital_date"),
        ((2, 63), "iptc_digital_time"),
    ):
        value = info.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        text = _clean_text(value)
        if text:
            found[name] = text
    return found


_PNG_TEXT_KEYS = {"creation time": "png_creation_time", "date:create": "png_date_create"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_dates(data: bytes) -> tuple[dict[str, str], list[bytes]]:
    """PNG tIME (last modification, UTC), the 'Creation Time' and ImageMagick 'date:create'
    text chunks, and XMP packets (iTXt, possibly compressed). Walks the chunk headers only."""
    found: dict[str, str] = {}
    packets: list[bytes] = []
    if not data.startswith(_PNG_SIGNATURE):
        return found, packets
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tIME" and length == 7:
            y, mo, d, h, mi, sec = struct.unpack(">HBBBBB", body)
            found.setdefault("png_time", f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}")
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            key, text = _png_text(kind, body)
            if key is None:
                continue
            if key == "xml:com.adobe.xmp":
                packets.append(text.encode("utf-8", "replace"))
            elif key in _PNG_TEXT_KEYS and text.strip():
                found.setdefault(_PNG_TEXT_KEYS[key], text.strip()[:80])
        elif kind == b"IEND":
            break
    return found, packets


def _png_text(kind: bytes, body: bytes) -> tuple[str | None, str]:
    key, _, rest = body.partition(b"\x00")
    name = key.decode("latin-1").lower()
    if name not in _PNG_TEXT_KEYS and name != "xml:com.adobe.xmp":
        return None, ""
    try:
        if kind == b"tEXt":
            return name, rest.decode("latin-1")
        if kind == b"zTXt":
            return name, zlib.decompressobj().decompress(rest[1:], MAX_TEXT).decode("latin-1")
        compressed, _method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if compressed:
            text = zlib.decompressobj().decompress(text, MAX_TEXT)
        return name, text.decode("utf-8", "replace")
    except (IndexError, zlib.error, UnicodeDecodeError):
        return None, ""


MAX_TEXT = 4 * 1024 * 1024


def read_exif(data: bytes, mime: str, image: Image.Image | None = None) -> tuple[dict[str, Any], str | None]:
    """(metadata, warning). exifread first where it works, Pillow where it does not, and
    the raw bytes as a last resort; then the XMP, IPTC and PNG dates.

    Never raises: a malformed block is a warning on an otherwise fine photo."""
    warning = None
    meta: dict[str, Any] = {}
    if mime in ("image/jpeg", "image/tiff", "image/png", "image/mpo") or mime.startswith("image/x-"):
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
    if not meta and data:
        meta = from_embedded_exif(data)
        warning = None if meta else warning
    meta.update(other_dates(data, mime, image))
    return meta, warning


def other_dates(data: bytes, mime: str, image: Image.Image | None = None) -> dict[str, str]:
    """The dates outside EXIF: XMP (any format), IPTC (JPEG/TIFF), PNG chunks."""
    found: dict[str, str] = {}
    packets: list[bytes | str | None] = []
    try:
        if mime == "image/png":
            png, packets = png_dates(data)
            found.update(png)
        if image is not None:
            packets.append(xmp.image_packet(image))
            if mime in ("image/jpeg", "image/tiff", "image/mpo"):
                found.update(iptc_dates(image))
        found.update(xmp.read_dates(data, packets))
    except Exception:  # noqa: BLE001 - odd metadata never stops an import
        pass
    return found
