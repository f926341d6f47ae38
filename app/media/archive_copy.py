"""One exported file, safely: write a temporary file next to its final name, flush it to
the disk, verify it, and only then give it its final name.

    prepare()  source -> hidden temporary file(s) in the target folder, fsynced, verified
    commit()   temporary -> final name (never over an existing file), folder fsynced

A crash, a kill or a full disk at any point leaves at most a hidden `.NAME.mptmp` file,
never a half-written file under a final name. The source is only ever opened for reading.

Verification: a plain copy must read back with the source's sha256 (which must also be
the sha256 recorded at import: a changed original is refused, not exported). A JPEG with
rewritten metadata must keep its image data byte for byte (`jpeg.image_data`) and its new
dates and tags must read back. When that cannot be done, the copy falls back to a plain
copy with an XMP sidecar, and says why.
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import jpeg, xmp_writer
from .metadata_writer import Stamp, WriteError, check, read_back

CHUNK = 1 << 20
TMP_SUFFIX = ".mptmp"
SIDECAR_SUFFIX = ".xmp"
EMBED_LIMIT = 256 * 1024 * 1024  # larger JPEGs (none seen in practice) get a sidecar instead
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
# What link() says on file systems without hard links (the copy is renamed instead).
NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK, errno.EXDEV, errno.EACCES)


class SourceProblem(Exception):
    """The original cannot be exported (gone, unreadable, changed): this file only."""


class DiskFull(Exception):
    """The disk holding the archive is full: the export cannot go on."""


class DestinationProblem(Exception):
    """The archive folder cannot be written: the export cannot go on."""


class NameTaken(Exception):
    """Another file appeared under the planned name; nothing was overwritten."""


@dataclass
class Request:
    source: Path
    sha256: str
    mime: str
    target: Path  # final path of the copy
    method: str  # embed (JPEG metadata rewritten) | sidecar (copy + .xmp) | copy (plain)
    stamp: Stamp
    file_time: float | None  # seconds since the epoch for the copy's mtime; None = the source's
    alternates: tuple[Path, ...] = ()  # other paths with the same content, if the source is gone
    reuse: Path | None = None  # an archive copy with exactly these bytes (a rename): linked, not copied
    # A sidecar people's program wrote for this file (darktable's IMG_1.CR2.xmp: its path and
    # sha256): the copy's sidecar is that one, with the date, tags and orientation merged in.
    sidecar_base: tuple[Path, str] | None = None


@dataclass
class Prepared:
    request: Request
    source: Path  # the path actually read
    method: str
    tmp: Path
    out_sha256: str
    out_size: int
    sidecar_tmp: Path | None = None
    sidecar_sha256: str | None = None
    notes: list[str] = field(default_factory=list)
    writer: str | None = None
    target: Path | None = None  # where it ended up (set by commit)

    @property
    def sidecar(self) -> Path | None:
        return sidecar_path(self.target or self.request.target) if self.sidecar_tmp else None


def tmp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{TMP_SUFFIX}")


def sidecar_path(target: Path) -> Path:
    """`20190615_143000.heic.xmp`: the full name plus .xmp, so a photo and a video of the
    same second (a Live Photo) never share a sidecar."""
    return target.with_name(target.name + SIDECAR_SUFFIX)


def is_tmp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


# --- low-level writing -------------------------------------------------------------------


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _create(path: Path) -> int:
    path.unlink(missing_ok=True)  # a temporary file left by a killed run
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def _disk_full_after(message: str, path: Path, needed: int) -> bool:
    """Whether a writer's failure was the disk filling up (exiftool says only "Error writing
    output file"): then the export must stop, not fall back to a sidecar."""
    if "space" in message.lower():
        return True
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < needed + CHUNK


def _final_name(path: Path) -> str:
    """The name people will see (a temporary `.NAME.mptmp` is NAME)."""
    return path.name[1 : -len(TMP_SUFFIX)] if is_tmp_name(path.name) else path.name


def _dest_error(exc: OSError, path: Path) -> Exception:
    if exc.errno in DISK_FULL:
        return DiskFull(f"The disk is full: no space left to write {_final_name(path)} in {path.parent}")
    return DestinationProblem(f"Cannot write into {path.parent}: {exc.strerror or exc}")


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames in `path` durable (a no-op where folders cannot be fsynced)."""
    with contextlib.suppress(OSError):
        fsync_path(path)


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _open_source(request: Request):
    problems = []
    for candidate in (request.source, *request.alternates):
        try:
            return candidate, open(candidate, "rb")
        except FileNotFoundError:
            problems.append(f"{candidate} is gone (moved or deleted since it was imported)")
        except PermissionError:
            problems.append(f"MediaParser may not read {candidate}")
        except OSError as exc:
            problems.append(f"{candidate} cannot be read ({exc.strerror or exc})")
    raise SourceProblem("; ".join(problems))


def _finish_tmp(path: Path, file_time: float | None, source_stat: os.stat_result) -> None:
    """Set the copy's file time, then flush data and metadata to the disk."""
    if file_time is None:
        os.utime(path, ns=(source_stat.st_atime_ns, source_stat.st_mtime_ns))
    else:
        os.utime(path, (file_time, file_time))
    fsync_path(path)


def _copy_plain(request: Request, src: Path, fh, tmp: Path) -> tuple[str, int]:
    """Stream source -> tmp, hashing what was read; the source must be what was imported."""
    digest, size = hashlib.sha256(), 0
    try:
        fd = _create(tmp)
    except OSError as exc:
        raise _dest_error(exc, tmp) from None
    try:
        while True:
            try:
                chunk = fh.read(CHUNK)
            except OSError as exc:
                raise SourceProblem(f"{src} cannot be read ({exc.strerror or exc})") from None
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            try:
                _write_all(fd, chunk)
            except OSError as exc:
                raise _dest_error(exc, tmp) from None
    finally:
        os.close(fd)
    if digest.hexdigest() != request.sha256:
        raise SourceProblem(f"{src} changed since it was imported (its content is different); import it again")
    return digest.hexdigest(), size


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        fd = _create(path)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _dest_error(exc, path) from None


# --- one file ----------------------------------------------------------------------------


def _try_embed(request: Request, src: Path, data: bytes, tmp: Path, writer, st) -> tuple[str, int] | str:
    """Write the JPEG with its metadata rewritten and verify it; returns (sha, size) or,
    when that is not possible, the reason (the caller falls back to copy + sidecar)."""
    try:
        tmp.unlink(missing_ok=True)  # left by a killed run; writers refuse to overwrite
        writer.write(data, src, tmp, request.stamp)
    except WriteError as exc:
        tmp.unlink(missing_ok=True)
        if _disk_full_after(str(exc), tmp, 2 * len(data)):
            raise DiskFull(f"The disk is full: no space left to write {_final_name(tmp)} in {tmp.parent}") from None
        return f"metadata not written into the JPEG ({exc})"
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _dest_error(exc, tmp) from None
    try:
        _finish_tmp(tmp, request.file_time, st)
        written = tmp.read_bytes()
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _dest_error(exc, tmp) from None
    try:
        same_picture = jpeg.image_data(written) == jpeg.image_data(data)
        problems = [] if same_picture else ["the image data changed"]
        problems += check(request.stamp, read_back(tmp))
    except (jpeg.JpegError, WriteError) as exc:
        problems = [str(exc)]
    if problems:
        tmp.unlink(missing_ok=True)
        return "metadata not written into the JPEG (verification failed: " + "; ".join(problems) + ")"
    return hashlib.sha256(written).hexdigest(), len(written)


def _embed_from(request: Request, src: Path, fh, tmp: Path, writer, st) -> tuple[str, int] | str:
    """The JPEG read whole (it must be what was imported) and rewritten by `_try_embed`:
    (sha, size), or the reason it could not be."""
    if st.st_size > EMBED_LIMIT:
        return "metadata not written into the JPEG (file too large to rewrite in memory)"
    try:
        data = fh.read()
    except OSError as exc:
        raise SourceProblem(f"{src} cannot be read ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != request.sha256:
        raise SourceProblem(f"{src} changed since it was imported (its content is different); import it again")
    result = _try_embed(request, src, data, tmp, writer, st)
    fh.seek(0)
    return result


def _linked(request: Request, tmp: Path) -> bool:
    """The temporary copy as a second name of the archive copy being renamed (no bytes
    written); False when that copy is not exactly the original's bytes, or links are not
    possible here (FAT, exFAT): then it is copied."""
    if request.reuse is None:
        return False
    try:
        tmp.unlink(missing_ok=True)
        os.link(request.reuse, tmp)
        if sha256_of(tmp)[0] == request.sha256:
            return True
    except OSError:
        pass
    tmp.unlink(missing_ok=True)
    return False


def _copy_verified(request: Request, src: Path, fh, tmp: Path, st) -> tuple[str, int]:
    """A plain copy, flushed, then read back: it must hash to the original's sha256. A
    rename links the archive's own copy instead (its bytes are checked the same way)."""
    if _linked(request, tmp):
        _finish_tmp(tmp, request.file_time, st)
        return request.sha256, tmp.stat().st_size
    _copy_plain(request, src, fh, tmp)
    try:
        _finish_tmp(tmp, request.file_time, st)
        out_sha, out_size = sha256_of(tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _dest_error(exc, tmp) from None
    if out_sha != request.sha256:
        tmp.unlink(missing_ok=True)
        raise DestinationProblem(f"The copy of {src} did not read back identical: the disk may be failing")
    return out_sha, out_size


def _sidecar_content(request: Request, notes: list[str]) -> bytes:
    stamp = request.stamp
    if request.sidecar_base is not None:
        path, sha = request.sidecar_base
        try:
            base = path.read_bytes()
            if hashlib.sha256(base).hexdigest() != sha:
                raise xmp_writer.XmpError(f"{path} changed since it was imported")
            return xmp_writer.merge(base, stamp.xmp_date(), stamp.tags, stamp.dated, stamp.orientation)
        except (OSError, xmp_writer.XmpError) as exc:
            notes.append(f"its own sidecar {path.name} could not be carried over ({exc}): a new one was written")
    return xmp_writer.sidecar(stamp.xmp_date(), stamp.tags, stamp.orientation)


def _write_sidecar(request: Request, src: Path, st, notes: list[str]) -> Path:
    """The temporary XMP sidecar, flushed and read back."""
    sidecar_tmp = tmp_path(sidecar_path(request.target))
    content = _sidecar_content(request, notes)
    _write_bytes(sidecar_tmp, content)
    _finish_tmp(sidecar_tmp, request.file_time, st)
    if sidecar_tmp.read_bytes() != content:
        raise DestinationProblem(f"The sidecar of {src} did not read back identical: the disk may be failing")
    return sidecar_tmp


def prepare(request: Request, writer) -> Prepared:
    """Write and verify the temporary copy (and sidecar). Raises SourceProblem for this
    file, DiskFull / DestinationProblem when the archive cannot be written."""
    tmp = tmp_path(request.target)
    try:
        request.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _dest_error(exc, request.target) from None
    src, fh = _open_source(request)
    notes: list[str] = []
    method = request.method
    try:
        st = os.fstat(fh.fileno())
        embedded = _embed_from(request, src, fh, tmp, writer, st) if method == "embed" else None
        if isinstance(embedded, str):
            notes.append(embedded + ": dates and tags are in the XMP sidecar")
            method = "sidecar"
        out_sha, out_size = embedded if method == "embed" else _copy_verified(request, src, fh, tmp, st)
        sidecar_tmp = _write_sidecar(request, src, st, notes) if method == "sidecar" else None
        sidecar_sha = hashlib.sha256(sidecar_tmp.read_bytes()).hexdigest() if sidecar_tmp else None
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp_path(sidecar_path(request.target)).unlink(missing_ok=True)
        raise
    finally:
        fh.close()
    return Prepared(
        request=request,
        source=src,
        method=method,
        tmp=tmp,
        out_sha256=out_sha,
        out_size=out_size,
        sidecar_tmp=sidecar_tmp,
        sidecar_sha256=sidecar_sha,
        notes=notes,
        writer=writer.name if request.method == "embed" and method == "embed" else None,
    )


def _place(tmp: Path, final: Path) -> bool:
    """Give `tmp` the name `final` without ever replacing a file. Returns False when
    `final` already holds exactly these bytes (a killed run got this far): nothing to do."""
    if final.exists():
        if final.stat().st_size == tmp.stat().st_size and filecmp.cmp(final, tmp, shallow=False):
            tmp.unlink()
            return False
        raise NameTaken(f"{final} exists and holds something else")
    try:
        os.link(tmp, final)  # fails if `final` appeared meanwhile: no-clobber, atomically
    except FileExistsError:
        return _place(tmp, final)
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise  # a full disk, a read-only folder: not a reason to rename over something
        # file systems without hard links (FAT, exFAT, some network shares)
        if final.exists():
            return _place(tmp, final)
        os.rename(tmp, final)
        return True
    tmp.unlink()
    return True


def commit(prepared: Prepared, target: Path | None = None) -> None:
    """Give the verified copy its final name (sidecar first, so a copy under its final
    name always has its sidecar). Raises NameTaken; the temporary files then remain for
    a retry under another name."""
    target = target or prepared.request.target
    placed_sidecar = None
    try:
        if prepared.sidecar_tmp is not None:
            sidecar = sidecar_path(target)
            if sidecar.exists() and not filecmp.cmp(sidecar, prepared.sidecar_tmp, shallow=False):
                raise NameTaken(f"{sidecar} exists and holds something else")
            if target.exists() and not filecmp.cmp(target, prepared.tmp, shallow=False):
                raise NameTaken(f"{target} exists and holds something else")
            if prepared.sidecar_tmp.parent != target.parent:
                raise ValueError("a sidecar must be written in its copy's folder")
            sidecar_bytes = prepared.sidecar_tmp.read_bytes()
            if _place(prepared.sidecar_tmp, sidecar):
                placed_sidecar = sidecar
        _place(prepared.tmp, target)
    except OSError as exc:
        if placed_sidecar is not None:  # no sidecar without its copy: the name stays free
            _unplace(placed_sidecar, sidecar_bytes, prepared.sidecar_tmp)
        raise _dest_error(exc, target) from None
    prepared.target = target


def _unplace(path: Path, content: bytes, tmp: Path) -> None:
    """Take back a sidecar this commit placed (its temporary name again, for a retry)."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == content:
            os.rename(path, tmp)


def discard(prepared: Prepared) -> None:
    prepared.tmp.unlink(missing_ok=True)
    if prepared.sidecar_tmp is not None:
        prepared.sidecar_tmp.unlink(missing_ok=True)


# --- copies the archive no longer shows ---------------------------------------------------


def _move(path: Path, destination: Path) -> None:
    """Rename without ever replacing a file (a link fails if the name exists)."""
    try:
        os.link(path, destination)
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise
        os.rename(path, destination)
    else:
        path.unlink()


class ChangedInArchive(Exception):
    """An archive copy is not what MediaParser wrote (someone changed it): it is left alone."""


def changed_since(output: Path, record: dict) -> str | None:
    """Why the archive copy a manifest record describes is no longer what was written (its
    bytes, or its sidecar's, differ), or None when it is intact (or gone)."""
    for key, sha_key in (("output", "output_sha256"), ("sidecar", "sidecar_sha256")):
        name, expected = record.get(key), record.get(sha_key)
        if not name or not expected:
            continue
        try:
            if sha256_of(output / name)[0] != expected:
                return f"{name} was changed in the archive after it was exported (by another program or a person)"
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"{name} cannot be read ({exc.strerror or exc})"
    return None


def retire(path: Path, trash: Path, expected_sha: str | None, keep: Path | None = None) -> str:
    """Move an archive copy into the archive's trash (never deleted, never over another file).
    Returns "moved" (now, or by a run that was killed before it could record it), "gone"
    (nothing there: removed by someone) or "unlinked" (`path` is another name of `keep`,
    the new copy: the bytes live on there). Raises ChangedInArchive when its bytes are not
    `expected_sha`."""
    if not path.exists():
        return "moved" if os.path.lexists(trash) else "gone"
    if keep is not None and keep.exists() and os.path.samefile(path, keep):
        path.unlink()
        return "unlinked"
    if expected_sha and sha256_of(path)[0] != expected_sha:
        raise ChangedInArchive(f"{path.name} was changed in the archive after it was exported: left as it is")
    destination, counter = trash, 1
    while os.path.lexists(destination):
        destination = trash.with_name(f"{trash.stem}_{counter}{trash.suffix}")
        counter += 1
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        _move(path, destination)
    except OSError as exc:
        raise _dest_error(exc, destination) from None
    fsync_dir(path.parent)
    fsync_dir(destination.parent)
    return "moved"
