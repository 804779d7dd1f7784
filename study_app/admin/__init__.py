"""The researcher's side: login, dashboard, participants, exclusions, export."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from study_app.admin import auth, coverage, routes, trial  # noqa: E402,F401  (views attach themselves to bp)
