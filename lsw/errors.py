"""The one exception type a user is meant to read.

Everything that goes wrong because of the user's input (a missing folder, a bad CSV row, an
impossible split) raises `LswError` with a one-line message that names the file, row or value and
says what to do. The CLI prints it without a traceback and exits 2; the dashboard shows it.
"""


class LswError(Exception):
    """A user-facing error: the message is complete and safe to show as is."""
