"""Export's file-level pieces: archive names, the append-only EXIF editor, XMP/IPTC, both
metadata writers (read back with exiftool), and the safe copy (full disk, changed source,
never overwriting)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from app.media import archive_copy, exif_edit, iptc, jpeg, metadata_writer, naming, xmp_writer
from app.media.metadata_writer import Stamp

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def exiftool_json(*paths: Path, args=("-G1", "-n")) -> list[dict]:
    out = subprocess.run(["exiftool", "-j", *args, *map(str, paths)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def make_jpeg(exif: bool = True, makernote: bytes | None = None, size=(64, 48)) -> bytes:
    image = Image.effect_noise(size, 60).convert("RGB")
    buf = io.BytesIO()
    if exif:
        e = Image.Exif()
        e[0x010F] = "TestCam"
        e[0x0110] = "Model One"
        e.get_ifd(0x8769)[0x9003] = "2000:01:01 00:00:00"  # a camera default: wrong
        e.get_ifd(0x8769)[0x829A] = 1 / 125
        if makernote:
            e.get_ifd(0x8769)[0x927C] = makernote
        image.save(buf, "JPEG", quality=80, exif=e.tobytes())
    else:
        image.save(buf, "JPEG", quality=80)
    return buf.getvalue()


# --- names ---------------------------------------------------------------------------------


def req(key, when=None, precision="second", ext="jpg", name="IMG_1.jpg", sha="a"):
    return naming.NameRequest(key, ext, when, precision, name, sha)


def test_names_follow_precision_and_never_invent_a_time():
    t = datetime(2019, 6, 15, 14, 30, 5)
    names = naming.assign(
        [
            req(1, t),
            req(2, t, "minute"),
            req(3, t, "day", name="IMG-20190615-WA0001.jpg"),
            req(4, t, "month", name="scan 004.tif", ext="tif"),
            req(5, t, "year", name="scan.png", ext="png"),
            req(6, None, None, name="Photo.JPEG"),
            req(7, t, "day", name="20190615_party.jpg"),
        ],
        lambda p: False,
    )
    assert names == {
        1: "2019/20190615_143005.jpg",
        2: "2019/20190615_1430.jpg",
        3: "2019/20190615_IMG-20190615-WA0001.jpg",
        4: "2019/201906_scan 004.tif",
        5: "2019/2019_scan.png",
        6: "undated/Photo.jpg",
        7: "2019/20190615_party.jpg",
    }


def test_same_second_suffixes_are_deterministic_whatever_the_order():
    t = datetime(2019, 6, 15, 14, 30, 5)
    files = [
        req("burst1", t.replace(microsecond=120000), sha="c"),
        req("burst2", t.replace(microsecond=450000), sha="b"),
        req("nosub1", t, sha="e"),
        req("nosub2", t, sha="d"),
        req("video", t, ext="mov", sha="f"),  # a Live Photo's video keeps the plain name
    ]
    first = naming.assign(files, lambda p: False)
    assert naming.assign(list(reversed(files)), lambda p: False) == first
    assert first == {
        "nosub2": "2019/20190615_143005.jpg",  # earliest exact time, then sha: d < e
        "nosub1": "2019/20190615_143005_1.jpg",
        "burst1": "2019/20190615_143005_120.jpg",  # milliseconds when the time has them
        "burst2": "2019/20190615_143005_450.jpg",
        "video": "2019/20190615_143005.mov",
    }


def test_taken_names_are_skipped_case_insensitively():
    t = datetime(2019, 6, 15, 14, 30, 5)
    taken = {"2019/20190615_143005.jpg", "undated/photo.jpg"}
    names = naming.assign(
        [req(1, t), req(2, None, None, name="PHOTO.jpg"), req(3, None, None, name="photo.JPG", sha="b")],
        lambda p: p.casefold() in taken,
    )
    assert names == {1: "2019/20190615_143005_1.jpg", 2: "undated/PHOTO_1.jpg", 3: "undated/photo_2.jpg"}


def test_clean_stem_is_safe_on_any_disk():
    assert naming.clean_stem(".hidden.jpg") == "hidden"
    assert naming.clean_stem('a:b*c?"d<e>f|g.jpg') == "a_b_c__d_e_f_g"
    assert naming.clean_stem("x" * 400 + ".jpg") == "x" * naming.MAX_STEM_BYTES
    assert len(naming.clean_stem("é" * 300 + ".jpg").encode()) <= naming.MAX_STEM_BYTES
    assert naming.clean_stem("...") == "unnamed"


# --- the EXIF editor -------------------------------------------------------------------------


def exif_block(data: bytes) -> bytes:
    return jpeg.payloads(data, "exif")[0][len(jpeg.EXIF_HEADER) :]


def test_exif_edit_appends_and_moves_nothing():
    data = make_jpeg(makernote=b"NIKON\x00" + bytes(range(200)))
    old = exif_block(data)
    new = exif_edit.set_ascii_tags(
        old, {exif_edit.DATETIME_ORIGINAL: "2019:06:15 14:30:05", exif_edit.OFFSET_TIME_ORIGINAL: "+02:00"}
    )
    # every old byte is still at its offset, except the 4-byte Exif IFD pointer in IFD0
    diff = [i for i in range(len(old)) if old[i] != new[i]]
    assert len(diff) <= 4 and (not diff or diff[-1] - diff[0] < 4)
    tags = exif_edit.read_ascii_tags(new)
    assert tags[exif_edit.DATETIME_ORIGINAL] == "2019:06:15 14:30:05"
    assert tags[exif_edit.OFFSET_TIME_ORIGINAL] == "+02:00"
    # an independent reader agrees, and the maker note is intact
    rewritten = jpeg.replace_metadata(data, exif=jpeg.EXIF_HEADER + new)
    exif = Image.open(io.BytesIO(rewritten)).getexif().get_ifd(0x8769)
    assert exif[0x9003] == "2019:06:15 14:30:05"
    assert exif[0x927C] == b"NIKON\x00" + bytes(range(200))
    assert exif[0x829A] == pytest.approx(1 / 125)
    # removing works too
    removed = exif_edit.read_ascii_tags(exif_edit.set_ascii_tags(new, {exif_edit.OFFSET_TIME_ORIGINAL: None}))
    assert exif_edit.OFFSET_TIME_ORIGINAL not in removed


def test_exif_edit_without_exif_ifd_and_without_exif():
    # IFD0 only (big-endian, hand-made): IFD0 is copied with an Exif pointer added
    e = ">"
    make = b"Cam\x00"
    ifd0 = struct.pack(e + "H", 1) + struct.pack(e + "HHI", 0x010F, 2, 4) + make + struct.pack(e + "I", 0)
    block = b"MM\x00\x2a" + struct.pack(e + "I", 8) + ifd0
    new = exif_edit.set_ascii_tags(block, {exif_edit.DATETIME_ORIGINAL: "2019:06:15 14:30:05"})
    assert new[: len(block)][8:] == block[8:]
    assert exif_edit.read_ascii_tags(new)[exif_edit.DATETIME_ORIGINAL] == "2019:06:15 14:30:05"
    fresh = exif_edit.set_ascii_tags(None, {exif_edit.DATETIME_ORIGINAL: "2019:06:15 14:30:05"})
    rewritten = jpeg.replace_metadata(make_jpeg(exif=False), exif=jpeg.EXIF_HEADER + fresh)
    assert Image.open(io.BytesIO(rewritten)).getexif().get_ifd(0x8769)[0x9003] == "2019:06:15 14:30:05"
    with pytest.raises(exif_edit.ExifEditError):
        exif_edit.set_ascii_tags(b"II*\x00\xff\xff\x00\x00", {exif_edit.DATETIME_ORIGINAL: "x"})


def test_replace_metadata_keeps_image_data_and_segment_order():
    data = make_jpeg()
    rewritten = jpeg.replace_metadata(data, xmp=jpeg.XMP_HEADER + xmp_writer.sidecar("2019-06-15", ["a"]))
    assert jpeg.image_data(rewritten) == jpeg.image_data(data)
    kinds = [s.kind for s in jpeg.parse(rewritten)[0] if s.kind]
    assert kinds == ["exif", "xmp"]
    with pytest.raises(jpeg.JpegError):
        jpeg.parse(b"\x89PNG\r\n")


# --- XMP and IPTC -------------------------------------------------------------------------------


def test_xmp_sidecar_and_merge_round_trip():
    side = xmp_writer.sidecar("2019-06-15T14:30:05+02:00", ["holiday", "grandma & me <3"])
    assert xmp_writer.read(side) == {
        "dates": {
            k: "2019-06-15T14:30:05+02:00" for k in ("exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated")
        },
        "subjects": ["holiday", "grandma & me <3"],
    }
    existing = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        b'xmp:CreateDate="2000-01-01T00:00:00" tiff:Make="Cam">'
        b"<dc:subject><rdf:Bag><rdf:li>old</rdf:li><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    merged = xmp_writer.merge(existing, "2019-06-15", ["holiday", "new"], remove_dates=True)
    found = xmp_writer.read(merged)
    assert found["subjects"] == ["old", "holiday", "new"]
    assert set(found["dates"].values()) == {"2019-06-15"}
    assert b"tiff:Make" in merged  # other properties and their prefixes are kept
    with pytest.raises(xmp_writer.XmpError):
        xmp_writer.read(b"<x:xmpmeta><unclosed>")


def test_iptc_keywords_added_once_and_within_limits():
    payload = iptc.add_keywords(None, ["holiday", "zürich", "x" * 70])
    assert iptc.keywords(payload) == ["holiday", "zürich"]  # > 64 bytes: XMP only
    again = iptc.add_keywords(payload, ["holiday", "beach"])
    assert iptc.keywords(again) == ["holiday", "zürich", "beach"]
    assert iptc.add_keywords(again, ["beach"]) is None  # nothing new: leave the segment alone


# --- both writers, read back by exiftool ---------------------------------------------------------

WRITERS = ["python", pytest.param("exiftool", marks=needs_exiftool)]


@pytest.fixture(params=WRITERS)
def writer(request):
    w = metadata_writer.open_writer(request.param)
    assert w.name == request.param
    yield w
    w.close()


@needs_exiftool
def test_writer_embeds_dates_and_tags_without_reencoding(writer, tmp_path):
    src = tmp_path / "src.jpg"
    data = make_jpeg(makernote=b"MAKER" * 20)
    src.write_bytes(data)
    stamp = Stamp(datetime(2019, 6, 15, 14, 30, 5, 120000), 120, "second", ("holiday", "zürich"))
    dest = tmp_path / "out.jpg"
    writer.write(data, src, dest, stamp)
    out = dest.read_bytes()
    assert jpeg.image_data(out) == jpeg.image_data(data)
    assert metadata_writer.check(stamp, metadata_writer.read_back(dest)) == []
    [info] = exiftool_json(dest)
    assert info["ExifIFD:DateTimeOriginal"] == "2019:06:15 14:30:05"
    assert info["ExifIFD:CreateDate"] == "2019:06:15 14:30:05"
    assert info["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    assert str(info["ExifIFD:SubSecTimeOriginal"]) == "12"
    assert info["XMP-dc:Subject"] == ["holiday", "zürich"]
    assert info["IPTC:Keywords"] == ["holiday", "zürich"]
    assert info["IFD0:Make"] == "TestCam"  # the rest of the EXIF is kept
    assert "Warning" not in info or "maker" not in str(info.get("Warning", "")).lower()


@needs_exiftool
def test_writer_day_precision_goes_to_xmp_and_removes_the_wrong_exif_date(writer, tmp_path):
    src = tmp_path / "src.jpg"
    data = make_jpeg()
    src.write_bytes(data)
    stamp = Stamp(datetime(2019, 6, 15), None, "day", ())
    dest = tmp_path / "out.jpg"
    writer.write(data, src, dest, stamp)
    assert metadata_writer.check(stamp, metadata_writer.read_back(dest)) == []
    [info] = exiftool_json(dest)
    assert "ExifIFD:DateTimeOriginal" not in info  # the rejected 2000:01:01 is gone, nothing invented
    assert str(info["XMP-photoshop:DateCreated"]) == "2019:06:15"
    assert jpeg.image_data(dest.read_bytes()) == jpeg.image_data(data)


@needs_exiftool
def test_exiftool_reads_the_sidecar(tmp_path):
    path = tmp_path / "x.heic.xmp"
    path.write_bytes(xmp_writer.sidecar(Stamp(datetime(2019, 6, 15, 14, 30, 5), -300, "second").xmp_date(), ["a b"]))
    [info] = exiftool_json(path)
    assert info["XMP-exif:DateTimeOriginal"] == "2019:06:15 14:30:05-05:00"
    assert info["XMP-dc:Subject"] == "a b"


# --- the safe copy -----------------------------------------------------------------------------


def request_for(src: Path, target: Path, method="copy", stamp: Stamp | None = None) -> archive_copy.Request:
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    return archive_copy.Request(src, sha, "image/png", target, method, stamp or Stamp(), file_time=1_560_601_805.0)


def test_copy_is_verified_and_timed(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(os.urandom(300_000))
    before = src.stat()
    target = tmp_path / "out" / "2019" / "20190615_143005.png"
    stamp = Stamp(datetime(2019, 6, 15, 14, 30, 5), 120, "second", ("x",))
    prepared = archive_copy.prepare(request_for(src, target, "sidecar", stamp), metadata_writer.PythonWriter())
    assert not target.exists()  # nothing under the final name before commit
    archive_copy.commit(prepared)
    assert target.read_bytes() == src.read_bytes()
    assert target.stat().st_mtime == 1_560_601_805.0
    assert xmp_writer.read(archive_copy.sidecar_path(target).read_bytes())["subjects"] == ["x"]
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name, target.name + ".xmp"]
    assert (src.stat().st_mtime_ns, src.stat().st_size) == (before.st_mtime_ns, before.st_size)


def test_full_disk_leaves_no_file_under_a_final_name(tmp_path, monkeypatch):
    src = tmp_path / "a.png"
    src.write_bytes(os.urandom(3 * archive_copy.CHUNK))
    target = tmp_path / "out" / "a.png"
    real_write = os.write
    calls = []

    def full_after_one_chunk(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(archive_copy.os, "write", full_after_one_chunk)
    with pytest.raises(archive_copy.DiskFull, match="disk is full"):
        archive_copy.prepare(request_for(src, target), metadata_writer.PythonWriter())
    assert list(target.parent.iterdir()) == []  # the temporary file is gone too


def test_changed_original_is_refused(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(b"one")
    request = request_for(src, tmp_path / "out" / "a.png")
    src.write_bytes(b"two")
    with pytest.raises(archive_copy.SourceProblem, match="changed since it was imported"):
        archive_copy.prepare(request, metadata_writer.PythonWriter())
    gone = request_for(src, tmp_path / "out" / "b.png")
    src.unlink()
    with pytest.raises(archive_copy.SourceProblem, match="is gone"):
        archive_copy.prepare(gone, metadata_writer.PythonWriter())


def test_commit_never_overwrites_and_adopts_identical(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(b"picture")
    target = tmp_path / "out" / "a.png"
    first = archive_copy.prepare(request_for(src, target), metadata_writer.PythonWriter())
    archive_copy.commit(first)
    again = archive_copy.prepare(request_for(src, target), metadata_writer.PythonWriter())
    archive_copy.commit(again)  # same bytes already there (a killed run got this far): fine
    assert not again.tmp.exists()
    target.write_bytes(b"someone else's file")
    third = archive_copy.prepare(request_for(src, target), metadata_writer.PythonWriter())
    with pytest.raises(archive_copy.NameTaken):
        archive_copy.commit(third)
    assert target.read_bytes() == b"someone else's file"


def test_broken_jpeg_falls_back_to_copy_and_sidecar(tmp_path):
    src = tmp_path / "a.jpg"
    data = make_jpeg()
    src.write_bytes(data[:2] + b"\xff\xe1\xff\xff" + data[2:40])  # a segment longer than the file
    target = tmp_path / "out" / "a.jpg"
    stamp = Stamp(datetime(2019, 6, 15, 14, 30, 5), None, "second")
    prepared = archive_copy.prepare(request_for(src, target, "embed", stamp), metadata_writer.PythonWriter())
    archive_copy.commit(prepared)
    assert prepared.method == "sidecar" and "metadata not written into the JPEG" in prepared.notes[0]
    assert target.read_bytes() == src.read_bytes()
    assert xmp_writer.read(archive_copy.sidecar_path(target).read_bytes())["dates"]["exif:DateTimeOriginal"] == (
        "2019-06-15T14:30:05"
    )
