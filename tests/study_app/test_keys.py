"""Secrets: no default key outside debug and testing, keys from the instance folder, EXPORT_KEY keys pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import FlaskGroup
from test_export import export_of, seed

from study_app import create_app
from study_app.config import from_env
from study_app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
STRONG = "f" * 8 + "0123456789abcdef" * 3


@pytest.mark.parametrize(
    "key, named",
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("dev", "well-known default ('dev')"),
        ("changeme", "well-known default"),
        ("abc123", "too short"),
    ],
)
def test_refuses_to_start_without_a_strong_secret_key(tmp_path, key, named):
    with pytest.raises(SystemExit) as err:
        create_app({"SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    message = str(err.value.code)
    assert message.startswith("Error: ") and named in message and "\n" not in message


def test_refuses_a_known_export_key(tmp_path):
    with pytest.raises(SystemExit) as err:
        create_app({"SECRET_KEY": STRONG, "EXPORT_KEY": "secret", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "EXPORT_KEY is a well-known default" in str(err.value.code)


def test_debug_and_testing_start_without_keys():
    assert create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing
    assert create_app({"DEBUG": True, "SECRET_KEY": "dev", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).debug


def test_strong_keys_start_the_app():
    app = create_app({"SECRET_KEY": STRONG, "EXPORT_KEY": STRONG[::-1], "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["EXPORT_KEY"] == STRONG[::-1]


def test_keys_come_from_environment_else_instance_files(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("EXPORT_KEY", raising=False)
    assert from_env(str(tmp_path))["SECRET_KEY"] is None
    (tmp_path / "secret_key").write_text("from-the-file-0123456789\n")
    (tmp_path / "export_key").write_text("export-from-file-0123456789\n")
    cfg = from_env(str(tmp_path))
    assert (cfg["SECRET_KEY"], cfg["EXPORT_KEY"]) == ("from-the-file-0123456789", "export-from-file-0123456789")
    monkeypatch.setenv("EXPORT_KEY", "export-from-env-0123456789")
    assert from_env(str(tmp_path))["EXPORT_KEY"] == "export-from-env-0123456789"


def test_make_keys_writes_private_random_keys_once(tmp_path):
    subprocess.run(["bash", str(ROOT / "scripts" / "make_keys.sh"), str(tmp_path)], check=True)
    keys = {name: (tmp_path / "instance" / name) for name in ("secret_key", "export_key")}
    first = {name: path.read_text().strip() for name, path in keys.items()}
    for name, path in keys.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert len(first[name]) == 64 and int(first[name], 16) >= 0
    assert first["secret_key"] != first["export_key"]
    subprocess.run(["bash", str(ROOT / "scripts" / "make_keys.sh"), str(tmp_path)], check=True)
    assert {name: path.read_text().strip() for name, path in keys.items()} == first


def test_pseudonyms_are_hmac_of_public_id_under_export_key(app, loaded):
    seed(app)
    app.config["EXPORT_KEY"] = "export-key-for-this-test"
    with app.app_context():
        public_ids = db.session.scalars(sa.text("SELECT public_id FROM participant")).all()
    got = set(export_of(app).tables["participants"]["participant_id"])
    expected = {
        "p_" + hmac.new(b"export-key-for-this-test", pid.encode(), hashlib.sha256).hexdigest()[:16]
        for pid in public_ids
    }
    assert got == expected
    app.config["SECRET_KEY"] = "a-rotated-session-key-0123456789"
    assert set(export_of(app).tables["participants"]["participant_id"]) == expected


def keyless_flask(tmp_path) -> FlaskGroup:
    """The ``flask`` command on an app without keys (none from the environment or the instance folder)."""
    config = {"SECRET_KEY": None, "EXPORT_KEY": None, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'k.db'}"}
    return FlaskGroup(create_app=lambda: create_app(config))


def test_every_command_shows_its_help_without_keys(tmp_path):
    flask = keyless_flask(tmp_path)
    listing = CliRunner().invoke(flask, ["--help"])
    assert listing.exit_code == 0, listing.output
    names = re.findall(r"^  ([a-z][a-z-]*)  ", listing.output.split("Commands:")[1], re.M)
    assert {"run", "db", "export", "load-study", "create-admin", "simulate", "delete-participant"} <= set(names)
    helped = []
    for name in names:
        result = CliRunner().invoke(flask, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (name, result.output)
        helped.append(name)
        for sub in re.findall(r"^  ([a-z][a-z-]*)  ", result.output.partition("Commands:")[2], re.M):
            result = CliRunner().invoke(flask, [name, sub, "--help"])
            assert result.exit_code == 0 and "Usage:" in result.output, (name, sub, result.output)
            helped.append(f"{name} {sub}")
    assert "db upgrade" in helped and len(helped) > len(names)


def test_commands_that_serve_or_sign_need_the_keys(tmp_path):
    flask = keyless_flask(tmp_path)
    for args in (["run", "--port", "1"], ["export", str(tmp_path / "out")]):
        result = CliRunner().invoke(flask, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().splitlines() == [result.output.strip()]  # one line
        assert "SECRET_KEY is not set" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    migrated = CliRunner().invoke(flask, ["db", "upgrade"])  # a schema change signs nothing
    assert migrated.exit_code == 0, migrated.output
    assert "participant" in sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'k.db'}")).get_table_names()


def test_flask_help_as_typed_needs_no_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "EXPORT_KEY")}
    result = subprocess.run(
        ["flask", "--app", "study_app", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "export" in result.stdout and "load-study" in result.stdout and "Error" not in result.stderr
