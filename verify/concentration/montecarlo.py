r"""Props 3.1 and 3.4 measured: the concentration of softmax attention on a finite prompt (the measurement engine
of ``verify audit``).

Convention (paper Sec. 1 / Sec. 2.2, U = K^T Q):

    T[\mu](z) = \int e^{z'^T U z} V z' d\mu(z') / \int e^{z'^T U z} d\mu(z') = V E_{\mu_z}[z'],
    d\mu_z(z') \propto e^{z'^T U z} d\mu(z')      (the tilted law; a = U z is its tilt vector),

and on a prompt z_1..z_L (the empirical measure \hat\mu_L) T[\hat\mu_L](z) = \sum_l w_l V z_l / \sum_l w_l with
w_l = e^{z_l^T U z}.  The measured quantity (Prop 3.1's left side), with the query law \nu = N(0, I_d):

    E(L) = E_{z_{1:L} ~ \mu^{\otimes L}} \| T[\hat\mu_L] - T[\mu] \|^2_{L^2(\nu)}
         = E_{z ~ \nu} E_{z_{1:L}} \| T[\hat\mu_L](z) - T[\mu](z) \|^2 .

T[\mu] in closed form (tilted mean m_z and covariance C_z of \mu_z, :func:`tilted_moments`):

- ``Gaussian(m, \Gamma)`` (Lemma 2.1): m_z = m + \Gamma a, C_z = \Gamma;  N(0, \sigma^2 I): T[\mu](z) = \sigma^2 V U z;
- ``Rademacher(d, \sigma)`` (\pm\sigma coins): m_z = \sigma \tanh(\sigma a) per coordinate, C_z = diag(\sigma^2 sech^2(\sigma a));
- ``UniformCube(d, \sigma)`` on [-c, c]^d, c = \sigma\sqrt3: m_z = c \mathcal L(c a) per coordinate with the Langevin
  function \mathcal L(t) = \coth t - 1/t, C_z = diag(c^2 \mathcal L'(c a)), \mathcal L'(t) = 1/t^2 - 1/\sinh^2 t;
- ``GaussianMixture`` (1/2)N(m, s^2 I) + (1/2)N(-m, s^2 I) (the symmetric pair): the tilt is the mixture of the
  tilted components, m_z = s^2 a + m \tanh<m, a>, C_z = s^2 I + m m^T sech^2<m, a>; any other mixture
  \sum_k \pi_k N(m_k, \Gamma_k): m_z = \sum_k w_k \mu_k, C_z = \sum_k w_k (\Gamma_k + \mu_k \mu_k^T) - m_z m_z^T with
  \mu_k = m_k + \Gamma_k a, w_k \propto \pi_k e^{a^T m_k + a^T \Gamma_k a / 2};
- ``Discrete`` (finitely many atoms): exact sums over the atoms.

(The product laws factorise for *every* U: e^{z'^T a} = \prod_i e^{z'_i a_i}.)

Monte Carlo (:func:`concentration_error`): ``n_prompts`` independent prompts of L i.i.d. tokens, each with ``queries``
independent queries z ~ \nu; tokens are streamed in chunks with a running log-sum-exp (memory independent of L).
The prompts are cut into ``blocks`` independent blocks, block b drawing from ``SeedSequence(entropy,
spawn_key=key + (b,))``; the standard error is the batch-means one over the block means (honest under the heavy
tails of the per-query errors).  Diagnostics: the effective sample size (\sum w)^2/\sum w^2 of each query's softmax
weights (mean and minimum) and the share of the estimate carried by the top 1% of queries.

Large L without sampling (:func:`concentration_error_gaussian`): the exact reduction of
:mod:`verify.concentration.exact` (\mu = N(0, \sigma^2 I_d), U U^T = u^2 I), L up to 10^12 and beyond.

>>> import numpy as np
>>> from verify.numerics.measures import isotropic_gaussian
>>> est = concentration_error(isotropic_gaussian(1.0, 1), [[0.0]], [[1.0]], 10, 400, seed=0)
>>> abs(est.z(0.1)) < 5, est.n_prompts, est.ess   # U = 0: uniform weights, E = sigma^2 |V|^2 / L
(True, 400, 10.0)
>>> float(concentration_error_gaussian(1.0, [[0.0]], [[1.0]], 10))
0.1
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from verify.numerics.measures import Discrete, Gaussian, GaussianMixture, Rademacher, UniformCube
from verify.numerics.montecarlo import Estimate
from verify._validation import as_matrix, positive_float, positive_int

__all__ = [
    "ESS",
    "ConcentrationEstimate",
    "concentration_error",
    "concentration_error_grad",
    "concentration_error_linear",
    "concentration_error_linear_gaussian",
    "concentration_error_gaussian",
    "concentration_error_grad_gaussian",
    "gaussian_method_error",
    "tilted_moments",
    "true_output",
    "empirical_gradients",
    "true_gradients",
    "boundary_witness",
    "naive_concentration_error",
]

_SUPPORTED = (Gaussian, Rademacher, UniformCube, GaussianMixture, Discrete)
_CHUNK_ELEMENTS = 1 << 20  # floats per chunk array (prompts x tokens x max(queries, d))


class ESS(NamedTuple):
    """Effective sample size (\\sum w)^2 / \\sum w^2 of the softmax weights: mean and minimum over queries."""

    mean: float
    min: float


@dataclass(frozen=True)
class ConcentrationEstimate(Estimate):
    """A Monte Carlo :class:`~verify.numerics.montecarlo.Estimate` (``.mean``, ``.stderr`` by batch means, ``.n`` = number of
    (prompt, query) pairs) with the diagnostics of the concentration measurement: ``.ess`` (mean effective sample
    size of the softmax weights over queries), ``.ess_min`` (its minimum), ``.top1_share`` (share of the estimate
    carried by the top 1% of per-query errors: the heavy-tail diagnostic), ``.n_prompts``, ``.queries``, ``.L``,
    ``.blocks``, ``.quantity`` ("output", "grad_V", "grad_U" or "linear")."""

    ess: float | None = None  # mean over queries of (\sum w)^2 / \sum w^2
    n_prompts: int = 0
    queries: int = 1
    L: int = 0
    blocks: int = 0
    ess_min: float = math.nan
    top1_share: float = math.nan
    quantity: str = "output"

    @property
    def ess_summary(self) -> ESS:
        """(mean, minimum) effective sample size over the queries."""
        return ESS(self.ess, self.ess_min)

    def __str__(self) -> str:
        return (f"{self.mean:.6g} +- {self.stderr:.2g} ({self.quantity}, L={self.L}, {self.n_prompts} prompts x "
                f"{self.queries} queries, {self.blocks} blocks; ESS mean {self.ess:.3g} min {self.ess_min:.3g};"
                f" top 1% share {self.top1_share:.2f})")


# ------------------------------------------------------------------------------------------ inputs


def _dim(measure) -> int:
    if not isinstance(measure, _SUPPORTED):
        raise TypeError(f"measure: expected one of {', '.join(c.__name__ for c in _SUPPORTED)}, "
                        f"got {type(measure).__name__}")
    return int(measure.dim)


def _uv(U, V, d, K=None, Q=None):
    if K is not None or Q is not None:
        if U is not None:
            raise ValueError("U: give either U or both K and Q (U = K^T Q), not both")
        if K is None or Q is None:
            raise ValueError("K: K and Q must be given together (U = K^T Q)")
        U = as_matrix(K, "K", (d, d)).T @ as_matrix(Q, "Q", (d, d))
    if U is None:
        raise ValueError("U: expected a d x d matrix (or K and Q)")
    return as_matrix(U, "U", (d, d)), as_matrix(V, "V", (d, d))


def _seed_sequence(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected a non-negative int or a SeedSequence, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed}")
    return np.random.SeedSequence(int(seed))


def _block_rng(ss: np.random.SeedSequence, b: int) -> np.random.Generator:
    """Block b's generator: SeedSequence(entropy, spawn_key=key + (b,)), stateless (same bits on every call)."""
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (b,)))


# ------------------------------------------------------------------------------------------ the true operator


def _langevin(t):
    """\\mathcal L(t) = coth t - 1/t and \\mathcal L'(t) = 1/t^2 - 1/sinh^2 t, series near 0 (|t| < 1e-2)."""
    t = np.asarray(t, dtype=float)
    small = np.abs(t) < 1e-2
    ts = np.where(small, 1.0, t)
    with np.errstate(over="ignore"):
        big = np.abs(ts) > 20.0
        coth = np.where(big, np.sign(ts), 1.0 / np.tanh(np.where(big, 1.0, ts)))
        inv_sinh2 = np.where(big, 4.0 * np.exp(-2.0 * np.minimum(np.abs(ts), 700.0)), 1.0 / np.sinh(ts) ** 2)
    t2 = t * t
    lan = np.where(small, t / 3.0 - t * t2 / 45.0 + 2.0 * t * t2 * t2 / 945.0, coth - 1.0 / ts)
    dlan = np.where(small, 1.0 / 3.0 - t2 / 15.0 + 2.0 * t2 * t2 / 189.0, 1.0 / ts**2 - inv_sinh2)
    return lan, dlan


def tilted_moments(measure, a, *, cov: bool = True):
    r"""Mean m_a and covariance C_a of the tilted law d\mu_a \propto e^{<x, a>} d\mu (closed forms of the module
    docstring), for tilt vectors ``a`` of shape (..., d).  Returns (mean (..., d), cov (..., d, d) or None).

    >>> from verify.numerics.measures import Rademacher
    >>> m, C = tilted_moments(Rademacher(1, 2.0), [[0.5]])
    >>> round(float(m[0, 0]), 12) == round(2 * math.tanh(1.0), 12), round(float(C[0, 0, 0]), 12) == round(4 / math.cosh(1.0) ** 2, 12)
    (True, True)
    """
    d = _dim(measure)
    a = np.asarray(a, dtype=float)
    if a.shape[-1:] != (d,):
        raise ValueError(f"a: expected tilt vectors of length {d}, got shape {a.shape}")
    eye = np.eye(d)
    if isinstance(measure, Gaussian):
        mean = measure.mean + a @ measure.cov.T
        C = np.broadcast_to(measure.cov, a.shape + (d,)) if cov else None
    elif isinstance(measure, Rademacher):
        s = float(measure.scale)
        th = np.tanh(s * a)
        mean = s * th
        C = (s * s * (1.0 - th * th))[..., None] * eye if cov else None
    elif isinstance(measure, UniformCube):
        c = measure.half_width
        lan, dlan = _langevin(c * a)
        mean = c * lan
        C = (c * c * dlan)[..., None] * eye if cov else None
    elif isinstance(measure, GaussianMixture) and measure.symmetric:
        m, s2 = measure.center, measure.component_sd**2
        th = np.tanh(a @ m)
        mean = s2 * a + th[..., None] * m
        C = s2 * eye + (1.0 - th * th)[..., None, None] * np.outer(m, m) if cov else None
    elif isinstance(measure, GaussianMixture):  # any components: the tilted components, reweighted by their MGFs
        a2 = a.reshape(-1, d)
        mk = measure.means[None] + np.einsum("kij,nj->nki", measure.covs, a2)  # (n, C, d): m_k + Gamma_k a
        logits = (np.log(measure.weights) + a2 @ measure.means.T
                  + 0.5 * np.einsum("ni,kij,nj->nk", a2, measure.covs, a2))
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mean2 = np.einsum("nk,nki->ni", w, mk)
        mean = mean2.reshape(a.shape)
        C = None
        if cov:
            second = np.einsum("nk,kij->nij", w, measure.covs) + np.einsum("nk,nki,nkj->nij", w, mk, mk)
            C = (second - mean2[:, :, None] * mean2[:, None, :]).reshape(a.shape + (d,))
    else:  # Discrete: exact sums over the atoms
        x, w = measure.atoms()
        logits = a @ x.T + np.log(np.where(w > 0, w, 1e-300))
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        mean = p @ x
        C = None
        if cov:
            c = x[(None,) * (a.ndim - 1)] - mean[..., None, :]
            C = np.einsum("...k,...ki,...kj->...ij", p, c, c)
    return mean, (np.array(C) if cov else None)


def true_output(measure, U, V, z) -> np.ndarray:
    r"""T[\mu](z) = V m_{Uz} for queries ``z`` of shape (..., d) (Lemma 2.1 for a Gaussian: V m + V \Gamma U z).

    >>> from verify.numerics.measures import isotropic_gaussian
    >>> true_output(isotropic_gaussian(2.0, 1), [[0.5]], [[3.0]], [1.0]).tolist()
    [6.0]
    """
    d = _dim(measure)
    U, V = _uv(U, V, d)
    z = np.asarray(z, dtype=float)
    m, _ = tilted_moments(measure, z @ U.T, cov=False)
    return m @ V.T


def true_gradients(measure, U, V, z):
    r"""The derivatives of T[\mu](z) = V m_{Uz} in V and in U, as Jacobian tensors (queries z of shape (..., d)):

        (\nabla_V T)_{i,jk} = \partial T_i / \partial V_{jk} = \delta_{ij} (m_z)_k      (H \mapsto H m_z),
        (\nabla_U T)_{i,ab} = \partial T_i / \partial U_{ab} = (V C_z)_{ia} z_b        (H \mapsto V C_z H z),

    since \partial_{U_{ab}} e^{x^T U z} = x_a z_b e^{x^T U z} and the derivative of a tilted mean in its tilt is the
    tilted covariance.  For \mu = N(0, \sigma^2 I): m_z = \sigma^2 U z, C_z = \sigma^2 I (from Lemma 2.1:
    \nabla_V T \cdot H = \sigma^2 H U z, \nabla_U T \cdot H = \sigma^2 V H z).  Returns (gV (..., d, d, d),
    gU (..., d, d, d)).
    """
    d = _dim(measure)
    U, V = _uv(U, V, d)
    z = np.asarray(z, dtype=float)
    m, C = tilted_moments(measure, z @ U.T)
    return _grad_tensors(m, C, V, z)


def _grad_tensors(m, C, V, z):
    d = V.shape[0]
    gV = np.einsum("ij,...k->...ijk", np.eye(d), m)
    gU = np.einsum("...ia,...b->...iab", np.einsum("ic,...ca->...ia", V, C), z)
    return gV, gU


def empirical_gradients(tokens, U, V, z):
    r"""\nabla_V T and \nabla_U T (the tensors of :func:`true_gradients`) on the empirical measure of ``tokens``
    (L x d), analytically: m_z and C_z are the softmax-weighted mean and covariance of the tokens."""
    t = as_matrix(tokens, "tokens")
    d = t.shape[1]
    U, V = _uv(U, V, d)
    z = np.asarray(z, dtype=float)
    s = (z @ U.T) @ t.T  # (..., L)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    m = w @ t
    c = t - m[..., None, :]
    C = np.einsum("...l,...li,...lj->...ij", w, c, c)
    return _grad_tensors(m, C, V, z)


# ------------------------------------------------------------------------------------------ Monte Carlo


def _chunk_size(L, P, q, d, chunk):
    if chunk is not None:
        return min(positive_int(chunk, "chunk"), L)
    return max(1, min(L, _CHUNK_ELEMENTS // (P * max(q, d))))


def _draw(measure, rng, P, c, d):
    """P x c tokens of ``measure`` in the layout (P, d, c) (coordinates outermost: the score and weight reductions
    over tokens then run along contiguous memory)."""
    if isinstance(measure, Gaussian):
        G = rng.standard_normal((P, d, c))
        root = measure.root
        if np.count_nonzero(root - np.diag(np.diagonal(root))) == 0:
            X = G * np.diagonal(root)[:, None]
        else:
            X = np.einsum("ij,pjc->pic", root, G)
        return X + measure.mean[:, None] if np.any(measure.mean) else X
    if isinstance(measure, Rademacher):
        return float(measure.scale) * (2.0 * rng.integers(0, 2, size=(P, d, c)) - 1.0)
    if isinstance(measure, UniformCube):
        h = measure.half_width
        return rng.uniform(-h, h, size=(P, d, c))
    if isinstance(measure, GaussianMixture) and measure.symmetric:
        sign = 2.0 * rng.integers(0, 2, size=(P, 1, c)) - 1.0
        return sign * measure.center[:, None] + measure.component_sd * rng.standard_normal((P, d, c))
    return np.swapaxes(measure.sample(P * c, rng).reshape(P, c, d), 1, 2)


def _scores(A, X):
    """S[p, q, l] = <a_{pq}, x_{pl}> for tilts A (P, q, d) and tokens X (P, d, c)."""
    d = A.shape[2]
    if d > 4:
        return A @ X
    S = A[:, :, 0, None] * X[:, None, 0, :]
    for k in range(1, d):
        S += A[:, :, k, None] * X[:, None, k, :]
    return S


def _block_errors(measure, U, V, L, P, q, rng, chunk, quantity, query_scale=1.0, record=None):
    r"""Per-query squared errors (P*q,) and ESS (P*q,) of one block of P prompts with q queries each (errors
    multiplied by the likelihood ratio \nu/\nu' when the queries are drawn from \nu' = N(0, s^2 I), s = query_scale).
    ``record``: a list to which the block's draws are appended (see :func:`concentration_error`)."""
    d = U.shape[0]
    Z = query_scale * rng.standard_normal((P, q, d))
    drawn = [] if record is not None else None
    A = Z @ U.T  # tilt vectors a = U z
    mx = np.full((P, q), -np.inf)
    s0 = np.zeros((P, q))
    s2w = np.zeros((P, q))
    s1 = np.zeros((P, q, d))
    sxx = np.zeros((P, q, d, d)) if quantity == "grad_U" else None
    slin = np.zeros((P, q, d)) if quantity == "linear" else None
    done = 0
    while done < L:
        c = min(chunk, L - done)
        X = _draw(measure, rng, P, c, d)  # (P, d, c)
        XT = np.swapaxes(X, 1, 2)  # (P, c, d) view
        if drawn is not None:
            drawn.append(XT.copy())
        S = _scores(A, X)  # (P, q, c): the scores z_l^T U z
        if quantity == "linear":
            slin += S @ XT
        else:
            new = np.maximum(mx, S.max(axis=2))
            f = np.exp(mx - new)
            S -= new[..., None]
            W = np.exp(S, out=S)
            s0 = s0 * f + W.sum(axis=2)
            s2w = s2w * f * f + np.einsum("pqc,pqc->pq", W, W)
            s1 = s1 * f[..., None] + W @ XT
            if sxx is not None:
                upd = np.stack([(W * X[:, None, i, :]) @ XT for i in range(d)], axis=2)  # (P, q, d, d)
                sxx = sxx * f[..., None, None] + upd
            mx = new
        done += c
    if record is not None:
        record.append({"queries": Z.copy(), "tokens": np.concatenate(drawn, axis=1)})
    if quantity == "linear":
        second = measure.cov + np.outer(measure.mean, measure.mean)  # E_mu[x x^T]
        diff = (slin / L - A @ second.T) @ V.T
        return (_ratio(Z, query_scale) * np.sum(diff * diff, axis=-1)).ravel(), np.full(P * q, float(L))
    ess = (s0 * s0 / s2w).ravel()
    mhat = s1 / s0[..., None]
    if quantity == "output":
        m, _ = tilted_moments(measure, A, cov=False)
        diff = (mhat - m) @ V.T
        err = np.sum(diff * diff, axis=-1)
    elif quantity == "grad_V":
        m, _ = tilted_moments(measure, A, cov=False)
        err = d * np.sum((mhat - m) ** 2, axis=-1)
    else:  # grad_U
        m, C = tilted_moments(measure, A)
        Chat = sxx / s0[..., None, None] - mhat[..., :, None] * mhat[..., None, :]
        D = np.einsum("ic,pqca->pqia", V, Chat - C)
        err = np.sum(D * D, axis=(-1, -2)) * np.sum(Z * Z, axis=-1)
    return (_ratio(Z, query_scale) * err).ravel(), ess


def _ratio(Z, s):
    r"""\nu(z)/\nu'(z) = s^d exp(-|z|^2 (1 - 1/s^2) / 2) for \nu = N(0, I), \nu' = N(0, s^2 I) (bounded by s^d for s >= 1)."""
    if s == 1.0:
        return 1.0
    d = Z.shape[-1]
    return s**d * np.exp(-0.5 * np.sum(Z * Z, axis=-1) * (1.0 - 1.0 / s**2))


def _estimate(measure, U, V, L, n_prompts, seed, *, K, Q, chunk, queries, blocks, quantity, query_scale=1.0,
              record=None):
    d = _dim(measure)
    U, V = _uv(U, V, d, K, Q)
    L = positive_int(L, "L")
    n_prompts = positive_int(n_prompts, "n_prompts")
    queries = positive_int(queries, "queries")
    blocks = positive_int(blocks, "blocks", 2)
    query_scale = positive_float(query_scale, "query_scale")
    if query_scale < 1.0:
        raise ValueError(f"query_scale: must be >= 1 (bounded likelihood ratio), got {query_scale}")
    if n_prompts % blocks or n_prompts < 2 * blocks:
        raise ValueError(f"n_prompts: expected a multiple of blocks={blocks} with >= 2 prompts per block, got {n_prompts}")
    if record is not None and not isinstance(record, list):
        raise TypeError(f"record: expected a list (the draws are appended to it) or None, got {type(record).__name__}")
    ss = _seed_sequence(seed)
    P = n_prompts // blocks
    c = _chunk_size(L, P, queries, d, chunk)
    errs, esss, means = [], [], []
    for b in range(blocks):
        e, w = _block_errors(measure, U, V, L, P, queries, _block_rng(ss, b), c, quantity, query_scale, record)
        errs.append(e)
        esss.append(w)
        means.append(e.mean())
    allerr = np.concatenate(errs)
    allw = np.concatenate(esss)
    means = np.array(means)
    total = allerr.sum()
    k = max(1, int(math.ceil(0.01 * allerr.size)))
    top = np.partition(allerr, allerr.size - k)[allerr.size - k:].sum()
    return ConcentrationEstimate(
        mean=float(allerr.mean()), stderr=float(means.std(ddof=1) / math.sqrt(blocks)), n=int(allerr.size),
        n_prompts=n_prompts, queries=queries, L=L, blocks=blocks, ess=float(allw.mean()),
        ess_min=float(allw.min()), top1_share=float(top / total) if total > 0 else 0.0, quantity=quantity)


def concentration_error(measure, U, V, L, n_prompts, seed, *, K=None, Q=None, chunk=None, queries=1,
                        blocks=20, query_scale=1.0, record=None) -> ConcentrationEstimate:
    r"""Monte Carlo of Prop 3.1's left side  E \| T[\hat\mu_L] - T[\mu] \|^2_{L^2(\nu)},  \nu = N(0, I_d).

    ``measure``: a ``Gaussian`` (e.g. :func:`verify.numerics.measures.isotropic_gaussian`), ``Rademacher``, ``UniformCube``,
    ``GaussianMixture`` or ``Discrete``; ``U`` (d x d) or ``K`` and ``Q`` (U = K^T Q); ``V`` (d x d); prompt length
    ``L`` >= 1; ``n_prompts`` independent prompts, a multiple of ``blocks`` (>= 2 per block), each with
    ``queries`` independent queries; ``seed`` an int or a ``SeedSequence`` (the cell's; block b uses spawn key
    (..., b)).  Tokens are drawn ``chunk`` at a time (default: ~10^6 floats per array), so L = 10^6 fits in memory;
    the bits depend on (seed, n_prompts, blocks, queries, chunk).  ``query_scale`` s >= 1 draws the queries from
    N(0, s^2 I) and weights each by the bounded likelihood ratio s^d e^{-|z|^2 (1 - 1/s^2)/2} (unbiased importance
    sampling of the query tail, which carries the estimate at large L and large \sigma|U|; s = 1: plain \nu).
    ``record``: a list to which each block appends its draws, ``{"queries": (P, queries, d), "tokens": (P, L, d)}``
    (P = n_prompts / blocks; memory n_prompts x L x d floats): what an audit of the estimator recomputes the estimate
    from by another route (statement ``prop-3-1-literal``, :mod:`verify.concentration.references`).
    Returns a :class:`ConcentrationEstimate`
    (``.mean``, ``.stderr`` from the block means, ``.ess``, ``.top1_share``, ``.n_prompts``).

    >>> from verify.numerics.measures import isotropic_gaussian
    >>> mu = isotropic_gaussian(1.0, 1)
    >>> est = concentration_error(mu, [[1.0]], [[1.0]], 10, 2000, seed=0)
    >>> exact = concentration_error_gaussian(1.0, [[1.0]], [[1.0]], 10)  # the same quantity without sampling
    >>> abs(est.mean - exact) / est.stderr < 5
    True
    """
    return _estimate(measure, U, V, L, n_prompts, seed, K=K, Q=Q, chunk=chunk, queries=queries, blocks=blocks,
                     query_scale=query_scale, quantity="output", record=record)


def concentration_error_grad(measure, U, V, L, n_prompts, seed, wrt="V", *, K=None, Q=None, chunk=None,
                             queries=1, blocks=20, query_scale=1.0, record=None) -> ConcentrationEstimate:
    r"""Prop 3.4's left sides  E \| \nabla_W T[\hat\mu_L] - \nabla_W T[\mu] \|^2_{L^2(\nu)},  W = V or U, with the
    Frobenius norm of the Jacobian tensors of :func:`true_gradients`:

        wrt="V":  \|\nabla_V T[\hat\mu_L](z) - \nabla_V T[\mu](z)\|_F^2 = d \|\hat m_z - m_z\|^2,
        wrt="U":  \|\nabla_U T[\hat\mu_L](z) - \nabla_U T[\mu](z)\|_F^2 = \|V (\hat C_z - C_z)\|_F^2 \|z\|^2,

    where \hat m_z, \hat C_z are the softmax-weighted mean and covariance of the prompt and m_z, C_z those of the
    tilted law (closed forms, :func:`tilted_moments`).  (The operator norm of H \mapsto H \delta is \|\delta\|: the
    V-figure over d.)  Same arguments (``record`` included) and estimate as :func:`concentration_error`.

    >>> from verify.numerics.measures import isotropic_gaussian
    >>> mu = isotropic_gaussian(1.0, 1)
    >>> grad = concentration_error_grad(mu, [[1.0]], [[1.0]], 10, 200, seed=0, wrt="V")
    >>> grad.mean == concentration_error(mu, [[1.0]], [[1.0]], 10, 200, seed=0).mean  # d = 1, V = 1: d |m_hat - m|^2
    True
    """
    if wrt not in ("V", "U"):
        raise ValueError(f"wrt: expected 'V' or 'U', got {wrt!r}")
    return _estimate(measure, U, V, L, n_prompts, seed, K=K, Q=Q, chunk=chunk, queries=queries, blocks=blocks,
                     query_scale=query_scale, quantity="grad_" + wrt, record=record)


def concentration_error_linear(measure, U, V, L, n_prompts, seed, *, K=None, Q=None, chunk=None, queries=1,
                               blocks=20, query_scale=1.0, record=None) -> ConcentrationEstimate:
    r"""Prop 3.1's error for linear attention instead of softmax:  E \| T_lin[\hat\mu_L] - T_lin[\mu] \|^2_{L^2(\nu)}  with
    T_lin[\hat\mu_L](z) = (1/L) \sum_l (z_l^T U z) V z_l  and  T_lin[\mu](z) = V E_\mu[x x^T] U z  (an average of L
    i.i.d. terms: the error is exactly  c/L, :func:`concentration_error_linear_gaussian`).  Same arguments as
    :func:`concentration_error`; the ESS fields hold L (uniform weights).

    >>> from verify.numerics.measures import isotropic_gaussian
    >>> mu = isotropic_gaussian(1.0, 1)
    >>> est = concentration_error_linear(mu, [[1.0]], [[1.0]], 10, 2000, seed=0)
    >>> abs(est.mean - concentration_error_linear_gaussian(1.0, [[1.0]], [[1.0]], 10)) / est.stderr < 5  # c/L
    True
    """
    return _estimate(measure, U, V, L, n_prompts, seed, K=K, Q=Q, chunk=chunk, queries=queries, blocks=blocks,
                     query_scale=query_scale, quantity="linear", record=record)


def concentration_error_linear_gaussian(sigma, U, V, L):
    r"""Exact linear-attention error for \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d) (Isserlis):

        E \| T_lin[\hat\mu_L] - T_lin[\mu] \|^2_{L^2(\nu)} = \sigma^4 ( \|U\|_F^2 \|V\|_F^2 + \|V U\|_F^2 ) / L,

    from  E[(x^T a)^2 \|V x\|^2] = \sigma^4 (|a|^2 \|V\|_F^2 + 2 |V a|^2)  and  E_z |U z|^2 = \|U\|_F^2.

    >>> concentration_error_linear_gaussian(1.0, [[1.0]], [[1.0]], 10)
    0.2
    """
    s = positive_float(sigma, "sigma")
    U = as_matrix(U, "U")
    d = U.shape[0]
    U, V = _uv(U, V, d)
    c = s**4 * (np.sum(U * U) * np.sum(V * V) + np.sum((V @ U) ** 2))
    Ls = _Ls(L)
    out = c / Ls
    return float(out[0]) if np.ndim(L) == 0 else out


def naive_concentration_error(measure, U, V, L, n_prompts, seed) -> Estimate:
    """The straightforward numpy way (bench reference only): for each query draw its L tokens at once, softmax,
    error; i.i.d. standard error.  Same quantity as :func:`concentration_error` with ``queries=1``."""
    d = _dim(measure)
    U, V = _uv(U, V, d)
    rng = np.random.default_rng(_seed_sequence(seed))
    errs = np.empty(n_prompts)
    for i in range(n_prompts):
        z = rng.standard_normal(d)
        x = measure.sample(L, rng)
        s = x @ (U @ z)
        w = np.exp(s - s.max())
        out = V @ (w @ x) / w.sum()
        errs[i] = np.sum((out - true_output(measure, U, V, z)) ** 2)
    return Estimate(float(errs.mean()), float(errs.std(ddof=1) / math.sqrt(n_prompts)), n_prompts)


# ------------------------------------------------------------------------------------------ exact (Gaussian)


def _Ls(L) -> np.ndarray:
    if isinstance(L, (str, bytes)):
        raise TypeError("L: expected an integer >= 1 or a sequence of them, got str")
    items = [L] if np.ndim(L) == 0 else list(np.asarray(L).ravel())
    if not items:
        raise ValueError("L: expected at least one prompt length")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, float, np.floating)):
            raise TypeError(f"L: expected an integer >= 1 or a sequence of them, got {type(v).__name__}")
        if not (math.isfinite(float(v)) and float(v) >= 1 and float(v) == math.floor(float(v))):
            raise ValueError(f"L: expected integers >= 1, got {v!r}")
        out.append(float(v))
    return np.array(out)


def _exact_inputs(sigma, U, V):
    s = positive_float(sigma, "sigma")
    U = as_matrix(U, "U")
    d = U.shape[0]
    U, V = _uv(U, V, d)
    general = False
    if d == 1:
        u = float(U[0, 0])
    else:
        G = U @ U.T
        u2 = float(np.trace(G)) / d
        u = math.sqrt(u2)
        if np.max(np.abs(G - u2 * np.eye(d))) > 1e-10 * max(1.0, u2):
            if d != 2:
                raise ValueError("U: the exact method needs d <= 2 or U U^T = u^2 I (a multiple of an orthogonal "
                                 "matrix) for d >= 3")
            general = True
    return s, u, float(np.sum(V * V)), d, general, U, V


def concentration_error_gaussian(sigma, U, V, L, *, accuracy="default", n_theta=16):
    r"""E \| T[\hat\mu_L] - T[\mu] \|^2_{L^2(\nu)} for \mu = N(0, \sigma^2 I_d), \nu = N(0, I_d), **without sampling**:
    the exact reduction to one-token integrals of :mod:`verify.concentration.exact` (i.i.d. tokens factorise
    E e^{-\lambda D}; 1/D^2 = \int_0^\infty \lambda e^{-\lambda D} d\lambda), any integer L >= 1 (10^12 and beyond).
    ``L`` a sequence gives an array (one curve, much cheaper than separate calls).  Supported: d = 1 any U;
    d >= 2 with U U^T = u^2 I (one radial curve); d = 2 any other U by a midpoint rule over the query angle with
    ``n_theta`` nodes (:func:`verify.concentration.exact.gaussian_curve_2d`, n_theta radial curves: ~16x the cost);
    any V.  Method error: :func:`gaussian_method_error` (relative difference to the refined quadrature, with
    2 n_theta angles on the general d = 2 path): 5e-11 at \sigma = u = 1, d = 1; <= 5.4e-7 up to \sigma = 3
    (L = 10..10^12); 16 vs 32 angles agree to ~1e-9 for U = diag(1, 0.5).

    >>> concentration_error_gaussian(1.0, [[0.0]], [[2.0]], [1, 4]).tolist()
    [4.0, 1.0]
    """
    from verify.concentration.exact import gaussian_curve, gaussian_curve_2d

    if accuracy not in ("default", "fine"):
        raise ValueError(f"accuracy: expected 'default' or 'fine', got {accuracy!r}")
    n_theta = positive_int(n_theta, "n_theta")
    s, u, v2, d, general, U, V = _exact_inputs(sigma, U, V)
    if general:
        out = gaussian_curve_2d(s, U, V, _Ls(L), n_theta=n_theta, accuracy=accuracy)
    else:
        out = gaussian_curve(s, u, v2, d, _Ls(L), accuracy=accuracy)
    return float(out[0]) if np.ndim(L) == 0 else out


def concentration_error_grad_gaussian(sigma, U, L, *, accuracy="default", n_theta=16):
    r"""Prop 3.4's \nabla_V left side for \mu = N(0, \sigma^2 I_d) without sampling: with the Frobenius norm of
    :func:`concentration_error_grad`, \|\nabla_V T[\hat\mu_L](z) - \nabla_V T[\mu](z)\|_F^2 = d \|\hat m_z - m_z\|^2,
    which is d times the output error with V = I, so

        E \|\nabla_V T[\hat\mu_L] - \nabla_V T[\mu]\|^2_{L^2(\nu)} = d \cdot concentration_error_gaussian(\sigma, U, I_d, L).

    (No exact reduction for \nabla_U yet: use :func:`concentration_error_grad` with ``wrt="U"``.)

    >>> concentration_error_grad_gaussian(1.0, [[0.0]], 5)
    0.2
    """
    U = as_matrix(U, "U")
    d = U.shape[0]
    out = concentration_error_gaussian(sigma, U, np.eye(d), L, accuracy=accuracy, n_theta=n_theta)
    return d * out


def gaussian_method_error(sigma, U, V, L, *, n_theta=16):
    """Relative difference between the default and the refined ('fine') quadrature of
    :func:`concentration_error_gaussian` (and 2 n_theta angles on the general d = 2 path), per L: the stated
    error of the exact method."""
    a = concentration_error_gaussian(sigma, U, V, L, n_theta=n_theta)
    b = concentration_error_gaussian(sigma, U, V, L, accuracy="fine", n_theta=2 * n_theta)
    out = np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))
    return float(out) if np.ndim(L) == 0 else out


# ------------------------------------------------------------------------------------------ literal checks


def boundary_witness(c1: float = 1.0, c2: float = 1.0, *, n_prompts: int = 20000, seed: int = 0):
    r"""The L = 1 boundary of Props 3.1 / 3.4 (arXiv 2512.11784), taken literally: d = 1, \mu = \nu = N(0, 1), K = 0 (U = 0),
    Q = V = M = \sigma = 1.  Then T[\mu] = 0, T[\hat\mu_1](z) = z_1, so the left side is E z_1^2 = 1, while the right
    side c_1 \sigma^6 \ln 1 / 1^{c_2/\sigma^2} = 0 for **every** c_1, c_2.  Returns a dict: ``left`` (exact, by
    :func:`concentration_error_gaussian`), ``left_mc`` (a Monte Carlo :class:`ConcentrationEstimate`), ``right``.

    >>> w = boundary_witness()
    >>> w["left"], w["right"], abs(w["left_mc"].z(1.0)) < 5
    (1.0, 0.0, True)
    """
    from verify.numerics.measures import isotropic_gaussian

    c1, c2 = positive_float(c1, "c1"), positive_float(c2, "c2")
    s = 1.0
    U, V = np.zeros((1, 1)), np.ones((1, 1))
    left = concentration_error_gaussian(1.0, U, V, 1)
    mc = concentration_error(isotropic_gaussian(1.0, 1), U, V, 1, n_prompts, seed)
    right = c1 * s**6 * math.log(1.0) / 1.0 ** (c2 / s**2)
    return {"left": left, "left_mc": mc, "right": right}
