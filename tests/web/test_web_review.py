"""Review grid (filters, keyset pages, badges), file detail, thumbnails, tags, settings."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.media import thumbnails
from app.models import DuplicateGroup, FileTag, Job, Tag, UserDecision, db
from app.pipeline import jobs, settings_store
from tests.web_helpers import add_file, at, csrf_token, headers


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="tile" data-id="(\d+)"', html)]


def _library(n: int = 30):
    """n dated files (one per day of June 2019, some doubtful), 3 undated, a tag, a group."""
    rows = []
    for i in range(n):
        rows.append(
            add_file(
                n=i,
                taken_at=at(f"2019-06-{(i % 28) + 1:02d}T12:00:{i % 60:02d}"),
                taken_local=f"2019-06-{(i % 28) + 1:02d}T14:00:00",
                taken_precision="second",
                confidence="low" if i % 3 == 0 else "high",
                needs_review=i % 3 == 0,
                media_kind="video" if i % 10 == 0 else "image",
            )
        )
    undated = [add_file(name=f"scan_{i}.png", confidence="none", needs_review=True) for i in range(3)]
    tag = Tag(name="holiday")
    db.session.add(tag)
    db.session.flush()
    for row in rows[:5]:
        db.session.add(FileTag(file_id=row.id, tag_id=tag.id, source="user"))
    group = DuplicateGroup(kind="exact", status="open", recommended_id=rows[1].id)
    db.session.add(group)
    db.session.flush()
    rows[1].group_id = rows[2].group_id = group.id
    db.session.commit()
    return rows, undated


def test_empty_grid_invites_an_upload(client):
    html = client.get("/photos").get_data(as_text=True)
    assert "Nothing here yet" in html and "/upload" in html


def test_grid_shows_tiles_with_badges_in_capture_order(client):
    rows, undated = _library()
    response = client.get("/photos")
    html = response.get_data(as_text=True)
    ids = _ids(html)
    expected = [r.id for r in sorted(rows, key=lambda r: (r.taken_at, r.id))] + [u.id for u in undated]
    assert ids == expected
    assert "badge conf-low" in html and "badge conf-high" in html and "badge dup" in html and "badge video" in html
    assert client.get("/api/files/count").get_json() == {"count": 33, "more": False}


def test_keyset_pages_visit_every_file_once_in_both_orders(client):
    from app.web import queries

    rows, undated = _library(30)
    for order in ("asc", "desc"):
        seen, after = [], None
        while True:
            query = {"order": order}
            if after:
                query["after"] = after
            # small pages, through the JSON API and the tiles fragment alike
            old = queries.PAGE_SIZE
            queries.PAGE_SIZE = 7
            try:
                data = client.get("/api/files", query_string=query).get_json()
                fragment = client.get("/review/tiles", query_string=query)
            finally:
                queries.PAGE_SIZE = old
            assert _ids(fragment.get_data(as_text=True)) == [f["id"] for f in data["files"]]
            assert fragment.headers["X-Next-Cursor"] == (data["next"] or "")
            seen += [f["id"] for f in data["files"]]
            after = data["next"]
            if not after:
                break
        dated = sorted(rows, key=lambda r: (r.taken_at, r.id), reverse=order == "desc")
        tail = [u.id for u in (undated if order == "asc" else reversed(undated))]
        assert seen == [r.id for r in dated] + tail, order


def test_name_search_finds_parts_of_names_and_folders(client):
    add_file(name="IMG_20190615_143000.jpg", relative_dir="Holiday/Lake Garda")
    add_file(name='say "cheese".jpg', relative_dir="")
    renamed = add_file(name="DSC_0001.jpg", relative_dir="Misc")
    db.session.commit()
    count = lambda q: client.get("/api/files/count", query_string={"q": q}).get_json()["count"]  # noqa: E731
    assert count("0615_14") == 1 and count("img_2019") == 1  # any part of the name, any case
    assert count("garda") == 1 and count("Lake G") == 1  # folder names too
    assert count('"cheese"') == 1 and count("%") == 0  # quotes and LIKE wildcards are just text
    assert count("DS") == 1  # two letters: too short for the index, searched directly
    renamed.original_name, renamed.relative_dir = "Grandma.jpg", "Family"
    db.session.commit()
    assert count("DSC_") == 0 and count("grandma") == 1 and count("famil") == 1  # the index follows renames
    db.session.delete(renamed)
    db.session.commit()
    assert count("grandma") == 0


def test_filters_combine(client):
    rows, undated = _library()
    count = lambda **q: client.get("/api/files/count", query_string=q).get_json()["count"]  # noqa: E731
    assert count(review="1") == 10 + 3
    assert count(confidence=["low", "none"]) == 13
    assert count(review="1", kind="video") == 1  # only file 0 is both
    assert count(tag="holiday") == 5
    assert count(tag="holiday", review="1") == 2  # files 0 and 3
    assert count(dup="open") == 2 and count(dup="none") == 31
    assert count(**{"from": "2019-06-01", "to": "2019-06-02"}) == 4  # days 1 and 2, twice each (i and i+28)
    assert count(q="scan_") == 3 and count(q="IMG_0000") == 10  # IMG_00000..IMG_00009
    job = Job(kind="import", params={})
    db.session.add(job)
    db.session.flush()
    rows[0].job_id = job.id
    db.session.commit()
    assert count(job=str(job.id)) == 1
    html = client.get("/", query_string={"tag": "holiday", "review": "1"}).get_data(as_text=True)
    assert _ids(html) == [rows[0].id, rows[3].id]


def test_bad_filters_answer_400_with_a_message(client):
    for query, word in (
        ({"confidence": "certain"}, "confidence"),
        ({"from": "last week"}, "2019-06-15"),
        ({"from": "2020-01-02", "to": "2020-01-01"}, "before"),
        ({"kind": "audio"}, "Type"),
        ({"job": "x"}, "number"),
        ({"order": "random"}, "Order"),
        ({"after": "garbage"}, "damaged"),
        ({"dup": "maybe"}, "duplicate"),
    ):
        api = client.get("/api/files", query_string=query)
        assert api.status_code == 400 and word in api.get_json()["error"], query
        page = client.get("/", query_string=query)
        assert page.status_code == 400 and word in page.get_data(as_text=True), query


def test_detail_page_shows_candidates_metadata_and_neighbours(client):
    rows, _ = _library()
    f = rows[4]
    f.taken_source = "exif:DateTimeOriginal"
    f.time_candidates = [
        {"source": "exif:DateTimeOriginal", "timestamp": "2019-06-05T14:00:00", "precision": "second"},
        {"source": "mtime", "timestamp": "2019-06-05T12:00:00+00:00", "precision": "second"},
        {
            "source": "exif:CreateDate",
            "timestamp": "0001-01-01T00:00:00",
            "rejected": "camera default date (clock never set)",
        },
        {"source": "filename:android", "timestamp": "2019-06-07T09:00:00", "precision": "second"},
    ]
    f.time_notes = [
        "from exif:DateTimeOriginal: Camera: when the photo was taken",
        "filename:android (2019-06-07 09:00:00) is 1.8 days later: the sources disagree",
    ]
    f.camera_make, f.camera_model, f.width, f.height, f.size = "Canon", "EOS 40D", 4000, 3000, 2_500_000
    db.session.commit()
    html = client.get(f"/files/{f.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # the page renders what app/media/explain.py says (its wording is tested there), winner first
    clues = re.findall(r'<li class="candidate (\w+)">', html)
    assert clues == ["won", "lost", "lost", "rejected"]
    assert "Camera: when the photo was taken" in text and "Chosen: the most trustworthy clue" in text
    assert "Agrees with the chosen time" in text and "Not used: camera default date" in text
    # notes name sources in people's words; the "from" note is not repeated
    assert "“File name (Android phone)” (2019-06-07 09:00:00) is 1.8 days later" in text
    assert "filename:android" not in text
    assert "from exif:" not in text
    assert "Canon EOS 40D" in text and "4000 × 3000" in text and "2.5 MB" in text and "holiday" in text
    ordered = sorted(rows, key=lambda r: (r.taken_at, r.id))
    i = [r.id for r in ordered].index(f.id)
    assert f'href="/files/{ordered[i - 1].id}"' in html and f'href="/files/{ordered[i + 1].id}"' in html
    # neighbours follow the filter the grid had
    filtered = client.get(f"/files/{rows[3].id}", query_string={"tag": "holiday"}).get_data(as_text=True)
    assert f'href="/files/{rows[2].id}?tag=holiday"' in filtered
    assert f'href="/files/{rows[4].id}?tag=holiday"' in filtered
    assert client.get("/files/99999").status_code == 404


def test_thumbnails_are_served_by_content_address_only(app, client):
    sha = "abcd" * 16
    # today's key (thumbnails.thumb_key) and the two-level one files imported before still hold
    for key in (thumbnails.thumb_key(sha), f"ab/cd/{sha}"):
        path = app.config["MEDIAPARSER"].thumbnails_dir / f"{key}-s.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8\xff fake jpeg")
        response = client.get(f"/thumbs/{key}-s.jpg")
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert thumbnails.thumb_key(sha) == f"ab/{sha}"
    for bad in ("../../secret_key", "ab/cd/x-s.jpg", f"ab/{sha}-s.png", f"ab/cd/ef/{sha}-s.jpg", f"{sha}-s.jpg"):
        assert client.get(f"/thumbs/{bad}").status_code == 404


def test_original_is_served_for_playback(client, tmp_path):
    photo = tmp_path / "v.mp4"
    photo.write_bytes(b"\x00\x00\x00\x18ftypmp42 video bytes")
    job = jobs.create("import", {"source": "folder", "path": str(tmp_path), "root": str(tmp_path)})
    f = add_file(name="v.mp4", path=str(photo), mime="video/mp4", media_kind="video", job_id=job.id)
    missing = add_file(name="gone.jpg", path=str(tmp_path / "gone.jpg"))
    db.session.commit()
    response = client.get(f"/files/{f.id}/original")
    assert response.status_code == 200 and response.mimetype == "video/mp4"
    assert response.headers.get("Accept-Ranges") == "bytes"
    assert client.get(f"/files/{missing.id}/original").status_code == 404


# --- tags --------------------------------------------------------------------------------


def test_tags_add_filter_remove_undo(client):
    rows, _ = _library()
    h = headers(client)
    ids = [rows[10].id, rows[11].id]
    added = client.post("/api/tags/add", json={"selection": {"ids": ids}, "tags": ["  Grandma's Birthday "]}, headers=h)
    assert added.status_code == 200, added.get_json()
    # the case people typed is kept; any case finds the tag
    assert added.get_json()["tags"] == ["Grandma's Birthday"] and "2 files" in added.get_json()["message"]
    assert set(_ids(client.get("/", query_string={"tag": "grandma's birthday"}).get_data(as_text=True))) == set(ids)
    assert client.get("/api/tags", query_string={"q": "gran"}).get_json()["tags"] == ["Grandma's Birthday"]
    assert client.get("/api/tags", query_string={"q": "BIRTH"}).get_json()["tags"] == ["Grandma's Birthday"]
    of = client.post("/api/tags/of-selection", json={"selection": {"ids": ids}}, headers=h).get_json()
    assert of["tags"] == [{"name": "Grandma's Birthday", "count": 2}]
    removed = client.post(
        "/api/tags/remove", json={"selection": {"ids": [ids[0]]}, "tags": ["grandma's birthday"]}, headers=h
    )
    assert removed.get_json()["count"] == 1
    undo = client.post("/api/tags/undo", json={"batch": removed.get_json()["batch"]}, headers=h)
    assert undo.get_json()["count"] == 1
    assert client.get("/api/files/count", query_string={"tag": "grandma's birthday"}).get_json()["count"] == 2
    kinds = [d.kind for d in db.session.execute(select(UserDecision).order_by(UserDecision.id)).scalars()]
    assert kinds == ["tag_add", "tag_add", "tag_remove", "undo"]


def test_tags_on_all_that_match(client):
    _library()
    h = headers(client)
    response = client.post("/api/tags/add", json={"selection": {"filter": "review=1"}, "tags": "to check"}, headers=h)
    assert response.get_json()["count"] == 13
    assert client.get("/api/files/count", query_string={"tag": "to check"}).get_json()["count"] == 13


def test_tags_bad_input(client):
    rows, _ = _library(3)
    h = headers(client)
    empty = client.post("/api/tags/add", json={"selection": {"ids": [rows[0].id]}, "tags": ["  "]}, headers=h)
    assert empty.status_code == 400 and "tag name" in empty.get_json()["error"]
    none = client.post("/api/tags/add", json={"selection": {"ids": []}, "tags": ["x"]}, headers=h)
    assert none.status_code == 400 and "Select" in none.get_json()["error"]
    gone = client.post("/api/tags/add", json={"selection": {"ids": [424242]}, "tags": ["x"]}, headers=h)
    assert gone.status_code == 404 and "no longer exist" in gone.get_json()["error"]
    notjson = client.post("/api/tags/add", data="x", headers=h)
    assert notjson.status_code == 400 and "JSON" in notjson.get_json()["error"]
    bad_filter = client.post("/api/tags/add", json={"selection": {"filter": "kind=sound"}, "tags": ["x"]}, headers=h)
    assert bad_filter.status_code == 400
    assert client.post("/api/tags/undo", json={}, headers=h).status_code == 400


# --- settings ----------------------------------------------------------------------------


def test_settings_page_saves_and_validates(app, client, tmp_path):
    html = client.get("/settings").get_data(as_text=True)
    assert "Household time zone" in html and "Europe/Berlin" in html and "Rebuild all previews" in html
    token = csrf_token(client, "/settings")
    out = app.config["MEDIAPARSER"].output_dir / "archive"  # inside the web's output roots
    saved = client.post(
        "/settings",
        data={
            "csrf_token": token,
            "output_dir": str(out),
            "timezone": "America/New_York",
            "duplicate_sensitivity": "strict",
        },
    )
    assert saved.status_code == 302
    effective = settings_store.effective(app.config["MEDIAPARSER"])
    assert effective.timezone == "America/New_York" and effective.output_dir == out
    assert settings_store.duplicate_sensitivity() == "strict"
    for field, value, word in (
        ("timezone", "Mars/Olympus", "not a time zone"),
        ("output_dir", "relative/folder", "full path"),
        ("duplicate_sensitivity", "paranoid", "strict, normal or loose"),
    ):
        bad = client.post("/settings", data={"csrf_token": token, field: value})
        assert bad.status_code == 400 and word in bad.get_data(as_text=True), field
    api = client.post("/api/settings", json={"timezone": "Nowhere"}, headers={"X-CSRFToken": token})
    assert api.status_code == 400 and "time zone" in api.get_json()["error"]
    assert client.get("/api/settings").get_json()["timezone"] == "America/New_York"


def test_jobs_see_the_settings_page_time_zone(app):
    from app.pipeline import jobs

    settings_store.save({"timezone": "Asia/Tokyo"})
    job = jobs.create("thumbnails", {"file_ids": []})
    ctx = jobs.JobContext(job, "test", jobs.job_settings(app.config["MEDIAPARSER"]))
    assert ctx.settings.timezone == "Asia/Tokyo"
    from app.web.review import household_zone

    assert str(household_zone()) == "Asia/Tokyo"  # what the pages pass to the capture-time actions


def test_admin_jobs_on_everything_and_on_a_selection(client):
    rows, _ = _library(3)
    token = csrf_token(client)
    response = client.post("/settings/thumbnails", data={"csrf_token": token})
    assert response.status_code == 302
    job = db.session.execute(select(Job).order_by(Job.id.desc())).scalar()
    assert job.kind == "thumbnails" and job.params == {"all": True}
    started = client.post(
        "/api/jobs/start/reprocess", json={"selection": {"ids": [rows[0].id]}}, headers={"X-CSRFToken": token}
    )
    assert started.status_code == 201
    job = db.session.execute(select(Job).order_by(Job.id.desc())).scalar()
    assert job.kind == "reprocess" and job.params == {"file_ids": [rows[0].id]}
    unknown = client.post("/api/jobs/start/format-disk", json={"all": True}, headers={"X-CSRFToken": token})
    assert unknown.status_code == 404


def test_thumbnail_job_rebuilds_previews(app, client, tmp_path):
    """Both sizes for a PNG; a JPEG gets its grid thumbnail, and its old detail preview is
    removed, to be made again (by the current rules) when the photo is next opened."""
    from PIL import Image

    from app.pipeline import jobs
    from tests.web_helpers import jpeg

    photo, drawing = tmp_path / "p.jpg", tmp_path / "d.png"
    photo.write_bytes(jpeg("red", size=(2000, 1500)))
    Image.new("RGB", (2000, 1500), "blue").save(drawing)
    sha = "cd" * 32
    f = add_file(name="p.jpg", path=str(photo), sha256=sha)
    g = add_file(name="d.png", path=str(drawing), sha256="ef" * 32, mime="image/png", ext="png")
    db.session.commit()
    root = app.config["MEDIAPARSER"].thumbnails_dir
    stale = root / f"{sha[:2]}/{sha}-l.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"made by an older version")
    job = jobs.create("thumbnails", {"file_ids": [f.id, g.id]})
    assert jobs.run(job.id) == "completed"

    with Image.open(root / f"ef/{'ef' * 32}-l.jpg") as im:
        assert max(im.size) == 1024
    assert (root / f"ef/{'ef' * 32}-s.jpg").exists() and (root / f"{sha[:2]}/{sha}-s.jpg").exists()
    assert not stale.exists()  # made again when next opened (tests/web/test_previews.py)
    db.session.refresh(f)
    assert f.thumb_key == f"{sha[:2]}/{sha}"


def test_export_entry_point(client):
    html = client.get("/export").get_data(as_text=True)
    assert "Export" in html and 'aria-current="page"' in html


def test_sizes_on_pages_use_the_one_wording_for_sizes():
    """A file's size reads the same on the detail and duplicates pages as everywhere else
    (decimal units, as disks are sold)."""
    from app.web.filters import file_size

    assert (file_size(None), file_size(999), file_size(1_234_567)) == ("—", "999 bytes", "1.2 MB")
