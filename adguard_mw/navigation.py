"""Client-side navigation: a route change made by the page's own router is a page view, decided by the server.

Single-page apps change the page with the History API and never ask the server for HTML again. The page script
(static/message.js) posts each new path here, in one small same-origin JSON request to this deployment's own
endpoint (`Names.navigate`), with a one-time value the answer must echo. The server counts the view exactly as it
counts a full load (the silence account, the meter, the page_view event: `PageViews.page_view`), decides
with the same rules (paths, the exempt hook, crawlers), updates the signed cookie, and answers what to show, with
the message's markup rendered by the same templates. Nothing the page says decides anything: it names a path.

`"again": true` asks without counting a view: the page API's `check()` and `subscriber()`, and the first status
of a page that renders its own message. A blocked or faked request is handled by the page (docs/detection.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import Receive, Scope, Send

from .assets import TOKEN
from .endpoints import BadRequest, _read_json, request_headers
from .policy import NOTHING
from .urls import is_local_path, url_path

if TYPE_CHECKING:
    from .editorial import Editorial
    from .endpoints import Endpoints
    from .pageview import PageViews
    from .policy import Mode
    from .state import StateCookie, VisitorState


class Pages(Protocol):
    """What this endpoint asks of the middleware (AdGuardMiddleware): its page-view decisions, without importing
    the module that imports this one."""

    @property
    def endpoints(self) -> Endpoints: ...
    @property
    def cookie(self) -> StateCookie: ...
    @property
    def gpc(self) -> str: ...
    @property
    def render_message(self) -> str: ...
    @property
    def editorial(self) -> Editorial: ...
    @property
    def views(self) -> PageViews: ...

    def message_fragment(
        self, scope: Scope, path: str, mode: Mode, state: VisitorState | None, editorial: Editorial, *, counted: bool
    ) -> dict[str, str]: ...


class Navigation:
    """The endpoint the page script tells of client-side navigations (and asks "what now?")."""

    def __init__(self, middleware: Pages) -> None:
        self.middleware = middleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mw = self.middleware
        headers = request_headers(scope)
        body = await _read_json(scope, headers, receive, mw.endpoints.origins)
        path, token, again = body.get("path"), body.get("n"), body.get("again", False)
        if (
            set(body) - {"path", "n", "again"}
            or not is_local_path(path)
            or not isinstance(token, str)
            or not TOKEN.fullmatch(token)
            or not isinstance(again, bool)
        ):
            raise BadRequest(400, 'expected {"path": "/the/new/path", "n": "<one-time value>", "again": false}')
        assert isinstance(path, str)
        editorial = mw.editorial
        answer: dict[str, Any] = {"n": token, "verdict": None, "kind": None, "show": None}
        cookies: list[tuple[bytes, bytes]] = []
        if not (mw.gpc == "skip" and headers.get("sec-gpc") == "1"):  # else: left alone, as on a full load
            # The exempt hook and the events see the page's path, as they would on a full load of it.
            page = {**scope, "path": url_path(scope.get("root_path", ""), path), "query_string": b""}
            page["raw_path"] = page["path"].encode()
            views = mw.views
            state = views.read_state(scope)
            watch = not again and views.watch and views.may_watch(page)
            state, changed, decision = await views.page_view(
                page, path, state, editorial, sampled=not again and views.sampled(), watch=watch
            )
            if again:  # a question, not a view: the meter does not move
                changed = False
                decision = NOTHING if decision.show is None else decision
            if state is not None:
                answer["verdict"] = state.verdict.value if state.verdict is not None else None
                answer["kind"] = state.kind
            if changed and state is not None:
                https = scope["scheme"] == "https"
                cookies = [mw.cookie.set_cookie_header(state, https=https)]
                cookies.append(mw.cookie.set_companion_header(state, https=https))
            if decision.show is not None:
                answer["show"] = decision.show.value
                if mw.render_message == "ours":
                    answer.update(mw.message_fragment(page, path, decision.show, state, editorial, counted=not again))
        data = json.dumps(answer, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"cache-control", b"no-store"),
                    *cookies,
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})
