r"""The definition side of Lemma 2.1's claims (``verify claim gaussian-limit`` / ``linear-limit``), d = 1..5.

Both claims are checked against the *definition* of attention on \mu = N(m, \Gamma), never a closed form:

* softmax attention (Lemma 2.1, left-hand side), with a = K^T Q z so that <K x, Q z> = a^T x,

      T[\mu](z) = \int V x e^{a^T x} d\mu(x) / \int e^{a^T x} d\mu(x);

  for d <= :data:`QUADRATURE_MAX_DIM` by the d-dimensional tensor-product Gauss-Hermite rule
  (:func:`verify.numerics.quadrature.attention_quadrature`, 40 digits), for larger d by its exact reduction to 1-D
  integrals, :func:`attention_factorised` (the tensor rule costs n^d nodes, n >= 20): :func:`softmax_reference`;
* normalised linear attention (the remark after Lemma 2.1),

      T_lin[\mu](z) = V \int <K x, Q z> x d\mu(x),

  at every d by :func:`verify.numerics.quadrature.linear_attention_quadrature`: the integrand is a quadratic
  polynomial in x, so the 3-node tensor rule (3^d nodes, 243 at d = 5) is exact: :func:`linear_reference`.

:func:`parameter_points` draws the parameters: at every d = 1..5, :data:`GENERIC_PER_DIM` points with m != 0 and
:data:`CENTRED_PER_DIM` point with m = 0 (case ``"centred"``), \Gamma = A A^T / d + 0.3 I random SPD and
non-diagonal (d >= 2), K, Q, V, z with i.i.d. Gaussian entries.  The same seed gives the same parameters to both
claims, so a form true for one and not the other is seen at the same points.
"""

from __future__ import annotations

import mpmath
import numpy as np
from mpmath import mp

from verify.numerics.quadrature import (attention_quadrature, hermite_rule, linear_attention_quadrature, nodes_needed,
                                        whitened_tilt)
from verify.numerics.strategies import attention_point
from verify._validation import attention_inputs, positive_int

__all__ = ["attention_factorised", "softmax_reference", "linear_reference", "parameter_points", "points_coverage",
           "pair_law_attention", "hermite_rule_attention", "DIMS", "QUADRATURE_MAX_DIM", "GENERIC_PER_DIM", "CENTRED_PER_DIM", "MAX_NODES_1D", "MAX_TILT"]

DIMS = (1, 2, 3, 4, 5)
"""Dimensions of the claim points."""
QUADRATURE_MAX_DIM = 3
"""Largest d at which the softmax reference is the d-dimensional tensor-product rule."""
GENERIC_PER_DIM = 2
"""Points with m != 0 per dimension."""
CENTRED_PER_DIM = 1
"""Points with m = 0 (case ``"centred"``) per dimension."""
MAX_NODES_1D = 400
"""Ceiling of the Gauss-Hermite nodes of one 1-D integral in :func:`attention_factorised`."""
GUARD_DIGITS = 10
"""Extra digits carried inside :func:`attention_factorised`."""
MAX_TILT = 3.0
"""Largest whitened tilt max_k |(L^T K^T Q z)_k| of a claim point (larger draws are redrawn)."""
_SALT = 21  # the claims' random stream: default_rng([seed, _SALT, d])


def _mp(x: float):
    return mp.mpf(float(x))  # exact: every float64 is an mpf


def _tilted_mean_1d(beta, dps: int):
    r"""\bar g(\beta) = I_1(\beta) / I_0(\beta),  I_r(\beta) = E[G^r e^{\beta G}], G ~ N(0, 1), by the Gauss-Hermite
    rule with :func:`verify.numerics.quadrature.nodes_needed` nodes (rounded up to a multiple of 8, so few rules are built)."""
    n = nodes_needed(float(abs(beta)), dps)
    n = -(-n // 8) * 8
    if n > MAX_NODES_1D:
        raise ValueError(f"z: the whitened tilt |b_k| = {float(abs(beta)):.3g} (from K, Q, z and cov) needs {n} > "
                         f"{MAX_NODES_1D} Gauss-Hermite nodes for dps={dps}; scale down K, Q, z or cov")
    nodes, weights = hermite_rule(n, dps)
    terms = [w * mp.exp(beta * x) for x, w in zip(nodes, weights)]
    return mp.fsum(t * x for t, x in zip(terms, nodes)) / mp.fsum(terms)


def attention_factorised(K, Q, V, mean, cov, z, dps: int = 40) -> list:
    r"""Softmax attention on N(m, \Gamma) from its definition, by an exact reduction to 1-D integrals.

        T[\mu](z) = \int V x e^{a^T x} d\mu(x) / \int e^{a^T x} d\mu(x),   a = K^T Q z,   \mu = N(m, \Gamma).

    With \Gamma = L L^T (Cholesky), x = m + L g, g ~ N(0, I_d) and b = L^T a, the weight factorises,
    e^{a^T x} = e^{a^T m} \prod_j e^{b_j g_j}, so by Fubini

        \int e^{a^T x} d\mu = e^{a^T m} \prod_j I_0(b_j),
        \int x e^{a^T x} d\mu = e^{a^T m} [ m \prod_j I_0(b_j) + L ( I_1(b_k) \prod_{j \ne k} I_0(b_j) )_k ],

    I_r(\beta) = E[G^r e^{\beta G}] (G ~ N(0, 1)), and the ratio is  T[\mu](z) = V (m + L \bar g),
    \bar g_k = I_1(b_k) / I_0(b_k).  Each I_r is a 1-D probabilists' Gauss-Hermite sum at ``dps`` + 10 digits
    with :func:`verify.numerics.quadrature.nodes_needed` nodes (its error bound below 10^{-(dps+2)}; at most
    :data:`MAX_NODES_1D`, else ``ValueError`` naming ``z``).  Cost: 2 d 1-D sums instead of n^d nodes.  A
    singular PSD \Gamma is refused here (Cholesky); use :func:`verify.numerics.quadrature.attention_quadrature`.

    >>> [mp.nstr(t, 25) for t in attention_factorised([[1.0]], [[2.0]], [[3.0]], [0.5], [[0.25]], [1.0], dps=30)]
    ['3.0']
    >>> T = attention_factorised(np.eye(2), np.eye(2), np.eye(2), [0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], [1.0, 0.0])
    >>> [mp.nstr(t, 30) for t in T]   # tilted mean of N(0, Gamma) with a = e_1: Gamma e_1
    ['1.0', '0.5']
    """
    dps = positive_int(dps, "dps")
    Kn, Qn, Vn, mn, Gn, zn = attention_inputs(K, Q, V, mean, cov, z)
    d = mn.shape[0]
    with mp.workdps(dps + GUARD_DIGITS):
        Km, Qm, Vm, Gm = (mpmath.matrix([[_mp(x) for x in row] for row in A]) for A in (Kn, Qn, Vn, Gn))
        mm, zm = (mpmath.matrix([_mp(x) for x in v]) for v in (mn, zn))
        try:
            L = mp.cholesky(Gm)
        except (ValueError, ZeroDivisionError):
            raise ValueError("cov: not positive definite at working precision; attention_factorised needs a "
                             "Cholesky factor") from None
        a = Km.T * (Qm * zm)
        b = L.T * a
        gbar = mpmath.matrix([_tilted_mean_1d(b[k], dps + GUARD_DIGITS) for k in range(d)])
        out = Vm * (mm + L * gbar)
        vals = [out[i] for i in range(d)]
    with mp.workdps(dps):
        return [+t for t in vals]


def pair_law_attention(K, Q, V, mean, root, z, c: float) -> np.ndarray:
    r"""Softmax attention, exactly, on the non-Gaussian law of z' = m + B g with g_k i.i.d. of the unit-variance
    symmetric pair (N(-c, 1 - c^2) + N(c, 1 - c^2))/2, 0 < c < 1 (``root`` = B, lower triangular):

        T(z) = V (m + B ar g),   ar g_k = (1 - c^2) b_k + c 	anh(c b_k),   b = B^T K^T Q z

    (the tilt of a symmetric Gaussian pair, coordinate by coordinate).  Not affine in z: the second route on which
    the float64 reference of Lemma 2.1 (:func:`verify.numerics.quadrature.attention_quadrature_float` with that law)
    is shown to integrate the law it is given.

    >>> pair_law_attention([[1.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [2.0], 0.6).round(12).tolist()
    [1.780192764207]
    """
    Kn, Qn, Vn, mn, Bn, zn = (np.asarray(x, dtype=float) for x in (K, Q, V, mean, root, z))
    if not 0.0 < float(c) < 1.0:
        raise ValueError(f"c: expected a number in (0, 1), got {c!r}")
    b = Bn.T @ (Kn.T @ (Qn @ zn))
    return Vn @ (mn + Bn @ ((1.0 - c * c) * b + c * np.tanh(c * b)))


def hermite_rule_attention(K, Q, V, mean, cov, z, n: int) -> np.ndarray:
    r"""The n-node tensor Gauss-Hermite rule of softmax attention on N(m, \Gamma) in float64, from numpy's nodes
    (:func:`numpy.polynomial.hermite_e.hermegauss`): with z' = m + B g (B the Cholesky root) and b = B^T K^T Q z the
    rule's sums are products of 1-D sums, so its value is V (m + B ar g), ar g_k = \sum_i w_i x_i e^{b_k x_i} /
    \sum_i w_i e^{b_k x_i}.  For small n it is visibly not the limit (the rule's error), which makes it the second
    route that shows :func:`verify.numerics.quadrature.attention_quadrature` with ``n`` nodes computes the rule of
    the definition (statement ``gaussian-limit``, check ``references``).

    >>> hermite_rule_attention([[1.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [1.0], 2).round(12).tolist()
    [0.761594155956]
    """
    Kn, Qn, Vn, mn, Gn, zn = attention_inputs(K, Q, V, mean, cov, z)
    x, w = np.polynomial.hermite_e.hermegauss(positive_int(n, "n"))
    B = np.linalg.cholesky(Gn)
    b = B.T @ (Kn.T @ (Qn @ zn))
    e = b[:, None] * x[None, :]
    t = w[None, :] * np.exp(e - e.max(axis=1, keepdims=True))
    return Vn @ (mn + B @ ((t @ x) / t.sum(axis=1)))


def softmax_reference(p: dict, dps: int = 40) -> list:
    """The softmax claim's reference at ``p`` (keys K, Q, V, m, Gamma, z): the tensor-product rule for
    d <= :data:`QUADRATURE_MAX_DIM`, :func:`attention_factorised` above."""
    args = (p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["z"])
    if len(p["m"]) <= QUADRATURE_MAX_DIM:
        return attention_quadrature(*args, dps=dps)
    return attention_factorised(*args, dps=dps)


def linear_reference(p: dict, dps: int = 40) -> list:
    """The linear claim's reference at ``p``: the exact 3-node tensor Gauss-Hermite of the definition."""
    return linear_attention_quadrature(p["K"], p["Q"], p["V"], p["m"], p["Gamma"], p["z"], dps=dps)


def _moderate_point(dim: int, rng, scale: float) -> dict:
    """:func:`verify.numerics.strategies.attention_point`, redrawn while its whitened tilt exceeds :data:`MAX_TILT`."""
    for _ in range(1000):
        p = attention_point(dim, rng, scale)
        if whitened_tilt(p["K"], p["Q"], p["Gamma"], p["z"]) <= MAX_TILT:
            return p
    raise RuntimeError(f"no point with whitened tilt <= {MAX_TILT} in 1000 draws at d={dim}")  # pragma: no cover


def parameter_points(seed: int, dims=DIMS) -> list[tuple[dict, frozenset]]:
    r"""(parameters, cases) of the claim points: per d, GENERIC_PER_DIM with m != 0, then CENTRED_PER_DIM with
    m = 0 (case ``"centred"``); K, Q entries ~ N(0, 0.6^2) (d <= 3) or N(0, 0.5^2) (d >= 4), V, m, z ~ N(0, 1),
    \Gamma = A A^T / d + 0.3 I; a draw whose whitened tilt exceeds :data:`MAX_TILT` is redrawn (so the d = 3
    tensor rule needs <= 49 nodes per axis and stays fast)."""
    out = []
    for dim in dims:
        rng = np.random.default_rng([seed, _SALT, dim])
        scale = 0.6 if dim <= QUADRATURE_MAX_DIM else 0.5
        for k in range(GENERIC_PER_DIM + CENTRED_PER_DIM):
            p = _moderate_point(dim, rng, scale)
            if k >= GENERIC_PER_DIM:
                out.append((dict(p, m=np.zeros(dim)), frozenset({"centred"})))
            else:
                out.append((p, frozenset()))
    return out


def points_coverage() -> str:
    """What :func:`parameter_points` draws, for a claim's ``coverage`` text (lines under 90 columns).

    >>> print(points_coverage().splitlines()[0])
    d = 1, 2, 3, 4, 5; per d 2 points with m != 0 and 1 with m = 0 (case centred);
    """
    return (f"d = {', '.join(map(str, DIMS))}; per d {GENERIC_PER_DIM} points with m != 0 and {CENTRED_PER_DIM} with "
            f"m = 0 (case centred);\nGamma random SPD, non-diagonal for d >= 2; K, Q, V, z generic (Gaussian "
            f"entries);\nwhitened tilt |L^T K^T Q z| <= {MAX_TILT:g}.")
