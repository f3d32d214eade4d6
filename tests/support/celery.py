"""Point the test process's Celery app at another broker (and back), and start real workers on it."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from loyalty_site.celery import app
from tests.support.resources import celery_queue

ROOT = Path(__file__).resolve().parents[2]


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
    """Enqueue on ``url``, in this run's own queue (see ``tests/support/resources.py``)."""
    conf.setdefault("task_default_queue", celery_queue())
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", *conf)}
    app.conf.update(task_always_eager=False, broker_url=url, **conf)
    _reset_pools()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_pools()
        if url.startswith("redis://") and conf["task_default_queue"] == celery_queue():
            _forget_queue(url)


def _forget_queue(url: str) -> None:
    """Delete this run's queue and kombu's bindings of it (their keys name the queue); nothing else."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        keys = list(client.scan_iter(match=f"*{celery_queue()}*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # a broker that is down (the broker-down tests) holds nothing of ours


def worker_start(*, broker: str, env: dict, stdout) -> subprocess.Popen:
    """A Celery worker process on ``broker`` consuming only this run's queue; ``env`` is added to ours."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loyalty_site", "worker", "--pool=solo", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT,
        env={**os.environ, **env, "CELERY_BROKER_URL": broker, "CELERY_TASK_DEFAULT_QUEUE": celery_queue()},
    )  # fmt: skip


def worker_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
