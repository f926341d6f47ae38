"""The real type of a file, from its leading bytes — never from its extension.

The extension is only a tie-breaker where the content cannot tell: among one maker's raw
flavours that share a layout (Nikon NEF and NRW, Sony ARW, SRF and SR2, Kodak KDC and DCR),
and to keep a camcorder's own name for its stream (.MTS/.M2TS, .MOD/.TOD)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 64 * 1024  # signatures need 197 bytes (M2TS); a raw file's maker and layout need its first IFDs


@dataclass(frozen=True)
class MediaType:
    mime: str
    kind: str  # "image" | "video" | "sidecar" (edit or metadata files that belong to a picture)
    ext: str  # canonical lower-case extension, without the dot

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    @property
    def is_raw(self) -> bool:
        return self.ext in RAW


def _raw(ext: str, mime: str) -> MediaType:
    return MediaType(mime, "image", ext)


# Camera raw formats, with ExifTool's MIME types.
RAW = {
    t.ext: t
    for t in (
        _raw("cr2", "image/x-canon-cr2"),
        _raw("cr3", "image/x-canon-cr3"),
        _raw("crw", "image/x-canon-crw"),
        _raw("nef", "image/x-nikon-nef"),
        _raw("nrw", "image/x-nikon-nrw"),
        _raw("arw", "image/x-sony-arw"),
        _raw("srf", "image/x-sony-srf"),
        _raw("sr2", "image/x-sony-sr2"),
        _raw("orf", "image/x-olympus-orf"),
        _raw("rw2", "image/x-panasonic-rw2"),
        _raw("raf", "image/x-fujifilm-raf"),
        _raw("pef", "image/x-pentax-pef"),
        _raw("srw", "image/x-samsung-srw"),
        _raw("dng", "image/x-adobe-dng"),
        _raw("mrw", "image/x-minolta-mrw"),
        _raw("x3f", "image/x-sigma-x3f"),
        _raw("3fr", "image/x-hasselblad-3fr"),
        _raw("iiq", "image/x-raw"),
        _raw("erf", "image/x-epson-erf"),
        _raw("kdc", "image/x-kodak-kdc"),
        _raw("dcr", "image/x-kodak-dcr"),
    )
}
RAW_MIMES = frozenset(t.mime for t in RAW.values())
# TIFF-based raws: the maker (IFD0 Make) names the family; its first extension is the default.
_TIFF_RAW_FAMILIES = (
    (("NIKON",), ("nef", "nrw")),
    (("SONY",), ("arw", "srf", "sr2")),
    (("PENTAX", "RICOH IMAGING", "ASAHI"), ("pef",)),
    (("SAMSUNG",), ("srw",)),
    (("HASSELBLAD",), ("3fr",)),
    (("PHASE ONE", "LEAF"), ("iiq",)),
    (("SEIKO EPSON", "EPSON"), ("erf",)),
    (("EASTMAN KODAK", "KODAK"), ("kdc", "dcr")),
    (("CANON",), ("cr2",)),
    (("OLYMPUS", "OM DIGITAL"), ("orf",)),
    (("PANASONIC", "LEICA"), ("rw2",)),
)


JPEG = MediaType("image/jpeg", "image", "jpg")
PNG = MediaType("image/png", "image", "png")
GIF = MediaType("image/gif", "image", "gif")
WEBP = MediaType("image/webp", "image", "webp")
TIFF = MediaType("image/tiff", "image", "tif")
BMP = MediaType("image/bmp", "image", "bmp")
HEIC = MediaType("image/heic", "image", "heic")
HEIF = MediaType("image/heif", "image", "heif")
AVIF = MediaType("image/avif", "image", "avif")
MP4 = MediaType("video/mp4", "video", "mp4")
MOV = MediaType("video/quicktime", "video", "mov")
M4V = MediaType("video/x-m4v", "video", "m4v")
GP3 = MediaType("video/3gpp", "video", "3gp")
AVI = MediaType("video/x-msvideo", "video", "avi")
MKV = MediaType("video/x-matroska", "video", "mkv")
WEBM = MediaType("video/webm", "video", "webm")
M2TS = MediaType("video/m2ts", "video", "m2ts")  # MIME types as ExifTool names them
M2T = MediaType("video/mpeg", "video", "m2t")  # 188-byte packets: broadcast style, or converted
MPEG = MediaType("video/mpeg", "video", "mpg")
AAE = MediaType("application/vnd.apple.photos", "sidecar", "aae")  # Apple Photos edit instructions
XMP = MediaType("application/rdf+xml", "sidecar", "xmp")  # darktable, digiKam, Lightroom sidecars
# A camcorder's own extension is kept (.MTS beside its .CPI, .MOD beside its .MOI).
_TS_EXTENSIONS = {"mts", "m2ts", "m2t", "ts"}
_PS_EXTENSIONS = {"mod", "tod", "mpg", "mpeg", "vob", "m2p"}

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MOV_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _iso_bmff(head: bytes) -> MediaType | None:
    if head[4:8] != b"ftyp":
        return MOV if head[4:8] in _MOV_ATOMS else None
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    brands = {major} | {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    # Image brands win over the generic ones a HEIF file also lists (e.g. mif1 + heic).
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return AVIF
    # Like ExifTool: the major brand decides; a generic 'mif1' file is HEIF, even if it
    # holds HEVC ('heic' among the compatible brands).
    if major in _HEIC_BRANDS:
        return HEIC
    if major in _HEIF_BRANDS:
        return HEIF
    if major == b"qt  ":
        return MOV
    if major.startswith(b"3g"):
        return GP3
    if major == b"M4V ":
        return M4V
    if brands & {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"MSNV", b"XAVC"}:
        return MP4
    if brands & _HEIC_BRANDS:
        return HEIC
    return MP4 if major.strip() else None


def _raw_magic(head: bytes) -> MediaType | None:
    """Raw formats with a signature of their own."""
    if head[:2] in (b"II", b"MM") and head[6:14] in (b"HEAPCCDR", b"HEAPJPGM"):
        return RAW["crw"]
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return RAW["raf"]
    if head.startswith(b"\x00MRM"):
        return RAW["mrw"]
    if head.startswith(b"FOVb"):
        return RAW["x3f"]
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return RAW["orf"]
    if head[:4] == b"IIU\x00":
        return RAW["rw2"]
    if head[:4] == b"II*\x00" and head[8:11] == b"CR\x02":
        return RAW["cr2"]
    if head[4:12] == b"ftypcrx ":
        return RAW["cr3"]
    return None


def _tiff_type(head, ext: str) -> MediaType:
    """A TIFF, or the raw file it really is: DNGVersion says DNG; otherwise the maker (IFD0
    Make) names the family, and sensor data (a colour-filter-array directory) or the
    family's own extension says it is a raw file and not, say, a scanner's TIFF."""
    from . import tiff  # the directory reader; imported late, only TIFF heads need it

    parsed = tiff.parse(head)
    if parsed is None:
        return TIFF
    if parsed.first(tiff.DNG_VERSION) is not None:
        return RAW["dng"]
    make = (parsed.text(parsed.first(tiff.MAKE, names=("IFD0",))) or "").upper()
    family = next((exts for makers, exts in _TIFF_RAW_FAMILIES if make.startswith(makers)), None)
    if family is None:
        return TIFF
    if ext in family:
        return RAW[ext]
    sensor = any(parsed.int(ifd.entries.get(tiff.PHOTOMETRIC)) in tiff.CFA_PHOTOMETRICS for ifd in parsed.ifds)
    return RAW[family[0]] if sensor or ext in RAW else TIFF


def _sidecar(head: bytes) -> MediaType | None:
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None
    if b"<plist" in text and b"<key>adjustment" in text:
        return AAE
    if text.startswith((b"<?xpacket", b"<x:xmpmeta", b"<x:xapmeta")) or (
        text.startswith(b"<?xml") and b"<x:xmpmeta" in text
    ):
        return XMP
    return None


def _transport_stream(head: bytes, ext: str) -> MediaType | None:
    if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47:
        found = M2TS
    elif len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        found = M2T
    else:
        return None
    return MediaType(found.mime, "video", ext) if ext in _TS_EXTENSIONS else found


def sniff(head: bytes, name: str | None = None) -> MediaType | None:
    """The media type the leading bytes declare, or None for anything that is not media.
    `name` (optional) only breaks ties the content leaves open; see the module notes."""
    ext = Path(name).suffix.lower().lstrip(".") if name else ""
    raw = _raw_magic(head)
    if raw is not None:
        return raw
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF":
        if head[8:12] == b"WEBP":
            return WEBP
        if head[8:12] == b"AVI ":
            return AVI
        return None
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_type(head, ext)
    if len(head) >= 12 and head[4:8] in (b"ftyp", *_MOV_ATOMS):
        return _iso_bmff(head)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM if b"webm" in head[:64] else MKV
    ts = _transport_stream(head, ext)
    if ts is not None:
        return ts
    if head[:4] == b"\x00\x00\x01\xba":
        return MediaType(MPEG.mime, "video", ext) if ext in _PS_EXTENSIONS else MPEG
    if head[:2] == b"BM" and len(head) >= 26 and head[14] in (12, 40, 52, 56, 108, 124):
        return BMP
    return _sidecar(head)


def sniff_file(path: str | Path) -> MediaType | None:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        found = sniff(head, Path(path).name)
        if found is TIFF and len(head) == HEAD_BYTES:
            from . import tiff

            # The directories may lie beyond the head (Lightroom puts a DNG's at the end).
            found = _tiff_type(tiff.FileView(fh), Path(path).suffix.lower().lstrip("."))
    return found
