"""What ``verify run`` and ``verify list`` print, and the JSON records of ``verify run --json``.

The terminal output is for people: one table per statement (headed by its id, paper number and title), a row
per derivation or check saying what it found -- a derivation its conclusion (``⊢ T[μ](z) = V m + V Γ Kᵀ Q z``),
a check its figure against what it needs (``40 digits ≥ 30``) -- and, at the end, one verdict per statement
(:func:`format_verdicts`).  Tables are sized to the terminal (:func:`terminal_width`, never below 80 columns) and
never cut a cell: a long cell is wrapped inside its column.  The mathematics is plain Unicode
(:func:`verify.reports.plain.plain`), from the same LaTeX the appendix renders.

>>> format_number(5.41e-09), format_number(0.63712), format_number(22134.0), format_number(40.0, "digits")
('5.4e-9', '0.637', '2.2e4', '40')
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from typing import Iterable, Sequence

from verify.kernel.statement import Evidence
from verify.kernel.verdict import VERDICTS, verdict
from verify.reports.plain import derived_tex, plain, text_width

MIN_WIDTH = 80
"""Tables are never narrower than this; in a pipe (no terminal) they are :data:`PIPE_WIDTH` wide."""
PIPE_WIDTH = 100
"""The width of a table written to a pipe or a file (no terminal to measure): ids and names are never cut, the
detail column wraps."""

__all__ = ["format_table", "format_mutants", "format_verdicts", "format_list", "to_json", "verdict_records",
           "format_figure", "format_number", "terminal_width", "MIN_WIDTH", "PIPE_WIDTH"]

_FORM_LABEL = {
    "verified under hypotheses": "hypothesis",
    "sharpened": "sharper form",
    "contradicts the paper": "evidence",
    "falsified as written": "witness",
}


def terminal_width() -> int:
    """The width tables are set to: the terminal's (``shutil.get_terminal_size``; ``COLUMNS`` when set), never
    below :data:`MIN_WIDTH`; :data:`PIPE_WIDTH` when stdout is not a terminal."""
    return max(MIN_WIDTH, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)


# ---------------------------------------------------------------------------------------------------------
# numbers

_SUPERSCRIPT_FREE_UNITS = {"steps", "cells"}


def format_number(value: float, unit: str = "") -> str:
    """A figure at the precision it carries: integers as integers, digits to one decimal, ordinary magnitudes to
    three significant digits, very large or small ones as ``5.4e-9`` (two significant digits, no padded
    exponent); infinities as ``inf``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if unit in _SUPERSCRIPT_FREE_UNITS or (v == int(v) and abs(v) < 1e4):
        return str(int(v))
    if unit == "digits":
        return f"{v:.1f}"
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        mantissa, exponent = f"{v:.1e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{v:.3g}"


def format_figure(value: float, unit: str = "") -> str:
    """A record's figure (or threshold) as the tables print it (:func:`format_number`)."""
    return format_number(value, unit)


def _found(r: Evidence, derived: str | None = None) -> str:
    """What a record found, in words: a derivation its conclusion, a check its figure against its threshold."""
    if r.kind == "symbolic":
        steps = f"{format_number(r.figure, 'steps')}/{format_number(r.threshold, 'steps')} steps checked"
        if not r.passed:
            return f"{steps}; FAILED: {r.detail.split('FAILED: ')[-1]}" if "FAILED: " in r.detail else steps
        return f"⊢ {derived} ({steps})" if derived else f"all {steps}"
    rel = "≥" if r.relation == ">=" else "≤"
    unit = plain(r.unit)
    fig = format_number(r.figure, r.unit)
    if unit in ("|z|", "z"):
        text = f"{unit} = {fig} (needs {rel} {format_number(r.threshold, r.unit)})"
    else:
        text = f"{fig} {unit} (needs {rel} {format_number(r.threshold, r.unit)})".replace("  ", " ")
    return text


# ---------------------------------------------------------------------------------------------------------
# tables

def _wrap(text: str, width: int) -> list[str]:
    if text_width(text) <= width:
        return [text]
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True)
    return lines or [""]


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - text_width(text))


def _table(header: Sequence[str], rows: list[Sequence[str]], width: int, flexible: Sequence[tuple[int, int]],
           details: Sequence[str | None] = (), indent: int = 2) -> list[str]:
    """Rows under a header, no wider than ``width``: the ``flexible`` columns, given as (column, preferred
    minimum), are narrowed as needed -- first each down to its preferred minimum in the order given, then
    further down to 10 columns -- and their cells wrapped inside the column: nothing is cut.  A detail (when
    given) is wrapped under its row at the full width."""
    n = len(header)
    natural = [max([text_width(header[i])] + [text_width(r[i]) for r in rows]) for i in range(n)]
    widths = list(natural)
    room = width - indent - 2 * (n - 1)
    for floors in ([m for _, m in flexible], [10] * len(flexible)):
        for (col, _), floor in zip(flexible, floors):
            excess = sum(widths) - room
            if excess <= 0:
                break
            widths[col] = max(max(text_width(header[col]), floor), widths[col] - excess)
    pre = " " * indent
    lines = [pre + "  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip(),
             pre + "  ".join("─" * w for w in widths)]
    details = list(details) or [None] * len(rows)
    for row, detail in zip(rows, details):
        cells = [_wrap(c, w) for c, w in zip(row, widths)]
        for k in range(max(len(c) for c in cells)):
            lines.append(pre + "  ".join(_pad(c[k] if k < len(c) else "", w) for c, w in zip(cells, widths)).rstrip())
        if detail:
            lines += textwrap.wrap(plain(detail), max(40, width - indent - 4), initial_indent=pre + "    ",
                                   subsequent_indent=pre + "      ", break_on_hyphens=False)
    return lines


def _grouped(records: Iterable[Evidence]) -> dict[str, list[Evidence]]:
    out: dict[str, list[Evidence]] = {}
    for r in records:
        out.setdefault(r.id, []).append(r)
    return out


def _heading(sid: str, st, width: int) -> list[str]:
    if st is None:
        return [sid]
    text = f"{sid} · {plain(st.number)} · {plain(st.title)}"
    return textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False)


def _derived(st, records: list[Evidence]) -> list[str | None]:
    """The conclusion (plain text) of each symbolic record's derivation, matched by name in order."""
    if st is None or not any(r.kind == "symbolic" for r in records):
        return [None] * len(records)
    pool: dict[str, list] = {}
    for d in st.built_derivations():
        pool.setdefault(d.name, []).append(d)
    out = []
    for r in records:
        if r.kind == "symbolic" and pool.get(r.name):
            out.append(plain(derived_tex(pool[r.name].pop(0)), math=True))
        else:
            out.append(None)
    return out


def format_table(records: list[Evidence], verbose: bool = False, width: int | None = None,
                 statements: Sequence | None = None) -> str:
    """The records of a run, one table per statement: each derivation with what it derived, each check with its
    figure against what it needs, pass/FAIL and seconds; details of failed records (of all with ``verbose``)
    wrapped under their row.  ``statements`` (the registered :class:`~verify.kernel.statement.Statement`
    objects) give the headings and the derivations' conclusions.  No wider than ``width`` (default: the
    terminal's), and no cell is cut."""
    width = max(MIN_WIDTH, width or terminal_width())
    meta = {s.id: s for s in statements or ()}
    out: list[str] = []
    for sid, recs in _grouped(records).items():
        st = meta.get(sid)
        derived = _derived(st, recs)
        rows = [(plain(r.name), r.kind, _found(r, d), "pass" if r.passed else "FAIL", f"{r.seconds:.1f}")
                for r, d in zip(recs, derived)]
        details = [r.detail if (verbose or not r.passed) and r.detail else None for r in recs]
        if out:
            out.append("")
        out += _heading(sid, st, width)
        out += _table(("evidence", "kind", "found", "result", "sec"), rows, width, flexible=((0, 24), (2, 34), (1, 10)),
                      details=details)
    return "\n".join(out)


def format_mutants(records: list[Evidence], width: int | None = None) -> str:
    """Per statement and check: 'fails on: <mutant>' with the figure it reached (or NOT CAUGHT)."""
    width = max(MIN_WIDTH, width or terminal_width())
    out: list[str] = []
    for sid, recs in _grouped(records).items():
        rows = [(plain(r.name), plain(r.mutant), f"{format_number(r.figure, r.unit)} {plain(r.unit)}".strip(),
                 f"{'≥' if r.relation == '>=' else '≤'} {format_number(r.threshold, r.unit)}",
                 "yes" if r.caught else "NO") for r in recs]
        details = [None if r.caught else r.detail for r in recs]
        if out:
            out.append("")
        out.append(sid)
        out += _table(("check", "fails on", "figure", "true needs", "caught"), rows, width,
                      flexible=((1, 24), (0, 20), (2, 12)), details=details)
    caught = sum(r.caught for r in records)
    out.append(f"{caught} of {len(records)} planted mutants caught" + ("" if caught == len(records) else
                                                                      f"; {len(records) - caught} NOT CAUGHT"))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------
# verdicts

def _verdicts(statements: Sequence, records: list[Evidence]) -> list[tuple]:
    by_id = _grouped(r for r in records if not r.mutant)
    return [(st, verdict(st.finding, by_id[st.id]), by_id[st.id]) for st in statements if st.id in by_id]


def format_verdicts(statements: Sequence, records: list[Evidence], width: int | None = None) -> str:
    """One block per statement run: its paper number and id, the verdict (:func:`verify.kernel.verdict.verdict`
    of its finding and records), one line of what was found, the witness / hypothesis / sharper form when the
    verdict has one (or what failed); then the tally."""
    width = max(MIN_WIDTH, width or terminal_width())
    found = _verdicts(statements, records)
    out = ["Verdicts (arXiv 2512.11784 and the results it leans on)", ""]
    wrap = lambda text, first, rest: textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,  # noqa: E731
                                                   break_on_hyphens=False)
    for st, v, recs in found:
        word = v.kind.upper()
        head = f"  {plain(st.number)} ({st.id})"
        gap = width - text_width(head) - text_width(word)
        out += [head + " " * gap + word] if gap >= 2 else [head, "    " + word]
        if v.summary:
            out += wrap(plain(v.summary), "    ", "      ")
        if not v.established:
            out += wrap("failed: " + ", ".join(plain(x) for x in v.failed), "    ", "      ")
        elif v.form:
            out += wrap(f"{_FORM_LABEL.get(v.kind, 'form')}: {plain(v.form)}", "    ", "      ")
        out += wrap(f"{v.passed} of {v.total} derivations and checks passed", "    ", "      ")
    tally: dict[str, int] = {}
    for _, v, _ in found:
        tally[v.kind] = tally.get(v.kind, 0) + 1
    counts = ", ".join(f"{tally[k]} {k}" for k in VERDICTS if k in tally)
    passed = sum(r.passed for r in records if not r.mutant)
    total = sum(1 for r in records if not r.mutant)
    out.append("")
    out += wrap(f"{len(found)} statement{'s' if len(found) != 1 else ''}: {counts}. "
                f"{passed} of {total} derivations and checks passed.", "", "  ")
    return "\n".join(out)


def verdict_records(statements: Sequence, records: list[Evidence]) -> list[dict]:
    """One JSON record per statement run (``kind: "verdict"``), shaped like the evidence records (``id, name,
    kind, passed, figure, threshold, relation, unit, seconds, detail``: figure = records passed, threshold =
    records run) plus ``verdict``, ``number``, ``summary``, ``form``, ``failed`` and ``evidence``."""
    out = []
    for st, v, recs in _verdicts(statements, records):
        out.append({"id": st.id, "name": "verdict", "kind": "verdict", "passed": v.established,
                    "figure": float(v.passed), "threshold": float(v.total), "relation": ">=", "unit": "records",
                    "seconds": sum(r.seconds for r in recs), "detail": plain(v.summary),
                    "verdict": v.kind, "number": plain(st.number), "summary": v.summary, "form": v.form,
                    "failed": list(v.failed), "evidence": list(v.evidence)})
    return out


def to_json(records: list[Evidence], statements: Sequence | None = None, provenance: dict | None = None) -> str:
    """A JSON array, one record per evidence item (id, name, kind, passed, figure, threshold, seconds, ...), then,
    when ``statements`` are given, one ``kind: "verdict"`` record per statement (:func:`verdict_records`).  With
    ``provenance`` (:func:`verify._provenance.provenance`), every record carries it under ``"provenance"``, so that
    a record copied out of the array still says how to reproduce it."""
    docs = [r.to_dict() for r in records] + (verdict_records(statements, records) if statements else [])
    if provenance is not None:
        docs = [{**d, "provenance": provenance} for d in docs]
    return "[\n" + ",\n".join(json.dumps(d) for d in docs) + "\n]"


# ---------------------------------------------------------------------------------------------------------
# verify list

def format_list(statements: Sequence, width: int | None = None) -> str:
    """``verify list``: each statement's id, paper number and declared verdict, and its summary under it
    (``statements``: :class:`~verify.kernel.registry.CatalogueEntry` or statements)."""
    from verify.kernel.registry import CatalogueEntry

    width = max(MIN_WIDTH, width or terminal_width())
    statements = [s if isinstance(s, CatalogueEntry) else CatalogueEntry.of(s) for s in statements]
    rows = [(s.id, plain(s.number), s.verdict) for s in statements]
    idw = max(text_width(r[0]) for r in rows)
    verdict_w = max(text_width(r[2]) for r in rows)
    numw = max(12, min(max(text_width(r[1]) for r in rows), width - idw - verdict_w - 4))
    out = []
    for (sid, number, kind), s in zip(rows, statements):
        num_lines = textwrap.wrap(number, numw, break_on_hyphens=False) or [""]
        out.append(f"{_pad(sid, idw)}  {_pad(num_lines[0], numw)}  {kind}".rstrip())
        out += [f"{'':{idw}}  {ln}" for ln in num_lines[1:]]
        out += textwrap.wrap(plain(s.summary), width, initial_indent="    ", subsequent_indent="    ",
                             break_on_hyphens=False)
    return "\n".join(out)
