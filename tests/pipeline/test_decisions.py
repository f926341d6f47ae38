"""One decision log, one undo: every kind of action a person takes is recorded with its kind
and reverted exactly by `decisions.undo(batch)` — whichever module made it. And the counts
the database keeps by triggers always equal a count of the table."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from app.models import DuplicateGroup, File, FileTag, Tag, db
from app.pipeline import counts, decisions, duplicate_review, tagging, timefix
from app.vocab import DecisionKind
from tests.conftest import on_postgres
from tests.web_helpers import add_file, at

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def library(app):
    rows = [
        add_file(
            n=i,
            taken_at=at(f"2019-06-{i + 1:02d}T12:00:00"),
            taken_local=f"2019-06-{i + 1:02d}T14:00:00",
            taken_precision="second",
            taken_source="exif:DateTimeOriginal",
            confidence="low" if i % 2 else "high",
            needs_review=bool(i % 2),
            review_reason="camera_vs_folder" if i % 2 else None,
            orientation=6 if i == 0 else None,
        )
        for i in range(6)
    ]
    db.session.commit()
    return rows


def fresh(row: File) -> File:
    db.session.expire_all()
    return db.session.get(File, row.id)


def kinds(batch: str) -> set[str]:
    return {d.kind for d in decisions.batch_rows(batch)}


def test_leave_out_and_take_back_in_are_logged_and_undone(library):
    a, b = library[0], library[1]
    changed, batch = decisions.set_left_out([a.id, b.id], True)
    assert changed == 2 and kinds(batch) == {DecisionKind.LEAVE_OUT}
    assert fresh(a).discarded and fresh(b).discarded
    assert counts.summary().left_out == 2 and counts.summary().files == 4
    assert decisions.set_left_out([a.id], True)[0] == 0  # already left out: nothing logged
    assert decisions.undo(batch) == 2
    assert not fresh(a).discarded and counts.summary().left_out == 0
    with pytest.raises(decisions.UndoError, match="undone already"):
        decisions.undo(batch)


def test_rotate_is_kept_for_the_copy_and_undone(library):
    a = library[0]
    _, first = decisions.rotate([a.id], 90)
    _, second = decisions.rotate([a.id], 180)
    assert fresh(a).rotation == 270
    assert decisions.undo(first) == 0  # turned again since: the later turn stands
    assert decisions.undo(second) == 1 and fresh(a).rotation == 90
    with pytest.raises(ValueError):
        decisions.rotate([a.id], 45)
    # the hook the export reads: the original's tag (6: turned right) plus the person's turn
    assert decisions.export_orientation(6, 90) == 3
    assert decisions.export_orientation(1, 270) == 8
    assert decisions.export_orientation(2, 90) == 7  # a mirrored picture stays mirrored
    assert decisions.export_orientation(None, 0) is None  # not turned: the copy keeps its tag


def test_one_undo_reverts_a_date_batch_whatever_module_is_asked(library):
    """/duplicates/undo given a date batch used to say "1 undone" and revert nothing."""
    a = library[1]
    batch = timefix.set_time([a.id], datetime(2001, 2, 3, 4, 5, 6), "second", zone=BERLIN)
    assert fresh(a).taken_local == "2001-02-03T04:05:06"
    assert duplicate_review.undo(batch) == 1
    assert fresh(a).taken_local == "2019-06-02T14:00:00" and fresh(a).needs_review
    with pytest.raises(duplicate_review.DecisionError):
        duplicate_review.undo(batch)
    with pytest.raises(timefix.TimeFixError):
        timefix.undo(batch)  # undone once: never twice


def test_a_duplicate_decision_undone_through_the_date_undo(library):
    a, b = library[0], library[2]
    group = DuplicateGroup(kind="exact", status="open", recommended_id=a.id)
    db.session.add(group)
    db.session.flush()
    a.group_id = b.group_id = group.id
    db.session.commit()
    batch = duplicate_review.keep(group.id, [a.id])
    assert fresh(b).discarded and counts.summary().left_out == 1
    assert timefix.undo(batch) == 2
    assert not fresh(b).discarded and db.session.get(DuplicateGroup, group.id).status == "open"


def test_confirm_is_its_own_kind_and_undone(library):
    odd = [r.id for r in library if r.needs_review]
    batch = timefix.confirm(odd)
    assert kinds(batch) == {DecisionKind.CONFIRM}
    assert counts.summary().review == 0
    assert [h["action"] for h in timefix.history(odd[0])] == ["confirm"]
    assert decisions.undo(batch) == 3 and counts.summary().review == 3


def test_tags_rename_merge_delete_across_the_library_and_undo(library):
    ids = [r.id for r in library]
    tagging.add_tags(ids[:3], "Holiday")
    tagging.add_tags(ids[2:4], ["anna, Rome"])  # a comma separates
    names = {t.name: t.id for t in db.session.execute(select(Tag)).scalars()}
    assert set(names) == {"Holiday", "anna", "Rome"}
    assert tagging.add_tags(ids[:1], "holiday")[0] == 0  # one tag whatever its case

    files, renamed = tagging.rename(names["anna"], "Anna")
    assert files == 2 and db.session.get(Tag, names["anna"]).name == "Anna"
    files, merged = tagging.merge([names["Rome"], names["anna"]], names["anna"])
    assert files == 2 and db.session.get(Tag, names["Rome"]) is None
    files, deleted = tagging.delete_tag(names["Holiday"])
    assert files == 3 and tagging.find("holiday") is None
    assert [k for b in (renamed, merged, deleted) for k in kinds(b)] == ["tag_rename", "tag_merge", "tag_delete"]

    for batch in (deleted, merged, renamed):
        assert decisions.undo(batch) == 1
    by_name = {n: set(db.session.execute(select(FileTag.file_id).join(Tag).where(Tag.name == n)).scalars())
               for n in ("Holiday", "anna", "Rome")}  # fmt: skip
    assert by_name == {"Holiday": set(ids[:3]), "anna": set(ids[2:4]), "Rome": set(ids[2:4])}


def test_renaming_into_an_existing_name_merges(library):
    ids = [r.id for r in library]
    tagging.add_tags(ids[:2], "grandma")
    tagging.add_tags(ids[1:3], "Oma")
    oma = tagging.find("Oma")
    files, batch = tagging.rename(oma.id, "GRANDMA")
    assert files == 3 and kinds(batch) == {DecisionKind.TAG_MERGE}
    assert [t.name for t in db.session.execute(select(Tag)).scalars()] == ["GRANDMA"]
    decisions.undo(batch)
    assert sorted(t.name for t in db.session.execute(select(Tag)).scalars()) == ["Oma", "grandma"]


def test_the_import_summary_tags_are_removed_at_once(app, tmp_path):
    from app.pipeline import importer, jobs
    from tests.pipeline.test_import_pipeline import photo

    root = tmp_path / "Camera Roll 2008"
    photo(root / "2019-06 Holiday" / "a.jpg")
    photo(root / "Rome" / "b {Anna}.jpg", colour=(10, 200, 10))
    job = importer.start_folder_import(root, roots=None)
    assert jobs.run(job.id) == "completed"
    made = {t["name"]: t["files"] for t in tagging.made_by_import(job.id)}
    assert made == {"Holiday": 1, "Rome": 1, "Anna": 1}  # "Camera Roll 2008" is not a tag
    b = db.session.execute(select(File).where(File.original_name == "b {Anna}.jpg")).scalar_one()
    tagging.add_tags([b.id], "Favourites")
    removed, batch = tagging.remove_import_tags(job.id)
    assert removed == 3 and tagging.made_by_import(job.id) == []
    assert [t.name for t in fresh(b).tags] == ["Favourites"]  # what the person added stays
    decisions.undo(batch)
    assert len(tagging.made_by_import(job.id)) == 3


def test_recent_actions_read_the_log_newest_first(library):
    a = library[0]
    _, left = decisions.set_left_out([a.id], True)
    _, turned = decisions.rotate([a.id], 90)
    decisions.undo(turned)
    everything = decisions.recent(undos=True)
    assert [r.kind for r in everything] == [DecisionKind.UNDO, DecisionKind.ROTATE, DecisionKind.LEAVE_OUT]
    assert everything[0].is_undo
    recent = decisions.recent()  # what people see: their actions, the undone ones marked
    assert [r.kind for r in recent] == [DecisionKind.ROTATE, DecisionKind.LEAVE_OUT]
    assert recent[0].undone and not recent[1].undone and recent[1].files == 1


def test_counts_kept_by_triggers_equal_a_count_of_the_table(library):
    """After every kind of change (insert, update, delete), the trigger-kept counts are the
    same as counting `file` afresh."""
    a, b, c = library[0], library[1], library[2]
    decisions.set_left_out([a.id], True)
    timefix.confirm([b.id])
    timefix.leave_undated([c.id])
    db.session.execute(text("UPDATE file SET status = 'error' WHERE id = :i"), {"i": library[3].id})
    db.session.execute(text("DELETE FROM file WHERE id = :i"), {"i": library[4].id})
    add_file(n=99, taken_at=datetime(2020, 1, 1, tzinfo=UTC), taken_local="2020-01-01T01:00:00", media_kind="video")
    db.session.commit()
    kept_states, kept_days = sorted(counts.states(), key=str), counts.days()
    counts.recount()
    assert sorted(counts.states(), key=str) == kept_states
    assert counts.days() == kept_days
    summary = counts.summary()
    assert (summary.files, summary.left_out, summary.unreadable, summary.videos, summary.undated) == (4, 1, 1, 1, 1)
    assert dict(kept_days) == {"2019-06-02": 1, "2019-06-06": 1, "2020-01-01": 1}


def test_every_decision_kind_in_the_log_is_revertible(library):
    """No kind of decision a person can make is left without an undo."""
    decisions._load_reverters()
    person_kinds = set(DecisionKind) - {DecisionKind.UNDO}
    assert person_kinds <= set(decisions._REVERTERS)


def test_the_export_counts_a_left_out_file_as_left_out(app, library, tmp_path):
    from app.pipeline import export_plan

    for i, row in enumerate(library):
        row.sha256 = f"{i:064x}"
    db.session.commit()
    decisions.set_left_out([library[0].id], True)
    plan = export_plan.dry_run(tmp_path / "archive", app.config["MEDIAPARSER"])
    reasons = {f.file_id: f.reason for f in plan.files if f.action == "skip"}
    assert reasons == {library[0].id: "discarded"}
    assert export_plan.SKIP_REASONS["discarded"].startswith("left out")


def test_the_count_triggers_exist_after_every_migration(app):
    """A later migration that re-creates `file` would drop them silently: the counts would
    stop following the library (and the grid skips parts the counts call empty)."""
    if on_postgres():
        pytest.skip("the count triggers are SQLite's; other databases count from `file` itself")
    names = set(db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert {
        "file_state_count_insert",
        "file_state_count_update",
        "file_state_count_delete",
        "file_day_count_update",
        "file_tag_taken_insert",
        "file_tag_taken_update",
    } <= names


def test_another_kind_with_old_and_new_columns_is_undone_by_the_generic_reverter(library):
    """A helper that records {"old": {...}, "new": {...}} of File columns needs no reverter."""
    a = library[0]
    batch = decisions.new_batch()
    decisions.record("place_set", batch, {"old": {"camera_make": None}, "new": {"camera_make": "Leica"}}, a.id)
    a.camera_make = "Leica"
    db.session.commit()
    assert decisions.undo(batch) == 1 and fresh(a).camera_make is None
    odd = decisions.new_batch()
    decisions.record("mystery", odd, {"something": 1}, a.id)
    db.session.commit()
    with pytest.raises(decisions.UndoError, match="cannot be undone"):
        decisions.undo(odd)
