"""The questionnaire form, built from the instrument's questions."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional


def field_name(question_id: str) -> str:
    """Return the form field of a question (prefixed: a question may be called 'data' or 'meta')."""
    return f"q_{question_id}"


def questionnaire_form(questions: list[dict]) -> FlaskForm:
    """Return a form with one field per question, validated as the instrument says."""

    class QuestionnaireForm(FlaskForm):
        pass

    for q in questions:
        required = [InputRequired("Please answer this question.")] if q.get("required", True) else [Optional()]
        kind = q.get("type", "choice")
        if kind == "choice":
            options = [str(o) for o in q["options"]]
            field = RadioField(q["text"], choices=options, validators=required)
        elif kind == "number":
            field = IntegerField(q["text"], validators=required + [NumberRange(q.get("min"), q.get("max"))])
        else:
            field = StringField(q["text"], validators=required + [Length(max=500)])
        setattr(QuestionnaireForm, field_name(q["id"]), field)
    return QuestionnaireForm()
