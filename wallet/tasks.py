"""Celery entry points of the wallet app (discovered by ``app.autodiscover_tasks``)."""
