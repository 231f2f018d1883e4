"""Constraint objects: what one params.json value may be, independent of the other keys.

In the style of scikit-learn's ``_param_validation``: each key of the schema holds one constraint,
``check(name, value)`` raises the :class:`ParamsError` the user sees and ``str(constraint)`` is the
"Allowed:" text of the params reference (also the "expected ..." part of the messages). ``kind`` and
``type_name`` name the JSON type; ``nullable`` constraints accept JSON null (= absent).
"""

from __future__ import annotations

import math
import numbers

from .errors import ParamsError, _err, _fmt

NAN = "NaN and infinities are not allowed"


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_list(v) -> bool:
    return isinstance(v, (list, tuple))


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


class Constraint:
    """Base class: ``None`` passes if nullable; other values go to :meth:`check_value`."""

    kind = ""
    type_name = ""
    minimum = None
    exclusive_minimum = False
    choices = None
    null_text = ", or null (= absent)"

    def __init__(self, *, nullable: bool = False, text: str = ""):
        self.nullable = nullable
        self.text = text              # replaces the generated description (and its null suffix)

    def describe(self) -> str:
        """The allowed non-null values."""
        return ""

    def __str__(self) -> str:
        if self.text:
            return self.text
        return self.describe() + (self.null_text if self.nullable else "")

    def fail(self, name: str, value, extra: str = "") -> ParamsError:
        return _err(name, str(self), value, extra)

    def check(self, name: str, value) -> None:
        if value is None:
            if self.nullable:
                return
            raise self.fail(name, value)
        self.check_value(name, value)

    def check_value(self, name: str, value) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class Bool(Constraint):
    kind, type_name = "bool", "bool"

    def describe(self):
        return "true or false"

    def check_value(self, name, v):
        if not isinstance(v, bool):
            raise self.fail(name, v)


class Str(Constraint):
    kind, type_name = "str", "string"

    def describe(self):
        return "a string"

    def check_value(self, name, v):
        if not isinstance(v, str):
            raise self.fail(name, v)


class Int(Constraint):
    """An integer (not a bool), optionally ``>= min``."""

    kind, type_name = "int", "int"

    def __init__(self, min=None, **kw):
        super().__init__(**kw)
        self.minimum = min

    def describe(self):
        return "an integer" + _bound(self)

    def is_type(self, v) -> bool:
        return _is_int(v)

    def finite(self, v) -> bool:
        return True

    def above(self, v) -> bool:
        return self.minimum is None or v >= self.minimum

    def check_value(self, name, v):
        if not _is_int(v) or not self.above(v):
            raise self.fail(name, v)


class Number(Constraint):
    """A finite real number (int or float, not a bool), optionally ``>= min`` (``> min`` if exclusive)."""

    kind, type_name = "number", "number"

    def __init__(self, min=None, exclusive: bool = False, **kw):
        super().__init__(**kw)
        self.minimum, self.exclusive_minimum = min, exclusive

    def describe(self):
        return "a finite number" + _bound(self)

    def is_type(self, v) -> bool:
        return _is_number(v)

    def finite(self, v) -> bool:
        return math.isfinite(v)

    def above(self, v) -> bool:
        if self.minimum is None:
            return True
        return v > self.minimum if self.exclusive_minimum else v >= self.minimum

    def check_value(self, name, v):
        if not _is_number(v):
            raise self.fail(name, v)
        if not math.isfinite(v):
            raise self.fail(name, v, NAN)
        if not self.above(v):
            raise self.fail(name, v)


def _bound(c: Int | Number) -> str:
    if c.minimum is None:
        return ""
    return f" {'>' if c.exclusive_minimum else '>='} {_num(c.minimum)}"


class Choice(Constraint):
    """One of ``choices`` (``None`` among them makes it nullable). ``refused`` maps a known but
    unsupported value to the reason it is refused."""

    kind, type_name = "choice", "string"
    null_text = ""

    def __init__(self, *choices, refused: dict | None = None):
        super().__init__(nullable=None in choices)
        self.choices = choices
        self.refused = refused or {}

    def describe(self):
        return "one of " + ", ".join(_fmt(c) for c in self.choices)

    def check_value(self, name, v):
        if isinstance(v, str) and v in self.refused:
            raise ParamsError(f"{name}: {self.refused[v]}, got {_fmt(v)}; expected {self}", name)
        if not isinstance(v, str) or v not in self.choices:
            raise self.fail(name, v)


class ListOf(Constraint):
    """A list (or tuple) of at least ``min_len`` values of the ``Int`` or ``Number`` constraint ``item``."""

    def __init__(self, item: Int | Number, min_len: int = 0, **kw):
        super().__init__(**kw)
        self.item, self.min_len = item, min_len
        self.kind = "int_list" if isinstance(item, Int) else "number_list"
        self.type_name = "list of int" if isinstance(item, Int) else "list of number"
        self.minimum, self.exclusive_minimum = item.minimum, item.exclusive_minimum

    def describe(self):
        if isinstance(self.item, Int):      # integer lists always have a text of their own
            return ""
        return "a list of finite numbers" + _bound(self.item)

    def check_value(self, name, v):
        item = self.item
        if not _is_list(v) or len(v) < self.min_len or not all(item.is_type(x) for x in v):
            raise self.fail(name, v)
        if not all(item.finite(x) for x in v):
            raise self.fail(name, v, NAN)
        if not all(item.above(x) for x in v):
            raise self.fail(name, v)


class Range(Constraint):
    """``[lo, hi]``: two finite numbers with lo <= hi."""

    kind, type_name = "range", "[lo, hi]"

    def describe(self):
        return "a list [lo, hi] of two finite numbers with lo <= hi"

    def check_value(self, name, v):
        if not _is_list(v) or len(v) != 2 or not all(_is_number(x) for x in v):
            raise self.fail(name, v)
        if not all(math.isfinite(x) for x in v):
            raise self.fail(name, v, NAN)
        if v[0] > v[1]:
            raise self.fail(name, v, "lo > hi")


class Activation(Constraint):
    """An activation name, or a non-empty list of them (one per neuron layer)."""

    kind, type_name = "activation", "string or list of string"

    def __init__(self, names: tuple, **kw):
        super().__init__(**kw)
        self.names = names

    def describe(self):
        return "one of " + ", ".join(_fmt(a) for a in self.names) + ", or a list of L-1 such names"

    def check_value(self, name, v):
        if isinstance(v, str):
            if v not in self.names:
                raise self.fail(name, v)
        elif _is_list(v):
            bad = [a for a in v if not isinstance(a, str) or a not in self.names]
            if bad or not v:
                raise self.fail(name, v, f"unknown activation {_fmt(bad[0])}" if bad else "")
        else:
            raise self.fail(name, v)


class EtaFw(Constraint):
    """Forward learning rates: a non-empty list of numbers >= 0, or a list of lists of them."""

    kind, type_name = "eta_fw", "list of number, or list of lists"

    def check_value(self, name, v):
        ok = _is_list(v) and len(v) > 0 and (
            all(_is_number(x) for x in v)
            or all(_is_list(r) and all(_is_number(x) for x in r) for r in v))
        if not ok:
            raise self.fail(name, v)
        flat = [x for r in v for x in r] if _is_list(v[0]) else list(v)
        if not all(math.isfinite(x) for x in flat):
            raise self.fail(name, v, NAN)
        if not all(x >= 0 for x in flat):
            raise self.fail(name, v, "learning rates must be >= 0")


class Seeds(Constraint):
    """A non-empty list of integer seeds in ``[0, max]``."""

    kind, type_name = "seeds", "list of int"

    def __init__(self, max: int, **kw):
        super().__init__(**kw)
        self.max = max

    def describe(self):
        return f"a non-empty list of integers in [0, {self.max}]"

    def check_value(self, name, v):
        if not _is_list(v) or not v or not all(_is_int(x) and 0 <= x <= self.max for x in v):
            raise self.fail(name, v)
