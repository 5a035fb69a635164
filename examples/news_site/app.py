"""The Daily Lantern as a bare Starlette app.

Nothing from ``adguard_mw`` is imported here: the demo wraps this app from the outside, which is how the
middleware is meant to be used on a real site. The routes deliberately cover the response shapes the middleware
has to cope with: templated HTML, a 404 page, JSON, static files, a chunked HTML stream and a file download.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .articles import get_article, latest_first

_HERE = pathlib.Path(__file__).parent
SITE_NAME = "The Daily Lantern"

# Paths are relative to this file so the site works both from a checkout and from inside the installed wheel
# (where it lives at ``adguard_mw/examples/news_site``).
templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.globals["site_name"] = SITE_NAME
templates.env.globals["current_year"] = dt.date.today().year

# The live feed is sent in small pieces, with ``<head>`` and ``</body>`` split across chunk borders, so that
# streaming HTML injection is exercised on the awkward cases rather than only on whole documents.
_STREAM_CHUNKS: tuple[bytes, ...] = (
    b'<!doctype html><html lang="en"><he',
    b'ad><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    b"<title>Live updates \xe2\x80\x94 The Daily Lantern</title>",
    b'<link rel="stylesheet" href="/static/site.css"></he',
    b'ad><body><main class="page live"><h1>Live: Wren Valley updates</h1>',
    b"<p>09:02 \xe2\x80\x94 Station Road closed northbound between the bridge and the school for resurfacing.</p>",
    b"<p>09:17 \xe2\x80\x94 The Millbrook weir footpath has reopened after Tuesday's flooding.</p>",
    b"<p>09:40 \xe2\x80\x94 Alder Ford market moves to the village hall car park this Saturday.</p>",
    b'<p><a href="/">Back to the front page</a></p></main></bo',
    b"dy></html>",
)
_STREAM_DELAY_SECONDS = 0.01


async def front_page(request: Request) -> Response:
    """List every story, newest first, each linking to its own page."""
    return templates.TemplateResponse(request, "index.html", {"articles": latest_first()})


async def article_page(request: Request) -> Response:
    """Render one story; an unknown slug goes through the site's normal 404 handler."""
    article = get_article(request.path_params["slug"])
    if article is None:
        raise HTTPException(status_code=404)
    return templates.TemplateResponse(request, "article.html", {"article": article})


async def reader_app(request: Request) -> Response:
    """The reader app: one page that switches stories client-side (static/app.js); each address also renders."""
    articles = latest_first()
    slug = request.path_params.get("slug")
    article = get_article(slug) if slug else articles[0]
    if article is None:
        raise HTTPException(status_code=404)
    stories = {
        item.slug: {"title": item.title, "dek": item.dek, "author": item.author, "paragraphs": item.paragraphs}
        for item in articles
    }
    context = {"article": article, "articles": articles, "stories": stories}
    return templates.TemplateResponse(request, "app.html", context)


async def about_page(request: Request) -> Response:
    """A short page with no article on it, useful to see the middleware on non-story pages."""
    return templates.TemplateResponse(request, "about.html", {})


async def headlines(request: Request) -> Response:
    """A JSON endpoint: the middleware must leave non-HTML responses untouched."""
    return JSONResponse([{"slug": article.slug, "title": article.title} for article in latest_first()])


async def _live_feed() -> AsyncIterator[bytes]:
    for chunk in _STREAM_CHUNKS:
        yield chunk
        await anyio.sleep(_STREAM_DELAY_SECONDS)


async def feed_stream(request: Request) -> Response:
    """A chunked HTML page without Content-Length, as a live blog or server-side streaming would send."""
    return StreamingResponse(_live_feed(), media_type="text/html; charset=utf-8")


async def download_edition(request: Request) -> Response:
    """Today's edition as a text attachment: HTML-looking downloads are not pages and must not be modified."""
    parts = [f"{SITE_NAME.upper()}\n\n"]
    for article in latest_first():
        parts.append(f"{article.title}\nBy {article.author}, {article.display_date}\n\n")
        parts.extend(f"{paragraph}\n\n" for paragraph in article.paragraphs)
        parts.append("* * *\n\n")
    return Response(
        "".join(parts),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=edition.txt"},
    )


async def not_found(request: Request, exc: Exception) -> Response:
    """Friendly 404 page for unknown stories and unknown URLs alike."""
    return templates.TemplateResponse(request, "404.html", {}, status_code=404)


def create_app() -> Starlette:
    """Build the bare site; callers wrap the returned app with the middleware they want to demonstrate."""
    routes = [
        Route("/", front_page, name="home"),
        Route("/articles/{slug}", article_page, name="article"),
        Route("/about", about_page, name="about"),
        Route("/app/", reader_app, name="app"),
        Route("/app/{slug}", reader_app, name="app_story"),
        Route("/api/headlines.json", headlines, name="headlines"),
        Route("/feed/stream", feed_stream, name="feed_stream"),
        Route("/download/edition.txt", download_edition, name="download_edition"),
        Mount("/static", app=StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})


__all__ = ["create_app"]
