"""One rule for the numbers a person reads, on every page and in the CLI's text:

- probabilities and shares (of an image, of objects that flipped) in percent with one decimal: "77.2%";
- changes of a probability in percentage points, signed, one decimal: "+1.2 pt";
- intervals the same way: "12.5–45.0%", "-3.1 to +0.4 pt";
- p-values to two significant digits, "< 0.001" below that.

Scores that are not shares keep their own scales (IoU 0.00-1.00, AUCs 0.000-1.000). Tables hold numbers, not
text, so that they sort: their columns are shares times 100 drawn with PERCENT, changes in points with POINTS.
"""

from __future__ import annotations

PERCENT = "%.1f%%"  # a table column of percentages (shares times 100)
POINTS = "%+.1f"  # a table column of changes in percentage points


def percent(share: float) -> str:
    """A probability or share as a person reads it: "77.2%"; a share too small for one decimal is "< 0.1%", not
    "0.0%" (which would say nothing is there)."""
    if 0 < share < 0.0005:
        return "< 0.1%"
    return f"{share * 100:.1f}%"


def points(change: float, unit: str = " pt") -> str:
    """A change of a probability (a difference of shares) in percentage points: "+1.2 pt"."""
    return f"{change * 100:+.1f}{unit}"


def percent_range(low: float, high: float) -> str:
    return f"{low * 100:.1f}–{high * 100:.1f}%"


def points_range(low: float, high: float, unit: str = "") -> str:
    return f"{low * 100:+.1f} to {high * 100:+.1f}{unit}"


def p_value(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"
