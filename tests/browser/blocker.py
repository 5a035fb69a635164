"""Make a Playwright browser context behave like a browser with a real ad blocker installed.

The rules are the real ones: the lists uBlock Origin ships by default (EasyList, EasyPrivacy and the uBlock
lists), evaluated by Brave's engine (PyPI ``adblock``). They are not shipped with this project (their licences
differ from ours); tests read them from ``../shared/filterlists`` next to the repository and skip without them.

A :class:`Blocker` attached to a context does what an extension such as uBlock Origin does:

* **network filtering** -- every request goes through ``context.route``: blocked requests fail with
  ``net::ERR_BLOCKED_BY_CLIENT``; requests matching a ``$redirect=`` rule get uBlock's *surrogate* resource
  instead (e.g. ``prebid-ads.js``, which sets ``window.canRunAds = true``), so a naive detector sees a script
  that "loaded";
* **cosmetic filtering** -- an init script hides the page's site-specific and generic selectors as soon as the
  document starts, then watches the DOM and asks the engine for the *generic* class/id rules (``##.ad_banner``)
  matching each class or id it sees, the lazy way Brave and uBlock apply them. The rules live in a constructed
  style sheet adopted by the document (like an extension's user style sheet, no ``<style>`` element shows in
  the DOM). Scriptlets (``+js(...)``) are not run.

Note: EasyList exempts ``127.0.0.1`` and ``localhost`` from generic hiding (``@@://127.0.0.1$generichide``), so
tests must browse a non-local host name (``news.test``, mapped to 127.0.0.1 by Chromium's host resolver rules).
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote_to_bytes, urlsplit

import adblock
from playwright.async_api import BrowserContext, Request, Route
from playwright.async_api import Error as PlaywrightError

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIP_REASON = "real filter lists not found at ../shared/filterlists (they are not shipped with the project)"

# uBlock Origin's aliases for its redirect resources (src/js/redirect-resources.js), so that rules written with
# either name (``redirect=noopjs`` or ``redirect=noop.js``) find the resource.
UBLOCK_ALIASES: dict[str, list[str]] = {
    "1x1.gif": ["1x1-transparent.gif"],
    "amazon_ads.js": ["amazon-adsystem.com/aax2/amzn_ads.js"],
    "ampproject_v0.js": ["ampproject.org/v0.js"],
    "chartbeat.js": ["static.chartbeat.com/chartbeat.js"],
    "doubleclick_instream_ad_status.js": ["doubleclick.net/instream/ad_status.js"],
    "google-analytics_analytics.js": ["google-analytics.com/analytics.js"],
    "google-analytics_cx_api.js": ["google-analytics.com/cx/api.js"],
    "google-analytics_ga.js": ["google-analytics.com/ga.js"],
    "google-analytics_inpage_linkid.js": ["google-analytics.com/inpage_linkid.js"],
    "googlesyndication_adsbygoogle.js": ["googlesyndication.com/adsbygoogle.js"],
    "googletagmanager_gtm.js": ["googletagmanager.com/gtm.js"],
    "googletagservices_gpt.js": ["googletagservices.com/gpt.js"],
    "nobab.js": ["bab-defuser.js"],
    "noeval-silent.js": ["silent-noeval.js"],
    "nofab.js": ["fuckadblock.js-3.2.0"],
    "noop.html": ["noopframe"],
    "noop.js": ["noopjs", "abp-resource:blank-js"],
    "noop.txt": ["nooptext"],
    "outbrain-widget.js": ["widgets.outbrain.com/outbrain.js"],
    "popads.js": ["popads.net.js"],
    "scorecardresearch_beacon.js": ["scorecardresearch.com/beacon.js"],
}
_NOT_RESOURCES = {"UPSTREAM-README.txt"}

# Playwright's resource types -> the request types the engine understands (WebExtension webRequest names).
# The engine treats unknown names, "fetch" included, as "other": fetch() must be checked as xmlhttprequest,
# as uBlock Origin does, or ``$xhr`` rules would never apply to it.
_REQUEST_TYPES = {
    "document": "document",
    "stylesheet": "stylesheet",
    "image": "image",
    "media": "media",
    "font": "font",
    "script": "script",
    "xhr": "xmlhttprequest",
    "fetch": "xmlhttprequest",
    "websocket": "websocket",
    "ping": "ping",
    "eventsource": "other",
    "manifest": "other",
    "texttrack": "other",
    "other": "other",
}


def filterlists_dir() -> Path | None:
    """The real filter lists: ``$ADGUARD_MW_FILTERLISTS`` if set, else ``<repo>/../shared/filterlists``; or None."""
    configured = os.environ.get("ADGUARD_MW_FILTERLISTS")
    directory = Path(configured) if configured else (REPO_ROOT / ".." / "shared" / "filterlists").resolve()
    return directory if any(directory.glob("*.txt")) else None


def load_engine(directory: Path, lists: tuple[str, ...] | None = None, extra_rules: str = "") -> adblock.Engine:
    """Brave's engine loaded with the lists in ``directory`` (all ``*.txt`` unless ``lists`` names some), any
    ``extra_rules`` (one filter per line, as a list maintainer would write them), and uBlock's redirect resources.
    Cached per combination, however the arguments are spelled: building one takes seconds of CPU."""
    return _engine(directory, lists, extra_rules)


@functools.cache
def _engine(directory: Path, lists: tuple[str, ...] | None, extra_rules: str) -> adblock.Engine:
    filter_set = adblock.FilterSet(debug=True)
    paths = sorted(directory.glob("*.txt")) if lists is None else [directory / name for name in lists]
    for path in paths:
        filter_set.add_filter_list(path.read_text(encoding="utf-8"))
    if extra_rules:
        filter_set.add_filter_list(extra_rules)
    engine = adblock.Engine(filter_set, optimize=True)
    resources = directory / "redirect-resources"
    if resources.is_dir():
        for path in sorted(resources.iterdir()):
            if not path.is_file() or path.name in _NOT_RESOURCES:
                continue
            engine.add_resource(
                name=path.name,
                content_type=_mime_type(path.name),
                content=base64.b64encode(path.read_bytes()).decode("ascii"),
                aliases=UBLOCK_ALIASES.get(path.name, []),
            )
    return engine


def _mime_type(name: str) -> str:
    if name.endswith(".js"):
        return "application/javascript"  # mimetypes says text/javascript; the engine wants this one
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _decode_data_url(url: str) -> tuple[str, bytes]:
    """(content type, body) of the ``data:`` URL the engine returns as ``BlockerResult.redirect``."""
    header, _, data = url.removeprefix("data:").partition(",")
    content_type, *params = header.split(";")
    body = base64.b64decode(data) if "base64" in params else unquote_to_bytes(data)
    return content_type or "text/plain", body


Action = Literal["allowed", "blocked", "redirected"]


@dataclass(frozen=True)
class Decision:
    """What the blocker did with one request, and why (``filter`` is the matching rule, for debugging)."""

    url: str
    request_type: str
    source_url: str
    action: Action
    filter: str | None = None
    exception: str | None = None
    surrogate: str | None = field(default=None, repr=False)  # the engine's data: URL, for "redirected"


# Runs at document start in every frame. ``__BINDING__`` is replaced by the exposed binding's name; the init
# script keeps a private reference to it and removes it from ``window`` so that page scripts do not see it.
_COSMETIC_SCRIPT = r"""
(() => {
  const ask = window.__BINDING__;
  if (typeof ask !== "function" || !/^https?:/.test(location.href)) return;
  try { delete window.__BINDING__; } catch (e) {}
  const url = location.href;
  const sheet = new CSSStyleSheet();
  const adopt = () => {
    if (!document.adoptedStyleSheets.includes(sheet)) {
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
  };
  const addRules = (rules) => {
    for (const rule of rules) {
      try { sheet.insertRule(rule, sheet.cssRules.length); } catch (e) { /* not CSS (uBlock-only syntax) */ }
    }
    adopt();
  };
  adopt();
  ask({ kind: "page", url }).then(addRules);

  const seen = new Set();
  let classes = [], ids = [];
  const note = (el) => {
    if (el.nodeType !== 1) return;
    for (const name of el.classList) {
      if (!seen.has("." + name)) { seen.add("." + name); classes.push(name); }
    }
    if (el.id && !seen.has("#" + el.id)) { seen.add("#" + el.id); ids.push(el.id); }
  };
  const flush = () => {
    if (classes.length === 0 && ids.length === 0) return;
    const payload = { kind: "generic", url, classes, ids };
    classes = []; ids = [];
    ask(payload).then(addRules);
  };
  const scan = (root) => {
    note(root);
    if (root.querySelectorAll) root.querySelectorAll("[class],[id]").forEach(note);
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") note(record.target);
      else record.addedNodes.forEach(scan);
    }
    flush();
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["class", "id"] });
  const scanAll = () => { if (document.documentElement) scan(document.documentElement); flush(); };
  scanAll();
  document.addEventListener("DOMContentLoaded", scanAll, { once: true });
})();
"""


@dataclass
class Blocker:
    """An ad blocker for one Playwright browser context; its lists record what it did, for assertions."""

    engine: adblock.Engine
    binding: str = "__cosmeticFilterHarness"
    blocked: list[str] = field(default_factory=list)
    redirected: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    generic_selectors: list[str] = field(default_factory=list)  # generic class/id rules the pages asked for
    network: bool = True  # filter requests
    cosmetic: bool = True  # hide elements
    allowlisted: tuple[str, ...] = ()  # host names the reader has allow-listed (the extension's "off for this site")
    _cosmetics: dict[str, Any] = field(default_factory=dict, repr=False)  # url -> UrlSpecificResources

    async def attach(self, context: BrowserContext) -> None:
        if self.network:
            await context.route("**/*", self._on_route)
        if self.cosmetic:
            await context.expose_binding(self.binding, self._on_cosmetic_request)
            await context.add_init_script(_COSMETIC_SCRIPT.replace("__BINDING__", self.binding))

    def _off_for(self, page_url: str) -> bool:
        return urlsplit(page_url).hostname in self.allowlisted

    # -- network filtering ---------------------------------------------------------------------------------
    def check(self, url: str, source_url: str, request_type: str) -> Decision:
        """The decision for one request, without a browser (also used by the route handler)."""
        result = self.engine.check_network_urls(url, source_url, request_type)
        # ``matched`` is False when an exception rule (@@...) wins, even if ``redirect`` is filled in: like
        # uBlock Origin, serve a surrogate only for requests that really are blocked.
        if result.matched and result.redirect:
            action: Action = "redirected"
        elif result.matched:
            action = "blocked"
        else:
            action = "allowed"
        surrogate = result.redirect if action == "redirected" else None
        return Decision(url, request_type, source_url, action, result.filter, result.exception, surrogate)

    async def _on_route(self, route: Route, request: Request) -> None:
        url = request.url
        try:
            if not url.startswith(("http://", "https://", "ws://", "wss://")):
                await route.continue_()
                return
            source_url, request_type = _source_and_type(request)
            if self._off_for(source_url):
                await route.continue_()
                return
            decision = self.check(url, source_url, request_type)
            self.decisions.append(decision)
            if decision.action == "redirected":
                self.redirected.append(url)
                content_type, body = _decode_data_url(decision.surrogate or "")
                await route.fulfill(status=200, content_type=content_type, body=body)
            elif decision.action == "blocked":
                self.blocked.append(url)
                await route.abort("blockedbyclient")
            else:
                await route.continue_()
        except PlaywrightError:
            pass  # the page or context went away while the request was pending

    # -- cosmetic filtering --------------------------------------------------------------------------------
    def _resources(self, url: str) -> Any:
        if url not in self._cosmetics:
            self._cosmetics[url] = self.engine.url_cosmetic_resources(url)
        return self._cosmetics[url]

    def page_rules(self, url: str) -> list[str]:
        """CSS rules for the selectors that apply to ``url`` regardless of the DOM (site-specific and generic
        non-class/id selectors, minus ``#@#`` exceptions), plus ``:style()`` rules."""
        resources = self._resources(url)
        rules = [f"{selector}{{display:none!important}}" for selector in sorted(resources.hide_selectors)]
        for selector, styles in sorted(resources.style_selectors.items()):
            rules.append(f"{selector}{{{';'.join(styles)}}}")
        return rules

    def generic_rules(self, url: str, classes: list[str], ids: list[str]) -> list[str]:
        """CSS rules for the generic class/id selectors these names trigger, unless ``url`` has ``$generichide``."""
        resources = self._resources(url)
        if resources.generichide:
            return []
        selectors = self.engine.hidden_class_id_selectors(classes, ids, resources.exceptions)
        self.generic_selectors.extend(selectors)
        return [f"{selector}{{display:none!important}}" for selector in selectors]

    def _on_cosmetic_request(self, source: dict[str, Any], payload: dict[str, Any]) -> list[str]:
        url = str(payload["url"])
        if self._off_for(url):
            return []
        if payload["kind"] == "page":
            return self.page_rules(url)
        return self.generic_rules(url, list(payload["classes"]), list(payload["ids"]))


def _source_and_type(request: Request) -> tuple[str, str]:
    """The URL of the document that made the request, and the engine's request type."""
    request_type = _REQUEST_TYPES.get(request.resource_type, "other")
    try:
        frame = request.frame
    except PlaywrightError:  # service worker requests have no frame
        return request.headers.get("referer", request.url), request_type
    if request_type == "document":
        parent = frame.parent_frame
        if parent is None:
            return request.url, "document"  # top-level navigation
        return parent.url, "subdocument"  # iframe
    return frame.url or request.url, request_type
