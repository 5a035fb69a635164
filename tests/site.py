"""A small Starlette site and a client for it, shared by the middleware tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware

KEY = "test-key-0123456789-abcdefghijklmnop"
ORIGIN = "http://news.test"
SAME_ORIGIN = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36"
PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Story</title></head>"
    "<body><article>Text</article></body></html>"
)


async def article(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"Cache-Control": "public, max-age=600", "ETag": '"v1"'})


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def stream(request: Request) -> Response:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"<html><he"
        yield b"ad><title>Live</title></head><body>"
        yield b"</body></html>"

    return StreamingResponse(chunks(), media_type="text/html")


async def login(request: Request) -> Response:
    response = PlainTextResponse("ok")
    response.set_cookie("session", "s1")
    response.set_cookie("theme", "dark")
    return response


def bare_site() -> Starlette:
    return Starlette(
        routes=[
            Route("/", article),
            Route("/news/{slug}", article),
            Route("/api", api),
            Route("/stream", stream),
            Route("/login", login, methods=["POST", "GET"]),
        ]
    )


def wrapped(**options: Any) -> AdGuardMiddleware:
    options.setdefault("secret_key", KEY)
    return AdGuardMiddleware(bare_site(), **options)


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN, headers={"User-Agent": CHROME})


def own_url(app: AdGuardMiddleware, name: str) -> str:
    return f"{app.names.prefix}/{name}"


async def report(c: httpx.AsyncClient, app: AdGuardMiddleware, verdict: str, **extra: Any) -> httpx.Response:
    """Post what a detector would: every signal saying `verdict`."""
    body = {"signals": {"cosmetic": verdict, "script": verdict, "image": verdict}, "path": "/news/1", **extra}
    return await c.post(own_url(app, app.names.beacon), json=body, headers=SAME_ORIGIN)


def logged(app: AdGuardMiddleware, directory: Path) -> list[dict[str, Any]]:
    """Every event the app has written to its JSON lines directory, oldest first."""
    app.events.flush()
    files = sorted(directory.glob("dt=*/*.jsonl"))
    return [json.loads(line) for file in files for line in file.read_text().splitlines()]
