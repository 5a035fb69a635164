"""The message on the site's own pages, for editors: Google's `fc=alwaysshow`, with a token.

An editor holding the preview token opens the preview address with `page=` (the path of any page of the site) and
the reader to be (`mode`, `kind`, `variant`, `locale`). The answer is a redirect to that page with a short-lived
signed cookie, so the token never reaches the page, its address or its Referer, the app sees a clean URL, and
following links keeps the preview. While the cookie holds (PREVIEW_SECONDS, or until `&end=1`), every HTML page is
served as a blocked reader of that kind would get it, with no detector (a clean browser would clear the verdict),
calls to action linking straight to their targets, and nothing recorded: no event, no reader cookie, and the
message's own posts (seen, dismiss, check again, a beacon, a client-side navigation) are answered here and
forgotten. Such pages are never cached (`no-store`, no validator; the browser's conditional headers are kept from
the app) nor indexed.

The cookie is bound to the token: a new token (or none) ends every preview made with the old one. A wrong token,
or no cookie, changes nothing: the page is the page.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from itsdangerous import BadSignature, TimestampSigner
from itsdangerous.signer import HMACAlgorithm
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .editorial import Editorial
from .endpoints import BadRequest, _error, query_fields
from .names import Names
from .policy import Mode
from .previewed import PreviewAs, choose
from .state import cookie_value
from .urls import local_url

PREVIEW_SECONDS = 15 * 60
_SALT = "adguard_mw.live-preview"
# Request headers that would let the app answer 304 with the page the editor's browser kept from before.
_CONDITIONAL = frozenset({b"if-none-match", b"if-modified-since", b"if-match", b"if-unmodified-since", b"if-range"})
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
SCOPE_KEY = "adguard_mw.preview"  # the PreviewAs of a page view under preview


def token_matches(query: Mapping[str, str], editorial: Editorial) -> bool:
    token = editorial.preview_token
    return token is not None and hmac.compare_digest(query.get("token", "").encode(), token.encode())


class LivePreview:
    """The preview cookie: set by the preview address with `page=`, read on every page view while a token is set."""

    def __init__(self, secret_keys: list[str], names: Names) -> None:
        # Named after this deployment's own cookie, so it is as unguessable a name as that one.
        digest = hashlib.blake2b(names.cookie.encode(), digest_size=2, person=b"preview").hexdigest()
        self.cookie_name = f"{names.companion}{digest}"
        self._needle = self.cookie_name.encode("latin-1") + b"="
        self._signer = TimestampSigner(secret_keys, salt=_SALT, algorithm=HMACAlgorithm("sha256"))
        self._start = "/" + names.preview
        posts = (names.beacon, names.seen, names.dismiss, names.recheck, names.navigate)
        self._muted = frozenset("/" + name for name in posts)  # a client-side navigation is not counted either

    def prepare(self, scope: Scope, editorial: Editorial) -> None:
        """Before the app sees a page request: under a valid preview cookie, note the preview in the scope and
        drop the conditional headers (the page must be the app's whole page, not a 304 of an unpreviewed one)."""
        if editorial.preview_token is None:
            return
        cookie = b"; ".join(value for name, value in scope["headers"] if name == b"cookie")
        if self._needle not in cookie:
            return
        seen = self._read(cookie, editorial.preview_token)
        if seen is not None:
            scope[SCOPE_KEY] = seen
            scope["headers"] = [(name, value) for name, value in scope["headers"] if name not in _CONDITIONAL]

    async def intercept(self, scope: Scope, receive: Receive, send: Send, subpath: str, editorial: Editorial) -> bool:
        """Answer our own requests that belong to a preview; False for the others (the endpoints answer them)."""
        query = scope.get("query_string", b"")
        if subpath == self._start and (b"page=" in query or b"end=" in query):
            await self._start_or_end(scope, editorial)(scope, receive, send)
            return True
        if subpath in self._muted and scope["method"] == "POST" and editorial.preview_token is not None:
            cookie = b"; ".join(value for name, value in scope["headers"] if name == b"cookie")
            if self._needle in cookie and self._read(cookie, editorial.preview_token) is not None:
                # The previewed message's own reports: nothing to record, nothing to change.
                await Response(status_code=204, headers={"Cache-Control": "no-store"})(scope, receive, send)
                return True
        return False

    def _start_or_end(self, scope: Scope, editorial: Editorial) -> Response:
        try:
            query = query_fields(scope, max_fields=8)
            if editorial.preview_token is None:
                return _error(404, "not found")
            if not token_matches(query, editorial):
                return _error(403, "a preview needs ?token= with the preview token from the configuration")
            root_path = scope.get("root_path", "")
            target = local_url(root_path, query.get("page", "/"))
            if target is None:
                return _error(400, "page must be a path on this site, such as /news/1")
            https = scope["scheme"] == "https"
            if "end" in query:
                response = RedirectResponse(target, 303, headers=_NO_STORE)
                response.headers.append("Set-Cookie", self._header("", 0, https))
                return response
            value = self._signer.sign(_dump(choose(query, editorial), editorial.preview_token)).decode("ascii")
        except BadRequest as exc:
            return _error(exc.status, exc.reason)
        except ValueError as exc:  # a mode, kind, variant or locale the configuration does not have
            return _error(400, str(exc))
        response = RedirectResponse(target, 303, headers=_NO_STORE)
        response.headers.append("Set-Cookie", self._header(value, PREVIEW_SECONDS, https))
        return response

    def _header(self, value: str, max_age: int, https: bool) -> str:
        header = f"{self.cookie_name}={value}; Max-Age={max_age}; Path=/; SameSite=Lax; HttpOnly"
        return header + "; Secure" if https else header

    def _read(self, cookie: bytes, token: str) -> PreviewAs | None:
        value = cookie_value(cookie.decode("latin-1"), self.cookie_name)
        if not value or len(value) > 512:
            return None
        try:
            payload = self._signer.unsign(value, max_age=PREVIEW_SECONDS).decode("utf-8")
        except (BadSignature, UnicodeError):
            return None
        return _load(payload, token)


def _token_tag(token: str) -> str:
    return hashlib.blake2b(token.encode(), digest_size=6, person=b"preview").hexdigest()


def _dump(seen: PreviewAs, token: str) -> str:
    return "|".join((_token_tag(token), seen.mode.value, seen.kind, seen.variant or "", seen.locale or ""))


def _load(payload: str, token: str) -> PreviewAs | None:
    parts = payload.split("|")
    if len(parts) != 5 or not hmac.compare_digest(parts[0], _token_tag(token)):
        return None  # made with another token: that preview has ended
    try:
        return PreviewAs(Mode(parts[1]), parts[2], parts[3] or None, parts[4] or None)
    except ValueError:
        return None
