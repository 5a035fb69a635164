"""The reader-facing message: its words, the allow-list steps for the reader's browser, and its rendering.

Templates are Jinja2 with autoescaping on, so a site name or a text containing `<` can never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import escape

from .clients import ClientFacts


@dataclass(frozen=True)
class Message:
    """The words of the message; every field is plain text (escaped when rendered)."""

    title: str = "Please support {site} by allowing ads"
    body: str = (
        "{site} is free to read because advertising pays for the reporting. It looks like an ad blocker is "
        "hiding our ads. If you can, please allow ads on this site; it keeps our journalism free for everyone."
    )
    check_label: str = "I've allowed ads, check again"
    continue_label: str = "Continue reading"
    still_blocked: str = "We still detect an ad blocker. It can take a reload for a change to apply."
    # For readers whose ads are filtered outside the browser (a DNS filter, a workplace network).
    network_body: str = (
        "{site} is free to read because advertising pays for the reporting. Our ads seem to be filtered by your "
        "network (for example a DNS filter such as Pi-hole or NextDNS, or a workplace or school network), so your "
        "browser cannot allow them. If the filter is yours, please consider adding this site to its allow-list."
    )

    def __post_init__(self) -> None:
        for key, value in vars(self).items():
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"adguard_mw: message {key} must be non-empty text, got {value!r}")


# Short, accurate steps per browser family. Brave reports itself as Chrome, so the Chrome steps mention Shields.
_EXTENSION_STEPS = (
    "Click your ad blocker's icon in the toolbar (you may find it under the puzzle-piece Extensions menu).",
    "Choose the option to turn it off, pause it or trust this site.",
    "Come back here and choose “check again”.",
)
_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "Chrome": (
        "Click your ad blocker's icon to the right of the address bar, under the puzzle-piece Extensions menu if "
        "it is not pinned. In Brave, click the lion icon and turn Shields down for this site.",
        *_EXTENSION_STEPS[1:],
    ),
    "Edge": _EXTENSION_STEPS,
    "Opera": (
        "Click the shield icon in the address bar and turn off blocking for this site, or use your ad blocker's "
        "icon in the toolbar.",
        *_EXTENSION_STEPS[2:],
    ),
    "Firefox": (
        "Click your ad blocker's icon in the toolbar (or the puzzle-piece Extensions menu).",
        "Turn it off for this site. If no extension is installed, click the shield in the address bar and turn "
        "off Enhanced Tracking Protection for this site.",
        _EXTENSION_STEPS[2],
    ),
    "Safari": (
        "Open Safari ▸ Settings for This Website (on iPhone and iPad, tap the page-settings button in the address "
        "bar).",
        "Turn off “Enable Content Blockers”.",
        _EXTENSION_STEPS[2],
    ),
}
_FAMILIES = {"Chrome": "Chrome", "Chrome Mobile": "Chrome", "Chromium": "Chrome", "Edge": "Edge",
             "Edge Mobile": "Edge", "Opera": "Opera", "Opera Mobile": "Opera", "Firefox": "Firefox",
             "Firefox Mobile": "Firefox", "Safari": "Safari", "Mobile Safari": "Safari"}  # fmt: skip


_NETWORK_STEPS = (
    "Open your filter's settings: the Pi-hole or NextDNS dashboard, your router, or ask whoever runs your network.",
    "Add this site's address to the allow-list (or whitelist).",
    "Come back here and choose “check again”.",
)


def allow_list_steps(client: ClientFacts, kind: str | None = None) -> tuple[str, ...]:
    if kind == "network":
        return _NETWORK_STEPS
    return _INSTRUCTIONS.get(_FAMILIES.get(client.browser, ""), _EXTENSION_STEPS)


# Values that differ on every request; rendered as markers and filled in (escaped) after the cached render.
_PER_REQUEST = ("next", "nonce", "style_nonce")


def _marker(name: str) -> str:
    return f"@@adguard-mw-{name}@@"


class MessageRenderer:
    def __init__(self, message: Message, *, site_name: str) -> None:
        self.message = message
        self.site_name = site_name
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("adguard_mw", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly in tests, not silently for readers
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the package's templates do not change while it runs: no stat() per render
        )
        self._rendered: dict[tuple[Any, ...], str] = {}

    def texts(self, kind: str | None = None) -> dict[str, str]:
        texts = {key: value.replace("{site}", self.site_name) for key, value in vars(self.message).items()}
        if kind == "network":
            texts["body"] = texts["network_body"]
        return texts

    def render(self, template: str, *, client: ClientFacts, kind: str | None, **context: Any) -> str:
        """Render once per kind of reader, then reuse: only the page's path and the CSP nonces vary per request."""
        steps = allow_list_steps(client, kind)
        varying = {key: str(escape(context.pop(key))) for key in _PER_REQUEST if context.get(key) is not None}
        key = (template, kind, steps, tuple(sorted(varying)), tuple(sorted(context.items())))
        page = self._rendered.get(key)
        if page is None:
            markers = {name: _marker(name) for name in varying}
            page = self._env.get_template(template).render(
                site_name=self.site_name, text=self.texts(kind), steps=steps, **context, **markers
            )
            if len(self._rendered) >= 256:
                self._rendered.clear()  # a bound, not an LRU: the set of kinds of readers is small
            self._rendered[key] = page
        for name, value in varying.items():
            page = page.replace(_marker(name), value)
        return page
