"""A JPEG's detail preview is made when the photo is first opened (thumbnails.LARGE_ON_VIEW),
from an original that is still the very file that was imported; otherwise the grid thumbnail
answers, never cached for long, and nothing is written."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.media import thumbnails
from app.models import File, db
from tests.conftest import make_settings
from tests.security_helpers import import_folder


def _photo(path: Path, size=(4032, 3024), orientation: int | None = None, colour=(200, 40, 40)) -> Path:
    image = Image.new("RGB", size, colour)
    image.paste((255, 255, 255), (0, 0, size[0] // 2, size[1]))  # a bright left half shows the turn
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, "JPEG", quality=85, exif=exif)
    return path


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    _photo(root / "wide.jpg")
    _photo(root / "turned.jpg", size=(2000, 1500), orientation=6, colour=(40, 40, 200))
    Image.new("RGB", (1600, 1200), (30, 160, 30)).save(root / "drawing.png")
    return root


@pytest.fixture
def settings(tmp_path, photos):
    return make_settings(tmp_path / "data", MEDIAPARSER_IMPORT_ROOTS=photos)


@pytest.fixture
def imported(client, photos) -> dict[str, File]:
    rows = import_folder(client)
    assert {n: r.status for n, r in rows.items()} == dict.fromkeys(("wide.jpg", "turned.jpg", "drawing.png"), "done")
    return rows


SMALL_ONLY = "Only a small preview can be shown"


def _large(app, row: File) -> Path:
    return thumbnails.thumb_path(app.config["MEDIAPARSER"].thumbnails_dir, row.thumb_key, "l")


def _picture(response) -> Image.Image:
    assert response.status_code == 200 and response.mimetype == "image/jpeg", response.get_data(as_text=True)
    return Image.open(io.BytesIO(response.data))


def test_the_import_makes_no_detail_preview_of_a_jpeg_and_the_first_view_does(app, client, photos, imported):
    row = imported["wide.jpg"]
    assert not _large(app, row).exists()
    assert _large(app, imported["drawing.png"]).exists()  # other formats: during the import

    first = client.get(f"/thumbs/{row.thumb_key}-l.jpg")
    assert _picture(first).size == (1008, 756)  # libjpeg's quarter scale of 4032 x 3024
    assert "immutable" in first.headers["Cache-Control"]
    assert _large(app, row).read_bytes() == first.data  # kept: made once

    (photos / "wide.jpg").unlink()  # the card was reformatted after the first view
    assert client.get(f"/thumbs/{row.thumb_key}-l.jpg").data == first.data


def test_the_preview_made_on_view_is_upright(app, client, imported):
    row = imported["turned.jpg"]
    picture = _picture(client.get(f"/thumbs/{row.thumb_key}-l.jpg"))
    assert picture.height > picture.width  # orientation 6: stored landscape, shown portrait
    # the bright half was on the left of the stored pixels; turned 90° clockwise it is on top
    assert sum(picture.getpixel((picture.width // 2, 5))) > sum(
        picture.getpixel((picture.width // 2, picture.height - 5))
    )


def test_a_person_s_turn_of_a_jpeg_not_opened_before(app, client, imported):
    row = db.session.get(File, imported["wide.jpg"].id)
    row.rotation = 90
    db.session.commit()
    picture = _picture(client.get(f"/files/{row.id}/turned.jpg?turn=90"))
    assert picture.size == (756, 1008)
    assert _large(app, row).exists()


def _small_answer(app, client, row: File) -> None:
    response = client.get(f"/thumbs/{row.thumb_key}-l.jpg")
    assert _picture(response).size == (thumbnails.SMALL, 240)  # the grid thumbnail stands in
    assert response.headers["Cache-Control"] == "private, max-age=300"  # not kept a year
    assert not _large(app, row).exists()


def test_a_gone_original_is_shown_by_its_grid_thumbnail_until_it_is_back(app, client, photos, imported):
    row = imported["wide.jpg"]
    kept = (photos / "wide.jpg").rename(photos.parent / "elsewhere.jpg")
    _small_answer(app, client, row)
    assert SMALL_ONLY in client.get(f"/files/{row.id}").get_data(as_text=True)  # the page says why
    kept.rename(photos / "wide.jpg")
    assert _picture(client.get(f"/thumbs/{row.thumb_key}-l.jpg")).size == (1008, 756)


def test_the_detail_page_of_a_photo_not_opened_before_makes_its_preview(app, client, imported):
    row = imported["turned.jpg"]
    page = client.get(f"/files/{row.id}").get_data(as_text=True)
    assert SMALL_ONLY not in page and f"/thumbs/{row.thumb_key}-l.jpg" in page
    assert _large(app, row).exists()  # the picture the page asks for next is on disk
    assert SMALL_ONLY not in client.get(f"/files/{imported['drawing.png'].id}").get_data(as_text=True)


def test_an_original_changed_in_place_is_not_trusted(app, client, photos, imported):
    """Same size, same inode, other bytes: the preview would be kept under a name that says
    it shows the imported file, so it is not made."""
    row = imported["wide.jpg"]
    path = photos / "wide.jpg"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    with open(path, "r+b") as fh:
        fh.write(data)
    assert path.stat().st_ino == row.inode and path.stat().st_size == row.size
    _small_answer(app, client, row)


def test_an_original_swapped_for_a_link_is_not_read(app, client, photos, tmp_path, imported):
    row = imported["wide.jpg"]
    other = _photo(tmp_path / "other.jpg")
    (photos / "wide.jpg").unlink()
    os.symlink(other, photos / "wide.jpg")
    _small_answer(app, client, row)


def test_a_picture_over_the_web_app_s_decode_budget_falls_back(app, client, imported, monkeypatch):
    from app.web import previews

    monkeypatch.setattr(previews, "MAX_DECODE_BYTES", 1_000_000)  # 1008 x 756 x 4 bytes is more
    row = imported["wide.jpg"]
    _small_answer(app, client, row)
    assert client.get(f"/files/{row.id}").status_code == 200


def test_lost_previews_of_other_formats_are_not_made_in_the_web_app(app, client, imported):
    row = imported["drawing.png"]
    _large(app, row).unlink()
    response = client.get(f"/thumbs/{row.thumb_key}-l.jpg")
    assert thumbnails.SMALL <= _picture(response).width <= thumbnails.SMALL * thumbnails.SLACK
    assert not _large(app, row).exists()


def test_names_that_are_no_preview_are_refused(client, imported):
    assert client.get("/thumbs/" + "ab/" + "ab" * 32 + "-l.jpg").status_code == 404  # no such file
    assert client.get("/thumbs/../../etc/passwd").status_code == 404
    assert client.get(f"/thumbs/{imported['wide.jpg'].thumb_key}-x.jpg").status_code == 404


def test_exact_copies_share_one_preview_made_from_whichever_original_is_there(app, client, photos, imported):
    import shutil

    from app.pipeline import importer, jobs

    copy_folder = photos / "copies"
    copy_folder.mkdir()
    shutil.copy(photos / "wide.jpg", copy_folder / "wide again.jpg")
    job = importer.start_folder_import(copy_folder, roots=None)
    assert jobs.run(job.id, app.config["MEDIAPARSER"]) == "completed"
    rows = db.session.execute(select(File).where(File.sha256 == imported["wide.jpg"].sha256)).scalars().all()
    assert len(rows) == 2 and {r.thumb_key for r in rows} == {imported["wide.jpg"].thumb_key}
    (photos / "wide.jpg").unlink()  # the first one is gone; its copy is still there
    assert _picture(client.get(f"/thumbs/{rows[0].thumb_key}-l.jpg")).size == (1008, 756)
