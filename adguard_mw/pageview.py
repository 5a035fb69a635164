"""One page view, a full load or a client-side navigation: the reader's state, the silence account, the policy's
decision, and the events that record it. What the reader is shown is message_page.py's job."""

from __future__ import annotations

import random
import time
from typing import Any

from starlette.types import Scope

from .editorial import Editorial
from .events import EventLog
from .exempt import exempted
from .options import Options
from .policy import NOTHING, Decision, decide, is_crawler_header
from .request_headers import HEADERS_KEY, header_bytes
from .silence import GRACE, account
from .state import StateCookie, Verdict, VisitorState

_FIELDS_KEY = "adguard_mw.fields"  # where the scope keeps the page's event fields (PageViews.fields)
SILENCE_GRACE = GRACE  # the grace silence.py defines; one name here, so a test can shorten it for page views


class PageViews:
    """Counts and decides page views for one middleware, with what it needs of its options."""

    def __init__(self, cookie: StateCookie, events: EventLog, options: Options) -> None:
        self.cookie = cookie
        self.events = events
        self.sample_rate = options.page_view_sample_rate
        self.every_page = self.sample_rate >= 1
        self.watch = options.watch_silence  # silent detectors are counted (silent_detector="blocked")
        self.beacon = options.beacon  # without it the page decides alone: the server never asks anyone
        # With a consent cookie, only page views of readers who consented can count (and set a cookie).
        consent = options.consent_cookie
        self.consent_needle = f"{consent}=".encode() if consent is not None else None

    async def page_view(
        self,
        scope: Scope,
        path: str,
        state: VisitorState | None,
        editorial: Editorial,
        *,
        sampled: bool,
        watch: bool,
        now: int | None = None,
    ) -> tuple[VisitorState | None, bool, Decision]:
        """One page view of `path`: the silence account (when `watch`), the policy's decision with the exempt hook,
        the page_view event (when `sampled` and some sink would write it). Returns the new state, whether it
        changed, and the decision. `now` (whole seconds) when the caller has read the clock already."""
        now = int(time.time()) if now is None else now
        changed = False
        if watch:
            before = state
            state, silenced = account(state, now, grace=SILENCE_GRACE)
            changed = state is not before
            if silenced and state is not None:
                previous = before.verdict.value if before is not None and before.verdict is not None else None
                fields = self.fields(scope, state, path, editorial)
                signals = {"detector": Verdict.BLOCKED.value}
                self.events.emit(
                    "verdict", verdict="blocked", kind=state.kind, signals=signals, previous=previous, **fields
                )
        decision = decide(editorial.policy, state, path, now) if self.beacon else NOTHING
        if decision.show is not None:
            # Crawlers and exempted readers (subscribers, say) are never asked; a failing hook counts as exempt.
            reason = "crawler" if is_crawler_header(header_bytes(scope, b"user-agent")) else None
            if reason is None and editorial.policy.exempt is not None and await exempted(editorial.policy, scope):
                reason = "hook"
            if reason is not None:
                self.events.emit("exempted", reason=reason, **self.fields(scope, state, path, editorial))
                decision = NOTHING
        if sampled and self.events.wanted(now):
            verdict = str(state.verdict) if state is not None and state.verdict is not None else None
            kind = state.kind if state is not None else None
            fields = self.fields(scope, state, path, editorial, keep=decision.show is not None)
            fields["verdict"], fields["kind"], fields["sample_rate"] = verdict, kind, self.sample_rate
            self.events.put("page_view", fields)  # a dict of its own: no copy into keywords and back
        if decision.state is not None:
            state, changed = decision.state, True
        return state, changed, decision

    def sampled(self) -> bool:
        """Whether this page view is one of the sampled ones (page_view events)."""
        return self.every_page or (self.sample_rate > 0 and random.random() < self.sample_rate)

    def read_state(self, scope: Scope) -> VisitorState | None:
        """The reader's state from our cookie, or None."""
        cookie = header_bytes(scope, b"cookie")
        return self.cookie.load(cookie) if cookie else None  # without our cookie in it: one `partition`, no verifying

    def may_watch(self, scope: Scope) -> bool:
        """Whether this page view can count toward a silence: a page the reader opened (the caller knows), in a
        browser that may run the detector; never a prefetch or prerender or a crawler."""
        if is_crawler_header(header_bytes(scope, b"user-agent")):
            return False
        headers: dict[bytes, bytes] = scope[HEADERS_KEY]  # indexed by the header just read
        consent = self.consent_needle  # `find`, not `in`: see events.raw_reader_fields
        if consent is not None and headers.get(b"cookie", b"").find(consent) < 0:
            return False  # no consent yet: the check does not run, and nothing may be stored
        purpose = headers.get(b"sec-purpose") or headers.get(b"purpose") or headers.get(b"x-moz")
        return purpose is None or (b"prefetch" not in purpose and b"prerender" not in purpose)

    def fields(
        self, scope: Scope, state: VisitorState | None, path: str, editorial: Editorial, *, keep: bool = False
    ) -> dict[str, Any]:
        """The fields every event of this page view carries (a dict of the caller's own). Made once per page:
        kept (`keep`: a message follows) for message_served and message_shown while the reader, path and settings
        are the same."""
        visitor = state.visitor_id if state is not None else None
        made: tuple[Editorial, str | None, str, dict[str, Any]] | None = scope.get(_FIELDS_KEY)
        if made is not None and made[0] is editorial and made[1] == visitor and made[2] == path:
            return made[3].copy()
        headers: dict[bytes, bytes] = scope[HEADERS_KEY]  # indexed by the headers read before
        anonymous = headers.get(b"sec-gpc") == b"1"  # Global Privacy Control: counted, never with an id
        fields = editorial.raw_event_fields(None if anonymous else visitor, path, headers)
        if not keep:
            return fields
        scope[_FIELDS_KEY] = (editorial, visitor, path, fields)
        return fields.copy()
