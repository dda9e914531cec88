"""Fit: points from who a member is (attributes such as job_title, company_size, industry, persona).

A condition ``attribute OP value`` matches when:

- eq:       the attribute equals value (case-insensitive, surrounding spaces ignored)
- contains: value is a substring of the attribute (case-insensitive); for a list attribute, an element equals it
- gte/lte:  both are numbers and attribute >= / <= value ("200+" style strings are read up to the first non-digit)
- in:       the attribute equals one of the comma-separated values (case-insensitive)

A missing attribute never matches. Fit is the sum of the points of every matching condition.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS = ("eq", "contains", "gte", "lte", "in")
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class FitCondition:
    attribute: str
    operator: str
    value: str
    points: float


def parse_number(value: Any) -> float | None:
    """A finite number from an int/float or a string that starts with one ("250", "1000+", " 50 employees");
    None for anything else, including values no float holds (10**400, "1e999" style digits, inf, NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        match = _NUMBER.match(value.replace(",", ""))
        if not match:
            return None
        value = match.group(1)
    elif not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) else None


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def fit_matches(actual: Any, operator: str, expected: str) -> bool:
    if actual is None or actual == "":
        return False
    if isinstance(actual, (list, tuple, set)):
        if operator in ("contains", "eq", "in"):
            return any(fit_matches(item, "eq" if operator == "contains" else operator, expected) for item in actual)
        return False
    if operator == "eq":
        return _norm(actual) == _norm(expected)
    if operator == "contains":
        return _norm(expected) in _norm(actual)
    if operator == "in":
        return _norm(actual) in {_norm(item) for item in str(expected).split(",") if item.strip()}
    if operator in ("gte", "lte"):
        left, right = parse_number(actual), parse_number(expected)
        if left is None or right is None:
            return False
        return left >= right if operator == "gte" else left <= right
    raise ValueError(f"unknown fit operator {operator!r}")


def fit_score(attributes: Mapping[str, Any], conditions: Iterable[FitCondition]) -> float:
    """Sum of the points of the conditions the attributes meet."""
    return float(sum(c.points for c in conditions if fit_matches(attributes.get(c.attribute), c.operator, c.value)))
