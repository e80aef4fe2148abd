"""Gauss-Hermite quadrature at arbitrary precision for expectations under a Gaussian.

The n-point *probabilists'* Gauss-Hermite rule integrates against the standard normal density
\\varphi(x) = e^{-x^2/2} / \\sqrt{2\\pi}:

    \\sum_{i=1}^n w_i f(x_i) \\approx E f(G),   G ~ N(0, 1),

exactly for every polynomial f of degree <= 2n - 1.  The nodes x_i are the roots of the Hermite
polynomial He_n (He_0 = 1, He_1 = x, He_{k+1} = x He_k - k He_{k-1}), the weights are
w_i = n! / (n^2 He_{n-1}(x_i)^2), and they sum to 1.  For X = m + B G with B B^T = \\Gamma the
tensor-product rule integrates against N(m, \\Gamma).

:func:`attention_quadrature` integrates the *definition* of measure attention (paper, Sec. 2)

    T[\\mu](z) = \\int e^{<K z', Q z>} V z' d\\mu(z') / \\int e^{<K z', Q z>} d\\mu(z'),   \\mu = N(m, \\Gamma),

and never the closed form of Lemma 2.1 that it is used to check.

>>> nodes, weights = hermite_rule(3, 20)
>>> [mp.nstr(x, 15) for x in nodes], [mp.nstr(w, 15) for w in weights]
(['-1.73205080756888', '0.0', '1.73205080756888'], ['0.166666666666667', '0.666666666666667', '0.166666666666667'])
>>> mp.nstr(gaussian_expectation(lambda x: x[0] ** 4, [1.0], [[2.0]], n=3, dps=30), 30)
'25.0'
"""

from __future__ import annotations

import functools
import itertools
import math
from operator import mul

import mpmath
import numpy as np
from mpmath import mp

from verify.numerics.measures import covariance_root
from verify._validation import as_matrix, as_vector, attention_inputs, covariance, positive_float, positive_int

__all__ = [
    "mp_matrix",
    "hermite_rule",
    "hermite_rule_float",
    "gaussian_expectation",
    "attention_quadrature",
    "attention_quadrature_float",
    "nodes_needed",
    "whitened_tilt",
    "within_tilt",
    "MAX_NODES",
    "measure_expectation",
    "log_mgf",
    "log_mgf_gradient",
    "tilted_mean",
    "linear_attention_quadrature",
]

GUARD_DIGITS = 10
"""Extra decimal digits carried by every internal computation."""

MIN_NODES = 20
"""Floor of the automatic choice of nodes per dimension."""

MAX_NODES = 120
"""Ceiling of the automatic choice of nodes per dimension (beyond it: ``ValueError``)."""

MAX_GRID_POINTS = 10**8
"""Largest tensor-product grid (n^d points) an arbitrary-precision rule walks (beyond it: ``ValueError``)."""

MAX_DPS = 5000
"""Largest working precision (decimal digits) the quadrature accepts (beyond it: ``ValueError``)."""

MAX_FLOAT_GRID = 1 << 22
"""Largest trapezoid grid per coordinate in :func:`attention_quadrature_float` (4194304 points, 32 MB)."""


def mp_matrix(array) -> mpmath.matrix:
    """An mpmath matrix from a float array, converted exactly (a 1-d array becomes a column).

    >>> mp_matrix([0.5, 0.25])
    matrix(
    [['0.5'],
     ['0.25']])
    """
    a = np.asarray(array, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    return mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in a])


def _capped_grid(n: int, d: int, name: str) -> None:
    """``ValueError`` naming ``name`` when the n^d grid exceeds :data:`MAX_GRID_POINTS`."""
    if d * math.log10(n) > math.log10(MAX_GRID_POINTS):
        raise ValueError(f"{name}: the tensor-product grid of n^d = {n}^{d} points (n nodes per dimension, "
                         f"dimension d) exceeds the limit of {MAX_GRID_POINTS:.0e} points")


def _capped_dps(dps) -> int:
    dps = positive_int(dps, "dps")
    if dps > MAX_DPS:
        raise ValueError(f"dps: at most {MAX_DPS} digits, got {dps}")
    return dps


# --------------------------------------------------------------------------------------------- rules


@functools.lru_cache(maxsize=128)
def hermite_rule(n: int, dps: int) -> tuple[tuple, tuple]:
    """Nodes and weights of the n-point probabilists' Gauss-Hermite rule, correct to ``dps`` digits.

        \\sum_i w_i f(x_i) = E f(G),  G ~ N(0, 1),  for deg f <= 2n - 1;
        He_n(x_i) = 0,   w_i = n! / (n^2 He_{n-1}(x_i)^2),   \\sum_i w_i = 1.

    Each node is Newton-refined, x <- x - He_n(x) / (n He_{n-1}(x)), at ``dps + 10`` digits from the
    float64 node of :func:`numpy.polynomial.hermite_e.hermegauss`; the rule is symmetric (x_{n+1-i} =
    -x_i, and x = 0 exactly for odd n).  Results are cached by ``(n, dps)``; the mpf values carry the
    guard digits.

    >>> x, w = hermite_rule(2, 30)
    >>> mp.nstr(x[1], 25), mp.nstr(w[0], 25)
    ('1.0', '0.5')
    >>> hermite_rule(2, 30) is hermite_rule(2, 30)
    True
    """
    n = positive_int(n, "n")
    dps = positive_int(dps, "dps")
    guess, _ = np.polynomial.hermite_e.hermegauss(n)
    with mp.workdps(dps + GUARD_DIGITS):
        tol = mp.ldexp(mp.one, 8 - mp.prec)
        fact = mp.factorial(n)
        nodes = [mp.zero] * n
        weights = [mp.zero] * n
        for i in range(n // 2, n):
            x = mp.zero if (n % 2 and i == n // 2) else mp.mpf(float(guess[i]))
            for _ in range(50):
                hn, hn1 = _hermite_pair(n, x)
                step = hn / (n * hn1)
                x -= step
                if abs(step) <= tol * max(1, abs(x)):
                    break
            else:  # pragma: no cover - Newton from the float64 node always converges
                raise ArithmeticError(f"hermite_rule: Newton did not converge for node {i} of n={n}")
            hn1 = _hermite_pair(n, x)[1]
            nodes[i], nodes[n - 1 - i] = x, -x
            weights[i] = weights[n - 1 - i] = fact / (n * n * hn1 * hn1)
        return tuple(nodes), tuple(weights)


def _hermite_pair(n: int, x):
    """(He_n(x), He_{n-1}(x)) by the three-term recurrence."""
    prev, cur = mp.one, x
    for k in range(1, n):
        prev, cur = cur, x * cur - k * prev
    return cur, prev


@functools.lru_cache(maxsize=64)
def hermite_rule_float(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The same rule in float64: ``hermegauss`` with weights normalised to sum 1 (i.e. divided by \\sqrt{2\\pi}).

    The arrays are cached and read-only.

    >>> x, w = hermite_rule_float(3)
    >>> np.round(x, 12).tolist(), np.round(w, 12).tolist()
    ([-1.732050807569, 0.0, 1.732050807569], [0.166666666667, 0.666666666667, 0.166666666667])
    """
    n = positive_int(n, "n")
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def nodes_needed(slope: float, dps: int, dim: int = 1) -> int:
    """Nodes per dimension so that the rule integrates e^{b g} and g e^{b g}, |b| <= ``slope``, to ``dps`` digits.

    The n-point rule misses E f(G) by n!/(2n)! f^{(2n)}(\\xi); its leading term for f = e^{b x} is
    n! b^{2n} / (2n)!  (relative to E e^{bG} = e^{b^2/2}), and for f = x e^{bx} it gains a factor
    (1 + 2n/|b|).  Returns the smallest n >= 20 with  dim * n! (|b|^{2n} + 2n |b|^{2n-1}) / (2n)! < 10^{-(dps+2)}
    (it may exceed :data:`MAX_NODES`; callers decide).

    >>> nodes_needed(0.0, 40), nodes_needed(2.0, 40), nodes_needed(6.0, 40)
    (20, 38, 83)
    """
    target = -(dps + 2) * math.log(10.0)
    n = MIN_NODES
    while _log_rule_error(n, slope, dim) >= target and n < 10 * MAX_NODES:
        n += 1
    return n


def whitened_tilt(K, Q, cov, z) -> float:
    r"""max_k |(B^T K^T Q z)_k|, B the Cholesky factor of \Gamma = ``cov``: the largest slope of the exponential
    weight e^{<K z', Q z>} = e^{a^T m} e^{b^T g} in whitened coordinates z' = m + B g, which sets the nodes
    :func:`nodes_needed` asks for.

    >>> whitened_tilt([[1.0]], [[2.0]], [[0.25]], [-3.0])
    3.0
    """
    G = covariance(_plain(cov), "cov")
    d = G.shape[0]
    K, Q = (as_matrix(M, name, (d, d)) for M, name in ((K, "K"), (Q, "Q")))
    return float(np.max(np.abs(np.linalg.cholesky(G).T @ K.T @ Q @ as_vector(z, "z", d))))


def within_tilt(point: dict, max_tilt: float) -> dict:
    r"""``point`` (keys K, Q, Gamma, z) with z scaled down so that its :func:`whitened_tilt` is at most ``max_tilt``;
    unchanged when it already is.  A point of a ``dps``-digit check stays within the node budget of the rule
    (:func:`nodes_needed`: |b| = 6 needs 83 nodes at 40 digits, |b| = 10.7 needs 152 > :data:`MAX_NODES`).

    >>> p = within_tilt({"K": [[1.0]], "Q": [[1.0]], "Gamma": [[1.0]], "z": [8.0]}, 6.0)
    >>> p["z"].tolist()
    [6.0]
    """
    tilt = whitened_tilt(point["K"], point["Q"], point["Gamma"], point["z"])
    limit = positive_float(max_tilt, "max_tilt")
    return dict(point, z=np.asarray(point["z"], dtype=float) * (limit / tilt)) if tilt > limit else point


def _log_rule_error(n: int, slope: float, dim: int) -> float:
    """Natural log of the bound  dim * n! (|b|^{2n} + 2n |b|^{2n-1}) / (2n)!  (see :func:`nodes_needed`)."""
    beta = abs(float(slope))
    if beta == 0.0:
        return -math.inf
    return (math.log(dim) + math.lgamma(n + 1) - math.lgamma(2 * n + 1) + (2 * n - 1) * math.log(beta)
            + math.log(beta + 2 * n))


# ------------------------------------------------------------------------------------ mp helpers


def _plain(value):
    """An mpmath matrix as nested lists (numpy would flatten it); anything else unchanged."""
    return value.tolist() if isinstance(value, mpmath.matrix) else value


def _mp_entries(value, validated: np.ndarray):
    """Entries of ``value`` as mpf, keeping mpf inputs exact (``validated`` is its checked float copy)."""
    value = _plain(value)
    raw = np.asarray(value, dtype=object).reshape(validated.shape)
    out = np.empty(validated.shape, dtype=object)
    for idx, entry in np.ndenumerate(raw):
        out[idx] = entry if isinstance(entry, mpmath.mpf) else mp.mpf(float(validated[idx]))
    return out


def _mp_root(cov) -> list[list]:
    """B with B B^T = \\Gamma at working precision: Cholesky, else the eigen-root U diag(\\sqrt{\\lambda_+})."""
    d = cov.shape[0]
    sym = mpmath.matrix([[(cov[i, j] + cov[j, i]) / 2 for j in range(d)] for i in range(d)])
    try:
        root = mp.cholesky(sym)
    except (ValueError, ZeroDivisionError):
        vals, vecs = mp.eigsy(sym)
        root = vecs * mp.diag([mp.sqrt(max(v, 0)) for v in vals])
    return [[root[i, j] for j in range(d)] for i in range(d)]


def _gaussian_params(mean, cov):
    """Validated (m, \\Gamma) as float64 arrays (a PSD \\Gamma is accepted)."""
    m_np = as_vector(_plain(mean), "mean")
    return m_np, covariance(_plain(cov), "cov", m_np.shape[0], allow_singular=True)


# ---------------------------------------------------------------------------- generic expectation


def gaussian_expectation(f, mean, cov, n: int = 20, dps: int = 30):
    """E f(X), X ~ N(m, \\Gamma), by the tensor-product Gauss-Hermite rule (n nodes per dimension).

        E f(X) \\approx \\sum_{i_1..i_d} w_{i_1} ... w_{i_d} f(m + B (x_{i_1}, ..., x_{i_d})),   B B^T = \\Gamma,

    exact for polynomials of total degree <= 2n - 1.  ``f`` receives a list of d mpf coordinates and is
    called inside ``mp.workdps(dps + 10)``; it returns a number (-> mpf) or a sequence or mpmath matrix
    of numbers (-> list of mpf, row-major).  n^d evaluations: meant for polynomial integrands, small d.

    >>> v = gaussian_expectation(lambda x: [x[0] * x[1], x[1] ** 2], [1.0, 2.0], [[1.0, 0.5], [0.5, 2.0]], n=2)
    >>> [mp.nstr(t, 20) for t in v]
    ['2.5', '6.0']
    """
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    n = positive_int(n, "n")
    dps = _capped_dps(dps)
    m_np, cov_np = _gaussian_params(mean, cov)
    d = m_np.shape[0]
    _capped_grid(n, d, "n")
    nodes, weights = hermite_rule(n, dps + GUARD_DIGITS)
    with mp.workdps(dps + GUARD_DIGITS):
        m = list(_mp_entries(mean, m_np))
        root = _mp_root(_mp_entries(cov, cov_np))
        total = None
        scalar = True
        for idx in itertools.product(range(n), repeat=d):
            g = [nodes[i] for i in idx]
            x = [m[r] + mp.fsum(root[r][c] * g[c] for c in range(d)) for r in range(d)]
            w = mp.fprod(weights[i] for i in idx)
            val = f(x)
            if isinstance(val, mpmath.matrix):
                val = [val[i, j] for i in range(val.rows) for j in range(val.cols)]
            if isinstance(val, (list, tuple, np.ndarray)):
                scalar = False
                vals = [v if isinstance(v, mpmath.mpf) else mp.mpf(v) for v in np.ravel(np.asarray(val, dtype=object))]
            else:
                vals = [mp.mpf(val)]
            if total is None:
                total = [w * v for v in vals]
            else:
                if len(vals) != len(total):
                    raise ValueError(f"f: returned {len(vals)} values at one node and {len(total)} at another")
                total = [t + w * v for t, v in zip(total, vals)]
    with mp.workdps(dps):
        out = [+t for t in total]
    return out[0] if scalar else out


# ---------------------------------------------------------------------------------- attention


def attention_quadrature(K, Q, V, mean, cov, z, dps: int = 40, n: int | None = None) -> list:
    """Measure attention T[\\mu](z) for \\mu = N(m, \\Gamma), integrated from its definition at ``dps`` digits.

        T[\\mu](z) = \\int e^{<K z', Q z>} V z' d\\mu(z') / \\int e^{<K z', Q z>} d\\mu(z').

    With z' = m + B g (B B^T = \\Gamma, g ~ N(0, I)) and a = K^T Q z the score is
    <K z', Q z> = a^T m + b^T g, b = B^T a, so the weight is e^{a^T m} \\prod_j e^{b_j g_j}; the constant
    e^{a^T m} cancels in the ratio.  The d-dimensional tensor-product rule (n nodes per dimension) gives

        N = \\sum_{i \\in [n]^d} W_i x_i,   D = \\sum_{i \\in [n]^d} W_i,   W_i = \\prod_j w_{i_j} e^{b_j x_{i_j}},
        T[\\mu](z) \\approx V (m + B N / D).

    The per-dimension tables w_i e^{b_j x_i} (scaled by their maximum, which cancels) are rounded once to
    fixed-point integers; the grid sums are then accumulated exactly in integer arithmetic.  ``n=None``
    picks :func:`nodes_needed` for max_j |b_j| (between 20 and :data:`MAX_NODES`; ``ValueError`` beyond).
    A singular PSD \\Gamma is accepted (eigen-root B when Cholesky fails).  Returns d mpf (rounded to ``dps``).

    >>> T = attention_quadrature([[1.0]], [[2.0]], [[3.0]], [0.5], [[0.25]], [1.0], dps=30)
    >>> mp.nstr(T[0], 25)
    '3.0'
    """
    dps = _capped_dps(dps)
    if n is not None:
        n = positive_int(n, "n")
    arrays = attention_inputs(K, Q, V, mean, cov, z)
    d = arrays[3].shape[0]
    if n is not None:
        _capped_grid(n, d, "n")
    work = dps + GUARD_DIGITS
    with mp.workdps(work):
        Kmp, Qmp, Vmp, m, cov_mp, zmp = (_mp_entries(v, a) for v, a in zip((K, Q, V, mean, cov, z), arrays))
        root = _mp_root(cov_mp)
        qz = [mp.fsum(Qmp[r, c] * zmp[c] for c in range(d)) for r in range(d)]
        a = [mp.fsum(Kmp[r, c] * qz[r] for r in range(d)) for c in range(d)]  # a = K^T Q z
        b = [mp.fsum(root[r][c] * a[r] for r in range(d)) for c in range(d)]  # b = B^T a
        beta = max(abs(float(bj)) for bj in b)
        if n is None:
            n = nodes_needed(beta, dps, d)
            if n > MAX_NODES:
                raise ValueError(
                    f"z: the score slope |B^T K^T Q z| = {beta:.3g} (from K, Q, z and cov) needs {n} > {MAX_NODES} "
                    f"Gauss-Hermite nodes per dimension for dps={dps}; scale down K, Q, z or cov, or lower dps")
            _capped_grid(n, d, "mean, cov")  # d comes with the mean and cov (and every other argument)
        nodes, weights = hermite_rule(n, work)
        bits = mp.prec + 2 * n.bit_length() + 8
        xs = [int(mp.ldexp(x, bits)) for x in nodes]
        tables = []
        for bj in b:
            row = [w * mp.exp(bj * x) for x, w in zip(nodes, weights)]
            top = max(row)
            tables.append([int(mp.ldexp(t / top, bits)) for t in row])
        num, den = _grid_sums(tables, xs)
        gbar = [mp.ldexp(mp.mpf(nk) / den, -bits) for nk in num]  # N / D (the nodes carry a factor 2^bits)
        zbar = [m[r] + mp.fsum(root[r][c] * gbar[c] for c in range(d)) for r in range(d)]
        out = [mp.fsum(Vmp[r, c] * zbar[c] for c in range(d)) for r in range(d)]
    with mp.workdps(dps):
        return [+t for t in out]


def _grid_sums(tables: list[list[int]], xs: list[int]) -> tuple[list[int], int]:
    """Exact integer sums over the grid [n]^d: D = \\sum_i W_i and N_k = \\sum_i W_i x_{i_k}, W_i = \\prod_j P_j[i_j].

    The grid is walked as (outer index tuple) x (last dimension); every W_i is formed explicitly.
    """
    d = len(tables)
    last = tables[-1]
    den = 0
    num = [0] * d
    for outer in itertools.product(*(range(len(t)) for t in tables[:-1])):
        w_outer = 1
        for j, i in enumerate(outer):
            w_outer *= tables[j][i]
        if not w_outer:
            continue
        row = [w_outer * p for p in last]  # W_i for the n grid points of this line
        s = sum(row)
        den += s
        num[-1] += sum(map(mul, row, xs))
        for j, i in enumerate(outer):
            num[j] += s * xs[i]  # = \sum over the line of W_i x_{i_j}, exactly
    return num, den


def attention_quadrature_float(K, Q, V, mean, cov, z, step: float = 0.125, *, log_density=None) -> np.ndarray:
    """Measure attention for \\mu = N(m, \\Gamma) from its definition, in float64, for any dimension.

    In whitened coordinates g = B^{-1}(z' - m) the tilted weight e^{b^T g} \\prod_j \\varphi(g_j)
    (b = B^T K^T Q z) is a product measure, so by Fubini the tilted mean of g factorises coordinatewise:

        \\bar g_k = \\int g e^{b_k g - g^2/2} dg / \\int e^{b_k g - g^2/2} dg,

    each 1-D integral by the trapezoid rule with spacing ``step`` on [-(|b_k| + 40), |b_k| + 40]
    (at most :data:`MAX_FLOAT_GRID` points: ``ValueError`` naming ``z`` beyond, i.e. |b_k| > 2.6e5 at step 1/8)
    (for entire integrands decaying like a Gaussian the rule converges like e^{-2\\pi^2/step^2}: below
    float64 rounding at step = 1/8, for any slope b_k), exponents shifted by their maximum so that
    steep tilts neither overflow nor underflow; then T[\\mu](z) \\approx V (m + B \\bar g).

    ``log_density`` (a vectorised function of g, up to a constant; default the standard normal  -g^2/2) replaces the
    law of each whitened coordinate: the tokens are then z' = m + B g with g_k i.i.d. of that law (B B^T = ``cov``),
    a non-Gaussian measure on which the same machinery integrates the same definition.  It is how this reference is
    shown to integrate the law it is given and not Lemma 2.1's affine form (statement ``gaussian-limit``, check
    ``references``): for g_k ~ (N(-c, 1 - c^2) + N(c, 1 - c^2))/2 the tilted mean is (1 - c^2) b_k + c \\tanh(c b_k).

    >>> attention_quadrature_float([[1.0]], [[2.0]], [[3.0]], [0.5], [[0.25]], [1.0]).round(12).tolist()
    [3.0]
    >>> pair = lambda g: np.logaddexp(-(g - 0.6) ** 2 / 1.28, -(g + 0.6) ** 2 / 1.28)   # c = 0.6, 1 - c^2 = 0.64
    >>> got = attention_quadrature_float([[1.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [2.0], log_density=pair)
    >>> bool(abs(got[0] - (0.64 * 2 + 0.6 * np.tanh(1.2))) < 1e-13)
    True
    """
    if log_density is not None and not callable(log_density):
        raise TypeError(f"log_density: expected a function of g (or None: the standard normal), got "
                        f"{type(log_density).__name__}")
    if isinstance(step, bool) or not isinstance(step, (int, float)):
        raise TypeError(f"step: expected a real spacing in (0, 0.25], got {type(step).__name__} {step!r}")
    if not 0 < step <= 0.25:
        raise ValueError(f"step: expected a spacing in (0, 0.25], got {step!r}")
    K_np, Q_np, V_np, m_np, cov_np, z_np = attention_inputs(K, Q, V, mean, cov, z)
    root = covariance_root(cov_np)
    b = root.T @ (K_np.T @ (Q_np @ z_np))
    points = 2 * (float(np.max(np.abs(b))) + 40.0) / step + 1
    if points > MAX_FLOAT_GRID:
        if 80.0 / step + 1 > MAX_FLOAT_GRID:
            raise ValueError(f"step: {step:g} needs {points:.3g} trapezoid points per coordinate; the limit is "
                             f"{MAX_FLOAT_GRID} (step >= {80.0 / (MAX_FLOAT_GRID - 1):.3g})")
        raise ValueError(
            f"z: the score slope max|B^T K^T Q z| = {np.max(np.abs(b)):.3g} (from K, Q, z and cov) at step={step:g} "
            f"needs {points:.3g} trapezoid points per coordinate; the limit is {MAX_FLOAT_GRID} "
            f"(|slope| <= {MAX_FLOAT_GRID * step / 2 - 40:.4g} at this step)")
    gbar = np.empty_like(b)
    for k, bk in enumerate(b):
        half = abs(bk) + 40.0
        x = np.arange(-half, half + step / 2, step)
        expo = bk * x + (-x * x / 2 if log_density is None else np.asarray(log_density(x), dtype=float))
        if expo.shape != x.shape or not np.isfinite(expo.max()):
            raise ValueError("log_density: expected finite values of the same shape as its argument")
        w = np.exp(expo - expo.max())
        gbar[k] = (w @ x) / w.sum()
    out = V_np @ (m_np + root @ gbar)
    if not np.all(np.isfinite(out)):
        raise ValueError("K, Q, z: the tilt is too steep to evaluate in float64")
    return out


# ----------------------------------------------------------------- MGF, tilted mean, linear attention


def _is_gaussian(measure) -> bool:
    return hasattr(measure, "root") and hasattr(measure, "cov") and not hasattr(measure, "atoms")


def measure_expectation(f, measure, n: int = 20, dps: int = 30):
    """E f(X), X ~ ``measure``: Gauss-Hermite (n nodes per dimension, :func:`gaussian_expectation`) for a
    :class:`verify.numerics.measures.Gaussian`, the exact weighted sum over the atoms for a measure with ``atoms()``
    (:class:`~verify.numerics.measures.Discrete`, :class:`~verify.numerics.measures.Rademacher`).  ``f`` gets a list of d mpf
    coordinates (inside ``mp.workdps(dps + 10)``) and returns a number or a sequence of numbers.

    >>> from verify.numerics.measures import Discrete
    >>> mp.nstr(measure_expectation(lambda x: x[0] ** 2, Discrete([[0.0], [1.0], [3.0]], [0.5, 0.25, 0.25])), 20)
    '2.5'
    """
    if not callable(f):
        raise TypeError(f"f: expected a callable, got {type(f).__name__}")
    dps = positive_int(dps, "dps")
    if _is_gaussian(measure):
        return gaussian_expectation(f, measure.mean, measure.cov, n=n, dps=dps)
    if not hasattr(measure, "atoms"):
        raise TypeError(f"measure: expected a Gaussian or a measure with atoms(), got {type(measure).__name__}")
    atoms, weights = measure.atoms()
    with mp.workdps(dps + GUARD_DIGITS):
        total, scalar = None, True
        for x, w in zip(np.asarray(atoms, dtype=float), np.asarray(weights, dtype=float)):
            val = f([mp.mpf(float(t)) for t in x])
            if isinstance(val, mpmath.matrix):
                val = [val[i, j] for i in range(val.rows) for j in range(val.cols)]
            vals = [mp.mpf(v) for v in val] if isinstance(val, (list, tuple)) else [mp.mpf(val)]
            scalar = scalar and not isinstance(val, (list, tuple))
            wv = mp.mpf(float(w))
            total = [wv * v for v in vals] if total is None else [t + wv * v for t, v in zip(total, vals)]
    with mp.workdps(dps):
        out = [+t for t in total]
    return out[0] if scalar else out


def _nodes_for_tilt(measure, a, dps: int) -> int:
    """Nodes per dimension for e^{a^T X}, X ~ N(m, \\Gamma): the slope of the tilt in whitened coordinates."""
    if not _is_gaussian(measure):
        return 1
    b = np.asarray(measure.root, dtype=float).T @ np.asarray([float(t) for t in a])
    n = nodes_needed(float(np.max(np.abs(b))) if b.size else 0.0, dps, measure.dim)
    if n > MAX_NODES:
        raise ValueError(f"a: the tilt |B^T a| = {np.max(np.abs(b)):.3g} needs {n} > {MAX_NODES} nodes for dps={dps}")
    return n


def _mgf(measure, a, n: int):
    """M_\\mu(a) = E e^{a^T X} at the working precision.  Gaussian: X = m + B G, so by Fubini
    E e^{a^T X} = e^{a^T m} \\prod_j E e^{b_j G_j}, b = B^T a, each factor by the n-node 1-D rule; otherwise the
    generic expectation."""
    if _is_gaussian(measure):
        d = measure.dim
        m_np, cov_np = _gaussian_params(measure.mean, measure.cov)
        root = _mp_root(_mp_entries(measure.cov, cov_np))
        nodes, weights = hermite_rule(n, mp.dps)
        out = mp.exp(mp.fsum(ai * mp.mpf(float(mi)) for ai, mi in zip(a, m_np)))
        for j in range(d):
            bj = mp.fsum(root[i][j] * a[i] for i in range(d))
            out *= mp.fsum(w * mp.exp(bj * x) for x, w in zip(nodes, weights))
        return out
    return measure_expectation(lambda x: mp.exp(mp.fsum(ai * xi for ai, xi in zip(a, x))), measure, n=n, dps=mp.dps)


def log_mgf(measure, a, dps: int = 40):
    r"""\log M_\mu(a) = \log E_\mu e^{a^T X}, integrated from its definition (no closed form), at ``dps`` digits.

    >>> from verify.numerics.measures import Gaussian
    >>> mp.nstr(log_mgf(Gaussian([1.0], [[4.0]]), [0.5], dps=30), 25)   # a m + a^2 s^2 / 2 = 1
    '1.0'
    """
    dps = positive_int(dps, "dps")
    with mp.workdps(dps + GUARD_DIGITS):
        a = [mp.mpf(t) if isinstance(t, mpmath.mpf) else mp.mpf(float(t)) for t in a]
        out = mp.log(_mgf(measure, a, _nodes_for_tilt(measure, a, dps)))
    with mp.workdps(dps):
        return +out


def log_mgf_gradient(measure, a, dps: int = 40, log: bool = True) -> list:
    r"""\nabla_a \log M_\mu(a)  (``log=False``: \nabla_a M_\mu(a)) by numerical differentiation of the quadrature
    MGF (:func:`mpmath.diff`, which raises the working precision; the MGF is re-integrated at that precision).

    >>> from verify.numerics.measures import Gaussian
    >>> [mp.nstr(g, 20) for g in log_mgf_gradient(Gaussian([1.0], [[4.0]]), [0.5], dps=30)]   # m + s^2 a
    ['3.0']
    """
    dps = positive_int(dps, "dps")
    with mp.workdps(dps + GUARD_DIGITS):
        a0 = [mp.mpf(t) if isinstance(t, mpmath.mpf) else mp.mpf(float(t)) for t in a]
        d = len(a0)
        n = _nodes_for_tilt(measure, a0, (3 * dps) // 2 + 2 * GUARD_DIGITS)  # F is differenced at step ~ 10^{-dps/2}

        def F(*aa):
            M = _mgf(measure, list(aa), n)
            return mp.log(M) if log else M

        grad = []
        for k in range(d):
            order = tuple(1 if j == k else 0 for j in range(d))
            grad.append(mp.diff(F, a0, order))
    with mp.workdps(dps):
        return [+g for g in grad]


def tilted_mean(measure, K, Q, z, dps: int = 40) -> list:
    r"""The mean of the tilted measure  d\mu_z \propto e^{\langle K z', Q z\rangle} d\mu(z'), from its definition:

        E_{\mu_z}[z'] = E_\mu[z' e^{\langle K z', Q z\rangle}] / E_\mu[e^{\langle K z', Q z\rangle}],

    the score computed at every node as the inner product of K z' and Q z (nothing rewritten).

    >>> from verify.numerics.measures import Discrete
    >>> mu = Discrete([[-1.0], [1.0]], [0.5, 0.5])
    >>> mp.nstr(tilted_mean(mu, [[1.0]], [[1.0]], [2.0], dps=20)[0], 15), mp.nstr(mp.tanh(2), 15)
    ('0.964027580075817', '0.964027580075817')
    """
    Kn, Qn = np.asarray(K, dtype=float), np.asarray(Q, dtype=float)
    zn = np.asarray(z, dtype=float)
    d = zn.shape[0]
    with mp.workdps(dps + GUARD_DIGITS):
        Km = [[mp.mpf(float(Kn[i, j])) for j in range(d)] for i in range(d)]
        qz = [mp.fsum(mp.mpf(float(Qn[i, j])) * mp.mpf(float(zn[j])) for j in range(d)) for i in range(d)]
        a_num = np.array([float(mp.fsum(Km[i][j] * qz[i] for i in range(d))) for j in range(d)])

        def integrand(x):
            kx = [mp.fsum(Km[i][j] * x[j] for j in range(d)) for i in range(d)]
            w = mp.exp(mp.fsum(kx[i] * qz[i] for i in range(d)))
            return [w] + [w * xi for xi in x]

        n = _nodes_for_tilt(measure, a_num, dps)
        vals = measure_expectation(integrand, measure, n=n, dps=dps + GUARD_DIGITS)
        out = [v / vals[0] for v in vals[1:]]
    with mp.workdps(dps):
        return [+t for t in out]


def linear_attention_quadrature(K, Q, V, mean, cov, z, dps: int = 40) -> list:
    r"""Normalised linear attention on N(m, \Gamma) from its definition,

        T_{lin}[\mu](z) = V \int \langle K z', Q z\rangle z' d\mu(z'),

    by Gauss-Hermite: the integrand is a quadratic polynomial in z', so the 3-node rule is exact; the score is
    the inner product of K z' and Q z at every node.  Returns d mpf at ``dps`` digits.

    >>> [mp.nstr(t, 20) for t in linear_attention_quadrature([[1.0]], [[2.0]], [[3.0]], [0.5], [[0.25]], [1.0])]
    ['3.0']
    """
    dps = _capped_dps(dps)
    arrays = attention_inputs(K, Q, V, mean, cov, z)
    d = arrays[3].shape[0]
    with mp.workdps(dps + GUARD_DIGITS):
        Kmp, Qmp, Vmp, _, _, zmp = (_mp_entries(v, a) for v, a in zip((K, Q, V, mean, cov, z), arrays))
        qz = [mp.fsum(Qmp[i, j] * zmp[j] for j in range(d)) for i in range(d)]

    def integrand(x):
        score = mp.fsum(mp.fsum(Kmp[i, j] * x[j] for j in range(d)) * qz[i] for i in range(d))
        return [score * mp.fsum(Vmp[r, c] * x[c] for c in range(d)) for r in range(d)]

    return gaussian_expectation(integrand, mean, cov, n=3, dps=dps)
