"""Where the web may have MediaParser write an export.

An export writes thousands of files, and the clean-up moves originals, wherever it is
told. Over the web that must not be any folder the server can write to (/etc, someone's
home), so the web may only choose folders under MEDIAPARSER_OUTPUT_ROOTS (default: the data
folder's output/) or the admin's own MEDIAPARSER_OUTPUT_DIR. The command line, run by
whoever runs the server, may name any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Settings


def roots(settings: Settings) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(os.path.realpath(p)) for p in (*settings.output_roots, settings.output_dir)))


def refusal(folder: str | Path, settings: Settings) -> str | None:
    """None when the web may export to `folder`, else why not, for people."""
    real = Path(os.path.realpath(folder))
    allowed = roots(settings)
    if any(real == root or real.is_relative_to(root) for root in allowed):
        return None
    listed = ", ".join(str(r) for r in allowed)
    return (
        f"{real} is outside the folders this page may export to ({listed}). Choose a folder inside "
        f"{'it' if len(allowed) == 1 else 'one of them'}. Whoever runs MediaParser can allow more with "
        "MEDIAPARSER_OUTPUT_ROOTS, or export anywhere from the command line (flask export FOLDER)."
    )
