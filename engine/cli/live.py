"""``main.py live``: the stylized camera without a window, for other apps to read.

    python main.py live --source 0 --style painting.jpg --serve 127.0.0.1:8080 --virtual-cam

Outputs: ``--serve HOST:PORT`` (an MJPEG stream at ``/stream.mjpg``, ``/snapshot.jpg`` and a
page at ``/``; binding beyond 127.0.0.1 needs ``--token``) and ``--virtual-cam`` (a virtual
webcam for Zoom, Meet, Teams, OBS). Prints a status line every few seconds; Ctrl-C or SIGTERM
stops capture, inference and the outputs and exits 0.
"""
from __future__ import annotations

from engine.cli.common import add_palette_argument
from engine.errors import InputError


def add_arguments(p) -> None:
    from engine.cli.common import add_model_arguments, add_model_choice

    p.add_argument("--source", default="0",
                   help="camera index, video file (looped), image, or 'pattern[:WxH]' (default 0)")
    p.add_argument("--camera-mode", default="1280x720@30", metavar="WxH[@FPS][:FOURCC]",
                   help="what a camera is asked for (default 1280x720@30, MJPG)")
    p.add_argument("--style", nargs="+", required=True, metavar="IMAGE", help="style image(s)")
    p.add_argument("--weights", nargs="+", type=float, default=None,
                   help="one weight per style (normalised to sum 1)")
    p.add_argument("--alpha", type=float, default=1.0, help="content–style trade-off in [0,1]")
    add_palette_argument(p)
    p.add_argument("--stabilize", choices=["on", "off"], default="on",
                   help="temporal anti-flicker stage (default on)")
    p.add_argument("--size", type=int, default=None,
                   help="processing size, shorter side in pixels (default 256 on CPU, 512 on CUDA)")
    p.add_argument("--serve", default=None, metavar="HOST:PORT",
                   help="serve an MJPEG stream (127.0.0.1:8080 keeps it on this computer)")
    p.add_argument("--token", default=None, metavar="T",
                   help="require ?token=T on every request; needed to serve beyond 127.0.0.1")
    p.add_argument("--virtual-cam", action="store_true",
                   help="send the frames to a virtual camera (Linux: v4l2loopback; Windows/macOS: OBS)")
    p.add_argument("--status-every", type=float, default=5.0, metavar="S",
                   help="seconds between status lines (default 5)")
    add_model_arguments(p)
    add_model_choice(p)


def options_from_args(args):
    """Validate ``args`` and turn them into :class:`~engine.runtime.live.LiveOptions`."""
    from engine.media.camera import parse_camera_mode
    from engine.media.outputs.base import OutputError
    from engine.media.outputs.mjpeg import check_access, parse_bind
    from engine.runtime.live import LiveOptions

    if not 0.0 <= args.alpha <= 1.0:
        raise InputError(None, f"--alpha must be in [0, 1], got {args.alpha}")
    if args.weights is not None and len(args.weights) != len(args.style):
        raise InputError(None, f"{len(args.weights)} weights for {len(args.style)} styles")
    if args.size is not None and not 32 <= args.size <= 4320:
        raise InputError(None, f"--size must be between 32 and 4320, got {args.size}")
    if args.serve is None and not args.virtual_cam:
        raise InputError(None, "nothing to send the frames to: add --serve HOST:PORT and/or --virtual-cam")
    if args.token is not None and args.serve is None:
        raise InputError(None, "--token needs --serve")
    serve = None
    try:
        if args.serve is not None:  # an empty --serve is a bad port, not "no stream"
            serve = parse_bind(args.serve)
            check_access(*serve, args.token)
    except OutputError as exc:
        raise InputError(None, str(exc)) from None
    camera = parse_camera_mode(args.camera_mode)
    return LiveOptions(source=args.source, camera=camera, styles=list(args.style), weights=args.weights, alpha=args.alpha, palette=args.palette,
                       stabilize=args.stabilize == "on", size=args.size, serve=serve, token=args.token,
                       virtual_cam=args.virtual_cam, status_every=max(0.2, args.status_every),
                       device=args.device, decoder=args.decoder, encoder=args.encoder,
                       model=args.model or args.model_default, lite=args.lite)


def _learning(args, options, names):
    """The style learned for the Real-time model beside the stream (issue #28), unless --no-learn."""
    if not getattr(args, "learn", True):
        return None
    from pathlib import Path

    from engine.learn.live import LiveLearning

    return LiveLearning(options.styles, options.weights, " + ".join(Path(str(n)).stem for n in names))


def run(args) -> int:
    """Validate, load the styles, run until Ctrl-C/SIGTERM; a stop at any moment (even while the
    model loads or a style encodes) ends with exit 0, port released (engine/cli/signals.py)."""
    from engine.cli.signals import Interrupted, StopSignals
    from engine.media.imageio import load_image_rgb
    from engine.media.outputs.base import OutputError
    from engine.runtime.live import run_live

    own = StopSignals.active is None  # run directly (tests): these handlers are ours to restore
    signals = StopSignals.current()
    try:
        options = options_from_args(args)
        names = list(options.styles)
        options.styles = [load_image_rgb(s) for s in options.styles]  # bad style files fail here, in one line
        return run_live(options, signals.stop, companion=_learning(args, options, names))
    except OutputError as exc:
        raise InputError(None, str(exc)) from None
    except Interrupted:  # engine.runtime.live has said where it stopped
        return 0
    finally:
        if own:
            signals.restore()
