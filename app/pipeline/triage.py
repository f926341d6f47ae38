"""Triage: the dates that need a look, grouped by why (vocab.ReviewReason), each reason with
words for people and the batch answers that fit it. Every answer can be previewed (what each
file's date is now, what it becomes) before it is applied, and is one undoable action in the
decision log (it goes through app/pipeline/timefix.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select

from ..media import reasons
from ..models import File, db
from ..vocab import FileStatus, ReviewReason
from . import timefix

OTHER = "other"  # files flagged before reasons were recorded (no review_reason)


@dataclass(frozen=True)
class Answer:
    key: str  # confirm | undated | file_time
    label: str  # the button, with {n} for the count
    after: str  # what the preview says each file becomes ("" = its date now)
    done: str  # the message afterwards, with {n}


CONFIRM = "confirm"
UNDATED = "undated"
FILE_TIME = "file_time"
_UNDATED = Answer(UNDATED, "Leave these {n} undated", "No date (goes to undated/)", "Left {n} undated.")
_FILE_TIME = Answer(FILE_TIME, "Use the file dates for these {n}", "", "Used the file dates for {n}.")


def _confirm(label: str) -> Answer:
    return Answer(CONFIRM, label, "", "Marked the dates of {n} as right.")


@dataclass(frozen=True)
class Reason:
    key: str
    title: str
    explanation: str
    answers: tuple[Answer, ...]


REASONS: dict[str, Reason] = {
    r.key: r
    for r in (
        Reason(
            ReviewReason.PLACEHOLDER,
            "A device's start date",
            "The camera's clock was never set, so the date it wrote (such as 1 January 2000) is not real.",
            (_UNDATED, _FILE_TIME),
        ),
        Reason(
            ReviewReason.NO_DATE, "No date at all", "Nothing in these files says when they were taken.", (_UNDATED,)
        ),
        Reason(
            ReviewReason.ONLY_FILE_TIME,
            "Only a file date",
            "The only clue is the day the file was last changed or copied. Copying resets it, so it is a hint, "
            "not a real date.",
            (_UNDATED, _FILE_TIME),
        ),
        Reason(
            ReviewReason.SOURCES_DISAGREE,
            "Clues that disagree",
            "Two trustworthy clues in each file point to different moments, and no time zone explains it. "
            "MediaParser chose the more trustworthy one.",
            (_confirm("Keep the chosen dates for these {n}"),),
        ),
        Reason(
            ReviewReason.ZONE_MIXUP,
            "A time-zone mix-up",
            "Clues differ by whole hours: one was probably written in another time zone.",
            (_confirm("Keep the camera's time for these {n}"),),
        ),
        Reason(
            ReviewReason.CAMERA_VS_FOLDER,
            "Camera date and folder name differ",
            "The camera recorded a date, but the name of the folder says another year or month.",
            (_confirm("Trust the camera over the folder name for these {n}"),),
        ),
        Reason(
            ReviewReason.DAY_ONLY_NAME,
            "Only the day a messaging app sent it",
            "WhatsApp and similar apps remove the camera's date; the file name keeps the day the picture was sent.",
            (_confirm("Accept the day for these {n} pictures"),),
        ),
        Reason(
            ReviewReason.WEAK_CLUE,
            "Only a weak clue",
            "A folder's name, or the date a program last changed the file, is all there is.",
            (_confirm("Accept these {n} dates"),),
        ),
        Reason(
            OTHER, "Other doubtful dates", "Dates MediaParser is unsure about.", (_confirm("Accept these {n} dates"),)
        ),
    )
}


def reason(key: str) -> Reason:
    if key not in REASONS:
        raise ValueError(f"Unknown reason {key!r}.")
    return REASONS[key]


def answer(reason_key: str, answer_key: str) -> Answer:
    found = next((a for a in reason(reason_key).answers if a.key == answer_key), None)
    if found is None:
        raise ValueError("That answer does not fit these files.")
    return found


def _where(reason_key: str) -> list:
    cond = [
        File.status.in_([str(FileStatus.DONE), str(FileStatus.DUPLICATE)]),
        File.discarded.is_(False),
        File.needs_review.is_(True),
    ]
    cond.append(File.review_reason.is_(None) if reason_key == OTHER else File.review_reason == reason_key)
    return cond


def examples(reason_key: str, limit: int = 6) -> list[Any]:
    """A few files of a reason, oldest first (the index on reason and time serves it)."""
    return list(
        db.session.execute(
            select(
                File.id,
                File.thumb_key,
                File.original_name,
                File.relative_dir,
                File.taken_local,
                File.taken_precision,
                File.media_kind,
                File.rotation,
            )
            .where(and_(*_where(reason_key)))
            .order_by(File.review_reason, File.taken_at, File.id)
            .limit(limit)
        ).all()
    )


def file_ids(reason_key: str) -> list[int]:
    reason(reason_key)
    return list(db.session.execute(select(File.id).where(and_(*_where(reason_key))).order_by(File.id)).scalars())


@dataclass
class Preview:
    count: int
    rows: list[dict[str, Any]]  # the first files: name, now, after


def preview(reason_key: str, answer_key: str, zone: ZoneInfo, show: int = 20) -> Preview:
    """What the answer would do, before anything changes (file times shown in `zone`)."""
    the_answer = answer(reason_key, answer_key)
    ids = file_ids(reason_key)
    rows = []
    if ids:
        files = db.session.execute(select(File).where(File.id.in_(ids[:show])).order_by(File.id)).scalars()
        rows = [_preview_row(f, the_answer, zone) for f in files]
    return Preview(len(ids), rows)


def _preview_row(f: File, the_answer: Answer, zone: ZoneInfo) -> dict[str, Any]:
    """One file of a preview: its date now, and what it becomes ("after" in words, or
    "after_local": the file time it takes, as a wall clock in `zone`)."""
    row = {
        "id": f.id,
        "name": f.original_name,
        "folder": f.relative_dir,
        "now": f.taken_local,
        "precision": f.taken_precision,
        "file_time": reasons.is_file_time(f.taken_source) and not f.time_decided,
        "after": the_answer.after,
        "after_local": None,
    }
    if the_answer.key == FILE_TIME:
        hint = next((c for c in f.time_candidates or [] if c.get("source") == "mtime" and c.get("timestamp")), None)
        if hint:
            local = datetime.fromisoformat(hint["timestamp"]).astimezone(zone).replace(tzinfo=None)
            row["after_local"] = local.isoformat()
        else:
            row["after"] = "stays as it is (no file date)"
    return row


def apply(reason_key: str, answer_key: str, zone: ZoneInfo, expected: int | None = None) -> tuple[int, str]:
    """Do the answer for every file of the reason, as one action. `expected` is the count the
    person saw in the preview: if it changed meanwhile, nothing happens (ValueError)."""
    the_answer = answer(reason_key, answer_key)
    ids = file_ids(reason_key)
    if not ids:
        raise ValueError("There are no files left for this answer.")
    if expected is not None and expected != len(ids):
        raise ValueError(f"The number of files changed ({expected} → {len(ids)}). Look at the preview again.")
    details = {"answer": the_answer.key, "reason": reason_key}
    if the_answer.key == UNDATED:
        return len(ids), timefix.leave_undated(ids, **details)
    if the_answer.key == FILE_TIME:
        return timefix.use_file_times(ids, zone, **details)
    return len(ids), timefix.confirm(ids, **details)
