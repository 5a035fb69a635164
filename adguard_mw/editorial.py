"""What editors own, bundled: a reload swaps the whole bundle at once, so a request never sees half of each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .assets import Assets
from .events import Record, reader_fields
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
    ad_slots: str | None = None  # the selector of the site's ad slots (house messages for blocked readers), or off
    ad_slots_in_observe: bool = False  # house messages also for readers whose mode is observe
    # Whether any reader could meet a message: otherwise the cookie is read only for sampled events.
    may_ask: bool = field(init=False)

    def __post_init__(self) -> None:
        may_ask = self.policy.rollout > 0 and bool(self.policy.modes - {Mode.OBSERVE})
        object.__setattr__(self, "may_ask", may_ask)

    def messages_for(self, variant: str | None) -> Messages:
        """The texts a variant's readers get: its own if it has them, else the site's."""
        own = self.variant_messages.get(variant) if variant is not None else None
        return own if own is not None else self.renderer.messages

    def message_for(self, variant: Variant | None, accept_language: str) -> tuple[str, Message]:
        """The locale and words for a reader: their variant's texts, in the language they prefer."""
        return self.messages_for(variant.name if variant is not None else None).choose(accept_language)

    def event_fields(
        self, visitor: str | None, path: str, *, user_agent: str, accept_language: str, brands: str
    ) -> Record:
        """What every event carries about its reader, with the mode they met here and their variant."""
        mode, variant = self.policy.labels(path, visitor)
        return reader_fields(user_agent, accept_language, visitor, path, mode=mode, variant=variant, brands=brands)
