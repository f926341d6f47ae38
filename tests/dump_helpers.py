"""A realistic family dump, generated: what a household's "photos" folder looks like after
years of phones, backups and exports. Camera photos with correct EXIF (make, model,
DateTimeOriginal) in backup-named folders, every file time reset by copying, WhatsApp
pictures (no EXIF, the day in the name), scans (no date at all but the file time),
screenshots, a few Android photos with the 2002-12-08 12:00:00 CreateDate placeholder, and
two camera photos in event folders whose names really disagree with the camera.

`make_dump(root)` writes it and returns what each file is, so tests know the truth."""

from __future__ import annotations

import io
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from tests.time_helpers import make_exif

COPY_DAY = datetime(2024, 3, 1, 9, 12, 0)  # the day everything was copied off the old laptop


@dataclass
class DumpFile:
    path: str  # relative to the dump's root
    kind: str  # camera | whatsapp | scan | screenshot | camera_mismatch
    taken: datetime | None  # the truth, where there is one


@dataclass
class Dump:
    root: Path
    files: list[DumpFile] = field(default_factory=list)

    def of(self, kind: str) -> list[DumpFile]:
        return [f for f in self.files if f.kind == kind]

    @property
    def camera(self) -> list[DumpFile]:
        """Files whose camera date is correct (what the noise target counts)."""
        return [f for f in self.files if f.kind in ("camera", "camera_mismatch")]


def _picture(rng: random.Random, size=(96, 72)) -> Image.Image:
    """A picture unlike every other (random shapes): no two files are near-duplicates."""
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x0, y0, x0 + rng.randrange(8, 60), y0 + rng.randrange(8, 50))
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    return image


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = COPY_DAY.timestamp()
    os.utime(path, (stamp, stamp))  # copied: the file time is the copy day, not the shot


def _jpeg(rng: random.Random, exif=None) -> bytes:
    buf = io.BytesIO()
    _picture(rng).save(buf, "JPEG", quality=80, **({"exif": exif} if exif is not None else {}))
    return buf.getvalue()


def _camera(dump: Dump, rng: random.Random, folder: str, name: str, taken: datetime, kind="camera", **extra) -> None:
    exif = make_exif(
        taken.strftime("%Y:%m:%d %H:%M:%S"),
        make=extra.pop("make", "Canon"),
        model=extra.pop("model", "Canon PowerShot A520"),
        **extra,
    )
    _write(dump.root / folder / name, _jpeg(rng, exif))
    dump.files.append(DumpFile(f"{folder}/{name}", kind, taken))


def _series(start: datetime, n: int, rng: random.Random, spread_days: int = 300) -> list[datetime]:
    return sorted(start + timedelta(minutes=rng.randrange(spread_days * 24 * 60)) for _ in range(n))


def make_dump(root: Path, seed: int = 14) -> Dump:
    rng = random.Random(seed)
    dump = Dump(root)
    # an Android phone's camera folder inside a backup named after the backup's year
    for t in _series(datetime(2018, 3, 1, 8), 24, rng):
        name = f"IMG_{t:%Y%m%d_%H%M%S}.jpg"
        _camera(dump, rng, "Phone backup 2020/DCIM/Camera", name, t, make="samsung", model="SM-G960F")
    # ... some of them with the CreateDate placeholder those phones write
    for i, t in enumerate(_series(datetime(2019, 2, 1, 8), 6, rng)):
        _camera(dump, rng, "Phone backup 2020/DCIM/Camera", f"DSC_{i:04d}.jpg", t, make="HUAWEI", model="P20",
                create="2002:12:08 12:00:00")  # fmt: skip
    # a compact camera's "Camera Roll" folder named in 2008, the photos from 2006-2007
    for i, t in enumerate(_series(datetime(2006, 5, 1, 9), 16, rng, spread_days=500)):
        _camera(dump, rng, "Camera Roll 2008", f"DSC{i + 1000:05d}.JPG", t, make="SONY", model="DSC-W55")
    # an old laptop's export: year folders that agree with the camera
    for i, t in enumerate(_series(datetime(2015, 1, 10, 9), 14, rng, spread_days=330)):
        _camera(dump, rng, "Old laptop export/Pictures/2015", f"IMG_{i + 2000:04d}.JPG", t)
    # a German backup of a mobile phone, made in 2017, photos from 2016
    for i, t in enumerate(_series(datetime(2016, 1, 5, 9), 10, rng, spread_days=350)):
        _camera(dump, rng, "Sicherung Handy 2017", f"P{i + 100:07d}.jpg", t, make="Apple", model="iPhone 6")
    # an event folder that agrees
    for i, t in enumerate(_series(datetime(2019, 6, 2, 10), 8, rng, spread_days=20)):
        _camera(dump, rng, "2019-06 Summer at the lake", f"DSC_{i + 500:04d}.JPG", t, make="NIKON", model="D3300")
    # two photos filed under an event whose year really differs from the camera's: worth a look
    for i, t in enumerate((datetime(2017, 8, 3, 12, 0), datetime(2017, 8, 4, 15, 30))):
        _camera(dump, rng, "Holiday 2019", f"DSC_{i + 900:04d}.JPG", t, kind="camera_mismatch", make="NIKON",
                model="D3300")  # fmt: skip
    _others(dump, rng)
    return dump


def _others(dump: Dump, rng: random.Random) -> None:
    # WhatsApp: the messaging app removed EXIF; the name keeps the day it was sent
    for i in range(12):
        day = datetime(2019, 1, 1) + timedelta(days=rng.randrange(700))
        name = f"IMG-{day:%Y%m%d}-WA{i:04d}.jpg"
        _write(dump.root / "WhatsApp Images" / name, _jpeg(rng))
        dump.files.append(DumpFile(f"WhatsApp Images/{name}", "whatsapp", day))
    # scans of old prints: nothing but the file time
    for i in range(8):
        name = f"scan_{i + 1:03d}.png"
        buf = io.BytesIO()
        _picture(rng).save(buf, "PNG")
        _write(dump.root / "Scans" / "Oma" / name, buf.getvalue())
        dump.files.append(DumpFile(f"Scans/Oma/{name}", "scan", None))
    # screenshots: the phone named them with the moment
    for i in range(6):
        t = datetime(2020, 1, 2, 10, 10) + timedelta(days=rng.randrange(300), minutes=i)
        name = f"Screenshot_{t:%Y%m%d-%H%M%S}.png"
        buf = io.BytesIO()
        _picture(rng).save(buf, "PNG")
        _write(dump.root / "Screenshots" / name, buf.getvalue())
        dump.files.append(DumpFile(f"Screenshots/{name}", "screenshot", t))
