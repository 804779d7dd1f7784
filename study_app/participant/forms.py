"""The questionnaire form, built from the instrument's questions."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from contract.study_definition import Question


def field_name(question_id: str) -> str:
    """Return the form field of a question (prefixed: a question may be called 'data' or 'meta')."""
    return f"q_{question_id}"


def questionnaire_form(questions: list[Question]) -> FlaskForm:
    """Return a form with one field per question, validated as the instrument says."""

    class QuestionnaireForm(FlaskForm):
        pass

    for q in questions:
        required = [InputRequired("Please answer this question.")] if q.required else [Optional()]
        if q.type == "choice":
            options = [str(o) for o in q.options or ()]
            field = RadioField(q.text, choices=options, validators=required)
        elif q.type == "number":
            field = IntegerField(q.text, validators=required + [NumberRange(q.min, q.max)])
        else:
            field = StringField(q.text, validators=required + [Length(max=500)])
        setattr(QuestionnaireForm, field_name(q.id), field)
    return QuestionnaireForm()
