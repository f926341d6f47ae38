"""Dates from an XMP packet (the XML metadata Adobe tools, phones and cameras embed).

The packet lives in JPEG (APP1), PNG (iTXt), WebP (XMP chunk), TIFF (tag 700), HEIC/AVIF
(an item) and DNG files. When Pillow opened the file, the packet it read is used; when it
could not (a damaged file) or found none, the packet is found by searching the bytes for
`<x:xmpmeta ... </x:xmpmeta>`, which is plain text in all of them. Packets are parsed with
defusedxml (no DTDs, no entities). Tags are looked up by their namespace URI, so
`xap:CreateDate` (old prefix) and `xmp:CreateDate` are the same tag, and both the attribute
form and the element form are read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from . import jpeg

MAX_PACKET = 4 * 1024 * 1024  # history lists can be long; anything bigger is not metadata
_START = re.compile(rb"<x(?:ap)?:xmpmeta\b")
_END = re.compile(rb"</x(?:ap)?:xmpmeta\s*>")

# The one table of XMP namespaces MediaParser reads and writes (xmp_writer.py uses it too):
# prefix -> URI. Tags are matched by URI; these prefixes are the ones written.
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
}

# normalized key -> (namespace, local name)
DATE_TAGS = {
    "xmp_datetime_original": ("exif", "DateTimeOriginal"),
    "xmp_datetime_digitized": ("exif", "DateTimeDigitized"),
    "xmp_gps_datetime": ("exif", "GPSTimeStamp"),  # exif:GPSTimeStamp holds the full UTC date and time
    "xmp_create_date": ("xmp", "CreateDate"),
    "xmp_modify_date": ("xmp", "ModifyDate"),
    "photoshop_date_created": ("photoshop", "DateCreated"),
}
_WANTED = {f"{{{NS[ns]}}}{local}": key for key, (ns, local) in DATE_TAGS.items()}
# ExifTool writes the GPS date/time as exif:GPSDateTime in some files; accept both spellings.
_WANTED[f"{{{NS['exif']}}}GPSDateTime"] = "xmp_gps_datetime"


def find_packet(data: bytes) -> bytes | None:
    """The first complete XMP packet in `data`, or None."""
    if data.startswith(jpeg.SOI):
        data = data[: jpeg.metadata_end(data)]  # do not scan megabytes of image data
    at = data.find(b"xmpmeta")
    start = None
    while at != -1 and start is None:
        start = _START.match(data, max(0, at - 6)) or _START.match(data, max(0, at - 3))
        at = data.find(b"xmpmeta", at + 7)
    if not start:
        return None
    end = _END.search(data, start.end(), start.start() + MAX_PACKET)
    if not end:
        return None
    return data[start.start() : end.end()]


def parse_xml(text: bytes | str) -> ET.Element:
    """XML parsed by defusedxml with DTDs refused, so entity expansion (billion laughs) and
    external entities never run. Raises DefusedXmlException or ET.ParseError."""
    return SafeET.fromstring(text, forbid_dtd=True)


def _text(element: ET.Element) -> str | None:
    # <xmp:CreateDate>2019-..</xmp:CreateDate>, or a one-item rdf:Seq/rdf:Alt list of it.
    if element.text and element.text.strip():
        return element.text.strip()
    for li in element.iter(f"{{{NS['rdf']}}}li"):
        if li.text and li.text.strip():
            return li.text.strip()
    return None


def parse_dates(packet: bytes | str) -> dict[str, str]:
    """{normalized key: raw date text} for the date tags MediaParser uses."""
    raw = packet.encode("utf-8", "replace") if isinstance(packet, str) else packet
    try:
        root = parse_xml(raw)
    except DefusedXmlException:
        return {}  # a DTD or entities: XMP never needs them (billion laughs, XXE)
    except ET.ParseError:
        return _parse_loosely(raw)
    found: dict[str, str] = {}
    for element in root.iter():
        for attr, value in element.attrib.items():
            key = _WANTED.get(attr)
            if key and value.strip():
                found.setdefault(key, value.strip())
        key = _WANTED.get(element.tag)
        if key:
            value = _text(element)
            if value:
                found.setdefault(key, value)
    return found


_LOOSE = re.compile(
    rb"(xmp|xap|photoshop|exif):(CreateDate|ModifyDate|DateCreated|DateTimeOriginal|DateTimeDigitized|GPSTimeStamp|GPSDateTime)"
    rb"""(?:\s*=\s*["']([^"'<>]{4,40})["']|>\s*([^<>]{4,40}?)\s*</)"""
)
_LOOSE_KEYS = {
    (b"exif", b"DateTimeOriginal"): "xmp_datetime_original",
    (b"exif", b"DateTimeDigitized"): "xmp_datetime_digitized",
    (b"exif", b"GPSTimeStamp"): "xmp_gps_datetime",
    (b"exif", b"GPSDateTime"): "xmp_gps_datetime",
    (b"xmp", b"CreateDate"): "xmp_create_date",
    (b"xap", b"CreateDate"): "xmp_create_date",
    (b"xmp", b"ModifyDate"): "xmp_modify_date",
    (b"xap", b"ModifyDate"): "xmp_modify_date",
    (b"photoshop", b"DateCreated"): "photoshop_date_created",
}


def _parse_loosely(raw: bytes) -> dict[str, str]:
    """Damaged XML (truncated packets happen): pick the common prefixes by pattern."""
    found: dict[str, str] = {}
    for m in _LOOSE.finditer(raw):
        key = _LOOSE_KEYS.get((m[1], m[2]))
        value = (m[3] or m[4] or b"").decode("utf-8", "replace").strip()
        if key and value:
            found.setdefault(key, value)
    return found


def image_packet(image) -> bytes | str | None:
    """The XMP packet Pillow read while opening `image` (JPEG, PNG, WebP, TIFF, HEIC/AVIF)."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, bytes | str) and value:
            return value
    return None


def read_dates(data: bytes, packets: list[str | bytes | None] | None = None) -> dict[str, str]:
    """XMP dates from the packets a decoder already unpacked (Pillow; PNG chunks, where a
    compressed iTXt chunk is not visible in the raw bytes). Without any — a file too
    damaged to open, a packet Pillow does not know — from the packet found by searching
    the file's bytes."""
    found: dict[str, str] = {}
    candidates = [p for p in packets or () if p] or [find_packet(data) if data else None]
    for candidate in candidates:
        if candidate:
            for key, value in parse_dates(candidate).items():
                found.setdefault(key, value)
    return found
