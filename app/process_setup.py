"""What a MediaParser process sets once, where it starts: logging, and Pillow's
decompression-bomb limit. Only entry points call this (run.py, worker.py, the `flask`
command line through `create_app()`, and an import's analysis processes through
`media.batch.start_process`); no other code changes process-wide state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl" on every start
    logging.getLogger("huey").setLevel(logging.WARNING)  # a line per task run, every minute


def limit_image_pixels(max_pixels: int) -> None:
    """Pictures over `max_pixels` are refused as decompression bombs; 0 keeps Pillow's
    default (about 89 MP warns, twice that is refused)."""
    if max_pixels:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = max_pixels


def configure(settings: Settings) -> None:
    configure_logging()
    limit_image_pixels(settings.max_image_pixels)
