"""Admin login: Flask-Login sessions over hashed passwords; every other admin view requires it.

A login session lasts ``ADMIN_SESSION_HOURS`` (8 by default); logging out revokes every session of
that admin (``AdminUser.session_token``). Login attempts are rate-limited per address and per user
name (``study_app.limits``), and an unknown user name costs the same password check as a known one.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from study_app.admin import bp
from study_app.admin.forms import LoginForm
from study_app.admin.models import AdminUser
from study_app.extensions import db, login_manager
from study_app.limits import LOGIN_LIMITS, LOGIN_MESSAGE, client_address, limiter, user_name

PUBLIC = {"admin.login"}
# Checked when the user name is unknown, so that answer takes as long as a wrong password.
DUMMY_HASH = generate_password_hash("no such admin")


def load_admin(session_id: str) -> AdminUser | None:
    """Return the admin a session belongs to, if the session has not been revoked."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(AdminUser, int(user_id))
    if user is None or user.session_token is None or not hmac.compare_digest(token, user.session_token):
        return None
    return user


def init_app(app: Flask) -> None:
    """Tell Flask-Login where to send anonymous visitors and how to load an admin."""
    login_manager.login_view = "admin.login"
    login_manager.user_loader(load_admin)


def expired() -> bool:
    started = session.get("admin_since")
    return started is None or time.time() - started > current_app.config["ADMIN_SESSION_HOURS"] * 3600


@bp.before_request
def require_login():
    """Guard the whole blueprint, so a new view cannot be left open by forgetting a decorator."""
    if request.endpoint in PUBLIC:
        return None
    if current_user.is_authenticated and expired():
        logout_user()
        session.pop("admin_since", None)
        flash("Your session has expired: log in again.")
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def safe_next(target: str | None) -> str:
    """Return ``target`` if it stays on this site, else the dashboard (no open redirects)."""
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("admin.dashboard")


def authenticate(username: str, password: str) -> AdminUser | None:
    """Return the admin with these credentials; one password hash is checked either way."""
    user = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        check_password_hash(DUMMY_HASH, password)
        return None
    return user if user.check_password(password) else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"], key_func=client_address, scope="address", error_message=LOGIN_MESSAGE)
@limiter.limit(
    LOGIN_LIMITS,
    methods=["POST"],
    key_func=user_name,
    scope="user",
    error_message=LOGIN_MESSAGE,
)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            if user.session_token is None:
                user.revoke_sessions()
                db.session.commit()
            login_user(user)
            session["admin_since"] = time.time()
            return redirect(safe_next(request.args.get("next")))
        flash("Wrong username or password.")
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout():
    current_user.revoke_sessions()
    db.session.commit()
    logout_user()
    session.pop("admin_since", None)
    return redirect(url_for("admin.login"))
