"""Review pages and companion sets, on rows as an import leaves them: a version group's tile
says "Version", the home counts version groups among the groups to sort out, and check dates
shows a set by its main file with the set's badge (its parts never stand alone)."""

from __future__ import annotations

import re

from app.models import DuplicateGroup, db
from tests.web_helpers import add_file, at


def _grouped(kind: str, first: int) -> list:
    group = DuplicateGroup(kind=kind, status="open")
    db.session.add(group)
    db.session.flush()
    return [add_file(n=first + i, taken_at=at("2020-05-01T10:00:00"), group_id=group.id) for i in range(2)]


def test_a_version_group_is_labelled_version_and_counted_on_the_home(client):
    versions = _grouped("version", 1)
    copies = _grouped("exact", 3)
    db.session.commit()
    grid = client.get("/photos").get_data(as_text=True)
    tiles = dict(re.findall(r'class="tile" data-id="(\d+)".*?<div class="badges">(.*?)</div>', grid, re.S))
    assert ">Version<" in tiles[str(versions[0].id)] and ">Duplicate<" not in tiles[str(versions[0].id)]
    assert ">Duplicate<" in tiles[str(copies[0].id)]
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-count="duplicate_groups">2<', home)
    assert "groups of copies, versions or similar shots" in home
    assert client.get("/api/home").get_json()["duplicate_groups"] == 2


def test_check_dates_shows_a_set_once_with_its_badge(client):
    doubtful = {"needs_review": True, "review_reason": "only_file_time", "confidence": "low"}
    still = add_file(name="IMG_0001.HEIC", companion_role="still", taken_at=at("2021-04-10T10:44:00"), **doubtful)
    add_file(
        name="IMG_0001.MOV",
        status="companion",
        media_kind="video",
        mime="video/quicktime",
        companion_of=still.id,
        companion_role="video",
        **doubtful,
    )
    alone = add_file(name="IMG_0002.JPG", taken_at=at("2021-04-10T10:45:00"), **doubtful)
    db.session.commit()
    page = client.get("/check").get_data(as_text=True)
    examples = re.findall(r'href="/files/(\d+)\?reason=only_file_time">(.*?)</a>', page, re.S)
    assert [int(i) for i, _ in examples] == [still.id, alone.id]  # the video is no example of its own
    assert ">Live Photo<" in examples[0][1] and "badge" not in examples[1][1]
    assert "<b>2</b> files" in page
