"""The real type of a file, from its leading bytes — never from its extension."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 512  # enough for every signature below (M2TS needs 197)

# Camera raw files are TIFF inside; the extension names the maker's flavour.
RAW_TYPES = {
    ".dng": "image/x-adobe-dng",
    ".nef": "image/x-nikon-nef",
    ".cr2": "image/x-canon-cr2",
    ".arw": "image/x-sony-arw",
    ".orf": "image/x-olympus-orf",
    ".rw2": "image/x-panasonic-rw2",
    ".pef": "image/x-pentax-pef",
    ".srw": "image/x-samsung-srw",
}
RAW_EXTENSIONS = set(RAW_TYPES)


@dataclass(frozen=True)
class MediaType:
    mime: str
    kind: str  # "image" | "video"
    ext: str  # canonical lower-case extension, without the dot

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


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
MPEG = MediaType("video/mpeg", "video", "mpg")

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


def sniff(head: bytes) -> MediaType | None:
    """The media type the leading bytes declare, or None for anything that is not media."""
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
        return TIFF
    if len(head) >= 12 and head[4:8] in (b"ftyp", *_MOV_ATOMS):
        return _iso_bmff(head)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM if b"webm" in head[:64] else MKV
    if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47:
        return M2TS
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return MediaType("video/mp2t", "video", "mts")
    if head[:4] == b"\x00\x00\x01\xba":
        return MPEG
    if head[:2] == b"BM" and len(head) >= 26 and head[14] in (12, 40, 52, 56, 108, 124):
        return BMP
    return None


def sniff_file(path: str | Path) -> MediaType | None:
    with open(path, "rb") as fh:
        media_type = sniff(fh.read(HEAD_BYTES))
    # A camera raw file is a TIFF inside; keep its own extension so the archive says what it is.
    suffix = Path(path).suffix.lower()
    if media_type is TIFF and suffix in RAW_TYPES:
        return MediaType(RAW_TYPES[suffix], "image", suffix.lstrip("."))
    return media_type
