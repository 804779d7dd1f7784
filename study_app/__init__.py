"""The study app: participants annotate prepared tasks, researchers manage and export studies."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from codeq.logs import configure_logging
from study_app.config import from_env
from study_app.extensions import csrf, db, login_manager, migrate

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; ``test_config`` overrides the environment."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(from_env(app.instance_path))
    if test_config is not None:
        app.config.from_mapping(test_config)
    configure_logging(app.config.get("LOG_LEVEL"))

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)

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
