"""What people type into the date boxes (app/media/humantime.py): every accepted form keeps
exactly the precision given, impossible or ambiguous dates are refused with a sentence
that says what to write instead, "today" is the household zone's today, and month names
work in English and German."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.media.humantime import HINT, parse_human_time
from app.vocab import Precision
from app.wording import MONTH_WORDS

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"


def parse(text: str, zone=BERLIN, now=NOW):
    return parse_human_time(text, zone, now)


def refused(text: str, zone=BERLIN, now=NOW) -> str:
    with pytest.raises(ValueError) as info:
        parse_human_time(text, zone, now)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        # year first, with any separator; EXIF style too
        ("2019-06-15 14:30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("2019-06-15 14:30:05", datetime(2019, 6, 15, 14, 30, 5), Precision.SECOND),
        ("2019-06-15T14:30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("2019-06-15, 14:30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("2019-06-15 14h30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("2019/06/15", datetime(2019, 6, 15), Precision.DAY),
        ("2019.6.5", datetime(2019, 6, 5), Precision.DAY),
        ("2019:06:15 14:30:00", datetime(2019, 6, 15, 14, 30), Precision.SECOND),
        # day first with dots, as in Germany
        ("15.06.2019", datetime(2019, 6, 15), Precision.DAY),
        ("15. 6. 2019", datetime(2019, 6, 15), Precision.DAY),
        ("15.06.2019 14.30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("15.06.2019 um 14:30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        # slashes: the reading in which a number can be a month
        ("15/06/2019", datetime(2019, 6, 15), Precision.DAY),
        ("06/15/2019", datetime(2019, 6, 15), Precision.DAY),
        ("05/05/2019", datetime(2019, 5, 5), Precision.DAY),
        ("06/15/2019 2:30 pm", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        # month names, day first or month first
        ("15 June 2019", datetime(2019, 6, 15), Precision.DAY),
        ("15th June 2019", datetime(2019, 6, 15), Precision.DAY),
        ("1st Jan 2019", datetime(2019, 1, 1), Precision.DAY),
        ("15. Juni 2019", datetime(2019, 6, 15), Precision.DAY),
        ("15 Jun. 2019 14:30", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("15 June 2019 at 14:30:05", datetime(2019, 6, 15, 14, 30, 5), Precision.SECOND),
        ("15 June 2019 2pm", datetime(2019, 6, 15, 14, 0), Precision.MINUTE),
        ("15 June 2019 12 a.m.", datetime(2019, 6, 15, 0, 0), Precision.MINUTE),
        ("15 June 2019 12:30 pm", datetime(2019, 6, 15, 12, 30), Precision.MINUTE),
        ("June 15, 2019", datetime(2019, 6, 15), Precision.DAY),
        ("June 15th, 2019 2:30 pm", datetime(2019, 6, 15, 14, 30), Precision.MINUTE),
        ("Sept 3 2019", datetime(2019, 9, 3), Precision.DAY),
        # a month
        ("June 2019", datetime(2019, 6, 1), Precision.MONTH),
        ("Juni 2019", datetime(2019, 6, 1), Precision.MONTH),
        ("Dec. 2019", datetime(2019, 12, 1), Precision.MONTH),
        ("March, 2019", datetime(2019, 3, 1), Precision.MONTH),
        ("2019-06", datetime(2019, 6, 1), Precision.MONTH),
        ("06/2019", datetime(2019, 6, 1), Precision.MONTH),
        ("6.2019", datetime(2019, 6, 1), Precision.MONTH),
        # a year
        ("2019", datetime(2019, 1, 1), Precision.YEAR),
        ("1826", datetime(1826, 1, 1), Precision.YEAR),
        # relative to the household's today (NOW is 25 November 2026, 13:00 in Berlin)
        ("today", datetime(2026, 11, 25), Precision.DAY),
        ("Today 9:15", datetime(2026, 11, 25, 9, 15), Precision.MINUTE),
        ("heute 9:15", datetime(2026, 11, 25, 9, 15), Precision.MINUTE),
        ("yesterday", datetime(2026, 11, 24), Precision.DAY),
        ("gestern 18:00", datetime(2026, 11, 24, 18, 0), Precision.MINUTE),
        # spaces and case do not matter
        ("  15   JUNE  2019 ", datetime(2019, 6, 15), Precision.DAY),
    ],
)
def test_accepted_forms_keep_the_precision_given(text, value, precision):
    assert parse(text) == (value, precision)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Please type a date. " + HINT),
        ("   ", "Please type a date. " + HINT),
        ("someday", "Could not read 'someday' as a date. " + HINT),
        ("14:30", "Could not read '14:30' as a date. " + HINT),
        ("32/13/2019", "'32/13/2019' is not a date: neither 32 nor 13 is a month (1 to 12). " + HINT),
        ("15/13/2019", "'15/13/2019' is not a date: neither 15 nor 13 is a month (1 to 12). " + HINT),
        ("13/13/2019", "'13/13/2019': there is no month 13."),
        ("2019-13-01", "'2019-13-01': there is no month 13."),
        ("00/2019", "'00/2019': there is no month 0."),
        ("31.02.2019", "'31.02.2019': February 2019 has no day 31."),
        ("29.02.2019", "'29.02.2019': February 2019 has no day 29."),
        ("30/02/2019", "'30/02/2019': February 2019 has no day 30."),
        ("0/5/2019", "'0/5/2019': May 2019 has no day 0."),
        ("31 April 2019", "'31 April 2019': April 2019 has no day 31."),
        ("2019-06-15 25:00", "'2019-06-15 25:00': 25:00 is not a time of day."),
        ("2019-06-15 14:60", "'2019-06-15 14:60': 14:60 is not a time of day."),
        ("2019-06-15 14:30:61", "'2019-06-15 14:30:61': 14:30 is not a time of day."),
        ("2019-06-15 14", "'2019-06-15 14': write the time with minutes, like 14:30."),
        ("2019-06-15 13 pm", "'2019-06-15 13 pm': 13 is not an hour on a 12-hour clock."),
        (
            "2019-06-15T14:30:00Z",
            "'2019-06-15T14:30:00Z': leave out the time zone here; the zone is chosen separately.",
        ),
        (
            "2019-06-15 14:30 +0200",
            "'2019-06-15 14:30 +0200': leave out the time zone here; the zone is chosen separately.",
        ),
        ("2019-06-15 14:30utc", "'2019-06-15 14:30utc': leave out the time zone here; the zone is chosen separately."),
        ("2099", "'2099' is in the future."),
        ("28 November 2026", "'28 November 2026' is in the future."),
        ("1820", "'1820' is before photography existed."),
        ("0000", "'0000' is before photography existed."),
    ],
)
def test_refused_with_a_sentence_that_says_why(text, message):
    assert refused(text) == message


def test_an_ambiguous_slash_date_is_refused_not_guessed():
    message = refused("05/06/2019")
    assert message == ("'05/06/2019' could mean 5 June or 6 May: please write it as 2019-06-05 or 5 June 2019.")
    # both ways it suggests are read as the day-first meaning
    assert parse("2019-06-05") == parse("5 June 2019") == (datetime(2019, 6, 5), Precision.DAY)


def test_the_examples_the_date_boxes_show_are_all_accepted():
    """The pages suggest forms (placeholders, the hint under the box, the error hint): each
    of them must be one this reader accepts."""
    pages = (TEMPLATES / "detail.html").read_text() + (TEMPLATES / "_bulkbar.html").read_text()
    examples = set(re.findall(r"“([^”]+)”", re.search(r"Any way you like:([^<]*)", pages)[1]))
    for placeholder in re.findall(r'id="(?:set-text|taken-text|bulk-set-text)"[^>]*placeholder="([^"]+)"', pages):
        examples |= {part.strip() for part in re.split(r",? or |, ", placeholder)}
    examples |= {part.strip(" .") for part in re.split(r", | or ", HINT.removeprefix("Try for example "))}
    assert {"15 June 2019 14:30", "2019-06-15 14:30", "June 2019", "2019", "2019-06", "15.06.2019"} <= examples
    for text in examples:
        parse(text)  # raises when a suggested form is refused


@pytest.mark.parametrize("word", sorted(MONTH_WORDS))
def test_month_names_in_english_and_german(word):
    month = MONTH_WORDS[word]
    assert parse(f"15 {word} 2019") == (datetime(2019, month, 15), Precision.DAY)
    assert parse(f"{word.title()} 2019") == (datetime(2019, month, 1), Precision.MONTH)
    assert parse(f"{word.upper()} 15, 2019") == (datetime(2019, month, 15), Precision.DAY)


def test_today_is_the_household_zones_today():
    # 23:30 UTC on 15 June: already 16 June in Berlin (+02:00), still 15 June in New York.
    late = datetime(2019, 6, 15, 23, 30, tzinfo=UTC)
    assert parse("today", BERLIN, late) == (datetime(2019, 6, 16), Precision.DAY)
    assert parse("today", "America/New_York", late) == (datetime(2019, 6, 15), Precision.DAY)
    assert parse("yesterday", ZoneInfo("Pacific/Auckland"), late) == (
        datetime(2019, 6, 15),
        Precision.DAY,
    )  # 11:30 on the 16th there


def test_today_follows_daylight_saving_time():
    # 00:30 UTC on the last Sunday of March: 01:30 CET in Berlin, the same day; at 23:30 UTC
    # the evening before, Berlin (still +01:00) is at 00:30 on the Sunday too.
    assert parse("today", BERLIN, datetime(2019, 3, 31, 0, 30, tzinfo=UTC))[0] == datetime(2019, 3, 31)
    assert parse("today", BERLIN, datetime(2019, 3, 30, 23, 30, tzinfo=UTC))[0] == datetime(2019, 3, 31)
    # 22:30 UTC on 26 October: 00:30 on the 27th in summer time (+02:00)...
    assert parse("today", BERLIN, datetime(2019, 10, 26, 22, 30, tzinfo=UTC))[0] == datetime(2019, 10, 27)
    # ...but 22:30 UTC on 27 October is 23:30 on the 27th: winter time (+01:00) began that night
    assert parse("today", BERLIN, datetime(2019, 10, 27, 22, 30, tzinfo=UTC))[0] == datetime(2019, 10, 27)


def test_wall_clocks_that_daylight_saving_skips_or_repeats_are_kept_as_typed():
    # 02:30 did not happen in Berlin on 31 March 2019 and happened twice on 27 October: a
    # person's wall clock is kept; which instant it is gets decided with the zone, later.
    assert parse("31.03.2019 02:30") == (datetime(2019, 3, 31, 2, 30), Precision.MINUTE)
    assert parse("27.10.2019 02:30") == (datetime(2019, 10, 27, 2, 30), Precision.MINUTE)


def test_the_future_is_judged_in_the_household_zone():
    # 23:30 UTC on 15 June: Berlin is at 01:30 on the 16th, New York at 19:30 on the 15th.
    late = datetime(2019, 6, 15, 23, 30, tzinfo=UTC)
    assert parse("17.06.2019 01:00", BERLIN, late) == (datetime(2019, 6, 17, 1, 0), Precision.MINUTE)
    assert refused("17.06.2019 01:00", "America/New_York", late) == "'17.06.2019 01:00' is in the future."


def test_without_now_it_reads_the_clock():
    assert parse_human_time("2019", "Europe/Berlin") == (datetime(2019, 1, 1), Precision.YEAR)
