"""Numbers and names as people read them on the pages: scores to 1 decimal, counts with thousands separators."""
from django import template

from community_scoring.pages.charts import number

register = template.Library()


@register.filter
def score(value, decimals=1):
    """12345.678 -> "12,345.7"; None -> "-"."""
    try:
        return number(None if value is None or value == "" else float(value), int(decimals))
    except (TypeError, ValueError):
        return value


@register.filter
def count(value):
    """1234567 -> "1,234,567"."""
    return score(value, 0)


@register.filter
def percent(value):
    """A 0-100 percentile -> "87.5%"."""
    return "-" if value is None else f"{score(value, 1)}%"


@register.filter
def seconds(value):
    """A duration in seconds: "0.4 s", "12.3 s", "2 min 5 s"."""
    if value is None:
        return "-"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {int(value % 60)} s"


@register.filter
def role_label(value):
    """community_manager -> "community manager"."""
    return (value or "").replace("_", " ")


@register.filter
def percent_share(value):
    """A 0-1 share -> "42%"."""
    return "-" if value is None else f"{float(value) * 100:.0f}%"
