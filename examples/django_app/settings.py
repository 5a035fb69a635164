"""Settings of the smallest Django project that shows adguard_mw: no database, signed-cookie sessions."""

from __future__ import annotations

import os
from pathlib import Path

# Django's own key (it signs the sessions here), not adguard_mw's: those are in ADGUARD_MW_SECRET_KEYS (see asgi.py).
# DEMO KEY, PUBLIC: set DJANGO_SECRET_KEY in production (python -c 'import secrets; print(secrets.token_urlsafe(50))').
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-django-key-replace-me-in-production")
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
TIME_ZONE = "UTC"  # Django's default is America/Chicago, which it also puts into the process's TZ
