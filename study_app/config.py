"""Configuration read from the environment, with defaults that run a local study on SQLite."""

from __future__ import annotations

import os
from pathlib import Path


def from_env(instance_path: str) -> dict:
    """Return the app's settings: environment variables over local defaults."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(instance_path) / 'study.db'}"),
        # An answer is a few hundred unit indices plus telemetry; anything bigger is abuse.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 256 * 1024)),
        "LOG_LEVEL": os.environ.get("CODEQ_LOG_LEVEL"),  # codeq.logs: default WARNING
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A participant who closes the browser comes back within the study's lifetime.
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 30,
        "WTF_CSRF_TIME_LIMIT": None,  # a task page may stay open for a long time
    }
