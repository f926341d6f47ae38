"""Words and numbers for people: one definition of each way MediaParser writes a size, an
offset, a month, a count or a file's origin. Pure Python, usable from media/, pipeline/ and
web/ alike."""

from __future__ import annotations

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Month names people type or write in folder names (English and German), lower case, with
# the usual abbreviations: name -> month number.
MONTH_WORDS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6,
    "juli": 7, "oktober": 10, "dezember": 12,
    "jan": 1, "feb": 2, "mar": 3, "mär": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12,
}  # fmt: skip


def size_text(n: int | None) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disks are sold); None -> '?'."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} bytes"


def format_offset(minutes: int) -> str:
    """Minutes east of UTC as '+02:00' / '-03:30'."""
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 file', '2 files', '1 group'; `words` for irregular plurals."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def display_path(relative_dir: str | None, name: str) -> str:
    """The folder and name a person gave a file: what pages show as its origin."""
    return readable_name(f"{relative_dir}/{name}" if relative_dir else name)


def _needs_care(text: str) -> bool:
    return not text.isascii() or not text.isprintable()


def printable_text(text: str) -> str:
    """`text` without the undecodable bytes of a file name (surrogate escapes: they cannot be
    sent to a browser), each shown as the replacement character (\N{REPLACEMENT CHARACTER})."""
    if text.isascii():
        return text
    return "".join("\N{REPLACEMENT CHARACTER}" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def readable_name(text: str) -> str:
    """A file or folder name as pages show it: undecodable bytes as the replacement character,
    and control characters (a newline in a name) as their visible symbols (\u240a)."""
    if not _needs_care(text):
        return text
    return "".join(
        "\N{REPLACEMENT CHARACTER}"
        if 0xD800 <= ord(ch) <= 0xDFFF
        else chr(0x2400 + ord(ch))
        if ord(ch) < 0x20
        else "\u2421"
        if ch == "\x7f"
        else ch
        for ch in text
    )
