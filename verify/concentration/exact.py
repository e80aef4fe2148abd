r"""Prop 3.1 for a Gaussian prompt without sampling the prompt: the exact reduction to one-token integrals.

For \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d), U, V (paper Sec. 2.2), the quantity

    E(L) = E_z E_{z_1..z_L} \| \sum_l w_l V z_l / \sum_l w_l - T[\mu](z) \|^2,   w_l = e^{z_l^T U z},
    T[\mu](z) = \sigma^2 V U z   (Lemma 2.1),

is computed here for L up to 10^12 (and far beyond) with no token drawn.

**Reduction.**  Fix the query z, a = U z, \tau = \sigma |a|, \hat a = a / |a|.  Write a token as
z' = (s / |a|^2) a + z'_\perp with s = z'^T a = \tau |a| g, g ~ N(0, 1), and z'_\perp ~ N(0, \sigma^2 (I - \hat a \hat a^T))
independent of g.  Then w = e^{\tau g} and  V z' - \sigma^2 V a = (\sigma / |a|)(g - \tau) V a + V z'_\perp,  so

    per-query error = \kappa F(\tau, L) + \beta G(\tau, L),
    \kappa = \sigma^2 \|V \hat a\|^2,   \beta = \sigma^2 (\|V\|_F^2 - \|V \hat a\|^2),
    F(\tau, L) = E[ (\sum_l w_l (g_l - \tau))^2 / (\sum_l w_l)^2 ],   G(\tau, L) = E[ \sum_l w_l^2 / (\sum_l w_l)^2 ]

(the cross terms in z'_\perp vanish: they are centred and independent of the weights).  F is the mean squared error
of self-normalised importance sampling of the N(\tau, 1) mean from N(0, 1) draws, G = E[1/ESS].

**The L-fold expectation.**  With 1/D^2 = \int_0^\infty \lambda e^{-\lambda D} d\lambda and i.i.d. tokens,

    E[N^2 / D^2] = \int_0^\infty \lambda ( L A(\lambda) \phi^{L-1} + L (L-1) b(\lambda)^2 \phi^{L-2} ) d\lambda,
    \phi = E e^{-\lambda w},  A = E[w^2 (g-\tau)^2 e^{-\lambda w}],  b = E[w (g-\tau) e^{-\lambda w}],

(for G: A -> E[w^2 e^{-\lambda w}], no b term).  Put \lambda = e^{-x} and y = \tau g - x: every one-token
expectation is a 1-D integral of a log-concave kernel (e^{a y - e^y}, 1 - e^{-e^y}, ...) against the Gaussian density
of g, evaluated in log space, and \phi^{L-1} = exp((L-1) log1p(-\psi)) with \psi = 1 - \phi = E[-expm1(-e^y)] computed
directly (relative accuracy for \psi ~ 1/L, L = 10^12 or 10^100).  b is taken in whichever of the two exact forms
E[e^{y - e^y}(g - \tau)] = E[e^y expm1(-e^y)(g - \tau)] (they differ by E[e^y (g - \tau)] = 0) cancels less.

**Quadrature.**  y-integrals: composite Gauss-Legendre on panels split at y = -10, -5, 0, 5 (the kernel's transition),
clipped to the window where the log-concave integrand is within e^{-42} of its mode; x-integral: trapezoid on a
uniform grid (the x-integrand is analytic in a strip, log \psi is 1-Lipschitz), over a range from explicit tail bounds,
checked after the fact (the integrand at both ends must be < 1e-13 of the integral, else RuntimeError).
Query: z = \rho \omega, \rho ~ \chi_d, composite Gauss-Legendre in \rho on [0, \rho_max],
\rho_max^2 = 2 (ln L_max + 40) + ..., so the cut tail is below e^{-40} of the 1/L floor.

**Supported (U, V).**  d = 1: any u, v.  d >= 2: U with U U^T = u^2 I (a multiple of an orthogonal matrix, including
U = 0), any V: then |U z| = |u| \rho and \hat a is uniform on the sphere independent of \rho, so E\|V\hat a\|^2 = \|V\|_F^2/d.
Other U raise ValueError (the reduction holds for every U, but the query integral would need the angular law of
U z / |U z|, not implemented).

**Error.**  ``accuracy="fine"`` halves the x step, raises the Gauss-Legendre orders and halves the radial panels;
:func:`method_error` reports the relative difference of the two.  Measured over L = 10..10^12:
5e-11 (\sigma = u = 1, d = 1), 3e-14 (\sigma = 0.5), 1.3e-8 (\sigma = 2, d = 2), 5.4e-7 (\sigma = 3, d = 1).
Independent checks (tests/test_concentration.py): brute-force Monte Carlo on \sigma in {0.5, 1, 1.5, 2},
d in {1, 2}, L = 10..10^5 (max |z| 2.7 over 40 points), and the CLT limit F = e^{\tau^2}(1+\tau^2)/L,
G = e^{\tau^2}/L at L = 10^40 (relative 1e-13).  The x-range reaches L = 10^80.

**Cost.**  The x grids of all query radii are stacked into one array of rows (:func:`per_query_moments_many`):
one d = 1 curve over L = 10^2..10^12 takes ~3-4 s of CPU.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["per_query_moments", "per_query_moments_many", "gaussian_curve", "gaussian_curve_2d", "method_error", "SETTINGS"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_K = 42.0  # log-window: integrands below e^{-K} of their mode are dropped
_BREAKS = (-10.0, -5.0, 0.0, 5.0)

SETTINGS = {
    "default": {"h_x": 0.25, "n_gl": (48, 32), "panel": 1.0, "n_rho": 8},
    "fine": {"h_x": 0.125, "n_gl": (64, 48), "panel": 0.5, "n_rho": 10},
}


@functools.lru_cache(maxsize=None)
def _leggauss(n):
    """Gauss-Legendre nodes and weights on [-1, 1] (cached: they are the same for every row and query)."""
    t, w = np.polynomial.legendre.leggauss(n)
    t.flags.writeable = False
    w.flags.writeable = False
    return t, w


def _kernel(kind, y):
    """log kernel and its derivative at y (vectorised).  kinds: 1 -> e^{y-e^y}, 2 -> e^{2y-e^y},
    'psi' -> 1-e^{-e^y}, 'b2' -> e^y (1-e^{-e^y})."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        ey = np.exp(y)
        if kind in (1, 2):
            return kind * y - ey, kind - ey
        small = y < -30.0
        lpsi = np.where(small, y - 0.5 * ey, np.log(-np.expm1(-ey)))
        dpsi = np.where(small, 1.0 - 0.5 * ey, ey / np.expm1(ey))
        dpsi = np.where(np.isfinite(dpsi), dpsi, 0.0)
        if kind == "psi":
            return lpsi, dpsi
        return y + lpsi, 1.0 + dpsi


def _bisect(f, lo, hi, iters):
    """Root of a decreasing vector function f on [lo, hi] (f(lo) >= 0 >= f(hi)), elementwise."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pos = f(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return 0.5 * (lo + hi)


def _window(kind, x, tau):
    """Interval in u = y + x (= tau g) where log(kernel) - u^2/(2 tau^2) is within _K of its maximum."""
    t2 = tau * tau

    def total(u):
        return _kernel(kind, u - x)[0] - u * u / (2 * t2)

    def slope(u):
        return _kernel(kind, u - x)[1] - u / t2

    lo = np.minimum(0.0, x - 5.0) - 1.0
    hi = np.full_like(x, 2 * t2 + 1.0)
    umode = _bisect(slope, lo, hi, 24)
    top = total(umode)
    width = math.sqrt(2 * _K) * tau + 1e-300  # tau: a scalar or one value per x row
    left = _bisect(lambda u: (top - _K) - total(u), umode - width, umode, 18)
    right = _bisect(lambda u: total(u) - (top - _K), umode, umode + width, 18)
    return left, right


def _nodes(kind, x, tau, n_gl, small):
    """Composite Gauss-Legendre nodes (in u) and weights, per x row (tau per row): panels split at y in _BREAKS.
    ``small`` (every tau < 1): the whole window may sit in one inner panel, so it gets the outer order."""
    left, right = _window(kind, x, tau)
    n_out, n_in = n_gl
    if small:
        n_in = n_out
    edges = [left] + [np.clip(b + x, left, right) for b in _BREAKS] + [right]
    us, ws = [], []
    for k, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        t, w = _leggauss(n_out if k in (0, len(edges) - 2) else n_in)
        half = 0.5 * np.maximum(b - a, 0.0)
        mid = 0.5 * (a + b)
        us.append(mid[:, None] + half[:, None] * t[None, :])
        ws.append(half[:, None] * w[None, :])
    return np.concatenate(us, axis=1), np.concatenate(ws, axis=1)


def _signed_logsum(logs, signs):
    """Row-wise log|sum sign*exp(log)| and the sign; also log sum |.| (to measure cancellation)."""
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        m = np.max(logs, axis=1)
        m_safe = np.where(np.isfinite(m), m, 0.0)
        e = np.exp(logs - m_safe[:, None])
        s = np.sum(signs * e, axis=1)
        a = np.sum(e, axis=1)
        return np.log(np.abs(s)) + m_safe, np.sign(s), np.log(a) + m_safe


def _one_token(x, tau, n_gl, center, small):
    """log psi, log A0, log A2, log|b| on the x grid (all scaled by lambda^k = e^{-kx}); tau one value per row."""
    out = {}
    base = (-np.log(tau) - _LOG_SQRT_2PI)[:, None]
    tc = tau[:, None]
    cache = {}
    for kind in ("psi", 2, 1, "b2"):
        u, w = _nodes(kind, x, tau, n_gl, small)
        with np.errstate(divide="ignore"):
            lk = _kernel(kind, u - x[:, None])[0] + np.log(w) + base - 0.5 * (u / tc) ** 2
        cache[kind] = (u / tc - center * tc, lk)
    ones = lambda arr: np.ones_like(arr)  # noqa: E731
    p, lk = cache["psi"]
    out["psi"] = _signed_logsum(lk, ones(lk))[0]
    p, lk = cache[2]
    out["A0"] = _signed_logsum(lk, ones(lk))[0]
    with np.errstate(divide="ignore"):
        out["A2"] = _signed_logsum(lk + 2 * np.log(np.abs(p)), ones(lk))[0]
        p1, lk1 = cache[1]
        b1, _, a1 = _signed_logsum(lk1 + np.log(np.abs(p1)), np.sign(p1))
        if center == 1.0:
            p2, lk2 = cache["b2"]
            b2, _, a2 = _signed_logsum(lk2 + np.log(np.abs(p2)), np.sign(p2))
            out["b"] = np.where(b1 - a1 >= b2 - a2, b1, b2)  # the form with less cancellation
        else:  # planted mutants: only the direct form is exact when the centre is not tau
            out["b"] = b1
    return out


def _lower_quantile(L):
    """t such that L Phi(t)^(L-1) < e^{-K-10}: below x = tau t - 4, phi(x) <= Phi((x+4)/tau) + e^{-e^4} makes the
    x-integrand negligible (checked after the fact by the end-point test)."""
    t = np.linspace(0.0, -12.0, 481)
    log_cdf = np.array([math.log(0.5 * math.erfc(-v / math.sqrt(2.0))) for v in t])  # log Phi(t), t >= -12
    ok = math.log(L) + (L - 1) * log_cdf < -(_K + 10.0)
    return float(t[np.argmax(ok)]) if ok.any() else -12.0


def per_query_moments(tau, Ls, *, accuracy="default", center=1.0, cross=True):
    r"""F(\tau, L) and G(\tau, L) of the module docstring for every L in ``Ls`` (arrays).

    ``center`` and ``cross`` exist for planted mutants only (centre c \tau instead of \tau; no L(L-1) term).

    >>> F, G = per_query_moments(0.0, [1, 10])
    >>> [float(v) for v in F], [float(v) for v in G]
    ([1.0, 0.1], [1.0, 0.1])
    >>> F, G = per_query_moments(1.0, [1, 10**12])
    >>> round(float(F[0]), 12), round(float(F[1] * 1e12 / (2 * math.e)), 4)
    (2.0, 1.0)
    """
    F, G = per_query_moments_many([float(tau)], Ls, accuracy=accuracy, center=center, cross=cross)
    return F[0], G[0]


_ROWS = 6000  # x rows per vectorised batch (memory: rows x ~250 nodes x 8 bytes per array)


def per_query_moments_many(taus, Ls, *, accuracy="default", center=1.0, cross=True):
    r"""F and G for many \tau at once (arrays (len(taus), len(Ls))): the x grids of all \tau are stacked into one
    array of rows, so the one-token integrals of a whole query quadrature run as a few large numpy operations."""
    s = SETTINGS[accuracy]
    Ls = np.asarray(Ls, dtype=float)
    taus = np.asarray(taus, dtype=float)
    F = np.empty((taus.size, Ls.size))
    G = np.empty((taus.size, Ls.size))
    one = Ls == 1
    F[:, one] = 1.0 + (center * taus[:, None]) ** 2
    G[:, one] = 1.0
    zero = taus == 0.0
    F[zero] = 1.0 / Ls
    G[zero] = 1.0 / Ls
    rest = Ls[~one]
    todo = np.flatnonzero(~zero)
    if rest.size == 0 or todo.size == 0:
        return F, G
    h = s["h_x"]
    lmax = math.log(rest.max())
    lg = lmax + _K
    q_lo = _lower_quantile(rest.min())
    grids = {}
    for i in todo:
        tau = taus[i]
        x_lo = tau * q_lo - 8.0
        x1 = tau * math.sqrt(2 * (lg + 8.0))
        x_hi = (x1 if x1 <= 2 * tau * tau - 4.0 else 2 * tau * tau + lg / 2) + 10.0
        # the x-integrand peaks at x = ln(sum w) <= ln L + tau^2/2 and decays like e^{-2(x - peak)} beyond it:
        # 18 more units put the end below e^{-36} of the peak (needed once ln L >~ 30: L = 10^20 and beyond)
        x_hi = max(x_hi, lmax + 0.5 * tau * tau + 18.0)
        grids[i] = np.arange(x_lo, x_hi + h, h)
    for small in (True, False):
        group = [i for i in todo if (taus[i] < 1.0) == small]
        while group:
            batch, rows = [], 0
            while group and (not batch or rows + grids[group[0]].size <= _ROWS):
                rows += grids[group[0]].size
                batch.append(group.pop(0))
            fb, gb = _moments_batch([grids[i] for i in batch], taus[batch], rest, h, s["n_gl"], center, cross, small)
            F[np.ix_(batch, np.flatnonzero(~one))] = fb
            G[np.ix_(batch, np.flatnonzero(~one))] = gb
    return F, G


def _moments_batch(grids, taus, Ls, h, n_gl, center, cross, small):
    """Trapezoid x-integrals of F and G for the stacked grids of one batch of tau; the end-point test per tau."""
    x = np.concatenate(grids)
    sizes = np.array([g.size for g in grids])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ends = starts + sizes - 1
    tau_rows = np.repeat(taus, sizes)
    q = _one_token(x, tau_rows, n_gl, center, small)
    Fs = np.empty((len(grids), Ls.size))
    Gs = np.empty((len(grids), Ls.size))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        psi = np.minimum(np.exp(q["psi"]), 1.0)
        logphi = np.log1p(-psi)
        for k, L in enumerate(Ls):
            lL = math.log(L)
            tA = lL + (L - 1) * logphi + q["A2"]
            tG = lL + (L - 1) * logphi + q["A0"]
            fint = np.exp(tA)
            if cross:
                fint = fint + np.exp(lL + math.log(L - 1) + (0.0 if L == 2 else (L - 2) * logphi) + 2 * q["b"])
            gint = np.exp(tG)
            for name, f, out in (("F", fint, Fs), ("G", gint, Gs)):
                total = h * (np.add.reduceat(f, starts) - 0.5 * (f[starts] + f[ends]))
                edge = np.maximum(f[starts], f[ends]) * h
                bad = ~(total > 0) | (edge > 1e-13 * total)
                if bad.any():
                    j = int(np.argmax(bad))
                    raise RuntimeError(f"x-range too short for {name} at tau={taus[j]}, L={L:g}")
                out[:, k] = total
    return Fs, Gs


def _chi_logpdf(rho, d):
    with np.errstate(divide="ignore"):
        return (d - 1) * np.log(rho) - 0.5 * rho**2 - ((d / 2 - 1) * math.log(2.0) + math.lgamma(d / 2))


def gaussian_curve(sigma, u, v_frob2, d, Ls, *, accuracy="default", center=1.0, cross=True,
                   panel=None, n_rho=None, moments=None):
    r"""E(L) = \sigma^2 E_\rho[ (\|V\|_F^2/d) F(\sigma|u|\rho, L) + \|V\|_F^2 (1 - 1/d) G(\sigma|u|\rho, L) ],
    \rho ~ \chi_d (validated inputs; see :func:`verify.concentration.montecarlo.concentration_error_gaussian`),
    ``v_frob2`` = \|V\|_F^2: the direction \hat a of the tilt is uniform on the sphere, so E\|V\hat a\|^2 =
    \|V\|_F^2/d carries F and the rest, \|V\|_F^2 (1 - 1/d), carries G (the d > 1 term).  The radial rule is that of ``accuracy``
    unless ``panel`` / ``n_rho`` are given; ``moments(taus, Ls)`` returns F, G (default
    :func:`per_query_moments_many`): the one radial average of the exact curves (also of
    :func:`verify.concentration.exponent.exact_error`)."""
    v2_over_d, v2_rest = v_frob2 / d, v_frob2 * (1.0 - 1.0 / d)
    s = dict(SETTINGS[accuracy])
    s["panel"] = s["panel"] if panel is None else float(panel)
    s["n_rho"] = s["n_rho"] if n_rho is None else int(n_rho)
    Ls = np.asarray(Ls, dtype=float)
    scale = sigma * abs(u)
    if scale == 0.0:
        return sigma**2 * (v2_over_d + v2_rest) / Ls
    rho, wr = _radial_nodes(scale, d, Ls, s)
    if moments is None:
        F, G = per_query_moments_many(scale * rho, Ls, accuracy=accuracy, center=center, cross=cross)
    else:
        F, G = moments(scale * rho, Ls)
    total = wr @ (v2_over_d * F + (v2_rest * G if v2_rest else 0.0))
    return sigma**2 * total


def _radial_nodes(scale, d, Ls, s):
    rho_max = math.sqrt(2 * (math.log(Ls.max()) + 32.0) + 2 * math.log(1 + scale**2) + 4 * d) + 1.0
    n_pan = int(math.ceil(rho_max / s["panel"]))
    t, w = _leggauss(s["n_rho"])
    edges = np.linspace(0.0, n_pan * s["panel"], n_pan + 1)
    half = 0.5 * np.diff(edges)
    rho = ((edges[:-1] + edges[1:]) / 2)[:, None] + half[:, None] * t[None, :]
    wr = (half[:, None] * w[None, :]).ravel() * np.exp(_chi_logpdf(rho.ravel(), d))
    return rho.ravel(), wr


def gaussian_curve_2d(sigma, U, V, Ls, *, n_theta=16, accuracy="default", center=1.0, cross=True):
    r"""E(L) for d = 2 and **any** U (validated 2 x 2 arrays): the query z = 
ho \omega_	heta, 
ho ~ \chi_2,
    	heta uniform, so with a = U z, |a| = 
ho |U \omega_	heta| and \hat a = U\omega_	heta / |U\omega_	heta|,

        E(L) = \sigma^2 (1/\pi) \int_0^\pi E_
ho[ \|V\hat a\|^2 F(\sigma
ho|U\omega_	heta|, L)
                                             + (\|V\|_F^2 - \|V\hat a\|^2) G(\sigma
ho|U\omega_	heta|, L) ] d	heta

    (period \pi in 	heta: z -> -z).  The 	heta-integral is the midpoint rule with ``n_theta`` nodes (spectrally
    accurate for this smooth periodic integrand; its error: compare with 2 n_theta).  Cost: n_theta radial curves.
    """
    s = SETTINGS[accuracy]
    Ls = np.asarray(Ls, dtype=float)
    theta = np.pi * (np.arange(n_theta) + 0.5) / n_theta
    omega = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    a = omega @ U.T  # (n_theta, 2)
    na = np.linalg.norm(a, axis=1)
    v2 = float(np.sum(V * V))
    total = np.zeros(Ls.shape)
    zero = na == 0.0
    if zero.any():  # tilt 0: uniform weights, error \sigma^2 |V|_F^2 / L
        total += zero.sum() / n_theta * v2 / Ls
    if (~zero).any():
        rho, wr = _radial_nodes(sigma * float(na.max()), 2, Ls, s)
        idx = np.flatnonzero(~zero)
        taus = (sigma * na[idx])[:, None] * rho[None, :]
        F, G = per_query_moments_many(taus.ravel(), Ls, accuracy=accuracy, center=center, cross=cross)
        F = F.reshape(idx.size, rho.size, Ls.size)
        G = G.reshape(idx.size, rho.size, Ls.size)
        kappa = np.sum((a[idx] / na[idx, None] @ V.T) ** 2, axis=1)  # |V \hat a|^2
        per = np.einsum("r,trl->tl", wr, kappa[:, None, None] * F + (v2 - kappa)[:, None, None] * G)
        total += per.sum(axis=0) / n_theta
    return sigma**2 * total


def method_error(sigma, u, v_frob2, d, Ls):
    """Relative difference between the 'default' and 'fine' settings, per L (the stated method error)."""
    a = gaussian_curve(sigma, u, v_frob2, d, Ls, accuracy="default")
    b = gaussian_curve(sigma, u, v_frob2, d, Ls, accuracy="fine")
    return np.abs(a - b) / np.abs(b)
