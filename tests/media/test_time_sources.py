"""Reading dates out of files: EXIF through exifread and Pillow (HEIC/WebP/AVIF), XMP in
every container, IPTC, PNG chunks, and the raw-bytes EXIF fallback."""

from __future__ import annotations

import struct
import zlib
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from app.media import analyze, exif, timestamps, xmp
from tests.time_helpers import make_exif, write_image, xmp_packet

BERLIN = ZoneInfo("Europe/Berlin")
MIMES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".heic": "image/heic",
    ".avif": "image/avif",
}
XMP = xmp_packet(
    xmp_CreateDate="2019-06-15T14:30:00+02:00",
    photoshop_DateCreated="2019-06-15",
    exif_DateTimeOriginal="2019-06-15T14:30:00",
)


def read(path):
    data = path.read_bytes()
    with Image.open(path) as image:
        return exif.read_exif(data, MIMES[path.suffix], image)[0]


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic", ".avif"])
def test_exif_offset_and_gps_in_every_format(tmp_path, suffix):
    path = write_image(
        tmp_path / f"a{suffix}",
        make_exif("2019:06:15 14:30:00", offset="+02:00", subsec="25", gps_date="2019:06:15", gps_time=(12, 30, 1)),
    )
    meta = read(path)
    assert meta["datetime_original"] == "2019:06:15 14:30:00"
    assert meta["offset_original"] == "+02:00" and meta["subsec_original"] == "25"
    assert meta["gps_date"] == "2019:06:15" and meta["gps_time"] == [12.0, 30.0, 1.0]
    record = analyze.analyze(path, zone=BERLIN).inspect_record()
    assert (record["timestamp"], record["confidence"]) == ("2019-06-15T14:30:00+02:00", "high")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif", ".heic", ".avif"])
def test_xmp_dates_in_every_format(tmp_path, suffix):
    path = write_image(tmp_path / f"x{suffix}", xmp=XMP)
    meta = read(path)
    assert meta["xmp_create_date"] == "2019-06-15T14:30:00+02:00"
    assert meta["photoshop_date_created"] == "2019-06-15"
    assert meta["xmp_datetime_original"] == "2019-06-15T14:30:00"
    record = analyze.analyze(path, zone=BERLIN).inspect_record()
    assert (record["timestamp"], record["source"], record["confidence"]) == (
        "2019-06-15T14:30:00",
        "xmp:DateTimeOriginal",
        "medium",
    )


def test_xmp_element_form_other_prefixes_and_lists():
    packet = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description xmlns:xap="http://ns.adobe.com/xap/1.0/" xmlns:ps="http://ns.adobe.com/photoshop/1.0/">
        <xap:CreateDate>2005-09-07T15:07:40-07:00</xap:CreateDate>
        <ps:DateCreated><rdf:Seq><rdf:li>2005-09</rdf:li></rdf:Seq></ps:DateCreated>
      </rdf:Description></rdf:RDF></x:xmpmeta>"""
    assert xmp.read_dates(b"junk" + packet + b"junk") == {
        "xmp_create_date": "2005-09-07T15:07:40-07:00",
        "photoshop_date_created": "2005-09",
    }


def test_xmp_damaged_or_hostile_packets():
    truncated = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description xmp:CreateDate="2010-04-13T09:37:22+02:00" <<</x:xmpmeta>'
    assert xmp.read_dates(truncated) == {"xmp_create_date": "2010-04-13T09:37:22+02:00"}
    hostile = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    assert xmp.parse_dates(hostile) == {}
    assert xmp.read_dates(b"no packet here") == {}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_png_time_and_text_chunks(tmp_path):
    path = write_image(tmp_path / "p.png")
    data = path.read_bytes()
    iend = data.rfind(b"IEND") - 4
    extra = (
        _png_chunk(b"tIME", struct.pack(">HBBBBB", 2014, 8, 31, 13, 10, 22))
        + _png_chunk(b"tEXt", b"Creation Time\x00Tue, 13 Feb 2007 06:34:38 +0100")
        + _png_chunk(b"zTXt", b"date:create\x00\x00" + zlib.compress(b"2010-09-14T23:28:12+02:00"))
    )
    path.write_bytes(data[:iend] + extra + data[iend:])
    meta = read(path)
    assert meta["png_time"] == "2014-08-31T13:10:22"
    assert meta["png_creation_time"] == "Tue, 13 Feb 2007 06:34:38 +0100"
    assert meta["png_date_create"] == "2010-09-14T23:28:12+02:00"
    candidates = {c.source: c for c in timestamps.png_candidates(meta)}
    assert candidates["png:tIME"].zone == "utc" and candidates["png:tIME"].role == "not_after"
    assert candidates["png:CreationTime"].value.isoformat() == "2007-02-13T06:34:38+01:00"
    assert candidates["png:date:create"].role == "weak"
    record = analyze.analyze(path, zone=BERLIN).inspect_record()
    assert record["source"] == "png:CreationTime" and record["confidence"] == "low"


def test_iptc_dates_from_jpeg(tmp_path):
    # IPTC in a Photoshop APP13 block: DateCreated 2:55 and TimeCreated 2:60.
    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iptc = dataset(55, b"20061029") + dataset(60, b"062751-0500")
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    app13 = b"Photoshop 3.0\x00" + resource
    path = write_image(tmp_path / "iptc.jpg")
    data = path.read_bytes()
    segment = b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13
    path.write_bytes(data[:2] + segment + data[2:])
    meta = read(path)
    assert (meta["iptc_date_created"], meta["iptc_time_created"]) == ("20061029", "062751-0500")
    record = analyze.analyze(path, zone=BERLIN).inspect_record()
    assert record["timestamp"] == "2006-10-29T06:27:51-05:00" and record["source"] == "iptc:DateCreated"


def test_exif_block_is_found_in_a_file_no_decoder_opens(tmp_path):
    block = make_exif("2020:02:19 06:04:51", offset="-08:00").tobytes()
    path = tmp_path / "damaged.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40 + b"Exif\x00\x00" + block)
    record = analyze.analyze(path, zone=BERLIN).inspect_record()
    assert record["error"]  # it cannot be shown...
    assert record["timestamp"] == "2020-02-19T06:04:51-08:00"  # ...but its date is still known


@pytest.mark.parametrize(
    ("text", "iso", "precision"),
    [
        ("2019:06:15 14:30:00", "2019-06-15T14:30:00", "second"),
        ("2019:06:15 14:30:00\x00", "2019-06-15T14:30:00", "second"),
        ("2019-06-15T14:30", "2019-06-15T14:30:00", "minute"),
        ("2019-06-15T14", "2019-06-15T00:00:00", "day"),
        ("2019-06-15", "2019-06-15T00:00:00", "day"),
        ("2019:06:00 00:00:00", "2019-06-01T00:00:00", "month"),
        ("2019-06", "2019-06-01T00:00:00", "month"),
        ("2019", "2019-01-01T00:00:00", "year"),
        ("20190615", "2019-06-15T00:00:00", "day"),
        ("2012-09-17T15:53:45-04:00", "2012-09-17T15:53:45", "second"),
    ],
)
def test_parse_datetime_keeps_precision(text, iso, precision):
    parsed = timestamps.parse_datetime(text)
    assert (parsed.value.isoformat(), parsed.precision) == (iso, precision)


def test_offsets_parse():
    assert timestamps.parse_offset("+1:00").utcoffset(None).total_seconds() == 3600
    assert timestamps.parse_offset("-0530").utcoffset(None).total_seconds() == -19800
    assert timestamps.parse_offset("+15:00") is None and timestamps.parse_offset("junk") is None
