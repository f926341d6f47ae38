"""The export page and its API: preview (nothing written), start (CSRF), result summary,
options, refusals, and the job card while an export is unfinished."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.pipeline import export_plan, exporter, jobs, settings_store
from tests.pipeline.test_export_pipeline import library, tree  # noqa: F401 - the library fixture
from tests.web_helpers import csrf_token, headers


@pytest.fixture
def output(app, library, tmp_path):  # noqa: F811
    archive = app.config["MEDIAPARSER"].output_dir / "archive"  # the web exports under its output roots only
    settings_store.save({"output_dir": str(archive)})
    return archive


def test_preview_writes_nothing_and_explains(client, output):
    page = client.get("/export").get_data(as_text=True)
    assert str(output) in page and "Start the export" in page and "What goes where" not in page
    page = client.get("/export?preview=1").get_data(as_text=True)
    assert "<b>5</b> new" in page and "Bring the archive up to date: 5 new, 0 updated, 0 retired" in page
    assert "<code>2019/20190615_143005_450.jpg</code>" in page
    assert "<code>undated/no date.jpg</code>" in page
    assert "Left out of the archive" in page and "Could not be read when imported" in page
    assert "free" in page
    assert not output.exists()


def test_start_needs_csrf_then_shows_the_result(client, output):
    assert client.post("/export/start").status_code == 400
    response = client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")})
    assert response.status_code == 302
    assert len(tree(output)) == 6  # the test queue runs the job at once
    page = client.get("/export").get_data(as_text=True)
    assert "Last export: Finished." in page
    assert "<b>5</b> files written" in page
    assert "1 left out (by you, or as a duplicate)" in page
    assert "/jobs/" in page  # where every skipped or failed file is listed

    again = client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")})
    assert again.status_code == 302
    page = client.get("/export").get_data(as_text=True)
    assert "<b>0</b> files written" in page and "5 already in the archive" in page


def test_options_make_doubtful_files_wait(client, output):
    token = csrf_token(client, "/export")
    assert client.post("/export/options", data={"csrf_token": token, "export_only_reviewed": "1"}).status_code == 302
    assert settings_store.flag(export_plan.SETTING_ONLY_REVIEWED) is True
    page = client.get("/export?preview=1").get_data(as_text=True)
    assert "waiting for review" in page
    client.post("/export/options", data={"csrf_token": token})
    assert settings_store.flag(export_plan.SETTING_ONLY_REVIEWED) is False


def test_unfinished_export_shows_its_card_and_blocks_a_second(app, client, output):
    job = exporter.start_export(output, app.config["MEDIAPARSER"])
    jobs.pause(job.id)
    page = client.get("/export").get_data(as_text=True)
    assert "Export under way" in page and f'data-job-id="{job.id}"' in page and "Resume" in page
    assert "Start the export" not in page
    response = client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")}, follow_redirects=True)
    assert f"Export job {job.id}" in response.get_data(as_text=True) and "paused" in response.get_data(as_text=True)


def test_archive_inside_storage_is_refused(app, client, library):  # noqa: F811
    settings_store.save({"output_dir": str(app.config["MEDIAPARSER"].storage_dir / "archive")})
    page = client.get("/export?preview=1").get_data(as_text=True)
    assert "cannot be inside MediaParser&#39;s storage" in page
    response = client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")}, follow_redirects=True)
    assert "cannot be inside" in response.get_data(as_text=True)


def test_api_preview_start_and_result(client, output):
    first = client.get("/api/export/preview?limit=3").get_json()
    assert first["counts"]["export"] == 5 and len(first["files"]) == 3 and first["next_offset"] == 3
    rest = client.get("/api/export/preview?offset=3&limit=100").get_json()
    assert rest["next_offset"] is None and len(first["files"]) + len(rest["files"]) == 8
    assert client.get("/api/export/preview?limit=x").status_code == 400
    started = client.post("/api/export", json={}, headers=headers(client))
    assert started.status_code == 202
    job_id = started.get_json()["job"]["id"]
    result = client.get(f"/api/export/jobs/{job_id}").get_json()
    assert result["job"]["status"] == "completed" and result["result"]["counts"]["exported"] == 5
    assert client.get("/api/export/jobs/999999").status_code == 404


def test_the_page_offers_bringing_the_archive_up_to_date_as_one_button(app, client, output):
    from sqlalchemy import select

    from app.models import File, db
    from app.pipeline import timefix

    client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")})
    undated = db.session.execute(select(File).where(File.original_name == "no date.jpg")).scalar_one()
    zone = app.config["MEDIAPARSER"].zone
    timefix.set_time([undated.id], datetime(2015, 7, 4, 10, 0), "minute", zone=zone)
    page = client.get("/export?preview=1").get_data(as_text=True)
    assert "Bring the archive up to date: 0 new, 1 updated, 0 retired" in page
    assert "undated/no date.jpg → 2015/20150704_1000.jpg" in page
    assert 'id="start"' not in page  # the one button is the preview's
    client.post("/export/start", data={"csrf_token": csrf_token(client, "/export")})
    page = client.get("/export").get_data(as_text=True)
    assert "<b>1</b> updated" in page
    assert "2015/20150704_1000.jpg" in tree(output) and "undated/no date.jpg" not in tree(output)
    again = client.get("/export?preview=1").get_data(as_text=True)
    assert "The archive is up to date: nothing to write." in again


def test_the_preview_names_the_real_reason(client, library):  # noqa: F811
    settings_store.save({"output_dir": "/proc/nope"})  # stored before the checks existed
    page = client.get("/export?preview=1").get_data(as_text=True)
    assert "a folder of the operating system" in page and "Not enough free space" not in page


def test_settings_refuse_an_export_folder_inside_an_import_root(app, client):
    output = app.config["MEDIAPARSER"].output_dir
    app.config["MEDIAPARSER"] = app.config["MEDIAPARSER"].with_overrides(import_roots=(output / "photos",))
    (output / "photos").mkdir(parents=True)
    token = csrf_token(client, "/settings")
    page = client.post("/settings", data={"csrf_token": token, "output_dir": str(output / "photos" / "Archive")})
    assert page.status_code == 400 and "a folder photos are imported from" in page.get_data(as_text=True)
    ok = client.post("/settings", data={"csrf_token": token, "output_dir": str(output / "Archive")})
    assert ok.status_code == 302 and settings_store.stored()["output_dir"] == str(output / "Archive")
