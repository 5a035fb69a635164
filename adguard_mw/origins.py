"""Which origins are this site, for the endpoints that change a reader's state.

A browser says where a `POST` comes from (`Origin`, `Sec-Fetch-Site`); we accept it when that origin is this site.
By default "this site" is the request's `Host` header. Behind a proxy that rewrites `Host` (nginx's default
`proxy_set_header Host $proxy_host`, a CDN pointed at an origin host name) the browser's origin and the `Host` we
see differ, so the site can name its public origins (`trusted_origins`, as Django's `CSRF_TRUSTED_ORIGINS`), or let
its proxy tell us the host the reader asked for (`X-Forwarded-Host`, `X-Forwarded-Proto` or `Forwarded`), which we
believe only from the proxies it lists (`forwarded_allow_ips`, as uvicorn's `--forwarded-allow-ips`): anyone else
can send those headers too.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from starlette.types import Scope

logger = logging.getLogger("adguard_mw")

_ORIGIN = re.compile(r"(https?)://(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*)(:[0-9]{1,5})?")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
_FORWARDED_HOST = re.compile(r'(?:^|[;,\s])host="?([^";,\s]+)', re.IGNORECASE)
_FORWARDED_PROTO = re.compile(r'(?:^|[;,\s])proto="?([A-Za-z]+)', re.IGNORECASE)
MAX_KEPT_ANSWERS = 256  # (Origin, Host) pairs answered once each: at most 256 of at most 256 characters
MAX_KEPT_PAIR = 256
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The request does not come from this site; `reason` is what to answer (one line)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SiteOrigins:
    """`trusted_origins`: origins such as "https://www.news.example" ("https://*.news.example" for its
    subdomains). `forwarded_allow_ips`: addresses or networks of the proxies whose forwarded headers are
    believed, "*" for any (only when nothing else can reach the app), or None to believe no one."""

    def __init__(
        self, trusted_origins: Sequence[str] = (), forwarded_allow_ips: str | Sequence[str] | None = None
    ) -> None:
        if isinstance(trusted_origins, str):
            trusted_origins = (trusted_origins,)
        exact: set[str] = set()
        suffixes: list[tuple[str, str]] = []
        for origin in trusted_origins:
            match = _ORIGIN.fullmatch(origin.lower().rstrip("/")) if isinstance(origin, str) else None
            if match is None:
                raise ValueError(
                    f"adguard_mw: trusted_origins item {origin!r} must be an origin such as "
                    "'https://www.news.example' or 'https://*.news.example' (scheme and host, no path)"
                )
            scheme, wildcard, host, port = match.groups()
            port = "" if port is None or port == _DEFAULT_PORTS[scheme] else port
            if wildcard:
                suffixes.append((f"{scheme}://", f".{host}{port}"))
            else:
                exact.add(f"{scheme}://{host}{port}")
        self.trusted = frozenset(exact)
        self.suffixes = tuple(suffixes)
        self.any_proxy, self.proxies = _networks(forwarded_allow_ips)
        self._warned = False
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], bool] = {}  # (Origin, Host) -> is_site, without trusted proxies

    def trusts_proxy(self, scope: Scope) -> bool:
        """Whether this request comes from a proxy the site listed in `forwarded_allow_ips`."""
        if self.any_proxy:
            return True
        if not self.proxies:
            return False
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    def hosts(self, scope: Scope, headers: Mapping[str, str]) -> tuple[str, str | None]:
        """The host the reader asked for, and its scheme when a trusted proxy said: from the proxy's forwarded
        headers when it is trusted and sent them, else the `Host` header (scheme unknown)."""
        host = headers.get("host", "")
        if not self.trusts_proxy(scope):
            return host, None
        forwarded = headers.get("forwarded")
        if forwarded is not None:
            last = forwarded.rsplit(",", 1)[-1]  # the element added by the proxy next to us
            found_host, found_proto = _FORWARDED_HOST.search(last), _FORWARDED_PROTO.search(last)
            return (
                found_host.group(1) if found_host else host,
                found_proto.group(1).lower() if found_proto else None,
            )
        forwarded_host = headers.get("x-forwarded-host")
        proto = headers.get("x-forwarded-proto")
        return (
            forwarded_host.rsplit(",", 1)[-1].strip() if forwarded_host else host,
            proto.rsplit(",", 1)[-1].strip().lower() if proto else None,
        )

    def is_site(self, origin: str, scope: Scope, headers: Mapping[str, str]) -> bool:
        """Whether `origin` (an `Origin` header's value) is this site.

        Without trusted proxies the answer depends on the origin and the `Host` alone, and a site's readers send a
        handful of those: each pair is answered once (parsing the origin was most of a beacon's check)."""
        if self.any_proxy or self.proxies:
            return self._is_site(origin, scope, headers)
        key = (origin, headers.get("host", ""))
        known = self._answers.get(key)
        if known is None:
            known = self._is_site(origin, scope, headers)
            if len(key[0]) + len(key[1]) <= MAX_KEPT_PAIR:
                if len(self._answers) >= MAX_KEPT_ANSWERS:
                    self._answers.clear()
                self._answers[key] = known
        return known

    def _is_site(self, origin: str, scope: Scope, headers: Mapping[str, str]) -> bool:
        try:
            parts = urlsplit(origin)
            scheme, netloc = parts.scheme.lower(), parts.netloc.lower()
        except ValueError:  # e.g. "http://[": not an origin at all
            return False
        if not netloc:
            return False
        netloc = netloc.removesuffix(_DEFAULT_PORTS.get(scheme, "\0"))
        full = f"{scheme}://{netloc}"
        if full in self.trusted or any(full.startswith(s) and full.endswith(h) for s, h in self.suffixes):
            return True
        host, forwarded_scheme = self.hosts(scope, headers)
        host = host.lower().removesuffix(_DEFAULT_PORTS.get(forwarded_scheme or scheme, "\0"))
        return netloc == host and (forwarded_scheme is None or forwarded_scheme == scheme)

    def require_same_origin(self, scope: Scope, headers: Mapping[str, str]) -> None:
        """Browsers say where a request comes from; anything not from this very site is refused."""
        site = headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            raise Refused(f"cross-site request refused (Sec-Fetch-Site: {site[:32]})")
        origin = headers.get("origin")
        if origin is not None and not self.is_site(origin, scope, headers):
            self._say_how_to_fix(origin, scope, headers)
            raise Refused("cross-origin request refused (Origin is not this site)")

    def _say_how_to_fix(self, origin: str, scope: Scope, headers: Mapping[str, str]) -> None:
        """The first refusal per process is logged with the fix: a proxy that rewrites Host stops every beacon."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        host, _ = self.hosts(scope, headers)
        logger.warning(
            "adguard_mw: refused a request from Origin %.100r to Host %.100r (logged once); if that origin is this "
            "site behind a proxy or CDN that rewrites Host, add it to trusted_origins, or have the proxy send "
            "X-Forwarded-Host and list it in forwarded_allow_ips (docs/deployment.md)",
            origin,
            host,
        )


def _networks(value: str | Sequence[str] | None) -> tuple[bool, tuple[IpNetwork, ...]]:
    if value is None:
        return False, ()
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    networks: list[IpNetwork] = []
    for item in items:
        if item == "*":
            return True, ()
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except (ValueError, TypeError):
            raise ValueError(
                f"adguard_mw: forwarded_allow_ips item {item!r} must be an IP address or network such as "
                "'127.0.0.1' or '10.0.0.0/8', or '*' for any"
            ) from None
    return False, tuple(networks)
