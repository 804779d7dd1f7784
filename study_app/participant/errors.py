"""Error responses: JSON for the browser's API calls, a short page for everything else."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException

from study_app.extensions import db
from study_app.participant import bp
from study_app.schema import UPGRADE, schema_problem


def wants_json() -> bool:
    return request.path.startswith("/api/")


@bp.app_errorhandler(CSRFError)
def csrf_error(err: CSRFError):
    message = "the page's security token is missing or expired; reload the page"
    if wants_json():
        return jsonify(ok=False, error=message), 400
    return render_template("participant/message.html", title="Please reload the page", text=message), 400


@bp.app_errorhandler(HTTPException)
def http_error(err: HTTPException):
    if wants_json():
        return jsonify(ok=False, error=err.description), err.code
    return render_template("participant/message.html", title=err.name, text=err.description), err.code


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(ProgrammingError)
def database_error(err):
    """A database that was never upgraded: one line in the log and a 503 page, not a traceback."""
    db.session.rollback()
    problem = schema_problem()
    if problem is None:
        raise err
    current_app.logger.error("%s: %s", problem, UPGRADE)
    message = "The study is not available right now. Please try again later."
    if wants_json():
        return jsonify(ok=False, error=message), 503
    return render_template("participant/message.html", title="Not available", text=message), 503
