"""Async Django views: template pages, JSON, a ``StreamingHttpResponse``, a file and a session counter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render


async def home(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"title": "Home"})


async def article(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"title": "First story", "article": True})


async def data(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"framework": "django"})


async def numbers() -> AsyncIterator[str]:
    for number in range(5):
        yield f"line {number}\n"
        await asyncio.sleep(0.01)


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(numbers(), content_type="text/plain")


async def download(request: HttpRequest) -> FileResponse:
    source = Path(__file__)
    return FileResponse(source.open("rb"), as_attachment=True, filename="views.py", content_type="text/plain")


async def visits(request: HttpRequest) -> HttpResponse:
    count = await request.session.aget("visits", 0) + 1
    await request.session.aset("visits", count)
    return render(request, "page.html", {"title": "Visits", "visits": count})
