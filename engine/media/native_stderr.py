"""Keep a native library's own chatter off the terminal (issue #29, item 12).

LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` straight to file
descriptor 2 when a person segmenter is built (no setting turns it off; ``TF_CPP_MIN_LOG_LEVEL``
does not). :func:`drop_native_lines` points descriptor 2 at an unnamed temporary file around such a
call, then writes back everything else that arrived meanwhile (from any thread), so only the
named lines are lost. ``ADAIN_VERBOSE=1`` (``main.py --verbose``) leaves the terminal as it is.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager

VERBOSE_ENV = "ADAIN_VERBOSE"
_LOCK = threading.Lock()  # one redirection at a time: nested ones would restore the wrong descriptor


def verbose() -> bool:
    """Whether the user asked for every library's own messages (``main.py --verbose``)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


@contextmanager
def drop_native_lines(*fragments: str):
    """Inside the block, lines written to descriptor 2 that contain one of ``fragments`` are
    dropped; the others are written to stderr when the block ends."""
    if verbose() or not fragments:
        yield
        return
    with _LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no descriptor 2 (a windowed app on Windows)
            yield
            return
        with tempfile.TemporaryFile() as tmp:  # unnamed: removed as soon as it is closed
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                try:
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode("utf-8", errors="replace")
                kept = [line for line in text.splitlines(keepends=True) if not any(f in line for f in fragments)]
                if kept:
                    sys.stderr.write("".join(kept))
                    sys.stderr.flush()


__all__ = ["VERBOSE_ENV", "drop_native_lines", "verbose"]
