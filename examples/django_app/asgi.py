"""The ASGI entry point, wrapped by adguard_mw the way any ASGI app is wrapped."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from adguard_mw import AdGuardMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

# The same demo key as in settings.py; read from the environment in production.
application = AdGuardMiddleware(
    get_asgi_application(),
    secret_key=os.environ.get("ADGUARD_MW_SECRET_KEY", "demo-only-key-replace-me-in-production"),
    policy="soft",
    site_name="Django example",
)
