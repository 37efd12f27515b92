"""adain-live: restyle a live camera feed (or an image or video) in the style of any painting.

"python main.py" opens the app; the commands below are the command-line tools
("python main.py COMMAND --help" for each). Bad input ends with one line,
"error: FILE: reason", on stderr and exit code 2; Ctrl-C ends with "interrupted"
and exit code 130. Library messages stay off the terminal unless --verbose.
"""
from __future__ import annotations

import argparse
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=None,
                        help="app only: camera index, video file, image file, or 'pattern'")
    parser.add_argument("--style", nargs="*", default=None, metavar="IMAGE",
                        help="app only: style images to add to the gallery")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="app only: inference device")
    parser.add_argument("--model", default=None, choices=["auto", "lite", "vgg"],
                        help="app only: Auto, Real-time (lite) or Quality (vgg) model "
                             "(default: the window's remembered choice; see README)")
    parser.add_argument("--camera-mode", default="1280x720@30", metavar="WxH[@FPS][:FOURCC]",
                        help="app only: what cameras are asked for (default 1280x720@30, MJPG); "
                             "the status bar shows what the camera granted")
    parser.add_argument("--verbose", action="store_true",
                        help="show the libraries' own messages too (FFmpeg, LiteRT)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    parser.add_argument("--screenshot", default=None, help=argparse.SUPPRESS)  # app: PNG of the window
    parser.add_argument("--quit-after", type=float, default=None, help=argparse.SUPPRESS)  # app: close after N s

    p = sub.add_parser("app", help="open the live window (the default with no command)")
    # SUPPRESS defaults: options given before 'app' are not reset by the subcommand
    p.add_argument("--source", default=argparse.SUPPRESS)
    p.add_argument("--style", nargs="*", default=argparse.SUPPRESS, metavar="IMAGE")
    p.add_argument("--device", default=argparse.SUPPRESS, choices=["auto", "cpu", "cuda"])
    p.add_argument("--model", default=argparse.SUPPRESS, choices=["auto", "lite", "vgg"])
    p.add_argument("--camera-mode", default=argparse.SUPPRESS)
    p.add_argument("--screenshot", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--quit-after", type=float, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    import importlib

    from engine.cli import SUBCOMMANDS

    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        importlib.import_module(module).add_arguments(p)
        p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="show the libraries' own messages too (FFmpeg, LiteRT)")
        p.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the app or a subcommand; returns the exit code. Ctrl-C or SIGTERM at any moment, even
    while the parser is built, ends with one line and 130/143 (``main.py live``: 0), never a
    traceback (engine/cli/signals.py)."""
    from engine.cli.signals import Interrupted, StopSignals
    from engine.errors import InputError

    argv = sys.argv[1:] if argv is None else argv
    signals = StopSignals().install()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        signals.check()  # a Ctrl-C while the subcommands were imported
        if args.verbose:
            os.environ["ADAIN_VERBOSE"] = "1"  # engine/media/native_stderr.py
        if (args.command or "app") == "app":
            signals.restore()  # the window handles Ctrl-C itself (app/launch.py)
        return _dispatch(args, parser)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        if _command_of(argv) == "live":  # stopping is how live ends, even while it starts
            print("live: stopped", flush=True)
            return 0
        print("interrupted", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        signals.restore()


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), without parsing it."""
    from engine.cli import SUBCOMMANDS

    return next((word for word in argv if word in SUBCOMMANDS or word == "app"), None)


def run_and_leave(argv: list[str] | None = None) -> int:
    """:func:`main`, then end the process at once if a stop left a daemon thread inside a C++
    call, which finalizing the interpreter would abort on (engine/cli/signals.py: ``leave``)."""
    code = main(argv)
    from engine.cli.signals import leave

    return leave(code)


def _dispatch(args, parser) -> int:
    cmd = args.command or "app"
    if cmd == "app":
        from engine.media.camera import parse_camera_mode

        camera = parse_camera_mode(args.camera_mode)  # bad values end here, before any window
        from app.launch import run_app

        return run_app(source=args.source, styles=args.style, device=args.device,
                       screenshot=args.screenshot, quit_after=args.quit_after, camera=camera,
                       model=args.model)
    if getattr(args, "module", None):
        import importlib

        return importlib.import_module(args.module).run(args)
    parser.error(f"unknown command {cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(run_and_leave())
