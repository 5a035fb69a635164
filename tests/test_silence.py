"""The server's own account of detectors that never report (adguard_mw/silence.py), as a specification."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adguard_mw.assets import REFRESH_AFTER
from adguard_mw.silence import GRACE, SILENT_VIEWS, account, reported, scriptless, settled
from adguard_mw.state import Verdict, VisitorState

NOW = 1_800_000_000


def views(state: VisitorState | None, *gaps: int, start: int = NOW) -> tuple[VisitorState | None, list[bool]]:
    """Page views at `start` and then after each gap (seconds); the state after them and which ones silenced."""
    silenced = []
    now = start
    state, hit = account(state, now)
    silenced.append(hit)
    for gap in gaps:
        now += gap
        state, hit = account(state, now)
        silenced.append(hit)
    return state, silenced


def test_a_new_reader_is_watched_from_the_first_page_view() -> None:
    state, silenced = account(None, NOW)
    assert state is not None and state.pending_at == NOW and state.verdict is None and not silenced


def test_a_detector_that_never_reports_is_blocked_after_two_silent_page_views() -> None:
    state, silenced = views(None, GRACE, GRACE)
    assert silenced == [False, False, True] and SILENT_VIEWS == 2
    assert state is not None and state.verdict is Verdict.BLOCKED and state.kind == "extension"


def test_a_reader_who_clicks_on_before_the_grace_is_never_counted() -> None:
    state, silenced = views(None, *[GRACE - 1] * 20)
    assert not any(silenced) and state is not None and state.silent == 0 and state.verdict is None


def test_one_page_left_early_is_forgiven_by_the_next_report() -> None:
    state, _ = views(None, GRACE)  # the first page's detector never reported (the reader left at once)
    assert state is not None and state.silent == 1
    state = reported(state, NOW + GRACE + 2)
    assert state.silent == 0 and state.pending_at is None
    state, silenced = views(state, GRACE, start=NOW + GRACE + 5)
    assert state is not None and state.silent == 0 and silenced == [False, False]


def test_a_recent_report_means_nothing_is_watched_and_nothing_written() -> None:
    fresh = reported(VisitorState("v", Verdict.NOT_BLOCKED, checked_at=NOW), NOW)
    state, silenced = account(fresh, NOW + 60)
    assert state is fresh and not silenced  # the same object: no Set-Cookie, the page stays cacheable


def test_once_a_report_is_due_again_the_watch_resumes() -> None:
    fresh = reported(VisitorState("v", Verdict.NOT_BLOCKED, checked_at=NOW), NOW)
    state, silenced = views(fresh, GRACE, GRACE, start=NOW + REFRESH_AFTER)
    assert silenced == [False, False, True] and state is not None and state.verdict is Verdict.BLOCKED


def test_a_browser_without_javascript_is_never_counted() -> None:
    state, silenced = views(scriptless(None), GRACE, GRACE, GRACE)
    assert not any(silenced) and state is not None and state.scriptless and state.verdict is None


def test_an_accusation_is_not_repeated_while_the_reader_is_blocked() -> None:
    _, silenced = views(None, GRACE, GRACE, GRACE, GRACE)
    assert silenced == [False, False, True, False, False]  # one verdict event, not one per page


def test_the_count_survives_the_cookie() -> None:
    from adguard_mw.state import StateCookie

    cookie = StateCookie(["a-secret-key-0123456789abcdef"], name="c", max_age=3600)
    state, _ = views(None, GRACE)
    assert state is not None
    header = cookie.set_cookie_header(state, https=False)[1].decode().split(";")[0]
    assert cookie.load(header.encode()) == state


@given(
    pending=st.none() | st.integers(NOW - 10 * REFRESH_AFTER, NOW),
    reported_at=st.none() | st.integers(NOW - 10 * REFRESH_AFTER, NOW),
    silent=st.integers(0, 3),
    no_script=st.booleans(),
    verdict=st.none() | st.sampled_from(Verdict),
)
def test_settled_says_exactly_when_a_page_view_changes_nothing(
    pending: int | None, reported_at: int | None, silent: int, no_script: bool, verdict: Verdict | None
) -> None:
    """The middleware skips the request's checks for a settled reader: only where `account` would change nothing."""
    state = VisitorState(
        "v", verdict=verdict, pending_at=pending, reported_at=reported_at, silent=silent, scriptless=no_script
    )
    after, silenced = account(state, NOW)
    assert settled(state, NOW) == (after is state and not silenced)
    assert not settled(None, NOW)
