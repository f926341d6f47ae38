"""Upload, server-folder import and jobs pages through Flask's test client (jobs run
inline: MEDIAPARSER_QUEUE=memory)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import File, Job, JobItem, db
from app.pipeline import jobs
from tests.conftest import make_settings
from tests.web_helpers import csrf_token, headers, jpeg, upload


@pytest.fixture
def roots(tmp_path) -> tuple:
    photos, other = tmp_path / "photos", tmp_path / "elsewhere"
    (photos / "2019-06 Holiday").mkdir(parents=True)
    (photos / "Empty").mkdir()
    other.mkdir()
    (photos / "2019-06 Holiday" / "IMG_20190615_143000.jpg").write_bytes(jpeg("red"))
    (photos / "2019-06 Holiday" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photos / "2019-06 Holiday" / "notes.txt").write_text("not a photo")
    (other / "secret.jpg").write_bytes(jpeg("blue"))
    os.symlink(other, photos / "link-out")
    return photos, other


@pytest.fixture
def settings(tmp_path, roots):
    return make_settings(tmp_path / "data", MEDIAPARSER_IMPORT_ROOTS=roots[0])


# --- upload ---------------------------------------------------------------------------


def test_upload_page_has_drop_zone_and_folder_picker(client):
    html = client.get("/upload").get_data(as_text=True)
    assert 'id="dropzone"' in html and "webkitdirectory" in html and "upload.js" in html


def test_upload_batch_stores_files_keeps_paths_and_dates_and_imports(client):
    h = headers(client)
    batch = client.post("/api/uploads", json={}, headers=h)
    assert batch.status_code == 201
    job_id = batch.get_json()["job_id"]
    modified = int(datetime(2019, 6, 15, 12, 0, tzinfo=UTC).timestamp() * 1000)
    first = upload(
        client, job_id, "IMG_0001.jpg", jpeg("red", "2019:06:15 14:30:00"), "Holiday/Beach/IMG_0001.jpg", modified, h
    )
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["already_in_library"] is False
    again = upload(client, job_id, "IMG_0001.jpg", jpeg("red", "2019:06:15 14:30:00"), "Copy/IMG_0001.jpg", None, h)
    assert again.get_json()["already_in_library"] is True
    assert "not stored twice" in again.get_json()["message"]
    finish = client.post(f"/api/uploads/{job_id}/finish", json={}, headers=h)
    assert finish.status_code == 200

    rows = {f.relative_dir: f for f in db.session.execute(select(File).where(File.job_id == job_id)).scalars()}
    assert rows["Holiday/Beach"].original_name == "IMG_0001.jpg"
    assert rows["Holiday/Beach"].mtime == datetime(2019, 6, 15, 12, 0, tzinfo=UTC)
    assert rows["Holiday/Beach"].path == rows["Copy"].path  # one stored copy
    assert rows["Copy"].status == "duplicate"
    job = db.session.get(Job, job_id)
    assert job.status == "completed" and job.total == 2


def test_upload_names_are_sanitised_but_kept_as_data(client):
    h = headers(client)
    job_id = client.post("/api/uploads", json={}, headers=h).get_json()["job_id"]
    response = upload(client, job_id, "../../etc/passwd\x07.jpg", jpeg("green"), "../../etc/passwd\x07.jpg", None, h)
    assert response.status_code == 201
    row = db.session.get(File, response.get_json()["file_id"])
    assert row.original_name == "passwd.jpg" and row.relative_dir == "etc"
    assert ".." not in row.path and row.path.endswith(".jpg") and "/originals/" in row.path


def test_upload_refuses_bad_input_with_messages(client):
    h = headers(client)
    job_id = client.post("/api/uploads", json={}, headers=h).get_json()["job_id"]
    text = upload(client, job_id, "notes.txt", b"hello, not a photo", None, None, h)
    assert text.status_code == 422 and "Not a photo or video" in text.get_json()["error"]
    empty = upload(client, job_id, "empty.jpg", b"", None, None, h)
    assert empty.status_code == 422 and "empty" in empty.get_json()["error"]
    noname = upload(client, job_id, "", jpeg(), None, None, h)
    assert noname.status_code == 400 and "name" in noname.get_json()["error"]
    bad_date = upload(client, job_id, "a.jpg", jpeg(), None, "yesterday", h)
    assert bad_date.status_code == 400 and "lastModified" in bad_date.get_json()["error"]
    assert upload(client, 999, "a.jpg", jpeg(), None, None, h).status_code == 404
    # a batch of refused files ends when the page says it is finished, and its page says why
    finish = client.post(f"/api/uploads/{job_id}/finish", json={}, headers=h)
    assert finish.get_json()["status"] == "completed"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "notes.txt" in page and "Not a photo or video" in page and "empty.jpg" in page
    assert "None so far" not in page

    empty_batch = client.post("/api/uploads", json={}, headers=h).get_json()["job_id"]
    finish = client.post(f"/api/uploads/{empty_batch}/finish", json={}, headers=h)
    assert finish.get_json()["status"] == "cancelled"  # nothing was sent at all
    assert upload(client, empty_batch, "a.jpg", jpeg(), None, None, h).status_code == 409


def test_upload_streams_the_body_to_storage(client, monkeypatch):
    """The view hands werkzeug's stream to storage (no form parsing, no bytes in memory)."""
    from app.pipeline import storage

    seen = {}
    real = storage.store_upload

    def spy(stream, settings):
        seen["type"] = type(stream).__name__
        return real(stream, settings)

    monkeypatch.setattr(storage, "store_upload", spy)
    h = headers(client)
    job_id = client.post("/api/uploads", json={}, headers=h).get_json()["job_id"]
    assert upload(client, job_id, "a.jpg", jpeg(size=(800, 600)), None, None, h).status_code == 201
    assert seen["type"] == "LimitedStream"  # werkzeug's socket stream, read in chunks


# --- import a server folder ------------------------------------------------------------


def test_folder_browser_lists_folders_and_counts_media(client):
    html = client.get("/import").get_data(as_text=True)
    assert "2019-06 Holiday" in html and "Import this folder" in html
    listing = client.get("/api/folders").get_json()
    assert [f["name"] for f in listing["folders"]] == ["2019-06 Holiday", "Empty", "link-out"]
    count = client.get("/api/folders/count", query_string={"path": "2019-06 Holiday"}).get_json()
    assert count["count"] == 2 and count["complete"] is True  # two .jpg, the .txt is not counted
    assert client.get("/import", query_string={"path": "2019-06 Holiday"}).status_code == 200


def test_folder_browser_refuses_paths_outside_the_roots(client, roots):
    for path in ("../elsewhere", "link-out", "/etc", "2019-06 Holiday/../../elsewhere"):
        response = client.get("/api/folders", query_string={"path": path})
        assert response.status_code in (403, 404), path
        assert "error" in response.get_json()
    assert client.get("/api/folders", query_string={"root": "7"}).status_code == 404
    page = client.get("/import", query_string={"path": "link-out"})
    assert page.status_code == 403 and "outside the folders" in page.get_data(as_text=True)


def test_start_folder_import_runs_the_job_and_lists_failures(client):
    token = csrf_token(client)
    response = client.post("/import", data={"root": "0", "path": "2019-06 Holiday", "csrf_token": token})
    assert response.status_code == 302
    job = db.session.execute(select(Job).order_by(Job.id.desc())).scalar()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert job.status == "completed"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "broken.jpg" in page and "notes.txt" in page
    problems = client.get(f"/api/jobs/{job.id}/problems").get_json()["problems"]
    assert {p["name"].split("/")[-1] for p in problems} == {"broken.jpg", "notes.txt"}
    assert all(p["reason"] for p in problems)


def test_start_import_refuses_outside_roots_and_json_works(client):
    h = headers(client)
    refused = client.post("/api/imports", json={"path": "link-out"}, headers=h)
    assert refused.status_code == 403 and "outside" in refused.get_json()["error"]
    ok = client.post("/api/imports", json={"path": "Empty"}, headers=h)
    assert ok.status_code == 201 and ok.get_json()["job_url"].startswith("/jobs/")


def test_import_page_explains_when_no_roots_are_configured(app, client):
    settings = app.config["MEDIAPARSER"]
    app.config["MEDIAPARSER"] = settings.with_overrides(import_roots=())
    try:
        assert "No folders are set up" in client.get("/import").get_data(as_text=True)
        refused = client.post("/api/imports", json={"path": ""}, headers=headers(client))
        assert refused.status_code == 403 and "MEDIAPARSER_IMPORT_ROOTS" in refused.get_json()["error"]
    finally:
        app.config["MEDIAPARSER"] = settings


# --- jobs ------------------------------------------------------------------------------


def test_jobs_page_and_json(client):
    job = jobs.create("import", {"source": "upload"}, phase="process")
    html = client.get("/jobs").get_data(as_text=True)
    assert f'data-job-id="{job.id}"' in html and "Upload from your browser" in html
    data = client.get("/api/jobs").get_json()["jobs"]
    assert data[0]["id"] == job.id and data[0]["status_text"] == "Waiting to start."
    assert client.get(f"/api/jobs?ids={job.id}").get_json()["jobs"][0]["id"] == job.id
    assert client.get("/api/jobs?ids=x").status_code == 400
    assert client.get("/api/jobs/999").status_code == 404
    assert client.get("/jobs/999").status_code == 404


def test_pause_resume_cancel(client):
    h = headers(client)
    job = jobs.create("thumbnails", {"file_ids": []})
    paused = client.post(f"/api/jobs/{job.id}/pause", json={}, headers=h)
    assert paused.status_code == 200 and paused.get_json()["job"]["status"] == "paused"
    again = client.post(f"/api/jobs/{job.id}/pause", json={}, headers=h)
    assert again.status_code == 409 and "paused" in again.get_json()["error"]
    resumed = client.post(f"/api/jobs/{job.id}/resume", json={}, headers=h)
    assert resumed.status_code == 200
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "completed"  # the inline queue ran it
    cancel = client.post(f"/api/jobs/{job.id}/cancel", json={}, headers=h)
    assert cancel.status_code == 409 and "already ended" in cancel.get_json()["error"]
    assert client.post(f"/api/jobs/{job.id}/explode", json={}, headers=h).status_code == 404
    # the plain form works too and comes back to the page it was sent from
    other = jobs.create("thumbnails", {"file_ids": []})
    form = client.post(f"/jobs/{other.id}/cancel", data={"csrf_token": h["X-CSRFToken"], "back": "/jobs"})
    assert form.status_code == 302 and form.headers["Location"] == "/jobs"
    assert db.session.get(Job, other.id).status == "cancelled"
    evil = client.post(f"/jobs/{other.id}/cancel", data={"csrf_token": h["X-CSRFToken"], "back": "//evil.example"})
    assert evil.headers["Location"] == f"/jobs/{other.id}"


def test_failed_items_of_other_job_kinds_are_listed(client):
    from tests.web_helpers import add_file

    f = add_file(name="gone.jpg", path="/nowhere/gone.jpg", sha256="ab" * 32)
    db.session.commit()
    job = jobs.create("thumbnails", {"file_ids": [f.id]})
    jobs.run(job.id)
    item = db.session.execute(select(JobItem).where(JobItem.job_id == job.id)).scalar_one()
    assert item.status == "error"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "gone.jpg" in page and "No preview could be made" in page
