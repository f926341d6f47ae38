"""Helpers for the web tests: CSRF tokens, generated photos, rows made directly."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from PIL import Image

from app.models import File, db

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, page: str = "/upload") -> str:
    return TOKEN.search(client.get(page).get_data(as_text=True))[1]


def headers(client) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client)}


def jpeg(color="red", taken: str | None = None, size=(64, 48), make: str | None = None, model: str | None = None):
    """A small JPEG, optionally with EXIF DateTimeOriginal ('2019:06:15 14:30:00') and camera."""
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def add_file(**values) -> File:
    """A File row as an import would leave it (no real bytes needed)."""
    n = values.pop("n", None)
    name = values.pop("name", f"IMG_{n or 0:05d}.jpg")
    row = File(
        path=values.pop("path", f"/photos/{name}"),
        original_name=name,
        relative_dir=values.pop("relative_dir", ""),
        status=values.pop("status", "done"),
        media_kind=values.pop("media_kind", "image"),
        mime=values.pop("mime", "image/jpeg"),
        ext=values.pop("ext", "jpg"),
        confidence=values.pop("confidence", "high"),
        needs_review=values.pop("needs_review", False),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def upload(
    client, job_id: int, name: str, data: bytes, path: str | None = None, modified: int | None = None, hdrs=None
):
    query = {"name": name, "path": path or name}
    if modified is not None:
        query["modified"] = str(modified)
    return client.post(
        f"/api/uploads/{job_id}/files",
        query_string=query,
        data=data,
        headers={**(hdrs or headers(client)), "Content-Type": "application/octet-stream"},
    )
