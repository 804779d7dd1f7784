"""Error responses for the whole app: JSON for the browser's API calls, a short page for everything else."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException

from study_app.extensions import db
from study_app.schema import UPGRADE, schema_problem

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def csrf_error(err: CSRFError):
    log.warning("%s %s: 400 %s", request.method, request.path, err.description)
    message = "the page's security token is missing or expired; reload the page"
    if wants_json():
        return jsonify(ok=False, error=message), 400
    return render_template("participant/message.html", title="Please reload the page", text=message), 400


def http_error(err: HTTPException):
    # 4xx are the visitor's (a stale link, bad input); they are logged without a traceback
    log.log(
        logging.ERROR if (err.code or 500) >= 500 else logging.INFO,
        "%s %s: %s %s",
        request.method,
        request.path,
        err.code,
        err.description,
    )
    if wants_json():
        return jsonify(ok=False, error=err.description), err.code
    return render_template("participant/message.html", title=err.name, text=err.description), err.code


def database_error(err):
    """A database that was never upgraded: one line in the log and a 503 page, not a traceback."""
    db.session.rollback()
    problem = schema_problem()
    if problem is None:
        raise err
    log.error("%s: %s", problem, UPGRADE)
    message = "The study is not available right now. Please try again later."
    if wants_json():
        return jsonify(ok=False, error=message), 503
    return render_template("participant/message.html", title="Not available", text=message), 503


def init_app(app: Flask) -> None:
    """Register the handlers for every blueprint."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, database_error)
    app.register_error_handler(ProgrammingError, database_error)
