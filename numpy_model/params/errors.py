"""The error and warning types of params validation, and how values appear in their messages."""

from __future__ import annotations

import json
from typing import Any


class ParamsError(ValueError):
    """Invalid params. The message names the offending key, the bad value and what is allowed."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class ParamsWarning(UserWarning):
    """A params value that is accepted but ignored or overridden (as in the published code)."""


def _fmt(value, limit: int = 120) -> str:
    """JSON-like rendering of a value for messages."""
    try:
        s = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        try:
            s = repr(value)
        except (RecursionError, ValueError):
            s = f"<{type(value).__name__}>"
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def _err(key: str, expected: str, value: Any, extra: str = "") -> ParamsError:
    """``key: expected <expected>, got <value> (<extra>)``."""
    msg = f"{key}: expected {expected}, got {_fmt(value)}"
    if extra:
        msg += f" ({extra})"
    return ParamsError(msg, key)
