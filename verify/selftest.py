r"""``verify selftest``: the toolkit's sensitivity and specificity, measured.

* **Claims** (:func:`run_claim_catalogue`): every registered claim (``verify claim``) carries a catalogue of
  planted wrong formulas (``ClaimSpec.wrong_examples``: transposes, dropped terms, 1/2 <-> 1 <-> 2, terms that
  vanish only at d <= 3 or only when m = 0, relative offsets down to 1e-12, ...) and of equivalent rewritings
  (``ClaimSpec.equivalents``: expanded, factored, cyclic traces, decimals, ...).  Each wrong formula must be
  REJECTED and each rewriting ACCEPTED, through the API (:func:`verify.formula.check_formula`) and through the
  command line (exit status 1 and 0).  Reported: the rejection rate, the acceptance rate and the smallest
  discrepancy that was caught.
* **Seeds** (:func:`run_seed_sweep`, ``--full``): every statement's evidence over many distinct master seeds.
  A true statement must pass at every seed.  Reported per check: failures, the largest |z| seen (Monte Carlo
  kinds) or the smallest figure, and the false-alarm rate that a |z| <= 5 threshold implies
  (P(|Z| > 5) = 5.7e-7 per comparison for a normal z).

Cells are independent and seeded by (seed, statement, check), so the result does not depend on the order or
the number of workers.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Iterable

from .claims import claim_specs, get_statement, registry, run_check
from .formula import check_formula

__all__ = ["ClaimRecord", "run_claim_catalogue", "summarise_claims", "SeedSummary", "run_seed_sweep",
           "Z_FALSE_ALARM"]

Z_FALSE_ALARM = 2 * (1 - NormalDist().cdf(5.0))
"""P(|Z| > 5) for a standard normal z: the false-alarm rate of one |z| <= 5 comparison (5.7e-7)."""


@dataclass(frozen=True)
class ClaimRecord:
    claim: str
    formula: str
    expected: str  # "reject" or "accept"
    accepted: bool | None  # None: the formula was refused as bad input
    worst_error: float
    cli_exit: int | None
    seconds: float
    detail: str = ""
    assume: tuple = ()

    @property
    def ok(self) -> bool:
        want_accept = self.expected == "accept"
        api = self.accepted is want_accept
        cli = self.cli_exit is None or self.cli_exit == (0 if want_accept else 1)
        return api and cli

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        if isinstance(d["worst_error"], float) and not math.isfinite(d["worst_error"]):
            d["worst_error"] = str(d["worst_error"])
        return d


def _cli_exit(claim_id: str, formula: str, seed: int, assume: tuple = ()) -> int:
    from .cli import main

    extra = [a for name in assume for a in ("--assume", name)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["claim", claim_id, "--formula", formula, "--seed", str(seed), *extra])


def catalogue(ids: Iterable[str] | None = None) -> list[tuple]:
    """(claim id, formula, expected, assume) for every wrong formula and every rewriting of the registered claims.

    A conditional form (``ClaimSpec.conditional_examples``) appears twice: accepted under its hypotheses,
    rejected on the full set of points."""
    specs = claim_specs()
    ids = list(ids) if ids else list(specs)
    out = []
    for cid in ids:
        if cid not in specs:
            raise ValueError(f"claim id: unknown {cid!r}; known: {', '.join(specs)}")
        spec = specs[cid]
        out += [(cid, f, "accept", ()) for f in (spec.example, *spec.equivalents)]
        out += [(cid, f, "reject", ()) for f in spec.wrong_examples]
        for f, hyp in spec.conditional_examples:
            out += [(cid, f, "accept", tuple(hyp)), (cid, f, "reject", ())]
    return out


def run_claim_catalogue(ids: Iterable[str] | None = None, seed: int = 0, cli: bool = True,
                        progress=None) -> list[ClaimRecord]:
    """Check every catalogue formula through the API (and the CLI when ``cli``)."""
    specs = claim_specs()
    records = []
    for cid, formula, expected, assume in catalogue(ids):
        t0 = time.perf_counter()
        try:
            v = check_formula(specs[cid], formula, seed=seed, assume=assume)
            accepted, err, detail = v.accepted, v.worst_error, v.detail
        except ValueError as exc:
            accepted, err, detail = None, math.inf, f"refused as bad input: {exc}"
        code = _cli_exit(cid, formula, seed, assume) if cli else None
        rec = ClaimRecord(cid, formula, expected, accepted, float(err), code, time.perf_counter() - t0, detail,
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
        "per_claim": per_claim,
        "failures": [r.to_dict() for r in records if not r.ok],
    }


@dataclass(frozen=True)
class SeedSummary:
    id: str
    name: str
    kind: str
    seeds: int
    failures: int
    failed_seeds: tuple
    worst_figure: float
    unit: str
    relation: str
    threshold: float
    seconds: float

    @property
    def false_alarm_rate(self) -> float:
        """For a |z| <= 5 check: the chance that a true statement fails at one seed (per comparison)."""
        return Z_FALSE_ALARM if self.unit == "|z|" else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["false_alarm_rate"] = self.false_alarm_rate
        for k in ("worst_figure", "threshold"):
            if isinstance(d[k], float) and not math.isfinite(d[k]):
                d[k] = str(d[k])
        return d


def _cell(args):
    sid, check_name, seed = args
    st = get_statement(sid)
    ev = run_check(st, st.check_named(check_name), seed)
    return sid, check_name, seed, ev.passed, ev.figure, ev.unit, ev.relation, ev.threshold, ev.kind, ev.seconds


def run_seed_sweep(seeds: Iterable[int], ids: Iterable[str] | None = None, slow: bool = False, workers: int = 1,
                   progress=None) -> list[SeedSummary]:
    """Every (non-slow unless ``slow``) check of the statements ``ids`` at every seed of ``seeds``."""
    seeds = list(seeds)
    sts = [get_statement(i) for i in ids] if ids else list(registry().values())
    cells = [(st.id, c.name, s) for st in sts for c in st.checks if slow or not c.slow for s in seeds]
    results = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for k, r in enumerate(pool.map(_cell, cells, chunksize=max(1, len(cells) // (8 * workers))), 1):
                results.append(r)
                if progress and k % 50 == 0:
                    progress(f"[{k}/{len(cells)}] cells")
    else:
        for k, c in enumerate(cells, 1):
            results.append(_cell(c))
            if progress and k % 50 == 0:
                progress(f"[{k}/{len(cells)}] cells")
    by_check: dict = {}
    for sid, name, seed, passed, fig, unit, rel, thr, kind, secs in results:
        by_check.setdefault((sid, name), []).append((seed, passed, fig, unit, rel, thr, kind, secs))
    out = []
    for (sid, name), rows in by_check.items():
        rel = rows[0][4]
        figs = [r[2] for r in rows]
        worst = max(figs) if rel == "<=" else min(figs)
        failed = tuple(r[0] for r in rows if not r[1])
        out.append(SeedSummary(sid, name, rows[0][6], len(rows), len(failed), failed, float(worst), rows[0][3], rel,
                               float(rows[0][5]), float(sum(r[7] for r in rows))))
    return out
