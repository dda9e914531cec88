"""Numbers in the Django admin, rounded for people: every float column of a list and every read-only float of a
form (scores, weights, centralities) is shown with a few significant digits, not 15 decimals. Shared by the
engine's admin and the influence admin, which must not import each other (.importlinter)."""
from __future__ import annotations

import math
from typing import Any

from django.contrib import admin
from django.db import models


def number_for_people(value: float | None) -> str:
    """12.3456 -> "12.35", 1234.5 -> "1,234.50", 0.0123456 -> "0.0123", 1.234e-05 -> "0.0000123", None -> "-"."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    decimals = 2 - math.floor(math.log10(abs(value)))  # three significant digits
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


class ReadableNumbers:
    """ModelAdmin / inline mixin: the model's float fields in list_display, and in readonly_fields (and the
    fields listing them), are shown through number_for_people, keeping their label and column ordering."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        floats = {f.name: f for f in self.model._meta.get_fields() if isinstance(f, models.FloatField)}
        readonly = set(self.readonly_fields or ())
        for option, rounds in (("list_display", floats), ("readonly_fields", floats),
                               ("fields", {n: f for n, f in floats.items() if n in readonly})):
            names = getattr(self, option, None)
            if names and names != "__all__":
                setattr(self, option, [self._rounded(n, rounds[n]) if isinstance(n, str) and n in rounds else n
                                       for n in names])

    def _rounded(self, name: str, field: models.FloatField) -> str:
        display_name = f"{name}_for_people"
        if not hasattr(self, display_name):
            def display(obj: models.Model) -> str:
                return number_for_people(getattr(obj, name))
            setattr(self, display_name, admin.display(description=field.verbose_name, ordering=name)(display))
        return display_name
