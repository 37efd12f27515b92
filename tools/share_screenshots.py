"""Screenshots of the "Share" outputs for the docs: the real window (under Xvfb) with the stream and
the virtual camera switched on, and headless Chromium showing the stream's page.

    xvfb-run -s "-screen 0 1280x960x24" python tools/share_screenshots.py --out docs

Opens ``MainWindow`` as ``python main.py`` does (the shipped model, the default styles, the
generated source) with throw-away settings, waits for stylized frames, ticks "Stream on localhost"
and "Virtual camera" (on a machine without a v4l2loopback device the window shows the fix and the
toggle goes back off: that is what the picture shows here), saves ``share_panel.png``, then loads
the stream's page in headless Chromium and saves ``stream_page.png``. Prints what it saw.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_screenshot(url: str, path: Path, size=(800, 520)) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        tmp = Path(profile) / "shot.png"
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}/p", f"--screenshot={tmp}",
                        f"--window-size={size[0]},{size[1]}", "--timeout=6000", url],
                       capture_output=True, timeout=120, check=True)
        shutil.move(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs")
    p.add_argument("--source", default="pattern:640x360")
    p.add_argument("--timeout", type=float, default=180.0)
    args = p.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.launch import save_widget_png
    from app.main_window import MainWindow
    from app.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    out = Path(args.out)

    def pump(seconds: float, until=None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.01)
        return until is None

    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(source=args.source, device="cpu", settings=settings,
                            output_dir=Path(tmp) / "out", style_cache_dir=Path(tmp) / "cache")
        window.resize(1180, 860)
        window.show()
        styled = lambda: window.results.latest()[1] is not None and window.results.latest()[1].styled  # noqa: E731
        if not pump(args.timeout, styled):
            raise SystemExit("no stylized frame in time")
        pump(args.timeout, lambda: all(e.ready for e in window.gallery.entries.values()))
        panel = window.outputs
        panel.stream_check.setChecked(True)
        panel.vcam_check.setChecked(True)
        pump(60.0, lambda: panel.vcam is None or panel.vcam.size is not None)  # failed, or sending
        pump(2.0)
        scroll = window.panel.parentWidget().parentWidget()  # panel → viewport → QScrollArea
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
        pump(1.5)
        save_widget_png(window, out / "share_panel.png")
        url = panel.url_field.text()
        print(f"window: stream {url!r}, virtual camera on: {panel.vcam_check.isChecked()}, "
              f"error: {panel.error_label.text()!r}")
        chromium_screenshot(url, out / "stream_page.png")
        print(f"page: {out / 'stream_page.png'}")
        window.close()
        pump(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
