"""``pickup-kiosk`` (also ``python -m kiosk``): the command line of docs/design.md.

Each sub-command lives in its own module, imported only when it runs, so ``decode`` does not
load pygame and ``server`` does not load OpenCV. Each entry point takes the parsed arguments and
returns the process's exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from kiosk import __version__
from kiosk.errors import ConfigError, KioskError

logger = logging.getLogger(__name__)

# sub-command -> "module:function"
ENTRY_POINTS = {
    "run": "kiosk.app:main_run",
    "demo": "kiosk.demo:main",
    "decode": "kiosk.camera.cli:main",
    "selftest": "kiosk.selftest:main",
    "server": "kiosk.server.cli:main",
    "member-code": "kiosk.server.cli:main_member_code",
    "voice": "kiosk.voice:main",
}


def _demo_keys() -> str:
    from kiosk.demo import key_help  # light: the demo imports pygame only when it runs

    return key_help()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pickup-kiosk", description="Self-service parcel pickup kiosk and its reference backend."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the kiosk, fullscreen, real hardware as configured")
    run.add_argument("--config", default="/etc/pickup-kiosk/kiosk.toml", help="TOML config file")

    demo = sub.add_parser(
        "demo",
        help="everything on one machine: server, simulated camera and GPIO",
        epilog=_demo_keys(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--headless", action="store_true", help="no window (SDL dummy video driver)")
    demo.add_argument("--scenario", metavar="FILE", help="play a scenario file and exit")
    demo.add_argument("--out", metavar="DIR", help="where a scenario writes log.txt, gpio.csv, screenshots")
    demo.add_argument("--mode", choices=("counter", "locker"), help="counter or locker (default: counter)")
    demo.add_argument("--config", help="a kiosk config to start from (display, scanner, locker)")
    demo.add_argument("--size", metavar="WxH", help="window size, e.g. 800x480")
    demo.add_argument("--lang", choices=("zh-TW", "en"), help="starting language")

    decode = sub.add_parser("decode", help="decode still images with the kiosk's decoder")
    decode.add_argument("--json", action="store_true", help="one JSON line per image")
    decode.add_argument("--engine", choices=("auto", "zbar", "zxing"), default="auto")
    decode.add_argument("images", nargs="+", metavar="IMAGE")

    selftest = sub.add_parser("selftest", help="check config, font, camera, decoder, GPIO, backend, outbox")
    selftest.add_argument("--config", default="/etc/pickup-kiosk/kiosk.toml", help="TOML config file")
    selftest.add_argument("--doors", action="store_true", help="also pulse every door, one after another")

    server = sub.add_parser("server", help="the reference backend (docs/api.md)")
    server.add_argument("--db", default="sqlite:///pickup-server.db", help="SQLAlchemy URL")
    server.add_argument("--seed", metavar="FILE", help="load a seed file into an empty database")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8080)
    server.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    server.add_argument("--workers", type=int, default=1, help="server processes (all state is in the database)")
    server.add_argument("--state-dir", metavar="DIR", help="where the log key is kept (default: the database's folder)")
    # the back office (kiosk/server/admin/cli.py)
    server.add_argument("--create-admin", metavar="NAME", help="create an admin (password from stdin) and exit")
    server.add_argument("--smtp", metavar="URL", help="send notices: smtp[s]://[user:password@]HOST:PORT")
    server.add_argument("--mail-from", metavar="ADDR", help="the notices' From address")
    server.add_argument("--metrics-token-file", metavar="FILE", help="/metrics needs this Bearer token")

    code = sub.add_parser("member-code", help="print a member's current rotating member code (docs/api.md r2)")
    code.add_argument("--db", default="sqlite:///pickup-server.db", help="SQLAlchemy URL")
    code.add_argument("--member", required=True, metavar="ID", help="the member's id, e.g. m_1")

    voice = sub.add_parser("voice", help="render the spoken prompts (espeak-ng) ahead of time")
    voice.add_argument("--build", nargs="?", const="", required=True, metavar="DIR", help="clip folder")
    voice.add_argument("--config", help="take the folder ([voice] dir) and doors from this config")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = ENTRY_POINTS[args.command].split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        return int(func(args) or 0)
    except ConfigError as exc:
        print(f"pickup-kiosk: config error: {exc}", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"pickup-kiosk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
