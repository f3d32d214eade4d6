"""Importing this module registers the loyalty app's ModelAdmins on ``admin.site``."""

from . import alerts, audit, campaigns, cards, customers, programs, tenancy, transactions  # noqa: F401
