"""The Celery application.

Configured from Django settings (``CELERY_*``). With no ``CELERY_BROKER_URL``
the settings make tasks run eagerly in-process, so ``make run`` needs no broker.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")

app = Celery("loyalty_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_ready.connect
def _announce(**kwargs):
    logger.info("celery.worker_ready", extra={"broker": "configured"})
