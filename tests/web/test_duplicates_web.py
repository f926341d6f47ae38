"""The duplicates page with versions: their own queue, what differs in words, "group x of y",
skip, the keys shown and the 100 % view's sources, and accepting versions only after seeing
each group (the real importer and scan behind it)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter
from sqlalchemy import select

from app.models import DuplicateGroup, db
from app.pipeline import importer, jobs
from tests.version_helpers import camera_exif, transposed
from tests.web_helpers import csrf_token


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = Image.fromarray((rng.random((9, 12, 3)) * 255).astype(np.uint8)).resize((640, 480), Image.BICUBIC)
    detail = Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).resize((640, 480))
    return Image.blend(base, detail.filter(ImageFilter.GaussianBlur(2)), 0.3)


def import_versions(tmp_path, families: int = 3) -> list[DuplicateGroup]:
    """`families` pictures, each with a turned and a black-and-white version; one with a copy."""
    originals, edits = tmp_path / "originals", tmp_path / "edits"
    originals.mkdir()
    edits.mkdir()
    for k in range(families):
        im = picture(k)
        im.save(originals / f"photo_{k}.jpg", quality=92, exif=camera_exif(f"2020:05:0{k + 1} 10:00:00"))
        transposed(im, Image.Transpose.ROTATE_270).save(edits / f"photo_{k}_turned.jpg", quality=88)
        im.convert("L").save(edits / f"photo_{k}_grey.jpg", quality=88)
    picture(0).resize((320, 240)).save(edits / "photo_0_small.jpg", quality=80)
    for folder in (originals, edits):
        assert jobs.run(importer.start_folder_import(folder, roots=None).id) == "completed"
    return list(db.session.execute(select(DuplicateGroup).order_by(DuplicateGroup.id)).scalars())


def test_version_groups_have_their_own_queue_and_say_what_differs(client, tmp_path):
    groups = import_versions(tmp_path)
    assert [g.kind for g in groups] == ["version"] * 3
    page = client.get("/duplicates", query_string={"queue": "versions"}).get_data(as_text=True)
    assert "Versions · 3 left" in page and "Copies · 0 left" in page
    assert f'data-group="{groups[0].id}"' in page and "Group 1 of 3" in page
    assert "4 files." in page  # photo_0, its copy and its two versions
    assert "<li>Turned 90° right</li>" in page and "<li>Black-and-white</li>" in page
    assert "Edited version" in page and "Original</span>" in page
    assert "Looks like the unedited original" in page
    assert "<kbd>A</kbd> keep all" in page and "<kbd>S</kbd> skip" in page and "A key asks before" in page
    assert "/original" in page  # the 100 % view shows the originals (JPEG: a browser shows them)
    # a copy's page points at the versions when nothing else is left
    assert "Look at the versions" in client.get("/duplicates").get_data(as_text=True)


def test_skip_goes_to_the_next_group_and_back_to_the_first(client, tmp_path):
    groups = import_versions(tmp_path)
    second = client.get("/duplicates", query_string={"queue": "versions", "after": groups[0].id}).get_data(as_text=True)
    assert f'data-group="{groups[1].id}"' in second and "Group 2 of 3" in second
    wrapped = client.get("/duplicates", query_string={"queue": "versions", "after": groups[2].id}).get_data(
        as_text=True
    )
    assert f'data-group="{groups[0].id}"' in wrapped and "Group 1 of 3" in wrapped
    # a group asked for by its id opens in its own queue, even from another tab
    direct = client.get("/duplicates", query_string={"group": groups[2].id}).get_data(as_text=True)
    assert "Group 3 of 3" in direct and 'aria-current="page">Versions' in direct


def test_one_group_one_file_wording(client, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    picture(7).save(folder / "a.jpg", quality=92)
    picture(7).resize((320, 240)).save(folder / "a_small.jpg", quality=80)
    assert jobs.run(importer.start_folder_import(folder, roots=None).id) == "completed"
    page = client.get("/duplicates").get_data(as_text=True)
    assert "2 files." in page and "Group 1 of 1" in page and "Skip for now" not in page
    accept = client.get("/duplicates/accept-all", query_string={"kind": "near"}).get_data(as_text=True)
    assert "1 group</strong>" in accept and "1 groups" not in accept


def test_versions_are_accepted_only_after_seeing_each_group(client, tmp_path):
    groups = import_versions(tmp_path)
    token = csrf_token(client, "/duplicates")
    blind = client.post("/duplicates/accept-all", data={"csrf_token": token, "kind": "version", "expected": 3})
    assert blind.status_code == 302 and "accept-all" in blind.headers["Location"]
    db.session.expire_all()
    assert all(g.status == "open" for g in groups)

    preview = client.get("/duplicates/accept-all", query_string={"kind": "version"}).get_data(as_text=True)
    assert preview.count('class="preview-file keep"') == 3 and "Set aside: photo_1_turned.jpg" in preview
    assert "<li>Turned 90° right</li>" in preview
    shown = [str(g.id) for g in groups[:2]]  # a person saw two groups; a third arrived since
    done = client.post(
        "/duplicates/accept-all", data={"csrf_token": token, "kind": "version", "expected": 2, "groups": shown}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert [g.status for g in groups] == ["resolved", "resolved", "open"]
    kept = {f.original_name for g in groups[:2] for f in g.files if not f.discarded}
    assert kept == {"photo_0.jpg", "photo_1.jpg"}
