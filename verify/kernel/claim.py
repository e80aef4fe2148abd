"""Claims: what ``verify claim ID --formula EXPR`` checks, and its verdict.

A :class:`ClaimSpec` names the symbols, the expected shape and the reference points of one claim; each
:class:`ClaimPoint`'s reference is computed from the *definition* (quadrature, or an exact / certified
evaluation of it), never from the paper's formula.  :func:`check_formula` parses the user's formula through the
whitelist of :mod:`verify.kernel.formula` (it is never run as Python), evaluates it at every point and compares
it with the reference by :func:`verify.kernel.compare.relative_error`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import mpmath
from mpmath import mp

from verify.kernel.compare import all_finite, relative_error
from verify.kernel.formula import Value, compile_formula, evaluate

__all__ = ["ClaimSpec", "ClaimPoint", "Verdict", "PointRow", "check_formula", "compare_with_definition", "difference_at", "select_points", "decide_claim", "hints"]


@dataclass(frozen=True)
class ClaimPoint:
    """One parameter point: the dimension, the numeric values of the symbols, the reference value."""

    dim: int
    values: dict
    reference: object  # mpmath matrix (vector) or mpf
    cases: frozenset = frozenset()  # names of the spec's hypotheses this point satisfies (see ClaimSpec.assumptions)


@dataclass(frozen=True)
class ClaimSpec:
    """What ``verify claim ID`` needs: the symbols, the expected shape, and reference points.

    ``points(seed)`` returns :class:`ClaimPoint`s whose reference is computed from the *definition*
    (quadrature, or an exact / certified evaluation of the definition where quadrature is out of reach; say
    which in ``coverage``), independently of any closed form.

    ``assumptions`` names the hypotheses a user may impose with ``verify claim --assume NAME`` (e.g.
    ``"centred": "m = 0"``); a point lists those it satisfies in ``ClaimPoint.cases``, and ``--assume`` keeps
    only such points, so a form valid only under a hypothesis is accepted there and rejected off it.
    ``equivalents`` are true rewritings of ``example`` (the selftest accepts each), ``wrong_examples`` the
    planted wrong forms (the selftest rejects each), ``conditional_examples`` (formula, hypotheses) pairs of
    forms true only under the named hypotheses (accepted with ``--assume`` them, rejected without).
    """

    id: str
    statement_id: str
    summary: str
    symbols_help: str
    example: str
    expected_shape: Callable[[int], tuple]
    points: Callable[[int], Sequence[ClaimPoint]]
    tolerance: float = 1e-20
    dps: int = 40
    wrong_examples: Sequence[str] = field(default_factory=tuple)
    equivalents: Sequence[str] = field(default_factory=tuple)
    assumptions: Mapping[str, str] = field(default_factory=dict)
    conditional_examples: Sequence[tuple] = field(default_factory=tuple)  # (formula, (hypothesis, ...)) pairs
    coverage: str = ""
    closed_form: str = ""
    """The statement's closed form in the claim grammar (default ``example``): what :func:`decide_claim` compares a
    formula with exactly.  The statement's evidence ties it to the definition."""
    domains: Mapping[str, str] = field(default_factory=dict)
    """Each symbol's kind (:data:`verify.kernel.decide.DOMAINS`: matrix, symmetric, spd, vector, scalar, positive,
    integer, identity): how an exact random point draws it."""
    hypotheses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """For each name of ``assumptions``, the substitutions that impose it on an exact point (symbol -> formula in
    the claim grammar, e.g. ``{"m": "0*m"}`` for centred tokens)."""
    min_dim: int = 1

    @property
    def reference_formula(self) -> str:
        return self.closed_form or self.example


@dataclass(frozen=True)
class PointRow:
    """One reference point of the numeric comparison: where, what the formula gives, what the definition gives."""

    index: int
    dim: int
    cases: tuple
    value: str
    reference: str
    difference: float

    def to_dict(self) -> dict:
        return {"point": self.index, "d": self.dim, "cases": list(self.cases), "formula": self.value,
                "reference": self.reference, "relative_difference": self.difference}


@dataclass(frozen=True)
class Verdict:
    """The verdict of ``verify claim``: ``verdict`` is EQUAL (proved), DIFFERENT (certified counterexample) or
    UNDECIDED, from the exact comparison with the statement's closed form (:attr:`decision`); the numeric comparison
    with the *definition* at the claim's reference points is the second, independent line of evidence (``rows``,
    ``worst_error`` against ``tolerance``).  ``hints`` name the ``--assume`` options under which a DIFFERENT formula
    is EQUAL.  ``accepted`` is ``verdict == "EQUAL"``."""

    claim_id: str
    formula: str
    verdict: str
    worst_error: float
    tolerance: float
    n_points: int
    worst_dim: int
    detail: str = ""
    assumed: tuple = ()
    decision: Any = None
    rows: tuple = ()
    hints: tuple = ()

    @property
    def accepted(self) -> bool:
        return self.verdict == "EQUAL"

    @property
    def numeric_agrees(self) -> bool:
        return self.worst_error <= self.tolerance

    def to_dict(self) -> dict:
        d = {"claim": self.claim_id, "formula": self.formula, "verdict": self.verdict, "accepted": self.accepted,
             "assumed": list(self.assumed), "detail": self.detail, "hints": list(self.hints),
             "numeric": {"worst_relative_difference": self.worst_error, "tolerance": self.tolerance,
                         "points": self.n_points, "worst_d": self.worst_dim, "agrees": self.numeric_agrees,
                         "table": [r.to_dict() for r in self.rows]}}
        d["exact"] = self.decision.to_dict() if self.decision is not None else None
        return d


def _as_column(v: Value, shape: tuple):
    if shape == ():
        if not v.is_scalar:
            raise ValueError(f"formula: expected a scalar, got shape {v.shape}")
        return v.v
    if shape == (1, 1):  # at d = 1 every matrix is 1 x 1 and collapses to a scalar
        return mpmath.matrix([[v.v]]) if v.is_scalar else v.v
    if v.shape != shape:
        raise ValueError(f"formula: expected shape {shape}, got {v.shape or 'scalar'}")
    return v.v


@functools.lru_cache(maxsize=16)
def _cached_points(spec_id: str, points: Callable, seed: int):
    return tuple(points(seed))


def select_points(spec: ClaimSpec, points: Sequence[ClaimPoint], assume=()) -> tuple:
    """The points satisfying every hypothesis named in ``assume`` (``ValueError`` naming ``assume`` if one is
    unknown to the spec or no point satisfies them all)."""
    if isinstance(assume, str):
        assume = (assume,)
    assume = tuple(assume)
    for name in assume:
        if not isinstance(name, str) or name not in spec.assumptions:
            known = ", ".join(spec.assumptions) or "none"
            raise ValueError(f"assume: {name!r} is not a hypothesis of claim {spec.id} (known: {known})")
    kept = tuple(p for p in points if all(a in p.cases for a in assume))
    if not kept:
        raise ValueError(f"assume: no reference point of claim {spec.id} satisfies {', '.join(assume)}")
    return kept


def compare_with_definition(spec: ClaimSpec, formula: str, seed: int = 0, assume=()) -> tuple:
    """The numeric comparison of ``formula`` with the definition at the claim's reference points:
    (rows, worst relative difference, its d, the points used, the hypotheses assumed).

    Parse, shape, division-by-zero and singular-inverse errors raise ``ValueError`` (the CLI exits 2), as does a NaN
    or inf in any point's values or reference: NaN never counts as agreement."""
    compile_formula(formula, frozenset(spec.domains) if spec.domains else _symbols_of(spec, seed))  # syntax first
    pts = _cached_points(spec.id, spec.points, seed)
    if not pts:
        raise ValueError(f"claim {spec.id}: no reference points")
    assumed = tuple(sorted({assume} if isinstance(assume, str) else set(assume)))
    pts = select_points(spec, pts, assumed)
    rows, worst, worst_dim = [], None, 0
    with mp.workdps(spec.dps):
        for i, pt in enumerate(pts):
            where = f"point {i + 1} (d={pt.dim})"
            for name, v in pt.values.items():
                if not all_finite(v.v if isinstance(v, Value) else v):
                    raise ValueError(f"claim {spec.id}: symbol {name!r} at {where} is NaN or inf")
            if not all_finite(pt.reference):
                raise ValueError(f"claim {spec.id}: the reference at {where} is NaN or inf; refusing to judge")
            try:
                val = _stable_value(formula, pt.values, spec.expected_shape(pt.dim), spec.tolerance)
            except ValueError as exc:
                raise ValueError(f"{exc} (at the reference point {i + 1}, d={pt.dim})") from None
            err = relative_error(val, pt.reference)
            rows.append(PointRow(i + 1, pt.dim, tuple(sorted(pt.cases)), _short_value(val), _short_value(pt.reference),
                                 float(err)))
            if worst is None or err > worst:
                worst, worst_dim = err, pt.dim
    if worst is None:  # select_points never returns an empty selection
        raise ValueError(f"claim {spec.id}: no reference point to compare with")
    return tuple(rows), float(worst), worst_dim, pts, assumed


MAX_WORKING_DPS = 1280
"""The highest working precision (decimal digits) at which a formula is evaluated at a reference point."""


def _stable_value(formula: str, values: dict, shape, tolerance: float):
    """The formula's value at a reference point, free of its own rounding: evaluated at the working precision, then
    at twice that, doubling until two evaluations agree to ``tolerance``/1000 (relative).  A cancellation written
    into the formula (``... + 1e25*V*m - 1e25*V*m``) costs working digits, never a verdict; past
    :data:`MAX_WORKING_DPS` the last value stands (and the comparison with the definition judges it)."""
    val = _as_column(evaluate(formula, values), shape)
    dps = mp.dps
    while dps < MAX_WORKING_DPS:
        dps *= 2
        with mp.workdps(dps):
            again = _as_column(evaluate(formula, values), shape)
            settled = relative_error(val, again) <= tolerance / 1000
        val = again
        if settled:
            break
    return val


def _symbols_of(spec: ClaimSpec, seed: int) -> frozenset:
    pts = _cached_points(spec.id, spec.points, seed)
    return frozenset(pts[0].values) if pts else frozenset()


def _short_value(v) -> str:
    """A value for the table: a scalar or the first entries of a vector/matrix, 6 significant digits."""
    if isinstance(v, mpmath.matrix):
        entries = [v[i, j] for i in range(v.rows) for j in range(v.cols)]
        text = ", ".join(mpmath.nstr(e, 6) for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        return f"[{text}]"
    return mpmath.nstr(v, 6)


def check_formula(spec: ClaimSpec, formula: str, seed: int = 0, assume=(), *, budget_seconds: float = 30.0,
                  with_hints: bool = True) -> Verdict:
    """The verdict of ``formula`` for ``spec``: the exact decision against the closed form (when the claim declares
    its symbols' domains) and the numeric comparison with the definition at the reference points.

    Without domains the verdict follows the numeric comparison alone (EQUAL only ever comes from a proof: a numeric
    agreement is UNDECIDED).  ``ValueError`` for a formula that is not well formed or not of the claim's shape."""
    rows, worst, worst_dim, pts, assumed = compare_with_definition(spec, formula, seed, assume)
    under = f" under {', '.join(assumed)}" if assumed else ""
    numeric = (f"at {len(pts)} reference points{under} the definition differs from the formula by at most "
               f"{worst:.3g} (relative; tolerance {spec.tolerance:.0e}), worst at d = {worst_dim}")
    decision: Any = None
    hint: tuple[str, ...] = ()
    if spec.domains:
        decision = decide_claim(spec, formula, seed, assumed, budget_seconds)
        kind = decision.verdict
        if kind == "EQUAL" and worst > spec.tolerance:
            # f = g is proved; judge the closed form g against the definition: when g agrees, f's own evaluation
            # lost digits (a cancellation written into it) and f = g ~ definition stands; when g disagrees, the
            # closed form itself is in question, and that is never hidden
            _, worst_closed, _, _, _ = compare_with_definition(spec, spec.reference_formula, seed, assumed)
            if worst_closed <= spec.tolerance:
                numeric += (f"; the formula's own evaluation loses digits (cancellation), but it is proved equal to "
                            f"the closed form, which agrees with the definition to {worst_closed:.3g}")
            else:
                kind = "UNDECIDED"
                numeric += ("; the formula equals the closed form, yet the definition disagrees: the closed form is "
                            "in question")
        if kind != "EQUAL" and with_hints:
            hint = tuple(h for h in hints(spec, formula, seed) if not assumed or h.split()[-1] not in assumed)
        detail = f"{decision.detail}; {numeric}"
    else:
        kind = "DIFFERENT" if worst > spec.tolerance else "UNDECIDED"
        detail = numeric + "; no exact decision (the claim declares no symbol domains)"
    return Verdict(spec.id, formula, kind, worst, spec.tolerance, len(pts), worst_dim, detail, assumed, decision,
                   rows, hint)


def decide_claim(spec: ClaimSpec, formula: str, seed: int = 0, assume=(), budget_seconds: float = 30.0):
    """The exact decision (:func:`verify.kernel.decide.decide`) of ``formula`` against the claim's closed form:
    EQUAL (proved), DIFFERENT (certified counterexample) or UNDECIDED.  ``ValueError`` when the claim declares no
    symbol domains or an unknown hypothesis."""
    from verify.kernel.decide import decide

    if not spec.domains:
        raise ValueError(f"claim {spec.id}: declares no symbol domains, so it cannot be decided exactly")
    assume = (assume,) if isinstance(assume, str) else tuple(assume)
    for name in assume:
        if name not in spec.assumptions:
            known = ", ".join(spec.assumptions) or "none"
            raise ValueError(f"assume: {name!r} is not a hypothesis of claim {spec.id} (known: {known})")
    return decide(formula, spec.reference_formula, spec.domains, spec.expected_shape, hypotheses=spec.hypotheses,
                  assume=assume, seed=seed, min_dim=spec.min_dim, budget_seconds=budget_seconds)


def hints(spec: ClaimSpec, formula: str, seed: int = 0, budget_seconds: float = 10.0) -> list[str]:
    """The ``--assume`` options under which a formula that is not EQUAL outright is proved EQUAL: each declared
    hypothesis alone, or, when none suffices alone, all of them together."""

    def equal_under(cases) -> bool:
        try:
            return decide_claim(spec, formula, seed, cases, budget_seconds).verdict == "EQUAL"
        except ValueError:
            return False

    single = [f"--assume {n}" for n in spec.hypotheses if equal_under((n,))]
    if single or len(spec.hypotheses) < 2:
        return single
    every = tuple(spec.hypotheses)
    return [" ".join(f"--assume {n}" for n in every)] if equal_under(every) else []


def difference_at(spec: ClaimSpec, formula: str, counterexample) -> tuple | None:
    """Re-evaluate ``formula`` - the claim's closed form at a saved exact point (a
    :class:`verify.kernel.decide.Counterexample`, e.g. read back from ``--save-counterexample``), under the
    hypotheses it was found with: (enclosure string, bits, entry) of an entry whose Arb enclosure excludes 0, or None
    when the two agree there (every enclosure contains 0 up to the precision cap)."""
    from verify.kernel.decide import _from_fraction_values, difference_enclosure

    names = frozenset(spec.domains)
    missing = sorted(names - set(counterexample.values) - {k for a in counterexample.assumed
                                                            for k in spec.hypotheses.get(a, {})})
    if missing:
        raise ValueError(f"counterexample: no value for {', '.join(missing)} (is it a point of claim {spec.id}?)")
    subs = {sym: compile_formula(text, names) for a in counterexample.assumed for sym, text in spec.hypotheses[a].items()}
    return difference_enclosure(compile_formula(formula, names), compile_formula(spec.reference_formula, names),
                                _from_fraction_values(counterexample.values), subs)
