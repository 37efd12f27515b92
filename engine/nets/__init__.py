"""The networks: VGG-19 encoder to relu4_1, the decoder, AdaIN and its controls, weight files,
and the fast per-frame paths (folded pre/post-processing on CPU, fp16 + CUDA graphs on GPU).

Torch (OpenCV only for the palette's uint8 colour map); imports nothing above ``engine.errors`` / ``engine.files``.
"""
