"""The back office (Django admin) of the loyalty app, one module per area.

``loyalty.admin.apps`` is imported while Django reads INSTALLED_APPS, which
imports this package before any model may be imported; so the ModelAdmins
are registered by ``BackOfficeAdminConfig.ready()`` (``registry``), or here
when the package is first imported once the models are ready (autodiscovery
under the stock ``django.contrib.admin``).
"""

from django.apps import apps

if apps.models_ready:
    from . import registry  # noqa: F401
