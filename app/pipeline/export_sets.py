"""Companion sets in the export: every part of a set (a Live Photo's video, the RAW beside its
JPEG, an edit, an .AAE or .xmp sidecar) is written beside its main file under the main's name,
so Apple Photos, Immich, darktable and Lightroom pair them again:

    2019/20190803_141500.heic  .mov  .aae      a Live Photo with its Photos edit file
    2019/20190803_141500.jpg   .cr2  .cr2.xmp  RAW + JPEG, darktable's sidecar of the RAW
    2019/20190803_141500-edited.heic           an edit beside its original

A part's fate follows its main file: exported, updated, retired (left out) or waiting with it,
stating the main's date. A part's name is the main's with its own ending; when that name is
taken by another file, the whole set moves to the next free suffix (a rename of the main and
so of every part), never the part alone. A sidecar keeps its own convention: `NAME.ext.xmp`
names the very file it describes (darktable, digiKam), `NAME.xmp` and `NAME.aae` the shot.
Where a file's own export sidecar would take the name of a `NAME.ext.xmp` the person's program
wrote, that sidecar is carried over with the date and tags merged in (one file, not two).

A sidecar's manifest key is "<its sha256>:<its main file's sha256>": two photos may have
byte-identical sidecars, and each keeps its own copy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..media import companion_names, naming
from ..vocab import CompanionRole, FileStatus

ROLE_ORDER = (CompanionRole.VIDEO, CompanionRole.RAW, CompanionRole.EDIT, CompanionRole.SIDECAR)
JPEG_MIMES = ("image/jpeg", "image/mpo")


@dataclass
class Part:
    row: object  # the COMPANION file row
    main: object  # its main file's row
    copies: list = field(default_factory=list)  # exact copies of its bytes (alternate sources)
    tail: str | None = None  # what follows the set's shared name; None: carried inside another file's sidecar
    member: object | None = None  # a NAME.ext.xmp sidecar: the file it describes

    @property
    def sidecar(self) -> bool:
        return self.row.companion_role == CompanionRole.SIDECAR

    @property
    def key(self) -> str:
        """Its manifest key (see the module notes)."""
        return f"{self.row.sha256}:{self.main.sha256}" if self.sidecar else self.row.sha256


def archive_ext(row) -> str:
    return naming.archive_ext(row.mime, row.ext, row.original_name)


class Sets:
    """The library's sets as the export sees them, by the main file's content (sha256)."""

    def __init__(self, rows):
        by_id = {r.id: r for r in rows}
        self.parts: dict[str, list[Part]] = defaultdict(list)
        self.media_parts: dict[str, Part] = {}  # a part's sha256 -> it (its exact copies join it)
        for r in rows:
            main = by_id.get(r.companion_of) if r.status == FileStatus.COMPANION else None
            if main is None or not (r.sha256 and r.mime and main.sha256):
                continue
            part = Part(r, main)
            self.parts[main.sha256].append(part)
            if not part.sidecar:
                self.media_parts.setdefault(r.sha256, part)
        for parts in self.parts.values():
            parts.sort(key=lambda p: (ROLE_ORDER.index(p.row.companion_role), p.row.id))
            self._endings(parts)

    def owns(self, sha: str, group: list) -> bool:
        """Whether these rows (one content) are a part and its exact copies: planned with
        the set, not on their own."""
        part = self.media_parts.get(sha)
        if part is None:
            return False
        part.copies = [r for r in group if r is not part.row]
        return True

    def _endings(self, parts: list[Part]) -> None:
        """Each part's ending, unique in its set: ".mov", ".cr2", "-edited.heic", ".aae",
        ".xmp", ".cr2.xmp"; None for a sidecar carried inside its file's export sidecar."""
        members = [parts[0].main, *(p.row for p in parts if not p.sidecar)]
        used = {f".{archive_ext(parts[0].main)}"}
        for part in parts:
            row = part.row
            if part.sidecar:
                target = companion_names.sidecar_target(row.original_name)
                part.member = next((m for m in members if target.name and m.original_name.lower() == target.name), None)
                if part.member is not None and part.member.mime not in JPEG_MIMES:
                    continue  # carried in the member's own sidecar (its name is that sidecar's)
                inner = f".{archive_ext(part.member)}" if part.member is not None else ""
                tail = f"{inner}.{archive_ext(row)}"
            elif row.companion_role == CompanionRole.EDIT:
                tail = f"-edited.{archive_ext(row)}"
            else:
                tail = f".{archive_ext(row)}"
            head, dot, ext = tail.rpartition(".")
            counter = 2
            while tail.casefold() in used:
                tail = f"{head}-{counter}{dot}{ext}"
                counter += 1
            used.add(tail.casefold())
            part.tail = tail

    def of(self, main_sha: str) -> list[Part]:
        return self.parts.get(main_sha, [])

    def tails(self, main_sha: str) -> tuple[tuple[int, str], ...]:
        """The set's (part file id, ending) pairs for naming its main file."""
        return tuple((p.row.id, p.tail) for p in self.of(main_sha) if p.tail is not None)

    def carried(self, main_sha: str, member=None) -> Part | None:
        """The person's NAME.ext.xmp sidecar that the export sidecar of `member` (a part's
        row; None: the main file) carries over."""
        return next(
            (p for p in self.of(main_sha) if p.tail is None and p.member is (member or p.main)),
            None,
        )


# --- planning the parts (the export planner calls these) ------------------------------------


def _follows(main_item) -> str:
    """What a part does, by its main file's fate: follow, discarded or waiting."""
    if main_item is None or main_item.action == "retire" or main_item.reason == "discarded":
        return "discarded"
    if main_item.reason == "waiting_review":
        return "waiting"
    return "follow"


def _item(planner, part: Part, main_item):
    """The part's plan entry: its own bytes, stating its main file's date and the set's tags."""
    from .decisions import export_orientation
    from .export_plan import PlannedFile, _display

    row = part.row
    carried = planner.sets.carried(part.main.sha256, row)
    # an .AAE or .xmp copy says nothing about a date (or tags) itself: only its name does
    said = {} if part.sidecar else {k: getattr(main_item, k) for k in ("local", "offset", "precision", "utc", "stated")}
    return PlannedFile(
        file_id=row.id,
        source=row.path,
        display=_display(row),
        sha256=part.key,
        size=row.size or 0,
        mime=row.mime,
        action="export",
        **said,
        time_source=main_item.time_source,
        confidence=main_item.confidence,
        tags=[] if part.sidecar else list(main_item.tags),
        alternates=sorted({r.path for r in part.copies if r.path != row.path}),
        also=sorted({_display(r) for r in part.copies}),
        orientation=None if part.sidecar else export_orientation(row.orientation, row.rotation),
        companion_of=part.main.sha256,
        role=row.companion_role,
        content_sha256=row.sha256 if part.sidecar else None,
        sidecar_from=[carried.row.path, carried.row.sha256] if carried is not None else None,
    )


def _not_following(planner, part: Part, main_item, fate: str) -> None:
    """A part whose main file is left out, waiting for review, or that travels inside its
    file's sidecar: skipped (or its archive copy retired) with the reason."""
    from .export_plan import PlannedFile, _display

    previous = planner.index.get(part.key)
    if fate == "discarded" and previous is not None:
        planner._retire(part.row, previous, part.key)  # noqa: SLF001 - the planner's own step, for a part
        return
    reason, message = {
        "discarded": ("discarded", f"Left out with {_display(part.main)}: not exported"),
        "waiting": ("waiting_review", f"Waits with {_display(part.main)} for review"),
        "carried": ("in_sidecar", f"Carried in the sidecar of {part.member and _display(part.member)}"),
    }[fate]
    row = part.row
    planner.plan.files.append(
        PlannedFile(row.id, row.path, _display(row), part.key, row.size or 0, row.mime, "skip", reason, message)
    )


def plan_parts(planner, disk) -> list[tuple[Part, object]]:
    """Every part's fate, from its main file's. A set whose main keeps its archive name keeps
    its parts' names free for them; where one is taken, the whole set is named again.
    Returns the parts that go into the archive with their main (named by `place_parts`)."""
    following: list[tuple[Part, object]] = []
    for main_sha, parts in planner.sets.parts.items():
        main_item = planner.items.get(main_sha)
        fate = _follows(main_item)
        staying: list[str] = []
        for part in parts:
            for row in part.copies:
                planner.plan.files.append(
                    planner._skipped(row, "same_content", "Same file as its set's part: exported once")
                )  # noqa: SLF001
            if fate != "follow" or part.tail is None:
                _not_following(planner, part, main_item, fate if fate != "follow" else "carried")
                continue
            item = _item(planner, part, main_item)
            planner.plan.files.append(item)
            following.append((part, item))
            if main_item.target is not None:
                staying.append(_free_beside(planner, disk, part, main_item))
        if staying and (None in staying) and planner.rename(main_item):
            continue
        planner.reserved.update(path.casefold() for path in staying if path)
    return following


def _free_beside(planner, disk, part: Part, main_item) -> str | None:
    """The part's name beside a main that keeps its name, or None when another file has it."""
    path = naming.companion_path(main_item.target, part.tail)
    previous = (planner.index.get(part.key) or {}).get("output") or ""
    mine = previous.casefold() == path.casefold()
    return path if mine or not (disk.taken(path) or path.casefold() in planner.reserved) else None


def place_parts(planner, following: list[tuple[Part, object]]) -> None:
    """The parts' names beside their main files (named now), and what each needs: written,
    rewritten, renamed, or nothing (already in the archive as it should be)."""
    for part, item in following:
        main_item = planner.items[part.main.sha256]
        item.target = naming.companion_path(main_item.target, part.tail)
        previous = planner.index.get(part.key)
        if (
            main_item.reason == "changed_in_archive"
            and previous is None
            and planner.output.joinpath(item.target).exists()
        ):
            item.action, item.reason = "skip", "changed_in_archive"
            item.message = f"{item.target} is taken, and {main_item.target} cannot be renamed: changed in the archive"
            planner.plan.conflicts.append(f"{item.display}: {item.message}")
            continue
        if previous is not None:
            fits = previous["output"].casefold() == item.target.casefold()
            if not planner._against_archive(item, previous, fits):  # noqa: SLF001
                continue
        planner.writes(item, previous, None)
