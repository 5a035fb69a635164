"""Behind a proxy or CDN, detection keeps working, exactly as docs/deployment.md says.

Each case is one set-up of that page: the request a browser on https://www.news.example sends, as the proxy passes
it on to uvicorn on 127.0.0.1 (the `Host` it sets, the forwarded headers it adds), and what the beacon answers
with the middleware's options for it. A refused beacon is logged once, with the fix in the line.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from adguard_mw import AdGuardMiddleware

from .site import CHROME, KEY, bare_site

PUBLIC = "https://www.news.example"
SIGNALS = {"signals": {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}, "path": "/news/1"}

# The middleware's options per set-up, each mounted at its own path of one server.
OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "trusted_origins": {"trusted_origins": [PUBLIC]},
    "trusted_subdomains": {"trusted_origins": ["https://*.news.example"]},
    "proxy_on_loopback": {"forwarded_allow_ips": ["127.0.0.1"]},
    "proxy_elsewhere": {"forwarded_allow_ips": ["10.0.0.0/8"]},
    "any_proxy": {"forwarded_allow_ips": "*"},
}
APPS = {name: AdGuardMiddleware(bare_site(), secret_key=KEY, policy="soft", **o) for name, o in OPTIONS.items()}


@dataclass(frozen=True)
class Hop:
    """What reaches the app: the Host the proxy sets and the headers it adds."""

    host: str
    added: dict[str, str] = field(default_factory=dict)


NGINX_DEFAULT = Hop("127.0.0.1:8000")  # proxy_pass http://127.0.0.1:8000; nothing else: Host is $proxy_host
NGINX_HOST = Hop("www.news.example", {"X-Forwarded-Proto": "https"})  # proxy_set_header Host $host;
NGINX_FORWARDED = Hop("127.0.0.1:8000", {"X-Forwarded-Host": "www.news.example", "X-Forwarded-Proto": "https"})
CADDY = Hop(  # reverse_proxy 127.0.0.1:8000: Caddy keeps Host and adds X-Forwarded-*
    "www.news.example",
    {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "www.news.example", "X-Forwarded-Proto": "https"},
)
FORWARDED = Hop("127.0.0.1:8000", {"Forwarded": "for=203.0.113.7;host=www.news.example;proto=https"})
CDN_ORIGIN_HOST = Hop("origin.news.example", {"X-Forwarded-Proto": "https"})  # a CDN sending its origin's name
CDN_KEEPING_HOST = Hop("www.news.example", {"X-Forwarded-Proto": "https"})  # a CDN forwarding the Host header
SPOOFED = Hop("127.0.0.1:8000", {"X-Forwarded-Host": "evil.example"})

# (set-up, options, what a beacon from a page on PUBLIC gets); the docs name each of these.
CASES = [
    ("nginx default", NGINX_DEFAULT, "defaults", 403),
    ("nginx default", NGINX_DEFAULT, "trusted_origins", 200),
    ("nginx default", NGINX_DEFAULT, "trusted_subdomains", 200),
    ("nginx default", NGINX_DEFAULT, "any_proxy", 403),  # nothing forwarded: still the proxy's Host
    ("nginx with Host $host", NGINX_HOST, "defaults", 200),
    ("nginx with X-Forwarded-Host", NGINX_FORWARDED, "defaults", 403),  # not believed unless configured
    ("nginx with X-Forwarded-Host", NGINX_FORWARDED, "proxy_on_loopback", 200),
    ("nginx with X-Forwarded-Host", NGINX_FORWARDED, "proxy_elsewhere", 403),  # from a proxy not listed
    ("Caddy", CADDY, "defaults", 200),
    ("Caddy", CADDY, "proxy_on_loopback", 200),
    ("Forwarded (RFC 7239)", FORWARDED, "defaults", 403),
    ("Forwarded (RFC 7239)", FORWARDED, "proxy_on_loopback", 200),
    ("CDN sending the origin's host name", CDN_ORIGIN_HOST, "defaults", 403),
    ("CDN sending the origin's host name", CDN_ORIGIN_HOST, "trusted_origins", 200),
    ("CDN forwarding Host", CDN_KEEPING_HOST, "defaults", 200),
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """uvicorn on 127.0.0.1 serving every set-up under its own mount point. `proxy_headers=False`: the client
    address the app sees is the proxy's (see docs/deployment.md for servers that replace it)."""
    site = Starlette(routes=[Mount(f"/{name}", app=app) for name, app in APPS.items()])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(site, log_level="warning", lifespan="off", proxy_headers=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


async def beacon(server: str, options: str, hop: Hop, origin: str = PUBLIC) -> httpx.Response:
    app = APPS[options]
    headers = {
        "Host": hop.host,
        "Origin": origin,
        "Sec-Fetch-Site": "same-origin",
        "User-Agent": CHROME,
        **hop.added,
    }
    async with httpx.AsyncClient(base_url=server) as client:
        return await client.post(f"/{options}{app.names.prefix}/{app.names.beacon}", json=SIGNALS, headers=headers)


@pytest.mark.parametrize(("setup", "hop", "options", "status"), CASES, ids=[f"{c[0]}, {c[2]}" for c in CASES])
async def test_a_beacon_behind_each_documented_set_up(
    server: str, setup: str, hop: Hop, options: str, status: int
) -> None:
    response = await beacon(server, options, hop)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["verdict"] == "blocked" and "set-cookie" in response.headers


async def test_forwarded_headers_never_make_another_site_this_one(server: str) -> None:
    for options in ("defaults", "proxy_on_loopback", "any_proxy", "trusted_origins"):
        assert (await beacon(server, options, SPOOFED, origin="https://evil.example")).status_code in (200, 403)
    # Believed from a listed proxy, the forwarded host is the site: a page there may report, and only there.
    assert (await beacon(server, "proxy_on_loopback", SPOOFED, origin="https://evil.example")).status_code == 200
    assert (await beacon(server, "defaults", SPOOFED, origin="https://evil.example")).status_code == 403
    assert (await beacon(server, "trusted_origins", SPOOFED, origin="https://evil.example")).status_code == 403
    wrong_scheme = Hop("127.0.0.1:8000", {"X-Forwarded-Host": "www.news.example", "X-Forwarded-Proto": "http"})
    assert (await beacon(server, "proxy_on_loopback", wrong_scheme)).status_code == 403  # http page, https site


async def test_a_refused_beacon_says_once_how_to_fix_it(server: str, caplog: pytest.LogCaptureFixture) -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="soft")
    transport = httpx.ASGITransport(app=app)
    headers = {"Host": "127.0.0.1:8000", "Origin": PUBLIC, "Sec-Fetch-Site": "same-origin"}
    with caplog.at_level(logging.WARNING, logger="adguard_mw"):
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            for _ in range(3):
                url = f"{app.names.prefix}/{app.names.beacon}"
                assert (await client.post(url, json=SIGNALS, headers=headers)).status_code == 403
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert f"Origin '{PUBLIC}'" in lines[0] and "Host '127.0.0.1:8000'" in lines[0]
    assert "trusted_origins" in lines[0] and "forwarded_allow_ips" in lines[0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trusted_origins": ["www.news.example"]}, "trusted_origins item 'www.news.example' must be an origin"),
        ({"trusted_origins": ["https://www.news.example/news"]}, "must be an origin"),
        ({"forwarded_allow_ips": ["nginx"]}, "forwarded_allow_ips item 'nginx' must be an IP address or network"),
    ],
)
def test_a_wrong_option_fails_at_start_up_in_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AdGuardMiddleware(bare_site(), secret_key=KEY, **options)
