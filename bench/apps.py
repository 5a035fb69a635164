"""The benchmark's site and the variants that wrap it.

The bare app is an ordinary Starlette site: a ~60 KB article rendered from a Jinja2 template on every request,
a small JSON response, a static file, a 5 MB download streamed in 64 KiB chunks, an HTML page streamed in many
small chunks with `</head>` split across two of them, and a JSON POST endpoint (the yardstick for the beacon).
Each variant wraps that same app once: with `AdGuardMiddleware` or with one of the yardstick middlewares.

uvicorn serves a variant with `uvicorn apps:factory --factory --app-dir bench`, the variant named in the
`BENCH_VARIANT` environment variable.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie
from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup, escape
from reference import ReferenceInjector
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.assets import static_dir
from adguard_mw.events import EventLog

KEY = "bench-key-0123456789-abcdefghijklmnop"
HOST = "news.test"
ORIGIN = f"http://{HOST}"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36"
STATIC_FILE = "message.css"  # one of the package's own static files, served by StaticFiles as any asset would be
DOWNLOAD_CHUNK = 64 * 1024
DOWNLOAD_CHUNKS = 80  # 5 MiB
STREAM_CHUNK = 128  # bytes per chunk of the streamed HTML page
USAGE_PATH = "/_bench/usage"
ARTICLE_PATH = "/news/harbour-lights"
LIGHT_PATH = "/news/light"

# The variants, in the order the tables list them. "adguard_soft" is only used with a blocked reader's cookie.
BARE = "bare"
ADGUARD = "adguard"
ADGUARD_SOFT = "adguard_soft"
ADGUARD_HARD = "adguard_hard"
# The same three, keeping their events as a site that stores them does (`events=` a directory of JSON lines).
ADGUARD_EVENTS = "adguard_events"
ADGUARD_SOFT_EVENTS = "adguard_soft_events"
ADGUARD_HARD_EVENTS = "adguard_hard_events"
REFERENCE = "reference"
NOOP = "noop"
NOOP_SEND = "noop_send"
GZIP = "gzip"
BASEHTTP = "basehttp"
VARIANTS = (
    BARE, ADGUARD, ADGUARD_EVENTS, ADGUARD_SOFT, ADGUARD_SOFT_EVENTS, ADGUARD_HARD, ADGUARD_HARD_EVENTS,
    REFERENCE, NOOP, NOOP_SEND, GZIP, BASEHTTP,
)  # fmt: skip
YARDSTICKS = (NOOP, NOOP_SEND, GZIP, BASEHTTP)
DESCRIPTIONS = {
    BARE: "the bare Starlette app",
    ADGUARD: "AdGuardMiddleware, default policy (observe)",
    ADGUARD_SOFT: 'AdGuardMiddleware, Policy(mode="soft")',
    ADGUARD_HARD: 'AdGuardMiddleware, Policy(mode="hard")',
    ADGUARD_EVENTS: "AdGuardMiddleware, default policy, events kept in a directory of JSON lines",
    ADGUARD_SOFT_EVENTS: 'AdGuardMiddleware, Policy(mode="soft"), events kept in a directory of JSON lines',
    ADGUARD_HARD_EVENTS: 'AdGuardMiddleware, Policy(mode="hard"), events kept in a directory of JSON lines',
    REFERENCE: "a careful streaming <head> injector in ~80 lines (bench/reference.py)",
    NOOP: "pure-ASGI no-op middleware",
    NOOP_SEND: "pure-ASGI no-op that wraps send",
    GZIP: "Starlette GZipMiddleware",
    BASEHTTP: "BaseHTTPMiddleware no-op",
}

ARTICLE_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ article.title }} | The Daily Lantern</title>
<meta name="description" content="{{ article.summary }}">
<link rel="stylesheet" href="/assets/site.css">
<link rel="canonical" href="{{ origin }}/news/{{ article.slug }}">
</head>
<body>
<header class="masthead"><a href="/">The Daily Lantern</a>
<nav>{% for section in sections %}<a href="/{{ section|lower }}/">{{ section }}</a> {% endfor %}</nav></header>
<main><article>
<h1>{{ article.title }}</h1>
<p class="byline">By {{ article.author }} &middot; {{ article.date }}</p>
{% for paragraph in article.paragraphs %}<p>{{ paragraph }}</p>
{% if loop.index is divisibleby 6 %}<aside class="pullquote">{{ article.paragraphs[loop.index0 // 2][:120] }}</aside>
{% endif %}{% endfor %}
</article>
<section class="related"><h2>Related</h2><ul>
{% for item in related %}<li><a href="/news/{{ item.slug }}">{{ item.title }}</a> <small>{{ item.date }}</small></li>
{% endfor %}</ul></section></main>
<footer><p>&copy; The Daily Lantern &middot; <a href="/about">About</a>
&middot; <a href="/privacy">Privacy</a></p></footer>
</body>
</html>
"""

# The light page (issue 18): about as large, but cheap to render (a few long paragraphs, short loops), so that the
# fixed costs of a middleware show as they do on a lean site.
LIGHT_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ article.title }} | The Daily Lantern</title>
<meta name="description" content="{{ article.summary }}">
<link rel="stylesheet" href="/assets/site.css">
</head>
<body>
<header class="masthead"><a href="/">The Daily Lantern</a></header>
<main><article>
<h1>{{ article.title }}</h1>
<p class="byline">By {{ article.author }} &middot; {{ article.date }}</p>
{{ article.body_html }}
{% for paragraph in article.long_paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}
</article></main>
<footer><p>&copy; The Daily Lantern</p></footer>
</body>
</html>
"""

# fmt: off
_WORDS = (
    "council", "harbour", "lantern", "evening", "market", "river", "station", "winter", "reader", "budget",
    "school", "bridge", "weather", "festival", "museum", "library", "tram", "garden", "coast", "election", "report",
    "mayor", "district", "survey", "village", "archive", "ferry", "orchestra",
)
# fmt: on


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + rng.choice((".", ".", ".", "?", " & more."))


def _article_context() -> dict[str, Any]:
    rng = random.Random(7)
    paragraphs = [" ".join(_sentence(rng) for _ in range(6)) for _ in range(90)]
    related = [
        {"slug": f"story-{n}", "title": _sentence(rng)[:70], "date": f"2026-11-{1 + n % 28:02d}"} for n in range(40)
    ]
    article = {
        "slug": "harbour-lights",
        "title": "Harbour lights return after a <long> winter",
        "summary": _sentence(rng),
        "author": "A. Writer",
        "date": "2026-11-25",
        "paragraphs": paragraphs,
        # The light page's text: part stored as HTML by the CMS (not escaped again), part escaped as it renders.
        "body_html": Markup(
            "\n".join(f"<p>{escape(' '.join(paragraphs[n % 90 : n % 90 + 5]))}</p>" for n in range(70, 100, 5))
        ),
        "long_paragraphs": [" ".join(paragraphs[n : n + 5]) for n in range(0, 70, 5)],
    }
    sections = ["News", "Sport", "Culture", "Business", "Opinion", "Tech", "Science", "Travel"]
    return {"article": article, "related": related, "sections": sections, "origin": ORIGIN}


_ENV = Environment(
    loader=DictLoader({"article.html": ARTICLE_TEMPLATE, "light.html": LIGHT_TEMPLATE}), autoescape=select_autoescape()
)
_TEMPLATE = _ENV.get_template("article.html")
_LIGHT = _ENV.get_template("light.html")
_CONTEXT = _article_context()
_DOWNLOAD = random.Random(5).randbytes(DOWNLOAD_CHUNK)  # incompressible, like most real downloads


def _streamed_page() -> list[bytes]:
    """A page without <meta charset> (the charset is in Content-Type), cut so that `</head>` spans two chunks."""
    head = "<!doctype html><html><head><title>Live: the council votes</title>" + "".join(
        f'<link rel="preload" href="/assets/font-{n}.woff2" as="font" crossorigin>' for n in range(8)
    )
    body = "".join(f"<p>Update {n}: {_sentence(random.Random(n))}</p>\n" for n in range(150))
    page = (head + "</head><body><h1>Live</h1>" + body + "</body></html>").encode()
    split = page.index(b"</head>") + 3
    cuts = sorted({*range(0, len(page), STREAM_CHUNK), split})
    return [page[a:b] for a, b in zip(cuts, [*cuts[1:], len(page)], strict=True)]


STREAMED_PAGE = _streamed_page()


async def article(request: Request) -> Response:
    return HTMLResponse(_TEMPLATE.render(_CONTEXT))


async def light(request: Request) -> Response:
    return HTMLResponse(_LIGHT.render(_CONTEXT))


async def small_json(request: Request) -> Response:
    return JSONResponse({"id": 1042, "title": "Harbour lights", "comments": 17, "ok": True})


async def download(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(DOWNLOAD_CHUNKS):
            yield _DOWNLOAD

    size = str(DOWNLOAD_CHUNK * DOWNLOAD_CHUNKS)
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={"Content-Length": size})


async def live(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in STREAMED_PAGE:
            yield chunk

    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


async def echo(request: Request) -> Response:
    """A bare JSON POST endpoint doing what a beacon does at its simplest: parse, check, answer."""
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("signals"), dict):
        return JSONResponse({"error": "bad body"}, status_code=400)
    return JSONResponse({"verdict": "blocked", "kind": "extension"}, headers={"Cache-Control": "no-store"})


async def usage(request: Request) -> Response:
    """The server's own CPU time and peak RSS, so the load generator can compute CPU time per request."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return JSONResponse({"cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss, "pid": os.getpid()})


def bare_app() -> Starlette:
    return Starlette(
        routes=[
            Route(ARTICLE_PATH, article),
            Route(LIGHT_PATH, light),
            Route("/api/story", small_json),
            Route("/download", download),
            Route("/live", live),
            Route("/api/echo", echo, methods=["POST"]),
            Route(USAGE_PATH, usage),
            Mount("/assets", StaticFiles(directory=static_dir())),
        ]
    )


class NoopMiddleware:
    """Pure ASGI, does nothing: the floor of any middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SendWrappingMiddleware:
    """Pure ASGI, wraps `send` and does nothing else: the floor of any middleware that looks at responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            await send(message)

        await self.app(scope, receive, wrapped)


class BaseHTTPNoop(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


def adguard(app: ASGIApp, policy: Policy | str = "observe", events: str | EventLog | None = None) -> AdGuardMiddleware:
    return AdGuardMiddleware(app, secret_key=KEY, policy=policy, site_name="The Daily Lantern", events=events)


EVENTS_DIR = "BENCH_EVENTS_DIR"  # where run.py wants the uvicorn servers' event folders (it removes them)


def events_folder() -> str:
    """A new temporary folder for a variant that keeps its events, removed when the process ends (or, for a server
    that a signal ends, by run.py, which made the folder it is in)."""
    folder = tempfile.mkdtemp(prefix="adguard-mw-bench-events-", dir=os.environ.get(EVENTS_DIR))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def throwaway(app: ASGIApp) -> AdGuardMiddleware:
    """The middleware for a request made only to get a cookie or a path: it keeps no events, so it never starts
    an event writer whose wake-ups would be counted in another variant's measurement."""
    return adguard(app, events=EventLog(()))


BUILDERS: dict[str, Callable[[ASGIApp], ASGIApp]] = {
    BARE: lambda app: app,
    ADGUARD: adguard,
    ADGUARD_SOFT: lambda app: adguard(app, Policy(mode="soft")),
    ADGUARD_HARD: lambda app: adguard(app, Policy(mode="hard")),
    ADGUARD_EVENTS: lambda app: adguard(app, events=events_folder()),
    ADGUARD_SOFT_EVENTS: lambda app: adguard(app, Policy(mode="soft"), events_folder()),
    ADGUARD_HARD_EVENTS: lambda app: adguard(app, Policy(mode="hard"), events_folder()),
    REFERENCE: ReferenceInjector,
    NOOP: NoopMiddleware,
    NOOP_SEND: SendWrappingMiddleware,
    GZIP: GZipMiddleware,
    BASEHTTP: BaseHTTPNoop,
}


def build(variant: str) -> ASGIApp:
    return BUILDERS[variant](bare_app())


def factory() -> ASGIApp:
    """For uvicorn --factory: the variant named in BENCH_VARIANT."""
    return build(os.environ.get("BENCH_VARIANT", BARE))


def beacon_path() -> str:
    names = throwaway(bare_app()).names
    return f"{names.prefix}/{names.beacon}"


BEACON_BODY = json.dumps(
    {"signals": {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}, "path": "/news/harbour-lights"},
    separators=(",", ":"),
).encode()
NOT_BLOCKED_BODY = BEACON_BODY.replace(b'"blocked"', b'"not_blocked"')


def blocked_cookie(body: bytes = BEACON_BODY) -> str:
    """A `Cookie` header for a reader whose verdict is blocked, made by posting a valid beacon in-process."""
    app = throwaway(bare_app())
    scope = http_scope("POST", beacon_path(), post_headers(len(body)))
    messages: list[Message] = []
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = messages[0]
    if start["status"] != 200:
        raise RuntimeError(f"the beacon answered {start['status']}: {messages[1:]}")
    jar: SimpleCookie = SimpleCookie()
    for name, value in start["headers"]:
        if name == b"set-cookie":
            jar.load(value.decode("latin-1"))
    cookie = "; ".join(f"{key}={morsel.value}" for key, morsel in jar.items() if morsel.value)
    if app.names.cookie not in cookie:
        raise RuntimeError("the beacon set no state cookie")
    return f"theme=dark; {cookie}"


def reader_cookie() -> str:
    """A `Cookie` header for a reader whose detector reported "not blocked" (the usual reader with our cookie)."""
    return blocked_cookie(NOT_BLOCKED_BODY)


def fresh_cookies(count: int) -> list[str]:
    """`count` different valid `Cookie` headers of not-blocked readers: each value is new to the process."""
    from adguard_mw.state import Verdict, VisitorState, new_visitor_id

    app = throwaway(bare_app())
    now = int(time.time())
    headers = []
    for _ in range(count):
        state = VisitorState(new_visitor_id(), Verdict.NOT_BLOCKED, checked_at=now, reported_at=now)
        name_value = app.cookie.set_cookie_header(state, https=False)[1].split(b";", 1)[0]
        headers.append(f"theme=dark; {name_value.decode('latin-1')}")
    return headers


def get_headers(cookie: str | None = None) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", HOST.encode()),
        (b"user-agent", USER_AGENT.encode()),
        (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"accept-language", b"en-GB,en;q=0.9"),
    ]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return headers


def post_headers(length: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"host", HOST.encode()),
        (b"user-agent", USER_AGENT.encode()),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"accept-language", b"en-GB,en;q=0.9"),
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        (b"origin", ORIGIN.encode()),
        (b"sec-fetch-site", b"same-origin"),
    ]


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    """A scope as uvicorn builds it (ASGI spec 2.3, as uvicorn announces)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
    }


def raw_request(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    """The same request as HTTP/1.1 bytes, for the load generator."""
    lines = [f"{method} {path} HTTP/1.1".encode()] + [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Entry:
    """One line of a case: a label, the app variant that answers, and the request it gets."""

    __slots__ = ("body", "headers", "label", "method", "path", "rotate", "variant")

    def __init__(
        self,
        label: str,
        variant: str,
        method: str,
        path: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes = b"",
        rotate: list[list[tuple[bytes, bytes]]] | None = None,
    ) -> None:
        self.label = label
        self.variant = variant
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.rotate = rotate  # in-process, requests take these headers in turn (values new to the process)

    def scope(self) -> Scope:
        return http_scope(self.method, self.path, self.headers)

    def scopes(self) -> list[Scope]:
        return [http_scope(self.method, self.path, headers) for headers in self.rotate or [self.headers]]

    def raw(self) -> bytes:
        return raw_request(self.method, self.path, self.headers, self.body)


class Case:
    def __init__(
        self, name: str, description: str, entries: list[Entry], concurrency: int = 8, *, http: bool = True
    ) -> None:
        self.name = name
        self.description = description
        self.entries = entries
        self.concurrency = concurrency
        self.http = http  # False: in-process only (the load generator repeats one request)


def _get_all(
    path: str, cookie: str | None = None, variants: tuple[str, ...] = (BARE, ADGUARD, REFERENCE, *YARDSTICKS)
) -> list[Entry]:
    return [Entry(v, v, "GET", path, get_headers(cookie)) for v in variants]


FRESH_COOKIES = 1000  # more than a callgrind run's requests: every value is new to the process


def _fresh(variants: tuple[str, ...]) -> list[Entry]:
    rotate = [get_headers(cookie) for cookie in fresh_cookies(FRESH_COOKIES)]
    return [Entry(v, v, "GET", LIGHT_PATH, rotate[0], rotate=rotate) for v in variants]


def cases(cookie: str) -> list[Case]:
    """Every case; `cookie` is a blocked reader's Cookie header (see `blocked_cookie`)."""
    post = post_headers(len(BEACON_BODY))
    reader = reader_cookie()
    return [
        Case("light", "light ~60 KB Jinja2 article (cheap to render), cookieless reader", _get_all(LIGHT_PATH)),
        Case(
            "light_reader",
            "the light article, reader whose cookie says not_blocked (reported recently: no Set-Cookie)",
            _get_all(LIGHT_PATH, reader, (BARE, ADGUARD, ADGUARD_EVENTS, REFERENCE)),
        ),
        Case(
            "light_new_cookie",
            "the light article, a not_blocked cookie whose value is new to the process (its signature is checked)",
            _fresh((BARE, ADGUARD)),
            http=False,
        ),
        Case(
            "light_soft",
            "the light article, blocked reader, soft message due",
            _get_all(LIGHT_PATH, cookie, (BARE, ADGUARD_SOFT, ADGUARD_SOFT_EVENTS)),
        ),
        Case(
            "light_hard",
            "the light article, blocked reader, hard wall",
            _get_all(LIGHT_PATH, cookie, (BARE, ADGUARD_HARD, ADGUARD_HARD_EVENTS)),
        ),
        Case("page", "60 KB article rendered from a Jinja2 template, first-time reader", _get_all(ARTICLE_PATH)),
        Case(
            "page_blocked",
            "the same article for a reader whose signed cookie says blocked (soft: message due)",
            _get_all(ARTICLE_PATH, cookie, (BARE, ADGUARD, ADGUARD_SOFT)),
        ),
        Case("json", "small JSON response (passthrough)", _get_all("/api/story")),
        Case("static", f"static file via StaticFiles ({STATIC_FILE}, passthrough)", _get_all(f"/assets/{STATIC_FILE}")),
        Case("stream_5mb", "5 MB download streamed in 64 KiB chunks (passthrough)", _get_all("/download"), 2),
        Case(
            "html_stream",
            f"HTML page streamed in {len(STREAMED_PAGE)} chunks of {STREAM_CHUNK} B, </head> split across two",
            _get_all("/live"),
        ),
        Case(
            "beacon",
            "beacon POST (valid body, same-origin) vs a bare JSON POST endpoint",
            [
                Entry(BARE, BARE, "POST", "/api/echo", post, BEACON_BODY),
                Entry(ADGUARD, ADGUARD, "POST", beacon_path(), post, BEACON_BODY),
                Entry("adguard_echo", ADGUARD, "POST", "/api/echo", post, BEACON_BODY),
            ],
        ),
    ]
