"""JPEG structure: the metadata segments in front of the picture, and the picture itself.

A JPEG is SOI, a run of marker segments (APPn metadata, quantization and Huffman tables,
the frame header), then SOS and the entropy-coded scan data up to EOI (and sometimes a
trailer: a second MPO frame, a maker's appendix). Metadata lives only in the APPn and COM
segments, so an export may rewrite those and must leave everything else byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

SOI = b"\xff\xd8"
EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
MAX_PAYLOAD = 0xFFFF - 2  # a segment's length field counts itself

APP0, APP1, APP13, SOS, EOI, COM = 0xE0, 0xE1, 0xED, 0xDA, 0xD9, 0xFE


class JpegError(ValueError):
    """The bytes are not a JPEG whose metadata can be rewritten safely."""


@dataclass(frozen=True)
class Segment:
    marker: int
    start: int  # offset of the 0xFF of the marker
    end: int  # offset just past the segment
    payload: bytes

    @property
    def is_metadata(self) -> bool:
        return 0xE0 <= self.marker <= 0xEF or self.marker == COM

    @property
    def kind(self) -> str | None:
        """'exif', 'xmp', 'photoshop' for the segments an export rewrites; None otherwise."""
        if self.marker == APP1 and self.payload.startswith(EXIF_HEADER):
            return "exif"
        if self.marker == APP1 and self.payload.startswith(XMP_HEADER):
            return "xmp"
        if self.marker == APP1 and any(m in self.payload[:64] for m in (b"ns.adobe.com/xap/1.0", b"<x:xmpmeta")):
            return "xmp-nonstandard"  # readers still find it: it counts as a second packet
        if self.marker == APP13 and self.payload.startswith(PHOTOSHOP_HEADER):
            return "photoshop"
        return None


def parse(data: bytes) -> tuple[list[Segment], int]:
    """The segments before the first scan, and the offset of its SOS marker."""
    if not data.startswith(SOI):
        raise JpegError("not a JPEG (no start-of-image marker)")
    segments: list[Segment] = []
    pos = 2
    size = len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise JpegError(f"broken JPEG structure at byte {pos}")
        while pos + 1 < size and data[pos + 1] == 0xFF:  # fill bytes are allowed before a marker
            pos += 1
        if pos + 1 >= size:
            raise JpegError("the JPEG ends before its image data")
        marker = data[pos + 1]
        if marker == SOS:
            return segments, pos
        if marker == EOI or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            raise JpegError(f"unexpected marker 0xFF{marker:02X} before the image data")
        if pos + 4 > size:
            raise JpegError("the JPEG ends inside a segment header")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            raise JpegError(f"segment 0xFF{marker:02X} at byte {pos} runs past the end of the file")
        segments.append(Segment(marker, pos, end, data[pos + 4 : end]))
        pos = end


def metadata_end(data: bytes) -> int:
    """Where the metadata segments of a JPEG end (its first scan starts); the whole length
    when the structure is damaged, so a search for metadata then looks everywhere."""
    try:
        return parse(data)[1]
    except JpegError:
        return len(data)


def image_data(data: bytes) -> bytes:
    """Everything that defines the picture: the non-metadata segments (tables, frame
    header) and all bytes from the first SOS to the end of the file (scans, EOI and any
    trailer). Two files with equal image_data decode to identical pixels."""
    segments, sos = parse(data)
    return b"".join(data[s.start : s.end] for s in segments if not s.is_metadata) + data[sos:]


def payloads(data: bytes, kind: str) -> list[bytes]:
    segments, _ = parse(data)
    return [s.payload for s in segments if s.kind == kind]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise JpegError(f"metadata segment too large for a JPEG ({len(payload)} bytes)")
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def replace_metadata(data: bytes, *, exif: bytes | None = None, xmp: bytes | None = None, photoshop=None) -> bytes:
    """The JPEG with its Exif, XMP and Photoshop (IPTC) segments replaced by the payloads
    given (each including its header); None leaves that segment as it is. A segment that
    does not exist yet is added where readers look for it: Exif first (after a JFIF APP0),
    then XMP, then Photoshop. Everything else is kept byte for byte, in order."""
    segments, sos = parse(data)
    wanted = {"exif": exif, "xmp": xmp, "photoshop": photoshop}
    for kind in wanted:
        if sum(1 for s in segments if s.kind == kind) > 1 and wanted[kind] is not None:
            raise JpegError(f"the JPEG has several {kind} segments; not rewritten")
    markers = {"exif": APP1, "xmp": APP1, "photoshop": APP13}
    # (kind, bytes) in file order, existing segments replaced where asked
    pieces: list[tuple[str | None, bytes]] = []
    for seg in segments:
        if seg.kind in wanted and wanted[seg.kind] is not None:
            pieces.append((seg.kind, _segment(seg.marker, wanted[seg.kind])))
        else:
            pieces.append((seg.kind, data[seg.start : seg.end]))
    for kind in ("exif", "xmp", "photoshop"):
        if wanted[kind] is None or any(k == kind for k, _ in pieces):
            continue
        # after the segments that belong before it: JFIF APP0, then Exif, then XMP
        before = {"exif": (), "xmp": ("exif",), "photoshop": ("exif", "xmp")}[kind]
        at = 1 if pieces and segments and segments[0].marker == APP0 else 0
        for index, (k, _) in enumerate(pieces):
            if k in before:
                at = max(at, index + 1)
        pieces.insert(at, (kind, _segment(markers[kind], wanted[kind])))
    out = [SOI] + [raw for _, raw in pieces]
    out.append(data[sos:])
    return b"".join(out)
