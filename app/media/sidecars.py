"""Google Takeout JSON sidecars: the capture time Google Photos kept for a file.

A Takeout export puts one JSON file beside each photo or video. Its `photoTakenTime` is the
capture instant (epoch seconds, UTC) — often the only date left for a file whose EXIF a
messaging app stripped. `creationTime` is when it was uploaded to Google Photos: the
picture is at least that old. (For a file Google found no date in, photoTakenTime *is*
the upload time; timestamps.py marks that case.)

Finding the sidecar is the hard part. Takeout names it after the media file, with quirks:

- older exports: `NAME.ext.json`; newer ones: `NAME.ext.supplemental-metadata.json`;
- the part before `.json` is cut to 46 characters (some exports: 47), so long names give
  `IMG_20190615_143000123.jpg.supplemen.json` or even `very_long_name_that_is_c.json`;
- a duplicate name `NAME(1).ext` gets `NAME.ext(1).json` /
  `NAME.ext.supplemental-metadata(1).json` — the number moves to the end, never cut;
- an edited copy `NAME-edited.ext` (in the export's language) has no sidecar of its own and
  shares the original's;
- some exports drop the extension: `NAME.json`.

`find_sidecar` tries those names in order, then falls back to scanning the folder's JSON
files for a truncated name whose `title` field names this file.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

SUFFIX = ".supplemental-metadata"
LIMITS = (46, 47)  # characters kept before ".json"
MAX_SIDECAR_BYTES = 1024 * 1024
# Suffixes Google Photos gives edited copies, by export language.
EDITED = ("-edited", "-bearbeitet", "-modifié", "-modificato", "-editado", "-bewerkt", "-redigeret", "-muokattu")
_COUNTER = re.compile(r"^(?P<base>.*?)(?P<counter>\(\d+\))$")


def _split_counter(name: str) -> tuple[str, str]:
    """'IMG_1234(1).jpg' -> ('IMG_1234.jpg', '(1)'); names without a counter -> (name, '')."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    m = _COUNTER.match(stem)
    if not m or not m["base"]:
        return name, ""
    return m["base"] + (f".{ext}" if dot else ""), m["counter"]


def _unedited(name: str) -> str | None:
    stem, dot, ext = name.rpartition(".")
    for marker in EDITED:
        if stem.lower().endswith(marker):
            return stem[: -len(marker)] + dot + ext
    return None


def candidate_names(media_name: str) -> list[str]:
    """Sidecar file names Takeout may have given this media file, most likely first."""
    names: list[str] = []
    bases = [media_name]
    original = _unedited(media_name)
    if original:
        bases.append(original)
    for base_name in bases:
        base, counter = _split_counter(base_name)
        for suffix in (SUFFIX, ""):
            full = base + suffix
            names.append(f"{full}{counter}.json")
            for limit in LIMITS:
                names.append(f"{full[:limit]}{counter}.json")
            if counter:  # some exports keep the counter where it was
                names.append(f"{base_name}{suffix}.json")
        stem = base.rpartition(".")[0]
        if stem:
            names.append(f"{stem}{counter}.json")
    return list(dict.fromkeys(names))


def _strip_sidecar_name(json_name: str) -> tuple[str, str]:
    """'IMG_1.jpg.supplemen(2).json' -> ('IMG_1.jpg', '(2)'): the media-name prefix it holds."""
    body = json_name[: -len(".json")]
    counter = ""
    m = _COUNTER.match(body)
    if m and m["base"]:
        body, counter = m["base"], m["counter"]
    head, dot, tail = body.rpartition(".")
    if dot and head and tail and SUFFIX[1:].startswith(tail.lower()):
        body = head  # a (possibly cut) ".supplemental-metadata"
    return body, counter


@lru_cache(maxsize=32)
def _folder_index(folder: str, _mtime_ns: int) -> tuple[frozenset[str], dict[tuple[str, str], tuple[str, ...]]]:
    """The folder's JSON file names, and the same names keyed by (media-name prefix, counter).

    Cached per folder (and its modification time): a Takeout folder holds thousands of files."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.lower().endswith(".json") and e.is_file())
    except OSError:
        return frozenset(), {}
    index: dict[tuple[str, str], list[str]] = {}
    for name in names:
        index.setdefault(_strip_sidecar_name(name), []).append(name)
    return frozenset(names), {k: tuple(v) for k, v in index.items()}


def _index(folder: Path):
    try:
        mtime = folder.stat().st_mtime_ns
    except OSError:
        return frozenset(), {}
    return _folder_index(str(folder), mtime)


def find_sidecar(folder: Path, media_name: str) -> Path | None:
    """The Takeout sidecar for `media_name` in `folder`, or None."""
    present, by_prefix = _index(folder)
    if not present:
        return None
    for name in candidate_names(media_name):
        if name in present and name != media_name:
            return folder / name
    # Fallback: a name cut at a length we did not guess, confirmed by the title inside.
    base, counter = _split_counter(media_name)
    for length in range(len(base), 19, -1):
        for json_name in by_prefix.get((base[:length], counter), ()):
            title = (read_sidecar(folder / json_name) or {}).get("title") or ""
            if title and (title == base or base.startswith(title) or title.startswith(base[:length])):
                return folder / json_name
    return None


def _epoch(block: Any) -> int | None:
    if isinstance(block, dict):
        block = block.get("timestamp")
    try:
        return int(str(block).strip())
    except (TypeError, ValueError):
        return None


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The parsed JSON, or None when it is not a readable Takeout sidecar."""
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def facts(path: Path) -> dict[str, Any] | None:
    """The time facts of a sidecar, normalized for File.meta['sidecar']:
    {file, kind, photo_taken (epoch s), created (epoch s), title, lat, lon}."""
    data = read_sidecar(path)
    if data is None or not any(k in data for k in ("photoTakenTime", "creationTime", "title")):
        return None
    result: dict[str, Any] = {"file": path.name, "kind": "google_takeout", "title": data.get("title")}
    taken = _epoch(data.get("photoTakenTime"))
    created = _epoch(data.get("creationTime"))
    if taken is not None:
        result["photo_taken"] = taken
    if created is not None:
        result["created"] = created
    geo = data.get("geoDataExif") or data.get("geoData") or {}
    if isinstance(geo, dict) and (geo.get("latitude") or geo.get("longitude")):
        result["lat"], result["lon"] = geo.get("latitude"), geo.get("longitude")
    return {k: v for k, v in result.items() if v is not None}


def read_for(media_path: Path, media_name: str | None = None) -> dict[str, Any] | None:
    """Sidecar facts for a media file (looked up beside it, under its original name)."""
    found = find_sidecar(media_path.parent, media_name or media_path.name)
    return facts(found) if found else None


def epoch_to_utc(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        return None
