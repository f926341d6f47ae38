"""Every video a camcorder or phone makes: AVCHD (.MTS/.M2TS) dated from the stream,
.MOD/.TOD (MPEG-PS) from their .MOI files, .3GP/.AVI/.MKV/.WEBM from their containers;
damaged videos say what is wrong; ffprobe/ffmpeg never read the caller's standard input."""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.media import analyze, avchd, probe, quicktime, videocheck
from tests.conftest import REPO, manifest_rows
from tests.time_helpers import make_clip, needs_ffmpeg

ZONE = ZoneInfo("Europe/Berlin")
MDPM_UUID = "17ee8c60f84d11d98cd60800200c9a66"


def record(path: Path) -> dict:
    return analyze.analyze(path, zone=ZONE).inspect_record()


def mdpm(zone_byte: int, date=(0x20, 0x19, 0x06, 0x15), time=(0x14, 0x30, 0x21), maker=0x0108) -> bytes:
    """An MDPM block as camcorders write it: count, then (tag, 4 bytes) records in BCD."""
    return b"MDPM" + bytes(
        [3, 0x18, zone_byte, date[0], date[1], date[2], 0x19, date[3], *time, 0xE0, maker >> 8, maker & 0xFF, 0x30, 1]
    )


def avchd_clip(path: Path, block: bytes, *, bdav: bool) -> Path:
    """An H.264 transport stream carrying `block` as SEI user data (ffmpeg's h264_metadata)."""
    cmd = [b"ffmpeg", b"-nostdin", b"-hide_banner", b"-loglevel", b"error", b"-y", b"-f", b"lavfi"]
    cmd += [b"-i", b"testsrc=duration=0.4:size=64x48:rate=5", b"-c:v", b"libx264", b"-pix_fmt", b"yuv420p"]
    cmd += [b"-bsf:v", b"h264_metadata=sei_user_data=" + MDPM_UUID.encode() + b"+" + block, b"-f", b"mpegts"]
    if bdav:
        cmd += [b"-mpegts_m2ts_mode", b"1"]
    subprocess.run([*cmd, os.fsencode(path)], check=True, timeout=60, stdin=subprocess.DEVNULL)
    return path


def moi(path: Path, when=(2011, 8, 20, 16, 5, 42_500)) -> Path:
    """A JVC/Panasonic .MOI clip file: "V6", its size, then the recording start."""
    year, month, day, hour, minute, millis = when
    body = b"V6" + struct.pack(">I", 0x80) + struct.pack(">HBBBBH", year, month, day, hour, minute, millis)
    path.write_bytes(body + bytes(0x80 - len(body)))
    return path


# --- AVCHD ---------------------------------------------------------------------------------------


def test_corpus_avchd_clips_get_the_camcorders_date(corpus):
    rows = {r["path"]: r for r in manifest_rows(corpus) if r["path"].endswith(".mts")}
    assert len(rows) == 2
    for rel, row in rows.items():
        r = record(corpus / rel)
        assert r["mime"] == row["MIMEType"] and r["source"] == "video:mdpm", rel
        assert r["timestamp"][:19] == row["DateTimeOriginal"][:19].replace(":", "-", 2).replace(" ", "T"), rel
        assert r["confidence"] == "high"
    # the offset the camcorder wrote is kept; its "+00:00" (zone never set) is not believed
    assert record(corpus / "video/exiftool/M2TS.mts")["timestamp"] == "2008-12-31T23:16:24+01:00"
    assert record(corpus / "video/file-type/fixture-raw.mts")["timestamp"] == "2012-01-26T09:18:35"
    assert avchd.read(corpus / "video/file-type/fixture-raw.mts")["make"] == "Panasonic"


@needs_ffmpeg
def test_bdav_m2ts_with_mdpm_is_dated_from_the_stream(tmp_path):
    clip = avchd_clip(tmp_path / "00001.M2TS", mdpm(0x04), bdav=True)
    assert probe.sniff_file(clip).mime == "video/m2ts" and probe.sniff_file(clip).ext == "m2ts"
    r = record(clip)
    assert (r["timestamp"], r["source"], r["confidence"]) == ("2019-06-15T14:30:21+02:00", "video:mdpm", "high")
    assert (r["width"], r["height"]) == (64, 48)
    assert analyze.analyze(clip, zone=ZONE).meta.get("make") == "Sony"


@needs_ffmpeg
def test_mts_zone_byte_sign_half_hours_and_summer_time(tmp_path):
    cases = {
        0x24: "2019-06-15T14:30:21-02:00",  # sign bit, two hours
        0x0B: "2019-06-15T14:30:21+05:30",  # five hours and the half-hour flag
        0x42: "2019-06-15T14:30:21",  # summer-time flag: the offset is not trusted
    }
    for zone_byte, expected in cases.items():
        clip = avchd_clip(tmp_path / f"{zone_byte:02x}.MTS", mdpm(zone_byte), bdav=False)
        assert probe.sniff_file(clip).ext == "mts"
        assert record(clip)["timestamp"] == expected, hex(zone_byte)


def test_stream_without_mdpm_gives_nothing(tmp_path):
    packets = b"".join(b"\x47\x01\x00\x10" + bytes(184) for _ in range(50))
    (tmp_path / "plain.ts").write_bytes(packets)
    assert avchd.read(tmp_path / "plain.ts") == {}
    assert avchd.parse_mdpm(b"") == {} and avchd.parse_mdpm(b"\x05\x18") == {}


# --- MPEG-PS camcorder clips and every other container -----------------------------------------


@needs_ffmpeg
@pytest.mark.parametrize("ext", ["MOD", "TOD"])
def test_mod_and_tod_are_dated_from_their_moi_file(tmp_path, ext):
    clip = tmp_path / f"MOV001.{ext}"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", "testsrc=duration=0.4:size=64x48:rate=25", "-c:v", "mpeg2video", "-f", "vob", str(clip)],
        check=True,
        timeout=60,
    )
    assert probe.sniff_file(clip).mime == "video/mpeg" and probe.sniff_file(clip).ext == ext.lower()
    without = record(clip)
    assert without["source"] == "mtime"
    moi(tmp_path / "MOV001.MOI")
    r = record(clip)
    assert (r["timestamp"], r["source"], r["confidence"]) == ("2011-08-20T16:05:42", "video:moi", "high")
    assert analyze.analyze(tmp_path / "MOV001.MOI", zone=ZONE).status == "skipped"


@needs_ffmpeg
@pytest.mark.parametrize(
    ("name", "metadata", "codec", "mime", "expected", "source"),
    [
        ("clip.3gp", "creation_time=2019-06-15T12:30:00Z", "libx264", "video/3gpp", "2019-06-15T14:30:00+02:00", "video:creation_time"),
        ("clip.avi", "date=2019-06-15 14:30:00", "mjpeg", "video/x-msvideo", "2019-06-15T14:30:00", "video:creation_time"),
        ("clip.mkv", "creation_time=2019-06-15T12:30:00Z", "libx264", "video/x-matroska", "2019-06-15T14:30:00+02:00", "video:creation_time"),
        ("clip.webm", "creation_time=2019-06-15T12:30:00Z", "libvpx", "video/webm", "2019-06-15T14:30:00+02:00", "video:creation_time"),
    ],
)  # fmt: skip
def test_every_camcorder_and_phone_container_is_dated(tmp_path, name, metadata, codec, mime, expected, source):
    clip = make_clip(tmp_path / name, metadata, codec=codec)
    assert probe.sniff_file(clip).mime == mime
    r = record(clip)
    assert (r["timestamp"], r["source"]) == (expected, source)
    assert (r["width"], r["height"]) == (64, 48) and r["phash"] is not None


# --- damaged videos say what is wrong -------------------------------------------------------------


@pytest.fixture(scope="module")
def faststart(tmp_path_factory) -> Path:
    """An MP4 whose index comes first (as phones write it), long enough to cut."""
    path = tmp_path_factory.mktemp("fast") / "fast.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", "testsrc=duration=3:size=160x120:rate=25", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
        + ["-metadata", "creation_time=2019-06-15T12:30:00Z", "-movflags", "+faststart", str(path)],
        check=True,
        timeout=120,
    )
    return path


def _damaged(tmp_path: Path, name: str, data: bytes) -> analyze.Analysis:
    path = tmp_path / name
    path.write_bytes(data)
    result = analyze.analyze(path, zone=ZONE)
    assert result.status in ("done", "error"), name
    assert not (result.error or "").startswith("Unexpected"), result.error
    return result


@needs_ffmpeg
def test_cut_off_video_says_how_much_is_left_and_keeps_its_date(tmp_path, faststart):
    data = faststart.read_bytes()
    result = _damaged(tmp_path, "cut.mp4", data[: len(data) * 3 // 10])
    assert any("cut off after 29%" in w or "cut off after 30%" in w for w in result.warnings), result.warnings
    assert result.choice.iso() == "2019-06-15T14:30:00+02:00"  # what could be read is kept
    assert quicktime.check(faststart) == []  # the whole file has nothing to report


def _top_box(data: bytes, kind: bytes) -> int:
    pos = 0
    while pos < len(data):
        size, found = struct.unpack_from(">I4s", data, pos)
        if found == kind:
            return pos
        pos += size
    raise AssertionError(kind)


@needs_ffmpeg
def test_every_kind_of_box_damage_gives_a_note(tmp_path, faststart):
    data = faststart.read_bytes()
    moov, mdat = _top_box(data, b"moov"), _top_box(data, b"mdat")
    zero = bytearray(data)
    zero[moov : moov + 4] = bytes(4)  # the index says "I have no size"
    past = bytearray(data)
    past[mdat : mdat + 4] = struct.pack(">I", 10 * len(data))  # the media data claims more than there is
    mvhd = data.find(b"mvhd")
    scale = bytearray(data)
    scale[mvhd + 16 : mvhd + 20] = bytes(4)  # version-0 mvhd: time scale after two times
    trak = data.find(b"trak")
    inner = bytearray(data)
    inner[trak - 4 : trak] = struct.pack(">I", 0x7FFFFF00)  # a track larger than its index
    cases = {
        "zero.mp4": (bytes(zero), "without a size"),
        "past.mp4": (bytes(past), "cut off after 9%"),
        "scale.mp4": (bytes(scale), "time scale of zero"),
        "inner.mp4": (bytes(inner), "index is damaged"),
    }
    for name, (content, expected) in cases.items():
        result = _damaged(tmp_path, name, content)
        assert any(expected in w for w in result.warnings), (name, result.warnings)


def test_a_video_with_almost_nothing_there_says_how_much_is_there():
    from app.media.quicktime import cut_off

    assert cut_off(5_000, 2_000_000_000) == "This video is cut off: only 5.0 KB of its 2.0 GB are there"
    assert cut_off(500, 1_000) == "This video is cut off after 50%: the end of the recording is missing"


def test_hostile_structures_are_refused_with_bounded_work(tmp_path):
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 512, b"isom", b"mp41")
    n = 30_000
    nested = ftyp + b"".join(struct.pack(">I4s", 8 * (n - i), b"trak" if i else b"moov") for i in range(n))
    huge = ftyp + struct.pack(">I4sQ", 1, b"mdat", 1 << 63) + os.urandom(1000)
    many = ftyp + struct.pack(">I4s", 8, b"free") * 20_000
    for name, content, expected in [
        ("nested.mp4", nested, "nested far deeper"),
        ("huge.mp4", huge, "claims 9,223,372,036,854,775,808 bytes"),
        ("many.mp4", many, "more than 10,000 top-level boxes"),
    ]:
        result = _damaged(tmp_path, name, content)
        assert any(expected in w for w in result.warnings), (name, result.warnings)
    assert sys.getrecursionlimit() >= 1000  # nothing above lowered it to survive


def test_avi_and_matroska_full_of_random_bytes_are_not_normal_videos(tmp_path):
    rng = random.Random(12)
    noise = bytes(rng.getrandbits(8) for _ in range(20_000))
    avi = _damaged(tmp_path, "random.avi", b"RIFF" + struct.pack("<I", len(noise) + 4) + b"AVI " + noise)
    assert any("AVI video's header is damaged" in w for w in avi.warnings), avi.warnings
    mkv = _damaged(tmp_path, "random.mkv", b"\x1a\x45\xdf\xa3" + noise)
    assert any("Matroska/WebM video" in w for w in mkv.warnings), mkv.warnings
    ts = b"".join(b"\x47\x01\x00\x10" + bytes(184) for _ in range(20)) + noise
    assert any("packets are unreadable" in w for w in videocheck.problems(_write(tmp_path, "x.mts", ts), "video/mpeg"))


def _write(folder: Path, name: str, data: bytes) -> Path:
    (folder / name).write_bytes(data)
    return folder / name


@needs_ffmpeg
def test_whole_generated_containers_report_nothing(tmp_path):
    for name, codec in (("a.avi", "mjpeg"), ("a.mkv", "libx264"), ("a.webm", "libvpx")):
        clip = make_clip(tmp_path / name, codec=codec)
        assert videocheck.problems(clip, probe.sniff_file(clip).mime) == [], name


# --- standard input belongs to the caller ---------------------------------------------------------


@needs_ffmpeg
def test_inspect_beside_videos_leaves_every_piped_byte_to_the_caller(tmp_path, corpus):
    """`{ flask inspect VIDEOS; cat; } < data`: inspect's ffprobe/ffmpeg must not eat the
    input that the commands after it read (23 of 8,893 bytes were lost before)."""
    videos = [make_clip(tmp_path / f"v{i}.mp4", "creation_time=2019-06-15T12:30:00Z") for i in range(3)]
    videos.append(corpus / "video/exiftool/M2TS.mts")
    data = "".join(f"/some/path/number/{i:05d}.jpg\n" for i in range(400)).encode()
    (tmp_path / "paths.txt").write_bytes(data)
    flask = Path(sys.executable).with_name("flask")
    script = f'{{ "{flask}" --app app inspect {" ".join(map(str, videos))} >/dev/null; cat; }} < paths.txt'
    out = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr.decode()[-500:]
    assert out.stdout == data, f"{len(data) - len(out.stdout)} piped bytes were taken by inspect"
