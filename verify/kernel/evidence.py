r"""Evidence kinds: one constructor per kind, each owning the loop, the worst case, the seed and the verdict.

A proof module says *what* is checked; a constructor here says *how*.  Every constructor returns a
:class:`verify.kernel.statement.Check` whose ``run(rng, subject)`` takes the **subject** -- the closed form (or the
quantity) under test -- as an argument, so that the same check can be run on a planted wrong subject.
Every check declares at least one :class:`Mutant`: a wrong subject it must reject.  ``verify run --mutants``
and the test suite run each check on each of its mutants and fail when the check stays green.

Kinds (open registry: :func:`register_kind`; a new kind is one constructor plus its entry in the shared test
class ``tests/test_evidence.py``):

=================  ==============================================================================
constructor        figure and verdict
=================  ==============================================================================
:func:`agreement`  agreeing significant digits of subject and an *independent* reference, worst point
:func:`enclosure`  certified: every Arb ball of the definition contains the subject (``arb.contains``)
                   *and* the balls are narrow (certified digits >= threshold)
:func:`z_test`     Monte Carlo: max |z| of estimates of the definition against the subject; the detail
                   states the smallest relative error the check can see
:func:`rate`       Monte Carlo over a grid of L: estimates of (finite-L quantity - subject's limit) decay
                   like L^{-p} with p >= the declared exponent (a wrong limit leaves a plateau: p ~ 0)
:func:`rejection`  negative control: a wrong form (the subject) is rejected by at least the threshold
:func:`bound`      a figure per point (e.g. a gradient norm) against a threshold, worst point
=================  ==============================================================================

A figure that is NaN never passes: the worst case of any set containing NaN is a failure.

>>> import math
>>> from verify.numerics.montecarlo import stream
>>> chk = agreement("sqrt2", subject=lambda p: math.sqrt(p["x"]), reference=lambda p: 2 ** 0.5 * p["x"] ** 0.5 / 2 ** 0.5,
...                 points=[{"x": 2.0}], digits=14, kind="float64", mutants=[Mutant("cube root", lambda p: p["x"] ** (1 / 3))])
>>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="cube root").passed
(True, False)
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import mpmath
import numpy as np
from mpmath import mp

from verify.kernel.statement import Check, Mutant, Outcome, at_least, at_most, register_kind, kinds
from verify.numerics.montecarlo import DEFAULT_Z, Estimate, fit_rate

__all__ = [
    "Mutant",
    "agreement",
    "enclosure",
    "z_test",
    "rate",
    "rejection",
    "bound",
    "register_kind",
    "kinds",
    "digits_between",
    "scaled",
    "shifted",
]

Point = dict
Points = Callable[[np.random.Generator], Sequence[Point]] | Sequence[Point]


# ------------------------------------------------------------------------------------------ helpers


def _points(points: Points, rng: np.random.Generator) -> list[Point]:
    pts = list(points(rng) if callable(points) else points)
    if not pts:
        raise ValueError("points: a check needs at least one point")
    return pts


def _label(point: Point, k: int) -> str:
    if isinstance(point, dict) and "label" in point:
        return str(point["label"])
    if isinstance(point, dict) and "dim" in point:
        return f"point {k} (d={point['dim']})"
    return f"point {k}"


def _flat(value) -> list:
    """Entries of a scalar, numpy array, mpmath matrix or list as a flat list (mpmath numbers kept)."""
    if isinstance(value, mpmath.matrix):
        return [value[i, j] for i in range(value.rows) for j in range(value.cols)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            raise TypeError("value: complex values cannot be compared")
        return [float(x) for x in value.ravel()]
    return [value]


def _is_nan(x) -> bool:
    try:
        return bool(mpmath.isnan(x))
    except (TypeError, ValueError):
        return True


def digits_between(value, reference, cap: float | None = None) -> float:
    """Agreeing significant digits  -log10(max|value - ref| / max(1, max|ref|)), capped at ``cap`` (default
    the working precision); NaN anywhere gives 0 digits (NaN never counts as agreement).

    >>> digits_between([1.0, 2.0], [1.0, 2.0 + 2e-9])
    9.0
    >>> digits_between(float("nan"), 1.0), digits_between([float("inf"), 1.0], [float("inf"), 1.0])
    (0.0, 0.0)
    """
    v, r = _flat(value), _flat(reference)
    if len(v) != len(r):
        raise ValueError(f"value: shape differs from the reference ({len(v)} vs {len(r)} entries)")
    top = float(mp.dps if cap is None else cap)
    if any(_is_nan(x) or mpmath.isinf(x) for x in v + r):
        return 0.0  # NaN or an infinity (inf - inf is NaN, which max() would skip) never agrees
    err = max(abs(mpmath.mpf(a) - mpmath.mpf(b)) for a, b in zip(v, r))
    scale = max([mpmath.mpf(1)] + [abs(mpmath.mpf(b)) for b in r])
    rel = err / scale
    if rel == 0:
        return top
    if mpmath.isinf(rel):
        return 0.0
    return max(0.0, min(top, round(float(-mpmath.log10(rel)), 2)))


def scaled(subject: Callable, factor) -> Callable:
    """The mutant ``factor * subject`` (e.g. 1.01 x the closed form: a 1% error).  For mpmath subjects pass the
    factor as a string ("1.0000000000000000000001") so that it is exact at the working precision."""
    return lambda *a, **k: _scale(subject(*a, **k), factor)


def shifted(subject: Callable, offset) -> Callable:
    """The mutant ``subject + offset``."""
    return lambda *a, **k: subject(*a, **k) + offset


def _scale(value, factor):
    """value * factor; mpmath values are multiplied at the working precision by an exact factor (a string
    such as "1.00000001" keeps every digit)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_scale(v, factor) for v in value)
    if isinstance(value, (mpmath.matrix, mpmath.mpf)):
        return value * mpmath.mpf(factor)
    if isinstance(value, np.ndarray) or isinstance(value, (int, float, np.floating)):
        return value * float(factor)
    return value * factor


def _worst(figures: list[tuple[float, str]], relation: str) -> tuple[float, str]:
    """Worst (figure, label): the minimum for '>=' checks, the maximum for '<='; NaN is the worst of all."""
    for f, lab in figures:
        if f is None or (isinstance(f, float) and math.isnan(f)):
            return (-math.inf if relation == ">=" else math.inf), lab + " (NaN)"
    pick = min if relation == ">=" else max
    return pick(figures, key=lambda t: t[0])


def _outcome(figure: float, threshold: float, relation: str, unit: str, detail: str) -> Outcome:
    return (at_least if relation == ">=" else at_most)(figure, threshold, unit, detail)


def _make(name, kind, subject, mutants, run, description, slow) -> Check:
    return Check(name=name, kind=kind, run=run, description=description, slow=slow, subject=subject,
                 mutants=tuple(mutants))


# ------------------------------------------------------------------------------------------ kinds


def bound(name: str, subject: Any, figure: Callable[[Point, Any], float], points: Points, *, threshold: float,
          relation: str = "<=", unit: str = "", kind: str = "float64", mutants: Iterable[Mutant],
          description: str = "", slow: bool = False, what: str = "") -> Check:
    """The generic worst case: ``figure(point, subject)`` at every point against ``threshold``.

    Every other kind is this loop with a figure of its own.  ``what`` names the figure in the detail line.
    """

    def run(rng, subj):
        pts = _points(points, rng)
        figs = [(float(figure(p, subj)), _label(p, k)) for k, p in enumerate(pts)]
        worst, where = _worst(figs, relation)
        detail = f"{what or unit or 'figure'}: worst {worst:.4g} at {where} over {len(pts)} points"
        return _outcome(worst, threshold, relation, unit, detail)

    return _make(name, kind, subject, mutants, run, description, slow)


def agreement(name: str, subject: Callable[[Point], Any], reference: Callable[[Point], Any], points: Points, *,
              digits: float, kind: str = "quadrature", dps: int | None = None, mutants: Iterable[Mutant],
              description: str = "", slow: bool = False, reference_name: str = "the reference") -> Check:
    """Agreeing digits of ``subject(point)`` and an independent ``reference(point)``; passes when the worst
    point agrees to ``digits``.  With ``dps`` both are evaluated at that working precision (mpmath); the cap
    on the figure is the precision (``dps``, or 16 for float64 references)."""
    cap = float(dps) if dps else 16.0

    def figure(p, subj):
        if dps:
            with mp.workdps(dps):
                return digits_between(subj(p), reference(p), cap=cap)
        return digits_between(subj(p), reference(p), cap=cap)

    inner = bound(name, subject, figure, points, threshold=digits, relation=">=", unit="digits", kind=kind,
                  mutants=mutants, description=description, slow=slow, what=f"agreeing digits with {reference_name}")
    return inner


def enclosure(name: str, subject: Callable[[Point], Sequence], enclose: Callable[[Point], Sequence], points: Points, *,
              digits: float, mutants: Iterable[Mutant], dps: int = 80, description: str = "", slow: bool = False,
              kind: str = "certified") -> Check:
    """Certified: ``enclose(point)`` returns Arb balls (python-flint ``arb``) that provably contain the
    definition's value; every ball must contain ``subject(point)`` (evaluated at ``dps`` digits and widened by
    its own rounding, 10^-(dps-5)), tested with Arb's ``contains``, *and* the balls must be narrow: the figure
    is the certified digits -log10(rad / max(1, |mid|)) of the widest ball, 0 when a ball misses the subject."""
    import flint

    def run(rng, subj):
        pts = _points(points, rng)
        outside, widest = [], math.inf
        for k, p in enumerate(pts):
            balls = list(enclose(p))
            with mp.workdps(dps):
                value = subj(p)
            saved = flint.ctx.prec
            try:
                flint.ctx.prec = int(dps * 3.33) + 64  # the subject's decimal string converts without loss
                widest = _enclose_point(flint, balls, value, dps, _label(p, k), outside, widest)
            finally:
                flint.ctx.prec = saved
        if outside:
            return at_least(0.0, digits, "digits", f"subject OUTSIDE the certified enclosure at {', '.join(outside[:4])}")
        return at_least(round(widest, 1), digits, "digits",
                        f"{len(pts)} points: every Arb ball contains the subject; certified digits >= {widest:.1f}")

    return _make(name, kind, subject, mutants, run, description, slow)


def _enclose_point(flint, balls, value, dps: int, label: str, outside: list, widest: float) -> float:
    """Containment of one point's subject in its balls (each widened by the subject's rounding 10^-(dps-5)),
    appending misses to ``outside``; returns the running narrowest certified-digits figure."""
    balls = list(balls)
    with mp.workdps(dps):
        values = _flat(value)
        if len(values) != len(balls):
            raise ValueError(f"subject: {len(values)} entries, the enclosure has {len(balls)}")
        for i, (ball, v) in enumerate(zip(balls, values)):
            if _is_nan(v):
                outside.append(f"{label} coordinate {i} (NaN)")
                continue
            widened = ball + flint.arb(0, f"1e-{dps - 5}")
            if not widened.contains(flint.arb(mpmath.nstr(mpmath.mpf(v), dps, strip_zeros=False))):
                outside.append(f"{label} coordinate {i}")
            rad, mid = float(ball.rad()), abs(float(ball.mid()))
            widest = min(widest, 80.0 if rad == 0 else -math.log10(rad / max(1.0, mid)))
    return widest


def z_test(name: str, subject: Callable[[Point], Any], estimate: Callable[[Point, np.random.Generator], Any],
           points: Points, *, mutants: Iterable[Mutant], z: float = DEFAULT_Z, kind: str = "montecarlo",
           description: str = "", slow: bool = False, resolve: float | None = None) -> Check:
    """Monte Carlo: ``estimate(point, rng)`` returns an :class:`Estimate` (or a list, one per coordinate) of the
    *definition*; ``subject(point)`` the claimed value(s).  Figure: the largest |z| over points and coordinates;
    passes when <= ``z``.

    An estimate its estimator flagged unreliable (:attr:`Estimate.warning`, e.g. a collapsed effective sample
    size), a NaN or an infinite figure never agrees: the check fails and says why.

    The detail states the power: the smallest relative error  z * stderr / |value|  that would give |z| >= ``z``
    on average.  With ``resolve`` (e.g. 0.01) the check *fails* when it cannot see a relative error that small,
    so an underpowered check never passes silently."""

    def run(rng, subj):
        pts = _points(points, rng)
        worst, where, signed, power, flagged = 0.0, "", [], 0.0, []
        for k, p in enumerate(pts):
            ests = estimate(p, rng)
            ests = ests if isinstance(ests, (list, tuple)) else [ests]
            values = _flat(subj(p))
            if len(values) != len(ests):
                raise ValueError(f"subject: {len(values)} values for {len(ests)} estimates")
            for i, (est, v) in enumerate(zip(ests, values)):
                if not isinstance(est, Estimate):
                    raise TypeError(f"estimate: expected an Estimate, got {type(est).__name__}")
                v = float(v)
                finite = math.isfinite(v) and math.isfinite(est.mean) and math.isfinite(est.stderr)
                zi = est.z(v) if finite else math.inf
                if not est.reliable:
                    flagged.append(f"{_label(p, k)}[{i}]: {est.warning}")
                    zi = math.inf
                signed.append(zi)
                if math.isnan(zi) or abs(zi) > worst or math.isinf(zi):
                    worst, where = (math.inf if math.isnan(zi) else abs(zi)), f"{_label(p, k)}[{i}]"
                if abs(v) > 0:
                    power = max(power, z * est.stderr / abs(v)) if finite else math.inf
        zs = ", ".join(f"{t:+.2f}" for t in signed[:8]) + (" ..." if len(signed) > 8 else "")
        detail = (f"z: {zs}; worst |z| {worst:.3g} at {where}; smallest detectable relative error "
                  f"{power:.2g} (|z| >= {z:g})")
        if flagged:
            return at_most(math.inf, z, "|z|", f"UNRELIABLE estimate at {'; '.join(flagged[:2])}; " + detail)
        if resolve is not None and not power <= resolve:
            return at_most(math.inf, z, "|z|", f"UNDERPOWERED: cannot see a relative error of {resolve:g}; " + detail)
        return at_most(worst, z, "|z|", detail)

    return _make(name, kind, subject, mutants, run, description, slow)


def rate(name: str, subject: Any, gap: Callable[[int, np.random.Generator, Any], Estimate], Ls: Sequence[int], *,
         exponent: float, mutants: Iterable[Mutant], kind: str = "montecarlo", description: str = "",
         slow: bool = False) -> Check:
    r"""Convergence to the subject: ``gap(L, rng, subject)`` estimates (finite-L quantity) - (subject's limit),
    which must be significantly positive and decay like L^{-p}.  The fitted exponent's confidence interval
    (:func:`verify.numerics.montecarlo.fit_rate`, widened when one power law does not fit) must lie below
    -``exponent``: figure = the upper end of the interval, passes when <= -exponent.  A wrong limit leaves a
    plateau (exponent near 0) or a gap that is not positive at some L, and fails."""

    def run(rng, subj):
        ests = [gap(L, rng, subj) for L in Ls]
        lines = "; ".join(f"L={L}: {e.mean:.3g}+-{e.stderr:.1g}" for L, e in zip(Ls, ests))
        try:
            fit = fit_rate(Ls, ests)
        except ValueError as exc:
            return at_most(math.inf, -exponent, "exponent", f"no power law: {exc}; {lines}")
        hi = fit.interval[1]
        return at_most(round(hi, 4), -exponent, "exponent",
                       f"{lines}; {fit}; needs the CI below -{exponent:g}")

    return _make(name, kind, subject, mutants, run, description, slow)


def rejection(name: str, subject: Any, discrepancy: Callable[[Point, Any, np.random.Generator], float], points: Points,
              *, threshold: float, unit: str, mutants: Iterable[Mutant], kind: str = "negative-control",
              description: str = "", slow: bool = False, what: str = "") -> Check:
    """Negative control: the subject is a *wrong* form and ``discrepancy(point, subject, rng)`` must reach
    ``threshold`` at every point (e.g. |z| >= 5, or a gap >= 0.1).  Its mutant is a right form, which the
    control must not reject."""

    def run(rng, subj):
        pts = _points(points, rng)
        figs = [(float(discrepancy(p, subj, rng)), _label(p, k)) for k, p in enumerate(pts)]
        worst, where = _worst(figs, ">=")
        return at_least(worst, threshold, unit,
                        f"{what or 'discrepancy'}: smallest {worst:.4g} at {where} over {len(pts)} points")

    return _make(name, kind, subject, mutants, run, description, slow)
