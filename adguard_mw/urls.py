"""Every URL we write into a page or a `Location` header, made one way.

The mount point (`root_path`) and the page's path come from the request, so the reader controls them: under
`Mount("/{lang}", ...)` a request for `/x"onload="…"/news/1` has a root path with a quote in it. A URL is
therefore built here from decoded text by percent-encoding every character that is not a letter, a digit, `/` or
one of `-._~`: what comes out cannot end an attribute, start a tag, carry a scheme or a query, and never starts
with `//` (which a browser would read as another host). Templates escape it once more on the way out (Jinja2's
autoescape, `markupsafe.escape` in tags built in Python), so both layers would have to fail for text to escape.

Redirect targets are resolved the way a browser resolves them (dot segments removed, percent-encoded ones too)
before they are checked, so a target cannot climb out of the mount point once it is joined to it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from markupsafe import escape

MAX_PATH = 512


def url_path(root_path: str, path: str = "") -> str:
    """`root_path` + `path` (both decoded, as ASGI gives them) as a path-absolute URL on this host."""
    url = root_path.rstrip("/") + path
    if _NOTHING_TO_QUOTE.fullmatch(url) is None:  # most paths are already what `quote` would make of them
        url = quote(url, safe="/")
    return _path_absolute(url)


_NOTHING_TO_QUOTE = re.compile(r"[A-Za-z0-9_.~/-]*")  # `quote(safe="/")` leaves these as they are


def _path_absolute(url: str) -> str:
    """Never a scheme-relative URL (`//host/...`) to a browser; the same path to the server."""
    return "/%2F" + url[2:] if url.startswith("//") else url


def attribute(value: str) -> str:
    """Text for a double-quoted HTML attribute that we write ourselves (not through a template)."""
    return str(escape(value))


def is_local_path(value: object) -> bool:
    """A path on this site only: no scheme, host, "//" or backslash tricks, query, fragment or control character."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_PATH
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and "\\" not in value
        and "?" not in value
        and "#" not in value
        and value.isprintable()
    )


def resolve(path: str) -> str:
    """`path` with its dot segments removed as RFC 3986 (and browsers) do; `%2e` counts as a dot."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        dots = unquote(segment) if "%" in segment else segment
        if dots == ".":
            if last:
                output.append("")
        elif dots == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def local_target(value: object) -> str | None:
    """A redirect target given as a path (`next=` of a form): decoded, resolved, and still a local path; else None.

    `/..//evil.example` resolves to `//evil.example` and is refused, as is anything `is_local_path` refuses.
    """
    if not isinstance(value, str) or len(value) > MAX_PATH:
        return None
    decoded = unquote(value)
    if not is_local_path(decoded):
        return None
    resolved = resolve(decoded)
    return resolved if is_local_path(resolved) else None


def local_url(root_path: str, url: str) -> str | None:
    """An editor's link on this site (`/subscribe?from=wall`), under the mount point, its path resolved; None when
    it would not stay a path on this site."""
    path, mark, rest = url.partition("?") if "?" in url else url.partition("#")
    if not path.startswith("/") or path.startswith(("//", "/\\")) or "\\" in url:
        return None
    resolved = resolve(path)
    if resolved.startswith("//"):
        return None
    return _path_absolute(url_path(root_path) + resolved) + mark + rest
