r"""The sharp exponent of Prop 3.1 for a Gaussian prompt, and the large-L numerics that check it.

For \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d) (paper Sec. 2.2, Prop 3.1) the mean squared error

    E(L) = E_z E_{z_1..z_L} \| T[\hat\mu_L](z) - T[\mu](z) \|^2  =  L^{-\alpha(s) + o(1)},   s = \sigma \|U\|_{op},

    \alpha(s) = 1                              (s^2 <= 1/2),
    \alpha(s) = (\sqrt{1 + 4/s^2} - 1) / 2     (s^2 >= 1/2).

Heuristic (derived symbolically by the statement ``sharp-exponent``, ``verify run sharp-exponent``): per query the error is the self-normalised
importance-sampling error of the N(\tau, 1) mean from N(0, 1) draws with weights e^{\tau g}, \tau = \sigma |U z|;
with \ell = \ln L and \tau^2 = c \ell its Laplace exponent is  \ell e(c),

    e(c) = c - 1                          (c <= 2/3: CLT, variance e^{\tau^2}/L),
    e(c) = -(1/\sqrt c - \sqrt c / 2)^2/2  (2/3 <= c <= 2: one big token at t* = \ell/\tau + \tau/2),
    e(c) = 0                               (c >= 2: the estimate is stuck below the target).

The query tail adds -c/(2 s^2); maximising over c gives \alpha(s).

Computations here (the statement's checks call them; no check is built here):

* :func:`sharp_exponent` -- \alpha(\sigma \|U\|_{op}) (public API, ``verify.sharp_exponent``);
* :func:`regime_exponent` -- e(c);
* :func:`exact_error` -- E(L) by the exact reduction of :mod:`verify.concentration.exact` (no token drawn),
  for d = 1 or U U^T = u^2 I, up to L = 10^60 and beyond.  Where the engine's x-range is too short
  (small \tau and \ln L > 3\tau^2 + 32, a limitation of ``per_query_moments``), per-query moments with
  \ln L >= 3\tau^2 + 25 are taken from the CLT expansion F = e^{\tau^2}(1+\tau^2)/L, G = e^{\tau^2}/L, whose
  relative error there is <= 2e-12 (compared with the exact reduction on \tau \in [0.3, 3], where both run);
  :data:`FAST_RADIAL` is the coarser radial rule of the curves at L up to 10^60;
* :func:`per_query_log_rate` -- \ln F / \ell at \tau^2 = c \ell, the per-query log-MSE that the Laplace principle
  compares with e(c);
* :func:`local_slopes`, :func:`slope_limit` -- the local log-log slope between consecutive L and its
  extrapolation in 1/\ell (the correction to the local slope is O(1/\ell) by Laplace's method).

>>> round(sharp_exponent(1.0, [[1.0]]), 6), round(sharp_exponent(1.5, [[1.0]]), 6), sharp_exponent(0.5, [[1.0]])
(0.618034, 0.333333, 1.0)
>>> [round(regime_exponent(c), 6) + 0.0 for c in (0.5, 2 / 3, 1.0, 2.0, 3.0)]
[-0.5, -0.333333, -0.125, 0.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from verify.concentration import exact as _exact
from verify.concentration.exact import per_query_moments
from verify._validation import as_array

__all__ = ["sharp_exponent", "alpha_of_s", "alpha_variational", "regime_exponent", "exact_error", "per_query_log_rate",
           "local_slopes", "slope_limit", "CLT_MARGIN", "FAST_RADIAL"]

CLT_MARGIN = 25.0
"""Per-query moments with \\ln L >= 3\\tau^2 + CLT_MARGIN may come from the CLT expansion (relative error <= 2e-12)."""

FAST_RADIAL = {"panel": 2.0, "n_rho": 6}
"""The coarse radial rule of :func:`exact_error` (panels of 2 with 6 Gauss-Legendre nodes): measured against the
full rule for \\sigma <= 3, L = 10^14 ... 10^60, values within 8.3e-3 relative and local slopes within 5.2e-4; at one
L <= 10^3 within 4e-5 relative (\\sigma = 1) and 1.6e-3 (\\sigma = 2)."""


def _positive(x, name: str) -> float:
    if isinstance(x, (bool, str, bytes, complex)) or x is None:
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {x!r}")
    return v


def alpha_of_s(s: float) -> float:
    r"""\alpha(s) = 1 for s^2 <= 1/2, (\sqrt{1 + 4/s^2} - 1)/2 otherwise (s >= 0).

    A hand-written float kernel of the statement's SymPy closed form: the statement ``sharp-exponent`` checks
    :func:`sharp_exponent` (this kernel and the operator norm) against that form."""
    s = float(s)
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"s: expected a finite number >= 0, got {s!r}")
    if s * s <= 0.5:
        return 1.0
    return (math.sqrt(1.0 + 4.0 / (s * s)) - 1.0) / 2.0


def sharp_exponent(sigma, U) -> float:
    r"""The sharp exponent \alpha of E\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)} = L^{-\alpha + o(1)} for
    \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d):  \alpha = \alpha(\sigma \|U\|_{op}) (module docstring).

    >>> round(sharp_exponent(2.0, np.eye(3)), 6)
    0.207107
    >>> sharp_exponent(-1.0, [[1.0]])
    Traceback (most recent call last):
    ...
    ValueError: sigma: expected a finite number > 0, got -1.0
    """
    sigma = _positive(sigma, "sigma")
    U = as_array(U, "U")
    if U.ndim != 2 or U.shape[0] != U.shape[1] or U.shape[0] < 1:
        raise ValueError(f"U: expected a square d x d matrix, got shape {U.shape}")
    return alpha_of_s(sigma * float(np.linalg.norm(U, 2)))


def regime_exponent(c: float) -> float:
    r"""e(c): the per-query Laplace exponent divided by \ell, at \tau^2 = c \ell (module docstring)."""
    c = float(c)
    if c < 0 or not math.isfinite(c):
        raise ValueError(f"c: expected a finite number >= 0, got {c!r}")
    if c <= 2.0 / 3.0:
        return c - 1.0
    if c <= 2.0:
        return -((1.0 / math.sqrt(c) - math.sqrt(c) / 2.0) ** 2) / 2.0
    return 0.0


def alpha_variational(s: float) -> float:
    r"""\alpha(s) = -\max_{c >= 0} [e(c) - c/(2 s^2)] by numerical maximisation (no closed form): e(c) is
    :func:`regime_exponent` (the per-query Laplace exponent at \tau^2 = c\ell) and -c/(2s^2) the Gaussian tail of
    \tau^2/\ell = \sigma^2|Uz|^2/\ell along the top singular direction of U.  On [0, 2/3] f is linear (an end point),
    on [2/3, 2] bounded Brent (``scipy.optimize.minimize_scalar``, xatol 1e-12), on [2, \infty) decreasing (c = 2).

    >>> round(alpha_variational(1.0), 10), alpha_variational(0.5)
    (0.6180339887, 1.0)
    """
    from scipy.optimize import minimize_scalar

    s = float(s)
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"s: expected a finite number > 0, got {s!r}")
    tail = 1.0 / (2.0 * s * s)
    f = lambda c: regime_exponent(c) - c * tail  # noqa: E731
    candidates = [f(0.0), f(2.0 / 3.0), f(2.0)]
    mid = minimize_scalar(lambda c: -f(c), bounds=(2.0 / 3.0, 2.0), method="bounded",
                          options={"xatol": 1e-12, "maxiter": 500})
    candidates.append(f(float(mid.x)))
    return -max(candidates)


def _moments(tau: float, Ls: np.ndarray):
    """F, G of ``per_query_moments`` with the CLT expansion where the engine's x-range is too short."""
    try:
        return per_query_moments(tau, Ls)
    except RuntimeError:
        clt = np.log(Ls) >= 3.0 * tau * tau + CLT_MARGIN
        if not clt.any():
            raise
        F, G = np.empty(Ls.shape), np.empty(Ls.shape)
        F[clt] = math.exp(tau * tau) * (1.0 + tau * tau) / Ls[clt]
        G[clt] = math.exp(tau * tau) / Ls[clt]
        if (~clt).any():
            F[~clt], G[~clt] = per_query_moments(tau, Ls[~clt])
        return F, G


def per_query_log_rate(c: float, ell: float) -> float:
    r"""\ln F(\tau, L) / \ell at \tau = \sqrt{c \ell}, L = e^\ell: the per-query exact log-MSE over \ell, which
    tends to e(c) as \ell grows (the Laplace principle, an assumption of ``sharp-exponent`` with its own check).

    >>> round(per_query_log_rate(0.5, 200.0), 4)  # e(0.5) = -0.5, up to O(ln ell / ell)
    -0.4769
    """
    tau = math.sqrt(float(c) * float(ell))
    F, _ = _moments(tau, np.array([math.exp(float(ell))]))
    return math.log(float(F[0])) / float(ell)


def exact_error(sigma: float, u: float, d: int, Ls, *, v_frob2: float | None = None, panel: float = 1.0,
                n_rho: int = 8) -> np.ndarray:
    r"""E(L) = \sigma^2 E_\rho[(\|V\|_F^2/d) F(\sigma u \rho, L) + \|V\|_F^2 (1 - 1/d) G(\sigma u \rho, L)],
    \rho ~ \chi_d, for U with U U^T = u^2 I (d = 1: U = u) and \|V\|_F^2 = ``v_frob2`` (default d, V = I).

    >>> float(exact_error(1.0, 0.0, 2, [10.0])[0])  # U = 0: \sigma^2 \|V\|_F^2 / L
    0.2
    """
    sigma = _positive(sigma, "sigma")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d: expected an integer >= 1, got {d!r}")
    u = abs(float(u))
    Ls = as_array(Ls, "Ls").astype(float).ravel()
    if Ls.size == 0 or (Ls < 1).any() or not np.isfinite(Ls).all():
        raise ValueError("Ls: expected finite prompt lengths >= 1")
    vf = float(d if v_frob2 is None else v_frob2)

    def moments(taus, Ls_):
        F, G = np.empty((taus.size, Ls_.size)), np.empty((taus.size, Ls_.size))
        for i, tau in enumerate(taus):
            F[i], G[i] = _moments(float(tau), Ls_)
        return F, G

    return _exact.gaussian_curve(sigma, u, vf, d, Ls, panel=panel, n_rho=n_rho, moments=moments)


def local_slopes(Ls, values) -> np.ndarray:
    """d ln E / d ln L between consecutive prompt lengths."""
    x = np.log(as_array(Ls, "Ls").astype(float))
    y = np.log(as_array(values, "values").astype(float))
    return np.diff(y) / np.diff(x)


def slope_limit(Ls, values, *, last: int = 4) -> tuple[float, float]:
    r"""Extrapolate the local slopes to \ell = \infty: least squares of slope_k = a + b/\bar\ell_k over the last
    ``last`` intervals (\bar\ell_k the midpoint of ln L); returns (a, b).  -a estimates -\alpha."""
    Ls = np.asarray(Ls, dtype=float)
    sl = local_slopes(Ls, values)
    ell = 0.5 * (np.log(Ls[1:]) + np.log(Ls[:-1]))
    sl, ell = sl[-last:], ell[-last:]
    X = np.column_stack([np.ones_like(ell), 1.0 / ell])
    a, b = np.linalg.lstsq(X, sl, rcond=None)[0]
    return float(a), float(b)
