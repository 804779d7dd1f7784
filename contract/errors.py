"""The base of every error a user causes (a wrong path, a bad setting, input the engine cannot take),
and the one way the command lines (``codeq``, ``python -m analysis``) report it.

Commands print such an error as one ``Error: ...`` line and exit with status 1; any other exception
is a bug and keeps its traceback. Light: imported by the contract modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click


class UserError(ValueError):
    """A mistake in what the user asked for; the message is one line that says what to change."""


# Path mistakes (a missing file, a folder where a file belongs, no permission); other OSErrors are bugs or
# broken machines and keep their traceback.
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the user's mistakes into ``Error: ...`` and exit status 1, no traceback; let bugs through."""
    try:
        yield
    except UserError as err:
        raise click.ClickException(str(err)) from None
    except PATH_ERRORS as err:
        raise click.ClickException(f"{err.filename}: {err.strerror}" if err.filename else str(err)) from None
