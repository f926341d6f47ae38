"""The review grid's query: combinable filters, capture-time order, keyset pagination.

Order: files with a capture time by (taken_at, id) — oldest first, or newest first — then
files without one, by id. A page continues from a cursor (the last row's key) instead of
an OFFSET, so page 500 costs what page 1 costs; the (taken_at, id) and
(needs_review, taken_at, id) indexes serve it. One query per page, never one per file.

A tag filter walks the tag's own (tag, taken_at, file) index (file_tag.taken_at is kept in
step by triggers on SQLite), so "tag + date range" is one index range too. Counts come from
the state counts the database keeps (app/pipeline/counts.py) where the filter allows, and are
otherwise counted up to COUNT_CAP ("more than 5,000").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Select, and_, case, distinct, func, or_, select, text, tuple_
from werkzeug.datastructures import MultiDict

from ..models import DuplicateGroup, File, FileStatus, FileTag, Tag, db, tag_key
from ..pipeline import counts
from ..pipeline.triage import REASONS
from ..vocab import CompanionRole, Confidence, GroupKind, MediaKind
from .filters import confidence_help, confidence_label
from .security import ApiError

PAGE_SIZE = 120
COUNT_CAP = 5_000  # beyond this a filter that no count serves says "more than 5,000"
CONFIDENCES = tuple(sorted(Confidence, reverse=True))  # high, medium, low, none: as the filter lists them
DUP_CHOICES = {
    "": "All files",
    "open": "Duplicates to sort out",
    "any": "In a duplicate group",
    "none": "No duplicates",
    "removed": "Left out of the archive",
}
VISIBLE = (FileStatus.DONE, FileStatus.DUPLICATE)  # files that have content to look at

# The roles a set's parts have, as bits (one number per tile: its badges).
PART_BITS = {CompanionRole.VIDEO: 1, CompanionRole.RAW: 2, CompanionRole.EDIT: 4, CompanionRole.SIDECAR: 8}
_PART = File.__table__.alias("part")
# the tile's parts as a sum of distinct bits, from the (companion_of, companion_role) index
SET_PARTS = (
    select(
        func.coalesce(
            func.sum(distinct(case(*((_PART.c.companion_role == r, b) for r, b in PART_BITS.items()), else_=0))), 0
        )
    )
    .where(_PART.c.companion_of == File.id)
    .correlate(File)
    .scalar_subquery()
    .label("set_parts")
)

# Columns a grid tile needs (no JSON blobs).
TILE_COLUMNS = (
    File.id,
    File.thumb_key,
    File.original_name,
    File.relative_dir,
    File.taken_at,
    File.taken_local,
    File.taken_precision,
    File.taken_source,
    File.confidence,
    File.needs_review,
    File.time_decided,
    File.media_kind,
    File.duration,
    File.group_id,
    File.discarded,
    File.rotation,
    File.companion_role,
    SET_PARTS,
    DuplicateGroup.status.label("group_status"),
    DuplicateGroup.kind.label("group_kind"),
)


@dataclass
class Filters:
    review: bool = False
    reason: str = ""  # a ReviewReason (or "other"): only files that need a look for it
    confidence: list[str] = field(default_factory=list)
    dup: str = ""
    tag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    kind: str = ""
    q: str = ""
    job: int | None = None
    order: str = "asc"  # capture time: asc (oldest first) | desc

    @classmethod
    def from_args(cls, args: MultiDict | dict) -> Filters:
        if not isinstance(args, MultiDict):
            args = MultiDict(args)
        f = cls()
        f.review = args.get("review", "") in ("1", "on", "true", "yes")
        f.reason = args.get("reason", "") or ""
        if f.reason and f.reason not in REASONS:
            raise ApiError(f"Unknown reason {f.reason!r}.")
        f.confidence = [c for c in args.getlist("confidence") if c]
        for c in f.confidence:
            if c not in CONFIDENCES:
                raise ApiError(f"Unknown confidence {c!r}: use high, medium, low or none.")
        f.dup = args.get("dup", "") or ""
        if f.dup not in DUP_CHOICES:
            raise ApiError(f"Unknown duplicate filter {f.dup!r}.")
        f.tag = " ".join((args.get("tag", "") or "").split())
        f.date_from = _parse_date(args.get("from"), "from")
        f.date_to = _parse_date(args.get("to"), "to")
        if f.date_from and f.date_to and f.date_to < f.date_from:
            raise ApiError("The end date is before the start date.")
        f.kind = args.get("kind", "") or ""
        if f.kind not in ("", *MediaKind):
            raise ApiError("Type must be photos (image) or videos (video).")
        f.q = (args.get("q", "") or "").strip()[:200]
        job = (args.get("job", "") or "").strip()
        if job:
            if not job.isdigit():
                raise ApiError("The job number must be a number.")
            f.job = int(job)
        f.order = args.get("order", "asc") or "asc"
        if f.order not in ("asc", "desc"):
            raise ApiError("Order must be asc (oldest first) or desc (newest first).")
        return f

    def to_args(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        if self.review:
            out.append(("review", "1"))
        if self.reason:
            out.append(("reason", self.reason))
        out += [("confidence", c) for c in self.confidence]
        for key, value in (
            ("dup", self.dup),
            ("tag", self.tag),
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("kind", self.kind),
            ("q", self.q),
            ("job", self.job or ""),
        ):
            if value:
                out.append((key, value))
        if self.order != "asc":
            out.append(("order", self.order))
        return out

    def query_string(self) -> str:
        return urlencode(self.to_args())

    @property
    def active(self) -> bool:
        return any(v for k, v in self.to_args() if k != "order")

    @property
    def counted(self) -> bool:
        """Whether the database's state counts answer this filter exactly."""
        return not (self.tag or self.date_from or self.date_to or self.q or self.job) and self.dup in ("", "removed")


def _parse_date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ApiError(f"The {name} date must look like 2019-06-15.") from None


def _tag_driven(f: Filters) -> bool:
    """Walk the tag's (tag, taken_at, file) index instead of the file table (SQLite: the
    triggers of migration 0006 keep file_tag.taken_at)."""
    return bool(f.tag) and db.engine.dialect.name == "sqlite"


def _tag_id(f: Filters) -> int:
    found = db.session.execute(select(Tag.id).where(Tag.key == tag_key(f.tag))).scalar()
    return -1 if found is None else found  # no such tag: matches nothing


def _conditions(f: Filters, zone: ZoneInfo, driven: bool = False) -> list:
    """The filter as conditions; `driven`: the query reads file_tag joined to file (the tag
    and the date range are then conditions on file_tag)."""
    taken = FileTag.taken_at if driven else File.taken_at
    cond: list = [File.status.in_([str(s) for s in VISIBLE])]
    if f.dup == "removed":
        cond.append(File.discarded.is_(True))
    else:
        cond.append(File.discarded.is_(False))
    if f.review or f.reason:
        cond.append(File.needs_review.is_(True))
    if f.reason:
        cond.append(File.review_reason.is_(None) if f.reason == "other" else File.review_reason == f.reason)
    if f.confidence:
        cond.append(File.confidence.in_(f.confidence))
    if f.dup == "open":
        cond.append(File.group_id.in_(select(DuplicateGroup.id).where(DuplicateGroup.status == "open")))
    elif f.dup == "any":
        # the same as "group_id IS NOT NULL", in a form the planner sees is selective
        cond.append(File.group_id.in_(select(DuplicateGroup.id)))
    elif f.dup == "none":
        cond.append(File.group_id.is_(None))
    if f.tag and driven:
        cond.append(FileTag.tag_id == _tag_id(f))
    elif f.tag:
        cond.append(File.id.in_(select(FileTag.file_id).where(FileTag.tag_id == _tag_id(f))))
    if f.date_from:
        cond.append(taken >= _utc_param(datetime.combine(f.date_from, time(), zone)))
    if f.date_to:
        cond.append(taken < _utc_param(datetime.combine(f.date_to + timedelta(days=1), time(), zone)))
    if f.kind:
        cond.append(File.media_kind == f.kind)
    if f.q:
        cond.append(_name_search(f.q))
    if f.job:
        cond.append(File.job_id == f.job)
    return cond


def _name_search(q: str):
    if db.engine.dialect.name == "sqlite" and len(q) >= 3:
        # the trigram index of names and folders (migration 0004): substring search in ~1 ms
        phrase = '"' + q.replace('"', '""') + '"'
        matches = text("SELECT rowid FROM file_name_search WHERE file_name_search MATCH :phrase")
        return File.id.in_(matches.bindparams(phrase=phrase))
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # SQLite's LIKE ignores ASCII case already (ILIKE would add lower() on every row).
    like = "like" if db.engine.dialect.name == "sqlite" else "ilike"
    match = or_(
        getattr(File.original_name, like)(pattern, escape="\\"),
        getattr(File.relative_dir, like)(pattern, escape="\\"),
    )
    # Matched once into a set, then the capture-time index is walked against it: a rare
    # name costs one scan, not a table lookup per file in capture order.
    return File.id.in_(select(File.id).where(match))


# --- cursors: "d|<taken_at iso>|<id>" inside the dated part, "u|<id>" in the undated part ----

_CURSOR = re.compile(r"^(d)\|([0-9T:.+\- ]{10,40})\|(\d+)$|^(u)\|(\d+)$")


@dataclass(frozen=True)
class Cursor:
    dated: bool
    taken_at: datetime | None
    id: int

    def encode(self) -> str:
        if self.dated:
            return f"d|{self.taken_at.astimezone(UTC).isoformat()}|{self.id}"
        return f"u|{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        m = _CURSOR.match(text)
        if not m:
            raise ApiError("That page link is damaged. Start again from the first page.")
        if m[1]:
            try:
                taken = datetime.fromisoformat(m[2])
            except ValueError:
                raise ApiError("That page link is damaged. Start again from the first page.") from None
            return cls(True, taken if taken.tzinfo else taken.replace(tzinfo=UTC), int(m[3]))
        return cls(False, None, int(m[5]))

    @classmethod
    def of(cls, row) -> Cursor:
        return cls(row.taken_at is not None, row.taken_at, row.id)


def _tile_select(cond: list, driven: bool) -> Select:
    query = select(*TILE_COLUMNS)
    if driven:
        query = query.select_from(FileTag).join(File, File.id == FileTag.file_id)
    return query.outerjoin(DuplicateGroup, DuplicateGroup.id == File.group_id).where(and_(*cond))


def page(
    f: Filters, zone: ZoneInfo, after: Cursor | None = None, limit: int = PAGE_SIZE, backwards: bool = False
) -> tuple[list, Cursor | None]:
    """Up to `limit` tiles after `after` in the filter's order; and the cursor of the next
    page (None at the end). `backwards` walks the other way (previous file)."""
    driven = _tag_driven(f)
    cond = _conditions(f, zone, driven)
    taken, ident = (FileTag.taken_at, FileTag.file_id) if driven else (File.taken_at, File.id)
    ascending = (f.order == "asc") != backwards
    # In the forward direction dated files come first; walking backwards they come last.
    dated_first = not backwards
    rows: list = []
    parts = [True, False] if dated_first else [False, True]
    start = 0
    if after is not None:
        start = parts.index(after.dated)
    for part in parts[start:]:
        if f.counted and not _counted(f, dated=part):
            continue  # the counts say this part is empty: do not walk an index to find out
        need = limit + 1 - len(rows)
        q = _tile_select(cond, driven)
        if part:
            q = q.where(taken.is_not(None))
            key = tuple_(taken, ident)
            if after is not None and after.dated:
                bound = tuple_(_utc_param(after.taken_at), after.id)
                q = q.where(key > bound if ascending else key < bound)
            order = (taken.asc(), ident.asc()) if ascending else (taken.desc(), ident.desc())
        else:
            q = q.where(taken.is_(None))
            if after is not None and not after.dated:
                q = q.where(ident > after.id if ascending else ident < after.id)
            order = (ident.asc(),) if ascending else (ident.desc(),)
        if f.dup in ("open", "any") and not driven:
            # the group's files in capture order come from one covering index: pick the page's
            # ids there, then read only those rows
            ids = q.with_only_columns(File.id).order_by(*order).limit(need)
            q = _tile_select([File.id.in_(ids.scalar_subquery())], driven)
        rows += db.session.execute(q.order_by(*order).limit(need)).all()
        after = None  # the next part starts from its beginning
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (Cursor.of(rows[-1]) if more and rows else None)


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def jump_cursor(month: str, f: Filters, zone: ZoneInfo) -> Cursor:
    """A cursor that starts a page at `month` (YYYY-MM) in the filter's order."""
    m = _MONTH.match(month or "")
    if not m:
        raise ApiError("The month must look like 2019-06.")
    year, number = int(m[1]), int(m[2])
    start = datetime(year, number, 1, tzinfo=zone)
    if f.order == "desc":
        start = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return Cursor(True, start.astimezone(UTC), 0)


def _utc_param(value: datetime):
    from sqlalchemy import literal

    from ..models import UTCDateTime

    return literal(value, UTCDateTime())


def _counted(f: Filters, dated: bool | None = None) -> int:
    return counts.matching(f.review, f.confidence, f.reason, f.kind, left_out=f.dup == "removed", dated=dated)


def count(f: Filters, zone: ZoneInfo) -> tuple[int, bool]:
    """(how many files match, whether there are more than that: a count capped at COUNT_CAP)."""
    if f.counted:
        return _counted(f), False
    driven = _tag_driven(f)
    inner = select(File.id)
    if driven:
        inner = inner.select_from(FileTag).join(File, File.id == FileTag.file_id)
    inner = inner.where(and_(*_conditions(f, zone, driven))).limit(COUNT_CAP + 1).subquery()
    n = db.session.execute(select(func.count()).select_from(inner)).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP


def matching_ids(f: Filters, zone: ZoneInfo) -> list[int]:
    """Every file the filter matches ('select all that match')."""
    return list(db.session.execute(select(File.id).where(and_(*_conditions(f, zone)))).scalars())


def neighbours(f: Filters, zone: ZoneInfo, file: File) -> tuple[int | None, int | None]:
    """Previous and next file ids around `file` in the filter's order."""
    here = Cursor(file.taken_at is not None, file.taken_at, file.id)
    nxt, _ = page(f, zone, here, limit=1)
    prev, _ = page(f, zone, here, limit=1, backwards=True)
    return (prev[0].id if prev else None), (nxt[0].id if nxt else None)


def tile_badges(row) -> list[tuple[str, str, str]]:
    """(css class, label, explanation) for a tile, in the order shown."""
    return _badge_list(*_badge_key(row))


_GROUP_LABELS = {  # an open group's badge and what it means
    GroupKind.SIMILAR: ("Similar", "Part of a group of similar shots waiting for your decision."),
    GroupKind.VERSION: (
        "Version",
        "Part of a group of versions of one picture (turned, cropped, black-and-white, ...) waiting for your decision.",
    ),
}
_COPIES = ("Duplicate", "Part of a duplicate group waiting for your decision.")
_SET_BADGES = (  # (bit of the parts' roles, css class, label, explanation)
    (
        1,
        "live",
        "Live Photo",
        "A Live Photo: the picture and its short video are one item, kept and exported together.",
    ),
    (2, "rawjpeg", "RAW + JPEG", "The camera saved this shot as RAW and as JPEG: both are kept and exported together."),
    (4, "edited", "Edited", "An edited version travels with this original: both are exported, side by side."),
    (
        8,
        "sidecar",
        "+ sidecar",
        "An edit or metadata file (.AAE, .xmp) belongs to this picture and is exported beside it.",
    ),
)


def _set_badges(role, parts: int) -> list[tuple[str, str, str]]:
    badges = []
    if role == CompanionRole.MOTION:
        badges.append(("motion", "Motion photo", "A motion photo: a short video is kept inside this picture."))
    return badges + [(cls, label, why) for bit, cls, label, why in _SET_BADGES if (parts or 0) & bit]


def _badge_list(time_decided, confidence, discarded, grouped, group_status, group_kind, media_kind, role, parts):
    badges = []
    if time_decided:
        badges.append(("decided", "Checked", "You confirmed or set this date."))
    else:
        badges.append((f"conf-{confidence}", confidence_label(confidence), confidence_help(confidence)))
    if discarded:
        badges.append(("removed", "Left out", "Left out of the archive (the file itself is untouched)."))
    elif grouped and group_status == "open":
        label, why = _GROUP_LABELS.get(group_kind, _COPIES)
        badges.append(("dup", label, why))
    elif grouped and group_status == "resolved":
        badges.append(("kept", "Kept", "Kept when its duplicates were sorted out."))
    if media_kind == MediaKind.VIDEO:
        badges.append(("video", "Video", "A video."))
    return badges + _set_badges(role, parts)


@lru_cache(maxsize=256)
def _badges_markup(key: tuple) -> Markup:
    parts = [
        Markup('<span class="badge {}" title="{}">{}</span>').format(cls, help_text, label)
        for cls, label, help_text in _badge_list(*key)
    ]
    return Markup("").join(parts)


def set_badges_html(file_ids: list[int]) -> dict[int, Markup]:
    """{file id: its companion badges} for a few files that are the main file of a set (the
    check-dates examples: one picture stands for its Live Photo, RAW + JPEG, ...)."""
    rows = db.session.execute(
        select(File.id, File.companion_role, SET_PARTS).where(File.id.in_(file_ids), File.companion_role.is_not(None))
    ).all()
    return {
        r.id: Markup("").join(
            Markup('<span class="badge {}" title="{}">{}</span>').format(cls, why, label)
            for cls, label, why in _set_badges(r.companion_role, int(r.set_parts or 0))
        )
        for r in rows
    }


def badges_html(row) -> Markup:
    """The tile's badges as HTML (few distinct combinations: built once each, then reused)."""
    return _badges_markup(_badge_key(row))


def _badge_key(row) -> tuple:
    return (
        row.time_decided,
        row.confidence,
        row.discarded,
        row.group_id is not None,
        row.group_status,
        row.group_kind,
        row.media_kind,
        row.companion_role,
        int(row.set_parts or 0),
    )


def resolve_selection(payload: Any, zone: ZoneInfo) -> list[int]:
    """A bulk action's files: {"ids": [...]} or {"filter": "<query string>"} (all that match)."""
    if not isinstance(payload, dict):
        raise ApiError('Send the selection as JSON: {"ids": [...]} or {"filter": "..."}.')
    if payload.get("filter") is not None:
        from urllib.parse import parse_qsl

        text = payload["filter"]
        if not isinstance(text, str):
            raise ApiError("The filter must be a query string.")
        return matching_ids(Filters.from_args(MultiDict(parse_qsl(text.lstrip("?")))), zone)
    ids = payload.get("ids")
    if not isinstance(ids, list) or not ids:
        raise ApiError("Select one or more files first.")
    try:
        clean = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ApiError("File ids must be numbers.") from None
    found: set[int] = set()
    for i in range(0, len(clean), 10_000):  # stay under SQLite's limit of bound variables
        chunk = clean[i : i + 10_000]
        found.update(db.session.execute(select(File.id).where(File.id.in_(chunk))).scalars())
    missing = [i for i in clean if i not in found]
    if missing:
        raise ApiError(f"{len(missing)} of the selected files no longer exist. Reload the page.", 404)
    return clean
