"""Settings people change on the settings page, stored in the AppSetting table.

They override the environment's defaults (app/config.py). Pages and jobs both read the
result through `effective(settings)`, so a new household time zone or output folder is
used by the next import or export without a restart.

Keys:
  output_dir              absolute folder the export writes to
  timezone                IANA zone assumed for times that carry no offset
  duplicate_sensitivity   "strict" | "normal" | "loose" (how alike two pictures must be)
  export_only_reviewed    true: files whose date still needs a look wait instead of being exported
  cleanup_import_roots    true: the export's clean-up may move originals out of MEDIAPARSER_IMPORT_ROOTS
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from ..config import Settings
from ..models import AppSetting, db

SENSITIVITIES = {
    "strict": "Strict: only pictures that are practically identical",
    "normal": "Normal: resized, re-compressed and converted copies",
    "loose": "Loose: also pictures that look very much alike",
}
DEFAULT_SENSITIVITY = "normal"
# on/off settings and their defaults (the export page changes them)
FLAGS = {"export_only_reviewed": False, "cleanup_import_roots": False}
KEYS = ("output_dir", "timezone", "duplicate_sensitivity", *FLAGS)


class SettingError(ValueError):
    """A value that cannot be used; the message says why, for people."""


def stored() -> dict[str, Any]:
    """Only what people changed (one small query)."""
    return {row.key: row.value for row in db.session.execute(select(AppSetting)).scalars() if row.key in KEYS}


def effective(base: Settings) -> Settings:
    """The environment's settings with the page's changes applied."""
    values = stored()
    changes: dict[str, Any] = {}
    if values.get("output_dir"):
        changes["output_dir"] = Path(values["output_dir"])
    if values.get("timezone"):
        changes["timezone"] = values["timezone"]
    return base.with_overrides(**changes) if changes else base


def flag(key: str) -> bool:
    value = stored().get(key)
    return FLAGS[key] if value is None else bool(value)


def duplicate_sensitivity() -> str:
    value = stored().get("duplicate_sensitivity")
    return value if value in SENSITIVITIES else DEFAULT_SENSITIVITY


def clean(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate values from a form; raise SettingError with a message for people."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in KEYS:
            raise SettingError(f"Unknown setting: {key}")
        text = str(value or "").strip()
        if key == "output_dir":
            if not text:
                raise SettingError("Please give an output folder.")
            path = Path(text).expanduser()
            if not path.is_absolute():
                raise SettingError("The output folder must be a full path, starting with / (for example /srv/photos).")
            path = path.resolve()
            if path.exists() and not path.is_dir():
                raise SettingError(f"{path} is a file, not a folder.")
            existing = path
            while not existing.exists():
                existing = existing.parent
            if not existing.is_dir():
                raise SettingError(f"{existing} is not a folder.")
            out[key] = str(path)
        elif key == "timezone":
            try:
                ZoneInfo(text)
            except (ZoneInfoNotFoundError, ValueError):
                raise SettingError(
                    f"{text or 'An empty value'} is not a time zone MediaParser knows. "
                    "Pick one from the list, for example Europe/Berlin."
                ) from None
            out[key] = text
        elif key in FLAGS:
            out[key] = value if isinstance(value, bool) else text.lower() in ("1", "true", "on", "yes")
        elif key == "duplicate_sensitivity":
            if text not in SENSITIVITIES:
                raise SettingError("Duplicate sensitivity must be strict, normal or loose.")
            out[key] = text
    return out


def save(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and store; returns what was stored."""
    values = clean(changes)
    for key, value in values.items():
        row = db.session.get(AppSetting, key)
        if row is None:
            db.session.add(AppSetting(key=key, value=value))
        else:
            row.value = value
    db.session.commit()
    return values
