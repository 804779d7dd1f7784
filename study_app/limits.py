"""Rate limits (Flask-Limiter) on the guessable forms: admin login and resume codes.

Counters live in Redis (``RATELIMIT_STORAGE_URI``, default ``redis://127.0.0.1:6379``) so every
gunicorn worker shares them; in-process memory is used only under ``TESTING`` or when
``RATELIMIT_STORAGE_URI=memory://`` is set explicitly. If Redis goes away, each worker counts in
memory until it is back rather than failing the login page.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

REDIS = "redis://127.0.0.1:6379"
# Per address and, separately, per user name: a password spray from many addresses still meets
# the per-name limit, and one address cannot try many names.
LOGIN_LIMITS = "5 per minute; 30 per hour"
LOGIN_MESSAGE = "Too many login attempts. Wait a minute and try again."
# A resume code has 60 bits; this keeps guessing hopeless even from many addresses.
RESUME_LIMITS = "10 per minute; 60 per hour"
RESUME_MESSAGE = "Too many resume attempts. Wait a minute and try again."


def client_address() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(client_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "memory://" if app.testing else REDIS
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "codeq-study")
    limiter.init_app(app)
