"""Text for CSV cells a person opens in a spreadsheet: one rule for every export (the API's and the pages')."""

# Cells a spreadsheet would run as a formula (CSV injection); such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """The text as a spreadsheet will show it, never as a formula."""
    return "'" + value if value and value.startswith(FORMULA_START) else value
