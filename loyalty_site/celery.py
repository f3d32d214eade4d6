"""The Celery application.

Configured from Django settings (``CELERY_*``). With no ``CELERY_BROKER_URL``
the settings make tasks run eagerly in-process, so ``make run`` needs no broker.
"""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")

# Even an eager call takes a producer from the broker's pool (Celery reads its serializer there).
# With no broker URL kombu falls back to amqp://localhost and warns "No hostname was supplied";
# kombu's in-process transport gives that producer without reaching for any server.
IN_PROCESS_BROKER_URL = "memory://localhost/"

app = Celery("loyalty_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@app.on_after_configure.connect
def _no_broker_means_in_process(sender, source, **kwargs):
    if not source.broker_url:
        source["broker_url"] = IN_PROCESS_BROKER_URL


@worker_ready.connect
def _announce(**kwargs):
    if app.conf.broker_url == IN_PROCESS_BROKER_URL:
        # A worker on the in-process transport would wait forever for tasks nobody can send it.
        logger.error("celery.worker_without_broker", extra={"setting": "CELERY_BROKER_URL"})
        return
    logger.info("celery.worker_ready", extra={"broker": "configured"})
