"""`adguard-mw.toml`: the settings people other than programmers can own, checked before anything starts.

The file is described once, below, as a table of keys (type, default, help); the same table checks a file and
writes the configuration reference in the docs, so the two cannot disagree. A key that sets one of the
middleware's options as it is (`site.name`, `detection.beacon`, ...) is not described here but in options.py,
which names where the file has it: its check and help are the option's; the keys of `[policy]`, `[[policy.rules]]`
and `[[policy.variants]]` are the fields policy.py describes. Every mistake is one line naming the
key, the value and what is allowed. Secrets do not belong in the file: it names the environment variables that
hold them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from .checks import Invalid, choice, did_you_mean, duration, short_name
from .events import unwritable
from .options import OPTIONS, Option
from .policy import Policy, Rule, Variant

__all__ = ["ConfigError", "Invalid", "did_you_mean", "load_settings", "reference"]

ENV_PATH = "ADGUARD_MW_CONFIG"  # where the file is, when no path is given in code
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


class ConfigError(ValueError):
    """One line per mistake: which key is wrong, what it was, and what is allowed."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Reported(Exception):
    """A table's mistakes are already listed; the step that read it stops there."""


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Key:
    name: str
    parse: Parser
    default: str  # as a TOML literal, for the reference
    help: str


@dataclass(frozen=True)
class Section:
    name: str  # "policy", or "policy.rules" for an array of tables
    help: str
    keys: tuple[Key, ...]
    reloads: bool = True  # False: a change needs a restart
    array: bool = False  # [[name]]: a list of tables

    def key(self, name: str) -> Key | None:
        return next((key for key in self.keys if key.name == name), None)


def _literal(value: Any) -> str:
    """A default as TOML writes it, for the reference."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    return json.dumps(list(value))


def _key(option: Option) -> Key:
    assert option.toml is not None
    return Key(option.toml.split(".", 1)[1], option.check, option.shown or _literal(option.default), option.help)


def options_in(section: str) -> tuple[Key, ...]:
    """The keys of `[section]` that set a middleware option as they are: described in options.py."""
    return tuple(_key(option) for option in OPTIONS if option.toml and option.toml.rpartition(".")[0] == section)


def described(record: type) -> tuple[Key, ...]:
    """The keys of a policy table: the fields of `Policy`, `Rule` or `Variant` that policy.py describes (checked
    and documented there)."""
    return tuple(
        Key(item.name, about.check, about.shown or _literal(item.default), about.help)
        for item in dataclasses.fields(record)
        if (about := item.metadata.get("setting")) is not None
    )


# The option each such key sets, by (section, key).
DIRECT = {tuple(option.toml.rsplit(".", 1)): option for option in OPTIONS if option.toml is not None}


# --- parsers: each returns the value or raises Invalid(what is allowed) ---------------------------------------


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("non-empty text")
    return value


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("true or false")
    return value


def env_name(value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise Invalid("the name of an environment variable")
    return value


def locale(value: Any) -> str:
    if not isinstance(value, str) or not _LOCALE.fullmatch(value):
        raise Invalid('a language code such as "en" or "pt-BR"')
    return value


def url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("a path on this site such as '/subscribe' or an https:// address")
    return value


def colour(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value):
        raise Invalid("a colour such as '#1d1d1f' or '#fff'")
    return value


# --- the file, described once -------------------------------------------------------------------------------

SITE = Section(
    "site",
    "Who the site is. Changes need a restart.",
    (
        *options_in("site"),
        Key(
            "secret_keys_env",
            env_name,
            '"ADGUARD_MW_SECRET_KEYS"',
            "The environment variable holding the cookie-signing keys, comma-separated, oldest first (at least 24 "
            "random characters each). Add a new key at the end to rotate; drop the oldest a cookie lifetime later.",
        ),
    ),
    reloads=False,
)
POLICY = Section(
    "policy",
    "Who is asked, when, and how. Reloaded when the file changes.",
    (*described(Policy), *options_in("policy")),
)
RULES = Section(
    "policy.rules",
    "Per-section settings, `[[policy.rules]]` tables; for each page the first rule whose `path` matches wins, "
    "and what it does not set comes from `[policy]`. A rule's mode also wins over an A/B variant's.",
    described(Rule),
    array=True,
)
VARIANTS = Section(
    "policy.variants",
    "A/B variants, `[[policy.variants]]` tables. Each reader is assigned one by a hash of their pseudonymous "
    "id (so they keep it while the id lives, 30 days), in proportion to the weights; every event records it. "
    "A variant may change the mode and any message text: `[policy.variants.message]` (and "
    "`[policy.variants.message.locales.de]`) take the keys of `[message]`.",
    described(Variant),
    array=True,
)
MESSAGE = Section(
    "message",
    "The words and look of the message. `{site}` is replaced by the site's name. Reloaded when the file changes. "
    "Texts not set here are our own (in English, German, French or Spanish, after `default_locale`).",
    (
        Key("default_locale", locale, '"en"', "The language of the texts in `[message]`."),
        Key("title", text, "(built in)", "The heading."),
        Key(
            "body",
            text,
            "(built in)",
            "The appeal, in limited Markdown: paragraphs, `*emphasis*`, `**strong**`, `[links](/path)`, lists.",
        ),
        Key("body_format", choice("markdown", "html"), '"markdown"', 'Or `"html"`: sanitised to the same tags.'),
        Key("network_body", text, "(built in)", "The appeal for readers whose network filters the ads."),
        Key("instructions_title", text, "(built in)", 'The heading in `"instructions"` mode.'),
        Key("steps_heading", text, "(built in)", "The heading of the allow-list steps."),
        Key("slot_label", text, "(built in)", "The name of the house message in a blocked ad slot (`ad_slots`)."),
        Key("slot_body", text, "(built in)", "Its text, in the same limited Markdown as `body`."),
        Key("check_label", text, "(built in)", "The label of the check-again button."),
        Key("continue_label", text, "(built in)", "The label of the dismiss button."),
        Key("still_blocked", text, "(built in)", "Said when a check finds the blocker still on."),
        Key("logo", url, "(none)", "A logo image: a path on this site or an https address on an allowed host."),
        Key("logo_alt", text, "(none)", "The logo's text alternative (required with a logo)."),
        *options_in("message"),
    ),
)
CTAS = Section(
    "message.ctas",
    "Calls to action, `[[message.ctas]]` tables, shown as buttons; clicks are counted (`cta_clicked` events).",
    (
        Key("label", text, "(required)", 'The button\'s text, such as "Subscribe".'),
        Key("url", url, "(required)", "Where it leads: a path on this site or an https address on an allowed host."),
        Key("name", short_name, "(from the label)", "The name events record."),
    ),
    array=True,
)
MESSAGE_TEXTS = Section(
    "message.locales.<code>",
    "The message in another language, e.g. `[message.locales.de]`, with the text keys of `[message]` (and its own "
    "`[[message.locales.de.ctas]]`); readers get the language their `Accept-Language` prefers among the default "
    "and these. What a locale leaves out is our own translation where we have one; the logo, body format and "
    "calls to action come from `[message]`.",
    tuple(key for key in MESSAGE.keys if key.name not in ("default_locale", "allowed_hosts", "template_dir")),
)
_SCHEME_KEYS = (
    Key("background", colour, "(built in)", "The message's background."),
    Key("text", colour, "(built in)", "Its text; at least 4.5:1 against the background."),
    Key("accent", colour, "(built in)", "The main button's background."),
    Key("accent_text", colour, "(built in)", "The main button's text; at least 4.5:1 against the accent."),
)
THEME_LIGHT = Section(
    "message.theme.light",
    "Colours (#rgb or #rrggbb) for readers in a light colour scheme. Give all four or none; a pair below 4.5:1 "
    "contrast fails at start-up, naming the colours and the ratio.",
    _SCHEME_KEYS,
)
THEME_DARK = Section(
    "message.theme.dark",
    "The same for readers whose system asks for dark colours (`prefers-color-scheme: dark`).",
    _SCHEME_KEYS,
)
EVENTS = Section(
    "events",
    "Where events go. Changes need a restart.",
    options_in("events"),
    reloads=False,
)
DETECTION = Section(
    "detection",
    "How the browser check runs. Changes need a restart.",
    (
        Key(
            "consent",
            choice("none", "event", "cookie"),
            '"none"',
            'Run the check only after consent: `"event"` waits for the page to dispatch the `consent_event` '
            'DOM event; `"cookie"` waits for `consent_cookie` to be set by the consent tool.',
        ),
        *options_in("detection"),
    ),
    reloads=False,
)
PREVIEW = Section(
    "preview",
    "A live preview of the message at `<prefix>/preview?token=...&mode=soft&locale=de&variant=B`, off unless "
    "the environment variable named here holds a token (16 characters or more).",
    (Key("token_env", env_name, "(off)", "The environment variable holding the preview token."),),
)
RELOAD = Section(
    "reload",
    "Reloading the file while the site runs: `[policy]`, `[message]` and `[preview]` change without a restart; a "
    "broken file keeps the previous settings and logs why.",
    (
        Key("watch", flag, "true", "Check the file for changes (at most once per `interval`, on a request)."),
        Key("interval", duration, '"5s"', "How often, at most."),
        Key("signal", choice("", "SIGHUP", "SIGUSR1", "SIGUSR2"), '""', "Also reload on this signal."),
    ),
)
SECTIONS = (
    SITE,
    POLICY,
    RULES,
    VARIANTS,
    MESSAGE,
    CTAS,
    MESSAGE_TEXTS,
    THEME_LIGHT,
    THEME_DARK,
    EVENTS,
    DETECTION,
    PREVIEW,
    RELOAD,
)
TOP = ("site", "policy", "message", "events", "detection", "preview", "reload")


@dataclass(frozen=True)
class Settings:
    """Keyword arguments for `AdGuardMiddleware`, read from a file, and how to reload it."""

    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    watch: bool = True
    interval: int = 5
    signal: str = ""
    unchecked: tuple[str, ...] = ()  # what a check without the server's environment left out (strict=False)


# Stands in for the secret keys when an editor checks a file without them; never signs a real reader's cookie.
UNCHECKED_KEY = "unchecked-placeholder-key-not-a-secret"


def load_settings(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] = os.environ, strict: bool = True
) -> Settings:
    """Read and check the file; raises ConfigError listing every mistake found, one line each.

    `strict=False` checks only what editors own: what the server alone holds (the secret keys, the preview token,
    a writable events folder) is checked when present here, else named in `Settings.unchecked`."""
    if path is None:
        path = environ.get(ENV_PATH)
        if not path:
            raise ConfigError(f"no configuration file given: pass a path or set {ENV_PATH}")
    where = Path(path)
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where.name}: not valid TOML ({exc})") from None
    return _Reader(where, environ, strict).settings(data)


_T = TypeVar("_T")


class _Reader:
    """Reads the file step by step; a mistake ends its own step only, so one run lists them all."""

    def __init__(self, path: Path, environ: Mapping[str, str], strict: bool = True) -> None:
        self.path = path
        self.environ = environ
        self.strict = strict
        self.problems: list[str] = []
        self.unchecked: list[str] = []

    def fail(self, key: str, value: Any, allowed: str) -> ConfigError:
        shown = "..." if isinstance(value, dict) else value
        return ConfigError(f"{self.path.name}: {key} = {shown!r} is not allowed: {allowed}")

    def attempt(self, step: Callable[[], _T], fallback: Any) -> _T:
        """Run one step of the reading; its mistakes are listed and `fallback` stands in for its result."""
        try:
            return step()
        except ConfigError as exc:
            self.problems.extend(exc.problems or (str(exc),))
        except _Reported:
            pass
        return cast(_T, fallback)

    def table(self, data: Any, section: Section, where: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """The keys of one table, parsed; unknown keys are mistakes. Lists every mistake in it, then stops."""
        if not isinstance(data, dict):
            raise self.fail(where, data, "a [table]")
        parsed: dict[str, Any] = {}
        found: list[str] = []
        for key_name, value in data.items():
            if key_name in extra:
                continue
            key = section.key(key_name)
            if key is None:
                known = [k.name for k in section.keys] + list(extra)
                allowed = f"{did_you_mean(key_name, known)}keys of [{section.name}] are {', '.join(sorted(known))}"
                found.append(str(self.fail(f"{where}.{key_name}", value, allowed)))
                continue
            try:
                parsed[key_name] = key.parse(value)
            except Invalid as exc:
                found.append(str(self.fail(f"{where}.{key_name}", value, str(exc))))
            except (ValueError, TypeError) as exc:  # an option's own one-line error
                found.append(str(self.fail(f"{where}.{key_name}", value, str(exc).removeprefix("adguard_mw: "))))
        for key in section.keys:
            if key.default == "(required)" and key.name not in data:
                found.append(f"{self.path.name}: {where}.{key.name} is missing: {key.help[0].lower()}{key.help[1:]}")
        if found:
            self.problems.extend(found)
            raise _Reported
        return parsed

    def array(self, data: Any, section: Section, where: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise self.fail(where, data, f"a list of tables: [[{section.name}]]")
        tables = [self.attempt(partial(self.table, item, section, f"{where}[{i}]", extra), None)
                  for i, item in enumerate(data)]  # fmt: skip
        if None in tables:
            raise _Reported
        return [table for table in tables if table is not None]

    def build(self, where: str, factory: Callable[..., Any], **values: Any) -> Any:
        """Construct a checked object; its own one-line ValueError becomes ours, naming where it came from."""
        try:
            return factory(**values)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{self.path.name}: [{where}] {str(exc).removeprefix('adguard_mw: ')}") from None

    def settings(self, data: dict[str, Any]) -> Settings:
        for section_name, value in data.items():
            if section_name not in TOP:
                allowed = f"{did_you_mean(section_name, TOP)}sections are {', '.join(TOP)}"
                self.problems.append(str(self.fail(section_name, value, allowed)))
        site = self.attempt(lambda: self.table(data.get("site", {}), SITE, "site"), {})
        before_policy = len(self.problems)
        policy = self.attempt(
            lambda: self.table(data.get("policy", {}), POLICY, "policy", extra=("rules", "variants")), {}
        )
        policy_problems = len(self.problems) - before_policy
        events = self.attempt(lambda: self.table(data.get("events", {}), EVENTS, "events"), {})
        detection = self.attempt(lambda: self.table(data.get("detection", {}), DETECTION, "detection"), {})
        preview = self.attempt(lambda: self.table(data.get("preview", {}), PREVIEW, "preview"), {})
        reload = self.attempt(lambda: self.table(data.get("reload", {}), RELOAD, "reload"), {})

        env = site.pop("secret_keys_env", "ADGUARD_MW_SECRET_KEYS")
        options: dict[str, Any] = {"secret_key": self.attempt(lambda: self.secret_keys(env), [UNCHECKED_KEY])}
        for name, table in (("site", site), ("events", events), ("detection", detection), ("policy", policy)):
            options.update(self.direct(name, table))
        if "events" in options and "://" not in options["events"]:
            self.attempt(lambda: self.events_folder(Path(options["events"])), None)
        self.attempt(lambda: self.detection(detection, options), None)
        if "token_env" in preview:
            options["preview_token"] = self.attempt(lambda: self.preview_token(preview["token_env"]), None)

        raw_policy = data.get("policy", {})
        raw_policy = raw_policy if isinstance(raw_policy, dict) else {}
        before_rules = len(self.problems)
        rule_tables = self.attempt(lambda: self.array(raw_policy.get("rules", []), RULES, "policy.rules"), [])
        rules = [self.attempt(partial(self.build, f"policy.rules[{i}]", Rule, **rule), None)
                 for i, rule in enumerate(rule_tables)]  # fmt: skip
        variant_tables = self.attempt(
            lambda: self.array(raw_policy.get("variants", []), VARIANTS, "policy.variants", extra=("message",)), []
        )
        variants = [self.attempt(partial(self.build, f"policy.variants[{i}]", Variant, **v), None)
                    for i, v in enumerate(variant_tables)]  # fmt: skip
        if not policy_problems and len(self.problems) == before_rules:  # built from half its values: only noise
            options["policy"] = self.attempt(
                lambda: self.build("policy", Policy, **policy, rules=tuple(rules), variants=tuple(variants)), None
            )
        options.update(self.attempt(lambda: self.messages(data.get("message", {}), raw_policy.get("variants", [])), {}))
        if self.problems:
            raise ConfigError(*self.problems)
        return Settings(
            options,
            path=self.path,
            watch=reload.get("watch", True),
            interval=reload.get("interval", 5),
            signal=reload.get("signal", ""),
            unchecked=tuple(self.unchecked),
        )

    def secret_keys(self, env: str) -> list[str]:
        keys = [key.strip() for key in self.environ.get(env, "").split(",") if key.strip()]
        if not keys and not self.strict:
            self.unchecked.append(f"the secret keys ({env} is not set here)")
            return [UNCHECKED_KEY]
        if not keys:
            raise ConfigError(
                f"{self.path.name}: the environment variable {env} (site.secret_keys_env) holds no secret keys"
            )
        return keys

    def preview_token(self, env: str) -> str | None:
        token = self.environ.get(env, "").strip()
        if token and len(token) < 16:
            raise ConfigError(
                f"{self.path.name}: the preview token in {env} is {len(token)} characters long; use 16 or more "
                "random characters"
            )
        if not token and not self.strict:
            self.unchecked.append(f"the preview token ({env} is not set here)")
        return token or None

    def events_folder(self, folder: Path) -> None:
        """The events folder must be one this process can write to (or create)."""
        problem = unwritable(folder)
        if problem and self.strict:
            raise ConfigError(f"{self.path.name}: events.directory: {problem}")
        if problem:
            self.unchecked.append(f"the events folder ({folder} cannot be written here)")

    def relative(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.path.parent / candidate

    def direct(self, section: str, table: dict[str, Any]) -> dict[str, Any]:
        """The keys of a parsed table that set an option as they are (options.py), taken out of the table."""
        options = {}
        for key in [key for key in table if (section, key) in DIRECT]:
            option, value = DIRECT[section, key], table.pop(key)
            if option.path and not isinstance(value, str):  # a list or a function is for code, not for the file
                self.problems.append(str(self.fail(f"{section}.{key}", value, "a folder path, or a URL")))
                continue
            if option.path and "://" not in value:  # a URL (s3://bucket/prefix, otlp+http://...) is not a path
                value = str(self.relative(value))
            options[option.name] = value
        return options

    def detection(self, detection: dict[str, Any], options: dict[str, Any]) -> None:
        """`consent` says which of consent_event and consent_cookie is in force; honor_gpc is gpc's old spelling."""
        honor_gpc = options.pop("honor_gpc", None)
        if honor_gpc is not None and "gpc" not in options:
            options["gpc"] = "skip" if honor_gpc else "anonymous"
        consent = detection.get("consent", "none")
        for way in ("event", "cookie"):
            if consent == way and f"consent_{way}" not in options:
                raise self.fail("detection.consent", consent, f"{way!r} together with detection.consent_{way}")
            if consent != way:
                options.pop(f"consent_{way}", None)

    def messages(self, data: Any, variants: list[dict[str, Any]]) -> dict[str, Any]:
        """`[message]` and each variant's `message` table into Messages; built by the message module's checks."""
        from .theme import Scheme, Theme

        extra = ("ctas", "theme", "locales")
        settings = self.table(data, MESSAGE, "message", extra=extra)
        options = self.direct("message", settings)
        default = settings.pop("default_locale", "en")
        options["message"] = base = self.texts(settings, data, "message", default)
        theme = data.get("theme")
        if theme is not None:
            if not isinstance(theme, dict) or set(theme) - {"light", "dark"}:
                raise self.fail("message.theme", theme, "[message.theme.light] and [message.theme.dark] tables")
            schemes = {
                name: self.build(f"message.theme.{name}", Scheme, **self.scheme(theme[name], name))
                for name in ("light", "dark")
                if name in theme
            }
            options["theme"] = self.build("message.theme", Theme, **schemes)
        variant_messages = {}
        for index, variant in enumerate(variants):
            if isinstance(variant, dict) and "message" in variant:
                where = f"policy.variants[{index}].message"
                texts = self.attempt(
                    partial(self.table, variant["message"], MESSAGE_TEXTS, where, extra=("ctas", "locales")), None
                )
                if texts is not None:
                    built = partial(self.texts, texts, variant["message"], where, default, base)
                    variant_messages[variant.get("name")] = self.attempt(built, None)
        if variant_messages:
            options["variant_messages"] = variant_messages
        return options

    def scheme(self, data: Any, name: str) -> dict[str, Any]:
        table = self.table(data, THEME_LIGHT, f"message.theme.{name}")
        missing = [key.name for key in THEME_LIGHT.keys if key.name not in table]
        if missing:
            raise ConfigError(
                f"{self.path.name}: message.theme.{name} needs all four colours; missing {', '.join(missing)}"
            )
        return table

    def texts(self, fields: dict[str, Any], data: dict[str, Any], where: str, default: str, base: Any = None) -> Any:
        """Messages for the default locale and each `[<where>.locales.<code>]`; what a locale leaves out comes
        from our translation for it, and the logo, body format and calls to action from the default locale."""
        from .message import CallToAction, Messages, default_message

        def ctas(table: dict[str, Any], at: str) -> tuple[CallToAction, ...] | None:
            if "ctas" not in table:
                return None
            items = self.array(table["ctas"], CTAS, f"{at}.ctas")
            return tuple(self.build(f"{at}.ctas[{i}]", CallToAction, **item) for i, item in enumerate(items))

        shared = ("logo", "logo_alt", "body_format", "ctas")
        found = ctas(data, where)
        if found is not None:
            fields = {**fields, "ctas": found}
        if base is not None:  # a variant: what it leaves out is the site's message in that locale
            fields = {**_fields_of(base[base.default]), **fields}
        first = self.build(where, default_message, locale=default, **fields)
        by_locale = {default: first}
        locales_table = data.get("locales", {})
        if not isinstance(locales_table, dict):
            raise self.fail(
                f"{where}.locales", locales_table, "[<where>.locales.<code>] tables".replace("<where>", where)
            )
        inherited = {key: getattr(first, key) for key in shared}
        before = len(self.problems)

        def translation(code: str, table: Any) -> None:
            at = f"{where}.locales.{code}"
            try:
                code = locale(code)
            except Invalid as exc:
                raise self.fail(f"{where}.locales", code, str(exc)) from None
            own = self.table(table, MESSAGE_TEXTS, at, extra=("ctas",))
            found = ctas(table, at)
            if found is not None:
                own["ctas"] = found
            if base is not None and code in base:
                own = {**_fields_of(base[code]), **own}
            by_locale[code] = self.build(at, default_message, locale=code, **{**inherited, **own})

        for code, table in locales_table.items():
            self.attempt(partial(translation, code, table), None)
        if len(self.problems) > before:
            raise _Reported
        if base is not None:
            for code in base:
                by_locale.setdefault(code, base[code])
        return self.build(where, Messages, by_locale=by_locale, default=default)


def _fields_of(message: Any) -> dict[str, Any]:
    return {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}


def reference() -> str:
    """The configuration reference in Markdown; docs/configuration.md is this (a test keeps them equal)."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from adguard_mw/options.py, policy.py and config.py by scripts/config_reference.py; "
        "do not edit. -->",
        "",
        "`adguard-mw.toml` configures the middleware without code: `AdGuardMiddleware.from_config(app, path)` "
        f"reads it (or the file named by `{ENV_PATH}`). Check a file with `adguard-mw check-config FILE` and "
        "preview its messages with `adguard-mw preview FILE`. Keyword arguments given in code win over the file. "
        'Durations are seconds or text such as `"30m"`, `"24h"`, `"7d"`, `"2w"`.',
        "",
    ]
    for section in SECTIONS:
        header = f"[[{section.name}]]" if section.array else f"[{section.name}]"
        lines += [f"## `{header}`", "", section.help, "", "| key | default | meaning |", "|---|---|---|"]
        lines += [f"| `{key.name}` | `{key.default}` | {key.help.replace('|', '&#124;')} |" for key in section.keys]
        lines.append("")
    return "\n".join(lines)
