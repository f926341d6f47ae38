"""Time zone from the GPS position: a camera's wall clock without an offset gets the offset
of the zone it was taken in, at that date (summer time included), and people are told so.
Asserted on generated photos from six continents and on corpus photos from three."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, confidence, geozone, placeholders, timestamps
from app.vocab import Confidence
from tests.time_helpers import make_exif, write_image, write_takeout

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def photo_at(path: Path, dto: str, lat: float, lon: float, **exif_kw) -> Path:
    exif = make_exif(dto, **exif_kw)
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    gps[2] = tuple(float(x) for x in _dms(abs(lat)))
    gps[4] = tuple(float(x) for x in _dms(abs(lon)))
    return write_image(path, exif)


def _dms(value: float) -> tuple[int, int, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round((value - degrees - minutes / 60) * 3600, 2)


PLACES = [
    # (where, lat, lon, wall clock, expected ISO, zone)
    ("New York in summer", 40.7128, -74.0060, "2019:07:04 12:00:00", "2019-07-04T12:00:00-04:00", "America/New_York"),
    ("New York in winter", 40.7128, -74.0060, "2019:01:15 12:00:00", "2019-01-15T12:00:00-05:00", "America/New_York"),
    ("São Paulo", -23.5505, -46.6333, "2023:03:01 09:15:00", "2023-03-01T09:15:00-03:00", "America/Sao_Paulo"),
    ("Tokyo", 35.6762, 139.6503, "2018:04:01 18:30:00", "2018-04-01T18:30:00+09:00", "Asia/Tokyo"),
    ("Kathmandu", 27.7172, 85.3240, "2017:10:10 07:00:00", "2017-10-10T07:00:00+05:45", "Asia/Kathmandu"),
    (
        "Sydney in its summer",
        -33.8688,
        151.2093,
        "2020:01:20 20:00:00",
        "2020-01-20T20:00:00+11:00",
        "Australia/Sydney",
    ),
    ("Nairobi", -1.2921, 36.8219, "2016:08:13 09:47:23", "2016-08-13T09:47:23+03:00", "Africa/Nairobi"),
    ("Reykjavik", 64.1466, -21.9426, "2021:06:21 23:30:00", "2021-06-21T23:30:00+00:00", "Atlantic/Reykjavik"),
]


@pytest.mark.parametrize(("where", "lat", "lon", "wall", "expected", "zone"), PLACES, ids=[p[0] for p in PLACES])
def test_gps_position_gives_the_zone_and_its_offset_that_day(tmp_path, where, lat, lon, wall, expected, zone):
    result = analyze.analyze(photo_at(tmp_path / "p.jpg", wall, lat, lon), zone=BERLIN, now=NOW)
    assert result.choice.iso() == expected
    assert f"taken in {zone}, from the GPS position" in " ".join(result.choice.notes)
    assert result.choice.confidence == Confidence.HIGH  # the camera's own time, now with its zone
    local = datetime.fromisoformat(expected)
    assert result.choice.utc == local.astimezone(UTC)


def test_without_a_position_the_household_zone_is_assumed_and_said(tmp_path):
    result = analyze.analyze(write_image(tmp_path / "p.jpg", make_exif("2019:07:04 12:00:00")), zone=BERLIN, now=NOW)
    assert result.choice.iso() == "2019-07-04T12:00:00" and result.choice.offset is None
    assert not any("GPS position" in n for n in result.choice.notes)


def test_an_offset_the_camera_wrote_wins_over_the_place(tmp_path):
    # Set to home time (+02:00) while in New York: the written offset stays, with a note.
    path = photo_at(tmp_path / "p.jpg", "2019:07:04 18:00:00", 40.7128, -74.0060, offset="+02:00")
    result = analyze.analyze(path, zone=BERLIN, now=NOW)
    assert result.choice.iso() == "2019-07-04T18:00:00+02:00"
    assert any("GPS position is in America/New_York (UTC-04:00 then)" in n for n in result.choice.notes)


def test_an_instant_is_shown_in_the_zone_of_the_place(tmp_path):
    # A Takeout time (an instant) of a photo with a position: shown in Tokyo, not Berlin.
    write_image(tmp_path / "IMG_1.jpg")
    write_takeout(
        tmp_path, "IMG_1.jpg.json", "IMG_1.jpg", taken=int(datetime(2018, 4, 1, 9, 30, tzinfo=UTC).timestamp())
    )
    meta = analyze.read_time_facts(tmp_path / "IMG_1.jpg", "image/jpeg")
    meta["sidecar"].update(lat=35.6762, lon=139.6503)
    _, choice = analyze.redetect_time(meta, {}, "IMG_1.jpg", "", None, BERLIN, NOW)
    assert choice.iso() == "2018-04-01T18:30:00+09:00"
    assert not any("household time zone" in n for n in choice.notes)


def test_positions_that_are_not_a_place_are_ignored():
    assert geozone.position({"gps_lat": 0.0, "gps_lon": 0.0}) is None  # "no fix"
    assert geozone.position({"gps_lat": 91.0, "gps_lon": 10.0}) is None
    assert geozone.position({"sidecar": {"lat": 0.0, "lon": 0.0}}) is None  # Takeout's "no location"
    assert geozone.parse_iso6709("+40.7128-074.0060+010.000/") == (40.7128, -74.006)
    assert geozone.position({}, {"location": "+35.6762+139.6503/"})[:2] == (35.6762, 139.6503)


CORPUS_GPS_ONLY = {
    # photos with a position and a wall clock, no offset and no GPS time: three continents
    "exif/exifpy/Kodak_CX7530.jpg": ("Africa/Nairobi", "+03:00"),
    "exif/exifr/issue-exifr-59.jpg": ("America/Los_Angeles", "-07:00"),
    "exif/immich/datetimeoriginal-gps.jpg": ("America/Denver", "-07:00"),
    "exif/exifr/issue-exifr-13.jpg": ("Europe/Vienna", "+02:00"),
    "exif/exifpy/parser-edge/nikon_D3100_TypeError.jpg": ("Europe/Rome", "+02:00"),
}


def test_corpus_photos_from_three_continents_get_their_zone(corpus):
    from tests.conftest import manifest_rows

    rows = {r["path"]: r for r in manifest_rows(corpus)}
    for rel, (zone, offset) in CORPUS_GPS_ONLY.items():
        row = rows[rel]
        assert not row["OffsetTimeOriginal"] and not row["GPSDateTime"], rel  # the zone can only come from the place
        result = analyze.analyze(corpus / rel, zone=BERLIN)
        assert result.choice.iso() == row["DateTimeOriginal"][:19].replace(":", "-", 2).replace(" ", "T") + offset, rel
        assert any(f"taken in {zone}" in n for n in result.choice.notes), rel
    continents = {zone.split("/")[0] for zone, _ in CORPUS_GPS_ONLY.values()}
    assert len(continents) >= 3


# --- placeholders and the camera's wall clock ------------------------------------------------------


def test_takeout_time_of_midnight_utc_is_not_a_camera_default():
    midnight = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp())
    found = timestamps.sidecar_candidates({"photo_taken": midnight, "created": midnight + 86400 * 30})
    choice = confidence.choose(found, BERLIN, NOW)
    taken = next(c for c in found if c.source == "takeout:photoTakenTime")
    assert taken.rejected is None and choice.source == "takeout:photoTakenTime"
    assert choice.iso() == "2019-01-01T01:00:00+01:00"  # what a camera in Berlin showed


def test_a_camera_default_wall_clock_is_still_rejected():
    found = timestamps.exif_candidates({"datetime_original": "2007:01:01 00:00:00"})
    found = confidence.sanity_check(found, NOW, BERLIN)
    assert "default" in found[0].rejected
    # ... and a Takeout instant that a camera in Berlin showed as midnight on 1 January
    instant = timestamps.Candidate(
        "takeout:photoTakenTime", datetime(2006, 12, 31, 23, 0, tzinfo=UTC), "second", zone="utc"
    )
    [instant] = confidence.sanity_check([instant], NOW, BERLIN)
    assert "default" in instant.rejected


def test_gps_without_a_fix_is_a_placeholder_not_a_disagreement(corpus):
    result = analyze.analyze(corpus / "companions/androidx-media/ss-motion-photo-shortened.jpg", zone=BERLIN)
    gps = next(c for c in result.candidates if c.source == "gps")
    assert gps.rejected.startswith("a placeholder: GPS time 1970-01-01 00:00:00 UTC")
    assert result.choice.confidence == Confidence.HIGH and result.choice.source == "exif:DateTimeOriginal"
    zero = timestamps.Candidate("video:creation_time", datetime(1904, 1, 1, tzinfo=UTC), "second", zone="utc")
    assert "zero of a clock" in placeholders.placeholder_instant(zero)


def test_the_zone_lookup_is_offline_and_exact_on_reference_cities():
    # The principal cities of zones, as the tz database lists them (zone1970.tab).
    for lat, lon, zone in [(51.5074, -0.1278, "Europe/London"), (-33.9249, 18.4241, "Africa/Johannesburg"),
                           (19.4326, -99.1332, "America/Mexico_City"), (1.3521, 103.8198, "Asia/Singapore"),
                           (43.8041, 87.6005, "Asia/Urumqi"), (-27.1127, -109.3497, "Pacific/Easter")]:  # fmt: skip
        assert geozone.zone_at(lat, lon) == zone
    assert geozone.zone_at(0.0, -30.0).startswith("Etc/")  # out at sea: a nautical zone
