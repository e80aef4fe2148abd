"""The terminal table and the JSON records of ``verify run`` (and ``verify run --mutants``)."""

from __future__ import annotations

import json
import textwrap

from verify.kernel.statement import Evidence

WIDTH = 100
"""Tables fit a 100-column terminal."""

__all__ = ["format_table", "format_mutants", "to_json", "format_figure"]


def format_mutants(records: list[Evidence], width: int = WIDTH) -> str:
    """Per check: 'fails on: <mutant>' with the figure it reached (or NOT CAUGHT)."""
    rows = [(r.id, r.name, r.mutant, format_figure(r.figure, r.unit) + (f" {r.unit}" if r.unit else ""),
             f"{r.relation} {format_figure(r.threshold, r.unit)}", "yes" if r.caught else "NO") for r in records]
    details = [None if r.caught else r.detail for r in records]
    caught = sum(r.caught for r in records)
    return _table(("id", "check", "fails on", "figure", "true needs", "caught"), rows, details,
                  f"{caught} caught, {len(records) - caught} not caught", width, shrink=(2, 1, 0))


def _table(header: tuple, rows: list, details: list, footer: str, width: int, shrink: tuple) -> str:
    """A fixed-width table no wider than ``width`` columns: the columns in ``shrink`` are cut (ending in '~')
    as needed, and detail lines are wrapped under their row."""
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    for col in shrink:
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        if excess > 0:
            widths[col] = max(len(header[col]), widths[col] - excess)

    def cell(text: str, w: int) -> str:
        return text.ljust(w) if len(text) <= w else text[: w - 1] + "~"

    lines = ["  ".join(cell(h, w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    for row, detail in zip(rows, details):
        lines.append("  ".join(cell(c, w) for c, w in zip(row, widths)).rstrip())
        if detail:
            lines += textwrap.wrap(detail, width, initial_indent="    ", subsequent_indent="      ")
    lines.append(footer)
    return "\n".join(lines)


def format_figure(value: float, unit: str = "") -> str:
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if unit == "steps":
        return f"{int(value)}"
    if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if "." in f"{value:.3f}" else f"{value}"


def format_table(records: list[Evidence], verbose: bool = False, width: int = WIDTH) -> str:
    """A table no wider than ``width``: id, name, kind, figure, threshold, pass/fail, seconds (details of
    failed records, or of all with ``verbose``, wrapped under their row)."""
    rows = []
    for r in records:
        fig = format_figure(r.figure, r.unit) + (f" {r.unit}" if r.unit else "")
        thr = f"{r.relation} {format_figure(r.threshold, r.unit)}"
        rows.append((r.id, r.name, r.kind, fig, thr, "pass" if r.passed else "FAIL", f"{r.seconds:.2f}"))
    details = [r.detail if verbose or not r.passed else None for r in records]
    passed = sum(r.passed for r in records)
    return _table(("id", "evidence", "kind", "figure", "threshold", "result", "seconds"), rows, details,
                  f"{passed} passed, {len(records) - passed} failed", width, shrink=(1, 0, 2))


def to_json(records: list[Evidence]) -> str:
    """A JSON array, one record per evidence item (id, name, kind, passed, figure, threshold, seconds, ...)."""
    return "[\n" + ",\n".join(json.dumps(r.to_dict()) for r in records) + "\n]"
