"""The stream's page in a real browser: headless Chromium (Debian's ``chromium``) loads ``/`` and
its screenshot must show the streamed frames. Skipped where no Chromium is installed (.ci/run
installs it)."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from engine.media.outputs.mjpeg import MjpegServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
COLOUR = (0, 170, 255)  # BGR orange: nothing else on the page has it
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshot(url: str, folder, size=(640, 400)) -> np.ndarray:
    """The page at ``url`` as Chromium renders it (BGR), with a fresh profile."""
    shot = folder / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={folder / 'profile'}", f"--screenshot={shot}",
                    f"--window-size={size[0]},{size[1]}", "--timeout=5000", url],
                   capture_output=True, timeout=90, check=True)
    return cv2.imread(str(shot))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
@pytest.mark.parametrize("token", [None, "page-token-123"])
def test_chromium_shows_the_stream_on_the_page(tmp_path, token):
    server = MjpegServer("127.0.0.1", 0, token=token).start()
    stop = threading.Event()

    def produce():
        while not stop.is_set():
            frame = np.zeros((240, 320, 3), np.uint8)
            frame[:] = COLOUR
            server.put(frame)
            stop.wait(0.05)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        image = screenshot(server.url, tmp_path)
        clients_after = server.clients
    finally:
        stop.set()
        producer.join(2)
        server.stop()
    shown = (np.abs(image.astype(int) - COLOUR).sum(axis=2) < 40).sum()
    assert shown >= 0.9 * 320 * 240  # the whole frame is on the page, from the stream
    deadline = time.monotonic() + 3
    while clients_after and time.monotonic() < deadline:
        time.sleep(0.1)
        clients_after = server.clients
    assert clients_after == 0  # the browser's hang-up was a normal disconnect
