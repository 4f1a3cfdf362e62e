"""The one exception type that user-facing entry points turn into a one-line message and exit 2."""


class UserError(Exception):
    """Bad input from the user: a config value, a task name, a file. Never a bug in lstmsim."""
