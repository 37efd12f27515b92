"""The snapshot path without a window (jobs-thread code, called directly): the saved picture is
the engine's at the result's controls and the source's full size; unstyled results save the
source; large sources are stylized smaller and upscaled; out of memory falls back to the live
picture; the live stream's stabilizer is left alone."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import torch

from conftest import ROOT, smooth_image, stripes_image

DECODER = ROOT / "models" / "decoder.safetensors"
pytestmark = pytest.mark.skipif(not DECODER.is_file(), reason="models/decoder.safetensors missing")


@pytest.fixture(scope="module")
def st():
    from engine.runtime.stylizer import Stylizer

    s = Stylizer(device="cpu", style_side=64)
    s.set_styles([stripes_image(72, 72)])
    return s


def result_for(source: np.ndarray, styled: bool = True, **controls):
    from app.pipeline import Controls, Result

    now = time.monotonic()
    small = cv2.resize(source, (source.shape[1] // 2, source.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return Result(np.ascontiguousarray(255 - small), small, source, 3, now, now, Controls(**controls), styled)


def jobs_with(stylizer):
    from app.inference_worker import StylizerBox
    from app.job_worker import JobThread

    box = StylizerBox()
    box.set(stylizer)
    job = JobThread(box)
    done = []
    job.snapshot_done.connect(lambda path, msg: done.append((path, msg)))
    return job, done


def mad(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean())


@pytest.fixture
def source():
    return np.ascontiguousarray(smooth_image(48, 64, 4)[:, :, ::-1])


@pytest.mark.parametrize("alpha, preserve, palette", [(1.0, False, True), (0.5, False, True), (1.0, True, True),
                                                     (0.0, True, True), (1.0, False, False)])
def test_still_is_the_engine_picture_at_the_controls(st, source, alpha, preserve, palette):
    from app.pipeline import Controls
    from app.job_worker import stylize_still

    out = stylize_still(st, source, Controls(alpha=alpha, preserve_color=preserve, palette=palette))
    want = st(source, alpha=alpha, preserve_color=preserve, palette=palette)
    assert out.shape == source.shape and out.dtype == np.uint8
    # the live call's uint8 fast path rounds the network's output before the palette's map, which
    # may stretch a colour direction (up to engine.nets.palette.MAX_GAIN): a level or two more
    diff = np.abs(out.astype(int) - want.astype(int))
    assert diff.max() <= (3 if palette else 1) and diff.mean() < 1.0
    assert mad(out, source) > 10


def test_the_controls_change_the_still(st, source):
    from app.pipeline import Controls
    from app.job_worker import stylize_still

    pics = [stylize_still(st, source, Controls(alpha=a, preserve_color=p))
            for a, p in ((1.0, False), (0.5, False), (1.0, True))]
    assert min(mad(pics[0], pics[1]), mad(pics[0], pics[2]), mad(pics[1], pics[2])) > 5


def test_snapshot_file_is_the_full_size_stylized_picture(st, source, tmp_path):
    job, done = jobs_with(st)
    path = str(tmp_path / "shot.png")
    job._snapshot(result_for(source, alpha=0.5, preserve_color=True), path)
    saved = cv2.imread(path)
    assert saved.shape == source.shape
    assert mad(saved, st(source, alpha=0.5, preserve_color=True)) < 1
    assert done == [(path, f"snapshot saved: {path} (64x48)")]
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]


def test_unstyled_result_saves_the_source(st, source, tmp_path):
    job, done = jobs_with(st)
    job._snapshot(result_for(source, styled=False), str(tmp_path / "raw.png"))
    assert np.array_equal(cv2.imread(str(tmp_path / "raw.png")), source)
    job, _ = jobs_with(None)  # no model: the source too
    job._snapshot(result_for(source), str(tmp_path / "raw2.png"))
    assert np.array_equal(cv2.imread(str(tmp_path / "raw2.png")), source)


def test_large_source_is_stylized_smaller_and_upscaled(st, source, tmp_path, monkeypatch):
    import app.job_worker as job_worker

    monkeypatch.setattr(job_worker, "SNAPSHOT_MAX_SHORT_SIDE", 32)
    job, done = jobs_with(st)
    job._snapshot(result_for(source), str(tmp_path / "big.png"))
    saved = cv2.imread(str(tmp_path / "big.png"))
    assert saved.shape == source.shape
    small = st(cv2.resize(source, (43, 32), interpolation=cv2.INTER_AREA))
    assert mad(saved, cv2.resize(small, (64, 48), interpolation=cv2.INTER_CUBIC)) < 1
    assert done[0][1].endswith("(64x48, stylized at 43x32 and upscaled)")


def test_out_of_memory_falls_back_to_the_live_picture(st, source, tmp_path, monkeypatch):
    import app.job_worker as job_worker

    def oom(*a, **kw):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(job_worker, "stylize_still", oom)
    job, done = jobs_with(st)
    r = result_for(source)
    job._snapshot(r, str(tmp_path / "oom.png"))
    saved = cv2.imread(str(tmp_path / "oom.png"))
    assert mad(saved, cv2.resize(r.stylized, (64, 48), interpolation=cv2.INTER_CUBIC)) < 1
    assert "upscaled from the live view (out of memory at full size)" in done[0][1]
    monkeypatch.setattr(job_worker, "stylize_still", lambda *a, **kw: (_ for _ in ()).throw(ValueError("bug")))
    with pytest.raises(ValueError):  # other errors are not hidden (the thread reports them)
        job._snapshot(r, str(tmp_path / "bug.png"))


def test_unwritable_snapshot_path_is_an_input_error(st, source, tmp_path):
    from engine.errors import InputError

    (tmp_path / "blocked").write_text("file")
    job, _ = jobs_with(st)
    with pytest.raises(InputError, match="blocked.*cannot write image"):
        job._snapshot(result_for(source), str(tmp_path / "blocked" / "shot.png"))


def test_a_snapshot_leaves_the_live_stabilizer_alone(st, source):
    from app.pipeline import Controls
    from app.job_worker import stylize_still

    from engine.tools.synthetic import pattern_image, synthetic_clip

    clip = synthetic_clip(pattern_image(120, 160, seed=3), 6, (64, 48), seed=3)  # a slow pan
    frames = [np.ascontiguousarray(f[:, :, ::-1]) for f in clip[:3]]
    fresh = st(frames[2])
    try:
        st.stabilize = True
        st.reset()
        plain = [st(f) for f in frames]
        st.reset()
        st(frames[0])
        st(frames[1])
        stylize_still(st, source, Controls())  # a snapshot between live frames
        with_shot = st(frames[2])
    finally:
        st.stabilize = False
    assert mad(plain[2], fresh) > 0.5  # the stabilizer blends the live frames...
    assert np.array_equal(with_shot, plain[2])  # ...and a snapshot in between changes nothing
