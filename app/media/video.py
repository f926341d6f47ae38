"""Video container facts (creation time, duration, size) and a poster frame.

Capture time, by container:
- MP4/MOV/3GP/M4V: the `mvhd` creation time (UTC by the specification) and Apple's
  `com.apple.quicktime.creationdate` (local time with its offset) come from quicktime.py,
  a tiny pure-Python box reader, whatever else is installed. A zero `mvhd` time is kept
  as a placeholder so the review page can say why it was not used.
- AVI: the RIFF date (IDIT/ICRD) is the camera's local wall-clock time, no zone.
- Matroska/WebM: `DateUTC`, an instant.

ffprobe/ffmpeg (Debian package `ffmpeg`) are used when installed: they read every
container, the rotation, the dimensions, and give a poster frame for the thumbnail.
Without them, hachoir (pure Python) still reads the AVI/MKV dates and the duration; there
is then no poster frame.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from PIL import Image

from ..process_setup import child_preexec
from . import avchd, quicktime, sidecars

PROBE_TIMEOUT = 60


def have_ffmpeg() -> bool:
    return shutil.which("ffprobe") is not None and shutil.which("ffmpeg") is not None


QUICKTIME_MIMES = {"video/mp4", "video/quicktime", "video/3gpp", "video/x-m4v"}


def _ffprobe(path: Path) -> dict[str, Any]:
    try:
        return _ffprobe_run(path)
    except subprocess.TimeoutExpired:
        raise ValueError(f"ffprobe gave no answer within {PROBE_TIMEOUT} s") from None


def _ffprobe_run(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_entries",
            "stream=codec_type,width,height:stream_tags=rotate,creation_time:stream_side_data=rotation",
            str(path),
        ],
        capture_output=True,
        stdin=subprocess.DEVNULL,  # never read the caller's input (a piped list of paths)
        preexec_fn=child_preexec(),  # ends with the analysis process that started it
        timeout=PROBE_TIMEOUT,
        check=False,
    )
    data = json.loads(out.stdout or b"{}") if out.stdout else {}
    fmt = data.get("format") or {}
    if out.returncode != 0 and not fmt:
        message = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(message[-1] if message else "ffprobe could not read the video")
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    info: dict[str, Any] = {"reader": "ffprobe", "container": (fmt.get("format_name") or "").split(",")[0] or None}
    if "duration" in fmt:
        with contextlib.suppress(ValueError):
            info["duration"] = float(fmt["duration"])
    info["creation_time"] = tags.get("creation_time")
    if info["container"] == "avi" and not info["creation_time"]:
        info["creation_time"] = tags.get("date")  # RIFF ICRD: the local date the clip was made
    info["apple_creationdate"] = tags.get("com.apple.quicktime.creationdate")
    info["make"] = tags.get("com.apple.quicktime.make") or tags.get("make")
    info["model"] = tags.get("com.apple.quicktime.model") or tags.get("model")
    for stream in data.get("streams", []):
        if stream.get("codec_type") != "video":
            continue
        info["width"], info["height"] = stream.get("width"), stream.get("height")
        rotation = (stream.get("tags") or {}).get("rotate")
        for side in stream.get("side_data_list") or []:
            rotation = side.get("rotation", rotation)
        if rotation is not None:
            info["rotation"] = int(float(rotation)) % 360
            if info["rotation"] in (90, 270) and info.get("width"):
                info["width"], info["height"] = info["height"], info["width"]
        if not info["creation_time"]:
            info["creation_time"] = (stream.get("tags") or {}).get("creation_time")
        break
    return {k: v for k, v in info.items() if v is not None}


def _hachoir(path: Path) -> dict[str, Any]:
    from hachoir.core import config as hachoir_config
    from hachoir.metadata import extractMetadata
    from hachoir.parser import createParser

    hachoir_config.quiet = True  # its warnings about odd files are not ours to print
    info: dict[str, Any] = {"reader": "hachoir"}
    parser = createParser(str(path))
    if parser is None:
        raise ValueError("the video container could not be read")
    with parser:
        info["container"] = type(parser).__name__.removesuffix("File").lower()  # mp4 | riff | mkv | ...
        metadata = extractMetadata(parser)
    if metadata is None:
        return info
    created = metadata.get("creation_date", None) if metadata.has("creation_date") else None
    if created is not None and hasattr(created, "strftime") and created.year > 1904:
        # MP4/MOV (mvhd) and Matroska (DateUTC) hold UTC; AVI holds the camera's local time.
        utc = info["container"] in ("mp4", "mkv")
        info["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if utc else "")
    if metadata.has("duration"):
        info["duration"] = metadata.get("duration").total_seconds()
    for key in ("width", "height"):
        if metadata.has(key):
            info[key] = metadata.get(key)
    return info


def probe_video(path: str | Path, mime: str | None = None) -> dict[str, Any]:
    """Container facts; raises ValueError with a readable message when unreadable.

    For MP4/MOV the creation times always come from quicktime.py (it keeps a zero time and
    Apple's local time with offset); ffprobe or hachoir add the rest."""
    path = Path(path)
    boxes = quicktime.read(path) if mime in QUICKTIME_MIMES else {}
    try:
        try:
            if not have_ffmpeg():
                raise ValueError("ffprobe is not installed")
            info = _ffprobe(path)
        except ValueError:
            # hachoir also reads headers that ffprobe gives up on (cut-down or damaged files)
            try:
                info = _hachoir(path)
            except ValueError:
                raise
            except Exception as exc:  # noqa: BLE001 - hachoir raises assorted errors on stubs
                raise ValueError(f"the video container could not be read ({type(exc).__name__})") from None
    except ValueError:
        if not boxes:
            raise
        info = {"reader": "quicktime"}
    for key in ("creation_time", "apple_creationdate", "make", "model", "location", "content_identifier"):
        if boxes.get(key):
            info[key] = boxes[key]
    if boxes.get("duration") and not info.get("duration"):
        info["duration"] = boxes["duration"]
    info.update(_camcorder_dates(path, mime))
    return info


STREAM_MIMES = {"video/m2ts", "video/mpeg", "video/mp2t"}


def _camcorder_dates(path: Path, mime: str | None) -> dict[str, Any]:
    """AVCHD's in-stream recording time, or a .MOD/.TOD clip's .MOI file beside it."""
    if mime not in STREAM_MIMES:
        return {}
    found = avchd.read(path)
    moi = sidecars.find_moi(path)
    recorded = sidecars.moi_recording_time(moi) if moi else None
    if recorded:
        found["moi_recorded"] = recorded
    return found


def poster_frame(path: str | Path, duration: float | None = None) -> Image.Image | None:
    """One upright frame (ffmpeg applies the rotation), or None without ffmpeg or on failure."""
    if not have_ffmpeg():
        return None
    seek = "1" if (duration or 0) > 2 else "0"
    for at in dict.fromkeys((seek, "0")):
        try:
            out = subprocess.run(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-v",
                    "error",
                    "-ss",
                    at,
                    "-i",
                    str(path),
                    "-frames:v",
                    "1",
                    "-vf",
                    "scale='min(1024,iw)':-2",
                    "-f",
                    "image2pipe",
                    "-vcodec",
                    "png",
                    "-",
                ],
                capture_output=True,
                stdin=subprocess.DEVNULL,  # ffmpeg reads keys ('q') from stdin unless told not to
                preexec_fn=child_preexec(),
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        if out.returncode == 0 and out.stdout:
            try:
                image = Image.open(io.BytesIO(out.stdout))
                image.load()
                return image.convert("RGB")
            except OSError:
                return None
    return None
