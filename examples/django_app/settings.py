"""Settings of the smallest Django project that shows adguard_mw: no database, signed-cookie sessions."""

from __future__ import annotations

import os
from pathlib import Path

# DEMO KEY: set ADGUARD_MW_SECRET_KEY in production (python -c 'import secrets; print(secrets.token_urlsafe(32))').
SECRET_KEY = os.environ.get("ADGUARD_MW_SECRET_KEY", "demo-only-key-replace-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", ".test"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"  # Django sessions without a database
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
    }
]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
