"""adguard_mw in a Litestar app: ``uvicorn examples.litestar_app:app`` (or hypercorn, granian).

Litestar runs the middleware in ``middleware=[DefineMiddleware(...)]`` only for requests that match a route
handler, so the middleware's own endpoints (the detector script, the beacon) would never reach it. Wrap the ASGI
app instead, as for any other ASGI app; Litestar's own middleware (sessions here) stays where it is. The settings
come from ``examples/adguard-mw.toml``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from litestar import Litestar, MediaType, Request, Response, get, websocket_listener
from litestar.background_tasks import BackgroundTask
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.response import File, Stream

from adguard_mw import AdGuardMiddleware

# DEMO KEY, PUBLIC: used only when ADGUARD_MW_SECRET_KEYS is unset, so that the example runs with no setup. On a
# real site set ADGUARD_MW_SECRET_KEYS in the environment (python -c 'import secrets; print(secrets.token_urlsafe(32))')
# and delete this line: anyone can forge cookies signed with a key published here.
os.environ.setdefault("ADGUARD_MW_SECRET_KEYS", "demo-only-key-replace-me-in-production")
CONFIG = Path(__file__).resolve().parent / "adguard-mw.toml"  # shared by every example; see docs/configuration.md
PAGE = "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"
finished_tasks: list[str] = []


@get("/", media_type=MediaType.HTML)
async def home() -> str:
    return PAGE.format(title="Home", body="<h1>Home</h1><a href='/articles/first'>First story</a>")


@get("/articles/first", media_type=MediaType.HTML)
async def article() -> str:
    return PAGE.format(title="Story", body="<article><h1>First story</h1><p>Text.</p></article>")


@get("/api/data")
async def data() -> dict[str, str]:
    return {"framework": "litestar"}


async def numbers() -> AsyncIterator[str]:
    for number in range(5):
        yield f"line {number}\n"
        await anyio.sleep(0.01)


@get("/stream")
async def stream() -> Stream:
    return Stream(numbers(), media_type=MediaType.TEXT)


@get("/file")
async def download() -> File:
    return File(Path(__file__), filename="litestar_app.py", media_type=MediaType.TEXT)


@get("/visits", media_type=MediaType.HTML)
async def visits(request: Request) -> str:  # type: ignore[type-arg]
    count = request.session.get("visits", 0) + 1
    request.set_session({"visits": count})
    return PAGE.format(title="Visits", body=f"<p id='visits'>{count}</p>")


async def remember(name: str) -> None:
    finished_tasks.append(name)


@get("/task")
async def task(request: Request) -> Response[str]:  # type: ignore[type-arg]
    name = request.query_params.get("name", "task")
    page = PAGE.format(title="Queued", body="<p>Queued.</p>")
    return Response(page, media_type=MediaType.HTML, background=BackgroundTask(remember, name))


@get("/tasks")
async def tasks() -> list[str]:
    return finished_tasks


@websocket_listener("/ws")
async def echo(data: str) -> str:
    return data


site = Litestar(
    route_handlers=[home, article, data, stream, download, visits, task, tasks, echo],
    middleware=[ServerSideSessionConfig().middleware],
)
# Wrapped, not DefineMiddleware (see the top of this file): the wrapper reads the file now, so a mistake in it stops
# the start-up with one line, and reloads it when editors change it. Serve `app`; `site` is the Litestar app.
app = AdGuardMiddleware.from_config(site, CONFIG)
