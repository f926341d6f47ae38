"""Capture-time and duplicate actions: the web layer reads requests, calls the pipeline
(app/pipeline/timefix.py, app/pipeline/duplicate_review.py) with the right arguments, and
answers with counts, undo batches and messages. Everything runs against the real pipeline
and a real database; the rules themselves are tested in test_timefix.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.models import DuplicateGroup, File, UserDecision, db
from app.pipeline import settings_store
from tests.web_helpers import add_file, at, csrf_token, headers


@pytest.fixture
def files():
    """Four dated files, 1-4 June 2019 at 12:00 local; the first two from one camera."""
    cameras = [("Canon", "EOS 5D"), ("Canon", "EOS 5D"), ("Nikon", "D90"), (None, None)]
    rows = [
        add_file(
            n=i,
            taken_at=at(f"2019-06-0{i + 1}T10:00:00"),
            taken_local=f"2019-06-0{i + 1}T12:00:00",
            camera_make=cameras[i][0],
            camera_model=cameras[i][1],
            taken_source="exif:DateTimeOriginal" if cameras[i][0] else None,
        )
        for i in range(4)
    ]
    db.session.commit()
    return rows


def post(client, url, body):
    return client.post(url, json=body, headers=headers(client))


def fresh(f: File) -> File:
    db.session.expire_all()
    return db.session.get(File, f.id)


def decisions(batch: str) -> int:
    return db.session.execute(select(func.count()).where(UserDecision.batch == batch)).scalar_one()


def test_confirm_selection_and_all_high(client, files):
    ids = [files[0].id, files[2].id]
    r = post(client, "/api/time/confirm", {"selection": {"ids": ids}})
    data = r.get_json()
    assert r.status_code == 200 and data["count"] == 2 and data["message"] == "Marked the dates of 2 files as right."
    assert decisions(data["batch"]) == 2
    assert [fresh(f).time_decided for f in files] == [True, False, True, False]
    form = client.post("/time/confirm-high", data={"csrf_token": csrf_token(client)})
    assert form.status_code == 302
    assert "Marked 2 files with sure dates as checked." in client.get("/").get_data(as_text=True)
    assert all(fresh(f).time_decided for f in files)
    high = post(client, "/api/time/confirm-high", {})
    assert high.status_code == 200 and high.get_json()["count"] == 0  # nothing left to confirm


def test_set_time_parses_forgiving_input_in_the_household_zone(client, files):
    f = files[1]
    r = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "15 June 2019 14:30", "offset": 120})
    assert r.status_code == 200 and r.get_json()["message"] == "Set the date of 1 file to 15 June 2019, 14:30."
    f = fresh(f)
    assert (f.taken_local, f.taken_offset, f.taken_precision, f.taken_source) == (
        "2019-06-15T14:30:00",
        120,
        "minute",
        "user",
    )
    assert f.taken_at == datetime(2019, 6, 15, 12, 30, tzinfo=UTC)
    bad = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "someday"})
    assert bad.status_code == 400 and "Could not read 'someday' as a date" in bad.get_json()["error"]
    impossible = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "32/13/2019"})
    assert impossible.status_code == 400 and "neither 32 nor 13 is a month" in impossible.get_json()["error"]
    empty = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": ""})
    assert empty.status_code == 400 and "Type a date" in empty.get_json()["error"]
    offset = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "2019", "offset": 9999})
    assert offset.status_code == 400 and "14 hours" in offset.get_json()["error"]
    assert fresh(f).taken_local == "2019-06-15T14:30:00"  # the refused ones changed nothing


def test_typed_times_are_read_in_the_settings_page_zone(client, files):
    settings_store.save({"timezone": "Asia/Tokyo"})
    f = files[0]
    r = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "2019-06-15 14:30"})
    assert r.status_code == 200
    assert fresh(f).taken_at == datetime(2019, 6, 15, 5, 30, tzinfo=UTC)  # 14:30 in Tokyo (+09:00)
    assert fresh(f).taken_offset == 540  # the zone's offset at that date is stored with it


def test_shift_preview_then_apply(client, files):
    ids = [f.id for f in files]
    preview = post(client, "/api/time/shift/preview", {"selection": {"ids": ids}, "minutes": -90})
    data = preview.get_json()
    assert data["count"] == 4 and data["minutes"] == -90
    assert (data["rows"][0]["before"], data["rows"][0]["after"]) == ("1 June 2019, 12:00:00", "1 June 2019, 10:30:00")
    assert data["rows"][0]["name"] == files[0].original_name
    assert [fresh(f).taken_local for f in files][0] == "2019-06-01T12:00:00"  # a preview changes nothing
    applied = post(client, "/api/time/shift", {"selection": {"ids": ids}, "minutes": -90})
    assert applied.get_json()["count"] == 4 and decisions(applied.get_json()["batch"]) == 4
    assert [fresh(f).taken_local for f in files] == [f"2019-06-0{i + 1}T10:30:00" for i in range(4)]
    for body, word in (
        ({"minutes": 0}, "zero"),
        ({"minutes": "soon"}, "how far"),
        ({"minutes": 10**9}, "hundred years"),
    ):
        bad = post(client, "/api/time/shift", {"selection": {"ids": ids}, **body})
        assert bad.status_code == 400 and word in bad.get_json()["error"]


def test_shift_all_that_match(client, files):
    files[3].needs_review = True
    db.session.commit()
    r = post(client, "/api/time/shift", {"selection": {"filter": "review=1"}, "minutes": 60})
    assert r.get_json()["count"] == 1
    assert [fresh(f).taken_local[11:16] for f in files] == ["12:00", "12:00", "12:00", "13:00"]


def test_this_photo_was_taken_at_corrects_its_camera(client, files):
    f = files[0]
    preview = post(client, "/api/time/taken-at/preview", {"file_id": f.id, "text": "1 June 2019 14:30"})
    assert preview.status_code == 200 and preview.get_json()["count"] == 2 and preview.get_json()["minutes"] == 150
    applied = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "1 June 2019 14:30"})
    assert applied.get_json()["count"] == 2
    assert [fresh(x).taken_local for x in files[:3]] == [
        "2019-06-01T14:30:00",
        "2019-06-02T14:30:00",  # the same camera: corrected by the same amount
        "2019-06-03T12:00:00",  # another camera: untouched
    ]
    same = post(client, "/api/time/taken-at/preview", {"file_id": f.id, "text": "1 June 2019 14:30"})
    assert same.get_json()["count"] == 0 and "already" in same.get_json()["message"]
    nothing = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "1 June 2019 14:30"})
    assert nothing.status_code == 400 and "already" in nothing.get_json()["error"]
    only = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "1 June 2019 15:30", "scope": "file"})
    assert only.get_json()["count"] == 1 and fresh(files[1]).taken_local == "2019-06-02T14:30:00"
    assert post(client, "/api/time/taken-at", {"file_id": 999, "text": "2019"}).status_code == 404
    assert post(client, "/api/time/taken-at", {"file_id": "x", "text": "2019"}).status_code == 400
    bad_scope = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "2019", "scope": "world"})
    assert bad_scope.status_code == 400


def test_choose_candidate_and_undo(client, files):
    f = files[0]
    f.taken_source = "exif:DateTimeOriginal"
    f.time_candidates = [
        {"source": "exif:DateTimeOriginal", "timestamp": "2019-06-01T12:00:00", "precision": "second"},
        {"source": "filename:android", "timestamp": "2019-05-30T08:00:00", "precision": "second"},
    ]
    db.session.commit()
    r = post(client, "/api/time/choose", {"file_id": f.id, "source": "filename:android"})
    assert r.status_code == 200 and r.get_json()["message"] == "Date chosen."
    assert (fresh(f).taken_local, fresh(f).taken_source, fresh(f).time_decided) == (
        "2019-05-30T08:00:00",
        "filename:android",
        True,
    )
    missing = post(client, "/api/time/choose", {"file_id": f.id, "source": "nope"})
    assert missing.status_code == 400 and "no such date clue" in missing.get_json()["error"]
    assert post(client, "/api/time/choose", {"file_id": f.id}).status_code == 400
    undo = post(client, "/api/time/undo", {"batch": r.get_json()["batch"]})
    assert undo.get_json() == {"count": 1, "message": "Undone (1 file)."}
    assert (fresh(f).taken_local, fresh(f).time_decided) == ("2019-06-01T12:00:00", False)
    assert post(client, "/api/time/undo", {}).status_code == 400
    assert post(client, "/api/time/undo", {"batch": "no-such-batch"}).status_code == 400


# --- duplicates (the real app/pipeline/duplicate_review.py behind the routes) ---------------


def _group(kind="near", n=2) -> tuple[DuplicateGroup, list[File]]:
    files = [
        add_file(
            name=f"{kind}_{i}.jpg",
            width=4000 - i * 1000,
            height=3000 - i * 750,
            size=3_000_000 - i * 1_000_000,
            camera_make="Canon",
        )
        for i in range(n)
    ]
    group = DuplicateGroup(
        kind=kind,
        status="open",
        representative_id=files[0].id,
        recommended_id=files[0].id,
        recommended_reason="largest picture, original format",
    )
    db.session.add(group)
    db.session.flush()
    for f in files:
        f.group_id = group.id
    db.session.commit()
    return group, files


def _state(group: DuplicateGroup) -> tuple[str, list[bool]]:
    db.session.expire_all()
    return group.status, [f.discarded for f in sorted(group.files, key=lambda f: f.id)]


def test_duplicates_page_shows_one_group_side_by_side(client):
    group, files = _group("exact", 3)
    _group("similar", 2)
    html = client.get("/duplicates").get_data(as_text=True)
    assert f'data-group="{group.id}"' in html and "largest picture, original format" in html
    assert html.count('class="candidate-card') == 3 and "4000 × 3000 px" in html and "3.0 MB" in html
    assert "Copies · 1 left" in html and "Similar shots · 1 left" in html
    similar = client.get("/duplicates", query_string={"queue": "similar"}).get_data(as_text=True)
    assert "similar_0.jpg" in similar and "exact_0.jpg" not in similar
    assert client.get("/duplicates", query_string={"queue": "nope"}).status_code == 404
    assert client.get("/duplicates", query_string={"group": 999}).status_code == 404


def test_keep_this_keep_selected_keep_all_and_undo(client):
    g1, f1 = _group("near", 3)
    g2, f2 = _group("near", 2)
    token = csrf_token(client, "/duplicates")
    kept = client.post(
        "/duplicates/keep", data={"csrf_token": token, "group": g1.id, "only": f1[1].id, "keep": [f1[0].id]}
    )
    assert kept.status_code == 302
    assert _state(g1) == ("resolved", [True, False, True])  # "keep only this" wins over the ticks
    page = client.get("/duplicates").get_data(as_text=True)
    assert "Kept 1 file; 2 set aside" in page and "Undo the last decision" in page and f'data-group="{g2.id}"' in page
    undo = client.post("/duplicates/undo", data={"csrf_token": token})
    assert undo.status_code == 302 and undo.headers["Location"].endswith(f"group={g1.id}")
    assert _state(g1) == ("open", [False, False, False])
    selected = client.post("/duplicates/keep", data={"csrf_token": token, "group": g2.id, "keep": [f.id for f in f2]})
    assert selected.status_code == 302 and _state(g2)[1] == [False, False]
    all_ = client.post("/duplicates/keep-all", data={"csrf_token": token, "group": g1.id})
    assert all_.status_code == 302 and _state(g1) == ("dismissed", [False, False, False])
    assert "Nothing left to sort out" in client.get("/duplicates").get_data(as_text=True)


def test_duplicate_actions_bad_input(client):
    g, files = _group("near", 2)
    other, _ = _group("near", 2)
    token = csrf_token(client, "/duplicates")
    none = client.post("/duplicates/keep", data={"csrf_token": token, "group": g.id})
    assert none.status_code == 400 and "at least one" in none.get_data(as_text=True)
    wrong = client.post("/duplicates/keep", data={"csrf_token": token, "group": g.id, "keep": [other.files[0].id]})
    assert wrong.status_code == 409
    gone = client.post("/duplicates/keep-all", data={"csrf_token": token, "group": 999})
    assert gone.status_code == 404
    assert client.post("/duplicates/undo", data={"csrf_token": token}).status_code == 400
    assert _state(g) == ("open", [False, False])


def test_accept_all_shows_the_count_first(client):
    groups = [_group("exact", 2)[0] for _ in range(3)]
    page = client.get("/duplicates/accept-all", query_string={"kind": "exact"}).get_data(as_text=True)
    assert "3 groups" in page and all(_state(g)[0] == "open" for g in groups)
    token = csrf_token(client, "/duplicates")
    changed = client.post("/duplicates/accept-all", data={"csrf_token": token, "kind": "exact", "expected": 2})
    assert changed.status_code == 302 and all(_state(g)[0] == "open" for g in groups)
    done = client.post("/duplicates/accept-all", data={"csrf_token": token, "kind": "exact", "expected": 3})
    assert done.status_code == 302
    assert [_state(g) for g in groups] == [("resolved", [False, True])] * 3
    assert client.get("/duplicates/accept-all", query_string={"kind": "all"}).status_code == 400
    assert client.get("/api/duplicates/counts").get_json()["exact"] == 0
    assert client.post("/duplicates/undo", data={"csrf_token": token}).status_code == 302  # one undo: all three
    assert [_state(g)[0] for g in groups] == ["open"] * 3


def test_real_time_actions_change_the_file_and_undo_restores_it(client, files):
    """The same routes with the real app/pipeline/timefix.py behind them."""
    f = files[0]
    before = (f.taken_local, f.time_decided)
    r = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "15 June 2019 14:30"})
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    assert f.taken_local.startswith("2019-06-15T14:30") and f.time_decided
    assert "15 June 2019, 14:30" in client.get(f"/files/{f.id}").get_data(as_text=True)
    shifted = post(client, "/api/time/shift", {"selection": {"ids": [f.id]}, "minutes": 90})
    db.session.expire_all()
    assert f.taken_local.startswith("2019-06-15T16:00")
    post(client, "/api/time/undo", {"batch": shifted.get_json()["batch"]})
    post(client, "/api/time/undo", {"batch": r.get_json()["batch"]})
    db.session.expire_all()
    assert (f.taken_local, f.time_decided) == before
    bad = post(client, "/api/time/set", {"selection": {"ids": [f.id]}, "text": "the day after tomorrow-ish"})
    assert bad.status_code == 400 and bad.get_json()["error"]
