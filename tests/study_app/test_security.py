"""Security headers, pages without inline script or style, admin session expiry/revocation, login limits."""

from __future__ import annotations

import re
import secrets
import time
from html.parser import HTMLParser

import sqlalchemy as sa
from participant_steps import ANSWERS, enrol_token, page_state, post_answer, token
from test_admin import PASSWORD, admin, login  # noqa: F401  (admin is a fixture)
from test_export import seed

from study_app import create_app
from study_app.admin import auth
from study_app.admin import models as admin_models
from study_app.admin.commands import create_admin
from study_app.admin.models import AdminUser
from study_app.extensions import db
from study_app.limits import LOGIN_MESSAGE


class Inline(HTMLParser):
    """Collect what a strict CSP would block: inline scripts, style elements/attributes, on* handlers."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in attrs if name == "style" or name.startswith("on")]


def inline_parts(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    return parser.found


def assert_secure_headers(resp, https=False):
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert ("Strict-Transport-Security" in resp.headers) == https


def test_every_page_is_strict_and_has_no_inline_code(app, client, csrf_of, admin, loaded):
    pages = {"consent": client.get("/s/fixture")}
    csrf = token(pages["consent"].text)
    client.post(
        "/s/fixture/consent",
        data={"choice": "agree", "csrf_token": csrf, "enrol_token": enrol_token(pages["consent"].text)},
    )
    pages["questionnaire"] = client.get("/questionnaire")
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    pages["tutorial"] = client.get("/tutorial")
    post_answer(client, csrf, 0, selected=page_state(pages["tutorial"].text)["selectable"][:1])
    pages["feedback"] = client.get("/tutorial")
    client.post("/tutorial", data={"csrf_token": csrf})
    pages["task"] = client.get("/task/1", follow_redirects=True)
    pages["resume"] = client.get("/resume")
    pages["api-error"] = client.post("/api/task/9/answer", json={}, headers={"X-CSRFToken": csrf})
    pages["static"] = client.get("/static/annotate.js")
    admin_client = app.test_client()
    pages["login"] = admin_client.get("/admin/login")
    seed(app)
    login(admin_client, csrf_of)
    for url in ("/admin/", "/admin/participants", "/admin/participants/pub0001", "/admin/export"):
        pages[url] = admin_client.get(url)
    assert "Task 1 of" in pages["task"].text and "Practice" in pages["tutorial"].text
    for name, resp in pages.items():
        assert_secure_headers(resp)
        if resp.mimetype == "text/html":
            assert inline_parts(resp.text) == [], name
    assert 'class="progress"' in pages["task"].text


def test_https_switch_adds_hsts_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_HTTPS", "1")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}"}
    )
    with app.app_context():
        db.create_all()
    resp = app.test_client().get("/resume")
    assert_secure_headers(resp, https=True)
    assert "max-age=31536000" in resp.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_session_expires(app, client, csrf_of, admin):
    login(client, csrf_of)
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as s:
        s["admin_since"] = time.time() - 8 * 3600 - 60
    resp = client.get("/admin/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/login")
    assert "session has expired" in client.get("/admin/login").text
    with client.session_transaction() as s:
        assert "_user_id" not in s


def test_logout_revokes_a_copied_session_cookie(app, client, csrf_of, admin):
    login(client, csrf_of)
    stolen = client.get_cookie("session").value
    with app.app_context():
        before = db.session.scalar(sa.select(AdminUser.session_token))
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/").text)})
    with app.app_context():
        after = db.session.scalar(sa.select(AdminUser.session_token))
    assert before and after and before != after
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/admin/").status_code == 302
    # a fresh login works again with the new token
    assert login(client, csrf_of).headers["Location"] == "/admin/"


def attempt(client, csrf_of, username, password, address):
    page = client.get("/admin/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        environ_base={"REMOTE_ADDR": address},
    )


def test_login_limited_per_address(app, client, csrf_of, admin):
    codes = [attempt(client, csrf_of, f"user{i}", "wrong", "10.0.0.1").status_code for i in range(5)]
    assert codes == [200] * 5
    blocked = attempt(client, csrf_of, "alice", PASSWORD, "10.0.0.1")
    assert blocked.status_code == 429 and LOGIN_MESSAGE in blocked.text
    with client.session_transaction() as s:
        assert "_user_id" not in s
    assert attempt(client, csrf_of, "alice", PASSWORD, "10.0.0.2").status_code == 302


def test_login_limited_per_user_name_across_addresses(app, client, csrf_of, admin):
    codes = [attempt(client, csrf_of, "alice", "wrong", f"10.1.0.{i}").status_code for i in range(5)]
    assert codes == [200] * 5
    assert attempt(client, csrf_of, "Alice", PASSWORD, "10.1.0.99").status_code == 429
    assert attempt(client, csrf_of, "bob", "wrong", "10.1.0.99").status_code == 200


def test_login_limit_is_shared_through_redis(request, tmp_path, service_missing):
    """Two app instances (two gunicorn workers) count the same attempts in Redis."""
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.exceptions.ConnectionError:
        service_missing("Redis is not running on 127.0.0.1:6379")
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.db'}",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": secrets.token_hex(8),
    }
    workers = [create_app(config), create_app(config)]
    with workers[0].app_context():
        db.create_all()
        create_admin("alice", PASSWORD)

    def csrf_of(html):
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    clients = [w.test_client() for w in workers]
    codes = [attempt(clients[i % 2], csrf_of, "alice", "wrong", "10.2.0.1").status_code for i in range(5)]
    assert codes == [200] * 5
    assert attempt(clients[1], csrf_of, "alice", PASSWORD, "10.2.0.1").status_code == 429
    assert workers[0].config["RATELIMIT_STORAGE_URI"].startswith("redis://")


def test_default_limit_storage_is_redis_outside_testing(tmp_path, monkeypatch):
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app = create_app({"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379"
    testing = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert testing.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_unknown_user_costs_one_password_hash_like_a_known_one(app, admin, monkeypatch):
    calls = []

    def counting(real):
        def check(pwhash, password):
            calls.append(pwhash.split("$")[0])
            return real(pwhash, password)

        return check

    monkeypatch.setattr(auth, "check_password_hash", counting(auth.check_password_hash))
    monkeypatch.setattr(admin_models, "check_password_hash", counting(admin_models.check_password_hash))
    with app.app_context():
        assert auth.authenticate("nobody", "guess") is None
        assert auth.authenticate("alice", "guess") is None
        assert auth.authenticate("alice", PASSWORD).username == "alice"
    # one check each, with the same hashing method and cost
    assert len(calls) == 3 and len(set(calls)) == 1
    with app.app_context():
        start = time.perf_counter()
        auth.authenticate("nobody", "guess")
        unknown = time.perf_counter() - start
        start = time.perf_counter()
        auth.authenticate("alice", "guess")
        known = time.perf_counter() - start
    assert unknown > known / 3  # was 30 times faster before


def test_behind_a_proxy_limits_key_on_the_forwarded_address(tmp_path, csrf_of, monkeypatch):
    monkeypatch.setenv("STUDY_PROXIES", "1")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"}
    )
    with app.app_context():
        db.create_all()
        create_admin("alice", PASSWORD)
    client = app.test_client()
    names = iter(range(100))

    def attempt_from(address):  # a new user name each time: only the address limit can apply
        page = client.get("/admin/login", headers={"X-Forwarded-For": address})
        return client.post(
            "/admin/login",
            data={"username": f"user{next(names)}", "password": "wrong", "csrf_token": csrf_of(page.text)},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert [attempt_from("203.0.113.7") for _ in range(5)] + [attempt_from("203.0.113.7")] == [200] * 5 + [429]
    assert attempt_from("203.0.113.8") == 200  # another participant behind the same proxy


def test_posts_over_https_work_without_a_referer(tmp_path, monkeypatch):
    """Pages send no Referer (no-referrer), so the CSRF check must not require one over HTTPS."""
    monkeypatch.setenv("STUDY_HTTPS", "1")
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}"}
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    page = client.get("/resume", base_url="https://study.example.org")
    resp = client.post(
        "/resume", data={"code": "ABCD-EFGH-JKLM", "csrf_token": token(page.text)}, base_url="https://study.example.org"
    )
    assert resp.status_code == 400 and "No study in progress has this code" in resp.text


def test_login_still_limited_when_redis_is_down(tmp_path, csrf_of):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1",
        }
    )  # nothing listens there
    with app.app_context():
        db.create_all()
        create_admin("alice", PASSWORD)
    client = app.test_client()
    codes = [attempt(client, csrf_of, "alice", "wrong", "10.3.0.1").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]  # each worker counts in memory until Redis is back
