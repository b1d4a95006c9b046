"""Writes that survive a power loss: ``fsync`` of a file, or of a directory (so a file created
or renamed in it keeps its name), by path. Used by the journal and the server's backups."""

from __future__ import annotations

import os
from pathlib import Path


def sync_path(path: Path, *, directory: bool = False) -> None:
    """Flush ``path`` (a file, or with ``directory`` a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
