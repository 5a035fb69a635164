"""Screenshots of the reader message in every mode, for the README and the documentation.

    python docs/screenshots.py [--out docs/img]

Serves the demo news site (examples/news_site, as `adguard-mw demo` does) wrapped in AdGuardMiddleware once per
mode that shows something (every mode but observe), opens one of its articles in headless Chromium as a reader
whose signed cookie says "blocked by an extension", and writes `<mode>-<scheme>-<width>.png` for the light and
dark colour schemes at 320 and 1280 CSS pixels wide (viewport only, not the full page, to keep the files
small), printing each path.

Deterministic: the same browser, fonts and code give the same pixels. The reader's state is fixed, the
detector is kept out of the page (its verdict must not clear the message while the picture is taken), the
user agent and language are pinned, motion is reduced and the caret hidden. Uses the Debian chromium on
PATH (or $CHROMIUM) through Playwright: `playwright install` is not needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout: `python docs/screenshots.py`

import uvicorn  # noqa: E402
from playwright.async_api import Browser, async_playwright  # noqa: E402

from adguard_mw import AdGuardMiddleware, Policy  # noqa: E402
from adguard_mw.cli import demo_app  # noqa: E402
from adguard_mw.policy import Mode  # noqa: E402
from adguard_mw.state import Verdict, VisitorState, companion_value  # noqa: E402

ARTICLE = "/articles/alder-ford-library-reopens"  # the demo's newest story
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
SIZES = {320: 640, 1280: 800}  # width -> height, CSS pixels
# A desktop Chrome, so the allow-list steps shown are Chrome's (headless Chromium would get the generic ones).
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--font-render-hinting=none"]


def modes() -> list[Mode]:
    return [mode for mode in Mode if mode is not Mode.OBSERVE]


def chromium_executable() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    raise SystemExit("no Chromium found: install Debian's chromium (apt-get install chromium) or set $CHROMIUM")


def serve(app: AdGuardMiddleware) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit(f"the demo site did not start on port {port}")
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


async def shoot(
    browser: Browser, app: AdGuardMiddleware, base: str, scheme: Literal["light", "dark"], width: int, path: Path
) -> None:
    context = await browser.new_context(
        viewport={"width": width, "height": SIZES[width]},
        device_scale_factor=1,
        color_scheme=scheme,
        reduced_motion="reduce",
        user_agent=USER_AGENT,
        locale="en-GB",
        timezone_id="UTC",
        service_workers="block",
    )
    try:
        state = VisitorState("screenshot", Verdict.BLOCKED, checked_at=int(time.time()), kind="extension")
        await context.add_cookies(
            [
                {"name": app.cookie.name, "value": app.cookie.dump(state), "url": base},
                {"name": app.cookie.companion_name, "value": companion_value(state), "url": base},
            ]
        )
        # No detector: a clean browser's check would clear the verdict, and the message with it.
        await context.route(f"**{app.names.prefix}/{app.names.script}*", lambda route: route.abort())
        page = await context.new_page()
        await page.goto(base + ARTICLE, wait_until="load")
        message = page.locator(f"body .{app.names.css_class}[data-mode]")
        await message.wait_for(state="visible", timeout=10_000)
        await page.evaluate("document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => r(null))))")
        await page.screenshot(path=path, animations="disabled", caret="hide", scale="css")
    finally:
        await context.close()


async def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    servers = []
    try:
        sites = {}
        for mode in modes():
            app = demo_app(None, Policy(mode=mode))
            base, server, thread = serve(app)
            servers.append((server, thread))
            sites[mode] = (app, base)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS
            )
            try:
                for mode, (app, base) in sites.items():
                    for scheme in SCHEMES:
                        for width in SIZES:
                            path = out / f"{mode.value}-{scheme}-{width}.png"
                            await shoot(browser, app, base, scheme, width, path)
                            written.append(path)
                            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path, flush=True)
            finally:
                await browser.close()
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, thread in servers:
            thread.join(timeout=10)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNG files")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.out.resolve()))
