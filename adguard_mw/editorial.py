"""What editors own, bundled: a reload swaps the whole bundle at once, so a request never sees half of each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .assets import Assets
from .message import Message, MessageRenderer, Messages
from .policy import Mode, Policy, Variant


@dataclass(frozen=True)
class Editorial:
    policy: Policy
    renderer: MessageRenderer
    assets: Assets  # the stylesheet carries the theme
    variant_messages: Mapping[str, Messages]  # an A/B variant's own texts, by variant name
    preview_token: str | None
    paywall: bytes  # a JSON-LD <script> for pages a hard wall may hide, or b""

    @property
    def may_ask(self) -> bool:
        """Whether any reader could meet a message: otherwise the cookie is read only for sampled events."""
        policy = self.policy
        modes = {policy.mode, *(r.mode for r in policy.rules), *(v.mode for v in policy.variants)}
        return policy.rollout > 0 and bool(modes - {Mode.OBSERVE, None})

    def message_for(self, variant: Variant | None, accept_language: str) -> tuple[str, Message]:
        """The locale and words for a reader: their variant's texts if it has its own, in their language."""
        messages = self.variant_messages.get(variant.name) if variant is not None else None
        return (messages or self.renderer.messages).choose(accept_language)
