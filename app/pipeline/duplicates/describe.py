"""What a group's members look like beside each other: how each version differs from the
suggested keeper, in words ("turned 90° right", "black-and-white"), and the facts the keeper
rule reads to tell the unedited original (app/media/keeper.py, app/media/versions.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from ...media import keeper, versions
from ...models import Duplicate, DuplicateGroup, File, FileFingerprint, db
from ...vocab import GroupKind
from ..sql import chunks
from .library import measure_colour


def looks(files: Sequence[File], thumbnails_dir: Path | None = None) -> dict[int, versions.Look]:
    """Each file's Look: its fingerprint row's colours and corners, or those of another file
    with the same bytes (an exact copy is not analysed twice). With `thumbnails_dir`, colours
    nobody measured yet are measured from the small thumbnail and stored."""
    by_sha: dict[str, list] = {}
    shas = sorted({f.sha256 for f in files if f.sha256})
    for chunk in chunks(shas):
        for fid, sha, key, chroma, residual, hue, pixels in db.session.execute(
            select(
                File.id,
                File.sha256,
                File.thumb_key,
                FileFingerprint.colour_chroma,
                FileFingerprint.colour_residual,
                FileFingerprint.colour_hue,
                FileFingerprint.pixels,
            )
            .join(FileFingerprint, FileFingerprint.file_id == File.id)
            .where(File.sha256.in_(chunk))
        ):
            if sha not in by_sha or (by_sha[sha][0] is None and chroma is not None):
                by_sha[sha] = [chroma, residual, hue, pixels, fid, key]
    if thumbnails_dir is not None:
        for row in by_sha.values():
            if row[0] is None and row[5]:
                colour = measure_colour(row[4], row[5], thumbnails_dir)
                if colour is not None:
                    row[:3] = colour.chroma, colour.residual, colour.hue
    out = {}
    for f in files:
        chroma, residual, hue, pixels, _, _ = by_sha.get(f.sha256 or "", (None,) * 6)
        tone = versions.Colour(chroma, residual, hue).tone if chroma is not None else None
        corners = bool(pixels) and versions.black_corners(pixels)
        out[f.id] = versions.Look(f.width or 0, f.height or 0, f.orientation, tone, corners)
    return out


def turns(group: DuplicateGroup, matches: dict[int, Duplicate]) -> dict[int, tuple[int, float, float]]:
    """(code, angle, crop) of each member's picture from the representative's (copies: none)."""
    out = {}
    for fid, m in matches.items():
        if m.group_id == group.id and m.kind == GroupKind.VERSION:
            out[fid] = (m.transform or versions.IDENTITY, m.angle or 0.0, m.crop or 1.0)
    return out


def differences(group: DuplicateGroup, files: Sequence[File], matches: dict[int, Duplicate]) -> dict[int, list[str]]:
    """For a group of versions, what differs in each file from the suggested keeper (or the
    representative), in words; nothing for the keeper, for copies and for other groups."""
    out: dict[int, list[str]] = {f.id: [] for f in files}
    if group.kind != GroupKind.VERSION:
        return out
    ids = {f.id for f in files}
    reference = group.recommended_id if group.recommended_id in ids else group.representative_id
    if reference not in ids:
        return out
    seen = looks(files)
    turned = turns(group, matches)
    plain = (versions.IDENTITY, 0.0, 1.0)
    code_k, angle_k, crop_k = turned.get(reference, plain)
    for f in files:
        if f.id != reference:
            code_m, angle_m, crop_m = turned.get(f.id, plain)
            code, angle = versions.relative((code_m, angle_m), (code_k, angle_k))
            out[f.id] = versions.differences(seen[f.id], seen[reference], code, angle, crop_m / crop_k)
    return out


def keeper_candidate(f: File, look: versions.Look | None = None) -> keeper.Candidate:
    return keeper.Candidate(
        id=f.id,
        name=f.original_name,
        relative_dir=f.relative_dir,
        path=f.path,
        width=f.width,
        height=f.height,
        size=f.size,
        ext=f.ext,
        taken_source=f.taken_source,
        camera_make=f.camera_make,
        camera_model=f.camera_model,
        discarded=f.discarded,
        tone=look.tone if look else None,
        black_corners=look.black_corners if look else False,
        software=str((f.meta or {}).get("software") or "") or None,
    )


def recommend(group: DuplicateGroup, files: Sequence[File], thumbnails_dir: Path | None = None) -> tuple[int, str]:
    """The file to keep and why; for versions, the unedited original where the files tell."""
    if group.kind == GroupKind.VERSION:
        seen = looks(files, thumbnails_dir)
        return keeper.recommend_version([keeper_candidate(f, seen[f.id]) for f in files])
    return keeper.recommend([keeper_candidate(f) for f in files])
