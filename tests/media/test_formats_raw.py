"""Raw photos as first-class files: detected by content, dated, their true size, a thumbnail
and a perceptual hash from the embedded preview, and their own extension in the archive.

Real raw files from the corpus are checked against ExifTool's readings (manifest.csv);
generated ones (tests/raw_helpers.py) against exiftool run on them where it is installed."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, exiftool_reader, naming, probe, raw, thumbnails
from tests import raw_helpers
from tests.conftest import manifest_rows

ZONE = ZoneInfo("Europe/Berlin")
needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def _exiftool(path: Path, *tags: str) -> dict:
    out = subprocess.run(
        ["exiftool", "-j", "-n", *[f"-{t}" for t in tags], str(path)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    return json.loads(out.stdout)[0]


# --- detection by content -----------------------------------------------------------------------

MAGIC_HEADS = {
    "crw": b"II\x1a\x00\x00\x00HEAPCCDR" + b"\0" * 64,
    "raf": b"FUJIFILMCCD-RAW 0201FF383501" + b"\0" * 128,
    "mrw": b"\x00MRM\x00\x00\x00\x10" + b"\0" * 64,
    "x3f": b"FOVb\x03\x00\x02\x00" + b"\0" * 64,
    "orf": b"IIRO\x08\x00\x00\x00" + b"\0" * 64,
    "rw2": b"IIU\x00\x08\x00\x00\x00" + b"\0" * 64,
    "cr2": b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\0" * 64,
    "cr3": b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + b"\0" * 64,
}
MAKERS = {
    "nef": "NIKON CORPORATION",
    "nrw": "NIKON",
    "arw": "SONY",
    "srf": "SONY",
    "sr2": "SONY",
    "pef": "PENTAX",
    "srw": "SAMSUNG",
    "3fr": "Hasselblad",
    "iiq": "Phase One",
    "erf": "SEIKO EPSON CORP.",
    "kdc": "EASTMAN KODAK COMPANY",
    "dcr": "Kodak",
}


def test_every_raw_format_is_known_with_exiftools_mime():
    assert set(probe.RAW) == set(MAGIC_HEADS) | set(MAKERS) | {"dng"}
    assert len(probe.RAW) == 21


@pytest.mark.parametrize("ext", sorted(MAGIC_HEADS))
def test_raw_formats_with_a_signature_are_found_whatever_the_name(tmp_path, ext):
    for name in (f"photo.{ext}", "photo.jpg", "photo"):
        path = tmp_path / name
        path.write_bytes(MAGIC_HEADS[ext])
        assert probe.sniff_file(path) is probe.RAW[ext], name


@pytest.mark.parametrize("ext", sorted(MAKERS))
def test_tiff_based_raws_are_told_by_maker_and_sensor_data(tmp_path, ext):
    data = raw_helpers.tiff_raw(MAKERS[ext])
    named = tmp_path / f"a.{ext}"
    named.write_bytes(data)
    assert probe.sniff_file(named) is probe.RAW[ext]
    # Without the extension, the maker and the sensor directory still say "raw" (its
    # family's first flavour); a plain TIFF stays a TIFF.
    family_default = {"nrw": "nef", "srf": "arw", "sr2": "arw", "dcr": "kdc"}.get(ext, ext)
    anonymous = tmp_path / "a.bin"
    anonymous.write_bytes(data)
    assert probe.sniff_file(anonymous) is probe.RAW[family_default]


def test_a_scanners_tiff_with_a_maker_is_not_a_raw_file(tmp_path):
    scan = raw_helpers.build_tiff(
        raw_helpers.Ifd().ascii(0x010F, "NIKON").num(0x0100, 10).num(0x0101, 10).num(0x0106, 2, kind=3)
    )
    (tmp_path / "scan.tif").write_bytes(scan)
    assert probe.sniff_file(tmp_path / "scan.tif") is probe.TIFF


def test_dng_found_by_its_version_tag_even_when_its_directory_is_past_the_head(tmp_path):
    path = tmp_path / "IMG_0001.DNG"
    path.write_bytes(raw_helpers.dng())
    assert probe.sniff_file(path) is probe.RAW["dng"]
    # Lightroom writes IFD0 after the image data, far past the bytes read to sniff a type.
    late = raw_helpers.dng(padding=probe.HEAD_BYTES + 1000)
    assert struct.unpack_from("<I", late, 4)[0] > probe.HEAD_BYTES
    (tmp_path / "late.dng").write_bytes(late)
    assert probe.sniff_file(tmp_path / "late.dng") is probe.RAW["dng"]
    assert analyze.analyze(tmp_path / "late.dng", zone=ZONE).mime == "image/x-adobe-dng"


# --- generated raw files: dates, sizes, previews -------------------------------------------------


def test_dng_reports_the_raw_size_not_its_thumbnail(tmp_path):
    path = tmp_path / "IMG_2044.DNG"
    path.write_bytes(raw_helpers.dng(size=(5392, 3592)))
    result = analyze.analyze(path, zone=ZONE, thumb_root=tmp_path / "thumbs")
    assert result.status == "done" and result.mime == "image/x-adobe-dng" and result.ext == "dng"
    assert (result.width, result.height) == (5392, 3592)  # not the 256x171 IFD0 thumbnail
    assert result.choice.iso() == "2019-06-15T14:30:00+02:00" and result.choice.confidence == "high"
    assert result.phash is not None and result.thumb_key
    large = thumbnails.thumb_path(tmp_path / "thumbs", result.thumb_key, "l")
    from PIL import Image

    with Image.open(large) as picture:
        assert picture.size == (1024, 683)  # from the 1024-pixel preview, not the thumbnail


@needs_exiftool
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("a.dng", lambda: raw_helpers.dng()),
        ("b.nef", lambda: raw_helpers.tiff_raw("NIKON CORPORATION")),
        ("c.arw", lambda: raw_helpers.tiff_raw("SONY", "2018:02:03 04:05:06", (6000, 4000))),
        ("d.raf", lambda: raw_helpers.raf()),
        ("e.x3f", lambda: raw_helpers.x3f()),
        ("f.mrw", lambda: raw_helpers.mrw()),
    ],
)
def test_generated_raws_agree_with_exiftool(tmp_path, name, make):
    path = tmp_path / name
    path.write_bytes(make())
    oracle = _exiftool(path, "DateTimeOriginal", "ImageSize", "FileType")
    record = analyze.analyze(path, zone=ZONE).inspect_record()
    assert record["mime"] == probe.RAW[oracle["FileType"].lower()].mime
    assert record["timestamp"][:19] == oracle["DateTimeOriginal"].replace(":", "-", 2).replace(" ", "T")
    assert f"{record['width']} {record['height']}" == oracle["ImageSize"]


def test_orientation_turns_the_size_and_the_preview_upright(tmp_path):
    path = tmp_path / "portrait.dng"
    path.write_bytes(raw_helpers.dng(size=(6000, 4000), orientation=6))
    result = analyze.analyze(path, zone=ZONE, thumb_root=tmp_path / "t")
    assert (result.width, result.height) == (4000, 6000) and result.orientation == 6
    from PIL import Image

    with Image.open(thumbnails.thumb_path(tmp_path / "t", result.thumb_key, "l")) as picture:
        assert picture.height > picture.width


def test_raw_without_a_usable_preview_is_still_imported_with_its_date(tmp_path):
    data = bytearray(raw_helpers.tiff_raw("PENTAX", "2012:12:12 12:12:12"))
    at = data.find(b"\xff\xd8\xff")
    data[at : at + 64] = bytes(64)  # the preview is damaged
    path = tmp_path / "IMGP0001.PEF"
    path.write_bytes(bytes(data))
    result = analyze.analyze(path, zone=ZONE)
    assert result.status == "done" and result.choice.iso() == "2012-12-12T12:12:12"
    assert (result.width, result.height) == (6048, 4024)
    assert any("no preview" in w for w in result.warnings)


def test_cut_and_hostile_tiff_directories_give_less_never_an_error(tmp_path):
    data = raw_helpers.dng()
    for cut in (10, 200, 2000, len(data) // 2):
        (tmp_path / "cut.dng").write_bytes(data[:cut])
        result = analyze.analyze(tmp_path / "cut.dng", zone=ZONE)
        assert result.status in ("done", "error", "skipped") and "Unexpected" not in (result.error or "")
    loop = bytearray(
        b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 1) + struct.pack("<HHII", 0x014A, 4, 1, 8) + b"\0" * 8
    )
    (tmp_path / "loop.nef").write_bytes(bytes(loop))  # a SubIFD pointing at itself
    assert analyze.analyze(tmp_path / "loop.nef", zone=ZONE).status in ("done", "error")


def test_raw_files_are_exported_under_their_own_extension():
    for ext, media_type in probe.RAW.items():
        request = naming.NameRequest("k", media_type.ext, None, None, f"IMG_1.{ext.upper()}", "0" * 64)
        assert naming.assign([request], lambda _p: False)["k"] == f"undated/IMG_1.{ext}"


# --- the corpus: camera files against ExifTool ----------------------------------------------------


def _raw_rows(corpus):
    return [r for r in manifest_rows(corpus) if r["path"].startswith("raw/")]


def test_corpus_raws_get_the_cameras_date_and_real_size(corpus):
    rows = _raw_rows(corpus)
    assert len(rows) >= 6
    for row in rows:
        record = analyze.analyze(corpus / row["path"], zone=ZONE).inspect_record()
        assert record["mime"] == row["MIMEType"], row["path"]
        expected = row["DateTimeOriginal"][:19].replace(":", "-", 2).replace(" ", "T")
        assert record["timestamp"][:19] == expected, row["path"]
        if row["OffsetTimeOriginal"]:
            assert record["timestamp"].endswith(row["OffsetTimeOriginal"]), row["path"]
        if row["ImageWidth"]:
            assert {record["width"], record["height"]} == {int(row["ImageWidth"]), int(row["ImageHeight"])}, row["path"]
        else:  # the cut ARW: ExifTool has only the size the camera wrote in EXIF
            assert {record["width"], record["height"]} == {6000, 4000}


def test_corpus_raws_with_a_preview_get_a_thumbnail_and_hash(corpus, tmp_path):
    with_preview = {
        "raw/exiv2/Canon-R6-pruned.CR3": 1024,  # the PRVW box's 1620x1080 JPEG, reduced to the large size
        "raw/exiv2/exiv2-canon-powershot-s40.crw": 160,  # CIFF thumbnail
        "raw/file-type/fixture-sony-zv-e10.arw": 160,  # IFD1 thumbnail (the preview is cut off)
        "raw/hachoir/canon.raw.cr2": 160,
    }
    for rel, longest in with_preview.items():
        result = analyze.analyze(corpus / rel, zone=ZONE, thumb_root=tmp_path)
        assert result.phash is not None and result.thumb_key, rel
        from PIL import Image

        with Image.open(thumbnails.thumb_path(tmp_path, result.thumb_key, "l")) as picture:
            assert max(picture.size) == longest, rel


def test_raw_reader_never_decodes_the_sensor_data(corpus):
    info = raw.read(corpus / "raw/exiv2/Canon-R6-pruned.CR3", "image/x-canon-cr3")
    assert info.meta["make"] == "Canon" and info.meta["offset_original"] == "+02:00"
    assert all(p.startswith(b"\xff\xd8") for p in info.previews)


@needs_exiftool
def test_exiftool_fallback_is_one_persistent_process(corpus):
    exiftool_reader.close()
    first = exiftool_reader.maker_dates(corpus / "exif/exifpy/Reconyx_HC500_Hyperfire.jpg")
    process = exiftool_reader._state["et"]._process  # noqa: SLF001 - the process is the point
    exiftool_reader.maker_dates(corpus / "exif/exiftool/CasioQVCI.jpg")
    exiftool_reader.raw_facts(corpus / "raw/exiv2/exiv2-canon-powershot-s40.crw")
    assert exiftool_reader._state["et"]._process is process and process.poll() is None  # noqa: SLF001
    assert first == {"MakerNotes:Reconyx:DateTimeOriginal": "2020:03:16 10:00:00"}


def test_inspect_on_every_raw_avchd_and_companion_sample_matches_exiftool(corpus):
    """The done-when check: `flask inspect`'s record for every raw, AVCHD and companion file
    in the corpus carries the camera's date and the real size ExifTool reads."""
    rows = [
        r for r in manifest_rows(corpus) if r["path"].startswith(("raw/", "companions/")) or r["path"].endswith(".mts")
    ]
    checked = 0
    for row in rows:
        record = analyze.analyze(corpus / row["path"], zone=ZONE).inspect_record()
        if row["MIMEType"] == "application/vnd.apple.photos":
            assert record["mime"] == row["MIMEType"] and record["timestamp"] is None
            continue
        local = row["Keys_CreationDate"] or row["DateTimeOriginal"]  # a phone video's own local time
        assert record["timestamp"][:19] == local[:19].replace(":", "-", 2).replace(" ", "T"), row["path"]
        if row["ImageWidth"]:
            size = {int(row["ImageWidth"]), int(row["ImageHeight"])}
            assert {record["width"], record["height"]} == size, row["path"]
        checked += 1
    assert checked >= 17


def test_raw_files_import_and_export_unconverted_under_their_own_extension(app, tmp_path, corpus):
    """A folder import and an export: the raw files are copied byte for byte, named by their
    capture time with their own extension, dates in an XMP sidecar beside them."""
    from app.models import File, db
    from app.pipeline import exporter, importer, jobs

    root = tmp_path / "card"
    root.mkdir()
    (root / "DSC_0001.NEF").write_bytes(raw_helpers.tiff_raw("NIKON CORPORATION", "2021:03:04 10:20:30"))
    (root / "IMG_0002.DNG").write_bytes(raw_helpers.dng("2019:06:15 14:30:00", "+02:00"))
    shutil.copy(corpus / "raw/exiv2/Canon-R6-pruned.CR3", root / "IMG_0003.CR3")
    shutil.copy(corpus / "video/exiftool/M2TS.mts", root / "00001.MTS")
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    rows = {f.original_name: f for f in db.session.execute(db.select(File)).scalars()}
    assert {n: (r.status, r.ext) for n, r in rows.items()} == {
        "DSC_0001.NEF": ("done", "nef"),
        "IMG_0002.DNG": ("done", "dng"),
        "IMG_0003.CR3": ("done", "cr3"),
        "00001.MTS": ("done", "mts"),
    }
    output = tmp_path / "archive"
    export = exporter.start_export(output, app.config["MEDIAPARSER"])
    jobs.run(export.id)
    written = sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file() and "." in p.name)
    for expected in ("2021/20210304_102030.nef", "2019/20190615_143000.dng", "2021/20210512_122121.cr3",
                     "2008/20081231_231624.mts"):  # fmt: skip
        assert expected in written, written
    assert (output / "2019/20190615_143000.dng").read_bytes() == (root / "IMG_0002.DNG").read_bytes()
    assert (output / "2021/20210512_122121.cr3").read_bytes() == (root / "IMG_0003.CR3").read_bytes()


def test_the_thumbnail_job_remakes_raw_thumbnails_from_the_preview(app, tmp_path):
    from app.models import File
    from app.pipeline import thumbnails_job

    path = tmp_path / "IMG_0002.DNG"
    path.write_bytes(raw_helpers.dng(orientation=6))
    row = File(path=str(path), sha256="ab" * 32, media_kind="image", mime="image/x-adobe-dng")
    key = thumbnails_job.make_thumbnails(row, tmp_path / "thumbs")
    from PIL import Image

    with Image.open(thumbnails.thumb_path(tmp_path / "thumbs", key, "l")) as picture:
        assert picture.size == (683, 1024)  # the 1024-pixel preview, turned upright
