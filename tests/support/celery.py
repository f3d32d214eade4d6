"""Point the test process's Celery app at another broker (and back)."""

from contextlib import contextmanager

from loyalty_site.celery import app


def _reset_pools():
    # Connections and producers are pooled per broker URL at first use, by the
    # app and in kombu's global registry (which even eager calls draw from):
    # drop both so the next publish uses the broker configured now.
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_broker(url: str, **conf):
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", *conf)}
    app.conf.update(task_always_eager=False, broker_url=url, **conf)
    _reset_pools()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_pools()
