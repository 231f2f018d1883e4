"""``validate``: check a raw params dict key by key, fill in the defaults, then apply the cross-key rules."""

from __future__ import annotations

import copy
import difflib
import os
import sys
import warnings
from typing import Callable, Mapping

from .errors import ParamsError, ParamsWarning, _err, _fmt
from .rules import check_combinations
from .schema import SCHEMA, TASKS

_HERE = os.path.dirname(os.path.abspath(__file__))


def _default_warn(message: str) -> None:
    # point the warning at the first frame outside this package (the caller of validate/load_params)
    level, frame = 1, sys._getframe(0)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, ParamsWarning, stacklevel=level)


def validate(raw: Mapping, task: str = "fw_only",
             warn: Callable[[str], None] | None = None) -> dict:
    """Validate a raw params dict and return a NEW dict with every schema key present.

    Missing keys get their documented (possibly derived) defaults; given values are deep-copied unchanged.
    Keys starting with ``_comment`` are dropped. Raises :class:`ParamsError` for unknown keys, wrong types,
    impossible values and unsupported combinations. Non-fatal findings (values the published code ignores
    or overrides) are passed as strings to ``warn`` (default: ``warnings.warn`` with ``ParamsWarning``).
    """
    if warn is None:
        warn = _default_warn
    if not isinstance(raw, Mapping):
        raise _err("params", "a JSON object (dict) of parameters", raw)
    if not isinstance(task, str) or task not in TASKS:
        raise _err("task", "one of " + ", ".join(_fmt(t) for t in TASKS), task)

    given = {}
    unknown = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise ParamsError(f"{_fmt(key)}: parameter names must be strings", str(key))
        if key.startswith("_comment"):
            continue
        if key not in SCHEMA:
            unknown.append(key)
            continue
        given[key] = value
    if unknown:
        raise _unknown_keys_error(unknown)

    for key in SCHEMA:
        k = SCHEMA[key]
        if key not in given:
            if k.required:
                raise ParamsError(f"{key}: required key is missing; expected {k.allowed}", key)
            continue
        k.check(given[key])

    p: dict = {}
    for key, k in SCHEMA.items():
        if key in given:
            p[key] = copy.deepcopy(given[key])
        elif k.derive is None:
            p[key] = copy.deepcopy(k.default)
    for key, k in SCHEMA.items():  # derived defaults see the complete non-derived dict
        if key not in p:
            p[key] = k.derive(p)
    p = {key: p[key] for key in SCHEMA}  # schema order

    check_combinations(p, task, warn, frozenset(given))
    return p


def _unknown_keys_error(unknown: list[str]) -> ParamsError:
    parts = []
    for key in unknown:
        match = difflib.get_close_matches(key, list(SCHEMA), n=1, cutoff=0.6)
        if not match:
            lower = {k.lower(): k for k in SCHEMA}
            match = [lower[key.lower()]] if key.lower() in lower else []
        parts.append((key, match[0] if match else None))
    if len(parts) == 1:
        key, m = parts[0]
        msg = f"unknown key {key!r}" + (f"; did you mean {m!r}?" if m else "")
        msg += " (the allowed keys are listed in README.md, section Params reference)"
        return ParamsError(msg, key)
    items = [f"{key!r}" + (f" (did you mean {m!r}?)" if m else "") for key, m in parts]
    return ParamsError("unknown keys " + ", ".join(items)
                       + " (the allowed keys are listed in README.md, section Params reference)", parts[0][0])
