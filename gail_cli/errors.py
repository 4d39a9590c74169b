"""The one exception type that means "the user gave bad input".

Every module raises :class:`GailError` for input it refuses (a bad file, a bad config
value, a checkpoint from another env). The CLI turns it into one line on stderr and a
non-zero exit code, never a traceback.
"""


class GailError(Exception):
    """Bad user input. The message is one line: what is wrong, where, how to fix it."""
