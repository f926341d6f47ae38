"""Putting trashed originals back (trash.restore) when things are not as the clean-up left
them: the place is taken again, the trash entry is gone, the manifest is damaged, a restore
runs twice or stopped half-way, and names with spaces, line breaks and bytes that are not
UTF-8."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from app.pipeline import export_plan, exporter, importer, jobs, trash

ODD_NAMES = ["with space.jpg", "line\nbreak.jpg", "para\u2028sep.jpg", "next\x85line.jpg", " leading.jpg"]


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (seed * 40 % 256, 90, 30)).save(buf, "JPEG")
    return buf.getvalue()


def originals(root: Path) -> dict[str, str]:
    """name under root -> sha256, the trash left out."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and trash.TRASH_DIR not in p.parts
    }


def trashed(root: Path, names: list[str], folder: str = "export-1") -> Path:
    """A trash folder as a clean-up leaves it, made with the clean-up's own manifest writer:
    each file moved into it after its manifest line."""
    where = root / trash.TRASH_DIR / folder
    where.mkdir(parents=True)
    for name in names:
        original, moved = root / name, where / name
        export_plan.append_jsonl(
            where / trash.TRASH_MANIFEST,
            [{"original": str(original), "trash": str(moved), "size": original.stat().st_size}],
        )
        os.rename(original, moved)
    return where


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        (root / name).write_bytes(jpeg(i))
    return root


def test_odd_names_go_to_the_trash_and_come_back(app, tmp_path):
    root = tmp_path / "photos"
    (root / "sub folder").mkdir(parents=True)
    names = [*ODD_NAMES, "sub folder/x y.jpg"]
    for i, name in enumerate(names):
        (root / name).write_bytes(jpeg(i))
    before = originals(root)
    assert jobs.run(importer.start_folder_import(root, roots=None).id) == "completed"
    job = exporter.start_export(tmp_path / "archive", app.config["MEDIAPARSER"], cleanup=True)
    assert jobs.run(job.id) == "completed"
    assert trash.cleanup_counts(job.id)["moved"] == len(names)
    assert originals(root) == {}
    report = trash.restore(tmp_path / "archive")
    assert sorted(report["restored"]) == sorted(str(root / n) for n in names)
    assert report["left"] == []
    assert originals(root) == before


def test_a_name_that_is_not_utf8_is_recorded_and_restored(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    raw = os.fsencode(root) + b"/caf\xe9 \xff.jpg"
    with open(raw, "wb") as fh:
        fh.write(jpeg(1))
    name = os.fsdecode(raw).rsplit("/", 1)[1]
    where = trashed(root, [name])
    assert (where / trash.TRASH_MANIFEST).read_bytes().decode("utf-8")  # still a UTF-8 file
    assert trash.restore(where)["restored"] == [os.fsdecode(raw)]
    assert os.path.exists(raw)


def test_a_taken_place_is_never_overwritten(photos):
    where = trashed(photos, ["a.jpg", "b.jpg"])
    (photos / "a.jpg").write_bytes(b"a new file the person made")
    report = trash.restore(photos)
    assert report["restored"] == [str(photos / "b.jpg")]
    [left] = report["left"]
    assert "another file is there now" in left and str(where / "a.jpg") in left
    assert (photos / "a.jpg").read_bytes() == b"a new file the person made"
    assert (where / "a.jpg").read_bytes() == jpeg(0)  # the trashed one is still there


def test_a_file_appearing_during_the_move_is_not_replaced(photos, monkeypatch):
    src, dst = photos / "a.jpg", photos / "z.jpg"
    dst.write_bytes(b"appeared meanwhile")
    with pytest.raises(FileExistsError):
        trash._move_back(src, dst)
    assert dst.read_bytes() == b"appeared meanwhile" and src.read_bytes() == jpeg(0)

    def no_links(*_args, **_kwargs):
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)  # FAT/exFAT: the rename path
    with pytest.raises(FileExistsError):
        trash._move_back(src, dst)
    trash._move_back(src, photos / "free.jpg")
    assert (photos / "free.jpg").read_bytes() == jpeg(0) and not src.exists()


def test_a_missing_trash_entry_is_reported(photos):
    where = trashed(photos, ["a.jpg", "b.jpg", "c.jpg"])
    (where / "a.jpg").unlink()  # the person emptied part of the trash
    os.rename(where / "b.jpg", photos / "b.jpg")  # and put one back by hand
    report = trash.restore(where)
    assert report["restored"] == [str(photos / "c.jpg")]
    assert report["already_back"] == [str(photos / "b.jpg")]
    assert report["left"] == [f"{photos / 'a.jpg'}: not in the trash any more"]


def test_a_damaged_manifest_restores_what_it_can(photos):
    where = trashed(photos, ["a.jpg", "b.jpg", "c.jpg"])
    manifest = where / trash.TRASH_MANIFEST
    lines = manifest.read_bytes().splitlines(keepends=True)
    manifest.write_bytes(
        lines[0]
        + b'{"trash": "nowhere"}\n'  # whole, but not a record of a move
        + b"[1, 2]\n"
        + b"\xff\xfe not text\n"
        + lines[1]
        + lines[2][:25]  # cut short by a crash: its move never happened
    )
    report = trash.restore(where)
    assert sorted(report["restored"]) == [str(photos / "a.jpg"), str(photos / "b.jpg")]
    assert len(report["left"]) == 1 and "damaged" in report["left"][0]
    assert (where / "c.jpg").exists()  # its line is gone, so it stays in the trash


def test_restoring_twice_and_after_a_restore_that_stopped_half_way(photos):
    where = trashed(photos, ["a.jpg", "b.jpg"])
    os.link(where / "a.jpg", photos / "a.jpg")  # a restore killed between link and unlink
    first = trash.restore(photos)
    assert first["restored"] == [str(photos / "b.jpg")]
    assert first["already_back"] == [str(photos / "a.jpg")] and first["left"] == []
    assert not (where / "a.jpg").exists()
    second = trash.restore(photos)
    assert second["restored"] == [] and second["left"] == []
    assert sorted(second["already_back"]) == [str(photos / "a.jpg"), str(photos / "b.jpg")]
    assert originals(photos) == {
        n: hashlib.sha256(jpeg(i)).hexdigest() for i, n in enumerate(["a.jpg", "b.jpg", "c.jpg"])
    }


def test_a_file_changed_in_the_trash_stays_there(photos):
    where = trashed(photos, ["a.jpg"])
    (where / "a.jpg").write_bytes(b"shorter")
    report = trash.restore(where)
    assert report["restored"] == [] and "size changed" in report["left"][0]
    assert (where / "a.jpg").exists() and not (photos / "a.jpg").exists()


def test_restore_of_something_that_is_no_trash_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither an archive"):
        trash.restore(tmp_path)
