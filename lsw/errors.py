"""The one exception type a user is meant to read.

Everything that goes wrong because of the user's input (a missing folder, a bad CSV row, an
impossible split) raises `LswError` with a one-line message that names the file, row or value and
says what to do. The CLI prints it without a traceback and exits 2; the dashboard shows it.
"""


class LswError(Exception):
    """A user-facing error: the message is complete and safe to show as is."""


class AuditFailed(Exception):
    """An unexpected error in an audit, after its traceback went to the run's error log: `message`
    says what happened and where the details are. The original error is the cause."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
