"""Participant pages."""

from study_app.participant import bp


@bp.get("/")
def index():
    return "codeq study"
