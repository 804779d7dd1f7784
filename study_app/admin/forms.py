"""Admin forms (Flask-WTF, so every POST carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from study_app.export.writers import FORMATS


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Log in")


class ExclusionForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    submit = SubmitField("Exclude")


class ConfirmForm(FlaskForm):
    """A bare POST form: its only job is the CSRF token."""

    submit = SubmitField("Include again")


class ExportForm(FlaskForm):
    format = SelectField("Format", choices=list(FORMATS))
    drop_excluded = BooleanField("Leave excluded participants out")
    submit = SubmitField("Download zip")


class LinkageForm(FlaskForm):
    submit = SubmitField("Download linkage.csv")


class EraseForm(FlaskForm):
    confirm = BooleanField(
        "Erase every row of this participant; this cannot be undone",
        validators=[InputRequired("Tick the box to confirm.")],
    )
    submit = SubmitField("Erase participant")
