"""A file's page shows every time in one zone (the file's own offset where known, the
household zone as a hint); a file time alone shows as "No real date" with the way to use
it; the camera-clock correction previews its exact shift, camera and window."""

from __future__ import annotations

import re

from app.models import db
from tests.web_helpers import add_file, at, headers


def test_one_moment_is_shown_in_one_zone(client):
    # taken in Istanbul (+03:00, learned from GPS); the GPS clue is an instant: 08:25 UTC
    f = add_file(
        taken_at=at("2019-06-15T08:25:00"),
        taken_local="2019-06-15T11:25:00",
        taken_offset=180,
        taken_source="gps",
        time_candidates=[{"source": "gps", "timestamp": "2019-06-15T08:25:00+00:00", "zone": "utc"}],
        mtime=at("2019-06-20T18:00:00"),
    )
    db.session.commit()
    page = client.get(f"/files/{f.id}").get_data(as_text=True)
    headline = re.search(r'<h1 class="bigtime" id="taken">(.*?)</h1>', page, re.S)[1]
    assert "11:25" in headline and "UTC+03:00" in headline
    clues = page[page.index('id="candidates"') :]
    assert "11:25" in clues[:800] and "10:25" not in page  # never the household's 10:25 +02:00
    assert "this file&#39;s own zone, UTC+03:00" in page and "Europe/Berlin" in page  # the hint
    assert "20 June 2019, 21:00 (UTC+03:00)" in page  # the file date too


def test_a_file_time_alone_shows_as_no_real_date(client):
    f = add_file(
        taken_at=at("2026-11-29T13:13:56"),
        taken_local="2026-11-29T14:13:56",
        taken_source="mtime",
        confidence="none",
        needs_review=True,
    )
    db.session.commit()
    page = client.get(f"/files/{f.id}").get_data(as_text=True)
    assert "No real date" in page and "not a real date" in page and "undated/" in page
    assert ">Use the file date<" in page


def test_camera_clock_preview_is_exact_and_says_its_scope(client):
    anchor = add_file(
        n=1,
        taken_at=at("2008-10-22T10:30:20"),
        taken_local="2008-10-22T12:30:20",
        camera_make="NIKON",
        camera_model="COOLPIX P6000",
        taken_source="exif:DateTimeOriginal",
    )
    add_file(
        n=2,
        taken_at=at("2008-12-22T10:30:20"),
        taken_local="2008-12-22T11:30:20",
        camera_make="NIKON",
        camera_model="COOLPIX P6000",
        taken_source="exif:DateTimeOriginal",
    )
    db.session.commit()
    body = {"file_id": anchor.id, "text": "22 October 2008 14:30", "days": 30}
    data = client.post("/api/time/taken-at/preview", json=body, headers=headers(client)).get_json()
    assert data["shift"] == "1 h 59 min 40 s" and data["later"] is True
    assert (data["count"], data["outside"], data["days"]) == (1, 1, 30)
    assert "COOLPIX P6000" in data["camera"]
    wide = client.post("/api/time/taken-at/preview", json={**body, "days": "all"}, headers=headers(client))
    assert wide.get_json()["count"] == 2
    done = client.post("/api/time/taken-at", json={**body, "days": "all"}, headers=headers(client)).get_json()
    assert done["count"] == 2 and "by 1 h 59 min 40 s" in done["message"]
    page = client.get(f"/files/{anchor.id}").get_data(as_text=True)
    assert 'id="taken-days"' in page and 'value="30"' in page
