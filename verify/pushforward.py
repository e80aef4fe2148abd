r"""The pushforward law of Lemma 2.1 (issue 10 part 3): numerics.

For X ~ \mu = N(m, \Gamma), Y = T[\mu](X) has law T[\mu]_\# \mu.  Statement ``pushforward-law``:
Y ~ N(V(m + \Gamma U m), V\Gamma U\Gamma U^T\Gamma V^T),  U = K^T Q.

The references here never use that formula (nor Lemma 2.1's): :func:`definition_field` evaluates T[\mu](x) at
many queries from its *definition*, the tilted mean of \mu, by the trapezoid rule in whitened coordinates
z' = m + B g (B B^T = \Gamma): the tilt e^{<Kz', Qx>} = e^{c + b^T g}, b = B^T K^T Q x, factorises over the
coordinates of g, so \bar g_k = \int g e^{b_k g - g^2/2} dg / \int e^{b_k g - g^2/2} dg (step 1/8 on
[-(|b|_max + 40), |b|_max + 40]: error below float64 rounding) and T[\mu](x) = V(m + B\bar g).
:func:`pushforward_samples` draws X and returns Y; :func:`pushforward_moment_estimates` turns them into estimates
with standard errors; :func:`nested_moments` integrates E[Y] and E[Y Y^T] by Gauss-Hermite over X with the
definition inside.

>>> import numpy as np
>>> I = np.eye(2)
>>> definition_field(I, I, I, [0.0, 0.0], I, [[1.0, 2.0]]).round(12).tolist()
[[1.0, 2.0]]
"""

from __future__ import annotations

import math

import numpy as np

from .measures import covariance_root
from .montecarlo import Estimate, mean_estimate
from .validation import as_array, as_matrix, as_vector, covariance, positive_int

__all__ = ["definition_field", "pushforward_samples", "pushforward_moment_estimates", "nested_moments",
           "STEP", "MAX_SLOPE"]

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


def nested_moments(K, Q, V, m, G, nodes: int = 12) -> tuple[np.ndarray, np.ndarray]:
    r"""E[Y] and Cov(Y) for Y = T[\mu](X), X ~ N(m, \Gamma): Gauss-Hermite (``nodes`` per coordinate, tensor grid)
    over X, with T[\mu] at every node from :func:`definition_field` (exact for a polynomial field of degree
    < ``nodes``; the reference never assumes the field is affine)."""
    m = as_vector(m, "m")
    d = m.size
    G = covariance(G, "G", d, allow_singular=True)
    x, w = np.polynomial.hermite_e.hermegauss(positive_int(nodes, "nodes", 2))
    w = w / w.sum()
    grids = np.meshgrid(*([x] * d), indexing="ij")
    Z = np.stack([g.ravel() for g in grids], axis=1)
    W = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w] * d), indexing="ij")], axis=1), axis=1)
    Y = definition_field(K, Q, V, m, G, m + Z @ covariance_root(G).T)
    mean = W @ Y
    C = Y - mean
    return mean, (C * W[:, None]).T @ C
