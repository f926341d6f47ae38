"""IPTC keywords (IIM record 2:25) in a JPEG's Photoshop APP13 segment, for older software
that reads keywords there rather than in XMP dc:subject.

Add-only: existing datasets and Photoshop resources are kept as they are; keywords already
there are not repeated. A keyword is written where it fits the standard: at most 64 bytes,
and non-ASCII text only when the record declares (or can declare) UTF-8. Anything else is
left to XMP, which has no such limits.
"""

from __future__ import annotations

import hashlib

from .jpeg import PHOTOSHOP_HEADER

IPTC_RESOURCE = 0x0404
DIGEST_RESOURCE = 0x0425  # MD5 of the IPTC block; must match it or readers distrust the IPTC
UTF8 = b"\x1b%G"  # ISO 2022 escape for UTF-8 (dataset 1:90)
MAX_KEYWORD = 64


class IptcError(ValueError):
    """A Photoshop/IPTC block this writer does not understand: left alone."""


def _resources(payload: bytes) -> list[tuple[int, bytes, bytes]]:
    pos, out = len(PHOTOSHOP_HEADER), []
    while pos < len(payload):
        if payload[pos : pos + 4] != b"8BIM":
            if payload[pos:].strip(b"\x00") == b"":
                break  # padding
            raise IptcError("unknown Photoshop resource signature")
        rid = int.from_bytes(payload[pos + 4 : pos + 6], "big")
        pos += 6
        name_len = payload[pos]
        name = payload[pos : pos + 1 + name_len]
        pos += 1 + name_len + ((1 + name_len) % 2)
        size = int.from_bytes(payload[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(payload):
            raise IptcError("a Photoshop resource runs past the end of the segment")
        out.append((rid, name, payload[pos : pos + size]))
        pos += size + (size % 2)
    return out


def _build_resources(resources: list[tuple[int, bytes, bytes]]) -> bytes:
    out = [PHOTOSHOP_HEADER]
    for rid, name, data in resources:
        name = name or b"\x00"
        out += [b"8BIM", rid.to_bytes(2, "big"), name, b"\x00" if len(name) % 2 else b""]
        out += [len(data).to_bytes(4, "big"), data, b"\x00" if len(data) % 2 else b""]
    return b"".join(out)


def _datasets(iim: bytes) -> list[tuple[int, int, bytes]]:
    pos, out = 0, []
    while pos + 5 <= len(iim) and iim[pos] == 0x1C:
        length = int.from_bytes(iim[pos + 3 : pos + 5], "big")
        if length & 0x8000:
            raise IptcError("extended IPTC datasets are not supported")
        out.append((iim[pos + 1], iim[pos + 2], iim[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    if iim[pos:].strip(b"\x00"):
        raise IptcError("damaged IPTC data")
    return out


def _build_datasets(datasets: list[tuple[int, int, bytes]]) -> bytes:
    return b"".join(b"\x1c" + bytes((r, d)) + len(v).to_bytes(2, "big") + v for r, d, v in datasets)


def keywords(payload: bytes) -> list[str]:
    for rid, _name, data in _resources(payload):
        if rid == IPTC_RESOURCE:
            sets = _datasets(data)
            utf8 = any(r == 1 and d == 90 and v == UTF8 for r, d, v in sets)
            return [v.decode("utf-8" if utf8 else "latin-1") for r, d, v in sets if (r, d) == (2, 25)]
    return []


def add_keywords(payload: bytes | None, tags: list[str] | tuple[str, ...]) -> bytes | None:
    """The APP13 payload with `tags` added as keywords; None when nothing needs writing."""
    resources = _resources(payload) if payload else []
    index = next((i for i, r in enumerate(resources) if r[0] == IPTC_RESOURCE), None)
    sets = _datasets(resources[index][2]) if index is not None else []
    declared = next((v for r, d, v in sets if (r, d) == (1, 90)), None)
    utf8 = declared == UTF8 or (declared is None and not sets)
    existing = {v for r, d, v in sets if (r, d) == (2, 25)}
    new = []
    for tag in tags:
        raw = tag.encode("utf-8")
        if len(raw) > MAX_KEYWORD or (not utf8 and not tag.isascii()) or raw in existing:
            continue
        existing.add(raw)
        new.append((2, 25, raw))
    if not new:
        return None
    if not sets:
        sets = [(1, 90, UTF8), (2, 0, b"\x00\x04")]
    last = max((i for i, (r, _d, _v) in enumerate(sets) if r <= 2), default=len(sets) - 1)
    sets = sets[: last + 1] + new + sets[last + 1 :]
    iim = _build_datasets(sets)
    if index is None:
        resources.append((IPTC_RESOURCE, b"\x00", iim))
    else:
        resources[index] = (IPTC_RESOURCE, resources[index][1], iim)
    resources = [(rid, n, hashlib.md5(iim).digest() if rid == DIGEST_RESOURCE else d) for rid, n, d in resources]
    return _build_resources(resources)
