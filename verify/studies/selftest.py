r"""``verify selftest``: the toolkit's sensitivity and specificity, measured.

* **Claims** (:func:`run_claim_catalogue`): every registered claim (``verify claim``) carries a catalogue of
  planted wrong formulas (``ClaimSpec.wrong_examples``: transposes, dropped terms, 1/2 <-> 1 <-> 2, terms that
  vanish only at d <= 3 or only when m = 0, relative offsets down to 1e-12, ...) and of equivalent rewritings
  (``ClaimSpec.equivalents``: expanded, factored, cyclic traces, decimals, ...).  Each wrong formula must be
  decided DIFFERENT (a certified counterexample) and each rewriting EQUAL (proved), through the API
  (:func:`verify.kernel.claim.check_formula`) and, when the caller hands in the command line's entry point
  (``exit_code``, e.g. :func:`verify.cli.main`), through ``verify claim`` as well (exit status 1 and 0); an UNDECIDED
  verdict is a failure either way.  Reported: the rejection rate, the acceptance rate, the undecided count and the
  smallest numeric discrepancy a rejected formula had.
* **Seeds** (:func:`run_seed_sweep`, ``--full``): every statement's (non-slow) evidence over many distinct master
  seeds.  A true statement must pass at every seed.  Reported per check: failures and the seeds where they
  happened, the worst figure and its seed; overall (:func:`summarise_seeds`): the largest |z| of the Monte Carlo
  z-tests (|z| <= 5 comparisons; rejections, whose figure is a |z| >= 5, do not count), the false-alarm rate a
  |z| <= 5 threshold implies (P(|Z| > 5) = 5.7e-7 per comparison for a normal z) and the false alarms expected
  over the sweep, the checks found seed-independent and the slow checks left out.

Cells are independent and seeded by (seed, statement, check) (:func:`verify.numerics.montecarlo.stream`), so the result
does not depend on the order or the number of workers; results are keyed by cell, never by completion order.
A check that never touches its generator at the two probe seeds and gives the same bits there is
seed-independent and is not run again.  ``log`` (``--log FILE``) appends every finished cell to a file and skips
the cells already there, so an interrupted sweep resumes.

Cost: one seed of every non-slow check is about 50 s of one core (2026-11, 35 checks), so 200 seeds take about
80 min on 2 cores; about 30% of it is ``icl-gradient::balanced-flow-converges`` (RK4, 4 x 10^4 steps in Python).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import Callable, Iterable, Sequence

from verify.kernel.registry import claim_specs, find_claim, get_statement, registry
from verify.kernel.runner import run_check
from verify.kernel.claim import check_formula
from verify.sweep import Backend, Cell, read_log, run_sweep
from verify._validation import seed_value

__all__ = ["ClaimRecord", "catalogue", "claim_argv", "run_claim_catalogue", "summarise_claims", "SeedSummary",
           "run_seed_sweep", "sweep_checks", "summarise_seeds", "read_cell_log", "Z_FALSE_ALARM",
           "run_mutation_campaigns", "summarise_campaigns"]

Z_FALSE_ALARM = 2 * (1 - NormalDist().cdf(5.0))
"""P(|Z| > 5) for a standard normal z: the false-alarm rate of one |z| <= 5 comparison (5.7e-7)."""


@dataclass(frozen=True)
class ClaimRecord:
    claim: str
    formula: str
    expected: str  # "reject" or "accept"
    verdict: str  # "EQUAL", "DIFFERENT", "UNDECIDED" or "REFUSED" (bad input)
    worst_error: float
    cli_exit: int | None
    seconds: float
    detail: str = ""
    assume: tuple = ()

    @property
    def accepted(self) -> bool | None:
        return None if self.verdict == "REFUSED" else self.verdict == "EQUAL"

    @property
    def ok(self) -> bool:
        want_accept = self.expected == "accept"
        api = self.verdict == ("EQUAL" if want_accept else "DIFFERENT")
        cli = self.cli_exit is None or self.cli_exit == (0 if want_accept else 1)
        return api and cli

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        d["accepted"] = self.accepted
        if isinstance(d["worst_error"], float) and not math.isfinite(d["worst_error"]):
            d["worst_error"] = str(d["worst_error"])
        return d


def claim_argv(claim_id: str, formula: str, seed: int, assume: tuple = ()) -> list[str]:
    """The arguments of ``verify claim`` judging ``formula`` for ``claim_id`` (``--formula=EXPR``, so a formula
    starting with ``-`` is not taken for an option)."""
    extra = [a for name in assume for a in ("--assume", name)]
    return ["claim", claim_id, f"--formula={formula}", "--seed", str(seed), *extra]


def _quietly(exit_code: Callable[[list[str]], int], argv: list[str]) -> int:
    """``exit_code(argv)`` with whatever it prints swallowed."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return exit_code(argv)


def _spread(items: Sequence, k: int | None) -> list:
    """``k`` items spread evenly over ``items`` (first and last included), or all of them when ``k`` is None."""
    items = list(items)
    if k is None or len(items) <= k:
        return items
    if k <= 1:
        return items[:k]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def catalogue(ids: Iterable[str] | None = None, sample: int | None = None) -> list[tuple]:
    """(claim id, formula, expected, assume) for every wrong formula and every rewriting of the registered claims.

    A conditional form (``ClaimSpec.conditional_examples``) appears twice: accepted under its hypotheses,
    rejected on the full set of points.  ``sample`` (the quick selftest of the default test run) keeps, per claim,
    the example, every conditional form and ``sample`` rewritings and wrong formulas spread over the lists."""
    specs = claim_specs()
    ids = [find_claim(i).id for i in dict.fromkeys(ids)] if ids else list(specs)
    if sample is not None and (not isinstance(sample, int) or isinstance(sample, bool) or sample < 0):
        raise ValueError(f"sample: expected a non-negative integer or None, got {sample!r}")
    out = []
    for cid in ids:
        if cid not in specs:
            raise ValueError(f"claim id: unknown {cid!r}; known: {', '.join(specs)}")
        spec = specs[cid]
        out += [(cid, f, "accept", ()) for f in (spec.example, *_spread(spec.equivalents, sample))]
        out += [(cid, f, "reject", ()) for f in _spread(spec.wrong_examples, sample)]
        for f, hyp in spec.conditional_examples:
            out += [(cid, f, "accept", tuple(hyp)), (cid, f, "reject", ())]
    return out


def run_claim_catalogue(ids: Iterable[str] | None = None, seed: int = 0, progress=None, sample: int | None = None,
                        exit_code: Callable[[list[str]], int] | None = None) -> list[ClaimRecord]:
    """Check every catalogue formula (or a ``sample``, see :func:`catalogue`) through the API, and through the
    command line when ``exit_code`` is given: a function of ``verify claim``'s arguments (:func:`claim_argv`)
    returning its exit status, such as :func:`verify.cli.main` (the record's ``cli_exit``; None without it)."""
    if exit_code is not None and not callable(exit_code):
        raise TypeError(f"exit_code: expected a function of the command-line arguments, got {exit_code!r}")
    records = []
    for cid, formula, expected, assume in catalogue(ids, sample):
        t0 = time.perf_counter()
        try:
            v = check_formula(find_claim(cid), formula, seed=seed, assume=assume, with_hints=False)
            verdict, err, detail = v.verdict, v.worst_error, v.detail
        except ValueError as exc:
            verdict, err, detail = "REFUSED", math.inf, f"refused as bad input: {exc}"
        code = _quietly(exit_code, claim_argv(cid, formula, seed, assume)) if exit_code is not None else None
        rec = ClaimRecord(cid, formula, expected, verdict, float(err), code, time.perf_counter() - t0, detail,
                          assume)
        records.append(rec)
        if progress:
            progress(f"{cid}: {'ok' if rec.ok else 'WRONG'} ({expected}) {formula}")
    return records


def summarise_claims(records: list[ClaimRecord]) -> dict:
    """Rejection rate of the wrong formulas, acceptance rate of the rewritings, smallest discrepancy caught."""
    wrong = [r for r in records if r.expected == "reject"]
    right = [r for r in records if r.expected == "accept"]
    caught = [r for r in wrong if r.ok]
    smallest = min((r.worst_error for r in caught if r.accepted is False), default=math.nan)
    undecided = sum(r.verdict == "UNDECIDED" for r in records)
    per_claim = {}
    for r in records:
        c = per_claim.setdefault(r.claim, {"mutants": 0, "rejected": 0, "rewritings": 0, "accepted": 0})
        if r.expected == "reject":
            c["mutants"] += 1
            c["rejected"] += r.ok
        else:
            c["rewritings"] += 1
            c["accepted"] += r.ok
    return {
        "mutants": len(wrong), "rejected": len(caught),
        "rejection_rate": len(caught) / len(wrong) if wrong else math.nan,
        "rewritings": len(right), "accepted": sum(r.ok for r in right),
        "acceptance_rate": sum(r.ok for r in right) / len(right) if right else math.nan,
        "smallest_discrepancy_caught": smallest,
        "undecided": undecided,
        "per_claim": per_claim,
        "failures": [r.to_dict() for r in records if not r.ok],
    }


@dataclass(frozen=True)
class SeedSummary:
    """One check over the seeds of a sweep.

    ``worst_figure`` is the figure furthest toward failing (the largest for ``<=``, the smallest for ``>=``) and
    ``worst_seed`` where it was seen.  ``seed_independent``: the check never drew from its generator at the two
    probe seeds and gave bit-identical outcomes there, so its outcome is the same at every seed; it was evaluated
    ``evaluations`` (= 2) times and its record stands for all ``seeds``."""

    id: str
    name: str
    kind: str
    seeds: int
    failures: int
    failed_seeds: tuple
    worst_figure: float
    worst_seed: int
    unit: str
    relation: str
    threshold: float
    evaluations: int
    seed_independent: bool
    seconds: float
    largest_finite: float = math.nan  # the largest finite figure over the seeds (a failure may report inf)
    alarm: float | None = None  # the check's own false-alarm rate per comparison, from its statistic's distribution

    @property
    def is_z_test(self) -> bool:
        """A |z| <= threshold comparison of a true statement (Monte Carlo against its closed form)."""
        return self.unit == "|z|" and self.relation == "<="

    @property
    def false_alarm_rate(self) -> float:
        """For a |z| <= z0 check: the chance that a true statement fails one comparison at one seed, from the
        distribution its statistic has (Student-t with the estimate's degrees of freedom; normal when unknown)."""
        if not self.is_z_test:
            return 0.0
        return self.alarm if self.alarm is not None else 2 * (1 - NormalDist().cdf(self.threshold))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["false_alarm_rate"] = self.false_alarm_rate
        for k in ("worst_figure", "threshold", "largest_finite"):
            if isinstance(d[k], float) and not math.isfinite(d[k]):
                d[k] = str(d[k])
        d["failed_seeds"] = list(d["failed_seeds"])
        return d


@dataclass(frozen=True)
class _CellResult:
    passed: bool
    figure: float
    unit: str
    relation: str
    threshold: float
    kind: str
    detail: str
    drawn: bool  # the check drew from its generator (or spawned from it)
    seconds: float
    false_alarm: float | None = None

    def same_outcome(self, other: "_CellResult") -> bool:
        return (self.passed, repr(self.figure), self.detail) == (other.passed, repr(other.figure), other.detail)


def _cell(args) -> _CellResult:
    """Run one (statement, check, seed) with the statement's own stream; also report whether the generator was used."""
    sid, check_name, seed = args
    st = get_statement(sid)
    check = st.check_named(check_name)
    used = {}

    def watched(rng):
        before = (rng.bit_generator.state, rng.bit_generator.seed_seq.n_children_spawned)
        try:
            return check.prepare(rng)
        finally:
            used["drawn"] = (rng.bit_generator.state, rng.bit_generator.seed_seq.n_children_spawned) != before

    ev = run_check(st, replace(check, prepare=watched), seed)
    return _CellResult(bool(ev.passed), float(ev.figure), ev.unit, ev.relation, float(ev.threshold), ev.kind,
                       ev.detail, used.get("drawn", True), ev.seconds, ev.false_alarm)


def _encode(r: _CellResult) -> dict:
    d = asdict(r)
    d["figure"] = repr(r.figure)  # exact round trip, NaN and inf included
    d["threshold"] = repr(r.threshold)
    return d


def _decode(d: dict) -> _CellResult:
    d = dict(d)
    d["figure"], d["threshold"] = float(d["figure"]), float(d["threshold"])
    return _CellResult(**d)


def read_cell_log(path) -> dict:
    """Cells recorded by a previous (possibly interrupted) sweep: {(statement, check, seed): result}."""
    return read_log(path, _decode)


def _run_cells(cells: list, backend: Backend, progress, done: int = 0, total: int | None = None, log=None) -> dict:
    """Results by cell, each appended to ``log`` (a file path) as it finishes (:func:`verify.sweep.run_sweep`).  The
    order in which cells run (and the backend) never changes a result: each cell's randomness is SeedSequence-derived
    from (seed, statement, check) alone, and results are keyed by cell."""
    total = total or len(cells)

    def tick(k, n, key):
        if progress and (done + k) % 25 == 0:
            progress(f"[{done + k}/{total}] cells")

    return run_sweep([Cell(c, _cell, (c,)) for c in cells], backend=backend, log=log, progress=tick,
                     encode=_encode, decode=_decode)


def sweep_checks(ids: Iterable[str] | None = None, slow: bool = False) -> tuple[list, list]:
    """(checks swept, checks excluded as slow) of the statements ``ids`` (all when empty), as (statement, check) ids."""
    sts = [get_statement(i) for i in dict.fromkeys(ids)] if ids else list(registry().values())
    swept = [(st.id, c.name) for st in sts for c in st.checks if slow or not c.slow]
    excluded = [(st.id, c.name) for st in sts for c in st.checks if c.slow and not slow]
    return swept, excluded


def run_seed_sweep(seeds: Iterable[int], ids: Iterable[str] | None = None, slow: bool = False,
                   workers: int | None = None, progress=None, probe: bool = True, log=None,
                   scheduler: str | None = None) -> list[SeedSummary]:
    """Every (non-slow unless ``slow``) check of the statements ``ids`` at every seed of ``seeds``.

    With ``probe`` (and more than two seeds) every check first runs at the first two seeds; a check that never
    touched its generator there and gave bit-identical outcomes is seed-independent and is not run again (its
    record stands for every seed).  The rest run at the remaining seeds, most expensive first.  The summaries
    are in the registry's order and do not depend on ``workers`` (timings aside).

    ``log``: a file to which every cell's result is appended as it finishes (one JSON line); cells already in it
    are not run again, so an interrupted sweep resumes where it stopped.  ``workers`` (a Dask LocalCluster) or
    ``scheduler`` (a running Dask cluster) spread the cells (:mod:`verify.sweep`); the default runs in-process."""
    seeds = [seed_value(s, "seeds") for s in seeds]
    seeds = list(dict.fromkeys(seeds))
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    with Backend(workers, scheduler) as backend:  # validates workers/scheduler before any work
        return _seed_sweep(seeds, slow, ids, backend, progress, probe, log)


def _seed_sweep(seeds, slow, ids, backend, progress, probe, log) -> list[SeedSummary]:
    checks, _ = sweep_checks(ids, slow)
    head = seeds[:2] if probe and len(seeds) > 2 else seeds
    total = len(checks) * len(seeds)
    results = _run_cells([(sid, name, s) for sid, name in checks for s in head], backend, progress, 0, total, log)
    independent = set()
    if len(head) < len(seeds):
        for sid, name in checks:
            a, b = results[(sid, name, head[0])], results[(sid, name, head[1])]
            if not a.drawn and not b.drawn and a.same_outcome(b):
                independent.add((sid, name))
        cost = {key: results[key + (head[0],)].seconds + results[key + (head[1],)].seconds for key in checks}
        rest = [(sid, name, s) for sid, name in sorted((k for k in checks if k not in independent),
                                                       key=lambda k: -cost[k]) for s in seeds[2:]]
        results.update(_run_cells(rest, backend, progress, len(results), total, log))
    out = []
    for sid, name in checks:
        ran = [(s, results[(sid, name, s)]) for s in seeds if (sid, name, s) in results]
        first = ran[0][1]
        if (sid, name) in independent:  # the same outcome at every seed
            rows = [(s, first) for s in seeds]
        else:
            rows = ran
        pick = max if first.relation == "<=" else min
        worst_seed, worst = pick(rows, key=lambda sr: (sr[1].figure if not math.isnan(sr[1].figure) else
                                                       (math.inf if first.relation == "<=" else -math.inf)))
        failed = tuple(s for s, r in rows if not r.passed)
        finite = max((r.figure for _, r in rows if math.isfinite(r.figure)), default=math.nan)
        alarms = [r.false_alarm for _, r in ran if r.false_alarm is not None]
        out.append(SeedSummary(sid, name, first.kind, len(seeds), len(failed), failed, float(worst.figure), worst_seed,
                               first.unit, first.relation, float(first.threshold), len(ran),
                               (sid, name) in independent, float(sum(r.seconds for _, r in ran)), float(finite),
                               max(alarms) if alarms else None))
    return out


def summarise_seeds(summaries: list[SeedSummary], seeds: int, excluded: Iterable = ()) -> dict:
    """Failures, the largest |z| of the Monte Carlo z-tests (where and at which seed; ``inf`` when a check refused
    to judge, e.g. underpowered, so the largest finite |z| is given too), and the false alarms the
    |z| <= 5 thresholds imply: P(|Z| > 5) = 5.7e-7 per comparison, so over the sweep's z-test cells (each at least
    one comparison) the expected number of false alarms is about cells x 5.7e-7 for a normal z -- each check's rate
    comes from its own statistic (Student-t with batches - 1 degrees of freedom for batch means: 1.3e-5 with 40
    batches), and the expected number is the sum over checks of seeds x rate."""
    zs = [s for s in summaries if s.is_z_test]
    top = max(zs, key=lambda s: s.worst_figure, default=None)
    finite = [s for s in zs if math.isfinite(s.largest_finite)]
    top_finite = max(finite, key=lambda s: s.largest_finite, default=None)
    z_cells = sum(s.seeds for s in zs)
    return {
        "seeds": seeds, "checks": len(summaries), "cells": sum(s.seeds for s in summaries),
        "evaluations": sum(s.evaluations for s in summaries),
        "failures": sum(s.failures for s in summaries),
        "failing_checks": [f"{s.id}::{s.name}" for s in summaries if s.failures],
        "largest_abs_z": top.worst_figure if top else math.nan,
        "largest_abs_z_at": f"{top.id}::{top.name} seed {top.worst_seed}" if top else "",
        "largest_finite_abs_z": top_finite.largest_finite if top_finite else math.nan,
        "largest_finite_abs_z_at": f"{top_finite.id}::{top_finite.name}" if top_finite else "",
        "z_test_cells": z_cells,
        "false_alarm_rate_per_comparison": max((s.false_alarm_rate for s in zs), default=0.0),
        "expected_false_alarms": sum(s.seeds * s.false_alarm_rate for s in zs),
        "false_alarm_rate_per_check": {f"{s.id}::{s.name}": s.false_alarm_rate for s in zs},
        "seed_independent": [f"{s.id}::{s.name}" for s in summaries if s.seed_independent],
        "excluded_slow": [f"{sid}::{name}" for sid, name in excluded],
        "seconds": float(sum(s.seconds for s in summaries)),
    }


# ------------------------------------------------------------------------------------------ generated mutants


def run_mutation_campaigns(ids: Iterable[str] | None = None, seed: int = 0, progress=None,
                           budget_seconds: float = 5.0) -> list[dict]:
    """:func:`verify.kernel.mutate.mutation_campaign` for every statement named in ``ids`` (default: all): the
    machine-generated mutants of each closed form, proved equivalent, killed by a check, or surviving."""
    from verify.kernel.mutate import mutation_campaign

    sts = [get_statement(i) for i in dict.fromkeys(ids)] if ids else list(registry().values())
    return [mutation_campaign(st, seed, budget_seconds=budget_seconds, progress=progress) for st in sts]


def summarise_campaigns(campaigns: list[dict]) -> dict:
    """Totals over the statements, and every survivor with the checks that stayed green on it."""
    keys = ("generated", "equivalent", "killed", "survived", "undecided")
    totals = {k: sum(c[k] for c in campaigns) for k in keys}
    survivors = [{"statement": c["id"], "mutant": m["mutant"], "formula": m["formula"], "green": m["green"]}
                 for c in campaigns for m in c["mutants"] if m["status"] == "survived"]
    uncovered = [{"statement": c["id"], "why": c["note"]} for c in campaigns if c["note"]]
    return {**totals, "survivors": survivors, "not_covered": uncovered}
