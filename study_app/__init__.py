"""The study app: participants annotate prepared tasks, researchers manage and export studies."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import ScriptInfo
from werkzeug.middleware.proxy_fix import ProxyFix

from contract.logs import configure_logging
from study_app import limits, security, timing
from study_app.config import ConfigError, check_keys, from_env
from study_app.extensions import csrf, db, login_manager, migrate

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; ``test_config`` overrides the environment.

    Outside debug and testing the app refuses to serve (one line on stderr, exit status 1) without a
    strong ``SECRET_KEY`` (and ``EXPORT_KEY``, when set): a known key lets anyone forge an admin session.
    The ``flask`` command loads it without keys for its other commands (``--help``, ``db upgrade``,
    ``load-study``, ...); those that sign anything check the keys themselves (:func:`require_keys`).
    """
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_env(app.instance_path))
    if test_config is not None:
        app.config.from_mapping(test_config)
    configure_logging(app.config.get("LOG_LEVEL"))
    if not (app.debug or app.testing) and _serves_pages():
        try:
            check_keys(app.config)
        except ConfigError as err:
            raise SystemExit(f"Error: {err}") from None

    if app.config.get("PROXIES"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXIES"], x_proto=app.config["PROXIES"])
    timing.init_app(app)  # first, so its clock also covers requests refused by later hooks
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    limits.init_app(app)

    from study_app import commands, errors, models  # noqa: F401  (models register their tables)
    from study_app.participant import bp as participant_bp

    app.register_blueprint(participant_bp)
    errors.init_app(app)
    commands.init_app(app)

    from study_app.admin import auth as admin_auth
    from study_app.admin import bp as admin_bp
    from study_app.admin import commands as admin_commands

    app.register_blueprint(admin_bp)
    admin_auth.init_app(app)
    admin_commands.init_app(app)
    return app


def _serves_pages() -> bool:
    """False when the ``flask`` command loads the app for anything but ``flask run``."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.find_object(ScriptInfo) is None:
        return True  # gunicorn, another WSGI server, a script
    return ctx.command.name == "run"


def require_keys(config) -> None:
    """Stop a command that signs or pseudonymises with one line if the keys are missing or weak."""
    if config.get("DEBUG") or config.get("TESTING"):
        return
    try:
        check_keys(config)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
