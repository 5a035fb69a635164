from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("articles/first", views.article),
    path("api/data", views.data),
    path("stream", views.stream),
    path("file", views.download),
    path("visits", views.visits),
]
