"""Shared by the archive tests: generated photos, runs of the real export job, and the check
that the manifest, the tree and what exiftool reads from the copies tell the same story."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from app.media import archive_copy
from app.models import Job, db
from app.pipeline import export_plan, exporter, jobs

needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def photo(color, when: str | None = None, *, make: str | None = None, serial: str | None = None, size=(48, 32)):
    """JPEG bytes: a flat picture with one odd pixel, EXIF date/camera when given."""
    image = Image.new("RGB", size, color)
    image.putpixel((0, 0), (1, 2, 3))
    exif = Image.Exif()
    if make:
        exif[0x010F], exif[0x0110] = make.split(" ", 1)
    if when:
        exif.get_ifd(0x8769)[0x9003] = when
    if serial:
        exif.get_ifd(0x8769)[0xA431] = serial
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def noisy(i: int, size=(320, 240)) -> bytes:
    """A JPEG that does not compress away (to fill a disk), different for every i."""
    image = Image.effect_noise(size, 60).convert("RGB")
    image.putpixel((i % size[0], 0), (255, i % 256, 0))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def write(path: Path, data: bytes, mtime: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def run_export(app, output: Path, **kwargs) -> Job:
    job = exporter.start_export(output, app.config["MEDIAPARSER"], **kwargs)
    jobs.run(job.id)
    db.session.refresh(job)
    return job


def tree(root: Path) -> dict[str, tuple[str, int]]:
    """relative path -> (sha256, mtime_ns) of every file people see in the archive."""
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and export_plan.META_DIR not in p.relative_to(root).parts
    }


def comparable(records: list[dict]) -> list[dict]:
    """Manifest records without what differs between two runs of the same export (times,
    job numbers, and the job number inside trash paths)."""
    volatile = {"exported_at", "job"}
    text = json.dumps(
        sorted(({k: v for k, v in r.items() if k not in volatile} for r in records), key=json.dumps), sort_keys=True
    )
    return json.loads(re.sub(r"export-\d+/", "export-N/", text))


def exiftool(root: Path) -> dict[str, dict]:
    """What exiftool reads from every file of the archive (dates and keywords)."""
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-n", "-r", "-ext", "*", "-x", export_plan.META_DIR]
        + ["-ExifIFD:DateTimeOriginal", "-ExifIFD:OffsetTimeOriginal", "-XMP-exif:DateTimeOriginal"]
        + ["-XMP-photoshop:DateCreated", "-XMP-dc:Subject", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = json.loads(out.stdout) if out.stdout.strip() else []
    return {Path(r["SourceFile"]).relative_to(root).as_posix(): r for r in found if "SourceFile" in r}


def _xmp_date(value) -> str | None:
    """exiftool's XMP date ("2019:06:15 14:30:00+02:00", "2019:06") in ISO form."""
    if value is None:
        return None
    date, _, rest = str(value).partition(" ")
    return date.replace(":", "-") + ("T" + rest if rest else "")


def assert_archive_agrees(output: Path, originals_with_dates: frozenset[str] = frozenset()) -> dict[str, dict]:
    """The manifest, the tree and exiftool tell the same story for every copy:
    - every live record's copy (and sidecar) is there with the recorded bytes;
    - every file in the tree is a live record's copy or sidecar (nothing unrecorded);
    - a copy stating a time has exactly that DateTimeOriginal (and offset); one stating a
      date has no DateTimeOriginal and that date in XMP; one stating nothing has neither
      (`originals_with_dates`: outputs whose original carried an EXIF date of its own).
    Returns the live records by output."""
    index = export_plan.manifest_index(output)
    live = {r["output"]: r for r in index.values()}
    files = tree(output)
    expected = set(live) | {r["sidecar"] for r in live.values() if r.get("sidecar")}
    assert set(files) == expected, f"tree and manifest differ: {set(files) ^ expected}"
    assert not list(output.rglob(f"*{archive_copy.TMP_SUFFIX}"))
    read = exiftool(output)
    for name, record in live.items():
        assert files[name][0] == record["output_sha256"], name
        if record.get("sidecar_sha256"):
            assert files[record["sidecar"]][0] == record["sidecar_sha256"], name
        info = read.get(record["sidecar"] or name, {})
        copy = read.get(name, {})
        capture, stated = record["capture"], record["stated"]
        xmp = info.get("XMP-exif:DateTimeOriginal", info.get("XMP-photoshop:DateCreated"))
        if stated == "time":
            exif = copy.get("ExifIFD:DateTimeOriginal") if record["method"] == "embed" else None
            local = datetime.fromisoformat(capture["local"])
            if record["method"] == "embed":
                assert exif == local.strftime("%Y:%m:%d %H:%M:%S"), name
            assert _xmp_date(xmp).startswith(local.strftime("%Y-%m-%dT%H:%M")), name
        elif stated == "date":
            assert "ExifIFD:DateTimeOriginal" not in copy, name
            assert _xmp_date(xmp) == capture["local"][: {"day": 10, "month": 7, "year": 4}[capture["precision"]]], name
        else:
            assert xmp is None, name
            if name not in originals_with_dates:
                assert "ExifIFD:DateTimeOriginal" not in copy, name
        subjects = info.get("XMP-dc:Subject", [])
        subjects = {str(s) for s in ([subjects] if isinstance(subjects, str | int | float) else subjects)}
        assert set(record["tags"]) <= subjects, name  # keywords the original had stay beside them
    return live
