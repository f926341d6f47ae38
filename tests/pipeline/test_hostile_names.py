"""Names are bytes: a folder full of odd names, links, loops, pipes, unreadable and too-deep
folders and hidden things imports everything that is a photo and gives one readable line for
each thing that is not (the real pipeline, in this process)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from app.media import walk
from app.models import File, db
from app.pipeline import importer, jobs
from app.wording import readable_name
from tests.hostile_helpers import build_deep_tree, jpeg

BAD = os.fsdecode(b"Ferien_M\xfcnchen_\xff.jpg")  # Latin-1 bytes: not UTF-8
BAD_FOLDER = os.fsdecode(b"Sommer \xe9t\xe9")


def _unreadable(folder: Path, monkeypatch) -> None:
    """A folder MediaParser may not read. root reads every folder whatever its mode, so under
    root the walker's scandir is told no for that one folder instead."""
    folder.chmod(0)
    if os.geteuid() == 0:
        real = os.scandir

        def refuse(path="."):
            if os.fspath(path) == str(folder):
                raise PermissionError(13, "Permission denied", str(folder))
            return real(path)

        monkeypatch.setattr(walk.os, "scandir", refuse)


@pytest.fixture
def hostile(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "Family"
    jpeg(root / "ok" / "plain.jpg", (200, 30, 30))
    jpeg(root / BAD, (20, 200, 30))
    jpeg(root / BAD_FOLDER / "inside.jpg", (30, 20, 200))
    jpeg(root / "new\nline.jpg", (90, 90, 20))
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "ok" / "up").symlink_to("..", target_is_directory=True)  # a folder loop
    (root / "passwd.jpg").symlink_to("/etc/passwd")
    (root / "inner.jpg").symlink_to(root / "ok" / "plain.jpg")  # inside: followed
    os.mkfifo(root / "pipe.jpg")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock.jpg"))
    (root / "null.jpg").symlink_to("/dev/null")
    jpeg(root / "locked" / "x.jpg", (5, 5, 5))
    _unreadable(root / "locked", monkeypatch)
    jpeg(root / ".private" / "secret.jpg", (7, 7, 7))
    jpeg(root / ".Trash-1000" / "deleted.jpg", (8, 8, 8))
    jpeg(root / ".thumbnails" / "t.jpg", (9, 9, 9))
    jpeg(root / ".hidden.jpg", (10, 10, 10))
    (root / "._plain.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    assert build_deep_tree(root / "deep") > 10
    yield root
    (root / "locked").chmod(0o755)


def test_every_bad_name_is_one_line_and_the_rest_imports(app, client, hostile):
    job = importer.start_folder_import(hostile, roots=None)
    assert jobs.run(job.id) == "completed"
    rows = db.session.execute(select(File).where(File.job_id == job.id)).scalars().all()
    by_path = {r.path: r for r in rows}
    # every photo arrived, the odd names included, with their exact bytes kept
    # a link to a file inside the folder is followed: the same bytes twice
    assert {by_path[str(hostile / n)].status for n in ("inner.jpg", "ok/plain.jpg")} == {"done", "duplicate"}
    for name in (BAD, f"{BAD_FOLDER}/inside.jpg", "new\nline.jpg"):
        row = by_path[str(hostile / name)]
        assert row.status == "done", (name, row.error)
        assert os.fsencode(row.path) == os.fsencode(str(hostile / name))
    assert (
        by_path[str(hostile / BAD)].original_name
        == "Ferien_M\N{REPLACEMENT CHARACTER}nchen_\N{REPLACEMENT CHARACTER}.jpg"
    )
    assert by_path[str(hostile / BAD_FOLDER / "inside.jpg")].relative_dir == "Family/Sommer \ufffdt\ufffd"

    problems = {r.path.removeprefix(str(hostile) + "/"): r for r in rows if r.status in ("error", "skipped")}
    expected = {
        "loop1": "loop",
        "loop2": "loop",
        "ok/up": "link to a folder",
        "passwd.jpg": "outside",
        "pipe.jpg": "named pipe",
        "sock.jpg": "socket",
        "null.jpg": "outside",  # /dev/null: never opened
        "locked": "may not read this folder",
        ".private": "hidden folder",
        ".Trash-1000": "trash folder",
        ".hidden.jpg": "hidden file",
    }
    deep = [p for p in problems if p.startswith("deep/")]
    assert len(deep) == 1 and "longer than the system allows" in problems[deep[0]].error
    assert {p for p in problems if not p.startswith("deep/")} == set(expected)
    for path, words in expected.items():
        assert words in problems[path].error.lower(), (path, problems[path].error)
    assert all((problems[p].meta or {}).get("folder") for p in ("locked", ".private", ".Trash-1000", "ok/up"))
    # what a computer leaves behind by itself is left out without a line
    assert not [p for p in by_path if p.endswith(("._plain.jpg", ".DS_Store")) or "/.thumbnails" in p]

    # the database holds valid text, and the exact name comes back from it
    # (plain SQL: the column as stored, before the model turns it back into the exact name)
    stored = dict(db.session.execute(sql("SELECT id, path FROM file WHERE job_id = :j"), {"j": job.id}).all())
    bad_row = by_path[str(hostile / BAD)]
    assert stored[bad_row.id] != bad_row.path and "\ufffd" not in stored[bad_row.id]
    db.session.expire_all()
    assert os.fsencode(db.session.get(File, bad_row.id).path).endswith(b"M\xfcnchen_\xff.jpg")

    # pages and the JSON API show the names readably
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Family/.private/" in text and "Folder skipped" in text and "Folder not read" in text
    listed = json.loads(client.get(f"/api/jobs/{job.id}/problems").data)["problems"]
    assert {p["name"] for p in listed} >= {"Family/loop1", "Family/.private/", "Family/locked/"}
    for row in (bad_row, by_path[str(hostile / "new\nline.jpg")]):
        detail = client.get(f"/files/{row.id}")  # it shows the path too: undecodable bytes and all
        assert detail.status_code == 200
        assert row.original_name.split("\n")[0] in detail.get_data(as_text=True)
    assert readable_name("new\nline.jpg") == "new\u240aline.jpg"


def test_a_folder_whose_own_name_is_not_text_imports_and_round_trips_through_json(app, client, tmp_path):
    folder = tmp_path / os.fsdecode(b"Urlaub \xfc")
    jpeg(folder / "a.jpg")
    job = importer.start_folder_import(folder, roots=None)
    assert jobs.run(job.id) == "completed"
    row = db.session.execute(select(File).where(File.job_id == job.id)).scalar_one()
    assert row.status == "done" and row.relative_dir == "Urlaub \ufffd"
    db.session.expire_all()
    assert os.fsencode(db.session.get(File, row.id).path) == os.fsencode(str(folder / "a.jpg"))
    # the job keeps the folder in JSON: the undecodable byte goes out escaped and comes back
    answer = client.get(f"/api/jobs/{job.id}")
    assert answer.status_code == 200 and b"\\udcfc" in answer.data
    assert json.loads(answer.data)["title"] == f"Import of folder {folder}"
    assert client.get("/jobs").status_code == 200
    assert "Urlaub \ufffd" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_name_exiftool_cannot_be_sent_does_not_stop_exiftool(tmp_path):
    from app.media import exiftool_reader

    odd = jpeg(tmp_path / os.fsdecode(b"DSC_\xff.jpg"))
    plain = jpeg(tmp_path / "DSC_1.jpg")
    assert exiftool_reader.maker_dates(odd) == {}
    assert not exiftool_reader._state["broken"]
    assert exiftool_reader.raw_facts(plain) != {} or not exiftool_reader.available()
