"""`adguard-mw.toml`: the settings people other than programmers can own, checked before anything starts.

Every mistake is one line naming the key, the value and what is allowed. Secrets do not belong in the file: it
names the environment variable that holds the keys (comma-separated, oldest first).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .message import Message
from .policy import Mode, Policy

ENV_PATH = "ADGUARD_MW_CONFIG"  # where the file is, when no path is given in code
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(ValueError):
    """One line: which key is wrong, what it was, and what is allowed."""


@dataclass(frozen=True)
class Settings:
    """Keyword arguments for `AdGuardMiddleware`, read from a file."""

    options: dict[str, Any] = field(default_factory=dict)


def load_settings(path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and check the file; raises ConfigError with a one-line message on the first mistake."""
    if path is None:
        path = environ.get(ENV_PATH)
        if not path:
            raise ConfigError(f"no configuration file given: pass a path or set {ENV_PATH}")
    where = Path(path)
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where.name}: not valid TOML ({exc})") from None
    return Settings(_check(where.name, data, environ))


def _check(name: str, data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    def fail(key: str, value: Any, allowed: str) -> ConfigError:
        return ConfigError(f"{name}: {key} = {value!r} is not allowed: {allowed}")

    known = {"site", "policy", "message", "events", "detection"}
    for section in data:
        if section not in known:
            raise fail(section, "...", f"sections are {', '.join(sorted(known))}")
    site = _section(data, "site", {"name", "secret_keys_env", "https_only"}, fail)
    policy = _section(data, "policy", {"mode", "network_mode", "free_page_views", "dismiss_cooldown",
                                       "verdict_ttl", "include", "exclude"}, fail)  # fmt: skip
    message = _section(data, "message", set(Message.__dataclass_fields__), fail)
    events = _section(data, "events", {"directory", "page_view_sample_rate"}, fail)
    detection = _section(data, "detection", {"third_party_bait", "silent_detector", "honor_gpc"}, fail)

    options: dict[str, Any] = {}
    env_name = site.get("secret_keys_env", "ADGUARD_MW_SECRET_KEYS")
    if not isinstance(env_name, str) or not env_name:
        raise fail("site.secret_keys_env", env_name, "the name of an environment variable")
    keys = [key.strip() for key in environ.get(env_name, "").split(",") if key.strip()]
    if not keys:
        raise ConfigError(f"{name}: the environment variable {env_name} (site.secret_keys_env) holds no secret keys")
    options["secret_key"] = keys
    if "name" in site:
        options["site_name"] = _text(site["name"], "site.name", fail)
    if "https_only" in site:
        options["https_only"] = _flag(site["https_only"], "site.https_only", fail)

    policy_options: dict[str, Any] = {}
    for key in ("mode", "network_mode"):
        if key in policy:
            value = policy[key]
            if value not in {mode.value for mode in Mode}:
                raise fail(f"policy.{key}", value, "one of " + ", ".join(mode.value for mode in Mode))
            policy_options[key] = Mode(value)
    if "free_page_views" in policy:
        value = policy["free_page_views"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise fail("policy.free_page_views", value, "a whole number of page views, 0 or more")
        policy_options["free_page_views"] = value
    for key in ("dismiss_cooldown", "verdict_ttl"):
        if key in policy:
            policy_options[key] = _duration(policy[key], f"policy.{key}", fail)
    for key in ("include", "exclude"):
        if key in policy:
            value = policy[key]
            if not isinstance(value, list) or not all(isinstance(p, str) and p.startswith("/") for p in value):
                raise fail(f"policy.{key}", value, 'a list of path patterns such as ["/news/*"]')
            policy_options[key] = tuple(value)
    options["policy"] = Policy(**policy_options)

    if message:
        texts = {key: _text(value, f"message.{key}", fail) for key, value in message.items()}
        options["message"] = Message(**texts)
    if "directory" in events:
        options["events"] = _text(events["directory"], "events.directory", fail)
    if "page_view_sample_rate" in events:
        rate = events["page_view_sample_rate"]
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise fail("events.page_view_sample_rate", rate, "a number from 0 to 1")
        options["page_view_sample_rate"] = float(rate)
    if "third_party_bait" in detection:
        value = detection["third_party_bait"]
        if not isinstance(value, str) or not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", value):
            raise fail("detection.third_party_bait", value, "an origin such as 'https://ads.example.com'")
        options["third_party_bait"] = value
    if "silent_detector" in detection:
        value = detection["silent_detector"]
        if value not in ("unknown", "blocked"):
            raise fail("detection.silent_detector", value, "'unknown' or 'blocked'")
        options["silent_detector"] = value
    if "honor_gpc" in detection:
        options["honor_gpc"] = _flag(detection["honor_gpc"], "detection.honor_gpc", fail)
    return options


def _section(data: dict[str, Any], name: str, keys: set[str], fail: Callable[..., ConfigError]) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise fail(name, section, "a [table]")
    for key in section:
        if key not in keys:
            raise fail(f"{name}.{key}", section[key], f"keys of [{name}] are {', '.join(sorted(keys))}")
    return section


def _text(value: Any, key: str, fail: Callable[..., ConfigError]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(key, value, "non-empty text")
    return value


def _flag(value: Any, key: str, fail: Callable[..., ConfigError]) -> bool:
    if not isinstance(value, bool):
        raise fail(key, value, "true or false")
    return value


def _duration(value: Any, key: str, fail: Callable[..., ConfigError]) -> int:
    """Seconds from 3600 or "1h", "90m", "7d", "2w"."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match:
            return int(match.group(1)) * _SECONDS[match.group(2)]
    raise fail(key, value, 'a duration such as "30m", "24h", "7d" or a number of seconds')
