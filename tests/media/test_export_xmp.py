"""XMP reading and writing: hostile packets are refused, packets are found where Pillow put
them and, in damaged files, by searching the bytes; merged packets keep their prefixes
without changing ElementTree's process-wide state; one JPEG segment walker."""

from __future__ import annotations

import io
import threading
import tracemalloc
import xml.etree.ElementTree as ET

import pytest
from PIL import Image, PngImagePlugin

from app.media import exif, jpeg, xmp, xmp_writer
from app.media.metadata_writer import PythonWriter, Stamp, WriteError

DATE = "2019-06-15T14:30:05+02:00"


def packet(body: str = f'<rdf:Description rdf:about="" xmlns:xmp="{xmp.NS["xmp"]}" xmp:CreateDate="{DATE}"/>'):
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{xmp.NS["rdf"]}">{body}</rdf:RDF></x:xmpmeta>'
    ).encode()


def billion_laughs(levels: int = 10) -> bytes:
    """The classic entity bomb: a few hundred bytes that expand to gigabytes."""
    entities = ['<!ENTITY l0 "ha">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels)]
    doctype = f"<!DOCTYPE x:xmpmeta [{''.join(entities)}]>"
    return (
        doctype
        + packet(f"<rdf:Description><xmp:CreateDate>&l{levels - 1};</xmp:CreateDate></rdf:Description>").decode()
    ).encode()


def jpeg_with_app1(payload: bytes, size=(32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, "JPEG")
    data = buf.getvalue()
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


# --- hostile packets ---------------------------------------------------------------------------


def test_entity_bomb_is_refused_without_expanding(tmp_path):
    bomb = billion_laughs()
    tracemalloc.start()
    try:
        assert xmp.parse_dates(bomb) == {}
        with pytest.raises(xmp_writer.XmpError, match="DTD"):
            xmp_writer.read(bomb)
        with pytest.raises(xmp_writer.XmpError, match="DTD"):
            xmp_writer.merge(bomb, "2019-06-15", ["a"], remove_dates=True)
        data = jpeg_with_app1(jpeg.XMP_HEADER + bomb)
        with Image.open(io.BytesIO(data)) as image:
            meta, _ = exif.read_exif(data, "image/jpeg", image)
        assert not any(key.startswith("xmp_") for key in meta)
        with pytest.raises(WriteError):  # the export then writes a sidecar instead
            PythonWriter().render(data, Stamp(tags=("a",)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # ten levels would be 10**10 characters had it expanded


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(DATE)
    xxe = f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'.encode() + packet(
        "<rdf:Description><xmp:CreateDate>&e;</xmp:CreateDate></rdf:Description>"
    )
    assert xmp.parse_dates(xxe) == {}
    with pytest.raises(xmp_writer.XmpError):
        xmp_writer.read(xxe)


# --- finding the packet ------------------------------------------------------------------------


def test_dates_come_from_the_packet_pillow_read():
    data = jpeg_with_app1(jpeg.XMP_HEADER + packet())
    with Image.open(io.BytesIO(data)) as image:
        assert xmp.image_packet(image) == packet()
        assert exif.other_dates(data, "image/jpeg", image)["xmp_create_date"] == DATE


def test_compressed_png_packet_is_found_with_and_without_pillow():
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet().decode(), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, "PNG", pnginfo=info)
    data = buf.getvalue()
    assert b"xmpmeta" not in data  # compressed: a byte search cannot see it
    with Image.open(io.BytesIO(data)) as image:
        assert exif.other_dates(data, "image/png", image)["xmp_create_date"] == DATE
    assert exif.other_dates(data, "image/png", None)["xmp_create_date"] == DATE  # the chunk walk


def test_damaged_files_still_give_their_dates():
    # a segment length that runs past the end: Pillow cannot open it, the byte search still finds the packet
    good = jpeg_with_app1(jpeg.XMP_HEADER + packet())
    broken = good[:2] + b"\xff\xe0\xff\xf0" + good[2:]
    with pytest.raises(Exception):  # noqa: B017 - whatever Pillow raises
        Image.open(io.BytesIO(broken)).load()
    meta, _ = exif.read_exif(broken, "image/jpeg", None)
    assert meta["xmp_create_date"] == DATE
    # a packet cut short: the loose pattern reading still finds the date
    cut = packet()[: -len("</rdf:RDF></x:xmpmeta>")]  # rdf:RDF never closed
    assert xmp.read_dates(b"junk" + cut + b"</x:xmpmeta>")["xmp_create_date"] == DATE
    # an XMP segment Pillow does not recognise (non-standard header): found by the byte search
    odd = jpeg_with_app1(b"XMP\x00" + packet())
    with Image.open(io.BytesIO(odd)) as image:
        assert xmp.image_packet(image) is None
        assert exif.other_dates(odd, "image/jpeg", image)["xmp_create_date"] == DATE


# --- one JPEG walker ---------------------------------------------------------------------------


def test_metadata_end_is_the_first_scan_or_everything_when_damaged():
    data = jpeg_with_app1(jpeg.XMP_HEADER + packet())
    segments, sos = jpeg.parse(data)
    assert jpeg.metadata_end(data) == sos == segments[-1].end
    assert data[sos : sos + 2] == b"\xff\xda"
    damaged = data[:2] + b"\xff\xe1\xff\xff" + data[6:]  # a length past the end of the file
    assert jpeg.metadata_end(damaged) == len(damaged)
    # a packet in the scan data of a sound JPEG is not metadata
    assert xmp.find_packet(data + packet()) == packet()
    assert xmp.find_packet(jpeg_with_app1(b"Other\x00") + packet()) is None


# --- writing: prefixes without global state ----------------------------------------------------


OLD_PREFIX = packet(
    '<rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/" xmlns:foo="urn:foo" '
    'xap:ModifyDate="2001-01-01" foo:bar="1"><foo:title xml:lang="en">a &amp; b</foo:title></rdf:Description>'
)


def test_merge_keeps_the_packets_prefixes_and_changes_no_global_state():
    before = dict(ET._namespace_map)  # ElementTree's process-wide prefix table
    merged = xmp_writer.merge(OLD_PREFIX, "2019-06-15", ["new"], remove_dates=True).decode()
    assert dict(ET._namespace_map) == before
    assert 'xmlns:foo="urn:foo"' in merged and "<foo:title" in merged and 'xml:lang="en"' in merged
    assert 'xmlns:xmp="http://ns.adobe.com/xap/1.0/"' in merged and "xmp:ModifyDate" in merged  # ours wins
    assert "ns0" not in merged and "xmlns:xml" not in merged
    assert xmp_writer.read(merged.encode()) == {
        "dates": {
            "exif:DateTimeOriginal": "2019-06-15",
            "xmp:CreateDate": "2019-06-15",
            "photoshop:DateCreated": "2019-06-15",
        },
        "subjects": ["new"],
    }
    # a prefix the packet binds to another namespace than ours, and a default namespace
    clash = packet('<rdf:Description xmlns:exif="urn:not-exif" exif:q="1" xmlns="urn:d"><a>1</a></rdf:Description>')
    text = xmp_writer.merge(clash, None, ["t"], remove_dates=False).decode()
    assert "xmlns:ns" in text and f'xmlns:exif="{xmp.NS["exif"]}"' not in text  # exif:* not written: no date
    assert xmp_writer.merge(clash, None, ["t"], remove_dates=False).decode() == text  # deterministic


def test_merges_in_parallel_threads_agree_with_one_at_a_time():
    packets = [
        packet(
            f'<rdf:Description xmlns:p="urn:{i % 3}" p:v="{i}" xmlns:q{i}="urn:q"><q{i}:x>1</q{i}:x></rdf:Description>'
        )
        for i in range(24)
    ]
    expected = [xmp_writer.merge(p, "2019-06", ["a"], remove_dates=True) for p in packets]
    results: dict[int, bytes] = {}
    mismatches: list[int] = []

    def work(start: int) -> None:
        for _ in range(20):
            for i in range(start, len(packets), 4):
                results[i] = xmp_writer.merge(packets[i], "2019-06", ["a"], remove_dates=True)
                if results[i] != expected[i]:
                    mismatches.append(i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []
    assert [results[i] for i in range(len(packets))] == expected
