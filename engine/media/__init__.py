"""Media I/O: images (load/save/convert), live frame sources (camera, video file, image, the
generated pattern), video files (probe, read, write, stylize through a callback) and outputs
for other apps (``outputs``: virtual camera, MJPEG stream server).

Imports nothing above ``engine.errors`` / ``engine.files``.
"""
