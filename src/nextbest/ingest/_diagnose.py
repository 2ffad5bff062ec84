"""One-line diagnoses of a file that cannot be what it is read as, from its first bytes.

DuckDB's messages about such files ("CSV Error on Line: 1", "check delimiter", a missing
column ``column0``) send the user looking in the wrong place. These checks run before DuckDB
sees the file and name what it is instead: empty, an Excel workbook, a ZIP or gzip archive,
Parquet named ``.csv`` (or CSV named ``.parquet``), UTF-16 text, text that is not UTF-8 —
with the byte, the line and the setting to change — or UTF-8 text that ``encoding = "latin-1"``
would load garbled without an error. They read the head of the file, and for
the encoding check decode the file in large blocks (no loop over rows).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError

_HEAD_BYTES = 4096
_BLOCK = 1 << 20
_WHITESPACE = b" \t\r\n\x0b\x0c"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP = b"\x1f\x8b"
_PARQUET = b"PAR1"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_NON_ASCII = re.compile(rb"[\x80-\xff]")
#: printable in Windows-1252 (€ ‚ „ … ‘ ’ “ ” –), control codes in latin-1
_WINDOWS = re.compile(rb"[\x80-\x9f]")
_SEPARATORS = (b";", b",", b"\t", b"|", b"\n")


def diagnose_file(path: Path, fmt: str, source: SourceConfig, *, setting: str) -> None:
    """Raise :class:`SourceFileError` when the bytes of ``path`` show it cannot be read as
    ``fmt`` ("csv" or "parquet") with the dialect of ``source``; otherwise return."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head:
        raise SourceFileError(
            f"{path}: the file is empty (0 bytes); ask for the delivery again or remove the file"
        )
    problem = _container(path, head, fmt, setting)
    if problem is None and fmt == "csv" and not head.startswith(_GZIP):  # DuckDB unpacks .gz
        problem = _text(path, head, source, setting)
    if problem is not None:
        raise SourceFileError(f"{path}: {problem}")


def refuse_binary(path: Path, *, setting: str) -> None:
    """Raise :class:`SourceFileError` when ``path`` is a workbook, an archive or a Parquet
    file (whatever its name), as a CSV would be expected; otherwise return."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    problem = _container(path, head, "csv", setting) if head else None
    if problem is not None:
        raise SourceFileError(f"{path}: {problem}")


def _container(path: Path, head: bytes, fmt: str, setting: str) -> str | None:
    """What a binary file is, when that is not ``fmt``."""
    what = "a CSV" if fmt == "csv" else "a Parquet file"
    if head.startswith(_ZIP):
        if _is_xlsx(path):
            return (
                f"it is an Excel workbook (XLSX), not {what}; save it as CSV (';' separated) "
                "from Excel or ask the warehouse for a CSV export"
            )
        return f"it is a ZIP archive, not {what}; unpack it and deliver the files inside"
    if head.startswith(_OLE2):
        return (
            f"it is an Excel 97-2003 workbook (XLS), not {what}; save it as CSV (';' separated) "
            "from Excel or ask the warehouse for a CSV export"
        )
    if head.startswith(_GZIP) and not path.name.lower().endswith(".gz"):
        return (
            f"it is gzip-compressed, not {what}; name it '{path.name}.gz' (gzip-compressed CSV "
            "is read as it is) or unpack it"
        )
    if fmt == "csv" and head.startswith(_PARQUET):
        return (
            f"it is a Parquet file, not a CSV; name it .parquet or set format = 'parquet' "
            f"in {setting}"
        )
    if fmt == "parquet" and not head.startswith(_PARQUET) and not head.startswith(_GZIP):
        first = head.split(b"\n", 1)[0].strip().decode("utf-8", errors="replace")
        if first.isprintable():
            return (
                f"it is not a readable Parquet file: it is text starting {first[:60]!r} "
                f"(CSV?); name it .csv or set format = 'csv' in {setting}"
            )
    return None


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _text(path: Path, head: bytes, source: SourceConfig, setting: str) -> str | None:
    """Empty, UTF-16 or non-UTF-8 text read as a CSV, as one line; None if it reads."""
    if source.encoding == "utf-16":
        return None
    if head.startswith(_UTF16_BOMS) or looks_utf16(head):
        return f'it is UTF-16 text, not {source.encoding}; set encoding = "utf-16" in {setting}'
    if b"\x00" in head:
        return "it holds NUL bytes: it is a binary file, not CSV text; check the delivery"
    empty = emptiness(path, head)
    if empty is not None:
        return empty
    if source.encoding in ("latin-1", "cp1252"):
        garbled = _utf8_read_as_latin1(path, head, setting, source.encoding)
        return garbled or (
            _windows_read_as_latin1(path, setting) if source.encoding == "latin-1" else None
        )
    bad = first_invalid_utf8(path)
    if bad is None:
        return None
    byte, line, context = bad
    windows = first_windows_byte(path) is not None
    return (
        f"it is not UTF-8: byte 0x{byte:02x} at line {line} ('{context}'); set "
        f'encoding = "{"cp1252" if windows else "latin-1"}" in {setting}'
    )


def _first_match(path: Path, pattern: re.Pattern[bytes]) -> tuple[bytes, int, int] | None:
    """The first match of a one-byte ``pattern`` in the file, read in blocks: the block, the
    match's offset in it and its 1-based line; None when nothing matches."""
    line = 1
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            found = pattern.search(block)
            if found is not None:
                at = found.start()
                return block, at, line + block.count(b"\n", 0, at)
            line += block.count(b"\n")
    return None


def first_windows_byte(path: Path) -> tuple[int, int] | None:
    """The first byte in 0x80–0x9F (cp1252's €, curly quotes …, control codes in latin-1) and
    its 1-based line; None when there is none."""
    found = _first_match(path, _WINDOWS)
    return None if found is None else (found[0][found[1]], found[2])


def _windows_read_as_latin1(path: Path, setting: str) -> str | None:
    """Latin-1 has no characters in 0x80–0x9F: such a byte is cp1252 (DuckDB refuses it)."""
    found = first_windows_byte(path)
    if found is None:
        return None
    byte, line = found
    return (
        f"byte 0x{byte:02x} at line {line} is not latin-1 text; it is Windows-1252 "
        f"('{bytes([byte]).decode('cp1252', errors='replace')}'): set encoding = \"cp1252\" "
        f"in {setting}"
    )


def _utf8_read_as_latin1(path: Path, head: bytes, setting: str, encoding: str) -> str | None:
    """UTF-8 text with accents, which latin-1 would load garbled ('CafÃ©') without an error."""
    if head.startswith(codecs.BOM_UTF8):
        return (
            f"it is UTF-8 text (it starts with a UTF-8 byte-order mark), not {encoding}; remove "
            f"encoding from {setting} (UTF-8 is the default)"
        )
    found = _first_non_ascii(path)
    if found is None or first_invalid_utf8(path) is not None:
        return None  # plain ASCII reads the same either way; invalid UTF-8 is latin-1 indeed
    line, field = found
    text = field.decode("utf-8", errors="replace")
    return (
        f"it is UTF-8 text, not {encoding}: line {line} holds '{text}', which encoding = "
        f"\"{encoding}\" would load as '{field.decode(encoding, errors='replace')}'; remove "
        f"encoding from {setting} (UTF-8 is the default)"
    )


def _first_non_ascii(path: Path) -> tuple[int, bytes] | None:
    """The 1-based line of the first byte above 0x7f and the field holding it."""
    found = _first_match(path, _NON_ASCII)
    if found is None:
        return None
    block, at, line = found
    start = max(block.rfind(sep, 0, at) for sep in _SEPARATORS) + 1
    ends = [e for e in (block.find(sep, at) for sep in _SEPARATORS) if e >= 0]
    field = block[start : min(ends, default=len(block))].strip()
    return line, field[:40]


def looks_utf16(head: bytes) -> bool:
    """Mostly ASCII text in UTF-16 without a byte-order mark: every other byte is NUL."""
    sample = head[:200]
    if len(sample) < 4:
        return False
    nuls = max(sample[0::2].count(0), sample[1::2].count(0))
    return nuls >= 0.8 * (len(sample) // 2)


def emptiness(path: Path, head: bytes) -> str | None:
    """A file of blank lines, or of a header line and nothing after it."""
    first_line, newline, rest = head.partition(b"\n")
    if not first_line.strip(_WHITESPACE) and _blank_from(path, 0):
        size = path.stat().st_size
        if size == 0:
            return "the file is empty (0 bytes); ask for the delivery again or remove the file"
        return (
            f"the file is empty ({size:,} bytes of blank lines only); ask for the delivery "
            "again or remove the file"
        )
    if len(head) < _HEAD_BYTES or newline:
        offset = len(first_line) + len(newline)
        if not rest.strip(_WHITESPACE) and _blank_from(path, offset):
            return (
                "the file has no data rows (only the header line); ask for the delivery again "
                "or remove the file"
            )
    return None


def _blank_from(path: Path, offset: int) -> bool:
    """Whether everything in the file from ``offset`` on is whitespace (stops at the first
    byte that is not)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        while block := fh.read(_BLOCK):
            if block.strip(_WHITESPACE):
                return False
    return True


def first_invalid_utf8(path: Path) -> tuple[int, int, str] | None:
    """The first byte of ``path`` that is not valid UTF-8: its value, its 1-based line and the
    text around it as written (the bad bytes shown as ``\\xe9``); None for valid UTF-8."""
    line = 1
    carry = b""  # an incomplete sequence at the end of the previous block
    tail = b""  # the current line up to the end of the previous block
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            data = carry + block
            try:
                _, used = codecs.utf_8_decode(data, "strict", not block)
            except UnicodeDecodeError as exc:
                start = data.rfind(b"\n", 0, exc.start) + 1
                before = (tail if start == 0 else b"") + data[start : exc.start]
                after = (data[exc.start : exc.start + 40] + fh.read(40))[:40]
                after = after.split(b"\n", 1)[0]
                return (
                    data[exc.start],
                    line + data.count(b"\n", 0, exc.start),
                    _shown(before[-30:], after),
                )
            if not block:
                return None
            line += data.count(b"\n", 0, used)
            cut = data.rfind(b"\n", 0, used)
            tail = (tail + data[:used])[-60:] if cut < 0 else data[cut + 1 : used]
            carry = data[used:]


def _shown(before: bytes, after: bytes) -> str:
    """The bytes around the bad one as text, cut at a field or line boundary."""
    for sep in (b";", b",", b"\t", b"|"):
        if sep in before:
            before = before.rsplit(sep, 1)[1]
        if sep in after:
            after = after.split(sep, 1)[0]
    text = (before + after).decode("utf-8", errors="backslashreplace")
    return text.replace("\r", "").replace("'", "\\'")
