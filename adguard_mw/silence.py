"""A detector that never reports is evidence too: the server's own account of it.

Blocking the detector script, blocking its report, or answering the report with a stand-in (`redirect=noop.json`,
`prevent-fetch`) are the cheapest rules a filter list can write. So the server keeps count, in the signed cookie,
of what only it can know: which page views it served and whether a report reached the real beacon since. A
stand-in answer cannot clear that count (only the real beacon's signed Set-Cookie does), and a script cannot
either (the cookie is HttpOnly and signed).

Never accusing: a page view counts as silent only when its detector had `GRACE` seconds before the next page view
and still did not report, and a reader is accused only after `SILENT_VIEWS` such page views in a row, so readers
who click on quickly, leave before the check ends, or lose the network once are not counted. Crawlers, prefetches
and prerenders, and browsers without JavaScript (told by the `<noscript>` stylesheet) are never counted; readers
whose browser refuses cookies are new on every page and never counted either. A reader whose detector reported
within `REFRESH_AFTER` is not watched at all (no Set-Cookie: the page stays as cacheable as the app made it).
"""

from __future__ import annotations

from typing import Any

from .assets import REFRESH_AFTER
from .signals import Kind
from .state import Verdict, VisitorState, new_visitor_id

GRACE = 10  # seconds a page's detector has to report before the next page view counts it as silent
SILENT_VIEWS = 2  # silent page views in a row before the reader counts as blocked


def account(state: VisitorState | None, now: int, *, grace: int = GRACE) -> tuple[VisitorState | None, bool]:
    """The state after one page view of a reader whose browser may run the detector, and whether it silenced them.

    Returns the same `state` object when nothing needs to be written (no Set-Cookie).
    """
    if state is None:
        return VisitorState(new_visitor_id(), pending_at=now), False
    if settled(state, now):
        return state, False
    if state.pending_at is None:
        return state.replace(pending_at=now), False
    silent = state.silent + 1 if now - state.pending_at >= grace else state.silent
    armed = state.replace(pending_at=now, silent=min(silent, 999))
    if silent < SILENT_VIEWS or state.verdict is Verdict.BLOCKED:
        return armed, False
    return armed.replace(verdict=Verdict.BLOCKED, kind=Kind.EXTENSION.value, checked_at=now, views=0), True


def settled(state: VisitorState | None, now: float) -> bool:
    """Whether `account` would leave this reader's state as it is: a browser without JavaScript, or a detector that
    reported within `REFRESH_AFTER` (its next report is not due yet). Such a page view needs no watching at all."""
    return state is not None and (
        state.scriptless
        or (state.pending_at is None and state.reported_at is not None and now - state.reported_at < REFRESH_AFTER)
    )


def reported(state: VisitorState | None, now: int, **changes: Any) -> VisitorState:
    """The state once a report reached the real beacon (`None`: a reader new to us, who gets a pseudonym), with
    the report's own `changes`: nothing is pending, the silence is forgiven. One state made, not one per step."""
    if state is None:
        return VisitorState(new_visitor_id(), reported_at=now, **changes)
    return state.replace(reported_at=now, pending_at=None, silent=0, scriptless=False, **changes)


def scriptless(state: VisitorState | None) -> VisitorState:
    """The state of a browser that loaded the `<noscript>` stylesheet: its detector's silence proves nothing."""
    base = state if state is not None else VisitorState(new_visitor_id())
    return base.replace(pending_at=None, silent=0, scriptless=True)
