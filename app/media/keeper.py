"""Which file of a duplicate group to keep: the one ordered list of rules (`RULES`).

Each rule keeps the files that are best by it (ties allowed) and passes them to the next;
the first rule that leaves a single file decides, and its explanation is the reason the
duplicates page shows ("Highest resolution: 4032×3024, the others at most 1600×1200").

1. Not set aside already      a file a person discarded is not recommended again
2. Unedited                   versions only (`edit_signs`): not black-and-white or sepia beside
                              a colour picture, no black corners, not saved by an editing
                              program or named as edited, not without the camera's capture
                              time that another has
3. Highest resolution         more pixels (within 1 %: a tie)
4. Camera original            not a messaging-app copy (WhatsApp, Telegram, Signal, ... names/folders)
5. Real capture metadata      the camera's own capture time, and camera make/model
6. Better format              camera formats (RAW, HEIC, JPEG, AVIF) over the formats copies
                              are converted to (TIFF, PNG, WebP, GIF, BMP)
7. Larger file                less compressed (within 1 %: a tie)
8. Not named like a copy      "IMG_1 (1).jpg", "IMG_1 - Copy.jpg", "Kopie von ..." lose
9. Shortest path              fewest folders and characters
10. Imported first            the oldest entry in the library
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from ..wording import display_path, size_text
from .confidence import CAPTURE_SOURCES


@dataclass(frozen=True)
class Candidate:
    """What the rules look at for one file."""

    id: int
    name: str
    relative_dir: str = ""
    path: str = ""
    width: int | None = None
    height: int | None = None
    size: int | None = None
    ext: str | None = None
    taken_source: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    discarded: bool = False
    # Versions only (app/media/versions.py): what marks this file as the edited one.
    tone: str | None = None  # colour, grey, sepia, toned (None: unknown)
    black_corners: bool = False
    software: str | None = None  # EXIF Software
    edits: tuple[str, ...] = ()  # set by `edit_signs`

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


_MESSAGING_NAME = re.compile(
    r"(^IMG-\d{8}-WA\d+|^VID-\d{8}-WA\d+|-WA\d{4}|^signal-\d{4}-\d{2}-\d{2}|^telegram|"
    r"^photo_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}|^received_\d+|^FB_IMG_\d+|^viber_image|^mmexport\d+)",
    re.IGNORECASE,
)
_MESSAGING_FOLDER = re.compile(r"whatsapp|telegram|signal|messenger|viber|wechat|threema", re.IGNORECASE)
_COPY_NAME = re.compile(r"(\s?\(\d+\)|[ _-]+(copy|kopie|copie)( ?\(?\d+\)?)?| \d)$", re.IGNORECASE)
_COPY_PREFIX = ("copy of ", "kopie von ", "copie de ")
_FORMAT_RANK = {
    "dng": 9,
    "cr2": 9,
    "cr3": 9,
    "nef": 9,
    "arw": 9,
    "raf": 9,
    "orf": 9,
    "rw2": 9,
    "heic": 8,
    "heif": 8,
    "jpg": 7,
    "jpeg": 7,
    "mpo": 7,
    "avif": 6,
    "tif": 4,
    "tiff": 4,
    "png": 3,
    "webp": 2,
    "gif": 1,
    "bmp": 1,
}
_FORMAT_NAMES = {"jpg": "JPEG", "tif": "TIFF", "heif": "HEIF"}


def is_messaging_copy(c: Candidate) -> bool:
    return bool(_MESSAGING_NAME.search(c.name) or _MESSAGING_FOLDER.search(c.relative_dir or ""))


def looks_like_a_copy(c: Candidate) -> bool:
    stem = PurePosixPath(c.name).stem
    return bool(_COPY_NAME.search(stem) or stem.lower().startswith(_COPY_PREFIX))


# Programs that edit pictures (EXIF Software); camera firmware and phone OS versions are not.
_EDITOR = re.compile(
    r"photoshop|lightroom|gimp|snapseed|picasa|pixelmator|darktable|rawtherapee|affinity|paint\.net|acdsee|"
    r"luminar|photoscape|fotor|vsco|facetune|picsart|canva|capture one|polarr|krita|photo ?editor|"
    r"photos? app|windows photo|irfanview|xnview|digikam|shotwell|photos \d",
    re.IGNORECASE,
)
# Names that editing apps give their results: Apple's IMG_E1234, Google Photos' "-edited".
_EDITED_NAME = re.compile(
    r"(^IMG_E\d+|[-_ ](edited|edit|bearbeitet|modifi[eé]|bewerkt|editado)(\(\d+\))?$)", re.IGNORECASE
)
_TONES = {"grey": "black-and-white", "sepia": "sepia", "toned": "toned in one colour"}


def edit_signs(candidates: Sequence[Candidate]) -> dict[int, tuple[str, ...]]:
    """For a group of versions of one picture: what marks each file as an edit of the others
    (ways to tell which is the unedited original; a turn or a mirror alone tells nothing)."""
    in_colour = any(c.tone == "colour" for c in candidates)
    with_camera = any(capture_metadata(c) >= 2 for c in candidates)
    out = {}
    for c in candidates:
        signs = []
        if in_colour and c.tone in _TONES:
            signs.append(_TONES[c.tone])
        if c.black_corners:
            signs.append("with black corners")
        if c.software and _EDITOR.search(c.software):
            signs.append(f"saved by {c.software.strip()}")
        if _EDITED_NAME.search(PurePosixPath(c.name).stem):
            signs.append("named as edited")
        if with_camera and capture_metadata(c) < 2:
            signs.append("without the camera's capture time")
        out[c.id] = tuple(signs)
    return out


def _unedited_reason(winner: Candidate, others: Sequence[Candidate]) -> str:
    signs = list(dict.fromkeys(s for c in others for s in c.edits))
    return "Looks like the unedited original: the others are " + ", ".join(signs)


def capture_metadata(c: Candidate) -> int:
    return (2 if c.taken_source in CAPTURE_SOURCES else 0) + (1 if c.camera_make or c.camera_model else 0)


def format_name(ext: str | None) -> str:
    return _FORMAT_NAMES.get(ext or "", (ext or "unknown").upper())


def _dims(c: Candidate) -> str:
    return f"{c.width or 0}×{c.height or 0}"


def _path(c: Candidate) -> str:
    return display_path(c.relative_dir, c.name)


@dataclass(frozen=True)
class Rule:
    name: str
    score: Callable[[Candidate], float]
    explain: Callable[[Candidate, Sequence[Candidate]], str]  # (winner, the others) -> reason
    tolerance: float = 0.0  # relative: scores within this fraction of the best tie


RULES: tuple[Rule, ...] = (
    Rule("not_discarded", lambda c: 0 if c.discarded else 1, lambda w, o: "The others were already set aside"),
    Rule("unedited", lambda c: -len(c.edits), _unedited_reason),
    Rule(
        "resolution",
        lambda c: c.pixels,
        lambda w, o: f"Highest resolution: {_dims(w)}, the others at most {_dims(max(o, key=lambda c: c.pixels))}",
        tolerance=0.01,
    ),
    Rule(
        "camera_original",
        lambda c: 0 if is_messaging_copy(c) else 1,
        lambda w, o: "The camera original: the others look like messaging-app copies",
    ),
    Rule(
        "capture_metadata",
        capture_metadata,
        lambda w, o: (
            "Has the camera's capture time and details, which the others lack"
            if capture_metadata(w) >= 2
            else "Has camera details the others lack"
        ),
    ),
    Rule(
        "format",
        lambda c: _FORMAT_RANK.get(c.ext or "", 0),
        lambda w, o: (
            f"Better format: {format_name(w.ext)} rather than " + ", ".join(sorted({format_name(c.ext) for c in o}))
        ),
    ),
    Rule(
        "size",
        lambda c: c.size or 0,
        lambda w, o: (
            f"Largest file, least compressed: {size_text(w.size or 0)}, "
            f"the others at most {size_text(max(c.size or 0 for c in o))}"
        ),
        tolerance=0.01,
    ),
    Rule(
        "not_a_copy_name",
        lambda c: 0 if looks_like_a_copy(c) else 1,
        lambda w, o: "The others are named like copies",
    ),
    Rule(
        "shortest_path",
        lambda c: -(_path(c).count("/") * 1000 + len(_path(c))),
        lambda w, o: f"Same resolution, format and size: kept the one with the shortest path ({_path(w)})",
    ),
    Rule(
        "imported_first", lambda c: -c.id, lambda w, o: "Same resolution, format and size: kept the one imported first"
    ),
)


def recommend(candidates: Sequence[Candidate]) -> tuple[int, str]:
    """(id of the file to keep, why) — the first rule that singles one file out decides."""
    if not candidates:
        raise ValueError("no files to choose from")
    if len(candidates) == 1:
        return candidates[0].id, "The only file"
    remaining = list(candidates)
    for rule in RULES:
        scores = {c.id: rule.score(c) for c in remaining}
        best = max(scores.values())
        margin = abs(best) * rule.tolerance
        leaders = [c for c in remaining if scores[c.id] >= best - margin]
        if len(leaders) == 1:
            winner = leaders[0]
            # the reason compares against every file this rule set apart, and earlier ones tie
            others = [c for c in remaining if c.id != winner.id]
            return winner.id, rule.explain(winner, others)
        remaining = leaders
    return remaining[0].id, "Identical in quality"  # unreachable: ids are unique


def recommend_version(candidates: Sequence[Candidate]) -> tuple[int, str]:
    """`recommend` for a group of versions: the unedited original when the files tell which
    it is, and the reason says when they do not."""
    signs = edit_signs(candidates)
    marked = [replace(c, edits=signs[c.id]) for c in candidates]
    kept, why = recommend(marked)
    if len({m.edits for m in marked}) == 1:
        why += ". Which of them is the unedited original cannot be told from the files"
    return kept, why
