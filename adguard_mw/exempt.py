"""The site's `exempt` hook (subscribers, say, are never asked), called within its time limit and never able to
hold up a page or the server: a hook that raises or is too slow counts as exempt and is logged once."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from functools import partial

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.types import Scope

from ._faults import report_fault
from .policy import Policy


async def exempted(policy: Policy, scope: Scope) -> bool:
    """The site's exempt hook, given `policy.exempt_timeout` seconds: one that raises or takes longer counts as
    exempt (the reader gets the page, unasked) and is logged once. A sync hook runs in a worker thread, so that
    even a hook blocked on I/O holds up neither this page nor the server's other requests."""
    hook = policy.exempt
    assert hook is not None
    try:
        with anyio.fail_after(policy.exempt_timeout):
            if _is_async(hook):
                answer: object = await hook(Request(scope))  # type: ignore[misc]
            else:
                answer = await HOOK_THREADS.run(hook, Request(scope))
            if inspect.isawaitable(answer):
                answer = await answer
        return bool(answer)
    except TimeoutError as exc:
        report_fault(
            "the policy's exempt hook (too slow)",
            exc,
            f"it took longer than exempt_timeout ({policy.exempt_timeout:g} s), so the reader was treated as exempt "
            "and not asked; make the hook faster or raise Policy(exempt_timeout=...)",
        )
    except Exception as exc:
        report_fault("the policy's exempt hook", exc, "the reader was treated as exempt and not asked")
    return True


class HookThreads:
    """Runs a sync hook in a worker thread, at most `limit` at once. A thread cannot be stopped: one whose hook
    hangs is abandoned when the page moves on, and this bound keeps a hook that never returns from taking a new
    thread on every page view (beyond it, the hook counts as too slow at once)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0
        self._lock = threading.Lock()

    async def run(self, hook: Callable[[Request], object], request: Request) -> object:
        with self._lock:
            if self.busy >= self.limit:
                raise TimeoutError(f"{self.limit} earlier calls of the hook have not returned yet")
            self.busy += 1
        started = dropped = False

        def call() -> object:
            nonlocal started
            with self._lock:
                if dropped:
                    return None  # the page moved on before a thread was free: do not run the hook at all
                started = True
            try:
                return hook(request)
            finally:
                with self._lock:
                    self.busy -= 1

        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        except BaseException:
            with self._lock:
                if not started:
                    dropped = True
                    self.busy -= 1
            raise


HOOK_THREADS = HookThreads(16)


def _is_async(hook: object) -> bool:
    while isinstance(hook, partial):
        hook = hook.func
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__)
