"""Running statements: derivations checked, evidence prepared once and scored on the subject and its mutants.

``run_statements`` checks every derivation (one ``symbolic`` record per derivation: steps passed out of steps)
and runs every evidence check (one record each); ``run_mutants`` scores every check on each of its planted
mutants.  Both go through a :class:`Preparations` store: a check's preparation (its points, references, samples,
trajectories: everything that does not depend on the subject) is computed once per (statement, check, seed) and
scored on as many subjects as asked, so ``verify run --mutants`` costs one preparation per check.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import replace
from typing import Callable, Iterable

import numpy as np

from verify.kernel.registry import get_statement
from verify.kernel.statement import Check, Evidence, Outcome, Statement
from verify.numerics.montecarlo import stream

__all__ = ["run_derivation", "run_check", "score_subject", "within_budget", "BudgetExceeded", "Preparations", "run_statements", "run_mutants"]

_FAILURES = (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError)
"""Errors a check may raise while computing its figure: the check has failed, and says why."""


class BudgetExceeded(BaseException):
    """Raised inside a check that outlives its time budget (a BaseException, so no ``except Exception`` in a check
    swallows it)."""


def within_budget(seconds: float, fn, *args):
    """``fn(*args)``, interrupted by :class:`BudgetExceeded` after ``seconds`` (a real-time alarm; only in the main
    thread of a process -- elsewhere, e.g. on a Dask worker thread, the call runs unbounded)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn(*args)

    def alarm(signum, frame):
        raise BudgetExceeded(f"exceeded its time budget of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


class _Failed:
    """A preparation that raised: every subject scored against it fails with the same reason."""

    def __init__(self, exc: BaseException, where: str = ""):
        self.reason = (f"{where} {exc}".strip() if isinstance(exc, BudgetExceeded)
                       else f"error: {type(exc).__name__}: {exc}")


class Preparations:
    """The preparations of one session's checks, keyed by (statement id, check name, seed).

    A preparation draws from the check's own stream ``stream(seed, statement id, check name)``, so it is the same
    bits whoever asks first; ``calls`` counts the preparations computed (the test suite holds it to one per
    check however many mutants are scored)."""

    def __init__(self):
        self._store: dict = {}
        self.calls = 0

    def get(self, statement: Statement, check: Check, seed: int) -> tuple[object, float]:
        """(prepared, seconds it took); computed on first request."""
        key = (statement.id, check.name, int(seed))
        if key not in self._store:
            self.calls += 1
            t0 = time.perf_counter()
            try:
                prepared = within_budget(check.budget, check.prepare, stream(seed, statement.id, check.name))
            except _FAILURES as exc:  # the check cannot compute its figure: it has failed
                prepared = _Failed(exc)
            except BudgetExceeded as exc:
                prepared = _Failed(exc, "preparation")
            self._store[key] = (prepared, time.perf_counter() - t0)
        return self._store[key]

    def forget(self, statement: Statement, check: Check, seed: int) -> None:
        self._store.pop((statement.id, check.name, int(seed)), None)


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


def run_check(statement: Statement, check: Check, seed: int = 0, mutant: str | None = None,
              preparations: Preparations | None = None) -> Evidence:
    """Run one check on its subject, or on the mutant named ``mutant``, against its preparation.

    The preparation comes from ``preparations`` (computed there once per check and seed) or is computed here from
    the check's own reproducible stream; the mutant run scores against the same preparation as the true run, so
    the two see the same points and samples.  ``seconds`` counts the preparation when it was computed for this
    record, and the scoring."""
    store = preparations if preparations is not None else Preparations()
    fresh = store.calls
    prepared, prep_seconds = store.get(statement, check, seed)
    t0 = time.perf_counter()
    if isinstance(prepared, _Failed):
        out = Outcome(math.inf, 0.0, "<=", "", prepared.reason)
    else:
        try:
            out = within_budget(check.budget, check.score, prepared, check.subject_of(mutant))
        except _FAILURES as exc:  # a check that cannot compute its figure has failed; say why instead of hiding it
            out = Outcome(math.inf, 0.0, "<=", "", f"error: {type(exc).__name__}: {exc}")
        except BudgetExceeded as exc:
            out = Outcome(math.inf, 0.0, "<=", "", f"scoring {exc}")
    seconds = time.perf_counter() - t0 + (prep_seconds if store.calls > fresh else 0.0)
    return Evidence(
        id=statement.id,
        name=check.name,
        kind=check.kind,
        passed=out.passed,
        figure=out.figure,
        threshold=out.threshold,
        relation=out.relation,
        unit=out.unit,
        seconds=seconds,
        detail=out.detail,
        mutant=mutant or "",
        false_alarm=out.false_alarm,
    )


def score_subject(statement: Statement, check: Check, seed: int, subject, *,
                  preparations: Preparations | None = None, name: str = "generated") -> Evidence:
    """Score an arbitrary ``subject`` (e.g. a machine-generated mutant, already through the check's adapter) on one
    check against its preparation; the record's ``mutant`` field is ``name``."""
    store = preparations if preparations is not None else Preparations()
    prepared, _ = store.get(statement, check, seed)
    t0 = time.perf_counter()
    if isinstance(prepared, _Failed):
        out = Outcome(math.inf, 0.0, "<=", "", prepared.reason)
    else:
        try:
            out = within_budget(check.budget, check.score, prepared, subject)
        except _FAILURES as exc:
            out = Outcome(math.inf, 0.0, "<=", "", f"error: {type(exc).__name__}: {exc}")
        except BudgetExceeded as exc:
            out = Outcome(math.inf, 0.0, "<=", "", f"scoring {exc}")
    return Evidence(statement.id, check.name, check.kind, out.passed, out.figure, out.threshold, out.relation,
                    out.unit, time.perf_counter() - t0, out.detail, name, out.false_alarm)


def _jobs(sts, slow: bool, derivations: bool, progress) -> tuple[list, dict]:
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
    return jobs, build


def run_statements(sts: Iterable[Statement], seed: int = 0, slow: bool = False, derivations: bool = True,
                   progress: Callable[[str], None] | None = None, *, workers: int | None = None,
                   scheduler: str | None = None, log=None, preparations: Preparations | None = None) -> list[Evidence]:
    """All evidence of ``sts`` (derivations first, then checks); ``slow`` checks only when asked.

    ``preparations``: a store shared with a later :func:`run_mutants` (the mutants then cost no preparation).
    ``workers`` / ``scheduler`` / ``log``: every derivation and check is one cell of :func:`verify.sweep.run_sweep`
    (a Dask LocalCluster, a running Dask cluster, a resumable JSON-lines log); the records are the same."""
    sts = list(sts)
    if workers is not None or scheduler is not None or log is not None:
        return _run_statements_sweep(sts, seed, slow, derivations, progress, workers, scheduler, log)
    store = preparations if preparations is not None else Preparations()
    jobs, build = _jobs(sts, slow, derivations, progress)
    out = []
    for k, (st, deriv, check) in enumerate(jobs, 1):
        name = deriv.name if deriv is not None else check.name
        ev = run_derivation(st, deriv) if deriv is not None else run_check(st, check, seed, preparations=store)
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
                progress: Callable[[str], None] | None = None, preparations: Preparations | None = None) -> list[Evidence]:
    """Every check (and every assumption's check) scored on each of its mutants: one record per (check, mutant);
    ``record.caught`` says the check went red on it, as it must.  Each check is prepared once (or taken from
    ``preparations``) and its preparation is released once its mutants are scored."""
    store = preparations if preparations is not None else Preparations()
    keep = preparations is not None
    jobs = []
    for st in sts:
        checks = [a.check for a in st.assumptions] + [c for c in st.checks if slow or not c.slow]
        jobs += [(st, c, m.name, i == len(c.mutants) - 1) for c in checks for i, m in enumerate(c.mutants)]
    out = []
    for k, (st, check, mutant, last) in enumerate(jobs, 1):
        ev = run_check(st, check, seed, mutant=mutant, preparations=store)
        if last and not keep:
            store.forget(st, check, seed)
        if progress:
            progress(f"[{k}/{len(jobs)}] {st.id} :: {check.name} on {mutant!r}: "
                     f"{'caught' if ev.caught else 'NOT CAUGHT'} ({ev.seconds:.2f}s)")
        out.append(ev)
    return out
