"""What the outputs share: the one error type.

Their newest-frame slot is :class:`engine.slots.NewestSlot`: one producer that overwrites and any
number of consumers that wait for something newer, so a slow consumer drops frames instead of
queueing them and the producer never blocks.
"""
from __future__ import annotations


class OutputError(RuntimeError):
    """An output could not start or stopped working; ``str()`` is one line saying why (and the fix)."""
