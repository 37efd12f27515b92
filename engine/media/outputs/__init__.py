"""Outputs that hand the stylized frames to other apps: :mod:`.virtualcam` (a virtual webcam via
pyvirtualcam) and :mod:`.mjpeg` (an HTTP MJPEG stream with a page and a snapshot).

Each output has ``start()``, ``put(frame)`` (``HxWx3`` uint8 BGR; never blocks: it fills a
newest-frame slot, :class:`engine.slots.NewestSlot`), and ``stop()``; each sends from its own threads.
Failures are :class:`.base.OutputError` with a one-line message that says how to fix them.
"""
