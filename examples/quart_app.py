"""adguard_mw in a Quart app: ``hypercorn examples.quart_app:app`` (or uvicorn, granian).

Quart documents ASGI middleware as wrapping ``app.asgi_app``; the ``app`` object stays a Quart app. The settings
come from ``examples/adguard-mw.toml``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from quart import Quart, Response, request, send_file, session, websocket

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

app = Quart(__name__)
app.secret_key = SESSION_KEY
# Quart documents middleware as a replacement of app.asgi_app, so from_config wraps it: the file is read now (a
# mistake stops the start-up with one line) and reloaded when editors change it. The attribute is typed with
# Quart's own ASGI TypedDicts, which no framework-neutral middleware can match, hence the one ignore.
app.asgi_app = AdGuardMiddleware.from_config(app.asgi_app, CONFIG)  # type: ignore[assignment]


@app.get("/")
async def home() -> str:
    return PAGE.format(title="Home", body="<h1>Home</h1><a href='/articles/first'>First story</a>")


@app.get("/articles/first")
async def article() -> str:
    return PAGE.format(title="Story", body="<article><h1>First story</h1><p>Text.</p></article>")


@app.get("/api/data")
async def data() -> dict[str, str]:
    return {"framework": "quart"}


@app.get("/stream")
async def stream() -> Response:
    async def numbers() -> AsyncIterator[str]:
        for number in range(5):
            yield f"line {number}\n"
            await asyncio.sleep(0.01)

    return Response(numbers(), mimetype="text/plain")


@app.get("/file")
async def download() -> Response:
    return await send_file(
        Path(__file__), mimetype="text/plain", as_attachment=True, attachment_filename="quart_app.py"
    )


@app.get("/visits")
async def visits() -> str:
    session["visits"] = session.get("visits", 0) + 1
    return PAGE.format(title="Visits", body=f"<p id='visits'>{session['visits']}</p>")


async def remember(name: str) -> None:
    finished_tasks.append(name)


@app.get("/task")
async def task() -> str:
    app.add_background_task(remember, request.args.get("name", "task"))
    return PAGE.format(title="Queued", body="<p>Queued.</p>")


@app.get("/tasks")
async def tasks() -> list[str]:
    return finished_tasks


@app.websocket("/ws")
async def echo() -> None:
    await websocket.send(await websocket.receive())
