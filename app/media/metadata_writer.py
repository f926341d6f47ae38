"""Write the capture time and tags into an exported JPEG copy — without re-encoding it —
and read them back to verify.

Two writers with one contract (`write(source_bytes, source_path, dest, stamp)` produces
dest); `read_back(dest)` then shows what a reader sees, through readers that are not the
writers' own (Pillow for EXIF):

- `ExiftoolWriter`: exiftool in one persistent process (pyexiftool, `-stay_open`). The
  reference implementation for EXIF, XMP and IPTC: it merges into what is there, keeps
  maker notes valid, and refuses files it cannot write safely. Used when installed.
- `PythonWriter`: pure Python, for machines without exiftool. EXIF dates through an
  append-only editor (exif_edit.py: nothing existing moves, so maker notes stay valid),
  tags merged into the XMP packet (xmp_writer.py) and added as IPTC keywords (iptc.py).
  piexif was measured and rejected: it fails on 45 of the corpus' 193 JPEGs and rewrites
  the whole EXIF block, moving maker notes.

Both only touch metadata segments; `jpeg.image_data` of the copy must equal the
original's, which the exporter checks for every file.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image

from ..vocab import Precision, has_time_of_day
from . import exif_edit, iptc, jpeg, xmp_writer

log = logging.getLogger(__name__)

EXIF_IFD = 0x8769


class WriteError(Exception):
    """This writer could not put the metadata into the copy; the message says why."""


@dataclass(frozen=True)
class Stamp:
    """What an exported copy should say about itself."""

    local: datetime | None = None  # wall-clock capture time (naive); None = undated
    offset: int | None = None  # minutes east of UTC, when known
    precision: str | None = None  # a Precision value; None = to the second
    tags: tuple[str, ...] = ()
    # EXIF orientation (1-8) the copy must carry because a person turned the picture; None:
    # not turned, the original's tag stays
    orientation: int | None = None

    @property
    def dated(self) -> bool:
        return self.local is not None

    @property
    def exact(self) -> bool:
        """A time of day is known: EXIF dates (always to the second) can carry it."""
        return self.local is not None and has_time_of_day(self.precision)

    def exif_datetime(self) -> str | None:
        if not self.exact:
            return None
        value = self.local.replace(second=0) if self.precision == Precision.MINUTE else self.local
        return value.strftime("%Y:%m:%d %H:%M:%S")

    def exif_offset(self) -> str | None:
        if not self.exact or self.offset is None:
            return None
        sign = "+" if self.offset >= 0 else "-"
        return f"{sign}{abs(self.offset) // 60:02d}:{abs(self.offset) % 60:02d}"

    def exif_subsec(self) -> str | None:
        if not self.exact or Precision.of(self.precision) != Precision.SECOND or not self.local.microsecond:
            return None
        return f"{self.local.microsecond:06d}".rstrip("0")

    def xmp_date(self) -> str | None:
        """ISO 8601 as XMP wants it, truncated to the precision known."""
        if self.local is None:
            return None
        p = Precision.of(self.precision)
        if p == Precision.YEAR:
            return f"{self.local.year:04d}"
        if p == Precision.MONTH:
            return self.local.strftime("%Y-%m")
        if p == Precision.DAY:
            return self.local.strftime("%Y-%m-%d")
        text = self.local.strftime("%Y-%m-%dT%H:%M" if p == Precision.MINUTE else "%Y-%m-%dT%H:%M:%S")
        if self.exif_subsec():
            text += "." + self.exif_subsec()
        return text + (self.exif_offset() or "")

    def exif_changes(self) -> dict[int, str | None]:
        """The Exif IFD tags to set (str) or remove (None).

        A date with a time of day goes into DateTimeOriginal and CreateDate, with the
        offset and sub-seconds when known (stale ones are removed). A date known only to
        the day or month has no honest EXIF form, so a wrong EXIF date the detection
        rejected (or a person overrode) is removed, and the date lives in XMP. An undated
        copy keeps its EXIF as it is."""
        if not self.dated:
            return {}
        date, offset, subsec = self.exif_datetime(), self.exif_offset(), self.exif_subsec()
        return {
            exif_edit.DATETIME_ORIGINAL: date,
            exif_edit.CREATE_DATE: date,
            exif_edit.OFFSET_TIME_ORIGINAL: offset,
            exif_edit.OFFSET_TIME_DIGITIZED: offset,
            exif_edit.SUBSEC_TIME_ORIGINAL: subsec,
            exif_edit.SUBSEC_TIME_DIGITIZED: subsec,
        }

    @property
    def needs_writing(self) -> bool:
        return self.dated or bool(self.tags) or self.orientation is not None


@dataclass
class ReadBack:
    """What a reader finds in a written copy."""

    datetime_original: str | None = None
    create_date: str | None = None
    offset_original: str | None = None
    subsec_original: str | None = None
    xmp_dates: dict[str, str] = field(default_factory=dict)
    subjects: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    orientation: int | None = None  # IFD0


def check(stamp: Stamp, got: ReadBack) -> list[str]:
    """Differences between what was meant to be written and what reads back."""
    problems = []
    if stamp.dated:
        if got.datetime_original != stamp.exif_datetime():
            problems.append(f"DateTimeOriginal reads {got.datetime_original!r}, expected {stamp.exif_datetime()!r}")
        if got.create_date != stamp.exif_datetime():
            problems.append(f"CreateDate reads {got.create_date!r}, expected {stamp.exif_datetime()!r}")
        if got.offset_original != stamp.exif_offset():
            problems.append(f"OffsetTimeOriginal reads {got.offset_original!r}, expected {stamp.exif_offset()!r}")
        for key in ("exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated"):
            if got.xmp_dates.get(key) != stamp.xmp_date():
                problems.append(f"XMP {key} reads {got.xmp_dates.get(key)!r}, expected {stamp.xmp_date()!r}")
    if stamp.orientation is not None and got.orientation != stamp.orientation:
        problems.append(f"Orientation reads {got.orientation!r}, expected {stamp.orientation!r}")
    missing = [t for t in stamp.tags if t not in got.subjects]
    if missing:
        problems.append(f"tags missing from XMP dc:subject: {', '.join(missing)}")
    return problems


def read_back(path: Path) -> ReadBack:
    """What readers find in a written JPEG. EXIF through Pillow (an implementation
    independent of both writers), XMP and IPTC through the segment parsers. Several XMP
    packets (a standard one next to a non-standard one) are a problem in themselves:
    readers disagree on which one counts."""
    data = path.read_bytes()
    got = ReadBack()
    try:
        segments, _ = jpeg.parse(data)
        if sum(1 for s in segments if s.kind in ("xmp", "xmp-nonstandard")) > 1:
            raise WriteError("the copy has several XMP packets")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "malformed MPO": only the EXIF matters here
            with Image.open(io.BytesIO(data)) as image:
                exif = image.getexif()
                ifd = exif.get_ifd(EXIF_IFD)
                got.orientation = exif.get(exif_edit.ORIENTATION)
        got.datetime_original = _text(ifd.get(exif_edit.DATETIME_ORIGINAL))
        got.create_date = _text(ifd.get(exif_edit.CREATE_DATE))
        got.offset_original = _text(ifd.get(exif_edit.OFFSET_TIME_ORIGINAL))
        got.subsec_original = _text(ifd.get(exif_edit.SUBSEC_TIME_ORIGINAL))
        for payload in jpeg.payloads(data, "xmp"):
            found = xmp_writer.read(payload[len(jpeg.XMP_HEADER) :])
            got.xmp_dates, got.subjects = found["dates"], found["subjects"]
        for payload in jpeg.payloads(data, "photoshop"):
            got.keywords = iptc.keywords(payload)
    except (jpeg.JpegError, xmp_writer.XmpError, iptc.IptcError, OSError, SyntaxError, ValueError) as exc:
        raise WriteError(f"the written copy cannot be read back ({exc})") from None
    return got


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).rstrip("\x00").strip() or None


# --- pure Python --------------------------------------------------------------------------


class PythonWriter:
    name = "python"

    def render(self, data: bytes, stamp: Stamp) -> bytes:
        """The JPEG bytes with the stamp written into their metadata segments."""
        try:
            exif_payloads = jpeg.payloads(data, "exif")
            xmp_payloads = jpeg.payloads(data, "xmp")
            ps_payloads = jpeg.payloads(data, "photoshop")
            if len(exif_payloads) > 1 or len(xmp_payloads) > 1 or len(ps_payloads) > 1:
                raise WriteError("the JPEG has repeated metadata segments")
            if jpeg.payloads(data, "xmp-nonstandard"):
                raise WriteError("the JPEG has an XMP packet with a non-standard header")
            new_exif = None
            changes = stamp.exif_changes()
            if changes or stamp.orientation is not None:
                block = exif_payloads[0][len(jpeg.EXIF_HEADER) :] if exif_payloads else None
                block = exif_edit.set_ascii_tags(block, changes) if changes else block
                if stamp.orientation is not None:
                    block = exif_edit.set_orientation(block, stamp.orientation)
                new_exif = jpeg.EXIF_HEADER + block if block else None
            old_xmp = xmp_payloads[0][len(jpeg.XMP_HEADER) :] if xmp_payloads else None
            packet = xmp_writer.merge(
                old_xmp, stamp.xmp_date(), stamp.tags, remove_dates=stamp.dated, orientation=stamp.orientation
            )
            new_xmp = jpeg.XMP_HEADER + packet
            new_ps = None
            if stamp.tags:
                try:
                    new_ps = iptc.add_keywords(ps_payloads[0] if ps_payloads else None, stamp.tags)
                except iptc.IptcError as exc:
                    log.info("IPTC keywords not written: %s", exc)
            return jpeg.replace_metadata(data, exif=new_exif, xmp=new_xmp, photoshop=new_ps)
        except (jpeg.JpegError, exif_edit.ExifEditError, xmp_writer.XmpError, UnicodeError) as exc:
            raise WriteError(str(exc)) from None

    def write(self, data: bytes, source: Path, dest: Path, stamp: Stamp) -> None:
        rendered = memoryview(self.render(data, stamp))
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            while rendered:
                rendered = rendered[os.write(fd, rendered) :]
        finally:
            os.close(fd)

    def close(self) -> None:
        pass


# --- exiftool -----------------------------------------------------------------------------


def exiftool_available() -> bool:
    try:
        import exiftool  # noqa: F401
    except ImportError:
        return False
    return shutil.which("exiftool") is not None


class ExiftoolWriter:
    """One exiftool process kept open (-stay_open): about 15-20 ms per write instead of
    the 150+ ms of starting perl for every file."""

    name = "exiftool"

    def __init__(self):
        import exiftool

        # -n: values as stored (no date reformatting); -charset: UTF-8 in and out
        self._et = exiftool.ExifTool(common_args=["-n", "-charset", "iptc=UTF8"])
        self._et.run()
        self._lock = threading.Lock()  # one command at a time through the pipe
        self.version = self._et.version

    @staticmethod
    def _args(stamp: Stamp) -> list[str]:
        args: list[str] = []
        if stamp.dated:
            date = stamp.exif_datetime() or ""  # empty value = delete the tag
            args += [f"-EXIF:DateTimeOriginal={date}", f"-EXIF:CreateDate={date}"]
            offset, subsec = stamp.exif_offset() or "", stamp.exif_subsec() or ""
            args += [f"-EXIF:OffsetTimeOriginal={offset}", f"-EXIF:OffsetTimeDigitized={offset}"]
            args += [f"-EXIF:SubSecTimeOriginal={subsec}", f"-EXIF:SubSecTimeDigitized={subsec}"]
            # exiftool takes XMP dates EXIF-style ("2019:06:15 14:30:00+02:00", "2019:06")
            date_part, _, rest = stamp.xmp_date().partition("T")
            xmp_date = date_part.replace("-", ":") + (" " + rest if rest else "")
            args += [f"-XMP-{p}:{n}={xmp_date}" for p, n in xmp_writer.DATE_PROPERTIES]
        if stamp.orientation is not None:  # a person turned the picture (numbers: -n)
            args += [f"-IFD0:Orientation={stamp.orientation}", f"-XMP-tiff:Orientation={stamp.orientation}"]
        for tag in stamp.tags:
            # remove-then-add is exiftool's idiom for "add unless already there"
            args += [f"-XMP-dc:Subject-={tag}", f"-XMP-dc:Subject+={tag}"]
            raw = tag.encode("utf-8")
            if len(raw) <= iptc.MAX_KEYWORD:
                args += [f"-IPTC:Keywords-={tag}", f"-IPTC:Keywords+={tag}"]
        if any(len(t.encode("utf-8")) <= iptc.MAX_KEYWORD for t in stamp.tags):
            # keep Photoshop's IPTC checksum current, or readers prefer stale XMP
            args += ["-IPTC:CodedCharacterSet=UTF8", "-Photoshop:IPTCDigest=new"]
        return args

    def _execute(self, *args: str) -> str:
        if any("\n" in a or "\r" in a for a in args):
            # the -stay_open protocol is one argument per line
            raise WriteError("a file name or tag contains a line break, which exiftool's pipe cannot carry")
        with self._lock:
            out = self._et.execute(*args)
            status, err = self._et.last_status, (self._et.last_stderr or "").strip()
        if status != 0 or err.startswith("Error") or "\nError" in err:
            raise WriteError(f"exiftool: {err or out.strip() or f'exit status {status}'}")
        return out

    def write(self, data: bytes, source: Path, dest: Path, stamp: Stamp) -> None:
        args = self._args(stamp)
        if not args:
            raise WriteError("nothing to write")
        # -o writes a new file from the source: the original is only read.
        self._execute(*args, "-o", str(dest), str(source))
        if not dest.exists():
            raise WriteError("exiftool wrote no file")

    def close(self) -> None:
        with self._lock:
            if self._et.running:
                self._et.terminate()


def open_writer(prefer: str = "auto"):
    """exiftool when it is installed (or asked for), else the pure-Python writer."""
    if prefer == "python":
        return PythonWriter()
    if prefer == "exiftool" or (prefer == "auto" and exiftool_available()):
        try:
            return ExiftoolWriter()
        except Exception as exc:  # noqa: BLE001 - a broken exiftool install must not stop an export
            if prefer == "exiftool":
                raise
            log.warning("exiftool could not be started (%s): using the pure-Python writer", exc)
    return PythonWriter()
