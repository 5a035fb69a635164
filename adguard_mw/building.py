"""Building the middleware: from keywords or from `adguard-mw.toml`, and checking either ahead of time, with a
mistake said in one line (logged too, since frameworks build middleware where a traceback is easily lost)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Self

from starlette.types import Receive, Scope, Send

from ._faults import log_build_error
from .config import load_settings
from .options import known_options
from .reload import Reloader

if TYPE_CHECKING:
    from .editorial import Editorial

# Any ASGI app. Frameworks spell the ASGI types their own way (Litestar and Quart use TypedDicts), and a callable
# that takes a TypedDict scope is not a Starlette ASGIApp to a type checker, though it is the same thing at run time.
AnyASGIApp = Callable[..., Awaitable[None]]


class _SaysWhyItCannotStart(type):
    """Starlette and FastAPI build middleware on the first request, where a wrong keyword or value becomes a 500 on
    every request and a traceback far from the cause. Building the middleware logs the mistake in one line first,
    and a misspelt keyword is named with the nearest real one instead of Python's bare `unexpected keyword`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]  # the class's own
            if all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
                known_options(kwargs, also=parameters)  # else a subclass that takes any keyword checks its own
            return super().__call__(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            log_build_error(exc)
            raise


class Buildable(metaclass=_SaysWhyItCannotStart):
    """The ways to build the middleware besides its constructor (`AdGuardMiddleware` is one of these)."""

    reloader: Reloader | None

    if TYPE_CHECKING:  # what the subclass provides: its options, and what a reload needs (reload.Reloadable)

        def __init__(self, app: AnyASGIApp, /, **options: Any) -> None: ...
        def build_editorial(self, **options: Any) -> Editorial: ...
        def use(self, editorial: Editorial) -> None: ...

    @classmethod
    def from_config(cls, app: AnyASGIApp, path: str | os.PathLike[str] | None = None, /, **overrides: Any) -> Self:
        """Settings from an `adguard-mw.toml` (or the file named by ADGUARD_MW_CONFIG); keywords override them."""
        try:
            known_options(overrides)
            settings = load_settings(path)
            middleware = cls(app, **{**settings.options, **overrides})
        except (ValueError, TypeError) as exc:
            log_build_error(exc)
            raise
        if settings.watch or settings.signal:
            middleware.reloader = Reloader(middleware, settings, overrides)
        return middleware

    @classmethod
    def check(cls, path: str | os.PathLike[str] | None = None, /, **options: Any) -> None:
        """Raise now what building the middleware would raise later, for frameworks that build it lazily (on the
        first request or lifespan event): `AdGuardMiddleware.check(CONFIG)` checks the file as `from_config` reads
        it; `AdGuardMiddleware.check(secret_key=..., policy=...)` checks the constructor's keywords."""
        known_options(options)  # a misspelt keyword gets a "did you mean", not Python's bare TypeError
        if "secret_key" in options:
            cls(_unused_app, **options)
        else:
            cls(_unused_app, **{**load_settings(path).options, **options, "events": None})


async def _unused_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - never called
    raise RuntimeError("AdGuardMiddleware.check builds the middleware only to check it")
