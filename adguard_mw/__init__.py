"""adguard_mw: ad-block detection and reader-support middleware for any ASGI web app."""

from .__about__ import __version__
from .events import EventLog
from .message import Message
from .middleware import AdGuardMiddleware
from .policy import Mode, Policy
from .state import Verdict

__all__ = ["AdGuardMiddleware", "EventLog", "Message", "Mode", "Policy", "Verdict", "__version__"]
