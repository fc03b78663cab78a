"""The base of every error whose message is written for the user (shown as one line, no traceback)."""


class DrsyncerError(Exception):
    """An error a user can act on; its message names the object and field concerned."""
