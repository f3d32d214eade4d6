"""Mounted under /api/v1/loyalty/ (see loyalty_site/api/urls.py)."""

from django.urls import path

from . import views

app_name = "wallet_google"

urlpatterns = [
    path("passes/google/<str:public_token>/save", views.GoogleSaveLinkView.as_view(), name="save"),
    path("passes/google/logo.png", views.default_logo, name="default_logo"),
    path(
        "passes/google/programs/<int:program_id>/logo-<slug:version>.png", views.program_logo, name="program_logo"
    ),
]
