"""Capture-time and duplicate actions: the web layer reads requests, calls the pipeline
(app/pipeline/timefix.py, app/pipeline/duplicate_review.py) with the right arguments, and
answers with counts, undo batches and messages. The capture-time functions are recorded
fakes in the first tests (their own rules are tested in test_timefix.py) and real after;
the duplicate routes run against the real decisions."""

from __future__ import annotations

import sys
import types
from datetime import datetime, timedelta

import pytest

import app.pipeline as pipeline_pkg
from app.models import DuplicateGroup, File, db
from tests.web_helpers import add_file, at, csrf_token, headers


@pytest.fixture
def timefix(monkeypatch):
    calls: list[tuple] = []
    fake = types.ModuleType("app.pipeline.timefix")

    def parse_human_time(text, zone):
        calls.append(("parse", text, str(zone)))
        if text == "someday":
            raise ValueError("MediaParser could not read “someday” as a date. Try “15 June 2019 14:30”.")
        return datetime(2019, 6, 15, 14, 30), "minute"

    def record(name, result):
        def fn(*args):
            calls.append((name, *args))
            if name == "choose_candidate" and args[1] == "nope":
                raise ValueError("This file has no date from that source.")
            return result(*args) if callable(result) else result

        return fn

    fake.parse_human_time = parse_human_time
    fake.set_time = record("set_time", "batch-set")
    fake.shift_times = record("shift_times", "batch-shift")
    fake.preview_shift = record(
        "preview_shift",
        lambda ids, delta: [(i, datetime(2019, 6, 15, 12, 0), datetime(2019, 6, 15, 12, 0) + delta) for i in ids],
    )
    fake.suggest_shift = record("suggest_shift", timedelta(hours=2))
    fake.same_camera_file_ids = record("same_camera_file_ids", lambda fid: [fid, fid + 1])
    fake.choose_candidate = record("choose_candidate", "batch-choose")
    fake.confirm = record("confirm", "batch-confirm")
    fake.confirm_all_high = record("confirm_all_high", (7, "batch-high"))
    fake.undo = record("undo", 2)
    monkeypatch.setitem(sys.modules, "app.pipeline.timefix", fake)
    monkeypatch.setattr(pipeline_pkg, "timefix", fake, raising=False)
    return calls


@pytest.fixture
def files():
    rows = [
        add_file(n=i, taken_at=at(f"2019-06-0{i + 1}T10:00:00"), taken_local=f"2019-06-0{i + 1}T12:00:00")
        for i in range(4)
    ]
    db.session.commit()
    return rows


def post(client, url, body):
    return client.post(url, json=body, headers=headers(client))


def test_confirm_selection_and_all_high(client, timefix, files):
    ids = [files[0].id, files[2].id]
    r = post(client, "/api/time/confirm", {"selection": {"ids": ids}})
    assert r.status_code == 200 and r.get_json() == {
        "count": 2,
        "batch": "batch-confirm",
        "message": r.get_json()["message"],
    }
    assert ("confirm", ids) in timefix
    high = post(client, "/api/time/confirm-high", {})
    assert high.get_json()["count"] == 7 and high.get_json()["batch"] == "batch-high"
    form = client.post("/time/confirm-high", data={"csrf_token": csrf_token(client)})
    assert form.status_code == 302
    assert "Marked 7 files" in client.get("/").get_data(as_text=True)


def test_set_time_parses_forgiving_input_in_the_household_zone(client, timefix, files):
    r = post(
        client, "/api/time/set", {"selection": {"ids": [files[1].id]}, "text": "15 June 2019 14:30", "offset": 120}
    )
    assert r.status_code == 200 and "15 June 2019, 14:30" in r.get_json()["message"]
    assert ("parse", "15 June 2019 14:30", "Europe/Berlin") in timefix
    assert ("set_time", [files[1].id], datetime(2019, 6, 15, 14, 30), "minute", 120) in timefix
    bad = post(client, "/api/time/set", {"selection": {"ids": [files[1].id]}, "text": "someday"})
    assert bad.status_code == 400 and "could not read" in bad.get_json()["error"]
    empty = post(client, "/api/time/set", {"selection": {"ids": [files[1].id]}, "text": ""})
    assert empty.status_code == 400 and "Type a date" in empty.get_json()["error"]
    offset = post(client, "/api/time/set", {"selection": {"ids": [files[1].id]}, "text": "2019", "offset": 9999})
    assert offset.status_code == 400 and "14 hours" in offset.get_json()["error"]


def test_shift_preview_then_apply(client, timefix, files):
    ids = [f.id for f in files]
    preview = post(client, "/api/time/shift/preview", {"selection": {"ids": ids}, "minutes": -90})
    data = preview.get_json()
    assert data["count"] == 4 and data["minutes"] == -90
    assert (
        data["rows"][0]["before"] == "15 June 2019, 12:00:00" and data["rows"][0]["after"] == "15 June 2019, 10:30:00"
    )
    assert data["rows"][0]["name"] == files[0].original_name
    applied = post(client, "/api/time/shift", {"selection": {"ids": ids}, "minutes": -90})
    assert applied.get_json()["batch"] == "batch-shift"
    assert ("shift_times", ids, timedelta(minutes=-90)) in timefix
    for body, word in (
        ({"minutes": 0}, "zero"),
        ({"minutes": "soon"}, "how far"),
        ({"minutes": 10**9}, "hundred years"),
    ):
        bad = post(client, "/api/time/shift", {"selection": {"ids": ids}, **body})
        assert bad.status_code == 400 and word in bad.get_json()["error"]


def test_shift_all_that_match(client, timefix, files):
    files[3].needs_review = True
    db.session.commit()
    r = post(client, "/api/time/shift", {"selection": {"filter": "review=1"}, "minutes": 60})
    assert r.get_json()["count"] == 1
    assert ("shift_times", [files[3].id], timedelta(hours=1)) in timefix


def test_this_photo_was_taken_at_corrects_its_camera(client, timefix, files):
    f = files[0]
    preview = post(client, "/api/time/taken-at/preview", {"file_id": f.id, "text": "15 June 2019 14:30"})
    assert preview.status_code == 200 and preview.get_json()["count"] == 2 and preview.get_json()["minutes"] == 120
    assert ("suggest_shift", f.id, datetime(2019, 6, 15, 14, 30)) in timefix
    applied = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "15 June 2019 14:30"})
    assert ("shift_times", [f.id, f.id + 1], timedelta(hours=2)) in timefix
    assert applied.get_json()["count"] == 2
    only = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "15 June 2019 14:30", "scope": "file"})
    assert only.get_json()["count"] == 1
    assert post(client, "/api/time/taken-at", {"file_id": 999, "text": "2019"}).status_code == 404
    assert post(client, "/api/time/taken-at", {"file_id": "x", "text": "2019"}).status_code == 400
    bad_scope = post(client, "/api/time/taken-at", {"file_id": f.id, "text": "2019", "scope": "world"})
    assert bad_scope.status_code == 400


def test_choose_candidate_and_undo(client, timefix, files):
    r = post(client, "/api/time/choose", {"file_id": files[0].id, "source": "filename:android"})
    assert r.get_json()["batch"] == "batch-choose"
    missing = post(client, "/api/time/choose", {"file_id": files[0].id, "source": "nope"})
    assert missing.status_code == 400 and "no date from that source" in missing.get_json()["error"]
    assert post(client, "/api/time/choose", {"file_id": files[0].id}).status_code == 400
    undo = post(client, "/api/time/undo", {"batch": "batch-choose"})
    assert undo.get_json()["count"] == 2 and ("undo", "batch-choose") in timefix
    assert post(client, "/api/time/undo", {}).status_code == 400


def test_time_actions_say_so_when_the_feature_is_missing(client, monkeypatch, files):
    monkeypatch.setitem(sys.modules, "app.pipeline.timefix", None)
    monkeypatch.delattr(pipeline_pkg, "timefix", raising=False)
    r = post(client, "/api/time/confirm", {"selection": {"ids": [files[0].id]}})
    assert r.status_code == 501 and "not available" in r.get_json()["error"]


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
    assert html.count('class="candidate-card') == 3 and "4000 × 3000 px" in html and "2.9 MB" in html
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
