"""Error responses: JSON for the browser's API calls, a short page for everything else."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from study_app.participant import bp


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
