"""Video files: probe, read, write, and stylize one keeping its timing, size and sound.

Pipeline (one thread): PyAV demuxes the input; each video packet is decoded to ``HxWx3`` uint8
BGR frames, stylized by a :class:`~engine.runtime.stylizer.Stylizer` (optionally with its temporal
:mod:`~engine.runtime.stabilize` stage), re-encoded (H.264 via libx264, MPEG-4 part 2 where PyAV's
FFmpeg lacks it) with the source frame's timestamp, and muxed. Audio packets are copied as
they are when the output container accepts the codec, else re-encoded to AAC. Every frame
keeps its presentation time, so frame rate (constant or variable), frame count and duration
survive.

The output is written to a temporary file next to ``OUT`` and renamed onto it only when the
whole video is done: an interrupted or failed run leaves neither a broken ``OUT`` nor the
temporary file (an existing ``OUT`` is untouched).

:func:`write_video` writes frames (and optional audio) to a file; the generated test clips live
in :mod:`engine.tools.synthetic`.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from engine.errors import InputError, check_input_file

OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
STILL_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe")
DEFAULT_CRF = 18  # visually near-lossless H.264


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` found: size, nominal frame rate, frame count estimate, audio."""

    width: int
    height: int
    fps: Fraction
    frames: int  # from the container header, or estimated from the duration; 0 if unknown
    duration: float  # seconds, 0.0 if unknown
    audio_codec: str | None
    rotation: int = 0  # display rotation (counter-clockwise degrees) players apply to the frames


def open_video(path: str | os.PathLike):
    """Open ``path`` with PyAV and check it has a video track; every failure is an InputError
    (one line: FFmpeg's own log of the failed open is kept off the terminal).

    Returns the open input container (close it, or use it in ``with``).
    """
    import av

    path = Path(path)
    check_input_file(path, "a video file")
    try:
        with _ffmpeg_log_captured():  # FFmpeg's own "moov atom not found": the reason below says it
            container = av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, f"not a readable video ({_ffmpeg_reason(exc)})") from None
    fmt = container.format.name
    stream = video_stream(container)
    problem = None
    if stream is None:
        problem = "has no video track"
    elif any(part in STILL_IMAGE_FORMATS for part in fmt.split(",")):
        problem = "is a still image, not a video (use `main.py stylize` for images)"
    elif not stream.codec_context or stream.codec_context.width <= 0 or stream.codec_context.height <= 0:
        problem = "video track has no frame size (unsupported or corrupt)"
    if problem:
        container.close()
        raise InputError(path, problem)
    return container


def _ffmpeg_log_captured():
    """A context in which PyAV keeps FFmpeg's log messages of this thread off the terminal (PyAV
    12 prints them; later versions only when logging is switched on); ``--verbose`` keeps them."""
    import contextlib

    import av.logging

    from .native_stderr import verbose

    return contextlib.nullcontext() if verbose() else av.logging.Capture(local=True)


def video_stream(container):
    """The main video stream of an open container (cover art is skipped), or None."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _ffmpeg_reason(exc: BaseException) -> str:
    import av

    if isinstance(exc, av.error.FFmpegError) and getattr(exc, "strerror", None):
        return exc.strerror.splitlines()[0]
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def _frame_rate(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) < 1000:
            return Fraction(rate)
    return Fraction(30)


def _info(container, rotation: int = 0) -> VideoInfo:
    stream = video_stream(container)
    fps = _frame_rate(stream)
    duration = 0.0
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    frames = int(stream.frames or 0) or int(round(duration * float(fps)))
    audio = container.streams.audio[0].codec_context.codec.canonical_name if container.streams.audio else None
    cc = stream.codec_context
    return VideoInfo(cc.width, cc.height, fps, frames, duration, audio, rotation)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame count, audio codec and display rotation of a video file.

    Decodes the first frame, so a file that opens but cannot be decoded is refused here
    (InputError) rather than half-way through a run.
    """
    import av

    with open_video(path) as container:
        stream = video_stream(container)
        try:
            first = next(container.decode(stream), None)
        except (av.error.FFmpegError, ValueError) as exc:
            raise InputError(path, f"cannot decode the video ({_ffmpeg_reason(exc)})") from None
        if first is None:
            raise InputError(path, "has no decodable video frames")
        return _info(container, int(first.rotation or 0))


def read_frames(path: str | os.PathLike, fmt: str = "rgb24") -> Iterator[np.ndarray]:
    """Yield every frame of a video as ``HxWx3`` uint8 (``rgb24`` or ``bgr24``)."""
    import av

    with open_video(path) as container:
        stream = video_stream(container)
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format=fmt)
        except av.error.FFmpegError as exc:
            raise InputError(path, f"corrupt video data ({_ffmpeg_reason(exc)})") from None


# --- writing --------------------------------------------------------------------------------------

def video_codec_name() -> str:
    """``libx264`` when PyAV's FFmpeg has it, else ``mpeg4``."""
    import av

    try:
        av.codec.Codec("libx264", "w")
        return "libx264"
    except Exception:  # noqa: BLE001 - codec missing from this FFmpeg build
        return "mpeg4"


def output_format(path: str | os.PathLike) -> str:
    """Container format for an output file name (InputError for unsupported suffixes)."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(path, f"unsupported output format {suffix or '(none)'!r}; "
                               f"use one of {', '.join(sorted(OUTPUT_FORMATS))}")
    return OUTPUT_FORMATS[suffix]


def add_video_stream(out, width: int, height: int, fps: Fraction, time_base: Fraction | None = None,
                     crf: int = DEFAULT_CRF):
    """Add an H.264 (or MPEG-4) stream of ``width x height`` to an output container."""
    codec = video_codec_name()
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height = width, height
    if codec == "libx264":
        # x264's 4:2:0 needs even sides; 4:4:4 keeps odd sizes exact.
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
    else:
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = max(1_000_000, int(width * height * float(fps) * 0.25))
    stream.codec_context.time_base = time_base or Fraction(1, 1) / fps
    return stream


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float | Fraction = 24,
                audio: np.ndarray | None = None, audio_rate: int = 44100, fmt: str = "rgb24",
                crf: int = DEFAULT_CRF, audio_codec: str = "aac", rotation: int = 0) -> int:
    """Encode ``HxWx3`` uint8 frames (and optional ``[channels, samples]`` float audio in
    [-1, 1], encoded with ``audio_codec``) to ``path`` atomically. Returns the frame count.

    ``rotation``: display rotation (counter-clockwise degrees) stored for players."""
    import av

    from engine.files import atomic_write

    fps = Fraction(fps).limit_denominator(1001)
    container_format = output_format(path)
    count = 0

    def write(tmp: str) -> None:
        nonlocal count
        with av.open(tmp, "w", format=container_format) as out:
            frames_iter = iter(frames)
            first = next(frames_iter, None)
            if first is None:
                raise ValueError("no frames to write")
            video = add_video_stream(out, first.shape[1], first.shape[0], fps, crf=crf)
            if rotation:
                video.set_display_rotation(rotation)
            encoder = _audio_encoder(out, audio, audio_rate, audio_codec) if audio is not None else None
            for i, arr in enumerate(_chain(first, frames_iter)):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt)
                frame.pts = i
                out.mux(video.encode(frame))
                count += 1
            out.mux(video.encode(None))
            if encoder is not None:
                encoder(out)

    atomic_write(path, write)
    return count


def _chain(first, rest):
    yield first
    yield from rest


def _audio_encoder(out, samples: np.ndarray, rate: int, codec: str) -> Callable:
    """Add an audio stream for planar float ``samples``; returns ``encode_all(out)``."""
    import av

    samples = np.ascontiguousarray(np.atleast_2d(samples).astype(np.float32))
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "stereo" if samples.shape[0] == 2 else "mono"

    def encode_all(container) -> None:
        chunk = 1024
        for start in range(0, samples.shape[1], chunk):
            part = samples[:, start:start + chunk]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format="fltp",
                                               layout=stream.layout.name)
            frame.sample_rate = rate
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    return encode_all


# --- stylizing a file ---------------------------------------------------------------------------

def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Output ``(width, height)``: the input's, or scaled so the shorter side is ``short_side``
    (rounded to even sides for 4:2:0 video)."""
    if not short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def stylize_video(in_path: str | os.PathLike, out_path: str | os.PathLike,
                  stylize: Callable[[np.ndarray], np.ndarray], size: int | None = None,
                  progress: bool = True, crf: int = DEFAULT_CRF) -> int:
    """Stylize every frame of ``in_path`` into ``out_path`` (atomic); returns the frame count.

    ``stylize`` maps an ``HxWx3`` uint8 BGR frame to one of the same size (a
    :class:`~engine.runtime.stylizer.Stylizer`, typically). ``size``: shorter side of the output.
    """
    import av

    from engine.files import atomic_write

    in_path, out_path = Path(in_path), Path(out_path)
    container_format = output_format(out_path)
    if out_path.is_dir():
        raise InputError(out_path, "is a directory; give an output file name")
    if out_path.exists() and out_path.resolve() == in_path.resolve():
        raise InputError(out_path, "output would overwrite the input")
    info = probe_video(in_path)
    with open_video(in_path) as src:
        count = 0

        def write(tmp: str) -> None:
            nonlocal count
            with av.open(tmp, "w", format=container_format) as out:
                count = _transcode(src, out, stylize, info, size, progress, crf, in_path)

        try:
            atomic_write(out_path, write)
        except OSError as exc:
            raise InputError(out_path, f"cannot write video ({exc.strerror or exc})") from None
    return count


def _transcode(src, out, stylize, info: VideoInfo, size: int | None, progress: bool, crf: int,
               in_path: Path) -> int:
    import av
    import cv2
    from tqdm import tqdm

    vin = video_stream(src)
    vin.thread_type = "AUTO"
    width, height = output_size(info.width, info.height, size)
    vout = add_video_stream(out, width, height, info.fps, time_base=vin.time_base, crf=crf)
    if info.rotation:
        vout.set_display_rotation(info.rotation)  # frames stay as stored; players turn them
    audio = _AudioPass(src, out) if src.streams.audio else None
    step = max(1, round(1 / (float(info.fps) * float(vin.time_base))))
    last_pts, count = None, 0
    bar = tqdm(total=info.frames or None, unit="frame", desc="video", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    streams = [vin] + ([audio.stream_in] if audio else [])
    try:
        for packet in src.demux(*streams):
            if audio and packet.stream is audio.stream_in:
                audio.push(packet)
                continue
            for frame in packet.decode():
                bgr = frame.to_ndarray(format="bgr24")
                if (bgr.shape[1], bgr.shape[0]) != (width, height):
                    bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
                result = av.VideoFrame.from_ndarray(np.ascontiguousarray(stylize(bgr)), format="bgr24")
                pts = frame.pts
                if pts is None or (last_pts is not None and pts <= last_pts):
                    pts = 0 if last_pts is None else last_pts + step
                result.pts, result.time_base, last_pts = pts, vin.time_base, pts
                out.mux(vout.encode(result))
                count += 1
                bar.update(1)
    except av.error.FFmpegError as exc:
        raise InputError(in_path, f"corrupt video data after {count} frames ({_ffmpeg_reason(exc)})") from None
    finally:
        bar.close()
    if count == 0:
        raise InputError(in_path, "no decodable video frames")
    out.mux(vout.encode(None))
    if audio:
        audio.flush()
    return count


class _AudioPass:
    """Carries the first audio track over: packet copy when the container takes the codec,
    else decode → resample → AAC."""

    def __init__(self, src, out):
        import av

        self.stream_in = src.streams.audio[0]
        self.out = out
        codec = self.stream_in.codec_context.codec.canonical_name  # "mp3", not decoder "mp3float"
        if out.format.name == "matroska":
            self.copy = codec in out.supported_codecs
        else:  # MP4/MOV: only codecs every player and FFmpeg build take without "experimental"
            self.copy = codec in ("aac", "mp3", "ac3", "eac3", "alac")
        if self.copy:
            self.stream_out = out.add_stream_from_template(self.stream_in)
            return
        rate = self.stream_in.codec_context.sample_rate or 48000
        if rate not in (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000):
            rate = 48000
        layout = "mono" if self.stream_in.codec_context.layout.nb_channels == 1 else "stereo"
        self.stream_out = out.add_stream("aac", rate=rate)
        self.stream_out.layout = layout
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)

    def push(self, packet) -> None:
        if self.copy:
            if packet.dts is None or packet.size == 0:
                return
            packet.stream = self.stream_out
            self.out.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            for resampled in self.resampler.resample(frame):
                self.out.mux(self.stream_out.encode(resampled))

    def flush(self) -> None:
        if self.copy:
            return
        for resampled in self.resampler.resample(None):
            self.out.mux(self.stream_out.encode(resampled))
        self.out.mux(self.stream_out.encode(None))


def short_input_warning(path, decoded: int, expected: int) -> str | None:
    """One line when far fewer frames decoded than the header promised (a damaged or
    truncated file: the output holds what could be read), else None."""
    if expected > 0 and decoded < 0.75 * expected:
        return (f"warning: {path}: the video data ended after {decoded} of about {expected} frames "
                f"(damaged or truncated file); the output has the {decoded} that decoded")
    return None
