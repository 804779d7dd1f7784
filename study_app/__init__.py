"""The study app: participants annotate prepared tasks, researchers manage and export studies."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from codeq.logs import configure_logging
from study_app import limits, security, timing
from study_app.config import ConfigError, check_keys, from_env
from study_app.extensions import csrf, db, login_manager, migrate

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; ``test_config`` overrides the environment.

    Outside debug and testing the app refuses to start (one line on stderr, exit status 1) without a
    strong ``SECRET_KEY`` (and ``EXPORT_KEY``, when set): a known key lets anyone forge an admin session.
    """
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(from_env(app.instance_path))
    if test_config is not None:
        app.config.from_mapping(test_config)
    configure_logging(app.config.get("LOG_LEVEL"))
    if not (app.debug or app.testing):
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
