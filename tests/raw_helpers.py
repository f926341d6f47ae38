"""Fixture makers for raw-photo tests: small but structurally real TIFF-based raw files (a
DNG with a 256-pixel thumbnail, a 1024-pixel JPEG preview and a 5392x3592 sensor
directory; NEF/ARW/PEF/... alike), a Fujifilm RAF, a Sigma X3F and a Minolta MRW, built
byte by byte after the formats' public descriptions. Nothing here is copied from a camera
file; exiftool reads them as it reads real ones (the tests check that)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from PIL import Image

ASCII, SHORT, LONG, BYTE, UNDEFINED = 2, 3, 4, 1, 7


def jpeg(size=(1024, 683), colour=(200, 40, 40), exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", size, colour)
    image.paste((250, 250, 250), (0, 0, size[0] // 2, size[1] // 3))  # something for the hash
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, **({"exif": exif.tobytes()} if exif is not None else {}))
    return out.getvalue()


@dataclass
class Ifd:
    entries: dict[int, tuple[int, object]] = field(default_factory=dict)  # tag -> (type, value)
    blob: dict[int, bytes] = field(default_factory=dict)  # tag -> bytes whose offset the tag holds
    children: dict[int, list[Ifd]] = field(default_factory=dict)  # tag -> directories it points at

    def ascii(self, tag: int, text: str) -> Ifd:
        self.entries[tag] = (ASCII, text.encode() + b"\0")
        return self

    def num(self, tag: int, *values: int, kind: int = LONG) -> Ifd:
        self.entries[tag] = (kind, values)
        return self


def _packed(kind: int, value, endian: str) -> bytes:
    if kind in (ASCII, UNDEFINED, BYTE) and isinstance(value, bytes):
        return value
    fmt = {SHORT: "H", LONG: "I", BYTE: "B"}[kind]
    return struct.pack(f"{endian}{len(value)}{fmt}", *value)


def build_tiff(first: Ifd, *, endian: str = "<", magic: bytes | None = None, head_extra: bytes = b"") -> bytes:
    """A TIFF with `first` as IFD0: every IFD reachable through `children` is written, and
    every `blob` placed and pointed at (with its length in the tag after it, as strips are)."""
    order: list[Ifd] = []

    def visit(ifd: Ifd) -> None:
        order.append(ifd)
        for kids in ifd.children.values():
            for kid in kids:
                visit(kid)

    visit(first)
    blobs = [b for ifd in order for b in ifd.blob.values()]
    header_size = 8 + len(head_extra)
    blob_at, pos = [], header_size
    for b in blobs:
        blob_at.append(pos)
        pos += len(b) + (len(b) & 1)
    ifd_at: dict[int, int] = {}
    for ifd in order:
        ifd_at[id(ifd)] = pos
        tags = set(ifd.entries) | set(ifd.blob) | set(ifd.children)
        extra = sum(len(_packed(k, v, endian)) + 1 for k, v in ifd.entries.values() if len(_packed(k, v, endian)) > 4)
        extra += sum(4 * len(kids) + 1 for kids in ifd.children.values() if len(kids) > 1)
        pos += 2 + 12 * len(tags) + 4 + extra + 8
    out = bytearray(pos)
    magic = magic or (b"II*\x00" if endian == "<" else b"MM\x00*")
    out[0:8] = magic[:4] + struct.pack(f"{endian}I", ifd_at[id(first)])
    out[8:header_size] = head_extra
    i = 0
    for ifd in order:
        for b in ifd.blob.values():
            out[blob_at[i] : blob_at[i] + len(b)] = b
            i += 1
    i = 0
    for ifd in order:
        resolved = dict(ifd.entries)
        for tag in ifd.blob:
            resolved[tag] = (LONG, (blob_at[i],))
            i += 1
        for tag, kids in ifd.children.items():
            resolved[tag] = (LONG, tuple(ifd_at[id(k)] for k in kids))
        _write_ifd(out, ifd_at[id(ifd)], resolved, endian)
    return bytes(out)


def _write_ifd(out: bytearray, at: int, entries: dict, endian: str) -> None:
    tags = sorted(entries)
    struct.pack_into(f"{endian}H", out, at, len(tags))
    data_at = at + 2 + 12 * len(tags) + 4
    for n, tag in enumerate(tags):
        kind, value = entries[tag]
        raw = _packed(kind, value, endian)
        count = len(raw) // {SHORT: 2, LONG: 4}.get(kind, 1)
        pos = at + 2 + 12 * n
        struct.pack_into(f"{endian}HHI", out, pos, tag, kind, count)
        if len(raw) <= 4:
            out[pos + 8 : pos + 8 + len(raw)] = raw
        else:
            struct.pack_into(f"{endian}I", out, pos + 8, data_at)
            out[data_at : data_at + len(raw)] = raw
            data_at += len(raw) + (len(raw) & 1)
    struct.pack_into(f"{endian}I", out, at + 2 + 12 * len(tags), 0)


def exif_ifd(dto: str, offset: str | None = None) -> Ifd:
    ifd = Ifd().ascii(0x9003, dto).ascii(0x9004, dto)
    if offset:
        ifd.ascii(0x9011, offset)
    return ifd


def strip(ifd: Ifd, data: bytes) -> Ifd:
    """Point StripOffsets at `data` and give its length in StripByteCounts."""
    ifd.blob[0x0111] = data
    ifd.num(0x0117, len(data))
    return ifd


def dng(dto="2019:06:15 14:30:00", offset="+02:00", size=(5392, 3592), orientation=1, padding=0) -> bytes:
    """A DNG as cameras and Adobe write them: IFD0 a 256x171 thumbnail, SubIFDs the raw
    sensor image (NewSubFileType 0) and a 1024-pixel JPEG preview."""
    thumb = strip(
        Ifd().num(0x00FE, 1).num(0x0100, 256).num(0x0101, 171).num(0x0103, 7, kind=SHORT).num(0x0106, 6, kind=SHORT),
        jpeg((256, 171)),
    )
    thumb.ascii(0x010F, "Canon").ascii(0x0110, "Canon EOS 5D Mark III").num(0x0112, orientation, kind=SHORT)
    thumb.entries[0xC612] = (BYTE, bytes([1, 4, 0, 0]))
    sensor = strip(
        Ifd()
        .num(0x00FE, 0)
        .num(0x0100, size[0])
        .num(0x0101, size[1])
        .num(0x0103, 1, kind=SHORT)
        .num(0x0106, 32803, kind=SHORT),
        b"\x10\x20" * 32,  # the sensor data, cut short: never decoded at import
    )
    preview = strip(
        Ifd().num(0x00FE, 1).num(0x0100, 1024).num(0x0101, 683).num(0x0103, 7, kind=SHORT).num(0x0106, 6, kind=SHORT),
        jpeg((1024, 683)),
    )
    thumb.children[0x014A] = [sensor, preview]
    thumb.children[0x8769] = [exif_ifd(dto, offset)]
    return build_tiff(thumb, head_extra=bytes(padding))


def tiff_raw(make: str, dto: str = "2021:03:04 10:20:30", size=(6048, 4024)) -> bytes:
    """A NEF/ARW/PEF-style raw: IFD0 a small thumbnail with the maker, a JPEG preview through
    JPEGInterchangeFormat, a SubIFD with the sensor data."""
    first = Ifd().num(0x00FE, 1).num(0x0100, 160).num(0x0101, 120).ascii(0x010F, make).ascii(0x0110, "Model 1")
    preview = Ifd().num(0x00FE, 1)
    preview.blob[0x0201] = jpeg((640, 424))
    preview.num(0x0202, len(preview.blob[0x0201]))
    sensor = strip(
        Ifd().num(0x00FE, 0).num(0x0100, size[0]).num(0x0101, size[1]).num(0x0106, 32803, kind=SHORT), b"\0" * 64
    )
    first.children[0x014A] = [preview, sensor]
    first.children[0x8769] = [exif_ifd(dto)]
    return build_tiff(first)


def raf(dto="2020:08:09 07:06:05", cropped=(6000, 4000)) -> bytes:
    """Fujifilm RAF: a header pointing at a JPEG (which holds the EXIF) and at a RAF
    directory with the cropped sensor size."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "FUJIFILM", "X-T3"
    exif.get_ifd(0x8769)[0x9003] = dto
    preview = jpeg((1920, 1280), exif=exif)
    directory = struct.pack(">I", 1) + struct.pack(">HH", 0x111, 4) + struct.pack(">HH", cropped[1], cropped[0])
    head = bytearray(0x94)
    head[0:28] = b"FUJIFILMCCD-RAW 0201FF383501"
    head[0x1C:0x24] = b"X-T3\0\0\0\0"
    head[0x3C:0x40] = b"0100"
    jpeg_at = len(head)
    dir_at = jpeg_at + len(preview)
    struct.pack_into(">III", head, 0x54, jpeg_at, len(preview), dir_at)
    struct.pack_into(">I", head, 0x60, len(directory))
    return bytes(head) + preview + directory


def x3f(epoch: int = 1262347200, size=(2640, 1760)) -> bytes:
    """Sigma X3F (version 2.3): header with the size, a PROP section with TIME/CAMMANUF/
    CAMMODEL, an IMA2 section with a JPEG preview, and the directory at the end."""
    head = bytearray(104 + 160)
    head[0:4] = b"FOVb"
    struct.pack_into("<I", head, 4, (2 << 16) | 3)
    struct.pack_into("<III", head, 28, size[0], size[1], 0)
    props = [("TIME", str(epoch)), ("CAMMANUF", "SIGMA"), ("CAMMODEL", "SIGMA DP2")]
    chars, pointers = "", []
    for name, value in props:
        pointers.append((len(chars), len(chars) + len(name) + 1))
        chars += f"{name}\0{value}\0"
    prop = b"SECp" + struct.pack("<IIIII", 0x00020000, len(props), 0, 0, len(chars))
    prop += b"".join(struct.pack("<II", a, b) for a, b in pointers) + chars.encode("utf-16-le")
    preview = jpeg((640, 426))
    image = b"SECi" + struct.pack("<IIIIII", 0x00020000, 2, 18, 640, 426, 0) + preview
    prop_at = len(head)
    image_at = prop_at + len(prop)
    dir_at = image_at + len(image)
    directory = b"SECd" + struct.pack("<II", 0x00020000, 2)
    directory += struct.pack("<II", prop_at, len(prop)) + b"PROP" + struct.pack("<II", image_at, len(image)) + b"IMA2"
    return bytes(head) + prop + image + directory + struct.pack("<I", dir_at)


def mrw(dto="2004:05:06 07:08:09", size=(3008, 2000)) -> bytes:
    """Minolta MRW: \\0MRM, a \\0PRD block with the size, a \\0TTW block holding a TIFF."""
    ttw = Ifd().ascii(0x010F, "KONICA MINOLTA").ascii(0x0110, "DYNAX 7D")
    ttw.children[0x8769] = [exif_ifd(dto)]
    tiff = build_tiff(ttw, endian=">")
    prd = b"21810002" + struct.pack(">HHHH", size[1] + 8, size[0] + 8, size[1], size[0])
    blocks = b"\0PRD" + struct.pack(">I", len(prd)) + prd + b"\0TTW" + struct.pack(">I", len(tiff)) + tiff
    return b"\0MRM" + struct.pack(">I", len(blocks)) + blocks + b"\0" * 64
