"""Plain Markdown tables for the command line and reports."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["markdown_table", "fmt"]


def fmt(value: Any) -> str:
    """Numbers in a form that lines up in a table.

    Examples
    --------
    >>> fmt(0.000123456), fmt(12), fmt(3.14159), fmt(None)
    ('1.23e-04', '12', '3.14', '-')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-2 or abs(value) >= 1e5:
            return f"{value:.2e}"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of dicts as a Markdown table with aligned columns.

    Examples
    --------
    >>> print(markdown_table([{"method": "cg", "its": 10}, {"method": "gmres", "its": 7}]))
    | method | its |
    |--------|-----|
    | cg     | 10  |
    | gmres  | 7   |
    """
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)
