"""Fixture makers for the capture-time tests: small images with EXIF/GPS/XMP written by
Pillow, Takeout sidecars, tiny ffmpeg clips. Nothing here is copied from the corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def make_exif(
    dto: str | None = None,
    *,
    offset: str | None = None,
    create: str | None = None,
    modify: str | None = None,
    subsec: str | None = None,
    gps_date: str | None = None,
    gps_time: tuple[float, float, float] | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if modify:
        exif[0x0132] = modify
    ifd = exif.get_ifd(EXIF_IFD)
    if dto:
        ifd[0x9003] = dto
    if create:
        ifd[0x9004] = create
    if offset:
        ifd[0x9011] = offset
    if subsec:
        ifd[0x9291] = subsec
    if gps_date or gps_time:
        gps = exif.get_ifd(GPS_IFD)
        if gps_date:
            gps[29] = gps_date
        if gps_time:
            gps[7] = tuple(float(x) for x in gps_time)
    return exif


def xmp_packet(**tags: str) -> bytes:
    """An XMP packet with attributes like xmp_CreateDate="2019-06-15T14:30:00+02:00"."""
    ns = (
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    )
    attrs = " ".join(f'{k.replace("_", ":", 1)}="{v}"' for k, v in tags.items())
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {ns} {attrs}/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def write_image(path: Path, exif: Image.Exif | None = None, *, xmp: bytes | None = None, color="red", mtime=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (32, 24), color)
    options = dict(kw)
    if exif is not None:
        options["exif"] = exif.tobytes()  # an Exif with an empty IFD0 is falsy: some writers would drop it
    fmt = path.suffix.lower()
    if xmp is not None:
        if fmt == ".png":
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=True)
            options["pnginfo"] = info
        elif fmt in (".tif", ".tiff"):
            options["tiffinfo"] = {700: xmp}
        else:
            options["xmp"] = xmp
    if fmt in (".heic", ".heif", ".avif"):
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(path, **options)
    if mtime is not None:
        set_mtime(path, mtime)
    return path


def set_mtime(path: Path, when: datetime) -> None:
    ts = when.replace(tzinfo=when.tzinfo or UTC).timestamp()
    os.utime(path, (ts, ts))


def write_takeout(folder: Path, json_name: str, title: str, taken: int | None, created: int | None = None) -> Path:
    data = {"title": title, "description": "", "imageViews": "1"}
    if taken is not None:
        data["photoTakenTime"] = {"timestamp": str(taken), "formatted": "whatever Google wrote"}
    if created is not None:
        data["creationTime"] = {"timestamp": str(created), "formatted": "whatever Google wrote"}
    data["geoData"] = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}
    path = folder / json_name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def make_clip(path: Path, *metadata: str, movflags: bool = False, codec: str = "libx264") -> Path:
    """A 0.2 s 64x48 clip; metadata items like 'creation_time=2019-06-15T12:30:00Z'."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
    cmd += ["-i", "testsrc=duration=0.2:size=64x48:rate=5"]
    for item in metadata:
        cmd += ["-metadata", item]
    if movflags:
        cmd += ["-movflags", "use_metadata_tags"]
    cmd += ["-c:v", codec]
    if codec == "libx264":
        cmd += ["-pix_fmt", "yuv420p"]
    cmd.append(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True, timeout=60)
    return path
