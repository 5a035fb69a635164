"""The middleware's own endpoints, answered without calling the app ("eager responses").

Everything here faces the open internet, so input is validated strictly and anything wrong gets a 4xx that says
what is wrong and changes nothing: the beacon takes a small same-origin JSON POST, the dismissal likewise, and
"check again" a same-origin form POST whose redirect target must be a path on this site.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import orjson
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from ._faults import report_fault
from .assets import (
    BAIT_PNG,
    CONFIRM_AFTER_MS,
    REFRESH_AFTER,
    SLOT_EVERY_MS,
    SLOT_WAIT_MS,
    TOKEN,
    Asset,
    Assets,
    echo_script,
)
from .clients import UNKNOWN_CLIENT, describe_client
from .editorial import Editorial
from .events import EventLog
from .names import Names
from .origins import Refused, SiteOrigins
from .policy import Mode, Policy, is_crawler
from .previewed import choose
from .signals import SIGNALS, VALUES, Kind, combine
from .silence import reported, scriptless
from .state import StateCookie, Verdict, VisitorState, new_visitor_id, visitor_id_expired
from .urls import is_local_path, local_target, local_url, url_path

MAX_BODY = 2048
MAX_SLOTS = 100  # house messages one page may report at once; more is not a page we served
SLOT_LIFE_MS = 30 * 60 * 1000  # the slot script stops looking this long after it started
# An unchanged verdict reported again sooner than this after the last report, but later than a second tab could
# explain, is worth an event: an honest detector waits REFRESH_AFTER (see `repeated_report`).
REPEAT_WINDOW = 60

Handler = Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]]


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Endpoints:
    def __init__(
        self,
        names: Names,
        cookie: StateCookie,
        events: EventLog,
        editorial: Editorial,
        *,
        gpc: str = "anonymous",
        origins: SiteOrigins | None = None,
        navigate: Handler | None = None,
        exempted: Callable[[Policy, Scope], Awaitable[bool]] | None = None,
    ) -> None:
        self.names = names
        self._exempted = exempted  # the site's exempt hook, run as the middleware runs it
        self.skip_gpc = gpc == "skip"
        self.origins = origins if origins is not None else SiteOrigins()
        self.cookie = cookie
        self.events = events
        self.use(editorial)
        self._echoes = {
            "/" + names.control,
            f"/{names.bait_dir}/{names.bait_script}",
            f"/{names.bait_dir}/{names.bait_surrogate}",
        }
        self._token = names.token_param + "="
        self._image = f"/{names.bait_dir}/{names.bait_image}"
        self._fallback = "/" + names.fallback
        self._follow = "/" + names.follow
        self._preview = "/" + names.preview
        self._slots = "/" + names.slot_script
        self._posts: dict[str, Handler] = {
            "/" + names.beacon: self.beacon,
            "/" + names.dismiss: self.dismiss,
            "/" + names.recheck: self.recheck,
            "/" + names.seen: self.seen,
        }
        if navigate is not None:  # client-side navigations: answered by the middleware's decisions (navigation.py)
            self._posts["/" + names.navigate] = navigate
        subpaths = {*self._echoes, self._image, self._fallback, self._follow, self._preview, self._slots, *self._posts}
        subpaths |= {"/" + names.script, "/" + names.message_script, "/" + names.stylesheet}
        # The full paths answered here, and only these: the site's own files may live in the same folder.
        self.paths = frozenset(names.prefix + subpath for subpath in subpaths)

    def _asset_paths(self, assets: Assets) -> dict[str, Asset]:
        names = self.names
        return {
            "/" + names.script: assets.detector,
            "/" + names.message_script: assets.message_script,
            "/" + names.stylesheet: assets.stylesheet,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send, subpath: str) -> None:
        """Answer a request whose path is under our prefix; `subpath` is the rest of the path."""
        method = scope["method"]
        response: Response
        if subpath in self._posts:
            if method != "POST":
                response = _error(405, "use POST", headers={"Allow": "POST"})
            else:
                try:
                    await self._posts[subpath](scope, receive, send)
                    return
                except BadRequest as exc:
                    response = _error(exc.status, exc.reason)
                except Exception as exc:  # our own fault: answer, change nothing, and say so once
                    report_fault(f"answering {subpath[1:]} requests", exc, "it was answered 500 and nothing changed")
                    response = _error(500, "the server could not record this; nothing was changed")
                    if subpath == "/" + self.names.beacon:
                        self._forgive(response, scope)
        elif method not in ("GET", "HEAD"):
            response = _error(405, "use GET", headers={"Allow": "GET, HEAD"})
        elif subpath in self._assets:
            response = _asset_response(self._assets[subpath])
        elif subpath == self._image:
            response = Response(BAIT_PNG, media_type="image/png", headers={"Cache-Control": "no-store"})
        elif subpath == self._fallback:
            response = self.fallback(scope)
        elif subpath == self._follow:
            response = _answer(self.follow, scope, "calls to action")
        elif subpath == self._preview:
            response = _answer(self.preview, scope, "previews")
        elif subpath == self._slots:
            try:
                response = await self.slots(scope)
            except BadRequest as exc:
                response = _error(exc.status, exc.reason)
            except Exception as exc:
                report_fault("answering ad slot requests", exc, "it was answered 500")
                response = _error(500, "the server could not answer this")
        elif subpath in self._echoes:
            # A missing or rewritten one-time value gets a script that echoes nothing (a 4xx would read as our
            # fault, "unknown"): stripping the parameter is blocking like any other.
            query = scope.get("query_string", b"").decode("latin-1")
            token = query[len(self._token) :] if query.startswith(self._token) else ""
            response = Response(
                echo_script(self.names.event, token if TOKEN.fullmatch(token) else None),
                media_type="text/javascript",
                headers={"Cache-Control": "no-store"},
            )
        else:
            response = _error(404, "not found")
        await response(scope, receive, send)

    async def beacon(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        report = _parse_report(await _read_json(scope, headers, receive, self.origins))
        if self.skip_gpc and headers.get("sec-gpc") == "1":
            # A page cached from before the reader turned on Global Privacy Control: remember and log nothing.
            await Response(status_code=204, headers={"Cache-Control": "no-store"})(scope, receive, send)
            return
        verdict, kind = combine(report["signals"])
        now = int(time.time())
        old = self._state(headers)
        changes: dict[str, Any] = {}
        if old is not None and visitor_id_expired(old.visitor_id):
            changes["visitor_id"] = new_visitor_id()  # a new pseudonym, unlinkable to the old one
        repeated = (
            old is not None
            and not report["recheck"]
            and old.verdict is verdict
            and old.reported_at is not None
            and REPEAT_WINDOW <= now - old.reported_at < REFRESH_AFTER
        )
        if old is None or old.verdict is not verdict or old.kind != kind:
            changes.update(verdict=verdict, kind=kind, checked_at=now, views=0)
        elif old.checked_at is None or now - old.checked_at >= REFRESH_AFTER:
            changes["checked_at"] = now
        # The report reached us: only this answer's signed cookie ends the server's count of silent page views.
        state = reported(old, now, **changes)
        fields = self._fields(headers, state.visitor_id, report["path"])
        previous = old.verdict.value if old is not None and old.verdict is not None else None
        # One dict made for the queue (`emit`'s keywords would make three).
        record = {"verdict": verdict.value, "kind": kind, "signals": report["signals"], "previous": previous, **fields}
        self.events.put("verdict", record)
        if repeated and old is not None and old.reported_at is not None:
            # An honest detector does not re-send an unchanged verdict before it is old: a page that does (a
            # forged "not blocked" on every page, say) is worth counting, never trusting more.
            self.events.emit("repeated_report", verdict=verdict.value, since=now - old.reported_at, **fields)
        if report["recheck"]:
            self.events.emit("check_again", verdict=verdict.value, **fields)
        if previous == Verdict.BLOCKED and verdict is Verdict.NOT_BLOCKED:
            self.events.emit("recovered", **fields)
        # Sent as raw ASGI messages: this endpoint answers once per verdict for every reader, so it is kept lean.
        body, length = _BEACON_ANSWERS[verdict, kind]
        answer_headers = [(b"content-type", b"application/json"), length, (b"cache-control", b"no-store")]
        if state != old:
            https = scope["scheme"] == "https"
            answer_headers.append(self.cookie.set_cookie_header(state, https=https))
            answer_headers.append(self.cookie.set_companion_header(state, https=https))
        await send({"type": "http.response.start", "status": 200, "headers": answer_headers})
        await send({"type": "http.response.body", "body": body})

    async def seen(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The page confirms that the message stayed on screen: only then is it counted as shown."""
        headers = request_headers(scope)
        body = await _read_json(scope, headers, receive, self.origins)
        if "slots" in body:
            await self._slots_seen(scope, receive, send, headers, body)
            return
        path, mode = body.get("path", "/"), body.get("mode")
        modes = {m.value for m in Mode if m not in (Mode.OBSERVE, Mode.HARD)}
        if set(body) - {"path", "mode"} or not _is_path(path) or mode not in modes:
            raise BadRequest(400, f'expected {{"path": "/a/path", "mode": one of {", ".join(sorted(modes))}}}')
        state = self._state(headers)
        if state is None or state.verdict is not Verdict.BLOCKED:
            raise BadRequest(409, "there is no message to confirm")
        fields = self._fields(headers, state.visitor_id, path)
        self.events.emit("message_shown", verdict=Verdict.BLOCKED.value, kind=state.kind, **{**fields, "mode": mode})
        await Response(status_code=204, headers={"Cache-Control": "no-store"})(scope, receive, send)

    async def _slots_seen(
        self, scope: Scope, receive: Receive, send: Send, headers: RequestHeaders, body: dict[str, Any]
    ) -> None:
        """The slot script confirms house messages that stayed on screen in blocked ad slots: `slot_filled`."""
        path, count = body.get("path", "/"), body.get("slots")
        valid = isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_SLOTS
        if set(body) - {"path", "slots"} or not _is_path(path) or not valid:
            raise BadRequest(400, f'expected {{"path": "/a/path", "slots": a number from 1 to {MAX_SLOTS}}}')
        state = self._state(headers)
        if state is None or state.verdict is not Verdict.BLOCKED or self.editorial.ad_slots is None:
            raise BadRequest(409, "there is no house message to confirm")
        fields = self._fields(headers, state.visitor_id, path)
        self.events.emit("slot_filled", verdict=Verdict.BLOCKED.value, kind=state.kind, slots=count, **fields)
        await Response(status_code=204, headers={"Cache-Control": "no-store"})(scope, receive, send)

    async def slots(self, scope: Scope) -> Response:
        """The slot script with the house message in the reader's language, for a reader the server's own cookie
        says is blocking; anyone else (and a page where the policy asks nothing) gets a script that does nothing.
        """
        editorial = self.editorial
        if editorial.ad_slots is None:
            return _error(404, "this site has no ad_slots")
        query = query_fields(scope, max_fields=4)
        path = query.get(self.names.token_param, "")
        if not _is_path(path):
            raise BadRequest(400, f"expected ?{self.names.token_param}= and the page's path, such as /news/")
        headers = request_headers(scope)
        state = self._state(headers)
        nothing = Response(b";", media_type="text/javascript", headers=_NO_STORE_SCRIPT)
        if (
            state is None
            or state.verdict is not Verdict.BLOCKED
            or (self.skip_gpc and headers.get("sec-gpc") == "1")
            or is_crawler(headers.get("user-agent", ""))
            # Only this site's own pages: another site's <script src> must not learn that a reader blocks ads.
            or headers.get("sec-fetch-site", "same-origin") != "same-origin"
        ):
            return nothing
        policy = editorial.policy
        visitor = state.visitor_id
        mode = policy.effective(path, visitor).mode
        if not policy.covers(path) or (mode is Mode.OBSERVE and not editorial.ad_slots_in_observe):
            return nothing
        if policy.exempt is not None and self._exempted is not None and await self._exempted(policy, scope):
            return nothing  # a subscriber, say: never asked for anything
        locale, message = editorial.message_for(policy.variant_for(visitor), headers.get("accept-language", ""))
        root_path = scope.get("root_path", "")
        html = editorial.renderer.render(
            "slot.html",
            client=UNKNOWN_CLIENT,
            kind=state.kind,
            message=message,
            locale=locale,
            slot_class=self.names.slot_class,
            cta_url=url_path(root_path, f"{self.names.prefix}/{self.names.follow}"),
        )
        config = {
            "html": html,
            "selector": editorial.ad_slots,
            "cls": self.names.slot_class,
            "css": editorial.assets.slot_style,
            "seen": url_path(root_path, f"{self.names.prefix}/{self.names.seen}"),
            "wait": SLOT_WAIT_MS,
            "every": SLOT_EVERY_MS,
            "confirm": CONFIRM_AFTER_MS,
            "life": SLOT_LIFE_MS,
        }
        return Response(editorial.assets.slot_script(config), media_type="text/javascript", headers=_NO_STORE_SCRIPT)

    def fallback(self, scope: Scope) -> Response:
        """Loaded from `<noscript>` only: this browser runs no JavaScript, so its silent detector proves nothing.

        Only a stylesheet request counts (Sec-Fetch-Dest, where the browser sends it): a blocker that redirects
        the detector script here would arrive as a script.
        """
        response = Response(b"", media_type="text/css", headers={"Cache-Control": "no-store"})
        headers = request_headers(scope)
        if headers.get("sec-fetch-dest", "style") == "style":
            state = scriptless(self._state(headers))
            self._set_state(response, scope, state)
        return response

    async def dismiss(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        body = await _read_json(scope, headers, receive, self.origins)
        path = body.get("path", "/")
        if set(body) - {"path"} or not _is_path(path):
            raise BadRequest(400, 'expected {"path": "/a/path"}')
        state = self._state(headers)
        if state is None or state.verdict is not Verdict.BLOCKED:
            raise BadRequest(409, "there is no message to dismiss")
        state = state.replace(dismissed_at=int(time.time()))
        self.events.emit("message_dismissed", **self._fields(headers, state.visitor_id, path))
        response = Response(status_code=204, headers={"Cache-Control": "no-store"})
        self._set_state(response, scope, state)
        await response(scope, receive, send)

    async def recheck(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The no-JavaScript "check again": forget the verdict and go back, so the next page view checks afresh."""
        headers = request_headers(scope)
        _require_same_origin(scope, headers, self.origins)
        if headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise BadRequest(415, "expected a form post (application/x-www-form-urlencoded)")
        try:
            form = parse_qs((await _read_body(headers, receive)).decode("latin-1"), max_num_fields=4)
        except ValueError:
            raise BadRequest(400, "expected one field, next") from None
        target = local_target(form.get("next", ["/"])[0])
        if target is None:
            raise BadRequest(400, "next must be a path on this site, such as /news/")
        response = RedirectResponse(url_path(scope.get("root_path", ""), target), status_code=303)
        response.headers["Cache-Control"] = "no-store"
        state = self._state(headers)
        if state is not None and state.verdict is not None:
            self.events.emit("check_again", verdict=None, **self._fields(headers, state.visitor_id, target))
            self._set_state(response, scope, state.replace(verdict=None, kind=None, checked_at=None, views=0))
        await response(scope, receive, send)

    def _forgive(self, response: Response, scope: Scope) -> None:
        """A report that reached us and failed by our fault still ends the count of silent page views."""
        try:
            state = self._state(request_headers(scope))
            if state is not None:
                self._set_state(response, scope, reported(state, int(time.time())))
        except Exception:
            pass

    def _set_state(self, response: Response, scope: Scope, state: VisitorState) -> None:
        https = scope["scheme"] == "https"
        response.raw_headers.append(self.cookie.set_cookie_header(state, https=https))
        response.raw_headers.append(self.cookie.set_companion_header(state, https=https))

    def _fields(self, headers: RequestHeaders, visitor_id: str | None, path: str) -> dict[str, Any]:
        anonymous = headers.get("sec-gpc") == "1"  # Global Privacy Control: counted, never with an id
        return self.editorial.event_fields(
            None if anonymous else visitor_id,
            path,
            user_agent=headers.get("user-agent", ""),
            accept_language=headers.get("accept-language", ""),
            brands=headers.get("sec-ch-ua", ""),
        )

    def use(self, editorial: Editorial) -> None:
        """At start and after a reload: the policy events record, the files browsers load, the message."""
        self.editorial = editorial
        self._assets = self._asset_paths(editorial.assets)

    def follow(self, scope: Scope) -> Response:
        """A call to action: count the click, then send the reader on to the editor's link (and only there)."""
        targets = self.editorial.renderer.cta_targets
        if not targets:
            return _error(404, "this site's message has no calls to action")
        index = query_fields(scope, max_fields=4).get("to", "")
        numbers = {str(number): number for number in range(len(targets))}  # never int() of the reader's text
        if index not in numbers:
            return _error(400, f"expected ?to= and the number of a call to action, 0 to {len(targets) - 1}")
        name, url = targets[numbers[index]]
        headers = request_headers(scope)
        state = self._state(headers)
        if not (self.skip_gpc and headers.get("sec-gpc") == "1"):
            visitor = state.visitor_id if state is not None else None
            referring = _referring_path(scope, headers, self.origins)
            self.events.emit("cta_clicked", cta=name, **self._fields(headers, visitor, referring))
        if url.startswith("/"):
            local = local_url(scope.get("root_path", ""), url)
            if local is None:  # the renderer checked every link at start-up; this is the last line of defence
                return _error(404, "this call to action does not lead to a page on this site")
            url = local
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def preview(self, scope: Scope) -> Response:
        """The live message for the current settings, for editors holding the token; no detection, no cookie."""
        editorial = self.editorial
        if editorial.preview_token is None:
            return _error(404, "not found")
        query = query_fields(scope, max_fields=8)
        if not hmac.compare_digest(query.get("token", "").encode(), editorial.preview_token.encode()):
            return _error(403, "a preview needs ?token= with the preview token from the configuration")
        try:
            seen = choose(query, editorial)  # the same reader as a preview on the site's pages (live_preview)
        except ValueError as exc:
            return _error(400, str(exc))
        headers = request_headers(scope)
        messages = editorial.messages_for(seen.variant)
        if seen.locale is not None:
            locale, message = seen.locale.lower(), messages[seen.locale]
        else:
            locale, message = messages.choose(headers.get("accept-language", ""))
        page = editorial.renderer.preview_page(
            seen.mode.value,
            kind=seen.kind,
            client=describe_client(headers.get("user-agent", ""), headers.get("sec-ch-ua", "")),
            message=message,
            locale=locale,
            stylesheet=editorial.assets.stylesheet.body.decode(),
            css_class=self.names.css_class,
        )
        return Response(
            page,
            media_type="text/html",
            headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"},
        )

    def _state(self, headers: RequestHeaders) -> VisitorState | None:
        raw = headers.get("cookie")
        return self.cookie.load(raw.encode("latin-1")) if raw and self.cookie.name in raw else None


RequestHeaders = dict[str, str]


# Header names as browsers send them (lower case, as servers hand them on): their text is looked up, not decoded.
_KNOWN_NAMES = {
    name.encode(): name
    for name in (
        "host", "user-agent", "accept", "accept-encoding", "accept-language", "content-type", "content-length",
        "origin", "referer", "cookie", "connection", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest",
        "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "sec-gpc", "priority", "dnt", "te",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "cache-control", "pragma",
    )
}  # fmt: skip


def request_headers(scope: Scope) -> RequestHeaders:
    """The request's headers once, by lower-case name: cheaper than `Headers` lookups.

    Repeated `Cookie` headers are joined (HTTP/2 sends cookies in crumbs, as Starlette's `Request.cookies` reads
    them); of other repeated headers the last counts.
    """
    headers: RequestHeaders = {}
    known = _KNOWN_NAMES.get
    for name, value in scope["headers"]:
        key, text = known(name) or name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = headers[key] + "; " + text if key == "cookie" and key in headers else text
    return headers


MAX_QUERY = 2048  # characters of a query string we parse; ours are a few dozen


def query_fields(scope: Scope, *, max_fields: int) -> dict[str, str]:
    """The query string's fields (the first of repeated ones); too long or too many fields is a 400, never a 500."""
    query = scope.get("query_string", b"")
    if len(query) > MAX_QUERY:
        raise BadRequest(400, f"query string longer than {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(query.decode("latin-1"), max_num_fields=max_fields)
    except ValueError:
        raise BadRequest(400, f"more than {max_fields} query fields") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def _answer(handler: Callable[[Scope], Response], scope: Scope, what: str) -> Response:
    """A GET endpoint's response: bad input is its 4xx, our own fault a 500 logged once, never an exception."""
    try:
        return handler(scope)
    except BadRequest as exc:
        return _error(exc.status, exc.reason)
    except Exception as exc:
        report_fault(f"answering {what}", exc, "it was answered 500")
        return _error(500, "the server could not answer this")


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return PlainTextResponse(f"{status} {reason}\n", status_code=status, headers=headers)


# A script shaped by the reader's cookie: never kept by a cache, never read as anything but a script.
_NO_STORE_SCRIPT = {"Cache-Control": "private, no-store", "Vary": "Cookie", "X-Content-Type-Options": "nosniff"}


def _asset_response(asset: Asset) -> Response:
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


def _require_same_origin(scope: Scope, headers: RequestHeaders, origins: SiteOrigins) -> None:
    """Browsers say where a request comes from; anything not from this very site is refused (403)."""
    try:
        origins.require_same_origin(scope, headers)
    except Refused as exc:
        raise BadRequest(403, exc.reason) from None


async def _read_body(headers: RequestHeaders, receive: Receive) -> bytes:
    """Read at most MAX_BODY bytes, refusing more while reading, not after."""
    declared = headers.get("content-length")
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or len(declared) > 9 or int(declared) > MAX_BODY
    ):
        raise BadRequest(413, f"body larger than {MAX_BODY} bytes")
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest(400, "client disconnected")
        body += bytes(message.get("body", b""))
        if len(body) > MAX_BODY:
            raise BadRequest(413, f"body larger than {MAX_BODY} bytes")
        if not message.get("more_body", False):
            return body


async def _read_json(scope: Scope, headers: RequestHeaders, receive: Receive, origins: SiteOrigins) -> dict[str, Any]:
    _require_same_origin(scope, headers, origins)
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise BadRequest(415, "expected Content-Type: application/json")
    body = await _read_body(headers, receive)
    try:
        value = orjson.loads(body)  # a fifth of json's cost on a beacon's body
    except orjson.JSONDecodeError:
        try:  # what orjson refuses that json reads (NaN, a BOM, UTF-16, a lone surrogate) is still read as before
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise BadRequest(400, "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(400, "body must be a JSON object")
    return value


def _beacon_answer(verdict: Verdict, kind: Kind | None) -> tuple[bytes, tuple[bytes, bytes]]:
    body = b'{"verdict":"%s","kind":%s}' % (verdict.value.encode(), f'"{kind}"'.encode() if kind else b"null")
    return body, (b"content-length", str(len(body)).encode())


# The beacon's answer and its length, for each verdict and kind: made once.
_BEACON_ANSWERS = {(verdict, kind): _beacon_answer(verdict, kind) for verdict in Verdict for kind in (*Kind, None)}
_REPORT_FIELDS = frozenset({"signals", "path", "recheck"})


def _parse_report(body: dict[str, Any]) -> dict[str, Any]:
    if not body.keys() <= _REPORT_FIELDS:
        raise BadRequest(400, f"unknown field {sorted(body.keys() - _REPORT_FIELDS)[0]!r}")
    signals = body.get("signals")
    if (
        not isinstance(signals, dict)
        or not signals
        or not signals.keys() <= SIGNALS
        or not all(map(VALUES.__contains__, signals.values()))
    ):
        names = ", ".join(sorted(SIGNALS))
        raise BadRequest(400, f"signals must map some of {names} to blocked, not_blocked or unknown")
    path = body.get("path")
    if not _is_path(path):
        raise BadRequest(400, "path must be this page's path, such as /news/ (no query string)")
    recheck = body.get("recheck", False)
    if not isinstance(recheck, bool):
        raise BadRequest(400, "recheck must be true or false")
    return {"signals": signals, "path": path, "recheck": recheck}


def _referring_path(scope: Scope, headers: RequestHeaders, origins: SiteOrigins) -> str:
    """The page a call to action was followed from: the Referer's path when it is this site, else "/"."""
    try:
        referer = urlsplit(headers.get("referer", "")[:2048])
    except ValueError:
        return "/"
    ours = bool(referer.netloc) and origins.is_site(f"{referer.scheme}://{referer.netloc}", scope, headers)
    if ours and _is_path(referer.path):
        path = referer.path
        root_path: str = scope.get("root_path", "")
        return path[len(root_path) :] or "/" if root_path and path.startswith(root_path) else path
    return "/"


_is_path = is_local_path
