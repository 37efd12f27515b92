"""The app's entry point: :func:`run_app` opens the window; Qt's X11 prerequisites are checked
first so a missing system library ends with one line instead of Qt's abort."""
from __future__ import annotations

import ctypes.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

# Debian/Ubuntu packages of the libraries Qt 6's xcb platform plugin loads (README "Install").
XCB_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 "
                "libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1")
XCB_FIX = f"sudo apt-get install {XCB_PACKAGES}"


def missing_xcb_libraries() -> list[str]:
    """Shared libraries the Qt xcb plugin needs that this Linux system lacks ([] when it will
    not use xcb, or when nothing is missing)."""
    if not sys.platform.startswith("linux"):
        return []
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    uses_xcb = platform.startswith("xcb") or (not platform and not os.environ.get("WAYLAND_DISPLAY"))
    if not uses_xcb:
        return []
    import PySide6

    qt_lib = Path(PySide6.__file__).parent / "Qt" / "lib" / "libQt6XcbQpa.so.6"
    missing = []
    if qt_lib.is_file():
        try:
            out = subprocess.run(["ldd", str(qt_lib)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        missing = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    if ctypes.util.find_library("xcb-cursor") is None:  # Qt ≥ 6.5 loads it at run time
        missing.append("libxcb-cursor.so.0")
    return missing


def save_widget_png(widget: QWidget, path: str | os.PathLike) -> None:
    """Grab a widget to a PNG, atomically."""
    from engine.files import atomic_write

    pixmap = widget.grab()

    def write(tmp):
        if not pixmap.save(tmp, "PNG"):
            raise OSError(f"cannot write {path}")
    atomic_write(path, write)


def run_app(source=None, styles=None, device: str = "auto", screenshot: str | None = None,
            quit_after: float | None = None, camera=None, model: str | None = None) -> int:
    """Open the window and run the event loop; returns the exit code. ``camera``: the
    :class:`~engine.media.camera.CameraRequest` cameras are asked for.

    ``screenshot`` / ``quit_after`` (hidden options) save a PNG of the window and close it after
    ``quit_after`` seconds; used to make the README screenshot. ``model`` (auto/lite/vgg)
    replaces the remembered model choice.
    """
    missing = missing_xcb_libraries()
    if missing:
        print(f"error: the window needs system libraries that are missing ({', '.join(missing)}); "
              f"on Debian/Ubuntu: {XCB_FIX}", file=sys.stderr)
        return 2
    from .main_window import MainWindow
    from .theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("adain-live")
    app.setOrganizationName("adain-live")
    apply_theme(app)
    window = MainWindow(source=source, styles=styles, device=device, camera=camera, model=model)
    window.show()
    if quit_after:
        def finish():
            if screenshot:
                save_widget_png(window, screenshot)
                print(screenshot)
            window.close()
        QTimer.singleShot(int(float(quit_after) * 1000), finish)
    signal.signal(signal.SIGINT, lambda *_: window.close())
    keep_python_responsive = QTimer(interval=200, timeout=lambda: None)  # lets Ctrl+C reach Python
    keep_python_responsive.start()
    from .threads import leave_when_retired

    return leave_when_retired(app.exec())
