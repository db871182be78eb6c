"""The one error type the command line turns into a single line for people."""

from __future__ import annotations


class DuetError(Exception):
    """A problem the user can fix: its message is one line saying what is wrong and what to do.

    The CLI prints it without a traceback and exits with ``exit_code`` (2: bad input).
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
