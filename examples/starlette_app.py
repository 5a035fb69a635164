"""adguard_mw in a Starlette app: ``uvicorn examples.starlette_app:app`` (or hypercorn, granian).

The middleware is added the way Starlette documents middleware, with ``app.add_middleware``, and reads its settings
from ``examples/adguard-mw.toml``. The routes show the response shapes a real site has: HTML pages, JSON, a stream,
a file, a websocket, a session and a background task.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from adguard_mw import AdGuardMiddleware

# DEMO KEY, PUBLIC: used only when ADGUARD_MW_SECRET_KEYS is unset, so that the example runs with no setup. On a
# real site set ADGUARD_MW_SECRET_KEYS in the environment (python -c 'import secrets; print(secrets.token_urlsafe(32))')
# and delete this line: anyone can forge cookies signed with a key published here.
os.environ.setdefault("ADGUARD_MW_SECRET_KEYS", "demo-only-key-replace-me-in-production")
# The framework's own session secret is a different key (DEMO fallback too; set SESSION_SECRET_KEY in production).
SESSION_KEY = os.environ.get("SESSION_SECRET_KEY", "demo-session-key-replace-me-in-production")
CONFIG = Path(__file__).resolve().parent / "adguard-mw.toml"  # shared by every example; see docs/configuration.md
PAGE = "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"
finished_tasks: list[str] = []


async def home(request: Request) -> Response:
    return HTMLResponse(PAGE.format(title="Home", body="<h1>Home</h1><a href='/articles/first'>First story</a>"))


async def article(request: Request) -> Response:
    return HTMLResponse(PAGE.format(title="Story", body="<article><h1>First story</h1><p>Text.</p></article>"))


async def data(request: Request) -> Response:
    return JSONResponse({"framework": "starlette"})


async def numbers() -> AsyncIterator[str]:
    for number in range(5):
        yield f"line {number}\n"
        await anyio.sleep(0.01)


async def stream(request: Request) -> Response:
    return StreamingResponse(numbers(), media_type="text/plain")


async def download(request: Request) -> Response:
    return FileResponse(Path(__file__), media_type="text/plain", filename="starlette_app.py")


async def visits(request: Request) -> Response:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return HTMLResponse(PAGE.format(title="Visits", body=f"<p id='visits'>{request.session['visits']}</p>"))


async def remember(name: str) -> None:
    finished_tasks.append(name)


async def task(request: Request) -> Response:
    name = request.query_params.get("name", "task")
    page = PAGE.format(title="Queued", body="<p>Queued.</p>")
    return HTMLResponse(page, background=BackgroundTask(remember, name))


async def tasks(request: Request) -> Response:
    return JSONResponse(finished_tasks)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


app = Starlette(
    routes=[
        Route("/", home),
        Route("/articles/first", article),
        Route("/api/data", data),
        Route("/stream", stream),
        Route("/file", download),
        Route("/visits", visits),
        Route("/task", task),
        Route("/tasks", tasks),
        WebSocketRoute("/ws", echo),
    ]
)
app.add_middleware(SessionMiddleware, secret_key=SESSION_KEY)
# add_middleware takes a class or any factory called the same way, factory(app, *args): from_config builds the
# middleware from the file, so editors' changes to it reload while the site runs. Starlette builds middleware on
# the first event it gets, so run `adguard-mw check-config` before deploying (or uvicorn --lifespan on): a mistake
# then stops the start-up instead of answering 500. Added after SessionMiddleware, it wraps it; add a
# GZipMiddleware after this line, never before (it must see plain HTML).
app.add_middleware(AdGuardMiddleware.from_config, CONFIG)
