"""`main.py video`: timing, size and sound survive; interruptions and bad input leave no output.

Clips are generated here (pan/zoom over a generated image with noise and lighting drift, a sine
tone muxed in with PyAV); the network is the real VGG encoder with a seeded random decoder.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import main
from conftest import ROOT, random_decoder_state
from engine.nets.decoder import Decoder, save_decoder
from engine.errors import InputError
from engine.media.imageio import save_image_rgb
from engine.media.video import output_size, probe_video, read_frames, stylize_video, write_video
from engine.tools.synthetic import pattern_image, synthetic_clip, tone

W, H, N = 64, 48, 12
FPS = Fraction(30000, 1001)
TONE_HZ = 440.0


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A clip with a tone (AAC), one with PCM audio (.mov), one silent; a style; a decoder file."""
    d = tmp_path_factory.mktemp("video")
    frames = synthetic_clip(pattern_image(120, 160, seed=1), N, (W, H), seed=1)
    seconds = N / float(FPS)
    write_video(d / "tone.mp4", frames, fps=FPS, audio=tone(seconds, freq=TONE_HZ))
    write_video(d / "pcm.mov", frames, fps=25, audio=tone(N / 25, rate=48000, freq=TONE_HZ),
                audio_rate=48000, audio_codec="pcm_s16le")
    write_video(d / "silent.mp4", frames, fps=12)
    save_image_rgb(pattern_image(96, 96, seed=5), d / "style.png")
    save_decoder(Decoder(random_decoder_state()), d / "decoder.safetensors")
    return d


def cli(*argv) -> int:
    return main.main(["video", *map(str, argv)])


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(c.streams.video[0])]


def audio_samples(path: Path) -> tuple[np.ndarray, int]:
    """First channel of the first audio track, and its sample rate."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = []
        for frame in c.decode(stream):
            arr = frame.to_ndarray()
            # planar: one row per channel; packed: channels interleaved in one row
            chunks.append(arr[0] if frame.format.is_planar else arr[0, ::frame.layout.nb_channels])
        return np.concatenate(chunks).astype(np.float64), stream.codec_context.sample_rate


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_cli_keeps_frames_fps_size_and_audio(files, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    rc = cli(files / "tone.mp4", "-o", out, "--style", files / "style.png",
             "--decoder", files / "decoder.safetensors", "--device", "cpu", "--style-size", 64)
    assert rc == 0, capsys.readouterr().err
    src, res = probe_video(files / "tone.mp4"), probe_video(out)
    assert (res.width, res.height) == (W, H)
    assert res.fps == src.fps == FPS
    assert frame_times(out) == pytest.approx(frame_times(files / "tone.mp4"), abs=1e-3)
    assert len(list(read_frames(out))) == N
    assert res.audio_codec == "aac"
    samples, rate = audio_samples(out)
    assert len(samples) / rate == pytest.approx(N / float(FPS), abs=0.06)
    assert dominant_frequency(samples, rate) == pytest.approx(TONE_HZ, abs=5)
    # it was really stylized
    diff = [np.abs(a.astype(int) - b).mean() for a, b in zip(read_frames(files / "tone.mp4"), read_frames(out))]
    assert min(diff) > 10
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"]  # no temp file left behind


@pytest.mark.parametrize("name, codec", [("small.mp4", "aac"), ("small.mkv", "pcm_s16le")])
def test_pcm_audio_reencoded_or_copied_and_size_option(files, tmp_path, name, codec):
    """MP4 cannot hold PCM: re-encoded to AAC; Matroska can: copied as it is."""
    out = tmp_path / name
    count = stylize_video(files / "pcm.mov", out, lambda f: 255 - f, size=32, progress=False)
    res = probe_video(out)
    assert count == N and len(list(read_frames(out))) == N
    assert (res.width, res.height) == output_size(W, H, 32) == (42, 32)
    assert res.fps == 25
    assert res.audio_codec == codec
    samples, rate = audio_samples(out)
    assert rate == 48000
    assert len(samples) / rate == pytest.approx(N / 25, abs=0.06)
    assert dominant_frequency(samples, rate) == pytest.approx(TONE_HZ, abs=5)


def test_display_rotation_is_kept(files, tmp_path):
    """A phone video stored sideways keeps its rotation flag, so players still show it upright."""
    clip, out = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    write_video(clip, synthetic_clip(pattern_image(120, 160, seed=6), 4, (W, H), seed=6), fps=10, rotation=-90)
    assert probe_video(clip).rotation == -90
    assert stylize_video(clip, out, lambda f: f, progress=False) == 4
    res = probe_video(out)
    assert res.rotation == -90 and (res.width, res.height) == (W, H)


def test_silent_input_gives_silent_output_with_same_timing(files, tmp_path):
    out = tmp_path / "inv.mp4"
    assert stylize_video(files / "silent.mp4", out, lambda f: 255 - f, progress=False) == N
    res = probe_video(out)
    assert res.audio_codec is None and res.fps == 12
    assert frame_times(out) == pytest.approx([i / 12 for i in range(N)], abs=1e-3)
    src = np.stack(list(read_frames(files / "silent.mp4"))).astype(int)
    inv = np.stack(list(read_frames(out))).astype(int)
    assert np.abs((255 - src) - inv).mean() < 4  # the function was applied to every frame


class Interrupt:
    """Stylize function that presses Ctrl-C (or fails) at frame ``at``."""

    def __init__(self, at: int, exc: type[BaseException]):
        self.at, self.exc, self.calls = at, exc, 0

    def __call__(self, frame):
        self.calls += 1
        if self.calls == self.at:
            raise self.exc("stop")
        return frame


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_run_leaves_no_output(files, tmp_path, exc):
    out = tmp_path / "out.mp4"
    stop = Interrupt(at=6, exc=exc)
    with pytest.raises(exc):
        stylize_video(files / "tone.mp4", out, stop, progress=False)
    assert stop.calls == 6
    assert os.listdir(tmp_path) == []
    # an existing OUT is kept as it was
    out.write_bytes(b"precious")
    with pytest.raises(exc):
        stylize_video(files / "tone.mp4", out, Interrupt(at=3, exc=exc), progress=False)
    assert out.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["out.mp4"]


def test_ctrl_c_in_a_real_process(files, tmp_path):
    """SIGINT to `main.py video` while it writes: exit 130, no OUT, no temp file."""
    clip = tmp_path / "long.mp4"
    write_video(clip, synthetic_clip(pattern_image(120, 160, seed=2), 400, (W, H), seed=2), fps=25)
    out = tmp_path / "out.mp4"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "video", str(clip), "-o", str(out),
                             "--style", str(files / "style.png"), "--decoder",
                             str(files / "decoder.safetensors"), "--device", "cpu", "--style-size", "64"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no temporary output appeared"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def write_text(path: Path) -> Path:
    path.write_text("this is not a video\n" * 20)
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda d: d / "missing.mp4", "no such file"),
    (lambda d: (d / "empty.mp4").write_bytes(b"") or d / "empty.mp4", "empty"),
    (lambda d: write_text(d / "text.mp4"), "not a readable video"),
    (lambda d: (d / "folder.mp4").mkdir() or d / "folder.mp4", "directory"),
    (lambda d: save_image_rgb(pattern_image(32, 32), d / "still.png") or d / "still.png", "still image"),
])
def test_bad_inputs_are_refused(files, tmp_path, capsys, make, reason):
    bad = make(tmp_path)
    out = tmp_path / "out.mp4"
    rc = cli(bad, "-o", out, "--style", files / "style.png", "--device", "cpu")
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith(f"error: {bad}: ") and reason in err and "\n" not in err
    assert not out.exists()
    with pytest.raises(InputError):
        probe_video(bad)


@pytest.mark.parametrize("args, reason", [
    (["-o", "out.avi"], "unsupported output format"),
    (["-o", "out.mp4", "--alpha", "1.5"], "--alpha"),
    (["-o", "out.mp4", "--size", "4"], "--size"),
    (["-o", "out.mp4", "--weights", "1", "2"], "weights"),
])
def test_bad_options_are_refused(files, tmp_path, capsys, args, reason):
    args = [str(tmp_path / a) if a.startswith("out.") else a for a in args]
    rc = cli(files / "tone.mp4", *args, "--style", files / "style.png")
    err = capsys.readouterr().err
    assert rc == 2 and reason in err
    assert os.listdir(tmp_path) == []


def test_damaged_input_says_how_much_was_kept(tmp_path, capsys):
    """Garbage in the middle of a clip: what decodes is written, and a warning says so."""
    frames = synthetic_clip(pattern_image(120, 160, seed=2), 40, (W, H), seed=2)
    clean = tmp_path / "clean.mkv"
    write_video(clean, frames, fps=12)
    data = clean.read_bytes()
    third = len(data) // 3
    noise = np.random.default_rng(0).integers(0, 256, len(data) // 4, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(data[:third] + noise + data[third + len(noise):])
    decodable = len(list(read_frames(damaged)))  # whatever this FFmpeg recovers
    out = tmp_path / "out.mp4"
    rc = cli(damaged, "-o", out, "--style", files_style(tmp_path), "--device", "cpu", "--style-size", 64)
    err = capsys.readouterr().err
    assert rc == 0 and len(list(read_frames(out))) == decodable
    assert (f"ended after {decodable} of about 40 frames" in err) == (decodable < 30)
    assert probe_video(clean).frames == 40  # the header's promise the warning compares with


def files_style(folder: Path) -> Path:
    path = folder / "style.png"
    save_image_rgb(pattern_image(96, 96, seed=5), path)
    return path


def test_output_onto_input_is_refused(files, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes((files / "silent.mp4").read_bytes())
    with pytest.raises(InputError, match="overwrite the input"):
        stylize_video(clip, clip, lambda f: f, progress=False)
    assert clip.read_bytes() == (files / "silent.mp4").read_bytes()
