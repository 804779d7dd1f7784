"""Rate limits (Flask-Limiter) on the guessable forms: admin login and resume codes.

Counters live in Redis (``RATELIMIT_STORAGE_URI``, default ``redis://127.0.0.1:6379``) so every
gunicorn worker shares them; in-process memory is used only under ``TESTING`` or when
``RATELIMIT_STORAGE_URI=memory://`` is set explicitly. If Redis goes away, each worker counts in
memory until it is back rather than failing the login page.

Every key names its deployment (``codeq-study/<deployment>/<address or user name>``), the
deployment being ``STUDY_DEPLOYMENT_NAME`` when set, else a digest of the database URL: two
deployments (or a test and a deployment) on one Redis never share counters, while the workers of
one deployment do. The deployment is part of the key itself rather than Flask-Limiter's key prefix,
which one process keeps from the first app it serves.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_limiter import Limiter

REDIS = "redis://127.0.0.1:6379"
# Per address and, separately, per user name: a password spray from many addresses still meets
# the per-name limit, and one address cannot try many names.
LOGIN_LIMITS = "5 per minute; 30 per hour"
LOGIN_MESSAGE = "Too many login attempts. Wait a minute and try again."
# A resume code has 60 bits; this keeps guessing hopeless even from many addresses.
RESUME_LIMITS = "10 per minute; 60 per hour"
RESUME_MESSAGE = "Too many resume attempts. Wait a minute and try again."


def deployment_key(key: str) -> str:
    """``key`` among this deployment's counters."""
    return f"{current_app.config['RATELIMIT_DEPLOYMENT']}/{key}"


def client_address() -> str:
    return deployment_key(request.remote_addr or "unknown")


def user_name() -> str:
    return deployment_key("user:" + request.form.get("username", "")[:80].lower())


limiter = Limiter(client_address, headers_enabled=True)


def deployment_name(config) -> str:
    """The configured deployment name, else the first 16 hex digits of the database URL's SHA-256
    (one database, one deployment; the digest does not show a password in the URL)."""
    name = config.get("DEPLOYMENT_NAME")
    return name or hashlib.sha256(config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()[:16]


def init_app(app: Flask) -> None:
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "memory://" if app.testing else REDIS
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "codeq-study")
    app.config.setdefault("RATELIMIT_DEPLOYMENT", deployment_name(app.config))
    limiter.init_app(app)
