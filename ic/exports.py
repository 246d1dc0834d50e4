"""Tables as CSV that a spreadsheet opens safely.

A text cell beginning with =, +, -, @ (or a tab or carriage return) is a formula to Excel, LibreOffice
and Google Sheets: a file name or note such as `=HYPERLINK(...)` would run when the CSV is opened. Such
cells get a leading apostrophe, as OWASP advises; numbers, including text that reads as one (-3.2), stay
as they are.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutral)
    return safe.to_csv(index=False)
