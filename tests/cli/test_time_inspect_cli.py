"""`flask inspect` as people and other tools use it, with MEDIAPARSER_TIMEZONE=Europe/Berlin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.time_helpers import make_exif, set_mtime, write_image, write_takeout

FIELDS = {
    "path",
    "mime",
    "width",
    "height",
    "sha256",
    "phash",
    "timestamp",
    "precision",
    "confidence",
    "source",
    "candidates",
    "error",
}


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "in"
    files = {
        "offset": write_image(root / "offset.jpg", make_exif("2019:06:15 14:30:00", offset="+09:00")),
        "gps": write_image(
            root / "gps.jpg", make_exif("2019:06:15 08:30:00", gps_date="2019:06:15", gps_time=(12, 29, 40))
        ),
        "zeros": write_image(root / "IMG_20190615_143000.jpg", make_exif("0000:00:00 00:00:00")),
        "default": write_image(root / "2008-07 Summer" / "DSC_0001.jpg", make_exif("2000:01:01 00:00:00")),
        "pixel": write_image(root / "PXL_20191027_013000000.jpg"),
        "whatsapp": write_image(root / "IMG-20190615-WA0001.jpg"),
        "takeout": write_image(root / "Takeout" / "IMG_5.jpg"),
        "winter": write_image(root / "winter.heic", make_exif("2019:01:15 10:00:00", subsec="5")),
    }
    taken = int(datetime(2019, 6, 15, 12, 30, tzinfo=UTC).timestamp())
    write_takeout(root / "Takeout", "IMG_5.jpg.supplemental-metadata.json", "IMG_5.jpg", taken, taken + 86400)
    (root / "notes.txt").write_text("not a photo")
    (root / "Takeout" / "metadata.json").write_text("{}")
    for path in files.values():
        set_mtime(path, datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    return root, files


def run_inspect(app, *paths) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["inspect", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_inspect_folder_prints_one_json_object_per_media_file(app, tree):
    root, files = tree
    records = {os.path.basename(r["path"]): r for r in run_inspect(app, root)}
    assert len(records) == len(files)  # notes.txt and the sidecar JSON are not media
    for r in records.values():
        assert set(r) >= FIELDS
        assert r["confidence"] in ("high", "medium", "low", "none")
        for c in r["candidates"]:
            assert {"source", "timestamp", "precision"} <= set(c)

    def get(name):
        r = records[name]
        return r["timestamp"], r["precision"], r["confidence"], r["source"]

    assert get("offset.jpg") == ("2019-06-15T14:30:00+09:00", "second", "high", "exif:DateTimeOriginal")
    assert get("gps.jpg") == ("2019-06-15T08:30:00-04:00", "second", "high", "exif:DateTimeOriginal")
    assert get("IMG_20190615_143000.jpg") == ("2019-06-15T14:30:00", "second", "medium", "filename:android")
    assert get("DSC_0001.jpg") == ("2008-07-01T00:00:00", "month", "low", "folder")
    assert get("PXL_20191027_013000000.jpg") == ("2019-10-27T02:30:00+01:00", "second", "medium", "filename:pixel")
    assert get("IMG-20190615-WA0001.jpg") == ("2019-06-15T00:00:00", "day", "low", "filename:whatsapp")
    assert get("IMG_5.jpg") == ("2019-06-15T14:30:00+02:00", "second", "medium", "takeout:photoTakenTime")
    assert get("winter.heic") == ("2019-01-15T10:00:00", "second", "high", "exif:DateTimeOriginal")

    zeros = next(c for c in records["IMG_20190615_143000.jpg"]["candidates"] if c["source"] == "exif:DateTimeOriginal")
    assert zeros["timestamp"] is None and zeros["rejected"]
    default = next(c for c in records["DSC_0001.jpg"]["candidates"] if c["source"] == "exif:DateTimeOriginal")
    assert default["timestamp"] == "2000-01-01T00:00:00" and "clock" in default["rejected"]


def test_inspect_single_file_sees_its_folder_date(app, tree):
    _, files = tree
    (record,) = run_inspect(app, files["default"])
    assert (record["timestamp"], record["precision"]) == ("2008-07-01T00:00:00", "month")


def test_real_command_line_with_berlin_zone(tmp_path, tree):
    _, files = tree
    env = {
        **os.environ,
        "MEDIAPARSER_TIMEZONE": "Europe/Berlin",
        "MEDIAPARSER_DATA_DIR": str(tmp_path / "data"),
        "MEDIAPARSER_QUEUE": "memory",
    }
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "inspect", str(files["pixel"]), str(files["takeout"])],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["timestamp"] for r in lines] == ["2019-10-27T02:30:00+01:00", "2019-06-15T14:30:00+02:00"]
