"""Included under ``/api/v1/loyalty/``: the PassKit web service at ``apple/v1/...`` and the download.

The pass's ``webServiceURL`` is ``SITE_URL + /api/v1/loyalty/apple``; devices
append ``/v1/devices/...``, ``/v1/passes/...`` and ``/v1/log`` themselves.
"""

from django.urls import path, re_path

from wallet.apple import views
from wallet.apple.selectors import SERIAL_PATTERN

app_name = "wallet_apple"

urlpatterns = [
    path(
        "apple/v1/devices/<str:device_library_identifier>/registrations/<str:pass_type_identifier>/<str:serial_number>",
        views.device_registration,
        name="device-registration",
    ),
    path(
        "apple/v1/devices/<str:device_library_identifier>/registrations/<str:pass_type_identifier>",
        views.updated_serials,
        name="updated-serials",
    ),
    path("apple/v1/passes/<str:pass_type_identifier>/<str:serial_number>", views.latest_pass, name="latest-pass"),
    path("apple/v1/log", views.device_log, name="device-log"),
    re_path(rf"^passes/apple/(?P<serial_number>{SERIAL_PATTERN})\.pkpass$", views.pass_download, name="pass-download"),
]
