"""Originals and thumbnails are served only while they are still the regular files that were
imported: never a link (to /etc/passwd), never a FIFO or device (which froze the web), never
a file that changed size or inode; with a Content-Disposition no name can break."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import File, db
from app.pipeline import importer, jobs
from app.web.serving import content_disposition
from tests.conftest import make_settings
from tests.security_helpers import import_folder, without_file_read_override
from tests.web_helpers import add_file, headers, jpeg, upload

COLOURS = {"a.jpg": "red", "b.jpg": "green", "c.jpg": "blue", "d.jpg": "yellow", "e.jpg": "white"}


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for name, colour in COLOURS.items():
        (root / name).write_bytes(jpeg(colour, size=(64 + len(name), 48)))
    return root


@pytest.fixture
def settings(tmp_path, photos):
    return make_settings(tmp_path / "data", MEDIAPARSER_IMPORT_ROOTS=photos)


@pytest.fixture
def imported(client, photos) -> dict[str, File]:
    rows = import_folder(client)
    assert {n: r.status for n, r in rows.items()} == dict.fromkeys(COLOURS, "done")
    return rows


def _get(client, file: File, **kwargs):
    return client.get(f"/files/{file.id}/original", **kwargs)


def test_an_imported_photo_is_served_whole_and_in_ranges(client, photos, imported):
    row = imported["a.jpg"]
    assert row.inode == (photos / "a.jpg").stat().st_ino  # recorded at import
    response = _get(client, row)
    assert response.status_code == 200 and response.data == (photos / "a.jpg").read_bytes()
    assert response.mimetype == "image/jpeg" and response.headers["Accept-Ranges"] == "bytes"
    part = _get(client, row, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == (photos / "a.jpg").read_bytes()[:10]
    again = _get(client, row, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_photo_replaced_by_a_link_to_etc_passwd_is_not_served(client, photos, imported):
    (photos / "a.jpg").unlink()
    os.symlink("/etc/passwd", photos / "a.jpg")
    response = _get(client, imported["a.jpg"])
    assert response.status_code == 404
    assert b"root:" not in response.data
    assert "has changed or moved since it was imported" in response.get_data(as_text=True)
    # a link to another photo inside the import root is not served either
    (photos / "b.jpg").unlink()
    os.symlink(photos / "c.jpg", photos / "b.jpg")
    assert _get(client, imported["b.jpg"]).status_code == 404
    # nor a link to a device
    (photos / "d.jpg").unlink()
    os.symlink("/dev/zero", photos / "d.jpg")
    assert _get(client, imported["d.jpg"]).status_code == 404
    assert _get(client, imported["e.jpg"]).status_code == 200  # the untouched one still is


def test_a_fifo_is_never_opened(client, photos, imported):
    (photos / "c.jpg").unlink()
    os.mkfifo(photos / "c.jpg")
    codes: list[int] = []

    def nine_requests():
        for _ in range(9):
            codes.append(_get(client, imported["c.jpg"]).status_code)

    worker = threading.Thread(target=nine_requests, daemon=True)
    worker.start()
    worker.join(60)  # a guard against hanging the suite, not a speed check: a blocked open never returns
    if worker.is_alive():
        # unblock the reader the server opened, so the thread can end
        os.close(os.open(photos / "c.jpg", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("serving the FIFO blocked")
    assert codes == [404] * 9
    assert _get(client, imported["a.jpg"]).status_code == 200


def test_a_replaced_file_is_not_served(client, photos, imported):
    (photos / "d.jpg").write_bytes(jpeg("black", size=(300, 200)))  # other size, same inode
    response = _get(client, imported["d.jpg"])
    assert response.status_code == 404 and "changed or moved" in response.get_data(as_text=True)
    # the same size but another file (a new inode): not the imported one either
    same_size = photos / "new.tmp"
    same_size.write_bytes(b"\0" * imported["e.jpg"].size)
    os.replace(same_size, photos / "e.jpg")
    assert _get(client, imported["e.jpg"]).status_code == 404
    (photos / "a.jpg").unlink()
    gone = _get(client, imported["a.jpg"])
    assert gone.status_code == 404 and "no longer where it was imported" in gone.get_data(as_text=True)


def test_an_unreadable_file_gets_a_403_with_a_reason(client, photos, imported):
    (photos / "b.jpg").chmod(0)
    with without_file_read_override():
        response = _get(client, imported["b.jpg"])
    assert response.status_code == 403
    assert "may not read this file" in response.get_data(as_text=True)


def test_an_upload_is_served_only_from_the_store(app, client):
    job_id = client.post("/api/uploads", json={}, headers=headers(client)).get_json()["job_id"]
    assert upload(client, job_id, "up.jpg", jpeg("purple")).status_code == 201
    client.post(f"/api/uploads/{job_id}/finish", headers=headers(client))
    row = db.session.execute(select(File).where(File.original_name == "up.jpg")).scalar_one()
    assert _get(client, row).status_code == 200
    stored = Path(row.path)
    stored.chmod(0o644)
    stored.unlink()
    os.symlink("/etc/passwd", stored)
    assert _get(client, row).status_code == 404


def test_a_command_line_import_is_served_from_the_folder_it_named(app, client, tmp_path):
    """The command line may import any folder; its files are checked against that folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "cli.jpg").write_bytes(jpeg("orange"))
    job = importer.start_folder_import(elsewhere, roots=None)
    jobs.run(job.id)
    row = db.session.execute(select(File).where(File.original_name == "cli.jpg")).scalar_one()
    assert _get(client, row).status_code == 200
    # a row pointing outside every allowed folder (a forged or stale path) is refused
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg("orange"))
    stray = add_file(name="stray.jpg", path=str(outside), job_id=job.id)
    db.session.commit()
    assert _get(client, stray).status_code == 404


def test_names_cannot_break_the_content_disposition_header(app, client, photos):
    odd = {"new\nline.jpg": "new_line.jpg", 'quote"back\\slash.jpg': None, "Mädchen ü.jpg": None}
    for name in odd:
        (photos / name).write_bytes(jpeg("red", size=(50 + len(name), 40)))
    rows = import_folder(client)
    for name, shown in odd.items():
        response = client.get(f"/files/{rows[name].id}/original?download=1")
        assert response.status_code == 200, name
        value = response.headers["Content-Disposition"]
        assert value.startswith("attachment; ") and "\n" not in value and "\r" not in value
        if shown:
            assert f"filename*=UTF-8''{shown}" in value
    assert "filename*=UTF-8''M%C3%A4dchen%20%C3%BC.jpg" in content_disposition("Mädchen ü.jpg", False)
    assert 'filename="Madchen u.jpg"' in content_disposition("Mädchen ü.jpg", False)
    assert content_disposition('a"b\\c.jpg', True).startswith('attachment; filename="a\'b_c.jpg"')
    # a name kept from undecodable bytes (surrogate escapes) is served too
    assert "filename*=UTF-8''bad_.jpg" in content_disposition(b"bad\xff.jpg".decode("utf-8", "surrogateescape"), True)


def test_thumbnails_are_only_regular_files(app, client):
    folder = app.config["MEDIAPARSER"].thumbnails_dir / "ab" / "cd"
    folder.mkdir(parents=True)
    good, link, fifo = ("ab/cd/" + c * 64 + "-s.jpg" for c in "012")
    (app.config["MEDIAPARSER"].thumbnails_dir / good).write_bytes(b"\xff\xd8\xff fake jpeg")
    os.symlink("/etc/passwd", app.config["MEDIAPARSER"].thumbnails_dir / link)
    os.mkfifo(app.config["MEDIAPARSER"].thumbnails_dir / fifo)
    assert client.get(f"/thumbs/{good}").status_code == 200
    for name in (link, fifo):
        response = client.get(f"/thumbs/{name}")
        assert response.status_code == 404 and b"root:" not in response.data, name
