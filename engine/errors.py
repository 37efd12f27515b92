"""The one error type for bad user input: it names the file and the reason in one line."""
from __future__ import annotations

import os
from pathlib import Path


class InputError(Exception):
    """Bad input from the user (a file, a value). ``str()`` is a one-line message."""

    def __init__(self, source: str | os.PathLike | None, reason: str):
        self.source = None if source is None else os.fspath(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}" if self.source else reason)


def check_input_file(path: str | os.PathLike, expected: str) -> None:
    """Refuse what cannot be a readable input file: missing, a directory, empty, unreadable.

    ``expected`` completes "is a directory, not …" (e.g. ``"an image"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, f"is a directory, not {expected}")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied")
