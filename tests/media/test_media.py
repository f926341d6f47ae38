"""media/: type sniffing, hashing, reduced decode, thumbnails and the per-file analysis,
on generated files and on the real corpus."""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from app.media import analyze, hashing, probe, tags, thumbnails
from tests.conftest import manifest_rows

ZONE = ZoneInfo("Europe/Berlin")


def _jpeg(path: Path, size=(400, 300), colour="red", orientation: int | None = None, **exif_ifd) -> Path:
    image = Image.new("RGB", size, colour)
    # a brighter left half: makes orientation visible in the pixels
    image.paste((255, 255, 255), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    for tag, value in exif_ifd.items():
        sub[{"DateTimeOriginal": 0x9003, "OffsetTimeOriginal": 0x9011}[tag]] = value
    image.save(path, "JPEG", exif=exif, quality=90)
    return path


# --- probe -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
        (b"GIF89a" + b"\0" * 20, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\0\0\0\0AVI LIST", "video/x-msvideo"),
        (b"II*\0" + b"\0" * 20, "image/tiff"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "image/heic"),
        (b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic", "image/heif"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf", "image/avif"),
        (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "video/quicktime"),
        (b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x01\0\0\0\0\0\0\x1fB\x82\x88matroska", "video/x-matroska"),
    ],
)
def test_sniff_known_signatures(head, mime):
    assert probe.sniff(head).mime == mime


@pytest.mark.parametrize(
    "head", [b"", b"hello world, not media", b"%PDF-1.7\n", b"PK\x03\x04zipfile", b"RIFF\0\0\0\0WAVEfmt "]
)
def test_sniff_refuses_non_media(head):
    assert probe.sniff(head) is None


def test_sniff_agrees_with_exiftool_on_the_corpus(corpus):
    """The real type from the leading bytes matches what ExifTool reports (manifest.csv)."""
    same_kind = {("image/heic", "image/heif"), ("video/x-matroska", "application/x-matroska")}
    rows = manifest_rows(corpus)
    mismatches = []
    for row in rows:
        found = probe.sniff_file(corpus / row["path"])
        expected = row["MIMEType"] or None
        got = found.mime if found else None
        if got != expected and (got, expected) not in same_kind:
            mismatches.append((row["path"], expected, got))
    print(f"type sniffing agrees with ExifTool on {len(rows) - len(mismatches)}/{len(rows)} corpus files")
    assert not mismatches


# --- hashing -----------------------------------------------------------------------------


def test_signed_hash_round_trip():
    for value in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        signed = hashing.to_signed64(value)
        assert -(1 << 63) <= signed < (1 << 63)
        assert hashing.to_unsigned64(signed) == value
    assert hashing.hash_hex(-1) == "ffffffffffffffff"
    assert hashing.hamming(hashing.to_signed64(0b1011), 0) == 3


def test_sha256_streaming_matches_bytes(tmp_path):
    data = bytes(range(256)) * 9000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert hashing.sha256_file(path) == hashing.sha256_bytes(data)


def test_perceptual_hash_survives_resize_and_recompression(corpus):
    original = Image.open(corpus / "natural/skimage/chelsea.png").convert("RGB")
    smaller = original.resize((original.width // 2, original.height // 2))
    buffer = io.BytesIO()
    smaller.save(buffer, "JPEG", quality=60)
    recompressed = Image.open(buffer)
    p1, d1 = hashing.perceptual_hashes(original)
    p2, d2 = hashing.perceptual_hashes(recompressed)
    assert hashing.hamming(p1, p2) <= 6
    other, _ = hashing.perceptual_hashes(Image.open(corpus / "natural/skimage/coffee.png").convert("RGB"))
    assert hashing.hamming(p1, other) > 16


# --- decode and thumbnails -----------------------------------------------------------------


def test_reduced_decode_uses_draft_and_turns_upright(tmp_path):
    path = _jpeg(tmp_path / "big.jpg", size=(4000, 3000), orientation=6)
    with Image.open(path) as image:
        upright = thumbnails.decode_reduced(image)
    assert max(upright.size) <= thumbnails.LARGE
    assert upright.height > upright.width  # orientation 6: stored landscape, shown portrait


def test_transparent_png_is_flattened_on_white(tmp_path):
    image = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    path = tmp_path / "t.png"
    image.save(path)
    with Image.open(path) as opened:
        flat = thumbnails.decode_reduced(opened)
    assert flat.mode == "RGB" and flat.getpixel((10, 10)) == (255, 255, 255)


def test_thumbnails_are_sharded_and_upright_and_a_jpeg_s_detail_preview_waits_for_a_view(tmp_path):
    path = _jpeg(tmp_path / "IMG_1.jpg", size=(2000, 1500), orientation=6)
    result = analyze.analyze(path, zone=ZONE, thumb_root=tmp_path / "thumbs")
    assert result.status == "done", result.error
    assert result.thumb_key == f"{result.sha256[:2]}/{result.sha256}"  # 256 folders
    small = Image.open(thumbnails.thumb_path(tmp_path / "thumbs", result.thumb_key, "s"))
    assert thumbnails.SMALL <= max(small.size) <= thumbnails.SMALL * thumbnails.SLACK and small.height > small.width
    assert not thumbnails.thumb_path(tmp_path / "thumbs", result.thumb_key, "l").exists()
    assert (result.width, result.height) == (1500, 2000)
    # the bright half was on the left of the stored pixels; turned 90° clockwise it is on top
    assert sum(small.getpixel((small.width // 2, 5))) > sum(small.getpixel((small.width // 2, small.height - 5)))
    # the detail preview, when somebody opens the photo, from the same bytes: upright too
    large = thumbnails.large_from_bytes(path.read_bytes(), max_bytes=None)
    assert large.height > large.width and max(large.size) <= thumbnails.LARGE
    assert sum(large.getpixel((large.width // 2, 5))) > sum(large.getpixel((large.width // 2, large.height - 5)))


def test_a_png_gets_both_sizes_during_the_import(tmp_path):
    path = tmp_path / "drawing.png"
    Image.new("RGB", (2000, 1500), (200, 30, 30)).save(path)
    result = analyze.analyze(path, zone=ZONE, thumb_root=tmp_path / "thumbs")
    assert result.status == "done", result.error
    with Image.open(thumbnails.thumb_path(tmp_path / "thumbs", result.thumb_key, "l")) as large:
        assert large.size == (thumbnails.LARGE, 768)
    with Image.open(thumbnails.thumb_path(tmp_path / "thumbs", result.thumb_key, "s")) as small:
        assert thumbnails.SMALL <= small.width <= thumbnails.SMALL * thumbnails.SLACK


def test_the_grid_thumbnail_of_a_12_megapixel_jpeg_comes_from_the_eighth_scale_decode(tmp_path):
    path = _jpeg(tmp_path / "big.jpg", size=(4032, 3024))
    with Image.open(path) as image:
        picture = thumbnails.decode_reduced(image, thumbnails.import_size("image/jpeg", image.size))
        assert image.size == (504, 378)  # what libjpeg decoded
    assert thumbnails.small_version(picture).size == (thumbnails.SMALL, 240)
    # smaller JPEGs, and every other kind of picture, as before: at the detail preview's size
    assert thumbnails.import_size("image/jpeg", (3000, 2000)) == thumbnails.LARGE
    assert thumbnails.import_size("image/heic", (4032, 3024)) == thumbnails.LARGE
    assert thumbnails.import_size("image/jpeg", (12000, 9000)) == thumbnails.LARGE  # 1/8 is 1500 px


# --- analysis of one file ------------------------------------------------------------------


def test_analysis_of_a_camera_jpeg(tmp_path):
    path = _jpeg(tmp_path / "photo.jpg", DateTimeOriginal="2019:06:15 14:30:00", OffsetTimeOriginal="+02:00")
    result = analyze.analyze(path, zone=ZONE)
    record = result.inspect_record()
    assert record["mime"] == "image/jpeg" and (record["width"], record["height"]) == (400, 300)
    assert len(record["phash"]) == 16 and len(record["sha256"]) == 64
    assert record["timestamp"] == "2019-06-15T14:30:00+02:00"
    assert record["source"] == "exif:DateTimeOriginal"
    assert record["error"] is None


@pytest.mark.parametrize(
    ("make", "expected_status", "message_part"),
    [
        (lambda p: p.write_bytes(b""), "error", "Empty file"),
        (lambda p: p.write_text("just some notes"), "skipped", "Not a photo or video"),
        (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100), "error", "damaged"),
    ],
)
def test_bad_files_get_a_clear_reason(tmp_path, make, expected_status, message_part):
    path = tmp_path / "x.jpg"
    make(path)
    result = analyze.analyze(path, zone=ZONE)
    assert result.status == expected_status
    assert message_part in result.error


def test_truncated_jpeg_is_an_error_not_a_crash(tmp_path):
    path = _jpeg(tmp_path / "whole.jpg", size=(800, 600))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = analyze.analyze(cut, zone=ZONE)
    assert result.status == "error" and "incomplete" in result.error
    assert result.sha256 is not None  # what could be learned is kept


def test_wrong_extension_is_ignored(tmp_path):
    path = tmp_path / "actually_png.jpg"
    Image.new("RGB", (10, 10), "blue").save(path, "PNG")
    result = analyze.analyze(path, zone=ZONE)
    assert (result.mime, result.ext) == ("image/png", "png")


def test_unreadable_file_is_an_error(tmp_path, monkeypatch):
    path = _jpeg(tmp_path / "secret.jpg")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # (tests may run as root, who reads everything: simulate the refusal instead)
    monkeypatch.setattr(analyze, "open", refuse, raising=False)
    result = analyze.analyze(path, zone=ZONE)
    assert result.status == "error" and "Permission denied" in result.error


def test_known_sha_is_not_decoded_again(tmp_path):
    path = _jpeg(tmp_path / "a.jpg")
    first = analyze.analyze(path, zone=ZONE)
    again = analyze.analyze(path, zone=ZONE, known_sha256={first.sha256})
    assert again.status == "duplicate" and again.phash is None and again.sha256 == first.sha256


def test_whole_corpus_analyzes_without_crashing(corpus, tmp_path):
    """Every corpus file, bad ones included, gives a result; decodable images get the size
    ExifTool/Pillow report and a perceptual hash; undecodable ones a readable error."""
    rows = {r["path"]: r for r in manifest_rows(corpus)}
    errors = {}
    for rel, row in rows.items():
        result = analyze.analyze(corpus / rel, zone=ZONE, thumb_root=tmp_path / "t")
        if result.kind == "sidecar":  # an edit or metadata file that belongs to a picture
            assert result.status == "skipped" and result.error, rel
            continue
        assert result.status in ("done", "error"), (rel, result.status, result.error)
        if result.mime in probe.RAW_MIMES:
            # Raw files are read by their own readers, not by Pillow: the picture's size, as
            # ExifTool states it (tests/media/test_formats_raw.py checks them one by one).
            assert result.status == "done", (rel, result.error)
            if row["ImageWidth"]:
                assert {result.width, result.height} == {int(row["ImageWidth"]), int(row["ImageHeight"])}, rel
            continue
        if row["pillow_decode"].startswith("ok:"):
            w, h = map(int, row["pillow_decode"].split(":")[2].split("x"))
            assert result.status == "done", (rel, result.error)
            assert result.phash is not None
            # Pillow's size, turned upright when the EXIF orientation says so
            assert {result.width, result.height} == {w, h}, rel
        elif row["pillow_decode"].startswith("error"):
            assert result.status == "error" and result.error, rel
            errors[rel] = result.error
    assert "bad/pillow/decompression_bomb.gif" in errors
    print(f"{len(rows)} corpus files analyzed; {len(errors)} undecodable ones reported with a reason")


def test_heic_rotation_is_applied_once(corpus):
    """pillow-heif applies the HEIF rotation; the EXIF Orientation must not turn it again."""
    result = analyze.analyze(corpus / "heic/pillow_heif/arrow.heic", zone=ZONE)
    assert (result.width, result.height) == (3024, 4032)
    assert result.orientation == 6  # what the camera wrote, for display


def test_orientation_variants_hash_alike(corpus):
    hashes = [
        analyze.analyze(p, zone=ZONE).phash for p in sorted((corpus / "orientation/exifpy").glob("landscape_*.jpg"))
    ]
    assert len(hashes) == 8
    assert max(hashing.hamming(hashes[0], h) for h in hashes) <= 8


def test_video_gets_type_size_time_and_thumbnail(corpus, tmp_path):
    result = analyze.analyze(corpus / "video/metadata-extractor-dotnet/with-gps.mov", zone=ZONE, thumb_root=tmp_path)
    assert result.kind == "video" and result.status == "done"
    assert (result.width, result.height) == (320, 568)  # the 90° track matrix applied
    assert any(c.source.startswith("video:") for c in result.candidates)
    if analyze.video.have_ffmpeg():
        assert result.thumb_key and thumbnails.thumb_path(tmp_path, result.thumb_key, "s").exists()


# --- tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "folder", "expected"),
    [
        ("beach {Holiday, Anna}.jpg", "", {"Holiday": "filename", "Anna": "filename"}),
        (
            "IMG_1.jpg",
            "Family/2019-06 Summer at the lake/DCIM/100APPLE",
            {"Family": "folder", "Summer at the lake": "folder"},
        ),
        ("IMG_1.jpg", "2019/06/15", {}),
        ("IMG_1.jpg", "WhatsApp/Media/WhatsApp Images", {}),
        ("IMG_1.jpg", "Phone backup 2020/DCIM/Camera", {}),
        ("IMG_1.jpg", "Old laptop export/Pictures/2015", {}),
        ("IMG_1.jpg", "Camera Roll 2008", {}),
        ("IMG_1.jpg", "old phone/Sent", {}),
        ("IMG_1.jpg", "Backup (2)/Google Photos/Takeout", {}),
        ("IMG_1.jpg", "Oma & Opa/Weihnachten 2018", {"Oma & Opa": "folder", "Weihnachten 2018": "folder"}),
        ("{holiday} IMG_1.jpg", "Holiday", {"holiday": "filename"}),  # one tag whatever its case
    ],
)
def test_tags_from_names_and_folders(name, folder, expected):
    assert tags.tags_for(name, folder) == expected
