"""Pages full of markup lookalikes keep working in real Chromium, and the detector still runs on them.

Each page below says `<head>` and `</body>` where they are not markup: in its inline scripts' strings, a comment,
attribute values, a <textarea> and the CDATA of an inline SVG script, and one leaves its <head> and <body> tags
out, as valid minified HTML may. The site's own scripts must all run without an error, the textarea must keep its
text, and the detector's tag must be an element of the head whose report reaches the server.
"""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware

from ..site import KEY
from .conftest import Serve

LOOKALIKES = (
    "<script>window.ran = ['inline: ' + '<head></head><body>'.length];</script>"
    "<!-- <head> </head><body> </body> -->"
    '<p data-a="<head>" title=\'</body>\' data-b="a>b">attributes</p>'
    "<textarea id=t><head></head><body></body></textarea>"
    "<svg><script><![CDATA[ window.ran.push('svg: </body>'.length > 0 && 1 < 2) ]]></script></svg>"
    '<script>window.ran.push("last: " + "</body>".length); var closing = "</body>";</script>'
)
PAGES = {
    # No <head>, <body> or </html>: the head starts at <meta>, the body at the first <script>'s neighbour.
    "/minified": f"<!doctype html><html lang=en><meta charset=utf-8><title>Minified &lt;head&gt;</title>{LOOKALIKES}",
    "/no-head": f"<!doctype html><title>No head</title><p>x</p>{LOOKALIKES}",
    "/attributes": (
        "<!doctype html><html data-x=\"<head>\"><!-- <head> --><head data-y='</head><body>'>"
        f'<meta content="a>b" charset=utf-8><title>Attributes</title></head><body>{LOOKALIKES}</body></html>'
    ),
}
EXPECTED_RUNS = ["inline: 19", True, "last: 7"]


def hostile_site() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGES[request.url.path])

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    return Starlette(routes=[*(Route(path, page) for path in PAGES), Route("/favicon.ico", no_icon)])


@pytest.mark.parametrize("path", list(PAGES))
async def test_a_page_with_markup_lookalikes_keeps_working_and_is_detected(
    path: str, serve: Serve, clean_context: BrowserContext
) -> None:
    app = AdGuardMiddleware(hostile_site(), secret_key=KEY)
    base = serve(app)
    page = await clean_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000) as report:
        response = await page.goto(base + path)
    assert response is not None and response.status == 200
    assert (await report.value).ok  # the detector ran and its report was answered
    assert errors == []
    assert await page.evaluate("window.ran") == EXPECTED_RUNS  # every script of the site ran, in order
    assert await page.evaluate("document.getElementById('t').value") == "<head></head><body></body>"
    where = await page.evaluate(
        f"[...document.scripts].filter(s => s.src.includes('{app.names.script}')).map(s => s.parentNode.localName)"
    )
    assert where == ["head"]
