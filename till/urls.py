"""``/till/``: the staff web app, its manifest and its service worker (whose scope is ``/till/``)."""

from django.urls import path

from . import views

app_name = "till"

urlpatterns = [
    path("", views.till_page, name="page"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
]
