"""The participant's side of a study: consent, questionnaire, tutorial, tasks, end."""

from flask import Blueprint

bp = Blueprint("participant", __name__)

from study_app.participant import routes, tasks  # noqa: E402,F401  (they attach themselves to bp)
