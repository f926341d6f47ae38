"""Evidence on the real corpus: import it, export it (exiftool writer, and the pure-Python
writer), then read every output back with exiftool.

- DateTimeOriginal in each rewritten JPEG equals the capture time the export chose;
- the image data of each rewritten JPEG is byte-identical to the original's;
- a sidecar exists wherever the manifest says, with the same date; plain copies are
  byte-identical;
- every original file of the corpus has the same sha256 and mtime afterwards;
- a second export writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from app import create_app
from app.media import jpeg
from app.media.metadata_writer import PythonWriter, Stamp
from app.models import db
from app.pipeline import export_batch, export_plan, exporter, importer, jobs
from tests.conftest import make_settings

pytestmark = [
    pytest.mark.quality,
    pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed"),
]


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    found = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            st = path.stat()
            found[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size)
    return found


def archive_tree(root: Path) -> dict[str, tuple[str, int]]:
    return {
        path.relative_to(root).as_posix(): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file() and export_plan.META_DIR not in path.relative_to(root).parts
    }


def read_all(root: Path) -> dict[str, dict]:
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-n", "-fast2", "-r", "-ext", "*"]
        + ["-ExifIFD:DateTimeOriginal", "-XMP-exif:DateTimeOriginal", "-XMP-dc:Subject", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {Path(r["SourceFile"]).relative_to(root).as_posix(): r for r in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def exported(corpus, _template_db, tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus-export")
    settings = make_settings(base / "data", MEDIAPARSER_WORKERS=2)
    settings.instance_dir.mkdir(parents=True)
    shutil.copy(_template_db, settings.instance_dir / "mediaparser.db")
    app = create_app(settings)
    before = snapshot(corpus)
    with app.app_context():
        job = importer.start_folder_import(corpus, roots=None)
        assert jobs.run(job.id) == "completed"
        runs = {}
        for name, writer in (("exiftool", None), ("python", PythonWriter)):
            output = base / f"archive-{name}"
            original = export_batch.open_writer
            if writer:
                export_batch.open_writer = writer
            try:
                export = exporter.start_export(output, settings)
                assert jobs.run(export.id) == "completed"
                db.session.refresh(export)
                runs[name] = (output, exporter.result_counts(export))
            finally:
                export_batch.open_writer = original
        first_tree = archive_tree(runs["exiftool"][0])
        again = exporter.start_export(runs["exiftool"][0], settings)
        jobs.run(again.id)
        db.session.refresh(again)
        second = (exporter.result_counts(again), archive_tree(runs["exiftool"][0]))
        db.session.remove()
        db.engine.dispose()
    return {"before": before, "after": snapshot(corpus), "runs": runs, "first_tree": first_tree, "second": second}


def test_originals_are_untouched(exported):
    assert exported["after"] == exported["before"]


def test_second_export_writes_nothing(exported):
    counts, tree = exported["second"]
    assert counts.get("exported", 0) == 0 and counts.get("already_exported", 0) > 200
    assert tree == exported["first_tree"]


@pytest.mark.parametrize("writer", ["exiftool", "python"])
def test_outputs_read_back(exported, writer):
    output, counts = exported["runs"][writer]
    assert counts.get("errors", 0) == 0
    records = export_plan.read_manifest(output)
    assert len(records) == counts["exported"] > 200
    info = read_all(output)
    embedded = sidecars = 0
    for record in records:
        out = output / record["output"]
        source = Path(record["source"])
        capture = record["capture"]
        stamp = Stamp(
            datetime.fromisoformat(capture["local"]) if capture["local"] else None,
            capture["offset"],
            capture["precision"],
        )
        if record["method"] == "embed":
            embedded += 1
            assert jpeg.image_data(out.read_bytes()) == jpeg.image_data(source.read_bytes()), record["output"]
            got = info[record["output"]]
            if stamp.exact:
                assert got.get("ExifIFD:DateTimeOriginal") == stamp.exif_datetime(), record["output"]
            for tag in record["tags"]:
                subjects = got.get("XMP-dc:Subject")
                assert tag in (subjects if isinstance(subjects, list) else [subjects]), record["output"]
        else:
            # a companion sidecar's key names its set too: its bytes are `content_sha256`
            content = record.get("content_sha256") or record["sha256"]
            assert hashlib.sha256(out.read_bytes()).hexdigest() == content, record["output"]
        if record["method"] == "sidecar":
            sidecars += 1
            assert record["sidecar"] == record["output"] + ".xmp"
            got = info[record["sidecar"]]
            if stamp.exact:
                assert str(got["XMP-exif:DateTimeOriginal"]).startswith(stamp.exif_datetime()), record["sidecar"]
        if stamp.dated:
            assert out.stat().st_mtime == pytest.approx(datetime.fromisoformat(capture["utc"]).timestamp(), abs=1e-3)
    # JPEGs are written into; HEIC, PNG, video... get a sidecar
    assert embedded > 150 and sidecars > 50
    by_mime = {r["output"].rsplit(".", 1)[-1] for r in records if r["method"] == "sidecar"}
    assert {"heic", "png", "mp4", "mov"} <= by_mime


def test_both_writers_name_files_the_same(exported):
    names = {w: {r["output"] for r in export_plan.read_manifest(o)} for w, (o, _c) in exported["runs"].items()}
    assert names["exiftool"] == names["python"]
