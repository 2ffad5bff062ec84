"""Windows-1252 exports: read through a UTF-8 copy, since DuckDB's CSV reader has no cp1252.

DuckDB 2.0's reader knows utf-8, latin-1 and utf-16 (more only through its ``encodings``
extension, which has to be downloaded — and a bank's machine may have no internet). cp1252 is
latin-1 plus printable characters in 0x80–0x9F (``€``, curly quotes, ``…``), which DuckDB's latin-1
refuses for the whole file. So a source with ``encoding = "cp1252"`` is decoded by Python's codec
into a private temporary UTF-8 copy, once per file version and process, in blocks of 1 MB (a
byte stream, not a loop over rows), and DuckDB reads the copy. Messages and the quarantine keep
naming the original file.
"""

from __future__ import annotations

import atexit
import codecs
import shutil
import tempfile
from pathlib import Path

from nextbest.errors import SourceFileError

_BLOCK = 1 << 20
_copies: dict[tuple[str, int, int], Path] = {}
_folder: list[Path] = []


def _scratch() -> Path:
    """A private folder for the copies (0700), removed when the process ends."""
    if not _folder:
        folder = Path(tempfile.mkdtemp(prefix="nextbest-cp1252-"))
        atexit.register(shutil.rmtree, folder, True)
        _folder.append(folder)
    return _folder[0]


def duckdb_readable(path: Path, encoding: str) -> tuple[Path, str]:
    """The file DuckDB reads for ``path`` written in ``encoding``, and DuckDB's name for the
    encoding it reads it in: a cp1252 file through its UTF-8 copy, utf-8-sig as utf-8 (DuckDB
    accepts the byte-order mark)."""
    if encoding == "cp1252":
        return utf8_copy(path), "utf-8"
    if encoding == "utf-8-sig":
        return path, "utf-8"
    return path, encoding


def utf8_copy(path: Path, *, setting: str = "the source's settings") -> Path:
    """A UTF-8 copy of the cp1252 file ``path`` (made once per content version)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _copies and _copies[key].exists():
        return _copies[key]
    target = _scratch() / f"{len(_copies)}-{path.name}"
    decoder = codecs.getincrementaldecoder("cp1252")(errors="strict")
    line = 1
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            block = src.read(_BLOCK)
            try:
                out.write(decoder.decode(block, final=not block))
            except UnicodeDecodeError as exc:
                at = line + block.count(b"\n", 0, exc.start)
                raise SourceFileError(
                    f"{path}: byte 0x{block[exc.start]:02x} at line {at} is not a cp1252 "
                    f"character; check encoding in {setting} (utf-8, latin-1 or utf-16?)"
                ) from None
            if not block:
                break
            line += block.count(b"\n")
    _copies[key] = target
    return target
