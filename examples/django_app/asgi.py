"""The ASGI entry point, wrapped by adguard_mw the way any ASGI app is wrapped, with ``examples/adguard-mw.toml``."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.asgi import get_asgi_application

from adguard_mw import AdGuardMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
# DEMO KEY, PUBLIC: used only when ADGUARD_MW_SECRET_KEYS is unset, so that the example runs with no setup. On a
# real site set ADGUARD_MW_SECRET_KEYS in the environment (python -c 'import secrets; print(secrets.token_urlsafe(32))')
# and delete this line: anyone can forge cookies signed with a key published here.
os.environ.setdefault("ADGUARD_MW_SECRET_KEYS", "demo-only-key-replace-me-in-production")
CONFIG = Path(__file__).resolve().parent.parent / "adguard-mw.toml"  # shared by every example; docs/configuration.md

# Django's own middleware (sessions, CSRF) stays in settings.MIDDLEWARE: it handles Django's HttpRequest, while
# adguard_mw is ASGI middleware, so it wraps the ASGI application here. from_config reads the file now (a mistake
# stops the start-up with one line) and reloads it when editors change it.
application = AdGuardMiddleware.from_config(get_asgi_application(), CONFIG)
