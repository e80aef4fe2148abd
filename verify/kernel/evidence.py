r"""Evidence kinds: one constructor per kind, each owning the loop, the worst case, the seed and the verdict.

A proof module says *what* is checked; a constructor here says *how*.  Every constructor returns a
:class:`verify.kernel.statement.Check` split in two: ``prepare(rng)`` computes, once, what does not depend on the
statement under test (the points, the reference values, the Monte Carlo estimates, the trajectories), and
``score(prepared, subject)`` compares the **subject** -- the closed form (or the quantity) under test, or a planted
mutant of it -- with that preparation, drawing no randomness.  Scoring a hundred mutants costs one preparation.
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
:func:`trajectory` a figure measured on a trajectory (an error-controlled flow, a descent run) per point:
                   a reference trajectory prepared once, or one driven by the subject (a planted field)
=================  ==============================================================================

A figure that is NaN never passes: the worst case of any set containing NaN is a failure.

>>> import math
>>> from verify.numerics.montecarlo import stream
>>> chk = agreement("sqrt2", subject=lambda p: math.sqrt(p["x"]), reference=lambda p: 2 ** 0.5 * p["x"] ** 0.5 / 2 ** 0.5,
...                 points=[{"x": 2.0}], digits=14, kind="float64", mutants=[Mutant("cube root", lambda p: p["x"] ** (1 / 3))])
>>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="cube root").passed
(True, False)
>>> prepared = chk.prepare(stream(0, "doc"))          # the reference, once
>>> [chk.score(prepared, m.subject).passed for m in chk.mutants]
[False]
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import mpmath
from mpmath import mp

from verify._validation import real
from verify.kernel.compare import digits_between, flat_entries, is_nan
from verify.kernel.statement import Check, Mutant, Outcome, at_least, at_most, kinds, register_kind
from verify.numerics.montecarlo import DEFAULT_Z, Estimate, fit_rate

__all__ = [
    "Mutant",
    "agreement",
    "enclosure",
    "z_test",
    "rate",
    "rejection",
    "bound",
    "trajectory",
    "register_kind",
    "kinds",
    "digits_between",
    "scaled",
    "shifted",
]

Point = dict
Points = Callable[..., Sequence[Point]] | Sequence[Point]


# ------------------------------------------------------------------------------------------ helpers


def _points(points: Points, rng) -> list[Point]:
    pts = list(points(rng) if callable(points) else points)
    if not pts:
        raise ValueError("points: a check needs at least one point")
    return pts


def _prepare_points(points: Points, prepare_point: Callable | None) -> Callable:
    """``prepare(rng)``: the points, each with what ``prepare_point(point, rng)`` computes for it, in order (the
    generator is consumed point after point, as a single loop would)."""

    def prepare(rng):
        pts = _points(points, rng)
        return [(p, None if prepare_point is None else prepare_point(p, rng)) for p in pts]

    return prepare


def _label(point: Point, k: int) -> str:
    if isinstance(point, dict) and "label" in point:
        return str(point["label"])
    if isinstance(point, dict) and "dim" in point:
        return f"point {k} (d={point['dim']})"
    return f"point {k}"


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
    import numpy as np

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


DEFAULT_BUDGET, SLOW_BUDGET = 120.0, 1800.0
"""Seconds a check's preparation (and each scoring) may take by default: the default suite's checks and the slow ones."""


def _make(name, kind, subject, mutants, prepare, score, description, slow, adapter=None, budget=None) -> Check:
    """The Check; with an ``adapter``, a SymPy subject (the closed form) becomes the check's subject through it; the
    budget defaults to :data:`DEFAULT_BUDGET`, or :data:`SLOW_BUDGET` for a slow check."""
    budget = (SLOW_BUDGET if slow else DEFAULT_BUDGET) if budget is None else budget
    if adapter is not None:
        import sympy as sp

        if isinstance(subject, sp.Basic):
            subject = adapter(subject)
    return Check(name=name, kind=kind, prepare=prepare, score=score, description=description, slow=slow,
                 subject=subject, mutants=tuple(mutants), adapter=adapter, budget=budget)


# ------------------------------------------------------------------------------------------ kinds


def bound(name: str, subject: Any, figure: Callable, points: Points, *, threshold: float, relation: str = "<=",
          unit: str = "", kind: str = "float64", mutants: Iterable[Mutant], description: str = "", slow: bool = False,
          what: str = "", prepare: Callable[[Point, Any], Any] | None = None, _worst_word: str = "worst",
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    """The generic worst case: a figure at every point against ``threshold``.

    Without ``prepare`` the figure is ``figure(point, subject)``.  With ``prepare(point, rng)`` (what the figure
    needs that does not depend on the subject: a reference value, a sample) it is ``figure(point, prepared,
    subject)``, and the preparation is computed once for any number of subjects.  Every other kind is this loop
    with a figure of its own.  ``what`` names the figure in the detail line.

    >>> import math
    >>> from verify.numerics.montecarlo import stream
    >>> chk = bound("|sin x| <= 1", subject=math.sin, figure=lambda p, subj: abs(subj(p["x"])),
    ...             points=[{"x": x} for x in (0.5, 1.5, 3.0)], threshold=1.0,
    ...             mutants=[Mutant("2 sin x", lambda x: 2 * math.sin(x))])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="2 sin x").passed
    (True, False)
    """

    def score(prepared, subj):
        if prepare is None:
            figs = [(float(figure(p, subj)), _label(p, k)) for k, (p, _) in enumerate(prepared)]
        else:
            figs = [(float(figure(p, ref, subj)), _label(p, k)) for k, (p, ref) in enumerate(prepared)]
        worst, where = _worst(figs, relation)
        detail = f"{what or unit or 'figure'}: {_worst_word} {worst:.4g} at {where} over {len(prepared)} points"
        return _outcome(worst, threshold, relation, unit, detail)

    return _make(name, kind, subject, mutants, _prepare_points(points, prepare), score, description, slow, adapter, budget)


def agreement(name: str, subject: Callable[[Point], Any], reference: Callable[[Point], Any], points: Points, *,
              digits: float, kind: str = "quadrature", dps: int | None = None, mutants: Iterable[Mutant],
              description: str = "", slow: bool = False, reference_name: str = "the reference",
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    """Agreeing digits (:func:`verify.kernel.compare.digits_between`) of ``subject(point)`` and an independent
    ``reference(point)``; passes when the worst point agrees to ``digits``.  The reference is prepared once per
    point.  With ``dps`` both are evaluated at that working precision (mpmath); the cap on the figure is the
    precision (``dps``, or 16 for float64 references).

    >>> import math
    >>> from verify.numerics.montecarlo import stream
    >>> chk = agreement("sqrt", subject=lambda p: math.sqrt(p["x"]), reference=lambda p: math.exp(math.log(p["x"]) / 2),
    ...                 points=[{"x": 2.0}, {"x": 3.0}], digits=14, kind="float64",
    ...                 mutants=[Mutant("cube root", lambda p: p["x"] ** (1 / 3))])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="cube root").passed
    (True, False)
    """
    cap = float(dps) if dps else 16.0

    def reference_at(p, rng):
        if dps:
            with mp.workdps(dps):
                return reference(p)
        return reference(p)

    def figure(p, ref, subj):
        if dps:
            with mp.workdps(dps):
                return digits_between(subj(p), ref, cap=cap)
        return digits_between(subj(p), ref, cap=cap)

    return bound(name, subject, figure, points, threshold=digits, relation=">=", unit="digits", kind=kind,
                 mutants=mutants, description=description, slow=slow, what=f"agreeing digits with {reference_name}",
                 prepare=reference_at, adapter=adapter, budget=budget)


def enclosure(name: str, subject: Callable[[Point], Sequence], enclose: Callable[[Point], Sequence], points: Points, *,
              digits: float, mutants: Iterable[Mutant], dps: int = 80, description: str = "", slow: bool = False,
              kind: str = "certified",
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    """Certified: ``enclose(point)`` returns Arb balls (python-flint ``arb``) that provably contain the
    definition's value; every ball must contain ``subject(point)`` (evaluated at ``dps`` digits and widened by
    its own rounding, 10^-(dps-5)), tested with Arb's ``contains``, *and* the balls must be narrow: the figure
    is the certified digits -log10(rad / max(1, |mid|)) of the widest ball, 0 when a ball misses the subject.
    The balls are prepared once per point.

    >>> import math, flint
    >>> from verify.numerics.montecarlo import stream
    >>> chk = enclosure("pi", subject=lambda p: [math.pi], enclose=lambda p: [flint.arb.pi()], points=[{}], digits=15,
    ...                 dps=15, mutants=[Mutant("22/7", lambda p: [22 / 7])])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="22/7").passed
    (True, False)
    """

    def score(prepared, subj):
        import flint

        outside, widest = [], math.inf
        for k, (p, balls) in enumerate(prepared):
            with mp.workdps(dps):
                value = subj(p)
            with flint.ctx.workprec(int(dps * 3.33) + 64):  # the subject's decimal string converts without loss
                widest = _enclose_point(flint, balls, value, dps, _label(p, k), outside, widest)
        if outside:
            return at_least(0.0, digits, "digits", f"subject OUTSIDE the certified enclosure at {', '.join(outside[:4])}")
        return at_least(round(widest, 1), digits, "digits",
                        f"{len(prepared)} points: every Arb ball contains the subject; certified digits >= {widest:.1f}")

    return _make(name, kind, subject, mutants, _prepare_points(points, lambda p, rng: list(enclose(p))), score,
                 description, slow, adapter, budget)


def _enclose_point(flint, balls, value, dps: int, label: str, outside: list, widest: float) -> float:
    """Containment of one point's subject in its balls (each widened by the subject's rounding 10^-(dps-5)),
    appending misses to ``outside``; returns the running narrowest certified-digits figure."""
    balls = list(balls)
    with mp.workdps(dps):
        values = flat_entries(value)
        if len(values) != len(balls):
            raise ValueError(f"subject: {len(values)} entries, the enclosure has {len(balls)}")
        for i, (ball, v) in enumerate(zip(balls, values)):
            if is_nan(v):
                outside.append(f"{label} coordinate {i} (NaN)")
                continue
            widened = ball + flint.arb(0, f"1e-{dps - 5}")
            if not widened.contains(flint.arb(mpmath.nstr(mpmath.mpf(v), dps, strip_zeros=False))):
                outside.append(f"{label} coordinate {i}")
            rad, mid = float(ball.rad()), abs(float(ball.mid()))
            widest = min(widest, 80.0 if rad == 0 else -math.log10(rad / max(1.0, mid)))
    return widest


def z_test(name: str, subject: Any, estimate: Callable, points: Points, *, mutants: Iterable[Mutant],
           z: float = DEFAULT_Z, kind: str = "montecarlo", description: str = "", slow: bool = False,
           resolve: float | None = None, value: Callable[[Point, Any], Any] | None = None,
           driven: bool = False,
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    """Monte Carlo: ``estimate(point, rng)`` returns an :class:`Estimate` (or a list, one per coordinate) of the
    *definition*, prepared once; ``subject(point)`` the claimed value(s).  Figure: the largest |z| over points and
    coordinates; passes when <= ``z``.

    An estimate its estimator flagged unreliable (:attr:`Estimate.warning`, e.g. a collapsed effective sample
    size), a NaN or an infinite figure never agrees: the check fails and says why.

    The detail states the power: the smallest relative error  z * stderr / |value|  that would give |z| >= ``z``
    on average; and the false-alarm rate per comparison, P(|T| > z) for the distribution the statistic really has
    (Student-t with the estimate's degrees of freedom: batches - 1 for batch means, not the normal).  With ``resolve`` (e.g. 0.01) the check *fails* when it cannot see a relative error that small,
    so an underpowered check never passes silently.

    ``value(point, subject)`` gives the claimed value(s) when the subject is not itself a function of the point.
    With ``driven=True`` the simulation depends on the subject (e.g. a forward pass at weights the claim names):
    ``estimate(point, rng, subject)`` is run when each subject is scored, on the same random numbers (the
    preparation keeps the generator's state), so the true subject and its mutants see the same draws.

    >>> import math
    >>> from verify.numerics.montecarlo import stream
    >>> def mean_of_draws(p, rng):  # the definition, E X for X ~ N(mu, 1), by Monte Carlo
    ...     x = rng.normal(p["mu"], 1.0, 10_000)
    ...     return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), x.size)
    >>> chk = z_test("mean", subject=lambda p: p["mu"], estimate=mean_of_draws, points=[{"mu": 0.5}],
    ...              mutants=[Mutant("mu + 0.1", lambda p: p["mu"] + 0.1)])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="mu + 0.1").passed
    (True, False)
    """
    claimed = value if value is not None else (lambda p, subj: subj(p))

    def prepare(rng):
        pts = _points(points, rng)
        if driven:
            return {"points": pts, "state": rng.bit_generator.state, "bitgen": type(rng.bit_generator)}
        return [(p, estimate(p, rng)) for p in pts]

    def estimates(prepared, subj):
        if not driven:
            return prepared
        import numpy as np

        replay = np.random.Generator(prepared["bitgen"]())
        replay.bit_generator.state = prepared["state"]
        return [(p, estimate(p, replay, subj)) for p in prepared["points"]]

    def score(prepared, subj):
        worst, where, signed, power, flagged, alarm = 0.0, "", [], 0.0, [], 0.0
        for k, (p, ests) in enumerate(estimates(prepared, subj)):
            ests = ests if isinstance(ests, (list, tuple)) else [ests]
            values = flat_entries(claimed(p, subj))
            if len(values) != len(ests):
                raise ValueError(f"subject: {len(values)} values for {len(ests)} estimates")
            for i, (est, v) in enumerate(zip(ests, values)):
                if not isinstance(est, Estimate):
                    raise TypeError(f"estimate: expected an Estimate, got {type(est).__name__}")
                alarm = max(alarm, est.false_alarm(z))
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
                  f"{power:.2g} (|z| >= {z:g}); false-alarm rate per comparison {alarm:.2g}")
        if flagged:
            return Outcome(math.inf, z, "<=", "|z|", f"UNRELIABLE estimate at {'; '.join(flagged[:2])}; " + detail, alarm)
        if resolve is not None and not power <= resolve:
            return Outcome(math.inf, z, "<=", "|z|",
                           f"UNDERPOWERED: cannot see a relative error of {resolve:g}; " + detail, alarm)
        return Outcome(float(worst), float(z), "<=", "|z|", detail, alarm)

    return _make(name, kind, subject, mutants, prepare, score, description, slow, adapter, budget)


def rate(name: str, subject: Any, sample: Callable[[int, Any], Any], gap: Callable[[int, Any, Any], Estimate],
         Ls: Sequence[int], *, exponent: float, mutants: Iterable[Mutant], kind: str = "montecarlo",
         description: str = "", slow: bool = False,
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    r"""Convergence to the subject: ``sample(L, rng)`` draws, once per L, what the finite-L estimate needs (a
    Monte Carlo sample or estimate, a training run); ``gap(L, sampled, subject)`` turns it into an estimate of
    (finite-L quantity) - (subject's limit), which must be significantly positive and decay like L^{-p}.  The
    fitted exponent's confidence interval (:func:`verify.numerics.montecarlo.fit_rate`, widened when one power law
    does not fit) must lie below -``exponent``: figure = the upper end of the interval, passes when <= -exponent.
    A wrong limit leaves a plateau (exponent near 0) or a gap that is not positive at some L, and fails.

    >>> import math
    >>> from verify.numerics.montecarlo import stream
    >>> def sample(L, rng):  # 4000 means of L draws of N(1, 1)
    ...     return rng.normal(1.0, 1.0, (4000, L)).mean(axis=1)
    >>> def gap(L, means, limit):  # E (mean of L draws - limit)^2 = 1/L at the right limit
    ...     e = (means - limit) ** 2
    ...     return Estimate(float(e.mean()), float(e.std(ddof=1) / math.sqrt(e.size)), e.size)
    >>> chk = rate("mean of L draws", subject=1.0, sample=sample, gap=gap, Ls=[10, 30, 100, 300], exponent=0.5,
    ...            mutants=[Mutant("limit 1.1", 1.1)])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="limit 1.1").passed
    (True, False)
    """
    Ls = list(Ls)

    def prepare(rng):
        return [(L, sample(L, rng)) for L in Ls]

    def score(prepared, subj):
        ests = [gap(L, s, subj) for L, s in prepared]
        lines = "; ".join(f"L={L}: {e.mean:.3g}+-{e.stderr:.1g}" for L, e in zip(Ls, ests))
        try:
            fit = fit_rate(Ls, ests)
        except ValueError as exc:
            return at_most(math.inf, -exponent, "exponent", f"no power law: {exc}; {lines}")
        hi = fit.interval[1]
        return at_most(round(hi, 4), -exponent, "exponent",
                       f"{lines}; {fit}; needs the CI below -{exponent:g}")

    return _make(name, kind, subject, mutants, prepare, score, description, slow, adapter, budget)


def rejection(name: str, subject: Any, discrepancy: Callable[[Point, Any, Any], float], points: Points, *,
              threshold: float, unit: str, mutants: Iterable[Mutant], kind: str = "negative-control",
              description: str = "", slow: bool = False, what: str = "",
              prepare: Callable[[Point, Any], Any] | None = None,
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    """Negative control: the subject is a *wrong* form and ``discrepancy(point, prepared, subject)`` must reach
    ``threshold`` at every point (e.g. |z| >= 5, or a gap >= 0.1); ``prepared`` is what ``prepare(point, rng)``
    computed once for the point (an estimate of the definition, a reference trajectory; None without
    ``prepare``).  Its mutant is a right form, which the control must not reject.

    >>> from verify.numerics.montecarlo import stream
    >>> chk = rejection("x^3 is not x^2", subject=lambda p: p["x"] ** 3, points=[{"x": 2.0}, {"x": 3.0}],
    ...                 discrepancy=lambda p, prepared, subj: abs(subj(p) - p["x"] ** 2), threshold=1.0, unit="gap",
    ...                 mutants=[Mutant("x^2 itself", lambda p: p["x"] ** 2)])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="x^2 itself").passed
    (True, False)
    """

    def figure(p, ref, subj):
        return discrepancy(p, ref, subj)

    return bound(name, subject, figure, points, threshold=threshold, relation=">=", unit=unit, kind=kind,
                 mutants=mutants, description=description, slow=slow, what=what or "discrepancy",
                 prepare=prepare or (lambda p, rng: None), _worst_word="smallest", adapter=adapter,
                 budget=budget)


def trajectory(name: str, subject: Any, points: Points, *, figure: Callable[[Point, Any, Any], float],
               threshold: float, relation: str = "<=", unit: str = "", mutants: Iterable[Mutant],
               reference: Callable[[Point], Any] | None = None, driven: Callable[[Point, Any], Any] | None = None,
               kind: str = "trajectory", description: str = "", slow: bool = False, what: str = "",
          adapter: Callable | None = None, budget: float | None = None) -> Check:
    r"""Evidence kind ``trajectory``: a figure measured on a trajectory at every point, the worst point against
    ``threshold`` (``relation`` '<=' or '>=').

    Exactly one of:

    * ``reference(point)``: a trajectory that does not depend on the subject (an error-controlled flow of the
      definition, a descent run), integrated once in the preparation; ``figure(point, trajectory, subject)``
      compares the subject with it;
    * ``driven(point, subject)``: a trajectory the subject drives (a planted gradient field integrated), computed
      when each subject is scored.

    A trajectory's ``method`` and ``t`` (:class:`verify.numerics.ode.Trajectory`) go into the detail line.  A
    diverged trajectory, or a NaN/inf figure, is the worst possible figure (never a pass).

    >>> import numpy as np
    >>> from verify.numerics.montecarlo import stream
    >>> from verify.numerics.ode import integrate
    >>> chk = trajectory("y' = -k y", subject=lambda k, t: np.exp(-k * t), points=[{"k": 0.5}, {"k": 2.0}],
    ...                  reference=lambda p: integrate(lambda t, y: -p["k"] * y, [1.0], 3.0, rtol=1e-12, atol=1e-14),
    ...                  figure=lambda p, tr, subj: float(np.max(np.abs(tr.y[:, 0] - subj(p["k"], tr.t)))),
    ...                  threshold=1e-9, mutants=[Mutant("exp(-t)", lambda k, t: np.exp(-t))])
    >>> chk.outcome(stream(0, "doc")).passed, chk.outcome(stream(0, "doc"), mutant="exp(-t)").passed
    (True, False)
    """
    if relation not in ("<=", ">="):
        raise ValueError(f"relation: expected '<=' or '>=', got {relation!r}")
    if (reference is None) == (driven is None):
        raise ValueError("reference, driven: give exactly one way to obtain the trajectory")
    threshold = real(threshold, "threshold")
    bad = math.inf if relation == "<=" else -math.inf

    def prepare_point(p, rng):
        return reference(p) if reference is not None else None

    def score(prepared, subj):
        worst, where, how = None, "", ""
        for k, (p, ref) in enumerate(prepared):
            pth = ref if reference is not None else driven(p, subj)
            f = bad if getattr(pth, "diverged", False) else float(figure(p, pth, subj))
            f = bad if math.isnan(f) else f
            if worst is None or (f > worst if relation == "<=" else f < worst):
                worst, where = f, _label(p, k)
                how = f"{getattr(pth, 'method', '')}, {len(getattr(pth, 't', ()))} records, t <= {_t_end(pth):.4g}"
        detail = f"{what or unit or 'figure'}: worst {worst:.4g} at {where} ({how}) over {len(prepared)} points"
        return _outcome(worst, threshold, relation, unit, detail)

    return _make(name, kind, subject, mutants, _prepare_points(points, prepare_point), score, description, slow,
                 adapter, budget)


def _t_end(p) -> float:
    t = getattr(p, "t", None)
    return float(t[-1]) if t is not None and len(t) else math.nan
