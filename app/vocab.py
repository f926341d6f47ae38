"""MediaParser's vocabulary: the one definition of every value that models, pipeline, web and
media code compare. Pure Python (no Flask, no database), so `media/` may use it too.

Each enum is a `StrEnum`: its members *are* the strings stored in the database and sent
in JSON, so `File.confidence == Confidence.HIGH` works on plain column values and old rows
need no migration.
"""

from __future__ import annotations

import enum
from datetime import datetime


class StrEnum(enum.StrEnum):
    def __str__(self) -> str:
        return self.value


class Confidence(StrEnum):
    """How sure the capture time is; ordered NONE < LOW < MEDIUM < HIGH."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for NONE .. 3 for HIGH."""
        return _CONFIDENCE_ORDER.index(self)

    @classmethod
    def of(cls, value: str | None) -> Confidence:
        """A stored value (or None) as a member; unknown text counts as NONE."""
        try:
            return cls(value) if value else cls.NONE
        except ValueError:
            return cls.NONE

    # Ordered by trust, not alphabetically (str's own order would put "high" < "low").
    def __lt__(self, other: object) -> bool:
        return self.rank < Confidence(other).rank if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= Confidence(other).rank if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > Confidence(other).rank if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= Confidence(other).rank if isinstance(other, str) else NotImplemented


_CONFIDENCE_ORDER = (Confidence.NONE, Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)


class Precision(StrEnum):
    """How much of a capture time is known, from finest to coarsest."""

    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"

    @classmethod
    def of(cls, value: str | None) -> Precision:
        """A stored value (or None: older rows) as a member; None means to the second."""
        return cls(value) if value else cls.SECOND

    @property
    def has_time_of_day(self) -> bool:
        """True for a clock time (second or minute); False for a day, month or year."""
        return self in (Precision.SECOND, Precision.MINUTE)

    @property
    def rank(self) -> int:
        """0 for SECOND .. 4 for YEAR (finer is smaller)."""
        return tuple(Precision).index(self)

    def truncate(self, local: datetime) -> datetime:
        """`local` cut to this precision: what is not known becomes its first value."""
        local = local.replace(microsecond=0)
        if self is Precision.MINUTE:
            return local.replace(second=0)
        if self is Precision.DAY:
            return local.replace(hour=0, minute=0, second=0)
        if self is Precision.MONTH:
            return local.replace(day=1, hour=0, minute=0, second=0)
        if self is Precision.YEAR:
            return local.replace(month=1, day=1, hour=0, minute=0, second=0)
        return local


def has_time_of_day(precision: str | None) -> bool:
    """For stored values: None (older rows) means to the second."""
    return Precision.of(precision).has_time_of_day


class ClueState(StrEnum):
    """What became of one date clue of a file (the detail page's list, media/explain.py)."""

    WON = "won"  # the date the file has
    LOST = "lost"  # usable, but not chosen
    REJECTED = "rejected"  # impossible or a placeholder


class GroupKind(StrEnum):
    """What a duplicate group holds."""

    EXACT = "exact"  # the same bytes
    NEAR = "near"  # the same picture re-saved, resized, converted
    VERSION = "version"  # the same picture edited: turned, mirrored, stretched, black-and-white
    SIMILAR = "similar"  # different shots of one moment (bursts, retakes)


# Groups of copies of one picture (safe to thin out; one review queue).
COPY_KINDS = (GroupKind.EXACT, GroupKind.NEAR)
# Groups that show one picture, copies or edited versions: a keeper inherits the best capture
# time (one moment), and new copies and versions of the picture join the group.
SAME_PICTURE_KINDS = (GroupKind.EXACT, GroupKind.NEAR, GroupKind.VERSION)


class GroupStatus(StrEnum):
    OPEN = "open"  # waiting for a person
    RESOLVED = "resolved"  # a person kept some and left out the rest
    DISMISSED = "dismissed"  # a person said "not duplicates" (kept all)


# Groups that hold their files: a file is in at most one of these.
LIVE_GROUP_STATES = (GroupStatus.OPEN, GroupStatus.RESOLVED)


class DecisionKind(StrEnum):
    """`UserDecision.kind`: what a person decided."""

    TIMESTAMP = "timestamp"  # set, shifted, chose or confirmed a capture time
    KEEP = "keep"  # kept this file of a duplicate group
    DISCARD = "discard"  # left this file of a duplicate group out
    NOT_DUPLICATE = "not_duplicate"  # the group is not duplicates
    CONFIRM = "confirm"  # the detected capture time is right (one file, a batch answer, all sure dates)
    TAG_ADD = "tag_add"
    TAG_REMOVE = "tag_remove"
    TAG_RENAME = "tag_rename"  # one tag renamed across the library
    TAG_MERGE = "tag_merge"  # tags merged into one across the library
    TAG_DELETE = "tag_delete"  # a tag removed from every file
    LEAVE_OUT = "leave_out"  # a file left out of the archive (a meme, a blurry shot)
    INCLUDE = "include"  # a left-out file taken back into the archive
    ROTATE = "rotate"  # a picture turned (written into the copy's orientation, never the original)
    UNDO = "undo"  # reverts `undoes_id`


# Decisions about a file's capture time: their payloads hold the time fields "old" and "new".
TIME_DECISIONS = (DecisionKind.TIMESTAMP, DecisionKind.CONFIRM)


class ReviewReason(StrEnum):
    """Why a file's date needs a look (`File.review_reason`, the primary reason): each has its
    own explanation and batch answer on the triage page. Ordered from the most to the least
    pressing: a file with several reasons is filed under the first."""

    PLACEHOLDER = "placeholder"  # a device's default date was all there was (clock never set)
    NO_DATE = "no_date"  # no usable clue at all
    ONLY_FILE_TIME = "only_file_time"  # only the file's modification time (or an upload's lastModified)
    SOURCES_DISAGREE = "sources_disagree"  # credible clues differ and no time zone explains it
    ZONE_MIXUP = "zone_mixup"  # clues differ by whole hours: a time-zone mix-up
    CAMERA_VS_FOLDER = "camera_vs_folder"  # the camera's date and a folder's date differ
    DAY_ONLY_NAME = "day_only_name"  # only a day, from a messaging app's file name (the day it was sent)
    WEAK_CLUE = "weak_clue"  # only a weak clue (a folder name, a program's change date)

    @property
    def rank(self) -> int:
        return tuple(ReviewReason).index(self)

    @classmethod
    def first(cls, reasons) -> ReviewReason | None:
        """The most pressing of `reasons` (strings or members); None for none."""
        known = [cls(r) for r in reasons or () if r in cls._value2member_map_]
        return min(known, key=lambda r: r.rank) if known else None


class FileStatus(StrEnum):
    PENDING = "pending"  # found, not processed yet
    DONE = "done"  # processed
    DUPLICATE = "duplicate"  # same bytes as a file already in the library: not processed again
    SKIPPED = "skipped"  # not a media file, or the job was cancelled before it
    ERROR = "error"  # could not be read; `error` says why
    # Part of another file's set (File.companion_of): a Live Photo's video, the RAW beside its
    # JPEG, an edit, a sidecar. Shown, dated, kept and exported with that file, never alone.
    COMPANION = "companion"


class CompanionRole(StrEnum):
    """What a file is in its companion set (File.companion_role). The set's main file (the
    one tile people see) is a still, the JPEG of a RAW + JPEG pair, or an original with its
    edits or sidecars; a motion photo carries its video inside and is a set by itself."""

    STILL = "still"  # main: a Live Photo's picture
    JPEG = "jpeg"  # main: the picture beside a RAW of the same shot
    ORIGINAL = "original"  # main: a picture with edits or sidecars
    MOTION = "motion"  # main: a motion photo (its video inside the file)
    VIDEO = "video"  # part: a Live Photo's video
    RAW = "raw"  # part: the RAW of the main's shot
    EDIT = "edit"  # part: an edited version (IMG_E1234, -edited, a Takeout "(1)" edit)
    SIDECAR = "sidecar"  # part: an .AAE or .xmp file describing the main or one of its parts

    @property
    def is_part(self) -> bool:
        return self in COMPANION_PARTS


COMPANION_PARTS = (CompanionRole.VIDEO, CompanionRole.RAW, CompanionRole.EDIT, CompanionRole.SIDECAR)


class ItemStatus(StrEnum):
    """Per-file outcome of a job that works on existing files."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    ERROR = "error"


class JobKind(StrEnum):
    IMPORT = "import"
    REPROCESS = "reprocess"
    THUMBNAILS = "thumbnails"
    DUPLICATES = "duplicates"
    EXPORT = "export"


class JobStatus(StrEnum):
    """A job's state: pending -> running -> paused <-> running -> completed | failed | cancelled."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_JOB_STATES


ACTIVE_JOB_STATES = (JobStatus.PENDING, JobStatus.RUNNING)
FINISHED_JOB_STATES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobControl(StrEnum):
    """What a running job is told to do at its next checkpoint."""

    RUN = "run"
    PAUSE = "pause"
    CANCEL = "cancel"
    INTERRUPT = "interrupt"  # this process is stopping: the job goes back to pending


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    SIDECAR = "sidecar"  # an edit or metadata file that belongs to a picture (.AAE, .xmp, .MOI)


class FileSource(StrEnum):
    FOLDER = "folder"  # read where it is, on the server
    UPLOAD = "upload"  # sent through the browser, stored under storage/
