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

* **The Monte Carlo's arithmetic on its own draws** (:func:`estimate_from_draws`).  Given the queries and tokens
  a run of :func:`verify.concentration.montecarlo.concentration_error` (or ``_grad``, ``_linear``) drew (its
  ``record``), the estimate is recomputed naively: the whole prompt at once (no chunks, no running log-sum-exp),
  T[\mu](z) and the tilted covariance from the definition by one-dimensional quadratures of the law
  (:func:`tilted_moments_definition`: the whitened trapezoid rule per Gaussian component, Gauss-Legendre on the
  cube, the two atoms of a coin), the gradients as explicit Jacobian tensors with their Frobenius norms, the
  importance weight of the queries as a ratio of Gaussian densities; then the mean, the block-means standard
  error, the ESS and the top-1% share.  Equal to rounding when the engine is right, whatever the draws.

>>> F, G = two_token_moments([0.0, 1.0])
>>> [round(float(x), 12) for x in F], round(float(G[0]), 12)
([0.5, 1.0728294599], 0.5)
"""

from __future__ import annotations

import math

import numpy as np

from verify._validation import as_matrix, positive_float, positive_int
from verify.numerics.measures import Gaussian, GaussianMixture, Rademacher, UniformCube

__all__ = ["one_token_moments", "two_token_moments", "three_token_moments", "two_token_error",
           "tilted_moments_definition", "estimate_from_draws", "law_moments", "linear_error_quadrature"]

_H_STEP, _H_HALF = 1.0 / 128.0, 12.0


def one_token_moments(taus) -> tuple[np.ndarray, np.ndarray]:
    r"""F(\tau, 1) and G(\tau, 1): one token carries all the weight, so the per-query error is (g - \tau)^2 and
    1/ESS = 1; F = E[(g - \tau)^2] by the trapezoid rule in g."""
    taus = np.asarray(taus, dtype=float).ravel()
    g = np.arange(-_H_HALF, _H_HALF + _H_STEP / 2, _H_STEP)
    phi = np.exp(-g * g / 2) / math.sqrt(2 * math.pi) * _H_STEP
    return ((g[None, :] - taus[:, None]) ** 2) @ phi, np.ones(taus.size)


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


# ------------------------------------------------------------------------------------------ tilted moments

_G_STEP, _G_MARGIN, _GL_NODES = 0.125, 40.0, 64


def _whitened(b: np.ndarray):
    r"""Per row of slopes b (n, d): log \int e^{b_k g} \varphi(g) dg, the tilted mean and variance of g_k, by the
    trapezoid rule (step 1/8 on [-(max|b| + 40), max|b| + 40]: below float64 rounding for these entire integrands)."""
    half = float(np.abs(b).max(initial=0.0)) + _G_MARGIN
    g = np.arange(-half, half + _G_STEP / 2, _G_STEP)
    e = b[..., None] * g - g * g / 2                                   # (n, d, grid)
    top = e.max(axis=-1, keepdims=True)
    w = np.exp(e - top)
    z0 = w.sum(axis=-1)
    mean = (w @ g) / z0
    second = (w @ (g * g)) / z0
    lognorm = np.log(z0 * _G_STEP / math.sqrt(2 * math.pi)) + top[..., 0]
    return lognorm, mean, second - mean * mean


def _gaussian_component(mean, cov, A):
    """Tilted mean (n, d), covariance (n, d, d) and log E e^{a^T X} (n,) of N(mean, cov) at the tilts A (n, d)."""
    B = np.linalg.cholesky(np.asarray(cov, dtype=float))
    b = A @ B
    lognorm, gbar, var = _whitened(b)
    m = np.asarray(mean, dtype=float)
    return m + gbar @ B.T, np.einsum("ik,nk,jk->nij", B, var, B), A @ m + lognorm.sum(axis=1)


def tilted_moments_definition(measure, A) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean (n, d) and covariance (n, d, d) of the tilted law d\mu_a \propto e^{a^T x} d\mu at each row a of ``A``,
    from the definition of the law by one-dimensional quadratures (module docstring): a Gaussian or each component
    of a mixture in its whitened coordinates (trapezoid), the cube coordinate by coordinate (64-node
    Gauss-Legendre), the coins by their two atoms; a mixture reweights its tilted components by their integrated
    normalisers.  Independent of the closed forms of :func:`verify.concentration.montecarlo.tilted_moments`.

    >>> m, C = tilted_moments_definition(Rademacher(1, 2.0), [[0.5]])
    >>> round(float(m[0, 0]) - 2 * math.tanh(1.0), 14), round(float(C[0, 0, 0]) - 4 / math.cosh(1.0) ** 2, 14)
    (0.0, 0.0)
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    n, d = A.shape
    if isinstance(measure, Gaussian):
        mean, C, _ = _gaussian_component(measure.mean, measure.cov, A)
        return mean, C
    if isinstance(measure, GaussianMixture):
        parts = [_gaussian_component(m, G, A) for m, G in zip(measure.means, measure.covs)]
        logw = np.stack([math.log(p) + part[2] for p, part in zip(measure.weights, parts)], axis=1)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mean = sum(w[:, k, None] * part[0] for k, part in enumerate(parts))
        second = sum(w[:, k, None, None] * (part[1] + part[0][:, :, None] * part[0][:, None, :])
                     for k, part in enumerate(parts))
        return mean, second - mean[:, :, None] * mean[:, None, :]
    if isinstance(measure, UniformCube):
        t, wq = np.polynomial.legendre.leggauss(_GL_NODES)
        x = measure.scale * math.sqrt(3.0) * t
        e = A[..., None] * x                                           # (n, d, nodes)
        w = wq * np.exp(e - e.max(axis=-1, keepdims=True))
        mean = (w @ x) / w.sum(axis=-1)
        var = (w @ (x * x)) / w.sum(axis=-1) - mean * mean
        return mean, var[:, :, None] * np.eye(d)
    if isinstance(measure, Rademacher):
        x = np.array([-1.0, 1.0]) * measure.scale
        e = A[..., None] * x
        w = np.exp(e - e.max(axis=-1, keepdims=True))
        mean = (w @ x) / w.sum(axis=-1)
        var = (w @ (x * x)) / w.sum(axis=-1) - mean * mean
        return mean, var[:, :, None] * np.eye(d)
    raise TypeError(f"measure: expected a Gaussian, GaussianMixture, UniformCube or Rademacher, got "
                    f"{type(measure).__name__}")


# ------------------------------------------------------------------------------------------ the estimate, again


def _query_weight(Z: np.ndarray, s: float) -> np.ndarray:
    r"""\nu(z) / \nu'(z) for \nu = N(0, I), \nu' = N(0, s^2 I): the ratio of the two Gaussian densities."""
    d = Z.shape[-1]
    log_nu = -0.5 * np.sum(Z * Z, axis=-1) - 0.5 * d * math.log(2 * math.pi)
    log_nu_s = -0.5 * np.sum(Z * Z, axis=-1) / (s * s) - 0.5 * d * math.log(2 * math.pi * s * s)
    return np.exp(log_nu - log_nu_s)


def _per_query(measure, U, V, Z, X, quantity):
    """Squared errors (P, q) and ESS (P, q) of one block from its queries Z (P, q, d) and tokens X (P, L, d)."""
    P, q, d = Z.shape
    L = X.shape[1]
    A = Z @ U.T                                                        # the tilts a = U z
    S = np.einsum("pqd,pld->pql", A, X)                                # scores <x_l, U z>
    W = np.exp(S - S.max(axis=2, keepdims=True))
    W /= W.sum(axis=2, keepdims=True)                                  # softmax over the whole prompt
    ess = 1.0 / np.sum(W * W, axis=2)
    if quantity == "linear":
        mean0, C0 = tilted_moments_definition(measure, np.zeros((1, d)))
        second = C0[0] + np.outer(mean0[0], mean0[0])                  # E_mu[x x^T] by quadrature
        lin = np.einsum("pql,pld->pqd", S, X) / L
        diff = (lin - A @ second.T) @ V.T
        return np.sum(diff * diff, axis=-1), np.full((P, q), float(L))
    mean, C = tilted_moments_definition(measure, A.reshape(-1, d))
    mean, C = mean.reshape(P, q, d), C.reshape(P, q, d, d)
    mhat = np.einsum("pql,pld->pqd", W, X)
    if quantity == "output":
        diff = (mhat - mean) @ V.T
        return np.sum(diff * diff, axis=-1), ess
    eye = np.eye(d)
    if quantity == "grad_V":                                           # (grad_V T)_{i,jk} = delta_ij m_k
        D = np.einsum("ij,pqk->pqijk", eye, mhat) - np.einsum("ij,pqk->pqijk", eye, mean)
        return np.sum(D * D, axis=(-3, -2, -1)), ess
    Xc = X[:, None, :, :] - mhat[:, :, None, :]                        # grad_U: (grad_U T)_{i,ab} = (V C)_{ia} z_b
    Chat = np.einsum("pql,pqla,pqlb->pqab", W, Xc, Xc)
    D = np.einsum("ic,pqca,pqb->pqiab", V, Chat, Z) - np.einsum("ic,pqca,pqb->pqiab", V, C, Z)
    return np.sum(D * D, axis=(-3, -2, -1)), ess


def estimate_from_draws(measure, U, V, record: list, quantity: str, query_scale: float = 1.0) -> dict:
    r"""The estimate of E\|T[\hat\mu_L] - T[\mu]\|^2_{L^2(\nu)} (``quantity`` "output", or the gradient errors
    "grad_V", "grad_U", or "linear" attention) recomputed from a run's ``record`` (module docstring).  Returns
    {mean, stderr, ess, ess_min, top1_share}, the fields of the engine's estimate."""
    if quantity not in ("output", "grad_V", "grad_U", "linear"):
        raise ValueError(f"quantity: expected output, grad_V, grad_U or linear, got {quantity!r}")
    U, V = np.asarray(U, dtype=float), np.asarray(V, dtype=float)
    errs, esss, means = [], [], []
    for block in record:
        e, w = _per_query(measure, U, V, block["queries"], block["tokens"], quantity)
        if query_scale != 1.0:
            e = e * _query_weight(block["queries"], float(query_scale))
        errs.append(e.ravel())
        esss.append(w.ravel())
        means.append(e.mean())
    allerr, allw = np.concatenate(errs), np.concatenate(esss)
    k = max(1, math.ceil(allerr.size / 100))
    top = np.sort(allerr)[-k:].sum()
    return {"mean": float(allerr.mean()), "stderr": float(np.std(means, ddof=1) / math.sqrt(len(means))),
            "ess": float(allw.mean()), "ess_min": float(allw.min()), "top1_share": float(top / allerr.sum())}


def law_moments(measure) -> dict:
    r"""Mean (d,), second moments E[x x^T] (d, d) and the coordinates' fourth moments E[x_i^4] (d,) of ``measure``,
    by quadrature of its definition: the untilted law of :func:`tilted_moments_definition` (a = 0) for the first
    two, and for the fourth the one-dimensional marginal of each coordinate (a Gaussian or a mixture of Gaussians:
    the trapezoid rule against its density; the cube: Gauss-Legendre; the coins: the atoms).

    >>> round(float(law_moments(UniformCube(1, 1.0))["fourth"][0]), 12)   # (sqrt 3)^4 / 5
    1.8
    """
    d = measure.dim
    mean, C = tilted_moments_definition(measure, np.zeros((1, d)))
    mean, second = mean[0], C[0] + np.outer(mean[0], mean[0])
    if isinstance(measure, (Gaussian, GaussianMixture)):
        comps = ([(1.0, measure.mean, measure.cov)] if isinstance(measure, Gaussian)
                 else list(zip(measure.weights, measure.means, measure.covs)))
        g = np.arange(-_G_MARGIN, _G_MARGIN + _G_STEP / 2, _G_STEP)
        phi = np.exp(-g * g / 2) * _G_STEP / math.sqrt(2 * math.pi)
        fourth = sum(p * ((np.asarray(m, dtype=float)[:, None] + np.sqrt(np.diagonal(G))[:, None] * g) ** 4 @ phi)
                     for p, m, G in comps)                              # x_i = m_i + sqrt(G_ii) g, g ~ N(0, 1)
    elif isinstance(measure, UniformCube):
        t, wq = np.polynomial.legendre.leggauss(_GL_NODES)
        fourth = np.full(d, (wq @ (measure.scale * math.sqrt(3.0) * t) ** 4) / 2)
    else:
        fourth = np.full(d, float(measure.scale) ** 4)
    return {"mean": mean, "second": second, "fourth": np.asarray(fourth, dtype=float)}


def linear_error_quadrature(sigma, U, V, L) -> float:
    r"""E \|T_lin[\hat\mu_L] - T_lin[\mu]\|^2_{L^2(\nu)} for \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d): an average of L
    i.i.d. terms, so (1/L) E_{x, z} \|(x^T U z) V x - \sigma^2 V U z\|^2, a polynomial of degree 4 in x and 2 in z,
    integrated exactly by the 3-node tensor Gauss-Hermite rule in (x, z) (3^{2d} nodes).

    >>> round(linear_error_quadrature(1.0, [[1.0]], [[1.0]], 10), 14)   # (E x^4 E z^2 - 2 + 1) / 10
    0.2
    """
    s = positive_float(sigma, "sigma")
    U = as_matrix(U, "U")
    d = U.shape[0]
    U, V = as_matrix(U, "U", (d, d)), as_matrix(V, "V", (d, d))
    x, w = np.polynomial.hermite_e.hermegauss(3)
    w = w / w.sum()
    grid = np.stack(np.meshgrid(*([x] * (2 * d)), indexing="ij"), axis=-1).reshape(-1, 2 * d)
    W = np.prod(np.stack(np.meshgrid(*([w] * (2 * d)), indexing="ij"), axis=-1).reshape(-1, 2 * d), axis=1)
    X, Z = s * grid[:, :d], grid[:, d:]
    a = Z @ U.T
    diff = (np.sum(X * a, axis=1)[:, None] * X - s * s * a) @ V.T
    return float(W @ np.sum(diff * diff, axis=1)) / positive_int(L, "L")
