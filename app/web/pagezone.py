"""One zone per page: every time a file's page shows is in the same zone, so one moment is
never shown as two clock times.

The zone is the file's own UTC offset where it is known (the camera wrote it, its GPS
position or another clue told it, or a person typed it), else the household zone; the
household zone is named beside it as a hint. Template globals for detail.html, registered
by the time actions' blueprint.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app

from ..pipeline import settings_store
from ..vocab import Precision
from ..wording import format_offset
from .filters import local_time


def _household() -> ZoneInfo:
    return settings_store.effective(current_app.config["MEDIAPARSER"]).zone


def page_zone(file) -> tzinfo:
    """The zone a file's page shows times in."""
    if file.taken_offset is not None:
        return timezone(timedelta(minutes=file.taken_offset))
    return _household()


def in_page_zone(value: datetime | None, file, precision: str = Precision.MINUTE) -> str:
    """An instant (a file date, an import time) as the wall clock of the page's zone."""
    if value is None:
        return "—"
    local = value.astimezone(page_zone(file))
    offset = int(local.utcoffset().total_seconds() // 60)
    return f"{local_time(local.replace(tzinfo=None).isoformat(), precision)} (UTC{format_offset(offset)})"


def zone_hint(file) -> str:
    """Which zone the page's times are in, with the household zone as a hint."""
    home = _household()
    if file.taken_offset is None:
        return f"Times on this page are in your household time zone, {home.key}; this file's own zone is not known."
    own = f"UTC{format_offset(file.taken_offset)}"
    if file.taken_local and Precision.of(file.taken_precision).has_time_of_day:
        at = datetime.fromisoformat(file.taken_local).replace(tzinfo=home)
        home_then = f"UTC{format_offset(int(at.utcoffset().total_seconds() // 60))}"
        if home_then == own:
            return f"Times on this page are in this file's own zone, {own} (your household zone, {home.key}, then)."
        return f"Times on this page are in this file's own zone, {own}; your household zone, {home.key}, was {home_then} then."
    return f"Times on this page are in this file's own zone, {own}; your household zone is {home.key}."


def register(state) -> None:
    """Blueprint.record_once hook: the globals detail.html uses."""
    app = state.app
    app.add_template_global(page_zone, "page_zone")
    app.add_template_global(zone_hint, "zone_hint")
    app.add_template_filter(in_page_zone, "in_page_zone")
