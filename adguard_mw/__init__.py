"""adguard_mw: ad-block detection and reader-support middleware for any ASGI web app."""

from .__about__ import __version__
from .events import EventLog
from .message import CallToAction, Message, Messages, default_message
from .middleware import AdGuardMiddleware, page_api_name
from .policy import Meter, Mode, Policy, Rule, Variant
from .state import Verdict
from .theme import Scheme, Theme

__all__ = [
    "AdGuardMiddleware",
    "CallToAction",
    "EventLog",
    "Message",
    "Messages",
    "Meter",
    "Mode",
    "Policy",
    "Rule",
    "Scheme",
    "Theme",
    "Variant",
    "Verdict",
    "__version__",
    "default_message",
    "page_api_name",
]
