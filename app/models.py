"""Database models (SQLAlchemy 2 typed style).

Instants are stored as UTC (`UTCDateTime` makes them timezone-aware on the way out);
a capture time additionally keeps the local wall-clock time and offset it was taken in.
Perceptual hashes are signed 64-bit integers so SQLite and PostgreSQL BIGINT hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .media.tags import key as tag_key
from .vocab import (  # noqa: F401 - re-exported: the models' vocabulary
    ACTIVE_JOB_STATES,
    FINISHED_JOB_STATES,
    CompanionRole,
    Confidence,
    DecisionKind,
    FileSource,
    FileStatus,
    GroupKind,
    GroupStatus,
    ItemStatus,
    JobControl,
    JobKind,
    JobStatus,
    MediaKind,
    Precision,
)
from .wording import display_path

# Stable constraint names make Alembic migrations reproducible (and SQLite batch mode work).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


def insert_ignore(model):
    """INSERT that skips rows whose unique key exists (SQLite and PostgreSQL alike)."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model).on_conflict_do_nothing()


def conflict_key(model, columns: Iterable[str]) -> tuple[str, ...]:
    """The unique key the rows of `model` meet each other on: the primary key when the rows
    give it, else the first unique constraint they fill."""
    given = set(columns)
    table = model.__table__
    keys = [tuple(c.name for c in table.primary_key.columns)]
    keys += [tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
    keys += [tuple(c.name for c in i.columns) for i in table.indexes if i.unique]
    for key in keys:
        if key and given.issuperset(key):
            return key
    raise ValueError(f"rows for {table.name} give none of its unique keys")


def insert_rows(model, rows: list[dict], chunk: int = 500) -> None:
    """Insert many rows, skipping those that exist, in the order of their unique key.

    On PostgreSQL a row being inserted holds its key until the transaction ends; two
    transactions inserting overlapping keys in different orders wait for each other for
    ever (a deadlock). Sorted by key, they queue up instead."""
    if not rows:
        return
    key = conflict_key(model, rows[0])
    ordered = sorted({tuple(r[c] for c in key): r for r in rows}.values(), key=lambda r: tuple(r[c] for c in key))
    for start in range(0, len(ordered), chunk):
        db.session.execute(insert_ignore(model), ordered[start : start + chunk])


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant (aware datetime) is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# A noncharacter (never in a real name) escapes what UTF-8 text cannot hold: the undecodable
# bytes of a file name, which Python gives as lone surrogates (U+DC80..U+DCFF).
_FS_ESC = "\ufdd0"
_FS_ESCAPED = re.compile("\ufdd0(\ufdd0|[0-9A-F]{4})")


def store_fs_text(text: str) -> str:
    """A path as text the database accepts; `load_fs_text` gives the same str back, so
    `os.fsencode` gives the same bytes back."""
    if text.isascii() or (_FS_ESC not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)):
        return text
    return "".join(
        _FS_ESC + _FS_ESC if c == _FS_ESC else f"{_FS_ESC}{ord(c):04X}" if 0xD800 <= ord(c) <= 0xDFFF else c
        for c in text
    )


def load_fs_text(text: str) -> str:
    if text.isascii() or _FS_ESC not in text:
        return text
    return _FS_ESCAPED.sub(lambda m: _FS_ESC if m.group(1) == _FS_ESC else chr(int(m.group(1), 16)), text)


class FsText(TypeDecorator):
    """Text holding a file system path exactly, undecodable bytes included (Linux names are
    bytes); in Python it is the str `os.fsdecode` gives, so it opens the file."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else store_fs_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else load_fs_text(value)


class Job(db.Model):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.PENDING, index=True)
    # What to do: e.g. {"source": "folder", "path": ...} or {"source": "upload"}.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "discover" -> "process" -> "finish": where a resumed job continues.
    phase: Mapped[str] = mapped_column(String(20), default="discover")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)  # items finished, whatever the outcome
    errors: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)  # for people: why it failed, what it found
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Seconds spent running, pauses excluded, up to `resumed_at` (rate and ETA come from it).
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at_resume: Mapped[int] = mapped_column(Integer, default=0)
    # Lease: which worker runs the job and until when; a dead worker's lease is taken over.
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[JobItem]] = relationship(back_populates="job", cascade="all, delete-orphan")


class JobItem(db.Model):
    """Per-file state of a job that works on existing files (reprocess, export, ...).

    Import jobs keep their per-file state on `File.status` instead, because the file
    row is what they create.
    """

    __tablename__ = "job_item"
    __table_args__ = (
        UniqueConstraint("job_id", "file_id"),
        Index("ix_job_item_job_status", "job_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.PENDING)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    job: Mapped[Job] = relationship(back_populates="items")


class JobBatch(db.Model):
    """A share of a job's work that one worker takes at a time (pipeline/batches.py): the
    pending items (File ids for an import, JobItem ids otherwise) from `first_id` to
    `last_id`, and the lease of the worker working on it. `claims` above 1 means a worker's
    lease ran out and another took the batch over; `done_by` is who finished it."""

    __tablename__ = "job_batch"
    __table_args__ = (Index("ix_job_batch_job_status", "job_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer, default=0)  # items it held when planned
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.PENDING)  # pending | done
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    done_by: Mapped[str | None] = mapped_column(String(120))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class File(db.Model):
    __tablename__ = "file"
    __table_args__ = (
        # One row per file a job found; uploads share a stored path, so name and folder count too.
        UniqueConstraint("job_id", "path", "relative_dir", "original_name", name="uq_file_job_source"),
        Index("ix_file_job_status", "job_id", "status", "id"),
        Index("ix_file_taken", "taken_at", "id"),
        Index("ix_file_review", "needs_review", "taken_at", "id"),
        Index("ix_file_group", "group_id", "id"),
        Index("ix_file_review_reason", "review_reason", "taken_at", "id"),
        # filters that keep the grid's capture-time order: one index range each
        Index("ix_file_confidence_taken", "confidence", "taken_at", "id"),
        Index("ix_file_discarded_taken", "discarded", "taken_at", "id"),
        Index("ix_file_job_taken", "job_id", "taken_at", "id"),
        Index("ix_file_kind_taken", "media_kind", "taken_at", "id"),
        # files of duplicate groups in capture order without reading their rows (the grid's filter)
        Index("ix_file_group_taken", "group_id", "status", "discarded", "taken_at", "id"),
        # a set's parts (and which roles it has: the tile's badges) from its main file
        Index("ix_file_companion", "companion_of", "companion_role"),
        # the files an import's new files may travel with, found without reading the library
        Index("ix_file_companion_key", "companion_key"),
        Index("ix_file_content_id", "content_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=FileStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)

    # Where the bytes are: the original for folder imports, the stored copy for uploads.
    path: Mapped[str] = mapped_column(FsText)
    source: Mapped[str] = mapped_column(String(10), default=FileSource.FOLDER)
    original_name: Mapped[str] = mapped_column(Text)
    # Folder path the person gave (relative to the import root, or the browser's relative path).
    relative_dir: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Inode when analyzed: the web serves the original only while path, size and inode still match.
    inode: Mapped[int | None] = mapped_column(BigInteger)

    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # Exact duplicate of an earlier file (same sha256): not processed again.
    exact_of_id: Mapped[int | None] = mapped_column(ForeignKey("file.id", ondelete="SET NULL"))
    mime: Mapped[str | None] = mapped_column(String(60))
    media_kind: Mapped[str | None] = mapped_column(String(10))  # image | video
    ext: Mapped[str | None] = mapped_column(String(10))  # from the real type, lower case
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    camera_make: Mapped[str | None] = mapped_column(String(120))
    camera_model: Mapped[str | None] = mapped_column(String(120))
    # Normalized metadata for display and re-detection (camera, lens, GPS, software, ...).
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    phash: Mapped[int | None] = mapped_column(BigInteger, index=True)
    dhash: Mapped[int | None] = mapped_column(BigInteger)
    # Mean colour (0xRRGGBB) and luminance spread: flat images hash alike, these tell them apart.
    mean_color: Mapped[int | None] = mapped_column(Integer)
    contrast: Mapped[float | None] = mapped_column(Float)
    thumb_key: Mapped[str | None] = mapped_column(String(80))  # relative path stem of the thumbnails

    # Capture time: the chosen instant (UTC), its local wall clock and offset when known.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken_local: Mapped[str | None] = mapped_column(String(32))  # ISO wall clock, no offset
    taken_offset: Mapped[int | None] = mapped_column(Integer)  # minutes east of UTC, None = unknown
    taken_precision: Mapped[str | None] = mapped_column(String(10))
    taken_source: Mapped[str | None] = mapped_column(String(60))
    confidence: Mapped[str] = mapped_column(String(10), default=Confidence.NONE)
    # Every candidate: [{source, timestamp, precision, offset, rejected, ...}] for the review page.
    time_candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    time_notes: Mapped[list[str] | None] = mapped_column(JSON)  # why this confidence
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it needs a look (vocab.ReviewReason, the most pressing one); None when it does not.
    review_reason: Mapped[str | None] = mapped_column(String(20))
    # A person chose the time: detection never overrides it.
    time_decided: Mapped[bool] = mapped_column(Boolean, default=False)

    # Duplicate group this file belongs to (for fast pages), and the people's verdict.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_group.id", ondelete="SET NULL"))
    discarded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Companion set (pipeline/companions.py): a part points at its set's main file; the main and
    # its parts say what they are in the set (vocab.CompanionRole). Parts have status COMPANION.
    # A file id, not a foreign key: SQLite adds one only by rebuilding `file` (and its triggers);
    # file rows are never deleted.
    companion_of: Mapped[int | None] = mapped_column(Integer)
    companion_role: Mapped[str | None] = mapped_column(String(10))
    # What a file's possible companions share (media.companion_names.family_key of its name),
    # and a Live Photo half's content identifier (also in meta): set when the file is recorded.
    companion_key: Mapped[str | None] = mapped_column(Text)
    content_id: Mapped[str | None] = mapped_column(Text)
    # Degrees clockwise a person turned the picture (0, 90, 180, 270): written into the exported
    # copy's orientation (pipeline/decisions.export_orientation), never into the original.
    rotation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    job: Mapped[Job | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary="file_tag", back_populates="files", order_by="Tag.name")
    group: Mapped[DuplicateGroup | None] = relationship(back_populates="files", foreign_keys=[group_id])

    @property
    def display_path(self) -> str:
        return display_path(self.relative_dir, self.original_name)


class DuplicateGroup(db.Model):
    """A set of files that are copies (exact, near) or shots of one moment (similar)."""

    __tablename__ = "duplicate_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # exact | near | version | similar
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("file.id", ondelete="SET NULL", use_alter=True))
    recommended_id: Mapped[int | None] = mapped_column(ForeignKey("file.id", ondelete="SET NULL", use_alter=True))
    recommended_reason: Mapped[str | None] = mapped_column(Text)
    max_distance: Mapped[int] = mapped_column(Integer, default=0)
    # open -> resolved (a person kept some) | dismissed (kept all: "not duplicates")
    status: Mapped[str] = mapped_column(String(12), default=GroupStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    files: Mapped[list[File]] = relationship(back_populates="group", foreign_keys=[File.group_id])


class Duplicate(db.Model):
    """Evidence that one file duplicates another: kind and distance."""

    __tablename__ = "duplicate"
    __table_args__ = (UniqueConstraint("file_id", "duplicate_of_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), index=True)
    duplicate_of_id: Mapped[int] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_group.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # exact | near | version | similar
    distance: Mapped[int] = mapped_column(Integer, default=0)  # Hamming distance of the hashes
    # Correlation of the aligned fingerprints (1.0 = the same pixels); None for exact copies.
    similarity: Mapped[float | None] = mapped_column(Float)
    # A version: how this file's picture is turned from the other's (app/media/versions.py):
    # a turn/mirror code 0-7, then a small turn in degrees (positive: to the left).
    transform: Mapped[int | None] = mapped_column(Integer)
    angle: Mapped[float | None] = mapped_column(Float)
    # A cropped version: the share of the other's picture this file shows (< 1), or > 1 when
    # the other is the crop.
    crop: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileFingerprint(db.Model):
    """A picture's 64x64 grey levels and the probe hashes made from them (near-duplicate
    search; see app/media/similarity.py). Kept apart from `file` so file rows stay small."""

    __tablename__ = "file_fingerprint"
    # Covering: the duplicate finder reads every picture's probe hashes from the index alone
    # (the table's rows are mostly the 4 KB fingerprint).
    __table_args__ = (Index("ix_file_fingerprint_probes", "probes_version", "file_id", "probes"),)

    file_id: Mapped[int] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    pixels: Mapped[bytes] = mapped_column(LargeBinary)
    # pHash then dHash of each crop window (uint64, little-endian); recomputed when the
    # window set changes (`probes_version`).
    probes: Mapped[bytes | None] = mapped_column(LargeBinary)
    probes_version: Mapped[int | None] = mapped_column(Integer)
    # How colourful the picture is (versions.Colour), measured from its thumbnail when needed:
    # tells a black-and-white or sepia copy from a colour photo.
    colour_chroma: Mapped[float | None] = mapped_column(Float)
    colour_residual: Mapped[float | None] = mapped_column(Float)
    colour_hue: Mapped[float | None] = mapped_column(Float)


class UserDecision(db.Model):
    """Append-only log of what people decided. Undo is a new decision (`undoes_id`)."""

    __tablename__ = "user_decision"
    __table_args__ = (Index("ix_user_decision_file", "file_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # timestamp | keep | discard | not_duplicate | tag_add | tag_remove | undo | ...
    kind: Mapped[str] = mapped_column(String(20), index=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_group.id", ondelete="SET NULL"))
    # What changed: new values and the previous ones, so undo can restore them.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("user_decision.id", ondelete="SET NULL"))
    # Decisions made in one action share a batch id, so one undo reverts the whole action.
    batch: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _tag_key_default(context) -> str:
    return tag_key(context.get_current_parameters()["name"])


class Tag(db.Model):
    __tablename__ = "tag"
    __table_args__ = (Index("ix_tag_key", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # as people typed it (case kept)
    key: Mapped[str | None] = mapped_column(String(100), default=_tag_key_default)  # tag_key(name)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    files: Mapped[list[File]] = relationship(secondary="file_tag", back_populates="tags")


class FileTag(db.Model):
    __tablename__ = "file_tag"
    __table_args__ = (
        Index("ix_file_tag_tag", "tag_id", "file_id"),
        Index("ix_file_tag_taken", "tag_id", "taken_at", "file_id"),
    )

    file_id: Mapped[int] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), default="user")  # folder | filename | user | merge
    # The file's capture time, kept in step by database triggers (SQLite, migration 0006): a tag's
    # files in capture order straight from this table's index (tag + date range in one range scan).
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FileStateCount(db.Model):
    """How many files are in each state: kept current by database triggers (SQLite, migration
    0006), so the home and triage pages count a million files by reading a few rows.
    `key` is "status|discarded|needs_review|review_reason|confidence|dated|media_kind"
    (app/pipeline/counts.py reads it)."""

    __tablename__ = "file_state_count"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class FileDayCount(db.Model):
    """How many visible files (imported, not left out) were taken on each day (the file's own
    wall clock, YYYY-MM-DD): the timeline bar. Kept current by triggers like FileStateCount."""

    __tablename__ = "file_day_count"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class AppSetting(db.Model):
    """Settings people change on the settings page; they override the environment's defaults."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LoginSession(db.Model):
    """A signed-in browser (only with a household password): the cookie holds a random token,
    this table its sha256. Signing out deletes the row, so a copied old cookie stops working."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LibraryLock(db.Model):
    """A library-wide step that runs one at a time on every machine (the duplicate scan, ...):
    the holder's lease, renewed by its heartbeat; a lease that ran out is taken over, so a
    holder that died blocks nobody for long (app/pipeline/locks.py)."""

    __tablename__ = "library_lock"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
