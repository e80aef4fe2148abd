r"""Second routes to the concentration numbers of Props 3.1 / 3.4 (arXiv 2512.11784), written from the definitions
with none of the engine's machinery: the references of the checks that take the engine as their subject.

* **Two tokens, exactly** (:func:`two_token_moments`, :func:`two_token_error`).  For \mu = N(0, \sigma^2 I_d) and a
  query z, a = U z, \tau = \sigma |a|, the per-query error of :mod:`verify.concentration.exact` is
  \kappa F(\tau, L) + \beta G(\tau, L).  At L = 2, with g_1, g_2 the tokens' coordinates along \hat a and
  k = (g_1 + g_2)/\sqrt 2, h = (g_1 - g_2)/\sqrt 2 (independent N(0, 1)), the softmax weight of token 1 is
  (1 + t)/2 with t = \tanh(\tau h/\sqrt 2), so

      F(\tau, 2) = 1/2 + \tau^2 + E[h^2 t^2]/2 - \sqrt 2\, \tau\, E[h t],      G(\tau, 2) = (1 + E[t^2]) / 2,

  one-dimensional integrals in h (trapezoid rule on [-12, 12], step 1/128: the integrands are analytic in the strip
  |Im h| < \pi/(\sqrt 2 \tau), so for \tau <= 10 the rule's error is below e^{-80}).  The query expectation
  E_z[\kappa F + \beta G], \kappa = \sigma^2 \|V \hat a\|^2, \beta = \sigma^2 (\|V\|_F^2 - \|V\hat a\|^2), is taken
  in polar coordinates of z (d = 1, 2): the actual direction \hat a = U\omega/|U\omega| at every angle, no isotropy
  assumed.  No L-fold Laplace transform, no pair count, no \chi_d radial law: an independent route to the exact
  reduction at L = 2, for any U.

>>> F, G = two_token_moments([0.0, 1.0])
>>> [round(float(x), 12) for x in F], round(float(G[0]), 12)
([0.5, 1.0728294599], 0.5)
"""

from __future__ import annotations

import math

import numpy as np

from verify._validation import as_matrix, positive_float, positive_int

__all__ = ["two_token_moments", "three_token_moments", "two_token_error"]

_H_STEP, _H_HALF = 1.0 / 128.0, 12.0


def two_token_moments(taus) -> tuple[np.ndarray, np.ndarray]:
    r"""F(\tau, 2) and G(\tau, 2) (module docstring) for each \tau of ``taus`` (0 <= \tau <= 10)."""
    taus = np.asarray(taus, dtype=float).ravel()
    if taus.size and (not np.all(np.isfinite(taus)) or taus.min() < 0 or taus.max() > 25):
        raise ValueError("taus: expected tilts in [0, 25]")
    h = np.arange(-_H_HALF, _H_HALF + _H_STEP / 2, _H_STEP)
    phi = np.exp(-h * h / 2) / math.sqrt(2 * math.pi) * _H_STEP
    t = np.tanh(taus[:, None] * h[None, :] / math.sqrt(2.0))
    e_ht = (t * h) @ phi
    e_h2t2 = (t * t * h * h) @ phi
    e_t2 = (t * t) @ phi
    F = 0.5 + taus**2 + e_h2t2 / 2 - math.sqrt(2.0) * taus * e_ht
    G = (1.0 + e_t2) / 2
    return F, G


def three_token_moments(taus, *, step: float = 1.0 / 16.0, half: float = 9.0) -> tuple[np.ndarray, np.ndarray]:
    r"""F(\tau, 3) and G(\tau, 3) (0 <= \tau <= 4).  With \bar g the mean of the three tokens' coordinates and
    d_l = g_l - \bar g (independent of \bar g, on the plane \sum d_l = 0), the weights depend on d only and

        F(\tau, 3) = 1/3 + \tau^2 + E[R^2] - 2\tau E[R],  R = \sum_l w_l d_l / \sum_l w_l,
        G(\tau, 3) = E[\sum_l w_l^2 / (\sum_l w_l)^2],   w_l = e^{\tau d_l},

    two-dimensional integrals over the plane (d = u_1 e_1 + u_2 e_2, u ~ N(0, I_2), e_1, e_2 orthonormal), by the
    tensor trapezoid rule (``step`` on [-``half``, ``half``]^2; the integrands are analytic in a strip of width
    ~\pi/(2\tau), so at \tau <= 4 the rule's error is below e^{-30})."""
    taus = np.asarray(taus, dtype=float).ravel()
    if taus.size and (not np.all(np.isfinite(taus)) or taus.min() < 0 or taus.max() > 4):
        raise ValueError("taus: expected tilts in [0, 4]")
    x = np.arange(-half, half + step / 2, step)
    u1, u2 = np.meshgrid(x, x, indexing="ij")
    u1, u2 = u1.ravel(), u2.ravel()
    wq = np.exp(-(u1 * u1 + u2 * u2) / 2) * step * step / (2 * math.pi)
    e1 = np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0)
    e2 = np.array([1.0, 1.0, -2.0]) / math.sqrt(6.0)
    D = u1[:, None] * e1[None, :] + u2[:, None] * e2[None, :]               # (nodes, 3): the d_l
    F, G = np.empty(taus.size), np.empty(taus.size)
    for k, tau in enumerate(taus):
        e = tau * D
        w = np.exp(e - e.max(axis=1, keepdims=True))
        p = w / w.sum(axis=1, keepdims=True)
        R = np.sum(p * D, axis=1)
        F[k] = 1.0 / 3.0 + tau * tau + wq @ (R * R) - 2 * tau * (wq @ R)
        G[k] = wq @ np.sum(p * p, axis=1)
    return F, G


def two_token_error(sigma, U, V, *, n_theta: int = 8, n_rho: int = 12, rho_max: float = 12.0) -> float:
    r"""E \|T[\hat\mu_2] - T[\mu]\|^2_{L^2(\nu)} for \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d), any U, V, d = 1 or 2:
    the query expectation of \kappa F(\tau, 2) + \beta G(\tau, 2) in polar coordinates z = \rho \omega, composite
    Gauss-Legendre in \rho (panels of width 1 to ``rho_max``, ``n_rho`` nodes each) against the density of |z|, and
    for d = 2 the midpoint rule over the angle (``n_theta`` nodes on [0, \pi): the integrand is \pi-periodic and
    smooth, the rule converges geometrically).  Relative accuracy ~1e-9 at \sigma\|U\| <= 1.5.

    >>> round(two_token_error(1.0, [[0.0]], [[2.0]]), 12)   # U = 0: uniform weights, sigma^2 |V|^2 / 2
    2.0
    """
    s = positive_float(sigma, "sigma")
    U = as_matrix(U, "U")
    d = U.shape[0]
    U, V = as_matrix(U, "U", (d, d)), as_matrix(V, "V", (d, d))
    if d > 2:
        raise ValueError(f"U: the polar rule over the query is for d <= 2, got d = {d}")
    t, w = np.polynomial.legendre.leggauss(positive_int(n_rho, "n_rho"))
    edges = np.arange(0.0, float(rho_max) + 0.5)
    rho = ((edges[:-1] + edges[1:]) / 2)[:, None] + 0.5 * t[None, :]
    wr = np.broadcast_to(0.5 * w, rho.shape).ravel()
    rho = rho.ravel()
    if d == 1:
        omega, wt = np.ones((1, 1)), np.ones(1)
        density = 2 * np.exp(-rho**2 / 2) / math.sqrt(2 * math.pi)      # |z|, z ~ N(0, 1)
    else:
        theta = np.pi * (np.arange(positive_int(n_theta, "n_theta")) + 0.5) / n_theta
        omega, wt = np.stack([np.cos(theta), np.sin(theta)], axis=1), np.full(n_theta, 1.0 / n_theta)
        density = rho * np.exp(-rho**2 / 2)                                # |z|, z ~ N(0, I_2)
    A = omega @ U.T                                                        # a / rho for each angle
    norm = np.linalg.norm(A, axis=1)
    v2 = float(np.sum(V * V))
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(norm > 0, np.sum((A @ V.T) ** 2, axis=1) / np.where(norm > 0, norm, 1.0) ** 2, v2 / d)
    F, G = two_token_moments(s * np.outer(norm, rho).ravel())
    F, G = F.reshape(norm.size, rho.size), G.reshape(norm.size, rho.size)
    per = v2 * G + kappa[:, None] * (F - G)                                # (angles, radii), / sigma^2
    return float(s * s * (wt @ (per @ (wr * density))))
