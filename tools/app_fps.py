"""Read the real window's FPS readout on a generated source, to set beside ``main.py bench``.

    QT_QPA_PLATFORM=offscreen python tools/app_fps.py --source pattern:640x360 --resolution 256 \
        --seconds 60 --json runs/app_fps.json

Opens ``MainWindow`` exactly as ``python main.py`` does (real capture and inference threads, the
default styles, the trained decoder), with throw-away settings and outputs, fixes the processing
resolution, waits for the first stylized frame and then ``--warmup`` seconds, then samples the
readout (``window.readout.fps``, what the status bar shows) once a second and also counts the results that
reached the GUI. Prints one JSON line. ``--person MODE`` turns the Person control on.
The frame the engine sees is the source frame resized to ``--resolution`` on its shorter side
(640×360 at 256 → 455×256), so ``python main.py bench --sizes 455x256 --modes fast`` is the
matching benchmark.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default="pattern:640x360")
    p.add_argument("--resolution", type=int, default=256, help="processing size (shorter side)")
    p.add_argument("--seconds", type=float, default=60.0, help="sampling time after the warm-up")
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--model", default="auto", choices=["auto", "lite", "vgg"],
                   help="the window's model choice (lite = Real-time, vgg = Quality)")
    p.add_argument("--stabilize", choices=["on", "off"], default="on", help="the Stabilize toggle (app default: on)")
    p.add_argument("--person", default="all",
                   choices=["all", "keep_person", "keep_background", "split"],
                   help="the Person control's mode (split: the last gallery style on the person)")
    p.add_argument("--learn", choices=["on", "off"], default="off",
                   help="the 'Learn styles for Real-time' box (on: the style is learned in the background "
                        "while the readout is sampled; set ADAIN_CACHE_DIR to an empty folder so it is not cached)")
    p.add_argument("--json", default=None, help="also write the result here")
    args = p.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(source=args.source, device=args.device, settings=settings,
                            output_dir=Path(tmp) / "out", style_cache_dir=Path(tmp) / "cache", model=args.model)
        window.show()
        window._set_resolution(args.resolution)
        window.stabilize_check.setChecked(args.stabilize == "on")
        window.learn_check.setChecked(args.learn == "on")
        person = window.person_control
        person.mode_combo.setCurrentIndex(person.mode_combo.findData(args.person))

        def pump(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                app.processEvents()
                time.sleep(0.005)

        waited = time.monotonic()
        while not _styled(window) and time.monotonic() - waited < 600:  # styles still encoding
            pump(1.0)
        pump(args.warmup)
        person.style_combo.setCurrentIndex(person.style_combo.count() - 1)
        if person.mode != args.person:
            raise SystemExit(f"the Person control is unavailable: {person.reason}")
        readouts, first_t = [], window.readout.last_t
        start, results_before = time.monotonic(), window.results_shown
        while time.monotonic() - start < args.seconds:
            pump(1.0)
            if window.readout.fps:
                readouts.append(window.readout.fps)
        counted = window.results_shown - results_before
        learning = window.learning.status
        elapsed = time.monotonic() - start
        window.close()
        pump(0.5)
    result = dict(source=args.source, resolution=args.resolution, model=window.models.label.text(),
                  stabilize=args.stabilize, person=args.person, learn=args.learn, learning_status=learning,
                  device=window.device_summary,
                  readout_fps_median=statistics.median(readouts) if readouts else None,
                  readout_fps_min=min(readouts, default=None), readout_fps_max=max(readouts, default=None),
                  results_per_second=counted / elapsed,
                  samples=len(readouts), seconds=round(elapsed, 1), started_with_result=first_t is not None)
    line = json.dumps(result)
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n")
    return 0


def _styled(window) -> bool:
    """The newest result shown is stylized (every default style encoded, the model loaded)."""
    _, result = window.results.latest()
    return result is not None and result.styled


if __name__ == "__main__":
    raise SystemExit(main())
