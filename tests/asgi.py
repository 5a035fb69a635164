"""Helpers to drive ASGI apps with hand-built message sequences and read what they send back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def http_scope(
    path: str = "/", *, method: str = "GET", headers: Iterable[tuple[str, str]] = (), **extra: object
) -> Scope:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("news.test", 80),
        "client": ("127.0.0.1", 50000),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }
    scope.update(extra)
    return scope


def app_sending(*messages: Message) -> ASGIApp:
    """An inner app that sends exactly these messages."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(dict(message))

    return app


def start(status: int = 200, headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"text/html"),)) -> Message:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": more}


@dataclass
class Sent:
    messages: list[Message] = field(default_factory=list)

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def start(self) -> Message:
        return next(m for m in self.messages if m["type"] == "http.response.start")

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.start["headers"])

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.headers if k.lower() == name.lower().encode()]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def no_request_body() -> Receive:
    """An empty request, then silence: a receive that kept answering would make disconnect listeners spin."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


async def call(app: ASGIApp, scope: Scope, receive: Receive | None = None) -> Sent:
    sent = Sent()
    await app(scope, receive or no_request_body(), sent)
    return sent
