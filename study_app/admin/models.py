"""Researcher-side tables: admin accounts and participant exclusions."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from study_app.extensions import db
from study_app.models import utcnow


class AdminUser(UserMixin, db.Model):
    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of every login session's id: logging out draws a new one, which revokes every cookie
    # signed before, including copies an attacker may hold.
    session_token: Mapped[str | None] = mapped_column(String(64))

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def revoke_sessions(self) -> None:
        self.session_token = secrets.token_urlsafe(32)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Exclusion(db.Model):
    """A researcher's decision to leave a participant out of the analysis; exports record it."""

    __tablename__ = "exclusion"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # naive UTC, as in study_app.models
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id"))
