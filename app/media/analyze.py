"""Everything MediaParser learns from one file, in one pass: the function the import
workers and `flask inspect` both call. Pure: a path in, an `Analysis` out (plus thumbnail
files when asked for); no Flask, no database.

A bad file never raises: it comes back with `status` ERROR or SKIPPED and a message a
person can read, and with whatever could still be learned (size, hash, type, dates).
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError

from ..vocab import FileStatus, MediaKind
from . import (
    apple,
    confidence,
    exif,
    exiftool_reader,
    geozone,
    hashing,
    motion,
    probe,
    raw,
    sidecars,
    similarity,
    tags,
    thumbnails,
    timestamps,
    video,
    videocheck,
    walk,
)

try:  # HEIC/HEIF support; AVIF is built into Pillow >= 11.2
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    pillow_heif = None

# Files up to this size are read into memory once (hash, EXIF and decode share the bytes);
# larger ones (videos) are streamed.
IN_MEMORY_LIMIT = 128 * 1024 * 1024


@dataclass
class Analysis:
    path: str
    name: str
    relative_dir: str = ""
    status: FileStatus = FileStatus.DONE  # DONE | DUPLICATE | SKIPPED | ERROR
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    size: int | None = None
    inode: int | None = None
    mtime: datetime | None = None
    sha256: str | None = None
    mime: str | None = None
    kind: str | None = None
    ext: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    duration: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    phash: int | None = None
    dhash: int | None = None
    mean_color: int | None = None
    contrast: float | None = None
    fingerprint: bytes | None = None  # 64x64 grey levels for near-duplicate search
    thumb_key: str | None = None
    candidates: list[timestamps.Candidate] = field(default_factory=list)
    choice: confidence.Choice = field(default_factory=confidence.Choice)
    tags: dict[str, str] = field(default_factory=dict)

    def inspect_record(self) -> dict[str, Any]:
        """The stable JSON shape `flask inspect` prints (other tools read it): exactly these
        keys. Candidates show their own value (instants in UTC, with +00:00); a rejected one
        keeps its value when it could be read, and says why in "rejected"."""
        return {
            "path": self.path,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "sha256": self.sha256,
            "phash": hashing.hash_hex(self.phash),
            "timestamp": self.choice.iso(),
            "precision": self.choice.precision,
            "confidence": self.choice.confidence,
            "source": self.choice.source,
            "candidates": [
                {
                    "source": c.source,
                    "timestamp": c.value.replace(microsecond=0).isoformat() if c.value is not None else None,
                    "precision": c.precision,
                    **({"rejected": c.rejected} if c.rejected else {}),
                }
                for c in self.candidates
            ],
            "error": self.error,
        }


def decode_error_text(exc: BaseException, mime: str | None) -> str:
    """A sentence a person can act on; the library's own words only as a detail at the end."""
    kind = (mime or "image").split("/")[-1].upper()
    text = str(exc)
    if isinstance(exc, thumbnails.TooLarge):
        return (
            f"This {kind} picture is {exc.pixels / 1e6:,.0f} megapixels: too large to open within the memory "
            f"MediaParser gives one file (at most about {exc.limit / 1e6:,.0f} megapixels for this kind of "
            "picture). The file may be damaged or made to overload computers; if it is a real picture, "
            "give MediaParser more memory per file (MEDIAPARSER_WORKER_MEMORY_MB) and import it again"
        )
    if isinstance(exc, Image.DecompressionBombError):
        sizes = [int(n) for n in re.findall(r"\d+", text)]
        if len(sizes) >= 2:
            return (
                f"This picture says it is {sizes[0] / 1e6:,.0f} megapixels, far more than can be opened "
                f"safely ({sizes[1] / 1e6:,.0f} at most); the file is probably damaged or malicious"
            )
        return "This picture is too large to open safely; the file is probably damaged or malicious"
    if "truncated" in text.lower() or isinstance(exc, EOFError) or "end of file" in text.lower():
        return f"The {kind} file is incomplete: it was cut off, perhaps during a copy or download"
    if isinstance(exc, UnidentifiedImageError):
        return f"The file starts like a {kind} but its contents cannot be read: it is probably damaged"
    if isinstance(exc, MemoryError):
        return "Not enough memory to open this picture"
    detail = text.splitlines()[0][:100] if text else type(exc).__name__
    return f"The {kind} picture data is damaged and cannot be shown (detail: {detail})"


def _image_stats(small: Image.Image, gray: Image.Image) -> tuple[int, float]:
    """Mean colour as 0xRRGGBB and the spread of brightness (0 = perfectly flat)."""
    from PIL import ImageStat

    rgb = ImageStat.Stat(small if small.mode == "RGB" else small.convert("RGB")).mean
    luminance = ImageStat.Stat(gray).stddev[0]
    r, g, b = (max(0, min(255, round(v))) for v in rgb)
    return (r << 16) | (g << 8) | b, round(luminance, 2)


def _derive(result: Analysis, upright: Image.Image, thumb_root: Path | None) -> None:
    """Hashes, colour, fingerprint and thumbnails, all from one small version and its one
    greyscale copy."""
    small = thumbnails.small_version(upright)
    gray = small.convert("L")
    result.mean_color, result.contrast = _image_stats(small, gray)
    fingerprint = similarity.fingerprint_image(gray)
    result.fingerprint = fingerprint.tobytes()
    # from the 64x64 fingerprint rather than the 320-px picture: the same 8x8 frequencies and
    # 9x8 gradients, in a fifth of the time
    result.phash, result.dhash = hashing.perceptual_hashes(fingerprint)
    if thumb_root is not None and result.sha256:
        result.thumb_key = thumbnails.thumb_key(result.sha256)
        large = not thumbnails.large_on_view(result.mime)
        thumbnails.write_thumbnails(thumb_root, result.thumb_key, upright, small, large=large)


def _analyze_image(
    result: Analysis, data: bytes | None, path: Path, thumb_root: Path | None, decode_bytes: int | None = None
) -> None:
    with warnings.catch_warnings():
        # Pillow warns about odd metadata; those files still decode, and a damaged one raises.
        warnings.simplefilter("ignore")
        source = io.BytesIO(data) if data is not None else path
        try:
            image = Image.open(source)
        except Exception as exc:  # noqa: BLE001 - Pillow and plugins raise many types
            result.status, result.error = FileStatus.ERROR, decode_error_text(exc, result.mime)
            if data is not None:
                result.meta, _ = exif.read_exif(data, result.mime or "")
            return
        with image:
            if image.format == "MPO":
                result.mime, result.ext = "image/mpo", "mpo"
            w, h = image.size
            # Decode before reading EXIF through Pillow: a failed metadata read can leave a
            # damaged image looking loaded.
            try:
                longest = thumbnails.import_size(result.mime, image.size)
                upright = thumbnails.decode_reduced(image, longest, max_bytes=decode_bytes)
            except Exception as exc:  # noqa: BLE001
                result.status, result.error = FileStatus.ERROR, decode_error_text(exc, result.mime)
                result.meta, _ = exif.read_exif(data or b"", result.mime or "")
                return
            result.meta, warning = exif.read_exif(data or b"", result.mime or "", image)
            if warning:
                result.warnings.append(warning)
            result.orientation = result.meta.get("stored_orientation", result.meta.get("orientation"))
            # Report upright dimensions (what a person sees): turned if the decode was turned.
            if w != h and (upright.width > upright.height) != (w > h):
                w, h = h, w
            result.width, result.height = w, h
    _derive(result, upright, thumb_root)


def _analyze_raw(result: Analysis, data: bytes | None, path: Path, thumb_root: Path | None) -> None:
    """A camera raw file: metadata and size from raw.py, pictures from its embedded preview."""
    info = raw.read(path, result.mime or "", data)
    result.meta = info.meta
    result.warnings += info.notes
    orientation = info.meta.get("orientation") if isinstance(info.meta.get("orientation"), int) else None
    result.orientation = orientation
    result.width, result.height = info.width, info.height
    if orientation in (5, 6, 7, 8) and info.width and info.height:
        result.width, result.height = info.height, info.width  # upright, as for every picture
    upright = thumbnails.decode_preview(raw.preview_order(info.previews), orientation)
    if upright is None:
        result.warnings.append("This raw file holds no preview picture that can be shown; its date and size were read")
        return
    if not result.width:
        result.width, result.height = upright.size
    _derive(result, upright, thumb_root)


def _maker_note_dates(meta: dict[str, Any], data: bytes | None, mime: str | None, path: Path) -> None:
    """Cameras that keep the capture date only in their maker notes or a vendor segment
    (trail cameras, FLIR, Casio, old Olympus): ask exiftool, and only for those."""
    if meta.get("datetime_original") or meta.get("datetime_digitized") or not (mime or "").startswith("image/"):
        return
    if not exiftool_reader.worth_asking(data or b"", mime or "", meta):
        return
    found = exiftool_reader.maker_dates(path)
    if found:
        meta["maker_dates"] = found


def _analyze_video(result: Analysis, path: Path, thumb_root: Path | None) -> None:
    result.warnings += videocheck.problems(path, result.mime)  # a cut-off or damaged file says so
    try:
        result.video = video.probe_video(path, result.mime)
    except Exception as exc:  # noqa: BLE001 - stub and damaged containers
        result.warnings.append(f"Video details could not be read: {exc}")
        return
    result.duration = result.video.get("duration")
    result.width, result.height = result.video.get("width"), result.video.get("height")
    result.meta = {k: result.video[k] for k in ("make", "model") if result.video.get(k)}
    frame = video.poster_frame(path, result.duration)
    if frame is None:
        return
    _derive(result, frame, thumb_root)


def analyze(
    path: str | Path,
    *,
    zone: ZoneInfo,
    name: str | None = None,
    relative_dir: str = "",
    mtime: datetime | None = None,
    thumb_root: Path | None = None,
    known_sha256: frozenset[str] | set[str] = frozenset(),
    now: datetime | None = None,
    decode_bytes: int | None = None,
) -> Analysis:
    """Analyze one file. `name`/`relative_dir` are what the person gave (dates and tags come
    from them); `mtime` overrides the file's own (a browser upload's lastModified).
    A file whose sha256 is in `known_sha256` comes back as status DUPLICATE undecoded.
    Pictures over Pillow's pixel limit, which the process's entry point sets, are refused, and
    so are pictures whose full decode would need more than `decode_bytes` of memory."""
    path = Path(path)
    result = Analysis(path=str(path), name=name or path.name, relative_dir=relative_dir)
    try:
        _run(result, path, zone, mtime, thumb_root, known_sha256, now, decode_bytes)
    except Exception as exc:  # noqa: BLE001 - last line of defence: one file never stops a job
        result.status = FileStatus.ERROR
        result.error = f"Unexpected problem reading this file ({type(exc).__name__}: {str(exc)[:160]})"
    return result


def _nonblocking(path, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def _open_regular(path: Path) -> tuple[os.stat_result, bytes] | None:
    """The file's status and first bytes; None when it is not a regular file. Opened without
    blocking, so a named pipe put in a file's place is never waited on."""
    with open(path, "rb", buffering=0, opener=_nonblocking) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        os.set_blocking(fh.fileno(), True)
        return st, fh.read(probe.HEAD_BYTES)


def _run(result, path, zone, mtime, thumb_root, known_sha256, now, decode_bytes) -> None:
    try:
        opened = _open_regular(path)
        if opened is None:
            result.status, result.error = FileStatus.SKIPPED, "Not a regular file"
            return
        st, head = opened
    except PermissionError:
        result.status, result.error = FileStatus.ERROR, "Permission denied: MediaParser may not read this file"
        return
    except FileNotFoundError:
        result.status, result.error = FileStatus.ERROR, "The file is gone (moved or deleted since it was found)"
        return
    except OSError as exc:
        result.status, result.error = FileStatus.ERROR, f"The file cannot be read ({exc.strerror or exc})"
        return
    result.size, result.inode = st.st_size, st.st_ino
    result.mtime = mtime or datetime.fromtimestamp(st.st_mtime, UTC)
    if st.st_size == 0:
        result.status, result.error = FileStatus.ERROR, "Empty file (0 bytes): nothing to import"
        return
    media_type = probe.sniff(head, path.name)
    media_type = (
        probe.sniff_file(path) if media_type is probe.TIFF else media_type
    )  # raw directories may lie past the head
    if media_type is None:
        result.status, result.error = FileStatus.SKIPPED, "Not a photo or video (unknown file type)"
        return
    result.mime, result.kind, result.ext = media_type.mime, media_type.kind, media_type.ext
    if media_type.kind == MediaKind.SIDECAR:
        _sidecar_file(result, path, media_type)
        return

    data = None
    if media_type.kind == MediaKind.IMAGE and st.st_size <= IN_MEMORY_LIMIT:
        data = path.read_bytes()
        result.sha256 = hashing.sha256_bytes(data)
    else:
        result.sha256 = hashing.sha256_file(path)
    if result.sha256 in known_sha256:
        result.status = FileStatus.DUPLICATE
        return

    if media_type.is_raw:
        _analyze_raw(result, data, path, thumb_root)
    elif media_type.kind == MediaKind.IMAGE:
        _analyze_image(result, data, path, thumb_root, decode_bytes)
    else:
        _analyze_video(result, path, thumb_root)
    _maker_note_dates(result.meta, data, result.mime, path)
    content_id = apple.content_identifier(data) if data else None
    if content_id:  # a Live Photo still: its video carries the same identifier
        result.meta["content_identifier"] = content_id
    moving = motion.detect(data, result.mime) if data else None
    if moving:  # a motion photo: its video is inside this file (where, for an export or a player)
        result.meta["motion_photo"] = moving
    _date_and_tags(result, path, zone, now)


def _sidecar_file(result: Analysis, path: Path, media_type: probe.MediaType) -> None:
    """An .AAE or .xmp file: not a picture, so not imported as one (skipped with a sentence)
    until the companion step finds its photo and keeps it with that photo (pipeline/companions.py).
    Its hash is kept aside, not as `sha256`: identical sidecars of two photos are not copies of
    each other."""
    result.status, result.error = FileStatus.SKIPPED, sidecars.describe(media_type.ext, result.name)
    aae = apple.aae_facts(path) if media_type is probe.AAE else None
    result.meta = {"aae": aae} if aae else {}
    if result.size is not None and result.size <= sidecars.MAX_XMP_BYTES:
        result.meta["content_sha256"] = hashing.sha256_file(path)


def _date_and_tags(result: Analysis, path: Path, zone: ZoneInfo, now: datetime | None) -> None:
    """The capture time from everything read, with the files beside it (Takeout JSON, XMP)."""
    sidecar = _sidecar(path, result.name)
    if sidecar:
        result.meta["sidecar"] = sidecar
    xmp_sidecar = _xmp_sidecar(path, result.name)
    if xmp_sidecar:
        result.meta["xmp_sidecar"] = xmp_sidecar
    result.candidates, result.choice = redetect_time(
        result.meta, result.video, result.name, result.relative_dir, result.mtime, zone, now
    )
    result.tags = tags.tags_for(result.name, result.relative_dir)
    for keyword in (xmp_sidecar or {}).get("tags", []):
        normalized = tags.normalize(keyword)
        if normalized:
            result.tags.setdefault(normalized, "xmp")


def _xmp_sidecar(path: Path, name: str) -> dict[str, Any] | None:
    """Dates and keywords from a standalone XMP file beside the picture (IMG_1.CR2.xmp)."""
    try:
        return sidecars.read_xmp_for(path, name)
    except OSError:
        return None


def _sidecar(path: Path, name: str) -> dict[str, Any] | None:
    try:
        return sidecars.read_for(path, name)
    except OSError:
        return None


def redetect_time(
    meta: dict[str, Any],
    video_info: dict[str, Any],
    name: str,
    relative_dir: str,
    mtime: datetime | None,
    zone: ZoneInfo,
    now: datetime | None = None,
    sidecar: dict[str, Any] | None = None,
) -> tuple[list[timestamps.Candidate], confidence.Choice]:
    """Capture-time detection from stored facts alone (no decode): for re-runs and for
    exact duplicates, whose bytes are known but whose name and folder differ.
    `sidecar` defaults to the Takeout facts stored in meta["sidecar"]."""
    meta = meta or {}
    now = now or datetime.now(UTC)
    found = timestamps.collect(
        meta=meta,
        video=video_info,
        name=name,
        relative_dir=relative_dir,
        mtime=mtime,
        sidecar=sidecar if sidecar is not None else meta.get("sidecar"),
        now=now,
    )
    place = geozone.place_of(meta, video_info)
    # Taken somewhere known: its clocks are read in that place's zone, not the household's.
    place_zone = ZoneInfo(place.zone) if place else zone
    candidates = confidence.sanity_check(found, now, place_zone)  # kept with the reasons they were rejected
    choice = confidence.choose(candidates, place_zone, now)
    if place is None:
        return candidates, choice
    return candidates, geozone.with_place(choice, place_zone, place.describe())


def read_time_facts(path: str | Path, mime: str | None, name: str | None = None) -> dict[str, Any]:
    """Re-read only what capture-time detection needs from a file (no decode, no hashes):
    the metadata dict (with "video" and "sidecar" parts as File.meta stores them).
    Raises OSError when the file cannot be read."""
    path = Path(path)
    meta: dict[str, Any] = {}
    if mime and mime.startswith("video/"):
        try:
            info = video.probe_video(path, mime)
        except ValueError:
            info = {}
        meta = {k: info[k] for k in ("make", "model") if info.get(k)}
        if info:
            meta["video"] = info
    elif mime in probe.RAW_MIMES:
        meta = raw.read(path, mime, path.read_bytes() if path.stat().st_size <= IN_MEMORY_LIMIT else None).meta
    elif mime:
        size = path.stat().st_size
        data = path.read_bytes() if size <= IN_MEMORY_LIMIT else b""
        image = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                image = Image.open(io.BytesIO(data) if data else path)
            except Exception:  # noqa: BLE001 - a damaged file still has its raw EXIF
                image = None
            try:
                meta, _ = exif.read_exif(data, mime, image)
            finally:
                if image is not None:
                    image.close()
        _maker_note_dates(meta, data, mime, path)
    sidecar = _sidecar(path, name or path.name)
    if sidecar:
        meta["sidecar"] = sidecar
    xmp_sidecar = _xmp_sidecar(path, name or path.name)
    if xmp_sidecar:
        meta["xmp_sidecar"] = xmp_sidecar
    return meta


def iter_media_paths(root: Path):
    """Files under `root` to analyze, sorted for a stable order (media/walk.py: hidden files
    and folders, links out of `root`, pipes and devices left out)."""
    for entry in walk.walk(root):
        if entry.status is None:
            yield Path(entry.path)
