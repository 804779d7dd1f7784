"""Logging for the command lines and the study app: one switch, ``CODEQ_LOG_LEVEL`` (or ``--log-level``).

The default, WARNING, keeps command output to results and warnings; INFO adds what long commands
and the app do (studies loaded, exports written, requests refused), DEBUG everything.
"""

from __future__ import annotations

import logging
import os

import click

from contract.errors import UserError

LEVEL_ENV = "CODEQ_LOG_LEVEL"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_level(level: str | None = None) -> int:
    """Return the numeric level for ``level``, else ``$CODEQ_LOG_LEVEL``, else WARNING."""
    name = (level or os.environ.get(LEVEL_ENV) or "WARNING").upper()
    if name not in LEVELS:
        raise UserError(f"unknown log level {name!r}: use one of {', '.join(LEVELS)} (--log-level or {LEVEL_ENV})")
    return int(getattr(logging, name))


def configure_logging(level: str | None = None) -> None:
    """Send the project's log records to stderr at ``level`` (see :func:`log_level`)."""
    numeric = log_level(level)
    logging.basicConfig(format=FORMAT)
    for name in ("codeq", "study_app", "analysis"):
        logging.getLogger(name).setLevel(numeric)


def _set_level(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    try:
        configure_logging(value)
    except UserError as err:
        raise click.BadParameter(str(err)) from None


log_level_option = click.option(
    "--log-level",
    default=None,
    callback=_set_level,
    expose_value=False,
    is_eager=True,
    help=f"DEBUG, INFO, WARNING or ERROR (default: ${LEVEL_ENV}, else WARNING).",
)
