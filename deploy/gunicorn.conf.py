"""gunicorn for the loyalty platform, behind nginx on the same host (deploy/nginx/loyalty.conf).

Started by deploy/systemd/loyalty-web.service:

    .venv/bin/gunicorn --config deploy/gunicorn.conf.py loyalty_site.wsgi

Options given on the command line win over this file (the CI smoke run binds
another port that way). README "Moving to production" explains each choice.
"""

import multiprocessing
import os

# Only nginx talks to gunicorn; nothing else on the network can reach it.
bind = "127.0.0.1:8000"

# Sync workers: a till request is short and mostly CPU (a staff PIN is one bcrypt check,
# ~70 ms), so one request per process at a time, two per core plus one.
# WEB_CONCURRENCY sets another number (gunicorn's own convention).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"

# Nothing a request does waits longer than ~10 s (Google and APNs calls are bounded by
# their timeouts, and run in Celery when a broker is configured): a worker silent for
# 30 s is stuck and is replaced. nginx's proxy_read_timeout is a little longer.
timeout = 30
# On SIGTERM or SIGHUP (systemctl stop / reload), requests in flight get this long to finish.
graceful_timeout = 30

# A fresh process now and then keeps memory flat whatever a library holds on to; the
# jitter keeps the workers from restarting all at once.
max_requests = 2000
max_requests_jitter = 200

# gunicorn believes X-Forwarded-Proto only from nginx on this host. Django decides for itself
# from SECURE_PROXY_SSL_HEADER_ENABLED, and the client IP from TRUSTED_PROXY_COUNT.
forwarded_allow_ips = "127.0.0.1,::1"

# Import the app in each worker, not in the master: `systemctl reload loyalty-web` (SIGHUP)
# then starts workers on the new code and lets the old ones finish (README "Upgrading").
preload_app = False

# nginx keeps the access log (without the health probes); gunicorn logs its own
# events to stderr, which systemd hands to the journal. The app logs JSON lines itself.
accesslog = None
errorlog = "-"
loglevel = "info"

# No control socket for gunicornc: nothing uses it, and its default path in $HOME would be
# shared by every gunicorn of the same user on the host.
control_socket_disable = True

proc_name = "loyalty-web"
