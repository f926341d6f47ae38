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


def _cut_names(name: str, counter: str = "") -> list[str]:
    """`name` + the (possibly cut) metadata suffix + `counter` + ".json", as Takeout writes it."""
    names = []
    for suffix in (SUFFIX, ""):
        full = name + suffix
        names.append(f"{full}{counter}.json")
        names += [f"{full[:limit]}{counter}.json" for limit in LIMITS]
    return names


def candidate_names(media_name: str) -> list[str]:
    """Sidecar file names Takeout may have given this media file, most likely first."""
    names: list[str] = []
    bases = [media_name]
    original = _unedited(media_name)
    if original:
        bases.append(original)
    for base_name in bases:
        base, counter = _split_counter(base_name)
        if counter and base.rpartition(".")[0].endswith(" "):
            # "Holiday (38).JPG": the number is part of the person's own name, not Takeout's
            # duplicate counter, and the name is cut as it is ("Holiday (38).JP.json").
            names += _cut_names(base_name)
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
    for base, counter in dict.fromkeys([_split_counter(media_name), (media_name, "")]):
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


# --- other files that belong to a picture ----------------------------------------------------

_DESCRIPTIONS = {
    "aae": "Apple Photos edit instructions (.AAE) for a photo taken on an iPhone or edited on a Mac: not a picture "
    "itself; it is kept with its photo once that photo is in the library",
    "xmp": "An XMP sidecar (metadata darktable, digiKam or Lightroom keep beside a photo): its dates and tags "
    "are read with that photo, and it is kept with that photo once the photo is in the library",
    "moi": "A camcorder's clip information file (.MOI): its recording date is read with its video",
}


def describe(ext: str, name: str) -> str:
    """Why a sidecar file is not imported as a picture of its own, in a sentence."""
    return _DESCRIPTIONS.get(ext, f"{name} holds information about another file, not a picture itself")


@lru_cache(maxsize=32)
def _names_by_lower(folder: str, _mtime_ns: int, suffix: str) -> dict[str, str]:
    try:
        return {e.name.lower(): e.name for e in os.scandir(folder) if e.name.lower().endswith(suffix)}
    except OSError:
        return {}


def _beside(media_path: Path, names: list[str], suffix: str) -> Path | None:
    folder = media_path.parent
    try:
        mtime = folder.stat().st_mtime_ns
    except OSError:
        return None
    present = _names_by_lower(str(folder), mtime, suffix)
    for name in names:
        real = present.get(name.lower())
        if real:
            return folder / real
    return None


def find_xmp(media_path: Path, media_name: str | None = None) -> Path | None:
    """A standalone XMP sidecar: darktable's `IMG_1.CR2.xmp`, or `IMG_1.xmp` (digiKam,
    Lightroom, RawTherapee's neighbours), in any letter case."""
    name = media_name or media_path.name
    stem = name.rpartition(".")[0] or name
    return _beside(media_path, [f"{name}.xmp", f"{stem}.xmp"], ".xmp")


MAX_XMP_BYTES = 4 * 1024 * 1024


def xmp_facts(path: Path) -> dict[str, Any] | None:
    """{file, dates: {exif.py keys: text}, tags: [...]} from an XMP sidecar file."""
    from . import xmp

    try:
        if path.stat().st_size > MAX_XMP_BYTES:
            return None
        packet = xmp.find_packet(path.read_bytes())
    except OSError:
        return None
    if not packet:
        return None
    found: dict[str, Any] = {"file": path.name, "kind": "xmp"}
    dates = xmp.parse_dates(packet)
    if dates:
        found["dates"] = dates
    keywords = xmp_keywords(packet)
    if keywords:
        found["tags"] = keywords
    return found if len(found) > 2 else None


_DC = "http://purl.org/dc/elements/1.1/"
_HIERARCHIES = {
    "http://www.digikam.org/ns/1.0/": ("TagsList", "/"),
    "http://ns.adobe.com/lightroom/1.0/": ("hierarchicalSubject", "|"),
}


def xmp_keywords(packet: bytes) -> list[str]:
    """Keywords (dc:subject) and the last level of digiKam/Lightroom tag paths."""
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        return []
    try:
        root = ET.fromstring(packet)
    except ET.ParseError:
        return []
    rdf_li = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
    found: list[str] = []
    for element in root.iter():
        if element.tag == f"{{{_DC}}}subject":
            found += [li.text.strip() for li in element.iter(rdf_li) if li.text and li.text.strip()]
        for namespace, (local, separator) in _HIERARCHIES.items():
            if element.tag == f"{{{namespace}}}{local}":
                found += [li.text.split(separator)[-1].strip() for li in element.iter(rdf_li) if li.text]
    return list(dict.fromkeys(t for t in found if t))[:200]


def read_xmp_for(media_path: Path, media_name: str | None = None) -> dict[str, Any] | None:
    found = find_xmp(media_path, media_name)
    return xmp_facts(found) if found else None


def find_moi(media_path: Path, media_name: str | None = None) -> Path | None:
    """A JVC/Panasonic camcorder's `.MOI` beside its `.MOD`/`.TOD` clip."""
    name = media_name or media_path.name
    stem = name.rpartition(".")[0] or name
    return _beside(media_path, [f"{stem}.moi"], ".moi")


def moi_recording_time(path: Path) -> str | None:
    """The recording start a `.MOI` file holds: "V6" header, then year (2 bytes), month,
    day, hour, minute and milliseconds (2 bytes), big-endian; the camcorder's wall clock."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if len(head) < 16 or not head.startswith(b"V6"):
        return None
    year, month, day, hour, minute, millis = (
        int.from_bytes(head[6:8], "big"),
        head[8],
        head[9],
        head[10],
        head[11],
        int.from_bytes(head[12:14], "big"),
    )
    try:
        value = datetime(year, month, day, hour, minute, millis // 1000 % 60)
    except ValueError:
        return None
    return value.strftime("%Y:%m:%d %H:%M:%S")
