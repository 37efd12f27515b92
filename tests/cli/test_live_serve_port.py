"""``main.py live --serve HOST:PORT`` with a bad port: one line naming the value, exit 2, nothing
started (the check runs before the styles, the model or the camera are touched)."""
from __future__ import annotations

import pytest

import main


@pytest.mark.parametrize("value", ["127.0.0.1:²", "127.0.0.1:٣٣٣", ":0", ":70000", "", "127.0.0.1:http"])
def test_a_bad_serve_port_is_one_line_and_exit_2(value, capsys, tmp_path):
    # a style that does not exist: were the port taken, the run would end on the style, not hang serving
    missing = tmp_path / "missing.jpg"
    code = main.main(["live", "--source", "pattern", "--style", str(missing), "--serve", value])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: --serve {value or repr(value)}:") and "1 to 65535" in lines[0]
