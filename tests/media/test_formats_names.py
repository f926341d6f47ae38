"""Names and the files beside a picture: date-time names with any separator and two-digit
years, Nextcloud uploads, screenshots in many languages and their near-misses; Takeout
sidecars for long names; standalone XMP sidecars (darktable, digiKam, Lightroom); Apple's
.AAE edit files; dates only the maker notes hold."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from app.media import analyze, apple, exiftool_reader, filenames, probe, sidecars, timestamps
from tests.conftest import manifest_rows
from tests.time_helpers import make_exif, write_image, write_takeout

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

NAMES = [
    ("2016_01_30_11_49_15.jpg", "2016-01-30T11:49:15"),
    ("telegram_2020_01_30_09_57_18.jpg", "2020-01-30T09:57:18"),
    ("2018-04-12 19:24:49.gif", "2018-04-12T19:24:49"),
    ("2019.06.15 14.30.00.jpg", "2019-06-15T14:30:00"),
    ("22-04-06 15-21-03 2160.jpg", "2022-04-06T15:21:03"),  # Nextcloud: yy-MM-dd HH-mm-ss
    ("90-04-06 15-21-03 2160.jpg", "1990-04-06T15:21:03"),
    ("05-04-06 15-21-03 2160.jpg", "2005-04-06T15:21:03"),
    ("2019-06-15 14.30.00 (1).jpg", "2019-06-15T14:30:00"),  # Dropbox camera upload
    ("Screenshot 2019_05_21 at 10.45.52.png", "2019-05-21T10:45:52"),
    ("Screenshot 2023-06-15 at 2.30.00\u202fPM.png", "2023-06-15T14:30:00"),
    ("Bildschirmfoto 2019-06-15 um 14.30.00.png", "2019-06-15T14:30:00"),
    ("Capture d’écran 2019-06-15 à 14.30.00.png", "2019-06-15T14:30:00"),
    ("Captura de pantalla 2019-06-15 a las 14.30.00.png", "2019-06-15T14:30:00"),
    ("Schermata 2019-06-15 alle 14.30.00.png", "2019-06-15T14:30:00"),
    ("Schermafbeelding 2019-06-15 om 14.30.00.png", "2019-06-15T14:30:00"),
    ("Skärmavbild 2019-06-15 kl. 14.30.00.png", "2019-06-15T14:30:00"),
    ("Zrzut ekranu 2019-06-15 o 14.30.00.png", "2019-06-15T14:30:00"),
    ("Captura de Tela 2019-06-15 às 14.30.00.png", "2019-06-15T14:30:00"),
    ("Снимок экрана 2019-06-15 в 14.30.00.png", "2019-06-15T14:30:00"),
    ("スクリーンショット 2019-06-15 14.30.00.png", "2019-06-15T14:30:00"),
]

NEAR_MISSES = [
    "22-04-06.jpg",  # dd-mm-yy or yy-mm-dd? no time to make it unambiguous
    "88-04-06 15-21-03 2160.jpg",  # 1988 or 2088: neither plausible
    "22-04-06 66-22-03 2160.jpg",  # hour 66
    "wallpaper 2160.jpg",  # a size
    "1920x1080.jpg",
    "3840 x 2160.png",
    "IMG_1234.jpg",
    "DSC_0042 (2).JPG",
    "0170 1234567.jpg",  # a phone number
    "+49 (0)30 1234 5678.jpg",
    "Scan 12 34 56.jpg",
    "2019 15 06 14 30 00.jpg",  # month 15
]


@pytest.mark.parametrize(("name", "expected"), NAMES, ids=[n for n, _ in NAMES])
def test_date_time_names_with_any_separator(name, expected):
    found = filenames.match(name, NOW)
    assert found is not None and found.precision == "second", name
    assert found.value.isoformat() == expected


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_misses_give_no_time(name):
    found = filenames.match(name, NOW)
    assert found is None or found.precision == "day", f"{name}: {found.pattern.name} {found.value}"


def test_nextcloud_upload_folder_and_name_together():
    found = timestamps.collect(name="22-04-06 15-21-03 2160.jpg", relative_dir="nextcloud/2022/04", now=NOW)
    by_source = {c.source: c for c in found}
    assert by_source["filename:nextcloud"].value == datetime(2022, 4, 6, 15, 21, 3)
    assert by_source["folder"].precision == "month"
    from app.media import confidence

    choice = confidence.choose(found, BERLIN, NOW)
    assert choice.iso() == "2022-04-06T15:21:03" and choice.source == "filename:nextcloud"


# --- Takeout -------------------------------------------------------------------------------------


def test_takeout_long_name_with_its_own_number_and_a_cut_sidecar(tmp_path):
    name = "Urlaub in Knaufspesch in der Schneifel (38).JPG"
    write_image(tmp_path / name)
    write_takeout(tmp_path, "Urlaub in Knaufspesch in der Schneifel (38).JP.json", name, taken=1599078832)
    found = sidecars.find_sidecar(tmp_path, name)
    assert found is not None and found.name == "Urlaub in Knaufspesch in der Schneifel (38).JP.json"
    # the number is Takeout's own duplicate counter only without the space
    write_image(tmp_path / "IMG_1234(1).jpg")
    write_takeout(tmp_path, "IMG_1234.jpg(1).json", "IMG_1234.jpg", taken=1599078832)
    assert sidecars.find_sidecar(tmp_path, "IMG_1234(1).jpg").name == "IMG_1234.jpg(1).json"


def test_takeout_long_name_found_by_its_title_when_cut_elsewhere(tmp_path):
    name = "A very long holiday picture name from a Windows copy (38).jpg"
    write_image(tmp_path / name)
    write_takeout(tmp_path, name[:40] + ".json", name, taken=1599078832)
    assert sidecars.find_sidecar(tmp_path, name).name == name[:40] + ".json"


# --- standalone XMP sidecars ---------------------------------------------------------------------

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:darktable="http://darktable.sf.net/"
    exif:DateTimeOriginal="2018:09:02 17:45:12.00" xmp:Rating="3" darktable:xmp_version="5">
   <dc:subject><rdf:Bag><rdf:li>Beach</rdf:li><rdf:li>Oma</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""
DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    photoshop:DateCreated="2015-05-01T10:11:12+02:00" xmp:CreateDate="2015-05-01T10:11:12+02:00">
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Anna</rdf:li><rdf:li>Places/Rome</rdf:li></rdf:Seq></digiKam:TagsList>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>People|Anna</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_darktable_sidecar_dates_and_tags_a_raw_file(tmp_path):
    from tests import raw_helpers

    (tmp_path / "IMG_1.CR2").write_bytes(raw_helpers.tiff_raw("Canon", dto="2018:09:02 17:45:12"))
    (tmp_path / "IMG_1.CR2.xmp").write_text(DARKTABLE, encoding="utf-8")
    result = analyze.analyze(tmp_path / "IMG_1.CR2", zone=BERLIN)
    sidecar = next(c for c in result.candidates if c.source == "xmp-sidecar:DateTimeOriginal")
    assert sidecar.value == datetime(2018, 9, 2, 17, 45, 12) and sidecar.note == "from IMG_1.CR2.xmp"
    assert result.tags == {"Beach": "xmp", "Oma": "xmp"}
    assert result.choice.source == "exif:DateTimeOriginal" and result.choice.confidence == "high"  # they agree


def test_digikam_lightroom_sidecar_dates_a_picture_without_exif(tmp_path):
    write_image(tmp_path / "scan_004.jpg")
    (tmp_path / "scan_004.XMP").write_text(DIGIKAM, encoding="utf-8")
    result = analyze.analyze(tmp_path / "scan_004.jpg", zone=BERLIN)
    assert result.choice.iso() == "2015-05-01T10:11:12+02:00"
    assert result.choice.source.startswith("xmp-sidecar:") and result.choice.confidence == "medium"
    assert set(result.tags) == {"Anna", "Rome"}
    meta = analyze.read_time_facts(tmp_path / "scan_004.jpg", "image/jpeg")  # re-reading finds it too
    assert meta["xmp_sidecar"]["file"] == "scan_004.XMP"


def test_sidecar_files_are_recognised_not_unknown(tmp_path, corpus):
    (tmp_path / "IMG_1.CR2.xmp").write_text(DARKTABLE, encoding="utf-8")
    xmp = analyze.analyze(tmp_path / "IMG_1.CR2.xmp", zone=BERLIN)
    assert (xmp.mime, xmp.kind, xmp.status) == ("application/rdf+xml", "sidecar", "skipped")
    aae = analyze.analyze(corpus / "companions/osxphotos/IMG_1853.AAE", zone=BERLIN)
    assert (aae.mime, aae.kind, aae.status, aae.ext) == ("application/vnd.apple.photos", "sidecar", "skipped", "aae")
    assert "Apple Photos edit" in aae.error
    assert probe.sniff(b'<?xml version="1.0"?><plist version="1.0"><dict><key>title</key></dict>') is None


# --- maker-note dates -----------------------------------------------------------------------------

MAKER_ONLY = [
    "exif/exifpy/Reconyx_HC500_Hyperfire.jpg",  # trail camera
    "exif/exiftool/CasioQVCI.jpg",
    "exif/exifpy/exif-org/olympus-d320l.jpg",  # Olympus PictureInfo segment
    "exif/exifpy/exif-org/sony-powershota5.jpg",  # Canon CIFF in a JPEG
]


@pytest.mark.skipif(not exiftool_reader.available(), reason="exiftool is not installed")
def test_dates_only_the_maker_notes_hold_are_used_with_lower_trust(corpus):
    rows = {r["path"]: r for r in manifest_rows(corpus)}
    for rel in MAKER_ONLY:
        result = analyze.analyze(corpus / rel, zone=BERLIN)
        expected = rows[rel]["DateTimeOriginal"][:19].replace(":", "-", 2).replace(" ", "T")
        assert result.choice.iso() == expected, rel
        assert result.choice.source == "makernote:DateTimeOriginal" and result.choice.confidence == "medium", rel
    flir = analyze.analyze(corpus / "exif/exiftool/FLIR.jpg", zone=BERLIN)
    assert flir.choice.source == "exif:DateTimeOriginal"  # EXIF is there: exiftool is not asked


def test_stripped_copies_are_not_sent_to_exiftool(tmp_path):
    path = write_image(tmp_path / "IMG-20190615-WA0001.jpg")  # what a messaging app leaves
    assert not exiftool_reader.worth_asking(path.read_bytes(), "image/jpeg", {})
    with_exif = write_image(tmp_path / "camera.jpg", make_exif(make="RECONYX"))
    assert exiftool_reader.worth_asking(with_exif.read_bytes(), "image/jpeg", {}) == exiftool_reader.available()


# --- Apple's pairing markers and edit files --------------------------------------------------------


def test_live_photo_halves_carry_the_same_content_identifier(corpus):
    for still, clip, identifier in [
        ("companions/lychee/train.jpg", "companions/lychee/train.mov", "E905E6C6-C747-4805-942F-9904A0281F02"),
        ("companions/osxphotos/IMG_3582.HEIC", "companions/osxphotos/IMG_3582.mov", "602FEBB7-6B59-4799-96E6-9C8484D873C7"),
    ]:  # fmt: skip
        assert analyze.analyze(corpus / still, zone=BERLIN).meta["content_identifier"] == identifier
        assert analyze.analyze(corpus / clip, zone=BERLIN).video["content_identifier"] == identifier
    edited = analyze.analyze(corpus / "companions/osxphotos/IMG_E1853.heic", zone=BERLIN)
    assert edited.meta["content_identifier"] == "DDFE07E3-65A7-4329-896F-41C370FF4FCD"  # a new one: pairs by name
    assert "content_identifier" not in analyze.analyze(corpus / "exif/exifpy/Canon_40D.jpg", zone=BERLIN).meta


def _apple_maker_note(identifier: str) -> bytes:
    """Apple's maker note: its header, then a big-endian IFD (offsets from the note's start)
    with the content identifier as tag 0x0011."""
    text = identifier.encode() + b"\x00"
    entry = struct.pack(">HHII", apple.CONTENT_ID_TAG, 2, len(text), 14 + 2 + 12 + 4)
    return apple.MAKER_NOTE + b"\x00\x01MM" + struct.pack(">H", 1) + entry + b"\x00" * 4 + text


def test_the_content_identifier_is_read_from_the_exif_segment_not_the_picture_data():
    identifier = "0C9B7E0A-2E2B-4B5E-9C1D-5A7F3C2B1A00"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x927C] = _apple_maker_note(identifier)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(out, "JPEG", exif=exif)
    assert apple.content_identifier(out.getvalue()) == identifier
    plain = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(plain, "JPEG")
    # the same bytes after the picture data (a trailer) are pixels' neighbours, not metadata
    assert apple.content_identifier(plain.getvalue() + _apple_maker_note(identifier)) is None


def test_an_aae_file_says_which_app_edited_and_when(corpus):
    aae = analyze.analyze(corpus / "companions/osxphotos/IMG_1853.AAE", zone=BERLIN)
    assert aae.meta["aae"] == {
        "editor": "com.apple.Photos",
        "format": "com.apple.photo",
        "format_version": "1.4",
        "edited": "2024-06-01T22:19:30",
    }
    assert aae.candidates == []  # the edit's time is not the capture time
