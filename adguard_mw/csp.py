"""Reading the page's Content-Security-Policy so the injected tags carry its nonce.

A page protected by `script-src 'nonce-…'` (with or without `'strict-dynamic'`) would refuse our detector; copying
the response's own nonce onto our tags keeps it working without weakening the policy, which we never edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=_-]+)'")


def _effective_sources(headers: list[tuple[bytes, bytes]], directive: str) -> Iterator[str | None]:
    """For each enforced policy, the sources that govern `directive` (its `-elem` form, itself, or `default-src`);
    None where the policy does not restrict it."""
    for name, value in headers:
        if name.lower() != b"content-security-policy":
            continue
        sources: dict[str, str] = {}
        for part in value.decode("latin-1").split(";"):
            key, *rest = part.split(None, 1) or [""]  # any white space separates a directive from its sources
            sources.setdefault(key.lower(), rest[0] if rest else "")
        yield next((sources[key] for key in (f"{directive}-elem", directive, "default-src") if key in sources), None)


def has_policy(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the response carries an enforced policy at all: most pages do not, and need read no further."""
    for name, _ in headers:  # noqa: SIM110 (a loop, not any() of a generator: this runs on every page)
        if len(name) == 23 and name.lower() == b"content-security-policy":  # the length first: no new bytes
            return True
    return False


def csp_nonce(headers: list[tuple[bytes, bytes]], directive: str = "script-src") -> str | None:
    """The nonce the enforced policy allows for `directive` (falling back to `default-src`), if any."""
    for sources in _effective_sources(headers, directive):
        if sources is not None:
            match = _NONCE.search(sources)
            return match.group(1) if match else None
    return None


def allows_inline(headers: list[tuple[bytes, bytes]], directive: str = "script-src") -> bool:
    """Whether an inline element of this kind (with the page's nonce, if it has one) runs under the page's policy.

    True without a policy, with a nonce (we copy it), or with 'unsafe-inline' where no nonce or hash cancels it.
    """
    for sources in _effective_sources(headers, directive):
        allowed = (sources or "").lower()
        if sources is None or "'nonce-" in allowed:
            continue
        if "'unsafe-inline'" not in allowed or "'sha" in allowed or "'strict-dynamic'" in allowed:
            return False
    return True
