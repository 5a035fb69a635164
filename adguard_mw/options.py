"""The middleware's options, each described once: its type, default, check, help, whether editors own it, and
where `adguard-mw.toml` sets it.

`Options` is a frozen dataclass; each field carries an `Option` in its metadata. Everything else is derived from
it: `AdGuardMiddleware.__init__` checks its keywords with `Options.of`; `build_editorial` takes the `editorial`
ones; `config.py` reads the keys named by `toml` with the same check and writes the reference from the same help;
`reload.py` splits `EDITORIAL` from `RESTART_ONLY`; `readme_table()` is the README's table of options.

A plain dataclass, not pydantic, attrs or msgspec: the standard library is enough for a frozen, typed record, our
errors must stay one line naming the option, the value and what is allowed (pydantic's are several lines about
its own types), and the package adds no dependency for non-FastAPI sites.

To add an option: add a field below with `option(default, check, help, ...)` (`editorial=True` if editors own it:
then read it in editorial.build, which a reload runs again; `toml="section.key"` if the file sets it as it is: the
reader, check-config and the reference follow), add the same keyword with the same default to
`AdGuardMiddleware.__init__` (tests/test_options.py checks they agree), read `options.<name>` where it matters,
and run `python scripts/config_reference.py` (it writes docs/configuration.md and the README's table).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

from .assets import consent_name, one_consent
from .checks import Invalid as Invalid  # raised by every check; importable from here as before
from .checks import did_you_mean as did_you_mean
from .events import EventLog, Record
from .message import Message, Messages
from .origins import SiteOrigins
from .policy import Mode, Policy
from .theme import Theme

MIN_KEY_LENGTH = 24
KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d+)?")
_HOST = re.compile(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of an option that has none


@dataclass(frozen=True)
class Option:
    """How one option is checked and documented; `name` and `default` come from its field."""

    check: Callable[[Any], Any]  # the value as given (in code or in the file) -> the value used; raises Invalid
    help: str
    editorial: bool = False  # editors own it: built into the Editorial bundle, so a reload may change it
    toml: str | None = None  # "section.key" where adguard-mw.toml sets it as it is
    file: str | None = None  # where the file sets it otherwise (documentation only), such as "[policy]"
    shown: str | None = None  # the default as the docs say it, when the value itself would not say it well
    path: bool = False  # in the file: a path relative to the file (a URL, with "://", is kept as it is)
    name: str = ""
    default: Any = REQUIRED

    @property
    def reloads(self) -> bool:
        """A reload swaps the whole editorial bundle and nothing else, so what editors own is what reloads."""
        return self.editorial

    def parse(self, value: Any) -> Any:
        """The value checked, or the constructor's one-line error naming the option, the value and what is allowed."""
        try:
            return self.check(value)
        except Invalid as exc:
            text = exc.wording.format(name=self.name, allowed=exc.allowed, value=value)
            raise exc.error(f"adguard_mw: {text}") from None


def option(default: Any, check: Callable[[Any], Any], help: str, *, secret: bool = False, **about: Any) -> Any:
    """A field of `Options`: typed as the value used, documented and checked by its `Option`. A `secret` one is
    left out of the repr, so that logging the options never logs a key."""
    described = Option(check, help, **about)
    if default is REQUIRED:
        return field(repr=not secret, metadata={"option": described})
    return field(default=default, repr=not secret, metadata={"option": described})


# --- checks: each returns the value to use or raises Invalid (or a one-line ValueError of its own) ----------


def _secret_keys(value: Any) -> tuple[str, ...]:
    if value and not isinstance(value, str | bytes | list | tuple):
        raise Invalid("a string or a list of strings", error=TypeError, wording="{name} must be {allowed}")
    keys = [value] if isinstance(value, str | bytes) else list(value or [])
    if not keys:
        raise ValueError(f"adguard_mw: secret_key is missing; {KEY_HINT}")
    checked = []
    for index, key in enumerate(keys):
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if not isinstance(key, str):
            raise TypeError(f"adguard_mw: secret_key must be a string or a list of strings; item {index} is {key!r}")
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"adguard_mw: secret_key{f' item {index}' if len(keys) > 1 else ''} is {len(key)} characters long; "
                f"use at least {MIN_KEY_LENGTH} random characters; {KEY_HINT}"
            )
        checked.append(key)
    return tuple(checked)


def _policy(value: Any) -> Policy:
    if isinstance(value, Policy):
        return value
    modes = [mode.value for mode in Mode]
    if not isinstance(value, str) or value not in modes:
        raise Invalid(did_you_mean(value, modes) + "a Policy or one of: " + ", ".join(modes))
    return Policy(mode=Mode(value))


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("non-empty text")
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("true or false")
    return value


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise Invalid(did_you_mean(value, allowed) + " or ".join(repr(choice) for choice in allowed))
        return str(value)

    return check


def _instance(*kinds: type, label: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is not None and not isinstance(value, kinds):
            raise Invalid(label, error=TypeError, wording="{name} must be {allowed}, got " + type(value).__name__)
        return value

    return check


def _variant_messages(value: Any) -> dict[str, Messages]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid("a mapping of variant names to adguard_mw.Message or Messages", error=TypeError)
    checked = {}
    for name, texts in value.items():
        if not isinstance(texts, Message | Messages):
            raise TypeError(f"adguard_mw: variant_messages[{name!r}] must be an adguard_mw.Message or Messages")
        checked[name] = texts if isinstance(texts, Messages) else Messages({"en": texts})
    return checked


def _events(value: Any) -> Any:
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if isinstance(item, str) and not item.strip():
            raise Invalid("a folder, an s3:// or otlp+http:// URL, a function, a list of them, or an EventLog")
        if item is not None and not isinstance(item, str | os.PathLike | EventLog) and not callable(item):
            raise Invalid("a folder, an s3:// or otlp+http:// URL, a function, a list of them, or an EventLog")
    return value


def _share(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise Invalid("a number from 0 to 1")
    return float(value)


def _origin(value: Any) -> str:
    if not isinstance(value, str) or not _ORIGIN.fullmatch(value):
        raise Invalid("an origin such as 'https://ads.example.com'")
    return value


def _prefix(example: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not (
            isinstance(value, str)
            and len(value) > 1
            and value.startswith("/")
            and not value.startswith("//")  # "//host" would make our URLs point at another host
            and not value.endswith("/")
            and value.isascii()
            and all(c.isalnum() or c in "/-_." for c in value)
        ):
            raise Invalid(f"{example!r} (no trailing '/')", wording="{name} {value!r} must look like {allowed}")
        return value

    return check


def _consent(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return consent_name(key, value)

    return check


def _hosts(value: Any) -> tuple[str, ...]:
    hosts = [value] if isinstance(value, str) else value
    if not isinstance(hosts, list | tuple) or not all(
        isinstance(h, str) and _HOST.fullmatch(h.lower().rstrip(".")) for h in hosts
    ):
        raise Invalid('a list of host names such as ["shop.example.com", "*.example.org"]')
    return tuple(hosts)


def _folder(value: Any) -> Any:
    if value is not None and not (isinstance(value, str) and value.strip()) and not isinstance(value, os.PathLike):
        raise Invalid("a folder path (in the file, relative to the file)")
    return value


def _preview_token(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) < 16):
        raise Invalid("at least 16 random characters (or None: no preview)", wording="{name} must be {allowed}")
    return value


def _trusted_origins(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str | list | tuple):
        raise Invalid("a list of origins such as ['https://www.news.example']")
    SiteOrigins(value, None)  # its one-line error names the item that is not an origin
    return (value,) if isinstance(value, str) else tuple(value)


def _forwarded_allow_ips(value: Any) -> str | tuple[str, ...] | None:
    if value is not None and not isinstance(value, str | list | tuple):
        raise Invalid("IP addresses or networks such as ['127.0.0.1', '10.0.0.0/8'], or '*'")
    SiteOrigins((), value)  # its one-line error names the item that is not an address
    return value if value is None or isinstance(value, str) else tuple(value)


def _cookie_name(value: Any) -> str | None:
    if value is not None and not _COOKIE_NAME.fullmatch(str(value)):
        raise Invalid(
            "letters, digits, '_', '-' or '.' (1 to 64 of them)", wording="{name} {value!r} must be {allowed}"
        )
    return None if value is None else str(value)


def _seconds(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid("a positive number of seconds")
    return value


def _selector(value: Any) -> str:
    from .story import readable_selector  # the HTML parser that removes the story reads it

    if not isinstance(value, str) or not value.strip() or not readable_selector(value):
        raise Invalid("a CSS selector the HTML parser can read, such as '.article-body'")
    return value


def _slots(value: Any) -> str | bool:
    if value is None:
        return False
    if isinstance(value, bool) or (isinstance(value, str) and value.strip() and "{" not in value):
        return value if isinstance(value, bool) else value.strip()
    raise Invalid("a CSS selector such as '.ad-slot', true (slots marked with this deployment's attribute) or false")


# --- the options, described once ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Options:
    """Every option of `AdGuardMiddleware`, checked: build one with `Options.of(**keywords)`."""

    secret_key: tuple[str, ...] = option(
        REQUIRED,
        _secret_keys,
        "One key or a list, oldest to newest, each at least 24 random characters: cookies are signed with the "
        "newest and accepted from any, so keys rotate without resetting readers.",
        file="site.secret_keys_env",
        secret=True,
    )
    policy: Policy = option(
        Mode.OBSERVE,
        _policy,
        "A mode name or a `Policy`: who is asked, when, and how.",
        editorial=True,
        file="[policy]",
    )
    message: Message | Messages | None = option(
        None,
        _instance(Message, Messages, label="an adguard_mw.Message or Messages"),
        'A `Message(title=..., body=..., ctas=..., logo=...)`, or `Messages({"en": ..., "de": ...}, default="en")`;'
        " `{site}` is replaced by the site's name.",
        editorial=True,
        file="[message]",
        shown="polite English",
    )
    site_name: str = option(
        "this site",
        _text,
        "The site's name, shown in messages where a text says `{site}`.",
        toml="site.name",
    )
    events: str | os.PathLike[str] | Callable[[Record], object] | EventLog | None = option(
        None,
        _events,
        "A folder for JSON-lines event files (`dt=YYYY-MM-DD/<instance>.jsonl`, one per UTC day and process); or "
        "`s3://bucket/prefix` (Parquet) or `otlp+http://host:4318` (OpenTelemetry), see events.md; in code also "
        "a function called with each event, or an `EventLog`. Events always go to the `adguard_mw.events` logger "
        "at INFO too.",
        toml="events.directory",
        path=True,
    )
    page_view_sample_rate: float = option(
        1.0,
        _share,
        "The share of HTML page views logged as `page_view` events (each stands for `1/rate` views).",
        toml="events.page_view_sample_rate",
    )
    third_party_bait: str | None = option(
        None,
        _optional(_origin),
        "An origin on a host that DNS filters block, served by this same app, such as 'https://ads.example.com': "
        "tells network-level filtering (DNS, proxies) from extensions.",
        toml="detection.third_party_bait",
    )
    silent_detector: Literal["unknown", "blocked"] | None = option(
        None,
        _optional(_choice("unknown", "blocked")),
        'What a reader whose detector never reports counts as: `"blocked"` after two silent page views (see '
        'detection.md; sets a cookie while a report is due), or `"unknown"` (never asked). `"blocked"` needs the '
        "beacon and is the default unless the check waits for a consent event.",
        toml="detection.silent_detector",
        shown='"blocked"',
    )
    metrics_path: str | None = option(
        None,
        _optional(_prefix("/metrics")),
        "Serve Prometheus counters at this path (extra `[prometheus]`; multi-process safe with "
        "`PROMETHEUS_MULTIPROC_DIR`); keep it off the public internet.",
    )
    gpc: Literal["anonymous", "skip"] = option(
        "anonymous",
        _choice("anonymous", "skip"),
        'Readers sending Global Privacy Control (`Sec-GPC: 1`): `"anonymous"` checks and may ask them but logs '
        'nothing with a visitor id; `"skip"` never checks, logs or asks them.',
        toml="detection.gpc",
    )
    honor_gpc: bool | None = option(
        None,
        _optional(_flag),
        'Deprecated: `true` means `gpc = "skip"`, `false` `gpc = "anonymous"`.',
        toml="detection.honor_gpc",
    )
    consent_event: str | None = option(
        None,
        _consent("consent_event"),
        "Run the check only once the page dispatches this DOM event (a name of your own, so filter lists cannot "
        'target one name on every site); in the file, with `consent = "event"`.',
        toml="detection.consent_event",
    )
    consent_cookie: str | None = option(
        None,
        _consent("consent_cookie"),
        'Run the check only once the site\'s consent tool has set this cookie; in the file, with `consent = "cookie"`.',
        toml="detection.consent_cookie",
    )
    beacon: bool = option(
        True,
        _flag,
        "`false`: the verdict stays in the browser; nothing is reported, and the message is shown by the page "
        "itself (notice, instructions and soft modes only).",
        toml="detection.beacon",
    )
    variant_messages: Mapping[str, Messages] = option(
        None,
        _variant_messages,
        '`{"variant name": Message or Messages}`: an A/B variant\'s own words.',
        editorial=True,
        file="policy.variants.message",
    )
    theme: Theme | None = option(
        None,
        _instance(Theme, label="an adguard_mw.Theme"),
        "`Theme(light=Scheme(background, text, accent, accent_text), dark=...)`, checked for contrast.",
        editorial=True,
        file="[message.theme]",
        shown="ours",
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        _hosts,
        "Other hosts that links, calls to action and the logo may point to.",
        editorial=True,
        toml="message.allowed_hosts",
    )
    template_dir: str | os.PathLike[str] | None = option(
        None,
        _folder,
        "A folder whose `panel.html`, `overlay.html`, `wall.html`, `slot.html` (Jinja2) and `message.css` override "
        "ours.",
        editorial=True,
        toml="message.template_dir",
        path=True,
    )
    paywall_selector: str | None = option(
        None,
        _optional(_selector),
        "A CSS selector for the content a hard wall hides, such as `.article-body`: pages a hard wall may hide "
        "then carry paywall structured data (`isAccessibleForFree`), so search engines know it is not cloaking, "
        "and a walled reader gets the site's own page with that content removed and the message in its place "
        "(the whole-page wall where it matches nothing).",
        editorial=True,
        toml="policy.paywall_selector",
    )
    preview_token: str | None = option(
        None,
        _preview_token,
        "Enables the live preview route for editors holding it (16 characters or more).",
        editorial=True,
        file="preview.token_env",
        secret=True,
    )
    ad_slots: str | bool = option(
        False,
        _slots,
        'The site\'s ad slots, as a CSS selector such as `".ad-slot"` (or `true`: only elements marked with this '
        "deployment's data attribute, `middleware.names.slot_attribute`): for a reader whose blocker is on, each "
        "slot whose ad was hidden or never came shows a quiet house message (`slot_body` and the calls to action) "
        "instead of a hole. Needs the beacon.",
        editorial=True,
        toml="policy.ad_slots",
    )
    ad_slots_in_observe: bool = option(
        False,
        _flag,
        'Also fill blocked ad slots for readers whose mode is `"observe"` (otherwise only where a message may be '
        "shown).",
        editorial=True,
        toml="policy.ad_slots_in_observe",
    )
    trusted_origins: tuple[str, ...] = option(
        (),
        _trusted_origins,
        'The site\'s public origins, such as `["https://www.news.example"]` (`https://*.news.example` for its '
        "subdomains): reports from pages there are accepted although a proxy or CDN rewrote `Host`.",
        toml="site.trusted_origins",
    )
    forwarded_allow_ips: str | tuple[str, ...] | None = option(
        None,
        _forwarded_allow_ips,
        'Proxies (addresses or networks, `["*"]` for any) whose `X-Forwarded-Host`, `X-Forwarded-Proto` and '
        "`Forwarded` headers are believed, as uvicorn's `--forwarded-allow-ips`; nobody's by default. See "
        "deployment.md.",
        toml="site.forwarded_allow_ips",
    )
    path_prefix: str | None = option(
        None,
        _optional(_prefix("/_support")),
        "URL prefix of the middleware's own files and endpoints.",
        shown="derived",
    )
    cookie_name: str | None = option(None, _cookie_name, "Name of the signed state cookie.", shown="derived")
    cookie_max_age: int = option(30 * 24 * 3600, _seconds, "Lifetime of the cookie, in seconds.", shown="30 days")
    https_only: bool | None = option(
        None,
        _optional(_flag),
        "Mark cookies `Secure` always (true) or never (false); by default on https requests.",
        toml="site.https_only",
        shown="(from the request)",
    )
    name_seed: str | None = option(
        None,
        _optional(_text),
        "Seed of the neutral names; set it to keep URLs stable when you retire the oldest key.",
        shown="the oldest key",
    )
    render_message: Literal["ours", "site"] = option(
        "ours",
        _choice("ours", "site"),
        '`"site"`: notices and dialogs are left to the site\'s own UI, which reads what to show from the page API '
        "(docs/page-api.md); the hard wall stays ours.",
        toml="detection.render_message",
    )

    @classmethod
    def of(cls, **given: Any) -> Options:
        """The options checked one by one, then together; the first mistake raises in one line."""
        known_options(given)
        values: dict[str, Any] = {}
        for described in OPTIONS:
            if described.name not in given and described.default is REQUIRED:
                raise TypeError(f"adguard_mw: {described.name} is required")
            values[described.name] = described.parse(given.get(described.name, described.default))
        return cls(**together(values))

    def editorial_only(self, **given: Any) -> Options:
        """These options with the editorial ones from `given` (the rest at their defaults), as a reload needs."""
        others = sorted(set(given) - set(EDITORIAL))
        if others:
            raise TypeError(f"adguard_mw: {others[0]!r} is not an editorial option; they are {', '.join(EDITORIAL)}")
        kept = {name: getattr(self, name) for name in BY_NAME if name not in EDITORIAL}
        return Options.of(**kept, **given)

    @property
    def watch_silence(self) -> bool:
        """By default a detector that never reports counts, on the server's own evidence (silence.py). With a
        consent event the server cannot know whether the check was allowed to run: silence proves nothing."""
        default = "blocked" if self.beacon and self.consent_event is None else "unknown"
        return (self.silent_detector or default) == "blocked"


def known_options(given: Mapping[str, Any], *, also: Iterable[str] = ()) -> None:
    """Raises TypeError for a keyword that is not an option (nor one of `also`: a subclass's own keywords), with
    the nearest name."""
    known = [*BY_NAME, *(name for name in also if name not in BY_NAME and name != "self")]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(
            f"adguard_mw: {unknown[0]!r} is not an option; {did_you_mean(unknown[0], known)}"
            f"options are {', '.join(BY_NAME)}"
        )


def together(values: dict[str, Any]) -> dict[str, Any]:
    """What holds between options; `values` are each checked already."""
    if values["honor_gpc"] is not None:
        warnings.warn(
            "adguard_mw: honor_gpc is deprecated; use gpc='skip' (never check GPC readers) or gpc='anonymous'",
            DeprecationWarning,
            stacklevel=4,
        )
        values = {**values, "gpc": "skip" if values["honor_gpc"] else "anonymous", "honor_gpc": None}
    if values["silent_detector"] == "blocked" and not values["beacon"]:
        raise ValueError("adguard_mw: silent_detector='blocked' needs the beacon (a silence is noticed by the server)")
    if values["silent_detector"] == "blocked" and values["consent_event"] is not None:
        raise ValueError(
            "adguard_mw: silent_detector='blocked' cannot work with consent_event (the server cannot tell a "
            "reader who has not consented from a silenced detector); use consent_cookie, or 'unknown'"
        )
    one_consent(values["consent_event"], values["consent_cookie"])
    policy: Policy = values["policy"]
    names = {variant.name for variant in policy.variants}
    for name in values["variant_messages"]:
        if name not in names:
            raise ValueError(f"adguard_mw: variant_messages names {name!r}, which is not one of the policy's variants")
    if values["ad_slots"] is not False and not values["beacon"]:
        raise ValueError("adguard_mw: ad_slots needs the beacon (the server sends house messages only to readers it "
                         "knows are blocking); turn the beacon on, or leave ad_slots off")  # fmt: skip
    if not values["beacon"] and Mode.HARD in policy.modes:
        raise ValueError("adguard_mw: the hard mode needs the beacon (the server must know the verdict); "
                         "use soft, or turn the beacon on")  # fmt: skip
    return values


OPTIONS: tuple[Option, ...] = tuple(
    Option(**{**vars(f.metadata["option"]), "name": f.name, "default": REQUIRED if f.default is MISSING else f.default})
    for f in fields(Options)
)
BY_NAME: dict[str, Option] = {described.name: described for described in OPTIONS}
EDITORIAL = tuple(described.name for described in OPTIONS if described.editorial)
RESTART_ONLY = tuple(described.name for described in OPTIONS if not described.reloads)


def python_default(described: Option) -> str:
    """An option's default as the README shows it."""
    if described.default is REQUIRED:
        return "required"
    if described.shown is not None:
        return f"`{described.shown}`" if described.shown.startswith('"') else described.shown
    if described.default is None or described.default == ():
        return "none"
    value = described.default
    return f"`{json.dumps(value)}`" if isinstance(value, str) else f"`{value!r}`"


README_START = "<!-- options: generated from adguard_mw/options.py by scripts/config_reference.py -->"
README_END = "<!-- end of options -->"


def readme_table() -> str:
    """The README's table of options (between its `options table` markers; a test keeps them equal)."""
    lines = ["| option | default | in adguard-mw.toml | meaning |", "|---|---|---|---|"]
    for described in OPTIONS:
        where = described.toml or described.file
        shown = f"`{where}`" if where else "code only"
        text = described.help.replace("|", "&#124;")
        lines.append(f"| `{described.name}` | {python_default(described)} | {shown} | {text} |")
    return "\n".join(lines) + "\n"
