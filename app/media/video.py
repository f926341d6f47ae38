"""Video container facts (creation time, duration, size) and a poster frame.

ffprobe/ffmpeg (Debian package `ffmpeg`) are used when installed: they read every
container, Apple's `com.apple.quicktime.creationdate` (local time with its offset), the
rotation, and give a poster frame for the thumbnail. Without them, hachoir (pure Python)
still reads the MP4/MOV creation time (UTC) and duration; there is then no poster frame.
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

PROBE_TIMEOUT = 60


def have_ffmpeg() -> bool:
    return shutil.which("ffprobe") is not None and shutil.which("ffmpeg") is not None


def _ffprobe(path: Path) -> dict[str, Any]:
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
        timeout=PROBE_TIMEOUT,
        check=False,
    )
    if out.returncode != 0 and not out.stdout:
        message = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(message[-1] if message else "ffprobe could not read the video")
    data = json.loads(out.stdout or b"{}")
    fmt = data.get("format", {})
    tags = {k.lower(): v for k, v in (fmt.get("tags") or {}).items()}
    info: dict[str, Any] = {"reader": "ffprobe"}
    if "duration" in fmt:
        with contextlib.suppress(ValueError):
            info["duration"] = float(fmt["duration"])
    info["creation_time"] = tags.get("creation_time")
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
    from hachoir.metadata import extractMetadata
    from hachoir.parser import createParser

    info: dict[str, Any] = {"reader": "hachoir"}
    parser = createParser(str(path))
    if parser is None:
        raise ValueError("the video container could not be read")
    with parser:
        metadata = extractMetadata(parser)
    if metadata is None:
        return info
    created = metadata.get("creation_date", None) if metadata.has("creation_date") else None
    if created is not None and created.year > 1904:
        info["creation_time"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")  # naive UTC from mvhd
    if metadata.has("duration"):
        info["duration"] = metadata.get("duration").total_seconds()
    for key in ("width", "height"):
        if metadata.has(key):
            info[key] = metadata.get(key)
    return info


def probe_video(path: str | Path) -> dict[str, Any]:
    """Container facts; raises ValueError with a readable message when unreadable."""
    path = Path(path)
    if have_ffmpeg():
        return _ffprobe(path)
    try:
        return _hachoir(path)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - hachoir raises assorted errors on stubs
        raise ValueError(f"the video container could not be read ({type(exc).__name__})") from None


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
