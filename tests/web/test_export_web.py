"""The export page and its API: preview (nothing written), start (CSRF), result summary,
options, refusals, and the job card while an export is unfinished."""

from __future__ import annotations

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
    assert "<b>5</b> files to write" in page
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
