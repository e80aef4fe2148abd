"""Running statements and reporting their evidence: terminal table and JSON records.

``run_statements`` checks every derivation (one ``symbolic`` record per derivation: steps passed out of
steps) and runs every evidence check (one record each), reporting progress through a callback.
"""

from __future__ import annotations

import json
import textwrap
import time
from dataclasses import replace
from typing import Callable, Iterable

from verify.kernel.statement import Evidence, Statement, get_statement, run_check

WIDTH = 100
"""Tables fit a 100-column terminal."""

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
                   progress: Callable[[str], None] | None = None, *, workers: int | None = None,
                   scheduler: str | None = None, log=None) -> list[Evidence]:
    """All evidence of ``sts`` (derivations first, then checks); ``slow`` checks only when asked.

    ``workers`` / ``scheduler`` / ``log``: every derivation and check is one cell of :func:`verify.sweep.run_sweep`
    (a Dask LocalCluster, a running Dask cluster, a resumable JSON-lines log); the records are the same."""
    sts = list(sts)
    if workers is not None or scheduler is not None or log is not None:
        return _run_statements_sweep(sts, seed, slow, derivations, progress, workers, scheduler, log)
    jobs, build = [], {}
    for i, st in enumerate(sts, 1):
        if derivations:
            # SymPy construction of the derivations takes seconds per statement (tens in all): it is shown, and
            # timed into the statement's first derivation record (a cached build costs nothing here).
            if progress:
                progress(f"[{i}/{len(sts)}] building the derivations of {st.id}")
            t0 = time.perf_counter()
            built = st.built_derivations()
            jobs += [(st, d, None) for d in built]
            jobs += [(st, None, a.check) for a in st.assumptions]
            if built:
                build[id(built[0])] = time.perf_counter() - t0
        jobs += [(st, None, c) for c in st.checks if slow or not c.slow]
    out = []
    for k, (st, deriv, check) in enumerate(jobs, 1):
        name = deriv.name if deriv is not None else check.name
        ev = run_derivation(st, deriv) if deriv is not None else run_check(st, check, seed)
        if deriv is not None and id(deriv) in build:
            ev = replace(ev, seconds=ev.seconds + build[id(deriv)])
        if progress:
            progress(f"[{k}/{len(jobs)}] {st.id} :: {name}: {'pass' if ev.passed else 'FAIL'} ({ev.seconds:.2f}s)")
        out.append(ev)
    return out


def _evidence_cell(st, kind: str, name: str, seed: int) -> Evidence:
    """One record of ``verify run`` as a sweep cell: ``st`` a Statement, or its id on a Dask worker (looked up in the
    worker's registry).  ``seconds`` is the cell's wall time (a derivation's first cell in a process builds it)."""
    t0 = time.perf_counter()
    st = get_statement(st) if isinstance(st, str) else st
    if kind == "derivation":
        ev = run_derivation(st, next(d for d in st.built_derivations() if d.name == name))
    else:
        pool = [a.check for a in st.assumptions] if kind == "assumption" else st.checks
        ev = run_check(st, next(c for c in pool if c.name == name), seed)
    return replace(ev, seconds=time.perf_counter() - t0)


def _evidence_decode(d: dict) -> Evidence:
    d = dict(d)
    d["figure"], d["threshold"] = float(d["figure"]), float(d["threshold"])
    return Evidence(**d)


def _run_statements_sweep(sts, seed, slow, derivations, progress, workers, scheduler, log) -> list[Evidence]:
    from verify.sweep import Backend, Cell, run_sweep

    with Backend(workers, scheduler) as backend:
        cells = []
        for st in sts:
            ref = st.id if backend.distributed else st
            jobs = []
            if derivations:
                jobs += [("derivation", d.name) for d in st.built_derivations()]
                jobs += [("assumption", a.check.name) for a in st.assumptions]
            jobs += [("check", c.name) for c in st.checks if slow or not c.slow]
            cells += [Cell(("run", int(seed), st.id, kind, name), _evidence_cell, (ref, kind, name, seed))
                      for kind, name in jobs]

        def tick(k, n, key):
            if progress:
                progress(f"[{k}/{n}] {key[2]} :: {key[4]}: done ({backend.name})")

        out = run_sweep(cells, backend=backend, log=log, progress=tick, encode=lambda ev: ev.to_dict(),
                        decode=_evidence_decode)
    return list(out.values())


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
