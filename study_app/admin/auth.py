"""Admin login: Flask-Login sessions over hashed passwords; every other admin view requires it."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from study_app.admin import bp
from study_app.admin.forms import LoginForm
from study_app.admin.models import AdminUser
from study_app.extensions import db, login_manager

PUBLIC = {"admin.login"}


def init_app(app: Flask) -> None:
    """Tell Flask-Login where to send anonymous visitors and how to load an admin."""
    login_manager.login_view = "admin.login"
    login_manager.user_loader(lambda user_id: db.session.get(AdminUser, int(user_id)))


@bp.before_request
def require_login():
    """Guard the whole blueprint, so a new view cannot be left open by forgetting a decorator."""
    if request.endpoint not in PUBLIC and not current_user.is_authenticated:
        return login_manager.unauthorized()


def safe_next(target: str | None) -> str:
    """Return ``target`` if it stays on this site, else the dashboard (no open redirects)."""
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(AdminUser).where(AdminUser.username == form.username.data))
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        flash("Wrong username or password.")
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("admin.login"))
