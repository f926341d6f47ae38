"""Import benchmark: the real pipeline on realistic 12-megapixel camera JPEGs.

    python bench/import_bench.py                 # N=300
    python bench/import_bench.py --n 300 --n 1000
    python bench/import_bench.py --bomb          # decompression bombs: peak memory per worker

For each N (each in a fresh process, so peak memory is its own) it generates N JPEGs
deterministically (4032x3024, camera EXIF, a few phone-style names and exact duplicates;
cached under the system temp folder), imports them with the real pipeline (process pool,
batched writer, SQLite in WAL mode), and prints files per second and peak memory. In the
same run it times the *floor loop*: only what no import can skip for one JPEG (read it,
sha256, the EXIF read, the draft-mode reduced decode the thumbnails and hashes start from),
one process per core, and prints import / floor. Last it imports the same folder with 1, 2
and 3 real `worker.py` processes (`--workers 1 2 3`, the default; `--workers` alone: skip),
each with MEDIAPARSER_WORKERS=1, sharing one data folder (SQLite in WAL mode, the queue in
SQLite), and prints the throughput of each: what more worker processes bring to one import.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

W, H = 4032, 3024
SEED = 20261125


def _texture():
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(SEED)
    # Photo-like: smooth large structures plus fine grain (a 12 MP JPEG of ~3-5 MB)
    coarse = rng.integers(0, 255, (H // 24 + 40, W // 24 + 40, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((W + 960, H + 960), Image.BICUBIC), dtype=np.int16)
    grain = rng.normal(0, 9, (H + 960, W + 960, 3)).astype(np.int16)
    return smooth, grain


def generate(folder: Path, n: int) -> list[Path]:
    """N camera JPEGs (+ a few exact copies under phone-style names), made once and cached."""
    import numpy as np
    from PIL import Image

    marker = folder.with_name(f"{folder.name}.complete")  # beside it: not imported with it
    if marker.exists():
        return sorted(p for p in folder.rglob("*.jpg"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    smooth, grain = _texture()
    rng = np.random.default_rng(SEED + 1)
    start = datetime(2019, 6, 15, 9, 0, 0)
    paths = []
    for i in range(n):
        dx, dy = rng.integers(0, 960, 2)
        tint = rng.integers(-40, 40, 3)
        pixels = smooth[dy : dy + H, dx : dx + W] + grain[dx % 480 : dx % 480 + H, dy % 480 : dy % 480 + W] + tint
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        taken = start + timedelta(minutes=7 * i, seconds=int(rng.integers(0, 60)))
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
        exif[0x0112] = 6 if i % 10 == 0 else 1
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = ifd[0x9004] = taken.strftime("%Y:%m:%d %H:%M:%S")
        ifd[0x9011] = "+02:00"
        if i % 25 == 3:
            name = f"Camera/IMG_{taken:%Y%m%d_%H%M%S}.jpg"  # phone-style name
        elif i % 25 == 7:
            name = f"Camera/PXL_{taken - timedelta(hours=2):%Y%m%d_%H%M%S}123.jpg"
        else:
            name = f"DCIM/{100 + i // 200}CANON/IMG_{i:04d}.jpg"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, "JPEG", quality=92, exif=exif)
        paths.append(path)
    for i in range(0, n, 50):  # exact duplicates, as from a second phone backup
        copy = folder / "Backup" / f"copy_{i:04d}.jpg"
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(paths[i], copy)
        paths.append(copy)
    marker.touch()
    return sorted(paths)


def _floor_one(path: Path) -> float:
    """The floor's work on one file; returns its CPU seconds."""
    import exifread
    from PIL import Image

    from app.media import thumbnails

    cpu = time.process_time()
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    with Image.open(io.BytesIO(data)) as image:
        w, h = image.size
        scale = thumbnails.import_size(Image.MIME.get(image.format), image.size) / max(
            w, h
        )  # the pipeline's own draft request
        image.draft("RGB", (int(w * scale * 0.9), int(h * scale * 0.9)))
        image.load()
    return time.process_time() - cpu


def floor_loop(paths: list[Path]) -> tuple[float, float]:
    """The floor: per file only read + sha256 + EXIF + the reduced (draft) decode, nothing
    else (no hashes, thumbnails or database), in one process per core, with the same memory
    setting as the analysis processes."""
    import multiprocessing

    from app import process_setup

    # the analysis processes' memory setting (process_setup.reuse_freed_memory): the floor
    # is not to pay page faults the import does not pay
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1, process_setup.reuse_freed_memory) as pool:
        pool.map(_floor_one, paths[:4])  # start-up and imports are not the floor
        started = time.perf_counter()
        cpu = sum(pool.map(_floor_one, paths, chunksize=1))
        return time.perf_counter() - started, cpu


class ProcessSampler(threading.Thread):
    """Samples resident memory and CPU time of this process's descendants (the fork
    server's workers are not our direct children, so getrusage cannot see them)."""

    def __init__(self, every: float = 0.25):
        super().__init__(daemon=True)
        self.every, self.stop_flag = every, threading.Event()
        self.peak_total = self.peak_worker = 0.0
        self.worker_cpu: dict[int, float] = {}  # descendant pid -> CPU seconds, last seen
        self.worker_peak: dict[int, float] = {}  # descendant pid -> resident high-water mark, MB
        self.baseline: dict[int, float] = {}  # descendant pid -> CPU seconds before the import

    @staticmethod
    def _read(pid: str) -> tuple[int, float, float] | None:
        """(parent pid, RSS in MB, CPU seconds) of one process."""
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 1e6
        return int(fields[1]), rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := self._read(p))}
        me, mine, frontier = os.getpid(), set(), [os.getpid()]
        while frontier:
            pid = frontier.pop()
            kids = [p for p, s in stats.items() if s[0] == pid and p not in mine]
            mine.update(kids)
            frontier += kids
        own_rss = stats[me][1] if me in stats else 0.0
        self.peak_total = max(self.peak_total, own_rss + sum(stats[p][1] for p in mine))
        for pid in mine:
            self.worker_cpu[pid] = stats[pid][2]
            # the kernel's high-water mark catches a peak between two samples
            self.worker_peak[pid] = max(self.worker_peak.get(pid, 0.0), _hwm_mb(pid), stats[pid][1])
        self.peak_worker = max([self.peak_worker, *self.worker_peak.values()])

    def cpu_since_baseline(self) -> float:
        return sum(cpu - self.baseline.get(pid, 0.0) for pid, cpu in self.worker_cpu.items())

    def run(self) -> None:
        while not self.stop_flag.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self.stop_flag.set()
        self.join()
        self.sample()


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return 0.0


def _start_like_a_worker() -> None:
    """What a worker does when it starts (worker.py): the fork server the
    analysis processes come from is started, with the media code imported, and the heap of
    start-up objects is settled. One throwaway process from the fork server waits for those
    imports, so they are not timed as the import's (as the floor loop's start-up is not
    timed either)."""
    import multiprocessing

    from app import process_setup
    from app.media import batch

    batch.start_fork_server()
    process = multiprocessing.get_context("forkserver").Process(target=os.getpid)
    process.start()
    process.join()
    process_setup.settle_heap()


def run_one(n: int, floor: bool) -> dict:
    from app import create_app, database
    from app.config import Settings
    from app.media import batch
    from app.models import db
    from app.pipeline import importer, jobs

    cache = Path(tempfile.gettempdir()) / "mediaparser-bench" / f"import-{n}"
    paths = generate(cache, n)  # already made by the parent: just lists them
    size_mb = sum(p.stat().st_size for p in paths) / 1e6

    work = Path(tempfile.mkdtemp(prefix="mediaparser-bench-"))
    try:
        settings = Settings.from_env(
            env={
                "MEDIAPARSER_DATA_DIR": str(work / "data"),
                "MEDIAPARSER_QUEUE": "memory",
                "MEDIAPARSER_TIMEZONE": "Europe/Berlin",
                "SECRET_KEY": "bench",
                **(
                    {"MEDIAPARSER_WORKERS": os.environ["MEDIAPARSER_WORKERS"]}
                    if "MEDIAPARSER_WORKERS" in os.environ
                    else {}
                ),
            }
        )
        app = create_app(settings)
        database.upgrade(app)
        _start_like_a_worker()
        with app.app_context():
            job = importer.start_folder_import(cache, roots=None)
            for p in paths:  # warm the page cache for both runs alike
                p.read_bytes()
            sampler = ProcessSampler()
            sampler.sample()  # what the fork server spent on starting is not the import's
            sampler.baseline = dict(sampler.worker_cpu)
            sampler.start()
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            outcome = jobs.run(job.id)
            import_seconds = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            sampler.stop()
            main_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
            db.session.refresh(job)
            summary = importer.summary(job)
        own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {
            "n_files": len(paths),
            "dataset_mb": round(size_mb),
            "outcome": outcome,
            "statuses": summary,
            "workers": batch.plan(settings.workers, settings.worker_memory_mb, batch.available_memory())[0],
            "import_s": round(import_seconds, 2),
            "import_files_per_s": round(len(paths) / import_seconds, 1),
            "peak_rss_main_mb": round(own_mb),
            "peak_rss_worker_mb": round(sampler.peak_worker),
            "peak_rss_all_mb": round(sampler.peak_total),
            "cpu_ms_per_file_main": round(1000 * main_cpu / len(paths), 1),
            "cpu_ms_per_file_workers": round(1000 * sampler.cpu_since_baseline() / len(paths), 1),
        }
        if floor:
            floor_seconds, floor_cpu = floor_loop(paths)
            result["floor_s"] = round(floor_seconds, 2)
            result["cpu_ms_per_file_floor"] = round(1000 * floor_cpu / len(paths), 1)
            result["floor_files_per_s"] = round(len(paths) / floor_seconds, 1)
            result["ratio"] = round(floor_seconds / import_seconds, 2)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- several worker processes ---------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _cpu_with_reaped(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its children that ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _subtree_cpu(root: int) -> float:
    """CPU seconds of a worker and its descendants (its analysis pool), ended ones included."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _cpu_with_reaped(int(p)))}
    total, frontier, seen = 0.0, [root], set()
    while frontier:
        pid = frontier.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        frontier += [p for p, s in stats.items() if s[0] == pid]
    return total


def run_workers(n: int, count: int) -> dict:
    """One import of the N-file folder by `count` real worker.py processes (MEDIAPARSER_WORKERS=1
    each) on one data folder: the web app's side (this process) creates and enqueues the job,
    the workers take whatever the queue gives them. Files/s from enqueue to the job's end."""
    from app import create_app, database
    from app.config import Settings
    from app.models import Job, db
    from app.pipeline import importer, shared_storage
    from app.tasks import queue_of
    from app.vocab import FINISHED_JOB_STATES

    cache = Path(tempfile.gettempdir()) / "mediaparser-bench" / f"import-{n}"
    paths = generate(cache, n)
    work = Path(tempfile.mkdtemp(prefix="mediaparser-bench-workers-"))
    env = {
        "MEDIAPARSER_DATA_DIR": str(work / "data"),
        "MEDIAPARSER_TIMEZONE": "Europe/Berlin",
        "SECRET_KEY": "bench",
        "MEDIAPARSER_WORKERS": "1",
    }
    procs: list[subprocess.Popen] = []
    try:
        app = create_app(Settings.from_env(env=env))
        database.upgrade(app)
        shared_storage.mark(app)
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(REPO / "worker.py")],
                    cwd=REPO,
                    env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        for proc in procs:
            proc.stdout.readline()  # "MediaParser worker is running"
        for p in paths:
            p.read_bytes()  # a warm page cache, as for the one-process import
        with app.app_context():
            job = importer.start_folder_import(cache, roots=None)
            idle = [_subtree_cpu(p.pid) for p in procs]  # start-up is not the import's
            started = time.perf_counter()
            queue_of(app).enqueue(job.id)
            while True:
                time.sleep(0.2)
                db.session.expire_all()
                status = db.session.get(Job, job.id).status
                if status in FINISHED_JOB_STATES:
                    break
            seconds = time.perf_counter() - started
            statuses = importer.summary(db.session.get(Job, job.id))
        cpu = [round(_subtree_cpu(p.pid) - before, 1) for p, before in zip(procs, idle, strict=True)]
        return {
            "workers": count,
            "outcome": status,
            "statuses": statuses,
            "seconds": round(seconds, 2),
            "files_per_s": round(len(paths) / seconds, 1),
            "cpu_s_per_worker": cpu,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


# --- decompression bombs -------------------------------------------------------------------------


def _png(path: Path, width: int, height: int, colour_type: int) -> None:
    """A black PNG: a few hundred KB that promise width x height pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + width * {2: 3, 6: 4}[colour_type])
    packer, parts, step = zlib.compressobj(9), [], max(1, (1 << 22) // len(row))
    for start in range(0, height, step):
        parts.append(packer.compress(row * min(step, height - start)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )


def generate_bombs(folder: Path) -> list[Path]:
    """The files that took gigabytes per worker: a 0.7 MB PNG of 177 megapixels, the same with
    transparency, a 48-megapixel one that fits, a JPEG header of 65,000 x 65,000, and a few photos."""
    from PIL import Image

    marker = folder.with_name(f"{folder.name}.complete")
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        _png(folder / "bomb_177mp.png", 15_400, 11_500, 2)
        _png(folder / "bomb_177mp_alpha.png", 15_400, 11_500, 6)
        _png(folder / "large_48mp.png", 8000, 6000, 2)
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (9, 9, 9)).save(out, "JPEG")
        data = bytearray(out.getvalue())
        sof = data.find(b"\xff\xc0")
        data[sof + 5 : sof + 9] = (65000).to_bytes(2, "big") * 2
        (folder / "huge_header.jpg").write_bytes(bytes(data))
        for i in range(6):
            Image.new("RGB", (1600, 1200), (40 * i, 90, 200 - 30 * i)).save(folder / f"photo_{i}.jpg", "JPEG")
        marker.touch()
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def run_bombs(memory_mb: int) -> dict:
    from app import create_app, database
    from app.config import Settings
    from app.media import batch
    from app.models import File, db
    from app.pipeline import importer, jobs

    folder = Path(tempfile.gettempdir()) / "mediaparser-bench" / "bombs"
    paths = generate_bombs(folder)
    work = Path(tempfile.mkdtemp(prefix="mediaparser-bench-"))
    env = {"MEDIAPARSER_DATA_DIR": str(work / "data"), "MEDIAPARSER_QUEUE": "memory", "SECRET_KEY": "bench"}
    if memory_mb:
        env["MEDIAPARSER_WORKER_MEMORY_MB"] = str(memory_mb)
    try:
        settings = Settings.from_env(env=env)
        workers, ceiling = batch.plan(settings.workers, settings.worker_memory_mb, batch.available_memory())
        app = create_app(settings)
        database.upgrade(app)
        with app.app_context():
            job = importer.start_folder_import(folder, roots=None)
            sampler = ProcessSampler(every=0.05)
            sampler.start()
            started = time.perf_counter()
            outcome = jobs.run(job.id)
            seconds = time.perf_counter() - started
            sampler.stop()
            files = {
                f.original_name: (f.status, f.error)
                for f in db.session.execute(db.select(File).where(File.job_id == job.id)).scalars()
            }
        return {
            "outcome": outcome,
            "seconds": round(seconds, 1),
            "workers": workers,
            "ceiling_mb": round(ceiling / 1e6),
            "peak_worker_mb": round(max(sampler.worker_peak.values(), default=0)),
            "files": {name: files.get(p.name) for p in paths for name in [p.name]},
            "sizes_kb": {p.name: round(p.stat().st_size / 1000) for p in paths},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _child(args: list[str]) -> dict | None:
    """One measurement in a fresh process of its own (its peak memory is its own): its result,
    or None after printing why it failed."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(out.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main_bombs() -> int:
    print(f"MediaParser import benchmark, decompression bombs ({os.cpu_count()} cores)")
    for memory_mb in (0, 640):
        r = _child(["--bomb", "--worker-memory", str(memory_mb)])
        if r is None:
            return 1
        how = f"MEDIAPARSER_WORKER_MEMORY_MB={memory_mb}" if memory_mb else "memory ceiling from the machine"
        print(
            f"\n{how}: {r['workers']} workers, {r['ceiling_mb']} MB each; import {r['outcome']} in {r['seconds']} s\n"
            f"  peak memory of the largest analysis process: {r['peak_worker_mb']} MB"
        )
        for name, (status, error) in r["files"].items():
            if not name.startswith("photo_"):
                print(f"  {name} ({r['sizes_kb'][name]} KB): {status}" + (f" - {error[:110]}" if error else ""))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="number of camera JPEGs (repeatable)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor loop")
    parser.add_argument(
        "--workers", type=int, nargs="*", default=[1, 2, 3], help="worker.py process counts to import with (none: skip)"
    )
    parser.add_argument("--bomb", action="store_true", help="import decompression bombs; print peak memory")
    parser.add_argument("--worker-memory", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.n or [300]
    if args.bomb:
        if args.child:
            print(json.dumps(run_bombs(args.worker_memory)))
            return 0
        return main_bombs()
    if args.child:
        if args.child_workers:
            print(json.dumps(run_workers(sizes[0], args.child_workers)))
        else:
            print(json.dumps(run_one(sizes[0], not args.no_floor)))
        return 0
    print(f"MediaParser import benchmark ({os.cpu_count()} cores)")
    for n in sizes:
        # generate here, so the measured process's peak memory is the import's alone
        started = time.perf_counter()
        generate(Path(tempfile.gettempdir()) / "mediaparser-bench" / f"import-{n}", n)
        print(f"(test images for N={n} ready in {time.perf_counter() - started:.0f} s)")
        r = _child(["--n", str(n)] + (["--no-floor"] if args.no_floor else []))
        if r is None:
            return 1
        print(
            f"\nN={n}: {r['n_files']} files ({r['dataset_mb']} MB of 12 MP JPEGs), statuses {r['statuses']}\n"
            f"  import (real pipeline, {r['workers']} workers): {r['import_s']} s = {r['import_files_per_s']} files/s\n"
            f"  peak memory: main process {r['peak_rss_main_mb']} MB, largest worker {r['peak_rss_worker_mb']} MB,"
            f" all processes together {r['peak_rss_all_mb']} MB\n"
            f"  CPU per file: workers {r['cpu_ms_per_file_workers']} ms + writer {r['cpu_ms_per_file_main']} ms"
        )
        if "ratio" in r:
            print(
                f"  floor loop ({os.cpu_count()} processes: read + sha256 + EXIF + draft decode): {r['floor_s']} s"
                f" = {r['floor_files_per_s']} files/s (CPU per file {r['cpu_ms_per_file_floor']} ms)\n"
                f"  import / floor: {r['ratio']}"
            )
        for count in args.workers:
            w = _child(["--n", str(n), "--child-workers", str(count)])
            if w is None:
                return 1
            print(
                f"  {count} worker.py process(es), MEDIAPARSER_WORKERS=1 each: {w['outcome']} in {w['seconds']} s"
                f" = {w['files_per_s']} files/s; CPU s of each worker and its pool during the import: {w['cpu_s_per_worker']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
