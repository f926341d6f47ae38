"""Choose the capture time among the candidates, and say how sure we are.

Rules (shown to people on the review page):
- HIGH: a camera capture tag (EXIF DateTimeOriginal/CreateDate, Apple's video creation
  date) stands, and no other credible source disagrees.
- MEDIUM: the best source is good but indirect (video container time, a phone's file name,
  GPS), or a credible source disagrees by a whole number of hours (a time-zone mix-up).
- LOW: only weak evidence (a date-only name, a folder, the file's modification time), or
  credible sources disagree.
- NONE: nothing usable; the file waits for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .timestamps import Candidate

# Lower rank = more trusted. Sources not listed rank after these.
TRUST = {
    "exif:DateTimeOriginal": 0,
    "exif:CreateDate": 1,
    "video:apple_creationdate": 1,
    "video:creation_time": 2,
    "gps": 3,
    "filename": 4,
    "folder": 6,
    "exif:ModifyDate": 7,
    "mtime": 8,
}
CAPTURE_SOURCES = {"exif:DateTimeOriginal", "exif:CreateDate", "video:apple_creationdate"}
# Sources that are evidence of the capture moment (used to detect disagreement).
CREDIBLE = CAPTURE_SOURCES | {"video:creation_time", "gps"}
PLACEHOLDERS = {datetime(2000, 1, 1), datetime(1980, 1, 1), datetime(1970, 1, 1), datetime(1904, 1, 1)}
FIRST_PHOTOGRAPH = datetime(1826, 1, 1)
AGREE_SECONDS = 2


def rank(source: str) -> int:
    return TRUST.get(source, TRUST.get(source.split(":")[0], 5))


@dataclass
class Choice:
    local: datetime | None = None  # wall clock where it was taken (naive)
    offset: int | None = None  # minutes east of UTC, when known
    utc: datetime | None = None  # the instant (zone assumed when the offset is unknown)
    precision: str | None = None
    source: str | None = None
    confidence: str = "none"
    notes: list[str] = field(default_factory=list)

    def iso(self) -> str | None:
        """ISO 8601 local time, with its offset when known."""
        if self.local is None:
            return None
        text = self.local.replace(microsecond=0).isoformat()
        if self.offset is not None:
            sign = "+" if self.offset >= 0 else "-"
            text += f"{sign}{abs(self.offset) // 60:02d}:{abs(self.offset) % 60:02d}"
        return text


def instant(c: Candidate, zone: ZoneInfo) -> datetime:
    return c.value if c.zone_known else c.value.replace(tzinfo=zone)


def sanity_check(candidates: list[Candidate], now: datetime) -> None:
    """Mark impossible and placeholder values as rejected, in place."""
    for c in candidates:
        if c.rejected:
            continue
        naive = c.value.replace(tzinfo=None)
        # A naive value is compared as if UTC: up to 14 h of zone slack is inside the one-day margin.
        if (c.value.astimezone(UTC) if c.zone_known else c.value.replace(tzinfo=UTC)) > now + timedelta(days=1):
            c.rejected = "in the future"
        elif naive.replace(microsecond=0) in PLACEHOLDERS and not c.source.startswith(("folder", "mtime")):
            c.rejected = "camera default date (clock never set)"
        elif naive < FIRST_PHOTOGRAPH:
            c.rejected = "before the first photograph"


def choose(candidates: list[Candidate], zone: ZoneInfo, now: datetime | None = None) -> Choice:
    now = now or datetime.now(UTC)
    sanity_check(candidates, now)
    usable = sorted((c for c in candidates if not c.rejected), key=lambda c: rank(c.source))
    if not usable:
        return Choice(notes=["no usable date found"])
    best = usable[0]
    best_instant = instant(best, zone)
    notes: list[str] = []

    disagreements = []
    for other in usable[1:]:
        if other.source not in CREDIBLE:
            continue
        diff = abs((instant(other, zone) - best_instant).total_seconds())
        if diff <= AGREE_SECONDS:
            continue
        whole_hours = diff % 3600 < 60 or diff % 3600 > 3540
        disagreements.append((other, diff, whole_hours and diff <= 14 * 3600))

    if best.source in CAPTURE_SOURCES:
        confidence = "high"
    elif best.source in ("video:creation_time", "gps") or (
        best.source.startswith("filename") and best.precision == "second"
    ):
        confidence = "medium"
    else:
        confidence = "low"
    for other, diff, tz_mixup in disagreements:
        if tz_mixup:
            notes.append(f"{other.source} differs by {round(diff / 3600)} h: probably a time-zone mix-up")
            confidence = "medium" if confidence == "high" else confidence
        else:
            notes.append(f"{other.source} disagrees by {timedelta(seconds=int(diff))}")
            confidence = "low"

    if best.zone_known:
        if best.source in ("gps", "video:creation_time") or best.source.startswith("filename"):
            local_aware = best.value.astimezone(zone)  # an instant: show it in the household zone
        else:
            local_aware = best.value
        offset = int(local_aware.utcoffset().total_seconds() // 60)
        local = local_aware.replace(tzinfo=None)
    else:
        local, offset = best.value, None
    notes.insert(0, f"from {best.source}")
    return Choice(
        local=local,
        offset=offset,
        utc=best_instant.astimezone(UTC),
        precision=best.precision,
        source=best.source,
        confidence=confidence,
        notes=notes,
    )
