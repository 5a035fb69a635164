"""adguard_mw in a FastAPI app: ``uvicorn examples.fastapi_app:app`` (or hypercorn, granian).

The middleware is added the way FastAPI documents middleware, with ``app.add_middleware``, and reads its settings
from ``examples/adguard-mw.toml``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import BackgroundTasks, FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from starlette.middleware.sessions import SessionMiddleware

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

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key=SESSION_KEY)


# add_middleware takes a class or any factory called the same way, factory(app, *args): from_config builds the
# middleware from the file, so editors' changes to it reload while the site runs. FastAPI builds middleware on the
# first event it gets, so run `adguard-mw check-config` before deploying (or uvicorn --lifespan on): a mistake then
# stops the start-up instead of answering 500. Added after SessionMiddleware, it wraps it; add a GZipMiddleware
# after this line, never before (it must see plain HTML).
app.add_middleware(AdGuardMiddleware.from_config, CONFIG)


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    return PAGE.format(title="Home", body="<h1>Home</h1><a href='/articles/first'>First story</a>")


@app.get("/articles/first", response_class=HTMLResponse)
async def article() -> str:
    return PAGE.format(title="Story", body="<article><h1>First story</h1><p>Text.</p></article>")


@app.get("/api/data")
async def data() -> dict[str, str]:
    return {"framework": "fastapi"}


async def numbers() -> AsyncIterator[str]:
    for number in range(5):
        yield f"line {number}\n"
        await anyio.sleep(0.01)


@app.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(numbers(), media_type="text/plain")


@app.get("/file")
async def download() -> FileResponse:
    return FileResponse(Path(__file__), media_type="text/plain", filename="fastapi_app.py")


@app.get("/visits", response_class=HTMLResponse)
async def visits(request: Request) -> str:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return PAGE.format(title="Visits", body=f"<p id='visits'>{request.session['visits']}</p>")


def remember(name: str) -> None:
    finished_tasks.append(name)


@app.get("/task", response_class=HTMLResponse)
async def task(background_tasks: BackgroundTasks, name: str = "task") -> str:
    background_tasks.add_task(remember, name)
    return PAGE.format(title="Queued", body="<p>Queued.</p>")


@app.get("/tasks")
async def tasks() -> list[str]:
    return finished_tasks


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()
