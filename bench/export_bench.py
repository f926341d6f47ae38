"""Export speed: files per second exporting N generated photos into an empty archive.

    python bench/export_bench.py                   # 1,000 files, the writer the app would pick
    python bench/export_bench.py --writer python   # the pure-Python JPEG writer
    python bench/export_bench.py --files 200 --size 4000x3000

The library is made directly in a fresh database (the import is measured by
import_bench.py, not here): 80% JPEGs with EXIF (every 10th in the same second as another,
a third with tags), 20% PNGs (which get an XMP sidecar). Reported: the dry run, the
export itself (files/s and MB/s), and a second export, which must write nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def make_library(folder: Path, count: int, size: tuple[int, int]):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    base = datetime(2019, 6, 15, 10, 0, 0)
    rows = []
    noise = Image.effect_noise(size, 40).convert("RGB")
    for i in range(count):
        when = base + timedelta(seconds=(i // 2) * 7 if i % 10 == 0 else i * 7)
        image = noise.copy()
        image.putpixel((i % size[0], 0), (i % 256, 0, 0))  # every file different
        buf = io.BytesIO()
        if i % 5 == 4:
            image.save(buf, "PNG", compress_level=1)
            ext, mime = "png", "image/png"
        else:
            exif = Image.Exif()
            exif[0x010F] = "BenchCam"
            exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
            image.save(buf, "JPEG", quality=85, exif=exif.tobytes())
            ext, mime = "jpg", "image/jpeg"
        data = buf.getvalue()
        path = folder / f"IMG_{i:05d}.{ext}"
        path.write_bytes(data)
        rows.append(
            {
                "path": str(path),
                "original_name": path.name,
                "relative_dir": "Holiday" if i % 3 == 0 else "",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "mime": mime,
                "ext": ext,
                "media_kind": "image",
                "status": "done",
                "source": "folder",
                "taken_local": when.isoformat(),
                "taken_at": when.replace(tzinfo=UTC) - timedelta(hours=2),
                "taken_offset": 120,
                "taken_precision": "second",
                "taken_source": "exif:DateTimeOriginal",
                "confidence": "high",
                "tag": "holiday" if i % 3 == 0 else None,
            }
        )
    return rows


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (exiftool): a figure that does
    not depend on what else the machine is doing, unlike wall time."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _store(rows: list[dict]) -> None:
    """The generated files as library rows, a third of them tagged."""
    from app.models import File, FileTag, Tag, db

    tag = Tag(name="holiday")
    db.session.add(tag)
    db.session.flush()
    for r in rows:
        wanted = r.pop("tag")
        f = File(**r)
        db.session.add(f)
        if wanted:
            db.session.flush()
            db.session.add(FileTag(file_id=f.id, tag_id=tag.id, source="folder"))
    db.session.commit()


def _export_twice(settings, output: Path, total_bytes: int) -> None:
    """The dry run, the export, and a second export that must write nothing: timed."""
    from app.models import db
    from app.pipeline import export_plan, exporter, jobs

    t = time.perf_counter()
    plan = export_plan.dry_run(output, settings)
    dry = time.perf_counter() - t
    print(f"dry run:        {len(plan.files)} files planned in {dry:.2f} s ({len(plan.files) / dry:.0f} files/s)")

    job = exporter.start_export(output, settings)
    cpu0 = _cpu_seconds()
    t = time.perf_counter()
    outcome = jobs.run(job.id)
    elapsed = time.perf_counter() - t
    cpu = _cpu_seconds() - cpu0
    db.session.refresh(job)
    counts = exporter.result_counts(job)
    writer = export_plan.read_manifest(output)[0].get("writer") or "-"
    print(
        f"export:         {counts.get('exported', 0)} files in {elapsed:.2f} s = {counts.get('exported', 0) / elapsed:.1f} files/s, "
        f"{total_bytes / 1e6 / elapsed:.1f} MB/s  [{outcome}; writer {writer}; "
        f"{counts.get('method_embed', 0)} embedded, {counts.get('method_sidecar', 0)} sidecars, {counts.get('errors', 0)} errors]"
    )
    print(
        f"                CPU {cpu:.2f} s = {cpu * 1000 / max(1, counts.get('exported', 0)):.1f} ms per file "
        f"(this process + exiftool; {settings.workers} worker threads)"
    )

    job2 = exporter.start_export(output, settings)
    t = time.perf_counter()
    jobs.run(job2.id)
    again = time.perf_counter() - t
    db.session.refresh(job2)
    counts2 = exporter.result_counts(job2)
    print(
        f"second export:  {counts2.get('exported', 0)} written, {counts2.get('already_exported', 0)} already there, in {again:.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", default="1600x1200", help="pixels of each generated photo (default 1600x1200)")
    parser.add_argument("--writer", choices=["auto", "exiftool", "python"], default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the generated library and archive")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))

    work = Path(tempfile.mkdtemp(prefix="mp-export-bench-"))
    os.environ.update(MEDIAPARSER_DATA_DIR=str(work / "data"), MEDIAPARSER_QUEUE="memory", SECRET_KEY="bench")
    from app import create_app, database
    from app.media import metadata_writer
    from app.pipeline import export_batch

    if args.writer != "auto":
        original = metadata_writer.open_writer
        metadata_writer.open_writer = lambda prefer="auto": original(args.writer)
        export_batch.open_writer = metadata_writer.open_writer

    t0 = time.perf_counter()
    rows = make_library(work / "photos", args.files, size)
    total_bytes = sum(r["size"] for r in rows)
    print(f"generated {len(rows)} files ({total_bytes / 1e6:.1f} MB, {args.size}) in {time.perf_counter() - t0:.1f} s")

    app = create_app()
    database.upgrade(app)
    with app.app_context():
        _store(rows)
        _export_twice(app.config["MEDIAPARSER"], work / "archive", total_bytes)
    if args.keep:
        print(f"(work folder kept: {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
