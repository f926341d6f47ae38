"""The export speaks the shared vocabulary (app/vocab.py) and wording (app/wording.py):
which copy of identical bytes speaks for them, what an exported copy may say about its
time, and how sizes are written."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from app.media import naming
from app.media.metadata_writer import Stamp
from app.pipeline import export_plan
from app.vocab import Confidence, FileStatus, Precision


def row(id_, confidence, decided=False, status=FileStatus.DONE):
    return SimpleNamespace(id=id_, confidence=confidence, time_decided=decided, status=status)


def test_the_copy_that_speaks_is_decided_then_most_confident_then_the_original():
    rows = [
        row(1, None),
        row(2, "bogus"),  # unknown text counts as no confidence
        row(3, Confidence.LOW),
        row(4, Confidence.HIGH, status=FileStatus.DUPLICATE),
        row(5, Confidence.MEDIUM),
        row(6, Confidence.HIGH),
        row(7, Confidence.NONE, decided=True),
    ]
    ordered = [r.id for r in sorted(rows, key=export_plan._representative_key)]
    assert ordered == [7, 6, 4, 5, 3, 1, 2]


@pytest.mark.parametrize(
    ("precision", "exact", "exif", "xmp"),
    [
        (None, True, "2019:06:15 14:30:05", "2019-06-15T14:30:05.12+02:00"),
        (Precision.SECOND, True, "2019:06:15 14:30:05", "2019-06-15T14:30:05.12+02:00"),
        (Precision.MINUTE, True, "2019:06:15 14:30:00", "2019-06-15T14:30+02:00"),
        (Precision.DAY, False, None, "2019-06-15"),
        (Precision.MONTH, False, None, "2019-06"),
        (Precision.YEAR, False, None, "2019"),
    ],
)
def test_a_stamp_says_exactly_what_its_precision_knows(precision, exact, exif, xmp):
    stamp = Stamp(datetime(2019, 6, 15, 14, 30, 5, 120000), 120, precision)
    assert stamp.exact is exact
    assert stamp.exif_datetime() == exif
    assert stamp.xmp_date() == xmp
    assert stamp.exif_offset() == ("+02:00" if exact else None)


@pytest.mark.parametrize(
    ("precision", "name"),
    [
        (None, "2019/20190615_143005"),
        (Precision.SECOND, "2019/20190615_143005"),
        (Precision.MINUTE, "2019/20190615_1430"),
        (Precision.DAY, "2019/20190615_IMG_1"),
        (Precision.MONTH, "2019/201906_IMG_1"),
        (Precision.YEAR, "2019/2019_IMG_1"),
    ],
)
def test_archive_names_follow_the_precision(precision, name):
    request = naming.NameRequest(1, "jpg", datetime(2019, 6, 15, 14, 30, 5, 120000), precision, "IMG_1.jpg", "a")
    assert "/".join(naming.base_name(request)) == name


def test_sizes_are_written_by_the_one_wording_helper():
    from app.cli import export as cli_export
    from app.web import export as web_export
    from app.wording import size_text

    assert not hasattr(export_plan, "size_text")
    assert cli_export.size_text is size_text and web_export.size_text is size_text
    assert size_text(1_234_567) == "1.2 MB"
