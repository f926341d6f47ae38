"""How processes are set up for speed: malloc keeps freed memory for the next photo, the pHash
needs no scipy, a worker starts the fork server before its first import, and long-running
processes keep their start-up objects out of the cycle collector's full passes."""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import sys
import time
from multiprocessing import forkserver

import imagehash
import numpy as np
import pytest
from PIL import Image

from app import process_setup
from app.media import batch, hashing

MB = 1024 * 1024
# What one 12-megapixel JPEG holds at once: its bytes, its reduced pixels, a copy of them,
# smaller pictures. Freed together, they are more than glibc keeps by default.
PHOTO_BLOCKS = (5 * MB, 3 * MB, 3 * MB, 1 * MB)


def _faults_per_round(setting: str, rounds: int = 20) -> float:
    """Page faults per photo's worth of memory filled and freed again, in a process with
    malloc's defaults, with the setting, or set up as an analysis process."""
    if setting == "reuse":
        assert process_setup.reuse_freed_memory()
    elif setting == "analysis":
        batch.set_up(batch.Setup(known=frozenset(), zone="UTC", thumb_root="/nonexistent"))
    before = 0
    for n in range(rounds + 1):
        if n == 1:  # the first photo faults its memory in in any case
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        blocks = [bytearray(size) for size in PHOTO_BLOCKS]  # zero-filled: every page is touched
        del blocks
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds


def _in_a_fresh_process(setting: str) -> float:
    context = multiprocessing.get_context("forkserver")
    with context.Pool(1) as pool:
        return pool.apply(_faults_per_round, (setting,))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings (Linux)")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    pages = sum(PHOTO_BLOCKS) / os.sysconf("SC_PAGE_SIZE")
    assert _in_a_fresh_process("default") > pages / 2, "by default every block is faulted in anew"
    assert _in_a_fresh_process("reuse") < 50, "with the setting the freed block is used again"
    assert _in_a_fresh_process("analysis") < 50, "analysis processes have the setting"


def test_phash_without_scipy_gives_imagehash_bits():
    rng = np.random.default_rng(7)
    pictures = [
        Image.fromarray(rng.integers(0, 256, (int(h), int(w)), dtype=np.uint8))
        for h, w in rng.integers(8, 300, (40, 2))
    ]
    pictures += [Image.new("L", (300, 200), level) for level in (0, 128, 255)]  # flat: no noise decides
    for picture in pictures:
        assert (hashing.phash_bits(picture) == imagehash.phash(picture).hash).all(), picture.size


def test_a_worker_starts_the_fork_server_before_its_first_import():
    batch.start_fork_server()
    pid = forkserver._forkserver._forkserver_pid  # the server the analysis processes come from
    assert pid and os.waitpid(pid, os.WNOHANG) == (0, 0), "started, and still running"
    batch.start_fork_server()
    assert forkserver._forkserver._forkserver_pid == pid, "one server, started once"


def _full_collection_seconds(data: str, settled: bool) -> tuple[int, float]:
    import app.pipeline.duplicates  # noqa: F401 - what a worker has loaded
    from app import create_app
    from tests.conftest import make_settings

    create_app(make_settings(data))
    if settled:
        process_setup.settle_heap()
    started = time.perf_counter()
    gc.collect()
    return gc.get_freeze_count(), time.perf_counter() - started


def test_a_settled_heap_makes_full_collections_cheap(tmp_path):
    context = multiprocessing.get_context("forkserver")
    with context.Pool(1) as pool:
        _, before = pool.apply(_full_collection_seconds, (str(tmp_path / "a"), False))
    with context.Pool(1) as pool:
        frozen, after = pool.apply(_full_collection_seconds, (str(tmp_path / "b"), True))
    assert frozen > 50_000, "the app's start-up objects are set aside"
    assert after < before / 3, (before, after)
