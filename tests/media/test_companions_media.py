"""Companion files, the pure parts: motion photos found in the bytes (real Pixel, Samsung and
HEIC samples, and a Samsung trailer built here), what names say about edits and sidecars,
which files pair up (the rules, on made-up facts), one name suffix for a whole set, and a
person's turn written into a JPEG's orientation by the pure-Python writer."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta

from PIL import Image

from app.media import companion_names, motion, naming
from app.media.metadata_writer import PythonWriter, Stamp, check, read_back
from app.pipeline.companions import Member, plan
from app.vocab import CompanionRole, FileStatus

MOTION_SAMPLES = {  # corpus file -> (mime, how the video is declared, its offset, its length)
    "companions/androidx-media/pixel-motion-photo-shortened.jpg": ("image/jpeg", "google", 131582, 8730),
    "companions/androidx-media/ss-motion-photo-shortened.jpg": ("image/jpeg", "microvideo", 20345, 2582),
    "companions/ente/motionphoto.heic": ("image/heic", "mpvd", 1455411, 2193658),  # exiftool: 2193658 bytes
}


def test_motion_photos_are_found_where_their_files_say(corpus):
    for name, (mime, kind, offset, length) in MOTION_SAMPLES.items():
        found = motion.detect((corpus / name).read_bytes(), mime)
        assert (found["kind"], found["offset"], found["length"]) == (kind, offset, length), name
    for still in ("companions/lychee/train.jpg", "companions/osxphotos/IMG_1853.HEIC"):
        assert motion.detect((corpus / still).read_bytes(), "image/jpeg") is None, still


def test_a_samsung_trailer_points_at_its_video():
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(40)
    name = motion.SAMSUNG_VIDEO
    block = struct.pack("<HHI", 0, 0x0A30, len(name)) + name + video
    picture = b"\xff\xd8\xff\xd9"
    sefh = len(picture) + len(block)
    directory = b"SEFH" + struct.pack("<II", 107, 1) + struct.pack("<HHII", 0, 0x0A30, sefh - len(picture), len(block))
    data = picture + block + directory + struct.pack("<I", len(directory)) + b"SEFT"
    found = motion.detect(data, "image/jpeg")
    assert found["kind"] == "samsung" and data[found["offset"] : found["offset"] + found["length"]] == video
    assert motion.detect(picture + b"SEFT", "image/jpeg") is None  # a broken trailer is no video


def test_what_names_say():
    key = companion_names.name_key
    assert key("IMG_E1234.heic") == companion_names.NameKey("img_1234", "apple")
    assert key("PXL_20230101_101010123-edited.jpg") == companion_names.NameKey("pxl_20230101_101010123", "google")
    assert key("IMG_1234(1).jpg").edit == "copy" and key("IMG_1234 (2).JPG").stem == "img_1234"
    assert key("IMG_1234.HEIC") == companion_names.NameKey("img_1234", None)
    assert key("IMG_EXTRA.jpg").edit is None  # only Apple's numbered names
    target = companion_names.sidecar_target
    assert target("IMG_1.CR2.xmp") == companion_names.SidecarTarget("img_1.cr2", "img_1.cr2")
    assert target("IMG_1.xmp") == companion_names.SidecarTarget(None, "img_1")
    assert target("IMG_O1853.AAE").stem == "img_1853"


T = datetime(2021, 4, 10, 10, 44, tzinfo=UTC)


def member(i, name, kind="image", mime="image/jpeg", at=T, **facts) -> Member:
    values = dict(
        id=i, status=FileStatus.DONE, name=name, folder="phone", mime=mime, kind=kind, taken_at=at,
        confidence="high", make="Apple", model="iPhone 6s", duration=None, discarded=False, companion_of=None,
        role=None, job_id=1, group_id=None, content_id=None, motion=False, content_sha=None,
    )  # fmt: skip
    values.update(facts)
    return Member(**values)


def test_which_files_pair_up():
    video = dict(kind="video", mime="video/quicktime", duration=1.5)
    files = [
        member(1, "IMG_1.JPG", content_id="A"),
        member(2, "clip.MOV", content_id="A", at=T + timedelta(seconds=9), **video),  # the identifier decides
        member(3, "IMG_2.JPG"),
        member(4, "IMG_2.MOV", at=T + timedelta(seconds=1), **video),  # no identifier: name and time
        member(5, "IMG_3.JPG", content_id="B"),
        member(6, "IMG_3.MOV", content_id="C", **video),  # identifiers differ: not a pair
        member(7, "IMG_4.JPG"),
        member(8, "IMG_4.MOV", duration=60.0, **{k: v for k, v in video.items() if k != "duration"}),  # a real video
        member(9, "DSC_1.JPG", make="Nikon", model="D7000"),
        member(10, "DSC_1.NEF", mime="image/x-nikon-nef", make="NIKON", model="D7000"),
        member(11, "DSC_2.JPG", make="Nikon", model="D7000"),
        member(12, "DSC_2.NEF", mime="image/x-nikon-nef", make="Nikon", model="D750"),  # another camera
        member(13, "IMG_0005.HEIC", mime="image/heic"),
        member(14, "IMG_E0005.heic", mime="image/heic", at=None, confidence="none"),  # undated edit, same folder
        member(15, "image.jpg", make=None, model=None, confidence="low"),
        member(16, "image(1).jpg", make=None, model=None, confidence="low"),  # two downloads: not an edit
        member(17, "IMG_6.JPG", discarded=True),
        member(18, "IMG_6.MOV", **video),  # a person left the still out, not the video
        member(19, "IMG_0005.AAE", kind="sidecar", mime="application/vnd.apple.photos", status=FileStatus.SKIPPED),
        member(20, "DSC_1.NEF.xmp", kind="sidecar", mime="application/rdf+xml", status=FileStatus.SKIPPED),
        member(21, "PXL_1.jpg", motion=True),
        member(22, "PXL_2.jpg", make="Google", model="Pixel 7"),
        member(23, "PXL_2-edited.jpg", make="Google", model="Pixel 7", at=T + timedelta(seconds=1)),  # Google's edit
        member(24, "DSC_3.JPG", make="Sony", model="A7"),
        member(25, "DSC_3(1).JPG", make="Sony", model="A7"),  # Takeout's edit copy: same camera, same second
        member(26, "IMG_8.JPG"),
        member(27, "IMG_8.xmp", kind="sidecar", mime="application/rdf+xml", status=FileStatus.SKIPPED),  # Lightroom's
    ]
    wanted = plan(files)
    assert wanted == {
        1: (None, CompanionRole.STILL),
        2: (1, CompanionRole.VIDEO),
        3: (None, CompanionRole.STILL),
        4: (3, CompanionRole.VIDEO),
        9: (None, CompanionRole.JPEG),
        10: (9, CompanionRole.RAW),
        13: (None, CompanionRole.ORIGINAL),
        14: (13, CompanionRole.EDIT),
        19: (13, CompanionRole.SIDECAR),
        20: (9, CompanionRole.SIDECAR),  # darktable's sidecar of the RAW joins the RAW's set
        21: (None, CompanionRole.MOTION),
        22: (None, CompanionRole.ORIGINAL),
        23: (22, CompanionRole.EDIT),
        24: (None, CompanionRole.ORIGINAL),
        25: (24, CompanionRole.EDIT),
        26: (None, CompanionRole.ORIGINAL),
        27: (26, CompanionRole.SIDECAR),
    }


def test_a_set_takes_one_suffix_for_all_its_files():
    when = datetime(2019, 8, 3, 14, 15)

    def request(key, ext, sha, companions=()):
        return naming.NameRequest(key, ext, when, "second", f"{key}.{ext}", sha, companions)

    live = request("still", "heic", "a", (("video", ".mov"), ("aae", ".aae")))
    other = request("other", "mov", "0")  # another video of the same second
    taken = {"2019/20190803_141500.aae"}  # in the archive already, written by someone else: the set moves on
    names = naming.assign([other, live], lambda p: p in taken)
    assert names["other"] == "2019/20190803_141500.mov"
    assert {k: names[k] for k in ("still", "video", "aae")} == {
        "still": "2019/20190803_141500_1.heic",
        "video": "2019/20190803_141500_1.mov",
        "aae": "2019/20190803_141500_1.aae",
    }
    assert naming.companion_path("2019/20190803_141500_1.heic", "-edited.heic") == "2019/20190803_141500_1-edited.heic"


def test_the_python_writer_turns_a_jpeg_copy(tmp_path):
    def jpeg(orientation=None) -> bytes:
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        out = io.BytesIO()
        Image.new("RGB", (40, 30), "teal").save(out, "JPEG", exif=exif.tobytes())
        return out.getvalue()

    writer = PythonWriter()
    for original, stamp in (
        (jpeg(), Stamp(orientation=6)),
        (jpeg(3), Stamp(local=T.replace(tzinfo=None), orientation=8)),
    ):
        path = tmp_path / f"turned-{stamp.orientation}.jpg"
        path.write_bytes(writer.render(original, stamp))
        with Image.open(path) as image:
            assert image.getexif()[0x0112] == stamp.orientation
        assert check(stamp, read_back(path)) == []
