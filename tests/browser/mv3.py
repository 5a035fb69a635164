"""Run Chromium's own blocking engine: an unpacked Manifest V3 extension with ``declarativeNetRequest`` rules.

:mod:`.blocker` imitates an ad blocker from the outside (Playwright routes requests through Brave's engine).
This module lets Chromium itself do the blocking, the way uBlock Origin Lite, AdGuard MV3 and every other MV3
blocker work: a tiny extension whose static ruleset Chromium evaluates in its network stack. Nothing of
Playwright's request interception is involved, so what a page sees (``net::ERR_BLOCKED_BY_CLIENT``, redirects to
``chrome-extension://`` stand-ins, stripped query parameters, added request headers) is what a reader sees.

Usage::

    rules = network_filters_to_dnr("||ads.test^\\n/js/adserver.js$script\\n@@/js/adserver.js$domain=ok.test")
    rules.append(set_request_header("Sec-GPC", "1"))
    async with mv3_context(executable, rules) as context:
        log = Mv3Log()
        log.attach(context)  # optional: log.blocked, log.redirected
        page = await context.new_page()

:func:`network_filters_to_dnr` converts the network filters a list maintainer writes (a subset of the
Adblock Plus / uBlock Origin syntax; anything else raises ``ValueError`` naming the line). See its docstring
for the mapping and where it differs from uBlock Origin.

How the extension gets loaded (checked with Debian's chromium 156 and Playwright 1.65):

* ``launch_persistent_context`` -- extensions only load into a persistent profile;
* ``ignore_default_args=["--disable-extensions"]`` -- Playwright passes ``--disable-extensions`` by default,
  which silently wins over ``--load-extension``;
* ``headless=True`` is enough: Playwright passes ``--headless``, which since Chromium 132 *is* the new headless
  mode (the old one, without extensions, now lives in a separate ``chrome-headless-shell``). No
  ``--headless=new``, no ``headless=False``;
* Debian's ``/usr/bin/chromium`` wrapper adds an empty ``--load-extension=`` of its own (from
  ``/etc/chromium.d/extensions``); ours comes later on the command line and wins.

Chromium refuses the *whole* extension if one rule is invalid, and says why only on its stderr (run with
``DEBUG=pw:browser`` to see the "Failed to load extension" line). :func:`build_extension` therefore checks what
it can first, and :func:`mv3_context` reports a missing extension at once (it asks for a stand-in at
``chrome-extension://<EXTENSION_ID>/``; the manifest's public ``key`` pins the id).

Readiness: instead of sleeping, :func:`mv3_context` navigates to :data:`READY_PROBE_URL`, which a rule that
:func:`build_extension` adds to every ruleset blocks, until Chromium answers ``ERR_BLOCKED_BY_CLIENT``. The
ruleset is indexed as one unit, so once the probe is blocked all the rules are active.

Notes on declarativeNetRequest itself, for test writers:

* a rule without resource types matches every type *except* ``main_frame`` (top-level documents), as in
  Adblock Plus; ``$document`` adds it;
* at equal priority an ``allow`` beats ``block``, which beats ``redirect``; hence the priorities below;
* ``fetch()`` is an ``xmlhttprequest`` and ``navigator.sendBeacon()`` a ``ping``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, Request, Response, async_playwright
from playwright.async_api import Error as PlaywrightError

from .blocker import UBLOCK_ALIASES
from .conftest import CHROMIUM_ARGS

Rule = dict[str, Any]

EXTENSION_NAME = "adguard_mw test blocker (declarativeNetRequest)"
# The public half of a throwaway RSA key. It signs nothing; it only pins the extension's id (Chromium derives
# the id from the manifest's "key"), so that tests can name ``chrome-extension://<EXTENSION_ID>/noop.js``.
EXTENSION_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqShlRJLsUbiKiudb68CWt0rlEYbNpSTx1Ti4yn757KQAOybFWDax/6hLTRQrvBmp"
    "577pUgbO8Ucgxr1PTmONjkfhDgHT3GJnhym8/Tr3F9inu55/JejN6aYr+pTihAd7noxKcFH1Bf25i/ZBEbKcztuhJekADiQ2P4bpz5qo+Gon"
    "0wcFXGeXC/yWnp+tzIS7NCbofjQJYHvQ254uQ7xgfeHJzL8yXhGjILD80kyXgmWrir6U2BGKffKop+GNDSVsLOQtW4+x7iPWnY8P18gmOsNz"
    "dqU4mQ05eQgSkFZGadprygsLKpOXuoKSKx9Xdd39LCnHgoSbm8lFCwvAD9TRDwIDAQAB"
)
# Chromium's id: the first 128 bits of the key's SHA-256, in hex written with the letters a-p.
EXTENSION_ID = (
    hashlib.sha256(base64.b64decode(EXTENSION_KEY))
    .hexdigest()[:32]
    .translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))
)
READY_PROBE_URL = "http://mv3-ready.invalid/"  # blocked by the probe rule; never resolved, never served

# Priorities: the highest-priority matching rule decides (ties: allow > block > redirect > modifyHeaders).
# A $redirect= rule must beat a plain block of the same URL (uBlock serves the stand-in), an @@ exception
# must beat both, and $important beats exceptions. Header rules are applied on top of whatever is allowed.
BLOCK_PRIORITY = 1
REMOVEPARAM_PRIORITY = 1
REDIRECT_PRIORITY = 2
ALLOW_PRIORITY = 3
IMPORTANT_PRIORITY = 4
HEADER_PRIORITY = 5
# Chromium keeps priority << 8 (the low byte ranks the action) in 32 bits: from 2**24 on a priority silently
# wraps around to a low one (checked on chromium 156). build_extension refuses such rules.
MAX_PRIORITY = (1 << 24) - 1
_PROBE_PRIORITY = MAX_PRIORITY

# Filter option -> declarativeNetRequest resource type.
RESOURCE_TYPES: dict[str, str] = {
    "script": "script",
    "image": "image",
    "stylesheet": "stylesheet",
    "css": "stylesheet",
    "xmlhttprequest": "xmlhttprequest",
    "xhr": "xmlhttprequest",
    "ping": "ping",
    "beacon": "ping",
    "other": "other",
    "document": "main_frame",
    "doc": "main_frame",
    "subdocument": "sub_frame",
    "frame": "sub_frame",
    "font": "font",
    "media": "media",
    "object": "object",
    "websocket": "websocket",
}
# Every declarativeNetRequest resource type: a rule that must also see top-level documents lists them all.
ALL_RESOURCE_TYPES = (
    "main_frame",
    "sub_frame",
    "stylesheet",
    "script",
    "image",
    "font",
    "object",
    "xmlhttprequest",
    "ping",
    "csp_report",
    "media",
    "websocket",
    "webtransport",
    "webbundle",
    "other",
)
_PARTY = {"third-party": "thirdParty", "3p": "thirdParty", "first-party": "firstParty", "1p": "firstParty"}
_OTHER_PARTY = {"thirdParty": "firstParty", "firstParty": "thirdParty"}
_METHODS = {"connect", "delete", "get", "head", "options", "patch", "post", "put"}

# The stand-ins the extension bundles for $redirect=, with uBlock Origin's aliases (from .blocker).
# Our own minimal files: an empty script, a transparent 1x1 GIF, empty text, an empty JSON object.
STAND_INS: dict[str, bytes] = {
    "noop.js": b"(function() {\n    'use strict';\n})();\n",
    "1x1.gif": bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"),
    "noop.txt": b"",
    "noop.json": b"{}",
}
_ALIASES = {**UBLOCK_ALIASES, "noop.json": ["noopjson"]}  # uBlock's alias the Brave harness does not need
_STAND_IN_NAMES: dict[str, str] = {alias: name for name in STAND_INS for alias in (name, *_ALIASES.get(name, []))}

# An option list at the end of a filter: ``$name``, ``$~name``, ``$name=value``, comma separated.
_OPTIONS = re.compile(r"~?[a-z0-9-]+(?:=[^,]*)?(?:,~?[a-z0-9-]+(?:=[^,]*)?)*", re.IGNORECASE)
# JavaScript regular expression features RE2 (Chromium's regex engine for regexFilter) does not have.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


def network_filters_to_dnr(lines: str, *, first_id: int = 1) -> list[Rule]:
    """declarativeNetRequest rules for network filters, one per line, numbered from ``first_id``.

    Blank lines, ``!`` comments and ``[Adblock Plus ...]`` headers are skipped. Supported:

    * patterns: ``||host^``, substrings such as ``/foo/bar.js``, ``|`` anchors, ``*``, ``^`` (-> ``urlFilter``,
      the same syntax); ``/regex/`` (-> ``regexFilter``; RE2, so no look-arounds or back-references); an empty
      pattern (``$removeparam=utm_source``) matches every URL;
    * ``@@`` exceptions (-> ``allow`` at a higher priority; with ``$document``, ``allowAllRequests`` for the page);
    * types ``$script``, ``$image``, ``$stylesheet``/``$css``, ``$xmlhttprequest``/``$xhr``, ``$ping``,
      ``$other``, ``$document``, ``$subdocument``/``$frame``, ``$font``, ``$media``, ``$object``,
      ``$websocket``, each negatable with ``~``;
    * ``$third-party``/``$3p``, ``$first-party``/``$1p`` (negatable) -> ``domainType``;
    * ``$domain=a.test|~b.test`` (alias ``from=``) -> ``initiatorDomains`` / ``excludedInitiatorDomains``;
    * ``$method=post|~get`` -> ``requestMethods`` / ``excludedRequestMethods``;
    * ``$redirect=`` one of :data:`STAND_INS` (or a uBlock alias such as ``noopjs``) -> a redirect to the
      extension's stand-in;
    * ``$removeparam=name`` -> a redirect that removes the query parameter (bare ``$removeparam``: the whole
      query). Without type options it applies to every type, documents included;
    * ``$match-case``; ``$important`` (beats exceptions).

    Differences from uBlock Origin: a plain ``@@`` exception also cancels ``$removeparam`` on the URLs it
    matches; ``/ads/`` is a regular expression (write ``/ads/*`` for the path); a filter without types never
    blocks the top-level document (uBlock's "strict blocking" page). Anything else raises ``ValueError``.
    """
    rules: list[Rule] = []
    for line in lines.splitlines():
        text = line.strip()
        if not text or text.startswith("!") or (text.startswith("[") and text.endswith("]")):
            continue
        try:
            rule = _filter_to_rule(text)
        except ValueError as error:
            raise ValueError(f"cannot convert filter {text!r} to declarativeNetRequest: {error}") from None
        rule["id"] = first_id + len(rules)
        rules.append(rule)
    return rules


def _filter_to_rule(text: str) -> Rule:
    if re.search(r"#[@?$%]?#|#@[$?%]#", text):
        raise ValueError("cosmetic filters and scriptlets are not network filters")
    exception = text.startswith("@@")
    pattern = text.removeprefix("@@")
    options: list[str] = []
    dollar = pattern.rfind("$")
    if dollar >= 0 and _OPTIONS.fullmatch(pattern[dollar + 1 :]):
        pattern, options = pattern[:dollar], pattern[dollar + 1 :].split(",")

    condition: dict[str, Any] = {}
    types: list[str] = []
    not_types: list[str] = []
    action: dict[str, Any] = {"type": "allow" if exception else "block"}
    priority = ALLOW_PRIORITY if exception else BLOCK_PRIORITY
    removeparam = False
    important = False

    for option in options:
        name, has_value, value = option.partition("=")
        negated = name.startswith("~")
        name = name.removeprefix("~").lower()
        if name in RESOURCE_TYPES and not has_value:
            (not_types if negated else types).append(RESOURCE_TYPES[name])
        elif name in _PARTY and not has_value:
            party = _PARTY[name]
            condition["domainType"] = _OTHER_PARTY[party] if negated else party
        elif name in ("domain", "from") and has_value and not negated:
            included, excluded = _split_list(value, _domain)
            if included:
                condition["initiatorDomains"] = included
            if excluded:
                condition["excludedInitiatorDomains"] = excluded
        elif name == "method" and has_value and not negated:
            included, excluded = _split_list(value, _method)
            if included:
                condition["requestMethods"] = included
            if excluded:
                condition["excludedRequestMethods"] = excluded
        elif name == "redirect" and has_value and not negated and not exception:
            if value not in _STAND_IN_NAMES:
                raise ValueError(f"no stand-in {value!r} (the extension bundles {', '.join(STAND_INS)})")
            action = {"type": "redirect", "redirect": {"extensionPath": "/" + _STAND_IN_NAMES[value]}}
            priority = REDIRECT_PRIORITY
        elif name == "removeparam" and not negated and not exception:
            if value.startswith(("~", "/")):
                raise ValueError("inverted and regex $removeparam have no declarativeNetRequest equivalent")
            transform = {"queryTransform": {"removeParams": [value]}} if value else {"query": ""}
            action = {"type": "redirect", "redirect": {"transform": transform}}
            priority = REMOVEPARAM_PRIORITY
            removeparam = True
        elif name == "match-case" and not has_value and not negated:
            condition["isUrlFilterCaseSensitive"] = True
        elif name == "important" and not has_value and not negated and not exception:
            important = True
        else:
            raise ValueError(f"unsupported option {option!r}")

    if important:
        if action["type"] != "block":
            raise ValueError("$important only applies to blocking filters")
        priority = IMPORTANT_PRIORITY
    if sum(1 for option in options if option.partition("=")[0] in ("redirect", "removeparam")) > 1:
        raise ValueError("one $redirect or $removeparam per filter")

    if types:
        condition["resourceTypes"] = sorted(set(types) - set(not_types))
        if not condition["resourceTypes"]:
            raise ValueError("its type options exclude every type")
    elif not_types:
        condition["excludedResourceTypes"] = sorted(set(not_types))
    elif removeparam:
        condition["resourceTypes"] = list(ALL_RESOURCE_TYPES)  # top-level documents included

    if exception and "main_frame" in condition.get("resourceTypes", []):
        if set(condition["resourceTypes"]) - {"main_frame", "sub_frame"}:
            raise ValueError("an exception with $document may only add $subdocument")
        action = {"type": "allowAllRequests"}

    _add_pattern(condition, pattern)
    return {"priority": priority, "action": action, "condition": condition}


def _add_pattern(condition: dict[str, Any], pattern: str) -> None:
    if not pattern.isascii():
        raise ValueError("declarativeNetRequest patterns must be ASCII (write host names in punycode)")
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        regex = pattern[1:-1]
        if _NOT_RE2.search(regex):
            raise ValueError("look-arounds and back-references are not RE2 syntax")
        condition["regexFilter"] = regex
    elif pattern.startswith("||*"):
        raise ValueError("declarativeNetRequest refuses a pattern starting with '||*' (drop the '||')")
    elif pattern not in ("", "*"):
        condition["urlFilter"] = pattern


def _split_list(value: str, check: Callable[[str], str]) -> tuple[list[str], list[str]]:
    included: list[str] = []
    excluded: list[str] = []
    for item in value.split("|"):
        negated = item.startswith("~")
        (excluded if negated else included).append(check(item.removeprefix("~")))
    return included, excluded


def _domain(name: str) -> str:
    if not name or "*" in name or "/" in name or not name.isascii():
        raise ValueError(f"{name!r} is not a plain ASCII domain (entities like example.* are unsupported)")
    return name.lower()


def _method(name: str) -> str:
    if name.lower() not in _METHODS:
        raise ValueError(f"unknown HTTP method {name!r}")
    return name.lower()


def set_request_header(
    name: str, value: str, *, url_filter: str | None = None, priority: int = HEADER_PRIORITY
) -> Rule:
    """A rule that sets request header ``name`` to ``value`` on every request (documents included), or on
    those matching ``url_filter``; e.g. ``set_request_header("Sec-GPC", "1")``. Its priority is above the
    exceptions', so ``@@`` filters do not cancel it (blocks and redirects still win: those requests never go
    out as they were). Without an ``id``: :func:`build_extension` numbers it."""
    condition: dict[str, Any] = {"resourceTypes": list(ALL_RESOURCE_TYPES)}
    if url_filter is not None:
        condition["urlFilter"] = url_filter
    return {
        "priority": priority,
        "action": {"type": "modifyHeaders", "requestHeaders": [{"header": name, "operation": "set", "value": value}]},
        "condition": condition,
    }


def build_extension(directory: Path, rules: Iterable[Rule]) -> Path:
    """Write the unpacked extension into ``directory`` (created if needed) and return it.

    Rules without an ``"id"`` are numbered after the highest given one; the readiness probe rule
    (:data:`READY_PROBE_URL`, priority :data:`MAX_PRIORITY`) comes last. Raises ``ValueError`` for duplicate or
    invalid ids and for priorities above :data:`MAX_PRIORITY` or below 1.
    """
    numbered = _number(rules)
    numbered.append(
        {
            "id": max((rule["id"] for rule in numbered), default=0) + 1,
            "priority": _PROBE_PRIORITY,
            "action": {"type": "block"},
            "condition": {"requestDomains": ["mv3-ready.invalid"], "resourceTypes": ["main_frame"]},
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "manifest_version": 3,
        "name": EXTENSION_NAME,
        "key": EXTENSION_KEY,
        "version": "1.0",
        "description": "Static declarativeNetRequest rules for adguard_mw's browser tests.",
        "permissions": ["declarativeNetRequest", "declarativeNetRequestWithHostAccess"],
        "host_permissions": ["<all_urls>"],
        "declarative_net_request": {"rule_resources": [{"id": "rules", "enabled": True, "path": "rules.json"}]},
        # Redirect targets inside the extension must be web accessible, or Chromium refuses the redirect.
        "web_accessible_resources": [{"resources": sorted(STAND_INS), "matches": ["<all_urls>"]}],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (directory / "rules.json").write_text(json.dumps(numbered, indent=1), encoding="utf-8")
    for name, content in STAND_INS.items():
        (directory / name).write_bytes(content)
    return directory


def _number(rules: Iterable[Rule]) -> list[Rule]:
    given = [dict(rule) for rule in rules]
    ids = [rule["id"] for rule in given if "id" in rule]
    if any(not isinstance(rule_id, int) or isinstance(rule_id, bool) or rule_id < 1 for rule_id in ids):
        raise ValueError(f"rule ids must be positive integers, got {ids!r}")
    priorities = [rule.get("priority", 1) for rule in given]
    if any(not isinstance(priority, int) or not 1 <= priority <= MAX_PRIORITY for priority in priorities):
        raise ValueError(f"rule priorities must be integers from 1 to {MAX_PRIORITY}, got {priorities!r}")
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise ValueError(f"duplicate rule ids {duplicates!r}: number rules from network_filters_to_dnr(first_id=...)")
    next_id = max(ids, default=0) + 1
    for rule in given:
        if "id" not in rule:
            rule["id"] = next_id
            next_id += 1
    return given


@dataclass
class Mv3Log:
    """What the extension did, as Playwright sees it from the pages of a context: for assertions, like
    :class:`.blocker.Blocker`'s lists. ``attach`` it before browsing; ``clear`` it between tests.

    Blocked requests fail with ``net::ERR_BLOCKED_BY_CLIENT``; the extension's redirects (stand-ins and
    ``$removeparam``) show up as a synthetic ``307 Internal Redirect`` marked ``Non-Authoritative-Reason:
    WebRequest API``, which tells them from a server's redirects. Header changes are not visible here.
    """

    blocked: list[str] = field(default_factory=list)
    redirected: dict[str, str] = field(default_factory=dict)  # URL -> where the extension sent it

    def attach(self, context: BrowserContext) -> None:
        context.on("requestfailed", self._on_request_failed)
        context.on("response", self._on_response)

    def clear(self) -> None:
        self.blocked.clear()
        self.redirected.clear()

    def _on_request_failed(self, request: Request) -> None:
        if request.failure == "net::ERR_BLOCKED_BY_CLIENT":
            self.blocked.append(request.url)

    def _on_response(self, response: Response) -> None:
        headers = response.headers
        if response.status == 307 and headers.get("non-authoritative-reason") == "WebRequest API":
            self.redirected[response.url] = headers.get("location", "")


@asynccontextmanager
async def mv3_context(
    executable: str,
    rules: Iterable[Rule],
    *,
    args: Sequence[str] | None = None,
    playwright: Playwright | None = None,
    timeout: float = 15.0,
) -> AsyncIterator[BrowserContext]:
    """A headless Chromium whose only extension blocks with ``rules``; its persistent context, rules active.

    ``args`` defaults to the test suite's ``CHROMIUM_ARGS``; pass a running ``playwright`` to share its driver.
    The profile and the extension live in a temporary directory removed on exit.
    """
    if args is None:
        args = CHROMIUM_ARGS
    async with AsyncExitStack() as stack:
        root = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="adguard-mw-mv3-", ignore_cleanup_errors=True))
        )
        extension = build_extension(root / "extension", rules)
        if playwright is None:
            playwright = await stack.enter_async_context(async_playwright())
        context = await playwright.chromium.launch_persistent_context(
            root / "profile",
            executable_path=executable,
            headless=True,
            ignore_default_args=["--disable-extensions"],
            args=[*args, f"--disable-extensions-except={extension}", f"--load-extension={extension}"],
        )
        stack.push_async_callback(context.close)
        await _wait_until_rules_are_active(context, timeout)
        yield context


async def _wait_until_rules_are_active(context: BrowserContext, timeout: float) -> None:
    page = await context.new_page()  # its own page: a blocked navigation goes on to an error page
    try:
        await _probe(context, page, timeout)
    finally:
        await page.close()


async def _probe(context: BrowserContext, page: Page, timeout: float) -> None:
    deadline_ms = timeout * 1000
    waited_ms = 0.0
    delay_ms = 50.0
    checked_loaded = False
    while True:
        try:
            await page.goto(READY_PROBE_URL, timeout=max(deadline_ms - waited_ms, 1000))
        except PlaywrightError as error:
            if "ERR_BLOCKED_BY_CLIENT" in str(error):
                return
        if not checked_loaded:
            await _check_extension_loaded(context)
            checked_loaded = True
        if waited_ms >= deadline_ms:
            raise RuntimeError(f"the test extension's rules were not active after {timeout} s ({READY_PROBE_URL})")
        await page.wait_for_timeout(delay_ms)
        waited_ms += delay_ms
        delay_ms = min(delay_ms * 2, 500)


async def _check_extension_loaded(context: BrowserContext) -> None:
    page = await context.new_page()
    try:
        response = await page.goto(f"chrome-extension://{EXTENSION_ID}/noop.txt")
        loaded = response is not None and response.ok
    except PlaywrightError:
        loaded = False
    finally:
        await page.close()
    if not loaded:
        raise RuntimeError(
            "Chromium did not load the test extension (it refuses the whole extension when one rule is invalid); "
            "rerun with DEBUG=pw:browser to see its 'Failed to load extension' line"
        )
