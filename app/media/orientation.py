"""EXIF orientation (1-8) as a mirror and a clockwise turn, so that a person's turn of a
picture can be added to what its tag already says: the exported copy's tag then shows it the
way the person sees it, and the original is never touched."""

from __future__ import annotations

# tag -> (mirrored left-right first, then turned clockwise by degrees): how a viewer shows the
# stored pixels.
_MEANING = {
    1: (False, 0),
    2: (True, 0),
    3: (False, 180),
    4: (True, 180),
    5: (True, 270),
    6: (False, 90),
    7: (True, 90),
    8: (False, 270),
}
_TAG = {meaning: tag for tag, meaning in _MEANING.items()}


def turned(orientation: int | None, degrees_clockwise: int) -> int:
    """The tag that shows the picture turned a further `degrees_clockwise` (a multiple of 90)
    from how `orientation` shows it (None or an unknown value: as stored, 1)."""
    mirrored, turn = _MEANING.get(orientation or 1, (False, 0))
    return _TAG[(mirrored, (turn + degrees_clockwise) % 360)]


def turn_jpeg(data: bytes, degrees_clockwise: int, quality: int = 88) -> bytes:
    """A preview picture (JPEG bytes) turned clockwise: for showing a person's turn on a page.
    Previews only; originals are never turned."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        turned_image = image.rotate(-degrees_clockwise, expand=True)  # Pillow turns anticlockwise
        out = io.BytesIO()
        turned_image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
