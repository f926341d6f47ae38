"""Companion sets: files that travel as one item. People see one tile (the set's main file)
with a badge; one date decision, a leave-out or a turn applies to every part; the parts are
never duplicates of each other; the export gives them one base name.

    a Live Photo    a still (HEIC or JPEG) and its MOV: the same content identifier, or, where
                    one lacks it, the same name and capture time (and a video of a few seconds)
    RAW + JPEG      one shot: the same name, the same time (to the second), the same camera
    an edit         IMG_E1234 beside IMG_1234, NAME-edited beside NAME, a Takeout NAME(1)
                    beside NAME: the same time (or, for an edit without a date of its own, the
                    same folder)
    a sidecar       an .AAE or .xmp file in the same folder, named after the file it describes
    a motion photo  one file with its video inside (media/motion.py): a set by itself

A part has status COMPANION and `companion_of` = its main file; the main (and a lone motion
photo) says what it is in `companion_role`. Only DONE files (and sidecars) are linked: exact
copies speak through their first copy.

`link()` is one library-wide step, run after re-detection: it works out every set from the
whole library and writes only what changed, so it is safe to run again. When an import
finishes, `link(settings, its file ids)` works out only the sets its files can be in, and
those of the files people changed since the last link (a date or a leave-out can pair or part
files): the files that share a name key or a content identifier with them
(file.companion_key, file.content_id), and theirs in turn, so a still imported today still
finds its video imported last week, without reading a library of 100,000 files. Files a
person left out are linked only with files also left out (their verdicts stand).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from ..database import retrying
from ..media import companion_names, probe, sidecars
from ..models import AppSetting, Duplicate, DuplicateGroup, File, UserDecision, db
from ..vocab import CompanionRole, Confidence, FileStatus, MediaKind
from . import leases, locks
from .sql import chunks

log = logging.getLogger(__name__)

LOCK_NAME = "companions"  # a library_lock row: two imports finishing together link in turn
SEEN_KEY = "companions_seen_decision"  # app_setting: the newest person's decision a link took in
NEAR = timedelta(seconds=2)  # a Live Photo's halves, an edit and its original
SAME_SHOT = timedelta(seconds=1)  # RAW + JPEG
LIVE_VIDEO_SECONDS = 6.0  # pairing by name alone: a Live Photo's video lasts about 1.5 to 3 s


@dataclass
class Member:
    id: int
    status: str
    name: str
    folder: str
    mime: str | None
    kind: str | None
    taken_at: datetime | None
    confidence: str | None
    make: str | None
    model: str | None
    duration: float | None
    discarded: bool
    companion_of: int | None
    role: str | None
    job_id: int | None
    group_id: int | None
    content_id: str | None
    motion: bool
    content_sha: str | None
    key: companion_names.NameKey = field(init=False)

    def __post_init__(self) -> None:
        self.key = companion_names.name_key(self.name)

    @property
    def raw(self) -> bool:
        return self.mime in probe.RAW_MIMES

    @property
    def sidecar(self) -> bool:
        return self.kind == MediaKind.SIDECAR

    @property
    def stem(self) -> str:
        return companion_names.split(self.name)[0].lower()

    @property
    def weak_time(self) -> bool:
        return self.taken_at is None or Confidence.of(self.confidence) <= Confidence.LOW

    def rank(self) -> int:
        """Which member is the set's main file (lowest): a picture, then a RAW, an edited
        picture, a video."""
        if self.kind == MediaKind.IMAGE:
            return (1 if self.raw else 0) + (2 if self.key.edit else 0)
        return 4 + bool(self.key.edit)


def _close(a: Member, b: Member, within: timedelta) -> bool:
    return a.taken_at is not None and b.taken_at is not None and abs(a.taken_at - b.taken_at) <= within


def _same_camera(a: Member, b: Member) -> bool:
    if not (a.model and b.model) or a.model.strip().casefold() != b.model.strip().casefold():
        return False
    return not (a.make and b.make) or a.make.strip().casefold() == b.make.strip().casefold()


# --- which files belong together ------------------------------------------------------------


def _edit_of(edit: Member, original: Member) -> bool:
    if edit.kind != original.kind or original.key.edit:
        return False
    if edit.key.edit == "copy":  # "(1)": downloads and plain copies get such names too: one camera shot
        same_type = companion_names.split(edit.name)[1] == companion_names.split(original.name)[1]
        dated = not (edit.weak_time or original.weak_time)
        return same_type and dated and _same_camera(edit, original) and _close(edit, original, NEAR)
    return _close(edit, original, NEAR) or (edit.weak_time and edit.folder == original.folder)


def _live_by_name(still: Member, video: Member) -> bool:
    if still.raw or (still.content_id and video.content_id):
        return False  # both have identifiers: they alone decide
    short = video.duration is None or video.duration <= LIVE_VIDEO_SECONDS
    # two file times close together say only that the files were copied together
    return short and not (still.weak_time and video.weak_time) and _close(still, video, NEAR)


def _related(a: Member, b: Member) -> bool:
    """Two media files with the same name stem: companions?"""
    if a.discarded != b.discarded or (a.key.edit and b.key.edit):
        return False
    if a.key.edit or b.key.edit:
        edit, original = (a, b) if a.key.edit else (b, a)
        return _edit_of(edit, original)
    kinds = {a.kind, b.kind}
    if kinds == {MediaKind.IMAGE, MediaKind.VIDEO}:
        still, video = (a, b) if a.kind == MediaKind.IMAGE else (b, a)
        return _live_by_name(still, video)
    if kinds == {MediaKind.IMAGE} and a.raw != b.raw:
        return _close(a, b, SAME_SHOT) and _same_camera(a, b)
    return False


def _pairs_by_name(members: list[Member]) -> Iterable[tuple[Member, Member]]:
    """Pairs of files sharing a name stem that may belong together: those taken within a few
    seconds of each other, and an undated edit with the files of its folder. A common stem
    ("image") never makes every file meet every other."""
    timed = sorted((m for m in members if m.taken_at is not None), key=lambda m: m.taken_at)
    for i, a in enumerate(timed):
        for b in timed[i + 1 :]:
            if b.taken_at - a.taken_at > NEAR:
                break
            yield a, b
    by_folder: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        by_folder[m.folder].append(m)
    for together in by_folder.values():
        for edit in (m for m in together if m.key.edit and m.weak_time):
            yield from ((edit, other) for other in together if other is not edit and not _close(edit, other, NEAR))


def _edges(media: list[Member]) -> list[tuple[Member, Member]]:
    edges: list[tuple[Member, Member]] = []
    by_content: dict[str, list[Member]] = defaultdict(list)
    by_stem: dict[str, list[Member]] = defaultdict(list)
    for m in media:
        by_stem[m.key.stem].append(m)
        if m.content_id:
            by_content[m.content_id].append(m)
    for same in by_content.values():  # a Live Photo: Apple's content identifier pairs the halves
        stills = [m for m in same if m.kind == MediaKind.IMAGE and not m.raw]
        videos = [m for m in same if m.kind == MediaKind.VIDEO]
        edges += [(s, v) for s in stills for v in videos if s.discarded == v.discarded]
    for same in by_stem.values():
        if len(same) > 1:
            edges += [(a, b) for a, b in _pairs_by_name(same) if _related(a, b)]
    return edges


class _Sets:
    """Union-find over file ids."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _part_role(m: Member) -> CompanionRole | None:
    if m.key.edit:
        return CompanionRole.EDIT
    if m.raw:
        return CompanionRole.RAW
    if m.kind == MediaKind.VIDEO:
        return CompanionRole.VIDEO
    return None  # a second picture of the same kind is not a companion (the duplicate scan judges it)


def _roles(members: list[Member]) -> dict[int, tuple[int | None, CompanionRole | None]]:
    """{file id: (main id or None, role)} for one connected set of files."""
    main = min(members, key=lambda m: (m.rank(), m.status == FileStatus.COMPANION, m.id))
    found: dict[int, tuple[int | None, CompanionRole | None]] = {}
    taken: set[CompanionRole] = set()
    for m in sorted(members, key=lambda m: _closeness(m, main)):
        if m is main:
            continue
        role = _part_role(m)
        if role is None or (role in (CompanionRole.RAW, CompanionRole.VIDEO) and role in taken):
            continue  # one RAW and one video per shot; the rest stay files of their own
        taken.add(role)
        found[m.id] = (main.id, role)
    found[main.id] = (None, _main_role(main, {role for _main, role in found.values()}))
    return found


def _closeness(m: Member, main: Member) -> tuple:
    """Which of two candidates for one role joins the main: the same identifier, then the
    nearest in time."""
    same = not (main.content_id and m.content_id == main.content_id)
    if m.taken_at is None or main.taken_at is None:
        return (same, 1, timedelta(0), m.id)
    return (same, 0, abs(m.taken_at - main.taken_at), m.id)


def _main_role(main: Member, parts: set) -> CompanionRole | None:
    if main.motion:
        return CompanionRole.MOTION
    if CompanionRole.VIDEO in parts:
        return CompanionRole.STILL
    if CompanionRole.RAW in parts:
        return CompanionRole.JPEG
    return CompanionRole.ORIGINAL if parts else None


def _sidecar_partner(sidecar: Member, by_name: dict, by_stem: dict) -> Member | None:
    """The file a sidecar describes, in its folder: named exactly (IMG_1.CR2.xmp), else by
    stem — for an .xmp a RAW first (Lightroom writes them for RAWs), for an .AAE the picture;
    the same import first."""
    target = companion_names.sidecar_target(sidecar.name)
    found = by_name.get((sidecar.folder, target.name)) if target.name else None
    found = found or by_stem.get((sidecar.folder, target.stem)) or []
    xmp = companion_names.split(sidecar.name)[1] == "xmp"

    def preference(m: Member) -> tuple:
        kind = (0 if m.raw else 1 if m.kind == MediaKind.IMAGE else 2) if xmp else m.rank()
        return (m.job_id != sidecar.job_id, bool(m.key.edit), kind, m.id)

    return min(found, key=preference, default=None)


def plan(members: list[Member]) -> dict[int, tuple[int | None, CompanionRole | None]]:
    """{file id: (main id, role)} for every file in a set (mains with None); files in no set
    are left out, lone motion photos included with their role."""
    media = [m for m in members if not m.sidecar]
    sets = _Sets()
    for a, b in _edges(media):
        sets.join(a.id, b.id)
    components: dict[int, list[Member]] = defaultdict(list)
    for m in media:
        components[sets.find(m.id)].append(m)
    wanted: dict[int, tuple[int | None, CompanionRole | None]] = {}
    for together in components.values():
        if len(together) > 1:
            wanted.update(_roles(together))
    by_name: dict[tuple[str, str], list[Member]] = defaultdict(list)
    by_stem: dict[tuple[str, str], list[Member]] = defaultdict(list)
    for m in media:
        by_name[(m.folder, m.name.lower())].append(m)
        by_stem[(m.folder, m.stem)].append(m)
    seen: set[tuple[int, str]] = set()
    for sidecar in sorted((m for m in members if m.sidecar), key=lambda m: (m.status != FileStatus.COMPANION, m.id)):
        partner = _sidecar_partner(sidecar, by_name, by_stem)
        if partner is None:
            continue
        main_id = (wanted.get(partner.id) or (None, None))[0] or partner.id
        if (main_id, sidecar.name.lower()) in seen:
            continue  # the same sidecar found again (a folder imported twice): kept once
        seen.add((main_id, sidecar.name.lower()))
        wanted[sidecar.id] = (main_id, CompanionRole.SIDECAR)
        if main_id not in wanted:
            wanted[main_id] = (None, CompanionRole.MOTION if partner.motion else CompanionRole.ORIGINAL)
    for m in media:
        if m.motion and m.id not in wanted:
            wanted[m.id] = (None, CompanionRole.MOTION)
    return wanted


# --- reading and writing the library --------------------------------------------------------


# Every file that may be in a set: imported files (not exact copies) and sidecar files.
MAY_BE_IN_A_SET = or_(
    and_(
        File.status.in_([str(FileStatus.DONE), str(FileStatus.COMPANION)]),
        File.exact_of_id.is_(None),
        File.mime.is_not(None),
    ),
    and_(File.status == str(FileStatus.SKIPPED), File.media_kind == str(MediaKind.SIDECAR)),
)


def _around(file_ids: Iterable[int]) -> list[int]:
    """The files that may be in a set with any of `file_ids`: those sharing a name key or a
    content identifier with them, with those sharing one with these, and so on (every file of
    every set they can be in). Ascending."""
    found: set[int] = set()
    keys: set[str] = set()
    ids: set[str] = set()
    new_keys, new_ids = set(), set()
    for chunk in chunks(list(file_ids)):
        for key, content_id in db.session.execute(
            select(File.companion_key, File.content_id).where(File.id.in_(chunk), MAY_BE_IN_A_SET)
        ):
            new_keys.add(key)
            new_ids.add(content_id)
    while True:
        new_keys, new_ids = new_keys - keys - {None}, new_ids - ids - {None}
        if not new_keys and not new_ids:
            return sorted(found)
        keys |= new_keys
        ids |= new_ids
        looked_up = [File.companion_key.in_(chunk) for chunk in chunks(sorted(new_keys))]
        looked_up += [File.content_id.in_(chunk) for chunk in chunks(sorted(new_ids))]
        new_keys, new_ids = set(), set()
        for where in looked_up:
            for file_id, key, content_id in db.session.execute(
                select(File.id, File.companion_key, File.content_id).where(where, MAY_BE_IN_A_SET)
            ):
                found.add(file_id)
                new_keys.add(key)
                new_ids.add(content_id)


def _members(file_ids: list[int] | None = None) -> list[Member]:
    """The files of `file_ids` that may be in a set (None: every such file)."""
    if file_ids is None:
        return _members_where(MAY_BE_IN_A_SET)
    return [m for chunk in chunks(file_ids) for m in _members_where(and_(File.id.in_(chunk), MAY_BE_IN_A_SET))]


def _members_where(where) -> list[Member]:
    rows = db.session.execute(
        select(
            File.id,
            File.status,
            File.original_name,
            File.relative_dir,
            File.mime,
            File.media_kind,
            File.taken_at,
            File.confidence,
            File.camera_make,
            File.camera_model,
            File.duration,
            File.discarded,
            File.companion_of,
            File.companion_role,
            File.job_id,
            File.group_id,
            File.meta["content_identifier"].as_string(),
            File.meta[("video", "content_identifier")].as_string(),
            File.meta[("motion_photo", "offset")].as_integer(),
            File.meta["content_sha256"].as_string(),
        ).where(where)
    ).all()
    return [Member(*r[:16], content_id=r[16] or r[17], motion=r[18] is not None, content_sha=r[19]) for r in rows]


@dataclass
class LinkReport:
    sets: int = 0  # sets among the files looked at (the library's, or those an import's files can be in)
    linked: int = 0  # files that joined a set (or moved to another) in this run
    released: int = 0  # files that left a set

    def __str__(self) -> str:
        return f"{self.sets} companion sets; {self.linked} files joined one, {self.released} left one"


def _values(m: Member, main_id: int | None, role: CompanionRole | None) -> dict | None:
    """The columns to change so that `m` is what the plan says, or None when it is already."""
    if main_id is not None:
        status = FileStatus.COMPANION
    elif m.status == FileStatus.COMPANION:
        status = FileStatus.SKIPPED if m.sidecar else FileStatus.DONE
    else:
        status = m.status
    if (m.companion_of, m.role, m.status) == (main_id, role, status):
        return None
    values = {"id": m.id, "companion_of": main_id, "companion_role": role, "status": status}
    if m.sidecar and status != m.status:
        # a sidecar kept with its photo is exported with it: its content hash names it
        linked = status == FileStatus.COMPANION
        values["sha256"] = m.content_sha if linked else None
        values["error"] = None if linked else sidecars.describe(companion_names.split(m.name)[1], m.name)
    return values


def _apply(members: list[Member], wanted: dict) -> LinkReport:
    report = LinkReport(sets=sum(1 for main, role in wanted.values() if main is None and role is not None))
    changes = []
    joined: list[int] = []
    for m in members:
        main_id, role = wanted.get(m.id, (None, None))
        values = _values(m, main_id, role)
        if values is None:
            continue
        changes.append(values)
        if main_id is not None and main_id != m.companion_of:
            report.linked += 1
            if m.group_id is not None:
                joined.append(m.id)
        elif main_id is None and m.companion_of is not None:
            report.released += 1
    for shape in _by_shape(changes):
        db.session.execute(update(File), shape)
    leave_groups(joined)
    return report


def _by_shape(rows: list[dict]) -> list[list[dict]]:
    shapes: dict[frozenset, list[dict]] = {}
    for row in rows:
        shapes.setdefault(frozenset(row), []).append(row)
    return list(shapes.values())


def leave_groups(file_ids: list[int]) -> None:
    """Parts of a set leave their duplicate groups: they are kept or left out with their set.
    A group left with fewer than two files, or without the file its members were compared
    with, is taken apart."""
    by_group: dict[int, set[int]] = defaultdict(set)
    for chunk in chunks(file_ids):
        for file_id, group_id in db.session.execute(
            select(File.id, File.group_id).where(File.id.in_(chunk), File.group_id.is_not(None))
        ):
            by_group[group_id].add(file_id)
    for group_id, leaving in by_group.items():
        group = db.session.get(DuplicateGroup, group_id)
        members = set(db.session.execute(select(File.id).where(File.group_id == group_id)).scalars())
        if group is None or len(members - leaving) < 2 or group.representative_id in leaving:
            leaving = members
        db.session.execute(update(File).where(File.id.in_(leaving)).values(group_id=None))
        gone = Duplicate.file_id.in_(leaving) | Duplicate.duplicate_of_id.in_(leaving)
        db.session.execute(delete(Duplicate).where(Duplicate.group_id == group_id, gone))
        if group is not None and leaving == members:
            db.session.execute(delete(DuplicateGroup).where(DuplicateGroup.id == group_id))
        elif group is not None and group.recommended_id in leaving:
            group.recommended_id = group.representative_id


def link(settings=None, file_ids: Iterable[int] | None = None) -> LinkReport:
    """Find the companion sets of the library (with `file_ids`: the sets those files can be
    in, see _around) and record what changed (one at a time across machines; safe to run
    again)."""
    db.session.commit()  # the lock is written through another connection
    seconds = settings.lease_seconds if settings is not None else leases.LEASE_SECONDS
    ids = None if file_ids is None else list(file_ids)
    with locks.hold(LOCK_NAME, seconds=seconds):
        report = retrying(lambda: _link(ids), db.session.rollback)
    log.info("companions: %s", report)
    return report


def _link(file_ids: list[int] | None) -> LinkReport:
    newest = db.session.execute(select(func.max(UserDecision.id))).scalar() or 0
    seen = db.session.get(AppSetting, SEEN_KEY)
    if file_ids is not None and seen is None:
        file_ids = None  # the first link since the upgrade: the whole library, once
    if file_ids is not None:
        file_ids = [*file_ids, *_decided_since(int(seen.value))]
    members = _members(None if file_ids is None else _around(file_ids))
    report = _apply(members, plan(members))
    db.session.merge(AppSetting(key=SEEN_KEY, value=newest))
    db.session.commit()
    return report


def _decided_since(seen: int) -> set[int]:
    """The files people changed after decision `seen`: a date, a confirmation or a leave-out
    can pair or part files, and an import's link looks at them too (a group's verdict: its files)."""
    rows = db.session.execute(select(UserDecision.file_id, UserDecision.group_id).where(UserDecision.id > seen)).all()
    files = {file_id for file_id, _ in rows if file_id is not None}
    groups = sorted({group_id for file_id, group_id in rows if file_id is None and group_id is not None})
    for chunk in chunks(groups):
        files.update(db.session.execute(select(File.id).where(File.group_id.in_(chunk))).scalars())
    return files


# --- what other steps ask --------------------------------------------------------------------


def main_ids(file_ids: Iterable[int]) -> list[int]:
    """The given files with each part replaced by its set's main file (in order, once each)."""
    ids = list(dict.fromkeys(int(i) for i in file_ids))
    mains: dict[int, int] = {}
    for chunk in chunks(ids):
        mains.update(
            db.session.execute(
                select(File.id, File.companion_of).where(File.id.in_(chunk), File.companion_of.is_not(None))
            ).all()
        )
    return list(dict.fromkeys(mains.get(i, i) for i in ids))


def parts_of(main_ids: Iterable[int]) -> dict[int, list[File]]:
    """{main id: its parts (File rows), by id} for the mains that have parts."""
    found: dict[int, list[File]] = defaultdict(list)
    for chunk in chunks(list(dict.fromkeys(main_ids))):
        for f in db.session.execute(select(File).where(File.companion_of.in_(chunk)).order_by(File.id)).scalars():
            found[f.companion_of].append(f)
    return dict(found)


def with_parts(file_ids: Iterable[int]) -> list[int]:
    """The sets of the given files: each main followed by its parts."""
    mains = main_ids(file_ids)
    parts = parts_of(mains)
    return [i for main in mains for i in (main, *(p.id for p in parts.get(main, ())))]


ROLE_LABELS = {
    CompanionRole.STILL: "the picture of a Live Photo",
    CompanionRole.JPEG: "the JPEG",
    CompanionRole.ORIGINAL: "the original",
    CompanionRole.MOTION: "a motion photo (its video is inside)",
    CompanionRole.VIDEO: "the Live Photo's video",
    CompanionRole.RAW: "the RAW file",
    CompanionRole.EDIT: "an edited version",
    CompanionRole.SIDECAR: "edit or metadata information",
}
SET_NAMES = (  # (role a part has, what the set is called), in the order the names are told
    (CompanionRole.VIDEO, "Live Photo"),
    (CompanionRole.RAW, "RAW + JPEG"),
    (CompanionRole.EDIT, "Edited"),
    (CompanionRole.SIDECAR, "sidecar"),
)


def set_of(file: File) -> dict | None:
    """The companion set a file belongs to, for its page: {"main", "files" (main first), "name"},
    or None for a file that travels alone."""
    main = db.session.get(File, file.companion_of) if file.companion_of else file
    if main is None:
        return None
    parts = parts_of([main.id]).get(main.id, [])
    if not parts and main.companion_role != CompanionRole.MOTION:
        return None
    roles = {p.companion_role for p in parts}
    names = [name for role, name in SET_NAMES if role in roles]
    if main.companion_role == CompanionRole.MOTION:
        names.insert(0, "Motion photo")
    return {"main": main, "files": [main, *parts], "name": " · ".join(names)}
