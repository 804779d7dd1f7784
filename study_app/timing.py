"""``Server-Timing: app;dur=<ms>`` on every response: the server's own time, apart from the network.

Load tests (bench/load_study.py) read it to tell server time from queueing and client time;
browsers show it in their developer tools.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g


def start() -> None:
    g.request_started = time.perf_counter()


def stamp(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def init_app(app: Flask) -> None:
    app.before_request(start)
    app.after_request(stamp)
