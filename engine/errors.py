"""The one error type for bad user input: it names the file and the reason in one line."""
from __future__ import annotations

import os


class InputError(Exception):
    """Bad input from the user (a file, a value). ``str()`` is a one-line message."""

    def __init__(self, source: str | os.PathLike | None, reason: str):
        self.source = None if source is None else os.fspath(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}" if self.source else reason)
