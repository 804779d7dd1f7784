"""The base of every error a user causes (a wrong path, a bad setting, input the engine cannot take).

Commands print such an error as one ``Error: ...`` line; any other exception is a bug and keeps
its traceback. Light: imported by the contract modules.
"""


class UserError(ValueError):
    """A mistake in what the user asked for; the message is one line that says what to change."""
