"""How many files are in each state, and on each day, without counting a million rows.

On SQLite, triggers on `file` (migration 0006) keep `file_state_count` (one row per
combination of status, left out, needs review, review reason, confidence, dated, kind) and
`file_day_count` current as rows change, whoever changes them: an import, a person's
decision, a re-detection. Reading them is a few hundred rows. On other databases the same
figures are counted from `file` itself (correct, slower). `recount` rebuilds the tables
from `file` (a repair; the tests compare both ways).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import case, delete, func, or_, select, text

from ..models import File, FileDayCount, FileStateCount, db
from ..vocab import Confidence, FileStatus, MediaKind, ReviewReason

VISIBLE = (FileStatus.DONE, FileStatus.DUPLICATE)  # imported: something to look at

# The state key, as the triggers build it (keep in step with migrations/versions/0007_review.py).
_KEY_SQL = (
    "coalesce(status, '') || '|' || coalesce(discarded, 0) || '|' || coalesce(needs_review, 0) || '|' || "
    "coalesce(review_reason, '') || '|' || coalesce(confidence, '') || '|' || (taken_at IS NOT NULL) || '|' || "
    "coalesce(media_kind, '')"
)
_ON_TIMELINE_SQL = "status IN ('done', 'duplicate') AND coalesce(discarded, 0) = 0 AND taken_local IS NOT NULL"


def _flag(condition):
    return case((condition, "1"), else_="0")


def _key():
    """The same key for databases without the triggers (PostgreSQL: no boolean || text)."""
    parts = (
        _flag(File.discarded.is_(True)),
        _flag(File.needs_review.is_(True)),
        func.coalesce(File.review_reason, ""),
        func.coalesce(File.confidence, ""),
        _flag(File.taken_at.is_not(None)),
        func.coalesce(File.media_kind, ""),
    )
    key = func.coalesce(File.status, "")
    for part in parts:
        key = key + "|" + part
    return key


def _on_timeline():
    return (
        File.status.in_([str(s) for s in VISIBLE]),
        or_(File.discarded.is_(None), File.discarded.is_(False)),
        File.taken_local.is_not(None),
    )


@dataclass(frozen=True)
class State:
    status: str
    left_out: bool
    needs_review: bool
    reason: str
    confidence: str
    dated: bool
    kind: str

    @classmethod
    def parse(cls, key: str) -> State:
        status, left_out, review, reason, conf, dated, kind = (key.split("|") + [""] * 7)[:7]
        return cls(status, left_out == "1", review == "1", reason, conf, dated == "1", kind)

    @property
    def visible(self) -> bool:
        return self.status in VISIBLE


def _live() -> bool:
    """Whether the trigger-kept tables are there to read (SQLite)."""
    return db.engine.dialect.name == "sqlite"


def states() -> list[tuple[State, int]]:
    """(state, how many files), for every state that has files."""
    if _live():
        rows = db.session.execute(select(FileStateCount.key, FileStateCount.n).where(FileStateCount.n != 0)).all()
    else:
        rows = db.session.execute(select(_key(), func.count()).select_from(File).group_by(text("1"))).all()
    return [(State.parse(key), n) for key, n in rows]


def _per_day():
    """(day, n) rows of files on the timeline (imported, not left out, with a date)."""
    if _live():
        return select(FileDayCount.day.label("day"), FileDayCount.n.label("n")).where(FileDayCount.n > 0).subquery()
    day = func.substr(File.taken_local, 1, 10)
    return select(day.label("day"), func.count().label("n")).where(*_on_timeline()).group_by(day).subquery()


def days() -> list[tuple[str, int]]:
    """(YYYY-MM-DD, files taken that day), oldest first."""
    per_day = _per_day()
    return [(d, n) for d, n in db.session.execute(select(per_day.c.day, per_day.c.n).order_by(per_day.c.day))]


def months() -> list[tuple[str, int]]:
    """(YYYY-MM, files taken that month), oldest first: summed by the database."""
    per_day = _per_day()
    month = func.substr(per_day.c.day, 1, 7)
    return [(m, n) for m, n in db.session.execute(select(month, func.sum(per_day.c.n)).group_by(month).order_by(month))]


def average_day() -> float:
    """How many files a day with files holds on average."""
    per_day = _per_day()
    days_with_files, files = db.session.execute(select(func.count(), func.sum(per_day.c.n)).select_from(per_day)).one()
    return (files or 0) / max(days_with_files or 0, 1)


def busy_days(at_least: float, also: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """The days holding at least `at_least` files, and the days in `also` that hold any."""
    per_day = _per_day()
    rows = db.session.execute(
        select(per_day.c.day, per_day.c.n).where((per_day.c.n >= at_least) | per_day.c.day.in_(also))
    ).all()
    return sorted((d, n) for d, n in rows)


def recount() -> None:
    """Rebuild the counts from `file` (SQLite; elsewhere there is nothing to rebuild)."""
    if not _live():
        return
    db.session.execute(delete(FileStateCount))
    db.session.execute(delete(FileDayCount))
    db.session.execute(text(f"INSERT INTO file_state_count(key, n) SELECT {_KEY_SQL}, count(*) FROM file GROUP BY 1"))
    db.session.execute(
        text(
            "INSERT INTO file_day_count(day, n) SELECT substr(taken_local, 1, 10), count(*) FROM file "
            f"WHERE {_ON_TIMELINE_SQL} GROUP BY 1"
        )
    )
    db.session.commit()


@dataclass
class Summary:
    """The figures the home and triage pages show."""

    files: int = 0  # imported and in the library (not left out)
    photos: int = 0
    videos: int = 0
    unique: int = 0  # of those, distinct content (exact copies once): what an export writes
    left_out: int = 0
    review: int = 0  # dates that need a look
    review_unique: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_confidence: dict[str, int] = field(default_factory=dict)
    undated: int = 0
    waiting: int = 0  # found by an import, not read yet
    unreadable: int = 0

    @property
    def empty(self) -> bool:
        return not (self.files or self.left_out or self.waiting)


def summary() -> Summary:
    s = Summary()
    reasons: Counter[str] = Counter()
    confidences: Counter[str] = Counter()
    for state, n in states():
        if state.status == FileStatus.PENDING:
            s.waiting += n
        elif state.status == FileStatus.ERROR:
            s.unreadable += n
        if not state.visible:
            continue
        if state.left_out:
            s.left_out += n
            continue
        _add_visible(s, state, n, reasons, confidences)
    s.by_reason = {str(r): reasons[str(r)] for r in ReviewReason if reasons[str(r)]}
    if reasons[""]:
        s.by_reason["other"] = reasons[""]
    s.by_confidence = {str(c): confidences[str(c)] for c in Confidence}
    return s


def _add_visible(s: Summary, state: State, n: int, reasons: Counter, confidences: Counter) -> None:
    s.files += n
    s.videos += n if state.kind == MediaKind.VIDEO else 0
    s.photos += n if state.kind != MediaKind.VIDEO else 0
    s.unique += n if state.status == FileStatus.DONE else 0
    s.undated += 0 if state.dated else n
    confidences[state.confidence] += n
    if state.needs_review:
        s.review += n
        s.review_unique += n if state.status == FileStatus.DONE else 0
        reasons[state.reason] += n


def matching(
    review: bool = False,
    confidence: list[str] | None = None,
    reason: str = "",
    kind: str = "",
    left_out: bool = False,
    dated: bool | None = None,
) -> int:
    """How many visible files match a filter made only of these fields (the grid's count
    for such filters comes from here, not from the table); `dated`: only those with (True)
    or without (False) a capture time."""
    total = 0
    for state, n in states():
        if not state.visible or state.left_out != left_out or (dated is not None and state.dated != dated):
            continue
        if (review or reason) and not state.needs_review:
            continue
        if confidence and state.confidence not in confidence:
            continue
        if reason and state.reason != ("" if reason == "other" else reason):
            continue
        if kind and state.kind != kind:
            continue
        total += n
    return total
