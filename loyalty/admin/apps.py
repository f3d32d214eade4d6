"""``django.contrib.admin`` with the back-office site as the default ``admin.site``.

Listed in INSTALLED_APPS instead of "django.contrib.admin". This module is
imported before the models are ready, so it names the site by its path and
registers the loyalty ModelAdmins only in ``ready()``.
"""

from importlib import import_module

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "loyalty.admin.site.BackOfficeSite"

    def ready(self):
        super().ready()  # autodiscovers the other apps' admin modules
        import_module("loyalty.admin.registry")
