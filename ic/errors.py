"""The one exception family a user can cause.

Every message is a sentence that says what to do next; pages show it as it is,
and the CLI maps `exit_code` to its process exit status.
"""


class ICError(Exception):
    """Bad input or arguments: the user can fix it (CLI exit code 2)."""

    exit_code = 2


class NothingToRemove(ICError):
    """The mask is empty: a harmless outcome rather than a failure."""


class Unavailable(ICError):
    """A resource cannot be had right now: a hub model offline, missing weights (exit code 3)."""

    exit_code = 3


class Cancelled(Exception):
    """Long work stopped because the user pressed Cancel (not an error: nothing to report)."""
