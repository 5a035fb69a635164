"""The `adguard-mw` command line."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .__about__ import __version__
from .middleware import AdGuardMiddleware
from .policy import Mode, Policy
from .report import cli as report_cli

# The demo's key is public on purpose: it only signs cookies for a site on your own machine.
DEMO_SECRET_KEY = "adguard-mw-demo-key-do-not-use-in-production"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="adguard-mw", description="Ad-block detection and reader-support middleware.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="serve an example news site wrapped by the middleware")
    demo.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    demo.add_argument("--events", type=Path, default=Path("events"), help="event log directory (default: %(default)s)")
    demo.add_argument(
        "--policy",
        choices=[mode.value for mode in Mode],
        default=Mode.SOFT.value,
        help="policy mode (default: %(default)s)",
    )
    demo.add_argument(
        "--free-views", type=int, default=0, help="page views after detection before the message (default: %(default)s)"
    )
    check = commands.add_parser(
        "check-config",
        help="check an adguard-mw.toml without starting anything",
        description="Check an adguard-mw.toml without starting anything; every mistake is one line. Without the "
        "secret keys in the environment, checks what editors own and says what it did not check.",
    )
    check.add_argument("file", type=Path, help="the configuration file")
    check.add_argument(
        "--strict",
        action="store_true",
        help="check as the site starts: the secret keys, the preview token and the events folder too (for deploys)",
    )
    preview = commands.add_parser("preview", help="render each message of an adguard-mw.toml to static HTML files")
    preview.add_argument("file", type=Path, help="the configuration file (no secret keys needed)")
    preview.add_argument("--out", type=Path, default=Path("adguard-mw-preview"), help="folder (default: %(default)s)")
    preview.add_argument("--mode", action="append", help="notice, instructions, soft or hard (default: all)")
    preview.add_argument("--locale", action="append", help="a configured locale such as de (default: all)")
    preview.add_argument("--variant", action="append", help="an A/B variant's name (default: each with own texts)")
    preview.add_argument("--kind", action="append", choices=["extension", "network"], help="blocker (default: both)")
    preview.add_argument("--browser", default="chrome", help="whose allow-list steps to show (default: %(default)s)")
    report_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(args.host, args.port, args.events, Mode(args.policy), args.free_views)
    if args.command == "check-config":
        return check_config(args.file, strict=args.strict)
    if args.command == "preview":
        return preview_config(args)
    if args.command in report_cli.COMMANDS:
        return report_cli.run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def check_config(path: Path, *, strict: bool = False) -> int:
    """Every mistake on its own line (exit 1); or ok, and what was not checked without the server's environment."""
    from .config import ConfigError, load_settings

    try:
        settings = load_settings(path, strict=strict)
        middleware = _checked_middleware(settings.options)
    except (ConfigError, ValueError, TypeError) as exc:
        print(str(exc).removeprefix("adguard_mw: "), file=sys.stderr)
        return 1
    policy = settings.options["policy"]
    if settings.unchecked:
        print(f"{path}: ok as far as checked (policy {policy.mode.value})")
        for item in settings.unchecked:
            print(f"  not checked: {item}")
        print("  run `adguard-mw check-config --strict` where the site runs to check these too")
    else:
        print(f"{path}: ok (policy {policy.mode.value}, {len(settings.options['secret_key'])} secret key(s))")
    if settings.options.get("preview_token"):
        names = middleware.names
        print(f"live preview: {names.prefix}/{names.preview}?token=<the preview token>&mode=soft&locale=en")
        print(f"on your pages: {names.prefix}/{names.preview}?token=<the preview token>&mode=soft&page=/any/page")
    return 0


def preview_config(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_settings
    from .preview import KINDS, MODES, write_previews

    try:
        settings = load_settings(args.file, strict=False)  # an editor's preview needs no secret
        middleware = _checked_middleware(settings.options)
        pages = write_previews(
            middleware,
            args.out,
            modes=args.mode or MODES,
            locales=args.locale,
            variants=args.variant,
            kinds=args.kind or KINDS,
            browser=args.browser,
        )
    except (ConfigError, ValueError, TypeError) as exc:
        print(str(exc).removeprefix("adguard_mw: "), file=sys.stderr)
        return 1
    for page in pages:
        print(page.path)
    for item in settings.unchecked:
        print(f"not checked: {item}", file=sys.stderr)
    print(f"{len(pages)} preview page(s) in {args.out}/: open them in a browser", file=sys.stderr)
    return 0


def _checked_middleware(options: dict[str, Any]) -> AdGuardMiddleware:
    """The middleware built as the site would build it, for its own checks; events stay off (the file's folder
    was checked by the configuration reader, and a check must not create it)."""
    return AdGuardMiddleware(_no_app, **{**options, "events": None})


async def _no_app(scope: object, receive: object, send: object) -> None:  # pragma: no cover - never called
    raise RuntimeError("check-config builds the middleware only to check it")


def demo_app(events: Path | None, policy: Policy) -> AdGuardMiddleware:
    """The example news site wrapped by the middleware, as the demo serves it (also used by the browser tests)."""
    site = _news_site()
    return AdGuardMiddleware(
        site.create_app(),
        secret_key=DEMO_SECRET_KEY,
        policy=policy,
        site_name="The Daily Lantern",
        events=events,
        ad_slots=".ad-slot",  # the demo's articles mark their ad slots so (examples/news_site/templates/ad_slot.html)
        ad_slots_in_observe=True,
    )


def run_demo(host: str, port: int, events: Path, mode: Mode, free_views: int) -> int:
    try:
        import uvicorn
    except ImportError:
        print("adguard-mw demo needs uvicorn: pip install 'adguard-mw[demo]'", file=sys.stderr)
        return 1
    try:  # the port first: a busy one is one line, before any banner
        listening = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        reason = "is busy (another demo?)" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        print(f"adguard-mw demo: port {port} on {host} {reason}; choose another with --port", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app = demo_app(events, Policy(mode=mode, free_page_views=free_views))
    except (ValueError, TypeError) as exc:
        listening.close()
        print(f"adguard-mw demo: {str(exc).removeprefix('adguard_mw: ')}", file=sys.stderr)
        return 1
    print(f"The Daily Lantern, wrapped by adguard_mw (policy: {mode.value}), at http://{host}:{port}/")
    print(f"Events are written to {events.resolve()}/dt=YYYY-MM-DD/*.jsonl (and to the adguard_mw.events logger)")
    print("Open it in a browser with an ad blocker: the message appears from the second page view. Ctrl+C stops.")
    print(f"Afterwards: adguard-mw report {events} (a few page views give few rates: it says why)")
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])
    return 0


def _news_site() -> ModuleType:
    """The demo site ships inside the wheel as adguard_mw.examples; in a source checkout it is ./examples."""
    try:
        return importlib.import_module("adguard_mw.examples.news_site")
    except ModuleNotFoundError:
        root = str(Path(__file__).resolve().parent.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
        return importlib.import_module("examples.news_site")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
