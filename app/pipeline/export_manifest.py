"""What the archive knows about itself: OUTPUT/.mediaparser/ holds the manifest (one JSON
line per copy written, updated or retired, oldest first), the archive's own trash, and the
export lock. Everything else under OUTPUT is the archive people see.

Record kinds (all carry "sha256", the original's content, and "output", the copy's path):
  a copy        written or rewritten: where, its hash and size, its sidecar, what it states
                ("capture", "stated"), and the library's date "time_source" and "confidence"
                it was exported with; "replaces" names the copy it took the place of
  "retired"     a copy moved to the archive's trash (its file was left out): where it went

The latest record of a content says what the archive holds for it (`manifest_index`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

META_DIR = ".mediaparser"
MANIFEST = "manifest.jsonl"
# Copies the archive no longer shows (left out, or replaced by a rewritten copy) go here,
# by export job: OUTPUT/.mediaparser/trash/export-<job>/<their old path>. Never deleted.
ARCHIVE_TRASH = "trash"
RESERVE = "reserve"  # space held back so that a full disk can still record what was written


def meta_dir(output: Path) -> Path:
    return output / META_DIR


def trash_path(job_id: int, old: str) -> str:
    """Where a retired copy goes, relative to the archive (posix)."""
    return f"{META_DIR}/{ARCHIVE_TRASH}/export-{job_id}/{old}"


def read_jsonl(path: Path) -> list[dict]:
    """Every record of a JSON-lines file MediaParser wrote (the archive manifest, the trash
    manifests), oldest first. Lines end only at "\\n" (a name may hold other line
    separators); a line cut short by a crash, or damaged, is ignored."""
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if isinstance(record, dict):
                records.append(record)
            else:
                log.warning("%s line %d is not a complete record (cut short by a crash?): ignored", path, number)
    return records


def append_jsonl(path: Path, records: list[dict]) -> None:
    """Add records to a JSON-lines file, flushed to the disk before this returns. A name
    that is not valid UTF-8 (Python holds its bytes as lone surrogates) is written as a
    JSON escape, so the file stays UTF-8 and the name reads back as the same bytes."""
    if not records:
        return
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    data = text.encode("utf-8", "backslashreplace")  # only lone surrogates need it: "\\udcXX"
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a full disk: start a fresh one
                data = b"\n" + data
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_manifest(output: Path) -> list[dict]:
    """Every manifest record, oldest first; a line cut short by a crash is ignored."""
    return read_jsonl(meta_dir(output) / MANIFEST)


def manifest_index(output: Path) -> dict[str, dict]:
    """sha256 of the original -> the record of its copy in the archive now (contents whose
    latest record retired their copy are not in it)."""
    index: dict[str, dict] = {}
    for record in read_manifest(output):
        sha = record.get("sha256")
        if not sha:
            continue
        if record.get("retired"):
            index.pop(sha, None)
        else:
            index[sha] = record
    return index


def append_manifest(output: Path, records: list[dict]) -> None:
    append_jsonl(meta_dir(output) / MANIFEST, records)


def hold_reserve(output: Path, size: int) -> None:
    """Keep `size` bytes of the archive's disk for the manifest: when the disk fills up
    mid-export, `release_reserve` gives them back, so what was written can be recorded."""
    path = meta_dir(output) / RESERVE
    try:
        if path.exists() and path.stat().st_size >= size:
            return
        with open(path, "wb") as fh:
            os.posix_fallocate(fh.fileno(), 0, size)
    except OSError as exc:  # full already, or no fallocate: the export goes on without it
        log.info("no space held back in %s (%s)", output, exc)
        path.unlink(missing_ok=True)


def release_reserve(output: Path) -> None:
    (meta_dir(output) / RESERVE).unlink(missing_ok=True)
