"""The one exception type the CLI turns into a clean one-line message."""


class RvtuneError(Exception):
    """A problem the user can fix: says what is wrong, where, and how to fix it.

    The CLI prints ``Error: <message>`` and exits with ``exit_code`` (no traceback unless
    ``--debug``). Raise it with a message that names the file/row/field/option at fault.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(RvtuneError):
    """Bad option or argument on the command line or in the config file."""

    exit_code = 2


class DataError(RvtuneError):
    """Bad input data: a row, a field, a file."""


class MissingDependencyError(RvtuneError):
    """An optional tool or package is not installed; the message says how to install it."""
