"""Files nextbest writes are readable by their owner only.

The store, its write-ahead log, the audit database, decision files, exports, reports and logs
can hold customer data. Rather than remember a mode at every ``open``, each entry point (the
CLI's ``main``, the API's app factory) calls :func:`private_files` once, so that every file the
process creates is 0600 and every folder 0700; the store and audit files are also ``chmod``-ed
when they are created (and tightened when opened read-write), which holds even for a caller that
skipped the entry point.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the bits no file of nextbest grants: everything for group and others
PRIVATE_UMASK = 0o077


def private_files() -> int:
    """Make every file and folder this process creates from now on private to its owner
    (umask ``0o077``, kept stricter if it already is); returns the previous umask.

    Example
    -------
    >>> previous = private_files()
    >>> _ = os.umask(previous)  # restore it (tests only)
    """
    previous = os.umask(PRIVATE_UMASK)
    if previous & ~PRIVATE_UMASK:
        os.umask(previous | PRIVATE_UMASK)
    return previous


def make_private(path: Path) -> None:
    """``chmod`` a file nextbest just created to 0600 (a folder to 0700)."""
    path.chmod(0o700 if path.is_dir() else 0o600)


def tighten(path: Path) -> None:
    """Take group and other bits off a file nextbest owns (e.g. a store created by an earlier
    version); a file owned by someone else is left alone."""
    try:
        info = path.stat()
        if info.st_mode & PRIVATE_UMASK and info.st_uid == os.getuid():
            make_private(path)
    except OSError:
        pass


def private_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) as folders only the owner can enter."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        make_private(folder)
