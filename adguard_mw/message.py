"""The reader-facing message: its words, the allow-list steps for the reader's browser, and its rendering.

Templates are Jinja2 with autoescaping on, so a site name or a text containing `<` can never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

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


def allow_list_steps(client: ClientFacts) -> tuple[str, ...]:
    return _INSTRUCTIONS.get(_FAMILIES.get(client.browser, ""), _EXTENSION_STEPS)


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
        )

    def texts(self) -> dict[str, str]:
        return {key: value.replace("{site}", self.site_name) for key, value in vars(self.message).items()}

    def render(self, template: str, **context: Any) -> str:
        return self._env.get_template(template).render(
            site_name=self.site_name, text=self.texts(), steps=allow_list_steps(context.pop("client")), **context
        )
