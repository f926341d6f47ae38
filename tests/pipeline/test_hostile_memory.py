"""Memory bounds: how many analysis processes and how much memory each, a ceiling each
process really has, pictures that would not fit refused before decoding, and large ones
decoded with one full-size copy at most."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, batch
from tests.conftest import REPO
from tests.hostile_helpers import png_bomb

MB = 1024 * 1024
GB = 1024 * MB


@pytest.mark.parametrize(
    ("cores", "memory_mb", "available", "expected"),
    [
        (2, 0, 24 * GB, (2, 1 * GB)),  # plenty: one process per core, at the upper bound
        (4, 0, 3 * GB, (4, 576 * MB)),  # the available memory shared by the cores
        (8, 0, 1 * GB, (1, 512 * MB)),  # short of memory: fewer processes than cores
        (4, 1024, 2 * GB, (1, 1 * GB)),  # a ceiling set by the admin: as many as fit
        (4, 256, None, (4, 256 * MB)),  # memory unknown: the cores decide
    ],
)
def test_the_number_of_processes_follows_cores_and_memory(cores, memory_mb, available, expected):
    assert batch.plan(cores, memory_mb, available) == expected


def test_available_memory_is_read_from_the_machine():
    found = batch.available_memory()
    assert found is not None and 0 < found < 1 << 50


def _limits(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            soft = line.split()[3]
            return -1 if soft == "unlimited" else int(soft)
    raise AssertionError("no address space line")


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def test_each_analysis_process_has_a_memory_ceiling(tmp_path):
    setup = batch.Setup(frozenset(), "UTC", str(tmp_path / "thumbs"), memory_bytes=300 * MB, parent_pid=os.getpid())
    with batch.AnalysisPool(setup, 1) as pool:
        missing = batch.Task(1, str(tmp_path / "missing.jpg"), "missing.jpg", "", None)
        pool.submit(missing)
        ends = []
        while pool.in_flight:
            ends += pool.collect(5)
        assert ends[0].analysis.status == "error"  # it answered: it is set up
        (pid,) = pool.pids()
        limit, reserved = _limits(pid), _status(pid, "VmSize")
        assert 300 * MB < limit <= reserved + 300 * MB + 64 * MB
        assert 0 < reserved < limit


def test_past_its_ceiling_an_allocation_fails_instead_of_growing():
    code = (
        "from app import process_setup\n"
        "assert process_setup.limit_address_space(200 * 1024 * 1024)\n"
        "small = bytearray(50 * 1024 * 1024)\n"
        "try:\n"
        "    big = bytearray(600 * 1024 * 1024)\n"
        "    print('grew')\n"
        "except MemoryError:\n"
        "    print('refused')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out.stderr


def test_a_picture_too_large_for_the_memory_is_refused_before_decoding(tmp_path):
    # 177 megapixels with transparency: about 1.4 GB to decode, in a file of a few kilobytes
    bomb = png_bomb(tmp_path / "bomb.png", 15_400, 11_500, colour_type=6, complete=False)
    assert bomb.stat().st_size < 100_000
    result = analyze.analyze(bomb, zone=ZoneInfo("UTC"), decode_bytes=768 * MB)
    assert result.status == "error"
    assert "177 megapixels" in result.error and "memory" in result.error
    assert result.sha256 and result.mime == "image/png"  # what could be learned is kept


def _peak_of_decode(path: Path) -> dict:
    code = (
        "import json, sys\n"
        "from zoneinfo import ZoneInfo\n"
        "from app import process_setup\n"
        "from app.media import analyze\n"
        "before = process_setup.peak_memory_bytes()\n"
        "result = analyze.analyze(sys.argv[1], zone=ZoneInfo('UTC'))\n"
        "print(json.dumps({'before': before, 'after': process_setup.peak_memory_bytes(),"
        " 'status': result.status, 'width': result.width, 'error': result.error}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_large_picture_is_decoded_with_one_full_size_copy_at_most(tmp_path):
    """A 48-megapixel PNG with transparency: the decode (4 bytes a pixel) plus the premultiplied
    copy for shrinking it, about 8 bytes a pixel. Before, turning and flattening copies made it
    16 (the 177-megapixel bomb took 2.9 GB)."""
    path = png_bomb(tmp_path / "large.png", 8000, 6000, colour_type=6)
    found = _peak_of_decode(path)
    assert found["status"] == "done" and found["width"] == 8000
    pixels = 8000 * 6000
    assert found["after"] - found["before"] < 10 * pixels, (
        f"{(found['after'] - found['before']) / pixels:.1f} bytes a pixel"
    )
