r"""The pushforward law of Lemma 2.1: numerics.

For X ~ \mu = N(m, \Gamma), Y = T[\mu](X) has law T[\mu]_\# \mu.  Statement ``pushforward-law``:
Y ~ N(V(m + \Gamma U m), V\Gamma U\Gamma U^T\Gamma V^T),  U = K^T Q.

The references here never use that formula (nor Lemma 2.1's): :func:`definition_field` evaluates T[\mu](x) at
many queries from its *definition*, the tilted mean of \mu, by the trapezoid rule in whitened coordinates
z' = m + B g (B B^T = \Gamma): the tilt e^{<Kz', Qx>} = e^{c + b^T g}, b = B^T K^T Q x, factorises over the
coordinates of g, so \bar g_k = \int g e^{b_k g - g^2/2} dg / \int e^{b_k g - g^2/2} dg (step 1/8 on
[-(|b|_max + 40), |b|_max + 40]: error below float64 rounding) and T[\mu](x) = V(m + B\bar g).
:func:`pushforward_samples` draws X and returns Y; :func:`pushforward_moment_estimates` turns them into estimates
with standard errors; :func:`nested_moments` integrates E[Y] and E[Y Y^T] by Gauss-Hermite over X with the
definition inside, and :func:`nested_moments_mp` does it at 40 digits (two outer rules that must agree:
:func:`nested_moments_checked`) for random points whose K^T Q is far from normal (:func:`non_normal_point`).

>>> import numpy as np
>>> I = np.eye(2)
>>> definition_field(I, I, I, [0.0, 0.0], I, [[1.0, 2.0]]).round(12).tolist()
[[1.0, 2.0]]
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
from mpmath import mp

from verify.numerics.measures import covariance_root
from verify.numerics.montecarlo import Estimate, mean_estimate
from verify._validation import as_array, as_matrix, as_vector, covariance, positive_int

__all__ = ["definition_field", "pushforward_samples", "pushforward_moment_estimates", "nested_moments",
           "nested_moments_mp", "nested_moments_checked", "non_normal_point", "STEP", "MAX_SLOPE"]

STEP = 0.125
MAX_SLOPE = 200.0
"""Largest whitened score slope |b| accepted by :func:`definition_field` (ValueError naming ``X`` beyond)."""


def definition_field(K, Q, V, m, G, X) -> np.ndarray:
    r"""T[N(m, \Gamma)](x) from its definition (tilted mean by the trapezoid rule), for each row x of ``X`` (n x d)."""
    m = as_vector(m, "m")
    d = m.size
    K, Q, V = (as_matrix(M, name, (d, d)) for M, name in ((K, "K"), (Q, "Q"), (V, "V")))
    G = covariance(G, "G", d, allow_singular=True)
    X = as_array(X, "X", ndim=2)
    if X.shape[1] != d:
        raise ValueError(f"X: expected rows of length {d}, got shape {X.shape}")
    B = covariance_root(G)
    b = X @ (B.T @ K.T @ Q).T                        # (n, d): whitened slopes
    top = float(np.abs(b).max()) if b.size else 0.0
    if not top <= MAX_SLOPE:
        raise ValueError(f"X: whitened score slope {top:.3g} above {MAX_SLOPE:g}")
    half = top + 40.0
    g = np.arange(-half, half + STEP / 2, STEP)
    out = np.empty_like(b)
    for k in range(d):
        e = b[:, k:k + 1] * g - g * g / 2
        w = np.exp(e - e.max(axis=1, keepdims=True))
        out[:, k] = (w @ g) / w.sum(axis=1)
    return (m + out @ B.T) @ V.T


def pushforward_samples(K, Q, V, m, G, n: int, rng) -> np.ndarray:
    """n i.i.d. samples Y = T[\\mu](X), X ~ N(m, \\Gamma), the field from :func:`definition_field` (n x d)."""
    m = as_vector(m, "m")
    G = covariance(G, "G", m.size, allow_singular=True)
    X = m + rng.standard_normal((positive_int(n, "n", 2), m.size)) @ covariance_root(G).T
    return definition_field(K, Q, V, m, G, X)


def pushforward_moment_estimates(Y) -> list[Estimate]:
    r"""Estimates of E Y_i (i < d), then of Cov(Y)_{ij} (i <= j, row-major), then of the Gaussian fourth-moment
    ratio E[(e^T(Y - EY))^4] / (3 (e^T Cov e)^2) along e = (1, .., 1)/\sqrt d (1 for a Gaussian law).

    Covariance entries: the sample mean of (Y_i - \bar Y_i)(Y_j - \bar Y_j) with its i.i.d. standard error (the
    centring costs O(1/n), far below the error O(1/\sqrt n)).  The ratio: delta method on the two sample moments."""
    Y = as_array(Y, "Y", ndim=2)
    n, d = Y.shape
    C = Y - Y.mean(axis=0)
    out = [mean_estimate(Y[:, i]) for i in range(d)]
    out += [mean_estimate(C[:, i] * C[:, j] * n / (n - 1)) for i in range(d) for j in range(i, d)]
    p = C @ (np.ones(d) / math.sqrt(d))
    p2, p4 = p**2, p**4
    m2, m4 = p2.mean(), p4.mean()
    infl = p4 / (3 * m2**2) - 2 * m4 * p2 / (3 * m2**3)     # influence function of m4 / (3 m2^2)
    out.append(Estimate(float(m4 / (3 * m2**2)), float(infl.std(ddof=1) / math.sqrt(n)), n))
    return out


def nested_moments(K, Q, V, m, G, nodes: int = 12, *, cross: bool = False) -> tuple:
    r"""E[Y] and Cov(Y) for Y = T[\mu](X), X ~ N(m, \Gamma): Gauss-Hermite (``nodes`` per coordinate, tensor grid)
    over X, with T[\mu] at every node from :func:`definition_field` (exact for a polynomial field of degree
    < ``nodes``; the reference never assumes the field is affine).  With ``cross=True`` also
    C = E[(Y - EY)(X - m)^T], the drift of the covariance under the attention dynamics (the weak form with
    \varphi = (x - m)(x - m)^T gives \dot\Gamma = C + C^T, and \varphi = x gives \dot m = E Y)."""
    m = as_vector(m, "m")
    d = m.size
    G = covariance(G, "G", d, allow_singular=True)
    x, w = np.polynomial.hermite_e.hermegauss(positive_int(nodes, "nodes", 2))
    w = w / w.sum()
    grids = np.meshgrid(*([x] * d), indexing="ij")
    Z = np.stack([g.ravel() for g in grids], axis=1)
    W = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w] * d), indexing="ij")], axis=1), axis=1)
    X = Z @ covariance_root(G).T
    Y = definition_field(K, Q, V, m, G, m + X)
    mean = W @ Y
    C = Y - mean
    if cross:
        return mean, (C * W[:, None]).T @ C, (C * W[:, None]).T @ X
    return mean, (C * W[:, None]).T @ C


# ------------------------------------------------------------------------------------ 40-digit references

GUARD = 10


def _tilted_mean_mp(beta, rule):
    r"""\bar g(\beta) = E[G e^{\beta G}] / E[e^{\beta G}], G ~ N(0, 1), by the Gauss-Hermite ``rule`` (nodes, weights)."""
    x, w = rule
    t = [wi * mp.exp(beta * xi) for xi, wi in zip(x, w)]
    return mp.fsum(ti * xi for ti, xi in zip(t, x)) / mp.fsum(t)


def nested_moments_mp(K, Q, V, m, G, nodes: int = 6, dps: int = 40) -> tuple:
    r"""(E Y, Cov Y, C) as mpmath matrices at ``dps`` digits, for Y = T[\mu](X), X ~ \mu = N(m, \Gamma) and
    C = E[(Y - EY)(X - m)^T] (the covariance ODE's drift: \dot\Gamma = C + C^T, the weak form with \varphi =
    (x - m)(x - m)^T).

    T[\mu](x) comes from its *definition*, the tilted mean of \mu: with \Gamma = L L^T and b = L^T K^T Q x the tilt
    e^{<Kz', Qx>} factorises over the whitened coordinates, T[\mu](x) = V(m + L \bar g(b)) with 1-D tilted means
    :func:`_tilted_mean_mp` by one Gauss-Hermite rule with :func:`verify.numerics.quadrature.nodes_needed` nodes for the
    largest slope |b| on the outer grid (error bound below 10^{-(dps+12)}), never Lemma 2.1's affine form.  The outer expectation over X is the ``nodes``-point
    tensor Gauss-Hermite rule (``nodes``^d queries): exact when the field is a polynomial of degree <= 2 nodes - 2,
    which nothing here assumes; :func:`nested_moments_checked` runs two rules and requires them to agree.

    >>> I = [[1.0]]
    >>> mean, cov, C = nested_moments_mp(I, [[0.5]], [[2.0]], [0.25], [[0.5]], nodes=4, dps=30)
    >>> mp.nstr(mean[0], 20), mp.nstr(cov[0], 20), mp.nstr(C[0], 20)   # V(m + Gm/2), (V G/2)^2 G, V G/2 G
    ('0.625', '0.125', '0.25')
    """
    m = as_vector(m, "m")
    d = m.size
    K, Q, V = (as_matrix(M, name, (d, d)) for M, name in ((K, "K"), (Q, "Q"), (V, "V")))
    G = covariance(G, "G", d)
    nodes, dps = positive_int(nodes, "nodes", 2), positive_int(dps, "dps")
    from verify.numerics.quadrature import hermite_rule, nodes_needed

    wd = dps + GUARD
    with mp.workdps(wd):
        Km, Qm, Vm, Gm = (mpmath.matrix([[mp.mpf(float(x)) for x in row] for row in M]) for M in (K, Q, V, G))
        mm = mpmath.matrix([mp.mpf(float(x)) for x in m])
        Lm = mp.cholesky(Gm)
        W = Lm.T * Km.T * Qm
        c, WL = W * mm, W * Lm                       # b(x) = W (m + L g) = c + (W L) g
        L, WL = ([[M[i, j] for j in range(d)] for i in range(d)] for M in (Lm, WL))
        Vl = [[Vm[i, j] for j in range(d)] for i in range(d)]
        Vmean = [mp.fsum(Vl[i][j] * mm[j] for j in range(d)) for i in range(d)]
        gx, gw = hermite_rule(nodes, wd)
        top = max(abs(c[k]) + sum(abs(WL[k][j]) for j in range(d)) * abs(gx[0]) for k in range(d))
        rule = hermite_rule(-(-nodes_needed(float(top), wd) // 16) * 16, wd)   # one inner rule: |b| <= top
        zero = mp.mpf(0)
        s1, sg = [zero] * d, [zero] * d
        s2, sx = [[zero] * d for _ in range(d)], [[zero] * d for _ in range(d)]
        for idx in itertools.product(range(nodes), repeat=d):
            w = mp.fprod(gw[i] for i in idx)
            g = [gx[i] for i in idx]
            Lg = [mp.fsum(L[k][j] * g[j] for j in range(d)) for k in range(d)]
            gbar = [_tilted_mean_mp(c[k] + mp.fsum(WL[k][j] * g[j] for j in range(d)), rule) for k in range(d)]
            Lb = [mp.fsum(L[k][j] * gbar[j] for j in range(d)) for k in range(d)]
            y = [Vmean[i] + mp.fsum(Vl[i][k] * Lb[k] for k in range(d)) for i in range(d)]
            for i in range(d):
                s1[i] += w * y[i]
                sg[i] += w * Lg[i]
                for j in range(d):
                    s2[i][j] += w * y[i] * y[j]
                    sx[i][j] += w * y[i] * Lg[j]
        cov = mpmath.matrix([[s2[i][j] - s1[i] * s1[j] for j in range(d)] for i in range(d)])
        cross = mpmath.matrix([[sx[i][j] - s1[i] * sg[j] for j in range(d)] for i in range(d)])
        mean = mpmath.matrix(s1)
    with mp.workdps(dps):
        return +mean, +cov, +cross


def nested_moments_checked(K, Q, V, m, G, rules=(4, 5), dps: int = 40) -> tuple:
    r""":func:`nested_moments_mp` with each outer rule of ``rules`` (nodes per coordinate, increasing); every rule must
    agree with the last one to 10^{-(dps-5)} relative in E Y, Cov Y and C (else ``RuntimeError``: the field is not
    resolved).  Returns the last rule's (E Y, Cov Y, C).

    >>> mean, cov, C = nested_moments_checked([[1.0]], [[0.5]], [[2.0]], [0.25], [[0.5]], rules=(3, 4), dps=30)
    >>> mp.nstr(C[0], 20)
    '0.25'
    """
    rules = [positive_int(r, "rules", 2) for r in rules]
    if not rules:
        raise ValueError("rules: expected at least one outer rule")
    runs = [nested_moments_mp(K, Q, V, m, G, r, dps) for r in rules]
    with mp.workdps(dps):
        for r, run in zip(rules[:-1], runs[:-1]):
            for a, b in zip(run, runs[-1]):
                gap = max(abs(x - y) for x, y in zip(a, b))
                if gap > mp.mpf(10) ** (5 - dps) * max(1, max(abs(y) for y in b)):
                    raise RuntimeError(f"the {r}- and {rules[-1]}-node outer rules disagree by {mp.nstr(gap, 3)}")
    return runs[-1]


def non_normal_point(dim: int, rng, scale: float = 0.4, min_gap: float = 0.05, tries: int = 1000) -> dict:
    """:func:`verify.numerics.strategies.attention_point` (K, Q entries N(0, ``scale``^2), V, m N(0, 1), Gamma random
    SPD), redrawn at d >= 2 until A = K^T Q is far from normal (max |A A^T - A^T A| >= ``min_gap``), so that every
    transpose slip changes the answer."""
    from verify.numerics.strategies import attention_point

    for _ in range(positive_int(tries, "tries")):
        p = attention_point(dim, rng, scale)
        A = p["K"].T @ p["Q"]
        if dim == 1 or np.abs(A @ A.T - A.T @ A).max() >= min_gap:
            return p
    raise RuntimeError(f"no non-normal K^T Q in {tries} draws at d={dim}")  # pragma: no cover
