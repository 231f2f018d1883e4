"""``load_params``: read a params.json file (UTF-8 only, no duplicate keys) and validate it."""

from __future__ import annotations

import json
import os
from typing import Callable

from .errors import ParamsError, _fmt
from .validation import validate


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out and not key.startswith("_comment"):
            raise ParamsError(f"{key}: duplicate key in the params file (JSON would silently keep the "
                              f"last value); expected each key once", key)
        out[key] = value
    return out


def load_params(path, task: str = "fw_only", warn: Callable[[str], None] | None = None) -> dict:
    """Read ``path`` (a params.json) and return :func:`validate` of its content."""
    fname = os.fspath(path)
    label = f"params file {fname!r}"
    if os.path.isdir(fname):
        raise ParamsError(f"{label}: is a directory, expected a JSON file", fname)
    try:
        with open(fname, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ParamsError(f"{label}: no such file", fname) from None
    except OSError as e:
        raise ParamsError(f"{label}: cannot be read ({e.strerror or e})", fname) from None
    for bom, enc in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                     (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise ParamsError(f"{label}: expected UTF-8 text, got {enc} (byte order mark {bom.hex(' ')}); "
                              f"save the file as UTF-8", fname)
    nul = data.find(b"\x00")
    if nul >= 0:      # never in JSON text; typical of UTF-16/UTF-32 without a byte order mark
        raise ParamsError(f"{label}: expected UTF-8 text, got a NUL byte at offset {nul} "
                          f"(UTF-16 or UTF-32?); save the file as UTF-8", fname)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParamsError(f"{label}: expected UTF-8 text, got byte 0x{data[e.start]:02x} at offset "
                          f"{e.start} that is not valid UTF-8", fname) from None
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except ParamsError:
        raise
    except json.JSONDecodeError as e:
        raise ParamsError(f"{label}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}",
                          fname) from None
    except ValueError as e:    # e.g. an integer literal longer than Python's int/str conversion limit
        raise ParamsError(f"{label}: invalid JSON: {e}", fname) from None
    except RecursionError:
        raise ParamsError(f"{label}: invalid JSON: nested too deeply", fname) from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{label}: expected a JSON object {{\"key\": value, ...}} at the top level, "
                          f"got {type(raw).__name__} {_fmt(raw, 60)}", fname)
    return validate(raw, task, warn=warn)
