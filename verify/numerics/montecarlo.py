"""Monte Carlo estimates that carry their standard error.

An :class:`Estimate` is a sample mean with its standard error  s / sqrt(n).  A statistical check
compares it to a reference through the z-score  (mean - reference) / stderr  and passes when
|z| <= 5 (the house default), printing the z it saw.

>>> import numpy as np
>>> est = mean_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
>>> est.mean, round(est.stderr, 6), est.n
(2.5, 0.645497, 4)
>>> round(est.z(2.0), 4)
0.7746
>>> mean_estimate([1.0])
Traceback (most recent call last):
...
ValueError: samples: need at least 2 samples for a standard error, got 1
"""

from __future__ import annotations

import math
import numbers
import zlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

from verify._validation import as_array, nonnegative_float, positive_int, real

__all__ = ["Estimate", "mean_estimate", "batch_mean_estimate", "two_sided_tail", "stream", "DEFAULT_Z", "RateFit", "fit_rate"]

DEFAULT_Z = 5.0
"""Default threshold of every statistical check, in standard errors."""

ROUNDING_ULPS = 16
"""Differences within this many units in the last place are rounding: the floor of a z-score's standard error."""
_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean with its standard error and sample count.

    ``mean`` and ``stderr`` are finite real numbers (``stderr >= 0``) and ``n >= 1`` an integer; anything else
    raises ``TypeError``/``ValueError`` naming the field.  An estimator may attach a diagnostic: ``ess`` (e.g.
    the median effective sample size per prompt of a softmax estimator) and ``warning``, a non-empty reason
    when the estimate is unreliable (``reliable`` is then False, and no evidence check counts it as agreement).

    >>> Estimate(1.0, -0.1, 5)
    Traceback (most recent call last):
    ...
    ValueError: stderr: must be >= 0, got -0.1
    >>> Estimate(1.0, 0.1, 5, warning="collapsed").reliable
    False
    """

    mean: float
    stderr: float
    n: int
    ess: float | None = None
    warning: str = ""
    dof: float | None = None
    """Degrees of freedom of the standard error (n - 1 for i.i.d. samples, batches - 1 for batch means): the
    z-score of a right reference is Student-t with ``dof`` degrees of freedom; None means normal (a standard error
    known to high relative accuracy)."""

    def __post_init__(self):
        object.__setattr__(self, "mean", real(self.mean, "mean"))
        object.__setattr__(self, "stderr", nonnegative_float(self.stderr, "stderr"))
        object.__setattr__(self, "n", positive_int(self.n, "n"))
        if self.ess is not None:
            object.__setattr__(self, "ess", real(self.ess, "ess"))
        if not isinstance(self.warning, str):
            raise TypeError(f"warning: expected a string, got {type(self.warning).__name__}")
        if self.dof is not None:
            object.__setattr__(self, "dof", real(self.dof, "dof"))
            if not self.dof > 0:
                raise ValueError(f"dof: must be > 0, got {self.dof}")

    @property
    def reliable(self) -> bool:
        """False when the estimator flagged this estimate (``warning`` says why)."""
        return not self.warning

    def z(self, reference: float) -> float:
        """(mean - reference) / stderr; infinite when the estimate is exact but wrong.

        The standard error has a floor of ``ROUNDING_ULPS`` units in the last place of the larger of mean and
        reference: an estimator whose samples are constant (a zero-variance control variate) reports a standard
        error of the order of its rounding, and a one-ulp difference is rounding, not a statistic.

        >>> Estimate(0.375, 5.4e-18, 1000).z(0.37499999999999994) < 1
        True
        >>> Estimate(0.375, 0.0, 1000).z(0.376), Estimate(0.375, 0.0, 1000).z(0.37499999999999994)
        (-inf, 0.0)
        """
        if isinstance(reference, (bool, complex, str, bytes)) or reference is None:
            raise TypeError(f"reference: expected a real number, got {type(reference).__name__}")
        reference = float(reference)
        diff = self.mean - reference
        floor = ROUNDING_ULPS * _EPS * max(abs(self.mean), abs(reference))
        if self.stderr == 0.0:  # an exact estimate: right up to rounding, or infinitely far
            return 0.0 if abs(diff) <= floor else math.copysign(math.inf, diff)
        return diff / (math.hypot(self.stderr, floor) if math.isfinite(floor) else self.stderr)

    def false_alarm(self, z: float = DEFAULT_Z) -> float:
        """P(|z-score| > z) when the reference is right: two-sided Student-t tail with :attr:`dof` degrees of
        freedom (normal when ``dof`` is None).  The false-alarm rate of a z-test at threshold z.

        >>> f"{Estimate(0.0, 1.0, 40, dof=39).false_alarm(5):.2g}", f"{Estimate(0.0, 1.0, 10**6).false_alarm(5):.2g}"
        ('1.3e-05', '5.7e-07')
        """
        return two_sided_tail(z, self.dof)

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The symmetric confidence interval  mean +- z * stderr."""
        return self.mean - z * self.stderr, self.mean + z * self.stderr

    def __sub__(self, other: "Estimate") -> "Estimate":
        """Difference of two *independent* estimates (standard errors add in quadrature; warnings are kept)."""
        if not isinstance(other, Estimate):
            return NotImplemented
        warning = "; ".join(w for w in (self.warning, other.warning) if w)
        dofs = [e.dof for e in (self, other) if e.dof is not None]
        return Estimate(self.mean - other.mean, math.hypot(self.stderr, other.stderr), min(self.n, other.n),
                        warning=warning, dof=min(dofs) if dofs else None)

    def __str__(self) -> str:
        return f"{self.mean:.6g} +- {self.stderr:.2g} (n={self.n})" + (f" UNRELIABLE: {self.warning}" if self.warning else "")


def mean_estimate(samples) -> Estimate:
    """The sample mean of i.i.d. ``samples`` with standard error  std(ddof=1) / sqrt(n)."""
    x = as_array(samples, "samples").ravel()
    if x.size < 2:
        raise ValueError(f"samples: need at least 2 samples for a standard error, got {x.size}")
    return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), int(x.size), dof=x.size - 1)


def two_sided_tail(z: float, dof: float | None = None) -> float:
    """P(|T| > z) for T Student-t with ``dof`` degrees of freedom (standard normal when ``dof`` is None):
    I_{dof/(dof+z^2)}(dof/2, 1/2), the regularised incomplete beta function.

    >>> f"{two_sided_tail(1.96):.3f}", f"{two_sided_tail(2.0, 10):.4f}"
    ('0.050', '0.0734')
    """
    z = abs(float(z))
    if dof is None:
        return math.erfc(z / math.sqrt(2.0))
    import mpmath

    return float(mpmath.betainc(dof / 2.0, 0.5, 0, dof / (dof + z * z), regularized=True))


def batch_mean_estimate(samples, batches: int = 20) -> Estimate:
    """Mean with a standard error that holds under heavy tails: the ``samples`` (in their drawing order) are
    cut into ``batches`` contiguous blocks and the standard error is that of the block means (batch means).

    >>> est = batch_mean_estimate(np.arange(40.0), batches=4)
    >>> est.mean, est.n
    (19.5, 40)
    >>> batch_mean_estimate([1.0, 2.0], batches=4)
    Traceback (most recent call last):
    ...
    ValueError: samples: need at least 2 samples per batch (4 batches), got 2
    """
    x = as_array(samples, "samples").ravel()
    if isinstance(batches, bool) or not isinstance(batches, (int, np.integer)) or batches < 2:
        raise ValueError(f"batches: expected an integer >= 2, got {batches!r}")
    if x.size < 2 * batches:
        raise ValueError(f"samples: need at least 2 samples per batch ({batches} batches), got {x.size}")
    means = np.array([b.mean() for b in np.array_split(x, batches)])
    return Estimate(float(x.mean()), float(means.std(ddof=1) / math.sqrt(batches)), int(x.size), dof=batches - 1)


def stream(seed: int, *key: str | int) -> np.random.Generator:
    """An independent, reproducible generator for ``key`` under a master ``seed``.

    Streams are derived with ``SeedSequence([seed, crc32(key)...])``, so a check always sees the same
    bits for the same seed whatever else runs before it.

    >>> a = stream(0, "lemma-2.1", "mc").standard_normal(3)
    >>> b = stream(0, "lemma-2.1", "mc").standard_normal(3)
    >>> bool((a == b).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected a non-negative int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in key]
    return np.random.default_rng(np.random.SeedSequence(words))


# ------------------------------------------------------------------------------------------ rates in L


@dataclass(frozen=True)
class RateFit:
    r"""Fit  log(gap) = intercept + exponent log(L)  (weighted least squares; see :func:`fit_rate`)."""

    exponent: float
    stderr: float
    intercept: float
    interval: tuple[float, float]
    chi2: float
    dof: int
    level: float
    scale: float

    def __str__(self) -> str:
        lo, hi = self.interval
        return (
            f"exponent {self.exponent:.4f} +- {self.stderr:.2g}  ({self.level:.0%} CI [{lo:.4f}, {hi:.4f}]"
            f"{f', widened x{self.scale:.3g}' if self.scale > 1 else ''}), chi2 {self.chi2:.3g} on {self.dof} dof"
        )


def _sequence(value, name: str) -> list:
    """A list from a sequence (not a string, not a scalar), or ``TypeError`` naming ``name``."""
    if value is None or isinstance(value, (str, bytes, numbers.Number)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a sequence, got {type(value).__name__}")
    return list(value)


def _as_estimate(value) -> Estimate:
    """An :class:`Estimate`, or one from a ``(mean, stderr)`` pair (n unknown: 1)."""
    if isinstance(value, Estimate):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            return Estimate(value[0], value[1], 1)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"estimates: a (mean, stderr) pair with {exc}") from None
    shown = f"{type(value).__name__} {value!r}" if isinstance(value, numbers.Number) else type(value).__name__
    raise TypeError(f"estimates: expected an Estimate or a (mean, stderr) pair per L, got {shown} "
                    "(a rate fit needs each estimate's standard error)")


def fit_rate(Ls: Sequence[int], estimates: Sequence[Estimate], *, level=0.95, min_z=DEFAULT_Z) -> RateFit:
    r"""Power-law rate of a positive quantity (e.g. R_L - R_\infty) in L.

    Weighted least squares of y_i = log(mean_i) on x_i = log(L_i) with weights 1/\sigma_i^2, where
    \sigma_i = stderr_i / mean_i (delta method).  The exponent's standard error is sqrt([(X^T W X)^{-1}]_{11})
    (the variances are known).  ``chi2`` (on ``dof`` = n-2) says whether a single power law fits; when
    chi2/dof > 1 the interval is widened by ``scale`` = sqrt(chi2/dof) (Birge ratio), so that a misfit (e.g.
    pre-asymptotic curvature at small L) is not hidden behind a tiny statistical error:
    ``interval`` = exponent +- z_{(1+level)/2} scale stderr.  Every estimate must be significantly positive (mean > ``min_z`` stderr),
    otherwise the logarithm and the delta method are meaningless: ``ValueError`` naming the offending L; so is
    an estimate its estimator flagged unreliable (:attr:`Estimate.warning`).

    ``Ls`` is a sequence of prompt lengths; ``estimates`` holds one :class:`Estimate` per L, or a
    ``(mean, stderr)`` pair.  A plain number has no standard error and is refused with a ``TypeError``.

    >>> from verify.numerics.montecarlo import Estimate
    >>> fit = fit_rate([10, 100, 1000], [Estimate(1e-1, 1e-3, 100), Estimate(1e-2, 1e-4, 100), Estimate(1e-3, 1e-5, 100)])
    >>> round(fit.exponent, 12), round(fit.intercept, 12)
    (-1.0, 0.0)
    >>> fit_rate([10, 100], [Estimate(1e-1, 1e-3, 100), Estimate(1e-3, 1e-3, 100)])
    Traceback (most recent call last):
    ...
    ValueError: estimates: the estimate at L=100 is not significantly positive (0.001 +- 0.001, need mean > 5 stderr)
    >>> round(fit_rate([10, 100], [(1e-1, 1e-3), (1e-2, 1e-4)]).exponent, 12)
    -1.0
    >>> fit_rate([10, 100], [0.1, 0.01])
    Traceback (most recent call last):
    ...
    TypeError: estimates: expected an Estimate or a (mean, stderr) pair per L, got float 0.1 (a rate fit needs each estimate's standard error)
    """
    Ls = _sequence(Ls, "Ls")
    estimates = [_as_estimate(e) for e in _sequence(estimates, "estimates")]
    if len(Ls) != len(estimates):
        raise ValueError(f"estimates: expected one estimate per L ({len(Ls)}), got {len(estimates)}")
    if len(Ls) < 2:
        raise ValueError(f"Ls: need at least 2 prompt lengths, got {len(Ls)}")
    for L in Ls:
        if isinstance(L, bool) or not isinstance(L, numbers.Real):
            raise TypeError(f"Ls: each L must be a number, got {type(L).__name__} {L!r}")
        if not math.isfinite(L) or L < 1:
            raise ValueError(f"Ls: each L must be a finite number >= 1, got {L!r}")
    if len(set(float(L) for L in Ls)) < 2:
        raise ValueError("Ls: need at least 2 distinct prompt lengths")
    level = real(level, "level")
    min_z = nonnegative_float(min_z, "min_z")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    x, y, sd = [], [], []
    for L, est in zip(Ls, estimates):
        if not est.reliable:
            raise ValueError(f"estimates: the estimate at L={L} is flagged unreliable ({est.warning})")
        mean, se = float(est.mean), float(est.stderr)
        if not (math.isfinite(mean) and math.isfinite(se)) or se <= 0.0:
            raise ValueError(f"estimates: the estimate at L={L} needs a finite mean and a stderr > 0, got {est}")
        if not mean > min_z * se:
            raise ValueError(
                f"estimates: the estimate at L={L} is not significantly positive "
                f"({mean:.3g} +- {se:.2g}, need mean > {min_z:g} stderr)"
            )
        x.append(math.log(L))
        y.append(math.log(mean))
        sd.append(se / mean)
    X = np.column_stack([np.ones(len(x)), np.array(x)])
    wts = 1.0 / np.array(sd) ** 2
    A = X.T @ (wts[:, None] * X)
    cov = np.linalg.inv(A)
    beta = cov @ (X.T @ (wts * np.array(y)))
    resid = np.array(y) - X @ beta
    chi2 = float((wts * resid**2).sum())
    if not math.isfinite(chi2):  # max(1.0, nan) below would silently drop it
        raise ValueError(f"estimates: the fit's chi2 is not finite ({chi2}); the estimates span too many decades")
    se_slope = math.sqrt(cov[1, 1])
    dof = len(x) - 2
    scale = max(1.0, math.sqrt(chi2 / dof)) if dof > 0 else 1.0
    half = NormalDist().inv_cdf(0.5 + level / 2) * scale * se_slope
    slope = float(beta[1])
    return RateFit(
        exponent=slope,
        stderr=se_slope,
        intercept=float(beta[0]),
        interval=(slope - half, slope + half),
        chi2=chi2,
        dof=dof,
        level=level,
        scale=scale,
    )
