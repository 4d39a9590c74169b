"""The exceptions the CLI turns into an exit code instead of a traceback.

Every module raises :class:`GailError` for input it refuses (a bad file, a bad config
value, a checkpoint from another env): one line on stderr and exit 2. The trainer raises
:class:`Interrupted` after SIGINT or SIGTERM, once its checkpoint is saved: exit 128 + the
signal's number.
"""

from __future__ import annotations

import re
import signal
from numbers import Integral
from pathlib import Path
from typing import Any

# The exit status of a command refused for bad input.
EXIT_BAD_INPUT = 2


class GailError(Exception):
    """Bad user input. The message is one line: what is wrong, where, how to fix it."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint was saved. ``signum`` says which."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.checkpoint = signum, checkpoint


def positive_int(value: Any, key: str, where: str = "", alternative: str = "") -> int:
    """``value`` if it is an integer >= 1 (a numpy integer too, never a bool).

    Otherwise GailError: "[<where>: ]<key>=<value> must be a positive integer[<alternative>]",
    e.g. alternative=", or null to use every episode".
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        prefix = f"{where}: " if where else ""
        raise GailError(f"{prefix}{key}={value!r} must be a positive integer{alternative}")
    return int(value)


def refuse_to_replace(path: Path, overwrite: bool, where: str) -> None:
    """GailError when ``path`` exists and ``overwrite`` is false: nothing is replaced
    unless the user asked for it."""
    if path.exists() and not overwrite:
        raise GailError(f"{where}: already exists; pass overwrite=true to replace it")


# A sentence ends at . ! or ? followed by white space; "e.g." and "i.e." do not end one.
_SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s")


def first_sentence(exc: BaseException) -> str:
    """The first sentence of an exception's message, whole, folded onto one line.

    Libraries (torch, h5py, MuJoCo) often write several lines or paragraphs; a one-line
    error quotes only their first sentence, never cut inside it. An OSError gives its
    strerror; an exception without a message gives its type name.
    """
    text = getattr(exc, "strerror", None) if isinstance(exc, OSError) else None
    text = " ".join(str(text or exc).split())
    if not text:
        return type(exc).__name__
    return _SENTENCE_END.split(text, maxsplit=1)[0]
