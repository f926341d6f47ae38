"""Why a file's date needs a look, as machine-readable reasons (vocab.ReviewReason): what
`confidence.choose` found, put into the fixed vocabulary the triage page groups files by.
Pure: the choice's best candidate, its confidence and the disagreements noted on the way."""

from __future__ import annotations

from collections.abc import Iterable

from ..vocab import Confidence, ReviewReason
from .clues import cap
from .timestamps import Candidate

FILE_TIME_SOURCES = ("mtime",)  # the file's modification time; an upload's lastModified is stored as it


def is_file_time(source: str | None) -> bool:
    return bool(source) and source.split(":")[0] in FILE_TIME_SOURCES


def is_placeholder_rejection(c: Candidate) -> bool:
    """A clue rejected because a device wrote a default instead of a reading."""
    text = c.rejected or ""
    return c.value is not None and ("placeholder" in text or "never set" in text or "start date" in text)


def of_best(best: Candidate) -> list[ReviewReason]:
    """What the chosen clue alone says about how much a person should look."""
    if is_file_time(best.source):
        return [ReviewReason.ONLY_FILE_TIME]
    if best.source.startswith("filename:") and best.role == "not_after":
        return [ReviewReason.DAY_ONLY_NAME]
    if cap(best) <= Confidence.LOW:
        return [ReviewReason.WEAK_CLUE]
    return []


def ordered(
    best: Candidate | None, level: Confidence, noted: Iterable[str], candidates: Iterable[Candidate]
) -> list[str]:
    """Every reason, most pressing first (ReviewReason's order). A date that needs a look
    (LOW or NONE) always has at least one; a placeholder counts only when the date is weak."""
    found: list[ReviewReason] = [ReviewReason(r) for r in noted]
    if best is None:
        found.append(ReviewReason.NO_DATE)
    else:
        found += of_best(best)
    if level <= Confidence.LOW and any(is_placeholder_rejection(c) for c in candidates):
        found.append(ReviewReason.PLACEHOLDER)
    if level <= Confidence.LOW and not found:
        found.append(ReviewReason.WEAK_CLUE)
    return [str(r) for r in sorted(set(found), key=lambda r: r.rank)]
