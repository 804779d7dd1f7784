"""Configuration read from the environment, with defaults that run a local study on SQLite.

Secrets have no default: ``SECRET_KEY`` (signs sessions) and ``EXPORT_KEY`` (keys the export's
pseudonyms) come from the environment, else from ``instance/secret_key`` and ``instance/export_key``
(written once by scripts/serve.sh). ``check_keys`` refuses a missing or well-known key outside debug
and testing.
"""

from __future__ import annotations

import os
from pathlib import Path

from contract.errors import UserError

# Keys seen in tutorials and earlier versions of this app; a session signed with one can be forged.
KNOWN_DEFAULTS = {
    "dev",
    "development",
    "secret",
    "secret-key",
    "secretkey",
    "changeme",
    "change-me",
    "default",
    "test",
    "testing",
    "key",
    "password",
    "flask",
    "your-secret-key",
}
MIN_KEY_CHARS = 16  # shorter keys can be brute-forced offline from a single signed cookie


class ConfigError(UserError):
    """The configuration is unsafe or incomplete; the message says, in one line, what to set."""


def secret(name: str, instance_path: str) -> str | None:
    """Return the secret ``name`` from the environment, else from the instance file of that name."""
    value = os.environ.get(name)
    if value:
        return value
    path = Path(instance_path) / name.lower()
    return (path.read_text().strip() or None) if path.is_file() else None


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def engine_options(url: str) -> dict:
    """Return SQLAlchemy engine options: PostgreSQL connections are checked before use (a restarted
    server or a proxy's idle timeout would otherwise fail the first request after it)."""
    return {"pool_pre_ping": True} if url.startswith("postgresql") else {}


def from_env(instance_path: str) -> dict:
    """Return the app's settings: environment variables over local defaults."""
    url = os.environ.get("DATABASE_URL", f"sqlite:///{Path(instance_path) / 'study.db'}")
    https = flag("STUDY_HTTPS")
    return {
        "SECRET_KEY": secret("SECRET_KEY", instance_path),
        "EXPORT_KEY": secret("EXPORT_KEY", instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url),
        # An answer is a few hundred unit indices plus telemetry; anything bigger is abuse.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(256 * 1024))),
        "LOG_LEVEL": os.environ.get("CODEQ_LOG_LEVEL"),  # contract.logs: default WARNING
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        # Served over HTTPS (directly or behind a proxy): cookies never travel in clear, and HSTS.
        "HTTPS": https,
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        # A participant who closes the browser comes back within the study's lifetime.
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 30,
        # Reverse proxies in front (nginx, Caddy): the client address and scheme are read from
        # their X-Forwarded-For / X-Forwarded-Proto, so rate limits key on the participant, not the proxy.
        "PROXIES": int(os.environ.get("STUDY_PROXIES", "0")),
        "ADMIN_SESSION_HOURS": float(os.environ.get("ADMIN_SESSION_HOURS", "8")),
        "WTF_CSRF_TIME_LIMIT": None,  # a task page may stay open for a long time
        # Flask-WTF's extra HTTPS check wants a same-site Referer, but no page sends one
        # (Referrer-Policy: no-referrer); the CSRF token and SameSite cookies do the work.
        "WTF_CSRF_SSL_STRICT": False,
        # Login and resume limits are shared by all gunicorn workers (Redis unless set; see limits.py).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI"),
        # Names this deployment's rate-limit counters in a shared Redis (default: from DATABASE_URL).
        "DEPLOYMENT_NAME": os.environ.get("STUDY_DEPLOYMENT_NAME"),
        # The dashboard recomputes its figures at most this often while answers arrive (figure_cache.py),
        # in a worker process of its own unless DASHBOARD_PROCESS=0 (unset: None, see figure_worker.py).
        "DASHBOARD_REFRESH_SECONDS": float(os.environ.get("DASHBOARD_REFRESH_SECONDS", "30")),
        "DASHBOARD_PROCESS": flag("DASHBOARD_PROCESS") if os.environ.get("DASHBOARD_PROCESS") else None,
    }


def key_problem(name: str, value: str | None) -> str | None:
    """Return why ``value`` is unusable as the key ``name``, or None if it is fine."""
    if not value:
        return (
            f"{name} is not set: export {name}=$(python -c 'import secrets; print(secrets.token_hex(32))') "
            f"or run `bash scripts/serve.sh` once to create instance/{name.lower()}"
        )
    if value.strip().lower() in KNOWN_DEFAULTS:
        return f"{name} is a well-known default ({value!r}): set it to a long random value"
    if len(value) < MIN_KEY_CHARS:
        return f"{name} is too short ({len(value)} characters): use at least {MIN_KEY_CHARS} random characters"
    return None


def check_keys(config: dict) -> None:
    """Raise ConfigError (one line) if a secret is missing or weak; ``EXPORT_KEY`` may be left unset
    (pseudonyms then use ``SECRET_KEY``)."""
    problem = key_problem("SECRET_KEY", config.get("SECRET_KEY"))
    if problem is None and config.get("EXPORT_KEY"):
        problem = key_problem("EXPORT_KEY", config["EXPORT_KEY"])
    if problem is not None:
        raise ConfigError(problem)
