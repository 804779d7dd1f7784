"""Security headers on every response: a strict Content Security Policy and friends.

No page has inline script, inline style or event-handler attributes, so the policy allows only this
site's own files; a script injected into a page (say through instrument text) cannot run. Frames are
refused (clickjacking), the Referer never leaves the page (study links carry recruiter ids) and, when
``HTTPS`` is on, browsers are told to use HTTPS only (HSTS).
"""

from __future__ import annotations

from flask import Flask, Response, current_app

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP level 2
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("HTTPS"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure_headers)
