"""The app's start: a Linux machine without Qt's X11 libraries gets one line naming the fix."""
from __future__ import annotations

import ctypes.util

import pytest

from app import launch


@pytest.mark.parametrize("platform_env", ["xcb", ""])
def test_missing_xcb_library_gives_one_line_and_exit_2(monkeypatch, capsys, platform_env):
    monkeypatch.setattr(launch.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", platform_env)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    real = ctypes.util.find_library
    monkeypatch.setattr(launch.ctypes.util, "find_library",
                        lambda name: None if name == "xcb-cursor" else real(name))
    assert launch.run_app(source="pattern") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "libxcb-cursor.so.0" in err[0] and launch.XCB_FIX in err[0]


def test_offscreen_and_wayland_skip_the_xcb_check(monkeypatch):
    monkeypatch.setattr(launch.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert launch.missing_xcb_libraries() == []
    monkeypatch.setenv("QT_QPA_PLATFORM", "")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert launch.missing_xcb_libraries() == []
