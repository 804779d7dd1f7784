"""Gunicorn settings for the study app in production.

    DATABASE_URL=postgresql+psycopg://user:pass@host/db SECRET_KEY=... EXPORT_KEY=... STUDY_HTTPS=1 \
        flask --app study_app db upgrade && gunicorn -c gunicorn.conf.py "study_app:create_app()"

Every setting can be overridden by the environment variable named beside it.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests mostly wait on the database, so threads per worker beat extra processes on small hosts.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# A fresh worker after this many requests bounds slow memory growth; jitter avoids all restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# No preload: each worker must open its own database connections (a forked pool shares sockets).
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Path without the query string (%(U)s, not the request line %(r)s) and no Referer: a study link's
# PROLIFIC_PID must not end up in log files. %(M)s is the time taken in milliseconds.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Behind a reverse proxy (nginx, Caddy) that sets X-Forwarded-*; restrict to its address in production.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
