"""What a page's request says in its headers, read once per request: a page asks for several of them."""

from __future__ import annotations

from starlette.types import Scope

HEADERS_KEY = "adguard_mw.headers"  # where the scope keeps them, by lower-case name


def header_bytes(scope: Scope, name: bytes) -> bytes:
    """A request header by its lower-case name. A page asks for several: they are indexed once per request."""
    headers: dict[bytes, bytes] | None = scope.get(HEADERS_KEY)
    if headers is None:
        raw = scope["headers"]
        headers = dict(raw) if type(raw) is list else None  # one C loop for the usual request
        if headers is None or len(headers) != len(raw):  # a header repeated (or not a list): one by one
            headers = {}
            for key, value in raw:
                if key == b"cookie" and key in headers:
                    headers[key] += b"; " + value  # HTTP/2 sends cookies in crumbs, one header each: read them all
                else:
                    headers.setdefault(key, value)  # the first of other repeated headers
        scope[HEADERS_KEY] = headers
    return headers.get(name, b"")


def header(scope: Scope, name: bytes) -> str:
    return header_bytes(scope, name).decode("latin-1")


def is_navigation(scope: Scope) -> bool:
    """A page the reader opened, not HTML fetched by a script or an icon request.

    Browsers say so in `Sec-Fetch-Dest`, but only to secure origins; elsewhere a navigation is the request that
    asks for HTML first.
    """
    destination = header_bytes(scope, b"sec-fetch-dest")
    if destination:
        return destination == b"document"
    return header_bytes(scope, b"accept").startswith(b"text/html")


def local_path(scope: Scope) -> str:
    """The path below the app's mount point: servers may or may not include `root_path` in `path`."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path
