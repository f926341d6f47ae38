"""The home (steps with live counts), check dates (triage answers, previewed and undoable),
the timeline, leave out and turn, the tags page, and the page defects of the review issue."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import DuplicateGroup, File, Job, Tag, db
from app.pipeline import counts, jobs, tagging
from tests.web_helpers import add_file, at, csrf_token, headers


def post(client, url, body):
    return client.post(url, json=body, headers=headers(client))


def _library():
    """20 June 2019 files: 6 camera dates vs folder, 4 WhatsApp days, 3 file times; a group."""
    rows = []
    for i in range(20):
        reason = "camera_vs_folder" if i < 6 else "day_only_name" if i < 10 else "only_file_time" if i < 13 else None
        rows.append(
            add_file(
                n=i,
                taken_at=at(f"2019-06-{i + 1:02d}T12:00:00"),
                taken_local=f"2019-06-{i + 1:02d}T14:00:00",
                taken_precision="second",
                taken_source="mtime" if reason == "only_file_time" else "exif:DateTimeOriginal",
                confidence="low" if reason else "high",
                needs_review=bool(reason),
                review_reason=reason,
                time_candidates=[{"source": "mtime", "timestamp": f"2024-03-01T09:{i:02d}:00+00:00", "zone": "utc"}],
            )
        )
    group = DuplicateGroup(kind="exact", status="open", recommended_id=rows[14].id)
    db.session.add(group)
    db.session.flush()
    rows[14].group_id = rows[15].group_id = group.id
    db.session.commit()
    return rows


def test_an_empty_library_shows_the_two_ways_in(client):
    html = client.get("/").get_data(as_text=True)
    assert "Upload photos" in html and "Import a folder" in html and 'href="/upload"' in html
    grid = client.get("/photos").get_data(as_text=True)
    assert "Nothing here yet" in grid


def test_home_shows_each_step_with_live_counts(client):
    _library()
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-count="files">20<', html)
    assert re.search(r'data-count="review">13<', html)
    assert "<b>6</b> Camera date and folder name differ" in html
    assert "<b>4</b> Only the day a messaging app sent it" in html
    assert re.search(r'data-count="duplicate_groups">1<', html)
    assert re.search(r'data-count="ready">20<', html) and "Not exported yet" in html
    live = client.get("/api/home").get_json()
    assert live["review"] == 13 and live["by_reason"]["only_file_time"] == 3 and live["duplicate_groups"] == 1


def test_old_grid_links_still_open_the_grid(client):
    _library()
    html = client.get("/", query_string={"review": "1"}).get_data(as_text=True)
    assert html.count('class="tile"') == 13


def test_triage_page_groups_by_reason_with_examples_and_answers(client):
    _library()
    html = client.get("/check").get_data(as_text=True)
    for key in ("camera_vs_folder", "day_only_name", "only_file_time"):
        assert f'id="{key}"' in html
    assert "Trust the camera over the folder name for these 6" in html
    assert "Use the file dates for these 3" in html and "Leave these 3 undated" in html
    assert html.count('<li><a href="/files/') == 6 + 4 + 3  # a few examples each
    assert "/photos?reason=camera_vs_folder" in html


def test_each_triage_answer_previews_then_applies_and_undoes(client):
    rows = _library()
    for reason, answer, n in (
        ("camera_vs_folder", "confirm", 6),
        ("day_only_name", "confirm", 4),
        ("only_file_time", "file_time", 3),
        ("only_file_time", "undated", 3),
    ):
        preview = post(client, "/api/triage/preview", {"reason": reason, "answer": answer}).get_json()
        assert preview["count"] == n and len(preview["rows"]) == n
        before = counts.summary().review
        done = post(client, "/api/triage/apply", {"reason": reason, "answer": answer, "expected": n})
        assert done.status_code == 200, done.get_json()
        assert counts.summary().review == before - n
        undo = post(client, "/api/undo", {"batch": done.get_json()["batch"]})
        assert undo.status_code == 200 and counts.summary().review == before
    file_time = post(client, "/api/triage/preview", {"reason": "only_file_time", "answer": "file_time"}).get_json()
    assert file_time["rows"][0]["now"] == "file date 11 June 2019 (not a real date)"
    assert file_time["rows"][0]["after"] == "1 March 2024, 10:10 (the file date, as you said)"  # Berlin time
    stale = post(client, "/api/triage/apply", {"reason": "day_only_name", "answer": "confirm", "expected": 99})
    assert stale.status_code == 409 and "changed" in stale.get_json()["error"]
    wrong = post(client, "/api/triage/preview", {"reason": "day_only_name", "answer": "undated"})
    assert wrong.status_code == 400
    assert db.session.get(File, rows[0].id).needs_review


def test_the_one_undo_never_claims_what_it_did_not_do(client):
    rows = _library()
    done = post(client, "/api/time/set", {"selection": {"ids": [rows[0].id]}, "text": "3 March 2001 10:00"})
    batch = done.get_json()["batch"]
    token = csrf_token(client, "/duplicates")
    # the duplicates page's undo, given a date batch, reverts the date (it used to say "1 undone")
    response = client.post("/duplicates/undo", data={"csrf_token": token, "batch": batch})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(File, rows[0].id).taken_local == "2019-06-01T14:00:00"
    again = post(client, "/api/undo", {"batch": batch})
    assert again.status_code == 400 and "undone already" in again.get_json()["error"]


def test_leave_out_and_turn_from_the_grid_with_undo(client):
    rows = _library()
    ids = [rows[16].id, rows[17].id]
    out = post(client, "/api/files/leave-out", {"selection": {"ids": ids}})
    assert out.get_json()["count"] == 2 and "Nothing was deleted" in out.get_json()["message"]
    assert counts.summary().left_out == 2
    grid = client.get("/photos").get_data(as_text=True)
    assert f'data-id="{rows[16].id}"' not in grid
    removed = client.get("/photos", query_string={"dup": "removed"}).get_data(as_text=True)
    assert "badge removed" in removed and "Left out" in removed
    assert post(client, "/api/undo", {"batch": out.get_json()["batch"]}).status_code == 200
    assert counts.summary().left_out == 0

    turned = post(client, "/api/files/rotate", {"selection": {"ids": [rows[16].id]}, "degrees": 90})
    assert turned.status_code == 200 and db.session.get(File, rows[16].id).rotation == 90
    assert "Turned 90° by you" in client.get(f"/files/{rows[16].id}").get_data(as_text=True)
    assert post(client, "/api/files/rotate", {"selection": {"ids": [rows[16].id]}, "degrees": 45}).status_code == 400
    post(client, "/api/undo", {"batch": turned.get_json()["batch"]})
    assert db.session.get(File, rows[16].id).rotation == 0


def test_grid_has_month_headings_a_timeline_and_jumps(client):
    for month in ("2018-01", "2018-02", "2019-06"):
        for day in range(3):
            add_file(name=f"p{month}-{day}.jpg", taken_at=at(f"{month}-{day + 10}T12:00:00"),
                     taken_local=f"{month}-{day + 10}T14:00:00")  # fmt: skip
    db.session.commit()
    html = client.get("/photos").get_data(as_text=True)
    assert re.findall(r'<li class="month-head" data-month="([\d-]+)"', html) == ["2018-01", "2018-02", "2019-06"]
    assert "January 2018" in html and "Select this month" in html
    bar = client.get("/api/timeline").get_json()
    assert len(bar["months"]) == 18  # every month from the first to the last, empty ones too
    assert [m["year_label"] for m in bar["months"] if m["year_label"]] == [2018, 2019]
    assert bar["months"][0] == {
        "month": "2018-01", "height": 10, "spike": None, "title": "January 2018: 3 files", "year_label": 2018
    }  # fmt: skip
    assert bar["months"][2]["height"] == 0 and bar["spikes"] == []
    jumped = client.get("/photos", query_string={"month": "2019-06"}).get_data(as_text=True)
    assert re.findall(r'class="month-head" data-month="([\d-]+)"', jumped) == ["2019-06"]
    newest = client.get("/photos", query_string={"month": "2018-02", "order": "desc"}).get_data(as_text=True)
    assert re.findall(r'class="month-head" data-month="([\d-]+)"', newest) == ["2018-02", "2018-01"]
    assert client.get("/photos", query_string={"month": "2019-13"}).status_code == 400


def test_timeline_flags_a_day_holding_hundreds_of_files(client):
    from app.pipeline import timeline

    by_day = [(f"2019-{m:02d}-{d:02d}", 3) for m in range(1, 13) for d in (1, 15)] + [("2024-03-01", 400)]
    months, spikes = timeline.months(sorted(by_day + [("2000-01-01", 2)]))
    assert [s.day for s in spikes] == ["2024-03-01", "2000-01-01"]
    assert "copied" in spikes[0].why and "never set" in spikes[1].why
    assert next(m for m in months if m.month == "2024-03").spike
    assert months[0].month == "2000-01" and "1999-12" not in [m.month for m in months]


def test_counts_of_filters_the_counts_cannot_serve_are_capped(client, monkeypatch):
    from app.web import queries

    _library()
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    assert client.get("/api/files/count", query_string={"q": "IMG_"}).get_json() == {"count": 5, "more": True}
    assert client.get("/api/files/count", query_string={"review": "1"}).get_json() == {"count": 13, "more": False}
    assert client.get("/api/files/count", query_string={"reason": "day_only_name"}).get_json()["count"] == 4
    assert client.get("/api/files/count", query_string={"reason": "nonsense"}).status_code == 400


def test_tags_page_rename_merge_delete_with_undo(client):
    rows = _library()
    tagging.add_tags([r.id for r in rows[:4]], "holiday")
    tagging.add_tags([r.id for r in rows[2:6]], "Urlaub")
    html = client.get("/tags").get_data(as_text=True)
    assert "holiday" in html and "Urlaub" in html and "4 files" in html
    holiday = tagging.find("holiday")
    renamed = post(client, f"/api/tags/{holiday.id}/rename", {"name": "Holiday"})
    assert renamed.status_code == 200 and tagging.find("holiday").name == "Holiday"
    merged = post(client, "/api/tags/merge", {"tags": [holiday.id, tagging.find("Urlaub").id], "into": holiday.id})
    assert merged.get_json()["count"] == 6 and tagging.find("Urlaub") is None
    deleted = post(client, f"/api/tags/{holiday.id}/delete", {})
    assert deleted.get_json()["count"] == 6 and tagging.find("Holiday") is None
    for response in (deleted, merged, renamed):
        assert post(client, "/api/undo", {"batch": response.get_json()["batch"]}).status_code == 200
    assert sorted(db.session.execute(select(Tag.name)).scalars()) == ["Urlaub", "holiday"]
    assert post(client, "/api/tags/merge", {"tags": [holiday.id]}).status_code == 400
    assert post(client, "/api/tags/999/rename", {"name": "x"}).status_code == 400


def test_home_lists_recent_changes_with_undo(client):
    rows = _library()
    done = post(client, "/api/files/leave-out", {"selection": {"ids": [rows[0].id]}})
    html = client.get("/").get_data(as_text=True)
    assert "Left 1 file out of the archive" in html and f'data-batch="{done.get_json()["batch"]}"' in html
    recent = client.get("/api/decisions/recent").get_json()["actions"]
    assert recent[0]["kind"] == "leave_out" and recent[0]["can_undo"]


def test_a_finished_job_says_what_next_and_no_problems(client, app):
    job = jobs.create("import", {"source": "folder", "path": "/x"})
    add_file(n=1, job_id=job.id)
    job.status, job.done, job.total = "completed", 1, 1
    db.session.commit()
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Look at these files" in html and "None: every file was imported." in html
    assert "None so far" not in html
    data = client.get(f"/api/jobs/{job.id}").get_json()
    assert data["next"]["label"] == "Look at these files"
    export = jobs.create("export", {"output": "/tmp/x"})
    export.status, export.skipped, export.done, export.total = "completed", 5, 5, 5
    db.session.commit()
    page = client.get(f"/jobs/{export.id}").get_data(as_text=True)
    assert "Files that could not be exported" in page and "Files that were not imported" not in page
    assert client.get(f"/api/jobs/{export.id}").get_json()["problems"] == 0  # decisions are not problems


def test_the_import_summary_lists_its_tags_for_removal(client):
    job = jobs.create("import", {"source": "folder", "path": "/x"})
    row = add_file(n=1, job_id=job.id)
    db.session.commit()
    tagging.add_tags([row.id], "Rome")
    from app.models import FileTag

    db.session.execute(FileTag.__table__.update().values(source="folder"))
    db.session.commit()
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Tags this import made" in html and "Rome" in html
    removed = post(client, f"/api/jobs/{job.id}/tags/remove", {})
    assert removed.status_code == 200 and tagging.made_by_import(job.id) == []


def test_detail_shows_the_place_and_loads_a_video_only_on_demand(client):
    photo = add_file(n=1, meta={"gps_lat": 52.52, "gps_lon": -13.405})
    video = add_file(n=2, media_kind="video", mime="video/mp4", thumb_key="ab/cd/abcd")
    db.session.commit()
    html = client.get(f"/files/{photo.id}").get_data(as_text=True)
    assert "52.52000° N, 13.40500° W" in html and "openstreetmap.org" in html
    page = client.get(f"/files/{video.id}").get_data(as_text=True)
    assert "<video" not in page and 'id="play"' in page and f"/files/{video.id}/original" in page


def test_settings_says_who_can_open_mediaparser(client):
    html = client.get("/settings").get_data(as_text=True)
    assert "anyone on your home network" not in html
    assert "Only this computer can open MediaParser" in html


def test_upload_knows_files_a_folder_import_brought_in(client, tmp_path):
    from tests.web_helpers import jpeg, upload

    data = jpeg("blue", taken="2019:06:15 14:30:00")
    import hashlib

    add_file(n=7, sha256=hashlib.sha256(data).hexdigest())
    db.session.commit()
    batch = client.post("/api/uploads", json={}, headers=headers(client)).get_json()["job_id"]
    response = upload(client, batch, "again.jpg", data)
    assert response.get_json()["already_in_library"] is True


def test_refused_uploads_stay_on_the_jobs_page(client):
    from tests.web_helpers import jpeg, upload

    batch = client.post("/api/uploads", json={}, headers=headers(client)).get_json()["job_id"]
    assert upload(client, batch, "photo.jpg", jpeg()).status_code == 201
    assert upload(client, batch, "notes.txt", b"not a photo").status_code == 422
    big = post(client, f"/api/uploads/{batch}/refused", {"name": "huge.mov", "path": "Trip/huge.mov"})
    assert big.status_code == 200
    db.session.expire_all()
    page = client.get(f"/jobs/{batch}").get_data(as_text=True)
    assert "notes.txt" in page and "Trip/huge.mov" in page and "larger than the upload limit" in page
    assert db.session.get(Job, batch).skipped == 2
    upload_page = client.get("/upload").get_data(as_text=True)
    assert 'data-max-bytes="' in upload_page


def test_pages_never_show_internal_source_keys(client):
    row = add_file(
        n=3,
        taken_source="xmp:ModifyDate",
        time_notes=[
            "from xmp:ModifyDate: x",
            "video:creation_time (2019) differs",
            "png:tIME is later",
            "xmp-sidecar:DateTimeOriginal (2019-06-15) differs by 2 h",
            "makernote (2019-06-15) is later",
        ],
        time_candidates=[
            {"source": "png:tIME", "timestamp": "2019-06-15T14:30:00", "precision": "second"},
            {"source": "video:creation_time", "timestamp": "2019-06-15T12:30:00+00:00", "zone": "utc"},
        ],
    )
    db.session.commit()
    html = client.get(f"/files/{row.id}").get_data(as_text=True)
    visible = re.sub(r"<[^>]*>", " ", html)  # text only, not attributes
    keys = re.findall(r"\b(?:xmp|png|video|exif)(?:-sidecar)?:\w+|\bmakernote\b|xmp-sidecar", visible)
    assert not keys, keys
    wrong = post(client, "/api/time/choose", {"file_id": row.id, "source": "exif:DateTimeOriginal"}).get_json()
    assert "exif:" not in wrong["error"]


def test_plural_words_everywhere(client):
    job = jobs.create("import", {"source": "folder", "path": "/x"})
    job.status, job.done, job.total = "completed", 1, 1
    db.session.commit()
    assert "1 of 1 file" in client.get("/jobs").get_data(as_text=True)
    assert "1 files" not in client.get("/jobs").get_data(as_text=True)


def test_an_impossible_typed_date_is_refused_without_suggesting_another(client):
    rows = _library()
    response = post(client, "/api/time/set", {"selection": {"ids": [rows[0].id]}, "text": "32/13/2019"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "2019-13-32" not in error and "is not a date" in error


def test_confirm_all_sure_dates_can_be_undone(client):
    _library()
    done = post(client, "/api/time/confirm-high", {})
    assert done.get_json()["count"] == 7  # the sure ones
    assert client.get("/photos").get_data(as_text=True).count("badge decided") == 7
    assert post(client, "/api/undo", {"batch": done.get_json()["batch"]}).get_json()["count"] == 7
    assert "badge decided" not in client.get("/photos").get_data(as_text=True)
    assert "You can undo this afterwards" in client.get("/photos").get_data(as_text=True)


def test_files_flagged_before_reasons_existed_are_other(client):
    add_file(
        n=1, confidence="low", needs_review=True, taken_at=at("2019-06-01T12:00:00"), taken_local="2019-06-01T14:00:00"
    )
    db.session.commit()
    assert client.get("/api/files/count", query_string={"reason": "other"}).get_json()["count"] == 1
    assert client.get("/photos", query_string={"reason": "other"}).get_data(as_text=True).count('class="tile"') == 1
    assert "Other doubtful dates" in client.get("/check").get_data(as_text=True)


def test_a_turned_picture_is_shown_turned_and_its_preview_file_stays(client, app):
    import io

    from PIL import Image

    from tests.web_helpers import jpeg

    folder = app.config["MEDIAPARSER"].thumbnails_dir / "ab" / "cd"
    folder.mkdir(parents=True)
    stored = jpeg("red", size=(40, 20))
    (folder / "abcd-l.jpg").write_bytes(stored)
    row = add_file(n=5, thumb_key="ab/cd/abcd")
    db.session.commit()
    assert client.get(f"/files/{row.id}/turned.jpg").status_code == 404  # not turned
    post(client, "/api/files/rotate", {"selection": {"ids": [row.id]}, "degrees": 90})
    assert f"/files/{row.id}/turned.jpg?turn=90" in client.get(f"/files/{row.id}").get_data(as_text=True)
    turned = client.get(f"/files/{row.id}/turned.jpg")
    assert Image.open(io.BytesIO(turned.data)).size == (20, 40)
    assert (folder / "abcd-l.jpg").read_bytes() == stored


def test_the_timeline_marks_a_copy_day_from_the_library(client):
    for i in range(120):
        add_file(name=f"copy{i}.jpg", taken_at=at("2024-03-01T09:00:00"), taken_local="2024-03-01T10:00:00")
    for m in range(1, 11):
        add_file(name=f"m{m}.jpg", taken_at=at(f"2019-{m:02d}-05T09:00:00"), taken_local=f"2019-{m:02d}-05T10:00:00")
    db.session.commit()
    bar = client.get("/api/timeline").get_json()
    assert [s["day"] for s in bar["spikes"]] == ["2024-03-01"]
    assert "copied" in bar["spikes"][0]["why"] and bar["spikes"][0]["label"] == "1 March 2024"
    assert next(m for m in bar["months"] if m["month"] == "2024-03")["spike"]
