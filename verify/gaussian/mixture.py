r"""Softmax attention on a Gaussian mixture: the definition by quadrature and Arb, the closed form as a fast kernel.

For \mu = \sum_k \pi_k N(m_k, \Gamma_k) on R^d (:class:`verify.numerics.measures.GaussianMixture`) and
a = K^T Q z (so <K z', Q z> = a^T z'),

    T[\mu](z) = \int e^{a^T z'} V z' d\mu(z') / \int e^{a^T z'} d\mu(z')
              = V \sum_k \pi_k N_k / \sum_k \pi_k D_k,   D_k = E e^{a^T X_k},  N_k = E X_k e^{a^T X_k},  X_k ~ N(m_k, \Gamma_k).

The references here integrate that *definition*; the closed form (Gabet, Boursier & Boyer 2026)

    T[\mu](z) = V \sum_k w_k(z) (m_k + \Gamma_k a),   w_k \propto \pi_k e^{a^T m_k + a^T \Gamma_k a / 2},

is the statement ``gaussian-mixture-limit`` (SymPy); :func:`mixture_limit` is its float64 kernel (log-sum-exp),
used by the non-affinity study and checked against the SymPy form by the statement.

* :func:`mixture_attention_quadrature`: the d-dimensional tensor-product Gauss-Hermite rule of D_k and N_k per
  component.  With X_k = m_k + B_k g (B_k B_k^T = \Gamma_k) the integrand e^{a^T X_k} = e^{a^T m_k} \prod_j
  e^{b_j g_j} (b = B_k^T a) is a product, so the n^d-node tensor sums are *exactly* products of 1-D sums
  I_r(b_j) = \sum_i w_i x_i^r e^{b_j x_i} (the same numbers, d n terms instead of n^d).  No MGF is used.
* :func:`mixture_attention_enclosure` (d = 1): Arb balls of D_k, N_k by certified integration plus tail bounds
  (``verify.numerics.certified.tilted_moments_ball``), combined in ball arithmetic.
* :func:`combined_tilted_mean`: the mixture-tilt identity's right-hand side from each part's own quadrature.
* :func:`balanced_mixture_point`: a random two-component point whose components both carry tilted mass.

>>> mu = GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [[[0.25]], [[0.25]]])
>>> T = mixture_attention_quadrature([[1.0]], [[1.0]], [[1.0]], mu, [0.5], dps=30)
>>> mp.nstr(T[0], 20), float(mixture_limit([[1.0]], [[1.0]], [[1.0]], mu, [0.5])[0])   # 0.125 + tanh(0.5)
('0.5871171572600097585', 0.5871171572600098)
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from mpmath import mp

from verify._validation import as_matrix, as_vector, positive_float, positive_int
from verify.numerics.measures import GaussianMixture
from verify.numerics.quadrature import GUARD_DIGITS, MAX_NODES, hermite_rule, nodes_needed, whitened_tilt
from verify.numerics.strategies import random_covariance, random_matrix

__all__ = ["mixture_attention_quadrature", "mixture_attention_enclosure", "mixture_limit", "mixture_linear_limit",
           "component_tilt", "combined_tilted_mean", "balanced_mixture_point"]


def _mixture(mu) -> GaussianMixture:
    if not isinstance(mu, GaussianMixture):
        raise TypeError(f"mu: expected a GaussianMixture, got {type(mu).__name__}")
    return mu


def _kqv(K, Q, V, z, d: int):
    return (as_matrix(K, "K", (d, d)), as_matrix(Q, "Q", (d, d)), as_matrix(V, "V", (d, d)), as_vector(z, "z", d))


# ------------------------------------------------------------------------------------------ closed form (float)


def component_tilt(K, Q, V, mu, z) -> np.ndarray:
    r"""Log of the unnormalised tilted weights,  \log \pi_k + a^T m_k + a^T \Gamma_k a / 2  (closed form)."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    a = K.T @ Q @ zz
    return np.log(mu.weights) + mu.means @ a + 0.5 * np.einsum("i,kij,j->k", a, mu.covs, a)


def mixture_limit(K, Q, V, mu, z) -> np.ndarray:
    r"""The closed form  V \sum_k w_k (m_k + \Gamma_k a),  w = softmax_k(\log\pi_k + a^T m_k + a^T\Gamma_k a/2),
    a = K^T Q z, in float64 (log-sum-exp: huge tilts never give NaN)."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    a = K.T @ Q @ zz
    s = component_tilt(K, Q, V, mu, zz)
    w = np.exp(s - s.max())
    w /= w.sum()
    return V @ (w @ (mu.means + mu.covs @ a))


def mixture_linear_limit(K, Q, V, mu, z) -> np.ndarray:
    r"""Normalised linear attention on \mu:  V E[z' z'^T] K^T Q z = V \sum_k \pi_k (\Gamma_k + m_k m_k^T) K^T Q z."""
    mu = _mixture(mu)
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    return V @ mu.second_moment() @ K.T @ Q @ zz


# ------------------------------------------------------------------------------------------ quadrature


def _mp(x):
    return mp.mpf(float(x))


def _component_sums(a: list, m: np.ndarray, cov: np.ndarray, dps: int) -> tuple:
    r"""(D, N) = (E e^{a^T X}, E X e^{a^T X}), X ~ N(m, \Gamma), by the tensor-product Gauss-Hermite rule, through
    its product structure (see the module docstring); ``a`` holds mpf at the working precision, and B B^T = \Gamma
    is the Cholesky factor at that precision (a float64 root would perturb \Gamma by 1e-16)."""
    d = len(a)
    chol = mp.cholesky(mpmath.matrix([[_mp(cov[i, j]) for j in range(d)] for i in range(d)]))
    B = [[chol[i, j] for j in range(d)] for i in range(d)]
    mm = [_mp(x) for x in m]
    b = [mp.fsum(B[i][j] * a[i] for i in range(d)) for j in range(d)]
    n = nodes_needed(max(abs(float(x)) for x in b), dps, d)
    if n > MAX_NODES:
        raise ValueError(f"z: the whitened tilt max|B^T K^T Q z| = {max(abs(float(x)) for x in b):.3g} needs {n} > "
                         f"{MAX_NODES} Gauss-Hermite nodes for dps={dps}; scale down K, Q, z or the covariances")
    nodes, weights = hermite_rule(n, dps)
    I0, I1 = [], []
    for bj in b:
        terms = [w * mp.exp(bj * x) for x, w in zip(nodes, weights)]
        I0.append(mp.fsum(terms))
        I1.append(mp.fsum(t * x for t, x in zip(terms, nodes)))
    scale = mp.exp(mp.fsum(a[i] * mm[i] for i in range(d)))
    D = scale * mp.fprod(I0)
    rest = [mp.fprod(I0[j] for j in range(d) if j != k) * I1[k] for k in range(d)]
    N = [scale * (mm[i] * mp.fprod(I0) + mp.fsum(B[i][k] * rest[k] for k in range(d))) for i in range(d)]
    return D, N


def mixture_attention_quadrature(K, Q, V, mu, z, dps: int = 40, *, components: bool = False):
    r"""T[\mu](z) from its definition, V \sum_k \pi_k N_k / \sum_k \pi_k D_k, each D_k, N_k by the tensor-product
    Gauss-Hermite rule with :func:`verify.numerics.quadrature.nodes_needed` nodes (error bound below 10^{-(dps+2)}) at
    ``dps`` + 10 digits.  Returns d mpf; with ``components=True`` also the posterior masses
    \pi_k D_k / \sum_j \pi_j D_j (as mpf), from the same sums."""
    mu = _mixture(mu)
    dps = positive_int(dps, "dps")
    K, Q, V, zz = _kqv(K, Q, V, z, mu.dim)
    d = mu.dim
    with mp.workdps(dps + GUARD_DIGITS):
        qz = [mp.fsum(_mp(Q[i, j]) * _mp(zz[j]) for j in range(d)) for i in range(d)]
        a = [mp.fsum(_mp(K[i, j]) * qz[i] for i in range(d)) for j in range(d)]
        sums = [_component_sums(a, mu.means[k], mu.covs[k], dps + GUARD_DIGITS) for k in range(mu.components)]
        den = mp.fsum(_mp(p) * D for p, (D, _) in zip(mu.weights, sums))
        num = [mp.fsum(_mp(p) * N[i] for p, (_, N) in zip(mu.weights, sums)) for i in range(d)]
        x = [t / den for t in num]
        out = [mp.fsum(_mp(V[i, j]) * x[j] for j in range(d)) for i in range(d)]
        post = [_mp(p) * D / den for p, (D, _) in zip(mu.weights, sums)]
    with mp.workdps(dps):
        out = [+t for t in out]
        return (out, [+t for t in post]) if components else out


def combined_tilted_mean(parts, weights, a, dps: int = 40, *, reweight: bool = True) -> list:
    r"""\sum_k \pi_k M_k(a) E_k / \sum_k \pi_k M_k(a) from each part's own log-MGF and tilted mean, both integrated
    from their definitions (:func:`verify.numerics.quadrature.log_mgf`, :func:`verify.numerics.quadrature.tilted_mean` with K = Q = I,
    z = a); ``reweight=False`` drops the M_k (the planted "untilted weights" error).  The right-hand side of the
    mixture-tilt identity, for any parts those functions integrate (Gaussian, discrete)."""
    from verify.numerics.quadrature import log_mgf, tilted_mean

    weights = as_vector(weights, "weights", len(parts))
    eye = np.eye(len(a))
    with mp.workdps(dps + GUARD_DIGITS):
        Ms = [mp.exp(log_mgf(c, a, dps + GUARD_DIGITS)) if reweight else mp.one for c in parts]
        Es = [tilted_mean(c, eye, eye, a, dps + GUARD_DIGITS) for c in parts]
        den = mp.fsum(_mp(p) * M for p, M in zip(weights, Ms))
        out = [mp.fsum(_mp(p) * M * E[i] for p, M, E in zip(weights, Ms, Es)) / den for i in range(len(a))]
    with mp.workdps(dps):
        return [+t for t in out]


# ------------------------------------------------------------------------------------------ Arb (d = 1)


def mixture_attention_enclosure(K, Q, V, mu, z, prec: int = 200) -> list:
    r"""d = 1: an Arb ball certified to contain T[\mu](z) for the given (float) inputs.

    Per component X = m + s g (s = \sqrt{\Gamma}), e^{aX} = e^{am} e^{b g} with b = s a: D = e^{am} I_0(b),
    N = e^{am} (m I_0(b) + s I_1(b)), I_r(b) = \int g^r e^{bg} \varphi(g) dg enclosed by
    ``verify.numerics.certified.tilted_moments_ball`` (certified integration on [-R, R] plus a Mills tail bound)."""
    from verify.numerics.certified import _require, tilted_moments_ball as tilted_moments  # the engine's certified 1-D pair

    _require()
    from flint import arb, ctx

    mu = _mixture(mu)
    if mu.dim != 1:
        raise ValueError(f"mu: the certified enclosure is for d = 1, got d = {mu.dim}")
    if not isinstance(prec, int) or isinstance(prec, bool):
        raise TypeError(f"prec: expected an int number of bits (>= 53), got {type(prec).__name__}")
    if prec < 53:
        raise ValueError(f"prec: expected an int >= 53 bits, got {prec!r}")
    K, Q, V, zz = _kqv(K, Q, V, z, 1)
    with ctx.workprec(prec + 20):
        a = arb(float(K[0, 0])) * arb(float(Q[0, 0])) * arb(float(zz[0]))
        den, num = arb(0), arb(0)
        for p, m, G in zip(mu.weights, mu.means[:, 0], mu.covs[:, 0, 0]):
            s = arb(float(G)).sqrt()
            b = s * a
            R = float(abs(b).upper()) + math.sqrt(2 * (prec + 30) * math.log(2)) + 2
            I0, I1 = tilted_moments(b, R)
            scale = (a * arb(float(m))).exp()
            den += arb(float(p)) * scale * I0
            num += arb(float(p)) * scale * (arb(float(m)) * I0 + s * I1)
        return [+(arb(float(V[0, 0])) * num / den)]


# ------------------------------------------------------------------------------------------ random points


def balanced_mixture_point(dim: int, rng, *, shared: bool = False, max_tilt: float = 3.0, min_mass: float = 0.05,
                           dps: int = 40, tries: int = 1000) -> tuple:
    r"""A random two-component point (K, Q, V, \mu, z) with its reference T[\mu](z) from
    :func:`mixture_attention_quadrature` (``dps`` digits): K, Q entries N(0, 0.6^2), V N(0, 1), \pi_1 ~ U(0.2, 0.8),
    m_k, z ~ N(0, 1), \Gamma_k = A A^T/d + 0.3 I (one \Gamma shared by both components when ``shared``); redrawn
    while a component's whitened tilt exceeds ``max_tilt`` or a tilted component mass
    \pi_k D_k / \sum_j \pi_j D_j is below ``min_mass`` (a component with a negligible mass would hide a wrong form
    of its own term).  Returns (K, Q, V, \mu, z, reference).

    >>> K, Q, V, mu, z, ref = balanced_mixture_point(1, np.random.default_rng(0), dps=20)
    >>> mu.components, len(ref)
    (2, 1)
    """
    dim, tries = positive_int(dim, "dim"), positive_int(tries, "tries")
    max_tilt, min_mass = positive_float(max_tilt, "max_tilt"), positive_float(min_mass, "min_mass")
    for _ in range(tries):
        K, Q = random_matrix(dim, rng, 0.6), random_matrix(dim, rng, 0.6)
        V = random_matrix(dim, rng, 1.0)
        pi1 = float(rng.uniform(0.2, 0.8))
        means = rng.standard_normal((2, dim))
        G1 = random_covariance(dim, rng)
        G2 = G1 if shared else random_covariance(dim, rng)
        z = rng.standard_normal(dim)
        mu = GaussianMixture([pi1, 1 - pi1], means, np.stack([G1, G2]))
        if max(whitened_tilt(K, Q, G, z) for G in mu.covs) > max_tilt:
            continue
        ref, post = mixture_attention_quadrature(K, Q, V, mu, z, dps=dps, components=True)
        if min(post) >= min_mass:
            return K, Q, V, mu, z, ref
    raise RuntimeError(f"no balanced mixture point at d={dim} in {tries} draws")  # pragma: no cover
