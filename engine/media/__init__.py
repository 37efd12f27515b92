"""Media I/O: images (load/save/convert), live frame sources (camera, video file, image, the
generated pattern) and video files (probe, read, write, stylize through a callback).

Imports nothing above ``engine.errors`` / ``engine.files``.
"""
