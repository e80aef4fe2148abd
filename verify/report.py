"""Running statements and reporting their evidence: terminal table and JSON records.

``run_statements`` checks every derivation (one ``symbolic`` record per derivation: steps passed out of
steps) and runs every evidence check (one record each), reporting progress through a callback.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Iterable

from .claims import Evidence, Statement, run_check

__all__ = ["run_derivation", "run_statements", "run_mutants", "format_table", "format_mutants", "to_json", "format_figure"]


def run_derivation(statement: Statement, derivation) -> Evidence:
    """Check every step of ``derivation`` and that the chain ends at the closed form: figure = results that
    hold, threshold = all of them."""
    t0 = time.perf_counter()
    results = derivation.check()
    failed = [label for label, r in zip(derivation.labels(), results) if not r.passed]
    held = len(results) - len(failed)
    detail = (f"{held}/{len(results)} machine-checked ({len(derivation.steps)} steps + ends at the closed form)"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return Evidence(statement.id, derivation.name, "symbolic", not failed, float(held), float(len(results)),
                    ">=", "steps", time.perf_counter() - t0, detail)


def run_statements(sts: Iterable[Statement], seed: int = 0, slow: bool = False, derivations: bool = True,
                   progress: Callable[[str], None] | None = None) -> list[Evidence]:
    """All evidence of ``sts`` (derivations first, then checks); ``slow`` checks only when asked."""
    sts = list(sts)
    jobs = []
    for st in sts:
        if derivations:
            jobs += [(st, d, None) for d in st.built_derivations()]
            jobs += [(st, None, a.check) for a in st.assumptions]
        jobs += [(st, None, c) for c in st.checks if slow or not c.slow]
    out = []
    for k, (st, deriv, check) in enumerate(jobs, 1):
        name = deriv.name if deriv is not None else check.name
        ev = run_derivation(st, deriv) if deriv is not None else run_check(st, check, seed)
        if progress:
            progress(f"[{k}/{len(jobs)}] {st.id} :: {name}: {'pass' if ev.passed else 'FAIL'} ({ev.seconds:.2f}s)")
        out.append(ev)
    return out


def run_mutants(sts: Iterable[Statement], seed: int = 0, slow: bool = False,
                progress: Callable[[str], None] | None = None) -> list[Evidence]:
    """Every check (and every assumption's check) run on each of its mutants: one record per (check, mutant);
    ``record.caught`` says the check went red on it, as it must."""
    jobs = []
    for st in sts:
        checks = [a.check for a in st.assumptions] + [c for c in st.checks if slow or not c.slow]
        jobs += [(st, c, m.name) for c in checks for m in c.mutants]
    out = []
    for k, (st, check, mutant) in enumerate(jobs, 1):
        ev = run_check(st, check, seed, mutant=mutant)
        if progress:
            progress(f"[{k}/{len(jobs)}] {st.id} :: {check.name} on {mutant!r}: "
                     f"{'caught' if ev.caught else 'NOT CAUGHT'} ({ev.seconds:.2f}s)")
        out.append(ev)
    return out


def format_mutants(records: list[Evidence]) -> str:
    """Per check: 'fails on: <mutant>' with the figure it reached (or NOT CAUGHT)."""
    header = ("id", "check", "fails on", "figure", "true needs", "caught")
    rows = [(r.id, r.name, r.mutant, format_figure(r.figure, r.unit) + (f" {r.unit}" if r.unit else ""),
             f"{r.relation} {format_figure(r.threshold, r.unit)}", "yes" if r.caught else "NO") for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    for r, row in zip(records, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if not r.caught:
            lines.append(f"    {r.detail}")
    caught = sum(r.caught for r in records)
    lines.append(f"{caught} caught, {len(records) - caught} not caught")
    return "\n".join(lines)


def format_figure(value: float, unit: str = "") -> str:
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if unit == "steps":
        return f"{int(value)}"
    if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if "." in f"{value:.3f}" else f"{value}"


def format_table(records: list[Evidence], verbose: bool = False) -> str:
    """A fixed-width table: id, name, kind, figure, threshold, pass/fail, seconds (details with ``verbose``)."""
    header = ("id", "evidence", "kind", "figure", "threshold", "result", "seconds")
    rows = []
    for r in records:
        fig = format_figure(r.figure, r.unit) + (f" {r.unit}" if r.unit else "")
        thr = f"{r.relation} {format_figure(r.threshold, r.unit)}"
        rows.append((r.id, r.name, r.kind, fig, thr, "pass" if r.passed else "FAIL", f"{r.seconds:.2f}"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    for r, row in zip(records, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if verbose or not r.passed:
            lines.append(f"    {r.detail}")
    passed = sum(r.passed for r in records)
    lines.append(f"{passed} passed, {len(records) - passed} failed")
    return "\n".join(lines)


def to_json(records: list[Evidence]) -> str:
    """A JSON array, one record per evidence item (id, name, kind, passed, figure, threshold, seconds, ...)."""
    return "[\n" + ",\n".join(json.dumps(r.to_dict()) for r in records) + "\n]"
