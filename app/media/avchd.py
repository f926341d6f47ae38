"""The recording time of an AVCHD clip (.MTS/.M2TS from Sony, Panasonic, Canon and JVC
camcorders and cameras), read from the video stream itself.

AVCHD keeps no date in its container. The camcorder writes it into the H.264 stream: an SEI
"user data unregistered" message with the UUID 17ee8c60-f84d-11d9-8cd6-0800200c9a66 and the
tag "MDPM" (modified digital video pack metadata) carries numbered 4-byte records; 0x18 and
0x19 hold the date and time in BCD, with a time-zone byte in front, and 0xE0 the maker code.
ExifTool reads it as DateTimeOriginal; ffprobe does not expose it.

The reader takes the first few megabytes (the first frame has it), splits the transport
stream into its packets (188 bytes, or 192 in BDAV files), joins each stream's payloads and
looks for the UUID there: no H.264 decoding. A file without it gives {}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCAN_BYTES = 4 * 1024 * 1024
MDPM = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66") + b"MDPM"
MAKERS = {0x0103: "Panasonic", 0x0108: "Sony", 0x1011: "Canon", 0x1104: "JVC"}
MAX_STREAM_BYTES = 2 * 1024 * 1024


def _packet_size(data: bytes) -> tuple[int, int] | None:
    """(packet size, offset of the sync byte in a packet): 188/0 or BDAV's 192/4."""
    for size, sync in ((188, 0), (192, 4)):
        if len(data) > size * 2 + sync and all(data[sync + size * i] == 0x47 for i in range(3)):
            return size, sync
    return None


def _payloads(data: bytes) -> dict[int, bytearray]:
    """Each stream's (PID's) payload bytes, in order, from the transport-stream packets."""
    layout = _packet_size(data)
    if layout is None:
        return {}
    size, sync = layout
    streams: dict[int, bytearray] = {}
    for start in range(sync, len(data) - 187, size):
        packet = data[start : start + 188]
        if packet[0] != 0x47:
            continue  # lost sync (damaged packet): skip it
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x3
        if pid == 0x1FFF or not control & 0x1:
            continue  # null packet, or adaptation field only
        at = 4 + (1 + packet[4] if control & 0x2 else 0)
        buf = streams.setdefault(pid, bytearray())
        if len(buf) < MAX_STREAM_BYTES and at < 188:
            buf += packet[at:]
    return streams


def _bcd(byte: int) -> int:
    return (byte >> 4) * 10 + (byte & 0x0F)


def parse_mdpm(record: bytes) -> dict[str, Any]:
    """The records after the UUID+"MDPM": a count, then 5-byte (tag, 4 data bytes) records."""
    body = record.replace(b"\x00\x00\x03", b"\x00\x00")  # undo H.264 emulation prevention
    if not body:
        return {}
    entries = {}
    for i in range(min(body[0], 64)):
        chunk = body[1 + 5 * i : 6 + 5 * i]
        if len(chunk) < 5:
            break
        entries.setdefault(chunk[0], chunk[1:])
    found: dict[str, Any] = {}
    date, time = entries.get(0x18), entries.get(0x19)
    if date and time:
        zone, century, year, month = date
        day, hour, minute, second = time
        text = (
            f"{_bcd(century):02d}{_bcd(year):02d}:{_bcd(month):02d}:{_bcd(day):02d} "
            f"{_bcd(hour):02d}:{_bcd(minute):02d}:{_bcd(second):02d}"
        )
        if zone & 0x40:
            # Summer time flagged: whether the offset already includes it is not known, so
            # the wall clock is kept without an offset rather than risk an hour's error.
            found["recorded_note"] = "the camcorder marked summer time; its time zone is not used"
        else:
            sign = "-" if zone & 0x20 else "+"
            text += f"{sign}{(zone >> 1) & 0x0F:02d}:{'30' if zone & 0x01 else '00'}"
        found["recorded"] = text
    maker = entries.get(0xE0)
    if maker and int.from_bytes(maker[:2], "big") in MAKERS:
        found["make"] = MAKERS[int.from_bytes(maker[:2], "big")]
    return found


def read(path: str | Path) -> dict[str, Any]:
    """{recorded: "2008:12:31 23:16:24+01:00", make: "Sony"} as far as found; {} otherwise."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(SCAN_BYTES)
    except OSError:
        return {}
    for payload in _payloads(data).values():
        at = payload.find(MDPM)
        if at >= 0:
            found = parse_mdpm(bytes(payload[at + len(MDPM) : at + len(MDPM) + 512]))
            if found.get("recorded"):
                return found
    return {}
