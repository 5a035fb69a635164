"""The middleware and a compression middleware, in both orders.

Inside compression (``GZipMiddleware(AdGuardMiddleware(app))``, Starlette's ``add_middleware(GZipMiddleware)``
after ours) pages are injected, then compressed: the recommended order. Outside it, the middleware sees
gzip-encoded pages and passes them through untouched, by design (it never decompresses); only readers whose
browser does not ask for gzip get the detector then.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from adguard_mw import AdGuardMiddleware

KEY = "compression-test-key-not-a-secret-0123456789"
PAGE = "<!doctype html><html><head><meta charset='utf-8'><title>T</title></head><body>" + "<p>news</p>" * 200
PAGE += "</body></html>"


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def chunks() -> AsyncIterator[str]:
    yield PAGE[:40]
    yield PAGE[40:]


async def stream(request: Request) -> Response:
    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


async def data(request: Request) -> Response:
    return JSONResponse({"items": list(range(300))})


def site() -> Starlette:
    return Starlette(routes=[Route("/", page), Route("/stream", stream), Route("/data", data)])


def detector_tag(app: AdGuardMiddleware) -> bytes:
    return f'<script src="{app.names.prefix}/{app.names.script}?{app.names.version_param}='.encode()


async def fetch(app: ASGIApp, path: str, encoding: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        return await client.get(path, headers={"Accept-Encoding": encoding})


@pytest.mark.parametrize("path", ["/", "/stream"])
async def test_inside_compression_pages_are_injected_then_compressed(path: str) -> None:
    ours = AdGuardMiddleware(site(), secret_key=KEY, policy="soft")
    response = await fetch(GZipMiddleware(ours), path, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content.count(detector_tag(ours)) == 1  # httpx decompressed it
    assert response.content.endswith(b"</body></html>")


async def test_added_with_add_middleware_ours_first_is_the_same_order() -> None:
    app = site()
    app.add_middleware(AdGuardMiddleware, secret_key=KEY, policy="soft")
    app.add_middleware(GZipMiddleware)  # added last: outermost
    response = await fetch(app, "/", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content.count(b"<script src=") == 1


@pytest.mark.parametrize("path", ["/", "/stream"])
async def test_outside_compression_encoded_pages_pass_through_uninjected(path: str) -> None:
    inner = GZipMiddleware(site())
    ours = AdGuardMiddleware(inner, secret_key=KEY, policy="soft")
    direct = await fetch(inner, path, "gzip")
    response = await fetch(ours, path, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert detector_tag(ours) not in response.content
    assert response.content == direct.content == PAGE.encode()
    assert gzip.decompress(await _raw(ours, path)) == PAGE.encode()  # still valid gzip: never touched


async def test_outside_compression_readers_without_gzip_still_get_the_detector() -> None:
    ours = AdGuardMiddleware(GZipMiddleware(site()), secret_key=KEY, policy="soft")
    response = await fetch(ours, "/", "identity")
    assert "content-encoding" not in response.headers
    assert response.content.count(detector_tag(ours)) == 1


@pytest.mark.parametrize("outside", [False, True])
async def test_json_is_compressed_and_never_injected_in_either_order(outside: bool) -> None:
    app: ASGIApp
    if outside:
        app = AdGuardMiddleware(GZipMiddleware(site()), secret_key=KEY)
    else:
        app = GZipMiddleware(AdGuardMiddleware(site(), secret_key=KEY))
    response = await fetch(app, "/data", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"items": list(range(300))}


async def _raw(app: ASGIApp, path: str) -> bytes:
    """The body bytes as sent on the wire, without httpx's decoding."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://news.test") as client,
        client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response,
    ):
        return b"".join([chunk async for chunk in response.aiter_raw()])
