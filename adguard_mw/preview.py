"""`adguard-mw preview`: each message of a configuration as a static HTML file, for editors to open and share.

The pages are rendered by the same code and templates as the live message, from the same file, with the
stylesheet inline, so they look right straight from disk with no server and no JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .clients import describe_client
from .middleware import AdGuardMiddleware
from .policy import Mode

# A user-agent per browser family, so editors can see each family's allow-list steps.
BROWSERS = {
    "chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36",
    "edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36 Edg/131.0",
    "firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "opera": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36 OPR/116.0",
    "brave": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Mobile Safari/537.36",
}
_BRANDS = {"brave": '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"'}
MODES = tuple(mode.value for mode in Mode if mode is not Mode.OBSERVE)
KINDS = ("extension", "network")


@dataclass(frozen=True)
class Page:
    mode: str
    locale: str
    variant: str | None
    kind: str
    path: Path


def write_previews(
    middleware: AdGuardMiddleware,
    out: Path,
    *,
    modes: Iterable[str] = MODES,
    locales: Iterable[str] | None = None,
    variants: Iterable[str | None] | None = None,
    kinds: Iterable[str] = KINDS,
    browser: str = "chrome",
) -> list[Page]:
    """Render every combination asked for into `out`; raises ValueError naming a mode, locale or variant that
    the configuration does not have."""
    editorial = middleware.editorial
    names = [variant.name for variant in editorial.policy.variants]
    chosen_variants = list(variants) if variants is not None else [None, *editorial.variant_messages]
    for variant in chosen_variants:
        if variant is not None and variant not in names:
            raise ValueError(
                f"adguard_mw: no variant {variant!r} in the configuration; it has: {', '.join(names) or 'none'}"
            )
    if browser not in BROWSERS:
        raise ValueError(f"adguard_mw: browser must be one of {', '.join(BROWSERS)}, got {browser!r}")
    client = describe_client(BROWSERS[browser], _BRANDS.get(browser, ""))
    stylesheet = editorial.assets.stylesheet.body.decode()
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for variant in chosen_variants:
        messages = editorial.messages_for(variant)
        for locale in list(locales) if locales is not None else list(messages):
            if locale not in messages:
                raise ValueError(
                    f"adguard_mw: no locale {locale!r} in the configuration; it has: {', '.join(messages)}"
                )
            for mode in modes:
                if mode not in MODES:
                    raise ValueError(f"adguard_mw: mode must be one of {', '.join(MODES)}, got {mode!r}")
                for kind in kinds:
                    html = editorial.renderer.preview_page(
                        mode,
                        kind=kind,
                        client=client,
                        message=messages[locale],
                        locale=locale.lower(),
                        stylesheet=stylesheet,
                        css_class=middleware.names.css_class,
                    )
                    parts = [mode, locale.lower(), variant or "", "network" if kind == "network" else ""]
                    target = out / (re.sub(r"-+", "-", "-".join(part for part in parts if part)) + ".html")
                    target.write_text(html, encoding="utf-8")
                    pages.append(Page(mode, locale.lower(), variant, kind, target))
    return pages
