"""adguard_mw in a Django ASGI project: ``uvicorn examples.django_app.asgi:application`` (or hypercorn, granian)."""
