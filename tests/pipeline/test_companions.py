"""Companions stay together, on real files: a Live Photo pair, a motion photo and a RAW + JPEG
pair show as one tile each, are never duplicates of each other, and reach the archive under one
base name each (read back with exiftool); a still imported after its video finds it; one date
decision, a leave-out or a duplicate verdict applies to the whole set, and one undo reverts it;
a collision suffix moves a whole set, also when a new part finds its name taken."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from app.media import motion, raw, thumbnails
from app.models import DuplicateGroup, File, UserDecision, db
from app.pipeline import companions, counts, decisions, duplicate_review, duplicates, importer, jobs, timefix
from app.vocab import CompanionRole, FileStatus
from tests.export_helpers import exiftool, needs_exiftool, photo, run_export, tree, write
from tests.raw_helpers import dng

pytestmark = needs_exiftool

CR2 = "raw/hachoir/canon.raw.cr2"  # Canon EOS REBEL T5i, 2015:11:15 13:35:29 (manifest.csv)


def jpeg_beside_raw(raw_path: Path, dest: Path) -> None:
    """The JPEG the camera would have saved with the RAW: its own preview, the same time and camera
    (the corpus has no real pair small enough). Unpaired, the two would be near duplicates."""
    info = raw.read(raw_path, "image/x-canon-cr2", raw_path.read_bytes())
    picture = thumbnails.decode_preview(raw.preview_order(info.previews), None)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS REBEL T5i"
    exif.get_ifd(0x8769)[0x9003] = "2015:11:15 13:35:29"
    picture.resize((600, 400)).save(dest, "JPEG", quality=85, exif=exif)


def import_folder(root: Path) -> None:
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"


def by_name(name: str) -> File:
    return db.session.execute(select(File).where(File.original_name == name)).scalar_one()


def read_all(root: Path, *tags: str) -> dict[str, dict]:
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-n", "-r", "-x", ".mediaparser", *tags, str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {Path(r["SourceFile"]).relative_to(root).as_posix(): r for r in json.loads(out.stdout)}


def test_a_live_photo_a_motion_photo_and_raw_plus_jpeg_travel_as_one(app, client, corpus, tmp_path, monkeypatch):
    root = tmp_path / "card"
    root.mkdir()
    for name in ("IMG_3582.HEIC", "IMG_3582.mov"):
        shutil.copyfile(corpus / "companions/osxphotos" / name, root / name)
    shutil.copyfile(corpus / "companions/androidx-media/pixel-motion-photo-shortened.jpg", root / "PXL_motion.jpg")
    shutil.copyfile(corpus / CR2, root / "IMG_0042.CR2")
    jpeg_beside_raw(root / "IMG_0042.CR2", root / "IMG_0042.JPG")
    import_folder(root)

    # one tile each, with the badge that says what it is
    html = client.get("/photos").get_data(as_text=True)
    tiles = {int(i) for i in re.findall(r'class="tile" data-id="(\d+)"', html)}
    assert tiles == {by_name(n).id for n in ("IMG_3582.HEIC", "PXL_motion.jpg", "IMG_0042.JPG")}
    for badge in (">Live Photo<", ">Motion photo<", ">RAW + JPEG<"):
        assert badge in html
    assert by_name("IMG_3582.mov").companion_of == by_name("IMG_3582.HEIC").id
    assert (by_name("IMG_0042.CR2").status, by_name("IMG_0042.CR2").companion_role) == ("companion", "raw")
    # three items, whether the counts come from SQLite's triggers or from `file` (PostgreSQL)
    kept = sorted(map(repr, counts.states())), counts.days()
    monkeypatch.setattr(counts, "_live", lambda: False)
    assert (sorted(map(repr, counts.states())), counts.days()) == kept
    assert counts.summary().files == 3
    monkeypatch.undo()

    # never duplicates of each other, not even when the whole library is scanned again
    duplicates.scan_library(app.config["MEDIAPARSER"])
    assert db.session.execute(select(DuplicateGroup.id)).first() is None

    output = tmp_path / "archive"
    assert run_export(app, output).status == "completed"
    assert sorted(n for n in tree(output) if not n.endswith(".xmp")) == [
        "2015/20151115_133529.cr2",
        "2015/20151115_133529.jpg",
        "2020/20201217_100300.jpg",  # the motion photo: one file, its video inside
        "2025/20250526_092706.heic",
        "2025/20250526_092706.mov",
    ]
    read = read_all(output, "-FileType", "-ContentIdentifier", "-MediaGroupUUID", "-MotionPhoto", "-Model")
    heic, mov = read["2025/20250526_092706.heic"], read["2025/20250526_092706.mov"]
    assert (heic["File:FileType"], mov["File:FileType"]) == ("HEIC", "MOV")
    # the halves still carry the identifier Apple Photos pairs them by
    assert heic["Apple:MediaGroupUUID"] == mov["Keys:ContentIdentifier"] == "602FEBB7-6B59-4799-96E6-9C8484D873C7"
    assert read["2015/20151115_133529.cr2"]["File:FileType"] == "CR2"
    assert read["2015/20151115_133529.jpg"]["IFD0:Model"] == read["2015/20151115_133529.cr2"]["IFD0:Model"]
    assert read["2020/20201217_100300.jpg"]["XMP-GCamera:MotionPhoto"] == 1
    assert motion.detect((output / "2020/20201217_100300.jpg").read_bytes(), "image/jpeg")["length"] == 8730
    # every part states its set's time: the RAW's sidecar, the video's sidecar
    dates = exiftool(output)
    assert dates["2015/20151115_133529.cr2.xmp"]["XMP-exif:DateTimeOriginal"].startswith("2015:11:15 13:35:29")
    assert dates["2025/20250526_092706.mov.xmp"]["XMP-exif:DateTimeOriginal"].startswith("2025:05:26 09:27:06")
    records = [json.loads(line) for line in (output / ".mediaparser/manifest.jsonl").read_text().splitlines()]
    assert {r["output"]: r["role"] for r in records if r["role"]} == {
        "2015/20151115_133529.cr2": "raw",
        "2025/20250526_092706.mov": "video",
    }
    assert companions.link().linked == 0  # again: nothing changes


def test_a_still_finds_its_video_from_an_earlier_import_and_one_decision_moves_both(app, corpus, tmp_path):
    first, second = tmp_path / "phone-backup", tmp_path / "icloud"
    write(first / "train.mov", (corpus / "companions/lychee/train.mov").read_bytes())
    import_folder(first)
    assert by_name("train.mov").status == FileStatus.DONE  # a tile of its own, for now
    still = corpus / "companions/lychee/train.jpg"
    write(second / "train.jpg", still.read_bytes())
    with Image.open(still) as image:  # a messaging app's copy of the still: a near duplicate of it
        image.resize((1008, 756)).save(second / "IMG-20210410-WA0003.jpg", "JPEG", quality=70)
    import_folder(second)
    main, video, copy = by_name("train.jpg"), by_name("train.mov"), by_name("IMG-20210410-WA0003.jpg")
    assert (video.companion_of, video.companion_role, video.status) == (main.id, "video", "companion")
    assert main.companion_role == CompanionRole.STILL and video.group_id is None
    assert copy.group_id is not None and copy.group_id == main.group_id  # the copy is the still's, not the video's

    # a date typed on the video's page is the set's date, one batch for both files
    batch = timefix.set_time(
        [video.id], datetime(2021, 4, 10, 11, 44, 0), "second", 60, zone=app.config["MEDIAPARSER"].zone
    )
    logged = db.session.execute(select(UserDecision.file_id).where(UserDecision.batch == batch)).scalars().all()
    assert sorted(logged) == sorted([main.id, video.id])
    assert main.taken_local == video.taken_local == "2021-04-10T11:44:00" and video.time_decided
    assert timefix.undo(batch) == 2
    assert (main.taken_local, video.taken_local) == ("2021-04-10T11:44:00.814000", "2021-04-10T11:43:59")

    # keeping the messaging app's copy leaves out the Live Photo: both halves, and one undo brings both back
    batch = duplicate_review.keep(main.group_id, [copy.id])
    assert main.discarded and video.discarded and not copy.discarded
    duplicate_review.undo(batch)
    assert not main.discarded and not video.discarded
    _, batch = decisions.set_left_out([main.id], True)
    assert video.discarded
    decisions.undo(batch)
    assert not video.discarded


def shot(folder: Path, name: str, colour: str, when: str, model: str, raw_folder: Path | None = None) -> None:
    """One Canon shot saved twice: NAME.JPG and NAME.DNG (in `raw_folder`, when given)."""
    write(folder / f"{name}.JPG", photo(colour, when, make=f"Canon {model}", size=(64, 48)))
    data = dng(when, offset=None)
    old = b"Canon EOS 5D Mark III\0"  # the helper's camera, swapped for `model` in place
    write((raw_folder or folder) / f"{name}.DNG", data.replace(old, model.encode().ljust(len(old), b"\0")))


def test_a_collision_suffix_moves_the_whole_set(app, tmp_path):
    when = "2019:08:03 14:15:00"
    root = tmp_path / "cards"
    shot(root, "IMG_0001", "red", when, "Canon EOS 5D Mark III")  # two cameras, one second
    shot(root, "IMG_0002", "blue", when, "Canon EOS R5")
    import_folder(root)
    for name in ("IMG_0001", "IMG_0002"):
        assert by_name(f"{name}.DNG").companion_of == by_name(f"{name}.JPG").id
    decisions.rotate([by_name("IMG_0002.JPG").id], 90)  # a person's turn: the JPEG copy is turned
    output = tmp_path / "archive"
    run_export(app, output)
    turned = read_all(output / "2019", "-Orientation")
    assert turned["20190803_141500_1.jpg"]["IFD0:Orientation"] == 6
    assert "IFD0:Orientation" not in turned["20190803_141500.jpg"]  # not turned: the copy says what the file said
    assert {n for n in tree(output) if not n.endswith(".xmp")} == {
        "2019/20190803_141500.jpg",
        "2019/20190803_141500.dng",
        "2019/20190803_141500_1.jpg",
        "2019/20190803_141500_1.dng",
    }
    records = {
        r["output"]: r for r in map(json.loads, (output / ".mediaparser/manifest.jsonl").read_text().splitlines())
    }
    for stem in ("2019/20190803_141500", "2019/20190803_141500_1"):
        assert records[f"{stem}.dng"]["companion_of"] == records[f"{stem}.jpg"]["sha256"]  # each pair together

    # a JPEG already in the archive gets its RAW in a later import, and a file nobody planned
    # took the RAW's name: the whole set moves to the next free suffix
    later = tmp_path / "later"
    shot(later, "IMG_0003", "green", "2019:08:03 14:20:00", "Canon EOS 6D", raw_folder=tmp_path / "raws")
    import_folder(later)
    run_export(app, output)
    (output / "2019/20190803_142000.dng").write_bytes(b"someone else's file")
    import_folder(tmp_path / "raws")
    assert by_name("IMG_0003.DNG").companion_of == by_name("IMG_0003.JPG").id
    assert run_export(app, output).status == "completed"
    names = set(tree(output))
    assert {"2019/20190803_142000_1.jpg", "2019/20190803_142000_1.dng"} <= names
    assert "2019/20190803_142000.jpg" not in names  # its old copy went to the archive's trash
    assert (output / "2019/20190803_142000.dng").read_bytes() == b"someone else's file"


def test_an_edit_and_its_aae_travel_with_the_original_and_a_turn_reaches_the_copies(app, client, corpus, tmp_path):
    root = tmp_path / "iphone"
    for name in ("IMG_1853.HEIC", "IMG_E1853.heic", "IMG_1853.AAE"):
        write(root / name, (corpus / "companions/osxphotos" / name).read_bytes())
    import_folder(root)
    main, edit, aae = by_name("IMG_1853.HEIC"), by_name("IMG_E1853.heic"), by_name("IMG_1853.AAE")
    assert (edit.companion_of, edit.companion_role) == (main.id, "edit")
    assert (aae.companion_of, aae.companion_role, aae.status) == (main.id, "sidecar", "companion")
    html = client.get("/photos").get_data(as_text=True)
    assert re.findall(r'class="tile" data-id="(\d+)"', html) == [str(main.id)]
    assert ">Edited<" in html and ">+ sidecar<" in html

    # a person turns the edit's tile: the set's pictures turn, and the archive copies say so
    decisions.rotate([edit.id], 90)
    assert (main.rotation, edit.rotation, aae.rotation) == (90, 90, 0)
    output = tmp_path / "archive"
    assert run_export(app, output).status == "completed"
    assert sorted(n for n in tree(output) if not n.endswith(".xmp")) == [
        "2023/20230323_101938-edited.heic",
        "2023/20230323_101938.aae",
        "2023/20230323_101938.heic",
    ]
    assert (output / "2023/20230323_101938.aae").read_bytes() == (root / "IMG_1853.AAE").read_bytes()
    records = {
        r["output"]: r for r in map(json.loads, (output / ".mediaparser/manifest.jsonl").read_text().splitlines())
    }
    # the .AAE keeps its bytes and states no date of its own; the pictures state the set's
    assert [records[f"2023/20230323_101938{t}"]["stated"] for t in (".aae", ".heic", "-edited.heic")] == [
        "none",
        "time",
        "time",
    ]
    read = read_all(output / "2023", "-Orientation")
    # a HEIC copy keeps its bytes; its sidecar carries the turn. The original stood at 6
    # (turned right), the edit upright: both a quarter turn further
    assert read["20230323_101938.heic"]["IFD0:Orientation"] == 6
    assert read["20230323_101938.heic.xmp"]["XMP-tiff:Orientation"] == 3
    assert read["20230323_101938-edited.heic.xmp"]["XMP-tiff:Orientation"] == 6
    assert "XMP-tiff:Orientation" not in read.get("20230323_101938.aae", {})
