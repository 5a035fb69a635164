"""Tests for the Daily Lantern demo site, run bare (no middleware) so failures point at the site itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from starlette.types import Message

from examples.news_site import create_app
from examples.news_site.articles import ARTICLES


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGITransport rather than starlette.testclient, which warns about httpx in Starlette 1.x.
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client


def _assert_page_shell(html: str) -> None:
    assert html.startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert '<meta charset="utf-8">' in html
    assert '<link rel="stylesheet" href="/static/site.css">' in html
    assert "<head>" in html and "</head>" in html and "<body>" in html and "</body>" in html


async def test_front_page_lists_every_article_and_links_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    _assert_page_shell(html)
    assert "The Daily Lantern" in html
    assert 'href="/about"' in html
    for article in ARTICLES:
        assert f'href="/articles/{article.slug}"' in html
        assert article.author in html
        assert article.display_date in html
    links = re.findall(r'href="(/articles/[^"]+)"', html)
    assert len(set(links)) == len(ARTICLES)
    for link in links:
        assert (await client.get(link)).status_code == 200


async def test_article_page_has_article_element_with_title(client: httpx.AsyncClient) -> None:
    article = ARTICLES[0]
    response = await client.get(f"/articles/{article.slug}")
    assert response.status_code == 200
    html = response.text
    _assert_page_shell(html)
    match = re.search(r"<article[^>]*>(.*?)</article>", html, re.DOTALL)
    assert match is not None
    body = match.group(1)
    assert re.search(r"<h1>\s*" + re.escape(article.title.replace("'", "&#39;")) + r"\s*</h1>", body)
    assert body.count("<p>") >= len(article.paragraphs)
    # Jinja escapes apostrophes; the paragraph text is otherwise there verbatim.
    assert article.paragraphs[-1].replace("'", "&#39;") in body


async def test_unknown_slug_and_unknown_url_give_html_404(client: httpx.AsyncClient) -> None:
    for path in ("/articles/no-such-story", "/no/such/page"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        _assert_page_shell(response.text)
        assert "Page not found" in response.text


async def test_about_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/about")
    assert response.status_code == 200
    _assert_page_shell(response.text)
    assert 'aria-current="page">About' in response.text


async def test_headlines_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/headlines.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert {item["slug"] for item in data} == {article.slug for article in ARTICLES}
    assert all(set(item) == {"slug", "title"} for item in data)


async def test_stylesheet_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in response.text
    assert "url(" not in response.text and "@import" not in response.text  # nothing fetched from the network


async def test_streamed_page_arrives_complete(client: httpx.AsyncClient) -> None:
    response = await client.get("/feed/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "content-length" not in response.headers
    html = response.text
    assert html.startswith("<!doctype html>") and html.endswith("</body></html>")
    assert "<head>" in html and "</head>" in html
    assert html.count("<p>") >= 3


async def test_stream_is_sent_in_chunks_that_split_tags() -> None:
    """Check at the ASGI level, since test clients join the body back together."""
    app = create_app()
    messages: list[Message] = []
    finished = anyio.Event()
    request_sent = False

    async def receive() -> Message:
        # Like a server: the request body once, then block until the client goes away (here: response done).
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/feed/stream",
        "raw_path": b"/feed/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m.get("body")]
    assert len(chunks) >= 5
    assert not any(b"<head>" in chunk for chunk in chunks)  # "<head>" only exists across a chunk border
    assert not any(b"</body>" in chunk for chunk in chunks)
    document = b"".join(chunks)
    assert b"<head>" in document and b"</body>" in document


async def test_download_is_an_attachment(client: httpx.AsyncClient) -> None:
    response = await client.get("/download/edition.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == "attachment; filename=edition.txt"
    for article in ARTICLES:
        assert article.title in response.text
