"""Number formatting shared by the HTML and Markdown templates (registered as Jinja2 filters).

Missing values print as an em dash, never as 0 or NaN.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

DASH = "—"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: Any, digits: int = 1) -> str:
    """0.8644 -> '86.4' (percent, the unit is in the column header)."""
    return DASH if _missing(x) else f"{100 * x:.{digits}f}"


def bounds(row: dict[str, Any], key: str) -> str:
    """'(85.1–87.7)': the 95% CI of ``key`` in percent, '' when there is none."""
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    return "" if _missing(low) or _missing(high) or _missing(row.get(key)) else f"({pct(low)}–{pct(high)})"


def ci(row: dict[str, Any], key: str) -> str:
    """'86.4 (85.1–87.7)': the value of ``key`` in percent with its 95% CI bounds."""
    return " ".join(part for part in (pct(row.get(key)), bounds(row, key)) if part)


def count(x: Any) -> str:
    return DASH if _missing(x) else f"{int(x):,}"


def num(x: Any) -> str:
    """Three significant digits, thousands separated from 1,000 up: seconds, images per second."""
    if _missing(x):
        return DASH
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def si(x: Any) -> str:
    """6231 -> '6.23 k', 2986432 -> '2.99 M': parameters and FLOPs."""
    if _missing(x):
        return DASH
    for factor, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.3g} {unit}"
    return f"{x:.3g}"


def pval(p: Any) -> str:
    return DASH if _missing(p) else ("<0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}")


def signed_pp(x: Any) -> str:
    """An accuracy difference in percentage points: '+2.1'."""
    return DASH if _missing(x) else f"{100 * x + 0.0:+.1f}"  # + 0.0 turns -0.0 into 0.0


_MD_SPECIAL = {c: "\\" + c for c in "\\`*_[]|#"}
_MD_SPECIAL.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "})


def md_escape(value: Any) -> Any:
    """Jinja2 ``finalize`` of the Markdown template: every printed value is escaped (table pipes,
    emphasis, links, raw HTML), unless the template marked it as Markup on purpose."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return "".join(_MD_SPECIAL.get(c, c) for c in str(value))


FILTERS = {"pct": pct, "ci": ci, "bounds": bounds, "count": count, "num": num, "si": si, "pval": pval, "signed_pp": signed_pp}
