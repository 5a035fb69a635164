"""Every code block in the README and the docs is a tested example, so the docs cannot drift from the code.

Each ```python block runs as written, in a fresh namespace holding only what the docs say a snippet may assume:

    app      an ASGI app (a Starlette site with an HTML page at /), for snippets that wrap "your app"
    CONFIG   the path of a valid adguard-mw.toml, also in the working directory, with its keys in the environment
    KEY      a secret key

and a snippet's elisions filled in with real things: ``secret_key=...`` gets KEY, ``routes=[...]`` and
``route_handlers=[...]`` a route serving an HTML page, Django's ``"mysite.settings"`` the example project's. When
a snippet leaves an ASGI app behind (``app`` or ``application``), the test browses it: the page must carry the
detector's script tag and the detector must be served, or the middleware is not really in the path.
Each ```toml block is a file that ``adguard-mw check-config`` accepts (without the server's secrets).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw.config import load_settings
from adguard_mw.names import Names

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEY = "docs-example-key-0123456789abcdef"
PAGE = "<!doctype html><html><head><title>Story</title></head><body><p>Text</p></body></html>"
FILE = '[site]\nname = "The Daily Lantern"\n\n[policy]\nmode = "soft"\n'
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[Any]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append(pytest.param(match.group(2), id=f"{path.relative_to(ROOT)}:{line}"))
    return found


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


def litestar_handlers() -> list[Any]:
    from litestar import MediaType, get

    @get("/", media_type=MediaType.HTML, sync_to_thread=False)
    def home() -> str:
        return PAGE

    return [home]


def filled_in(snippet: str) -> str:
    """The snippet with its elisions replaced by real things (names the namespace below provides)."""
    snippet = snippet.replace("secret_key=...", "secret_key=KEY")
    snippet = snippet.replace("routes=[...]", "routes=ROUTES").replace("routes=...", "routes=ROUTES")
    snippet = snippet.replace("route_handlers=[...]", "route_handlers=HANDLERS")
    return snippet.replace('"mysite.settings"', '"examples.django_app.settings"')


@pytest.fixture
def given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    config = tmp_path / "adguard-mw.toml"
    config.write_text(FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEY)
    monkeypatch.delenv("ADGUARD_MW_CONFIG", raising=False)
    for name in ("DJANGO_SETTINGS_MODULE",):  # a snippet's os.environ.setdefault must not outlive its test
        monkeypatch.setenv(name, os.environ.get(name, "")) if name in os.environ else monkeypatch.delenv(name, False)
    app = Starlette(routes=[Route("/", page)])
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield {
        "__name__": "docs_example",
        "__file__": str(tmp_path / "app.py"),
        "app": app,
        "CONFIG": str(config),
        "KEY": KEY,
        "ROUTES": [Route("/", page)],
        "HANDLERS": litestar_handlers(),
    }
    root.handlers[:], root.level = handlers, level  # a framework that sets up logging (Litestar) must not stay


@pytest.mark.parametrize("snippet", blocks("python"))
async def test_each_python_example_runs_and_puts_the_middleware_in_the_path(
    snippet: str, given: dict[str, Any]
) -> None:
    namespace = dict(given)
    exec(compile(filled_in(snippet), "<docs example>", "exec"), namespace)  # the docs' own code, as written
    built = namespace.get("application", namespace["app"])
    if built is given["app"] and "add_middleware" not in snippet:
        return  # the snippet builds no app (a policy, a helper): running it was the test
    names = Names.derive(KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=built), base_url="http://news.test") as client:
        home = await client.get("/")
        if home.status_code == 200 and "text/html" in home.headers.get("content-type", ""):
            tag = re.search(rf'<script src="({re.escape(names.prefix)}/[^"?]+)\?[^"]+" defer', home.text)
            assert tag, f"no detector script tag in the page: {home.text[:300]}"
            script = tag.group(1)
        else:  # an app without a page at / (a bare Quart app): the detector is still ours to serve
            script = f"{names.prefix}/{names.script}"
        detector = await client.get(script)
    assert detector.status_code == 200 and "javascript" in detector.headers["content-type"]


@pytest.mark.parametrize("text", blocks("toml"))
def test_each_configuration_example_is_a_file_check_config_accepts(text: str, tmp_path: Path) -> None:
    path = tmp_path / "adguard-mw.toml"
    path.write_text(text)
    load_settings(path, environ={}, strict=False)


def test_there_are_examples_to_test() -> None:
    assert len(blocks("python")) >= 8 and len(blocks("toml")) >= 4
