r"""In-context linear regression: the numerics behind Sec. 5 of the paper (Theorem 5.1 v1 / 5.2 v2).

Model (paper Eq. (7), with optional label noise ``noise`` = s >= 0; s = 0 is the paper's model).  Per prompt

    w ~ N(0, I_d),   x_i, x_q ~ N(0, \Sigma),   y_i = w^T x_i + \epsilon_i,   y_q = w^T x_q + \epsilon_q,
    \epsilon ~ N(0, s^2),   z_i = (x_i, y_i) ~ N(0, \Gamma_w)  given w,

    \Gamma_w = [[\Sigma, \Sigma w], [w^T \Sigma, w^T \Sigma w + s^2]].

With U, V in R^{(d+1)x(d+1)} the prediction is coordinate d+1 (index ``d``) of the attention output for the
query token (x_q, 0):

    p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0)                                  (infinite prompt, Lemma 2.1)
    p_L      = \sum_l softmax_l(z_l^T U (x_q, 0)) (V z_l)_{d+1}                  (L prompt tokens)

    R_\infty(U, V) = 1/2 E[(p_\infty - y_q)^2],      R_L(U, V) = 1/2 E[(p_L - y_q)^2].

Closed form of R_\infty for general (U, V) (:func:`icl_risk_infinite`).  Write U11 = U[:d, :d], u = U[d, :d],
a = V[d, :d], b = V[d, d].  Then p_\infty = x_q^T g(w) with g(w) = c0 + (M + I) w + b u (w^T \Sigma w), and

    c0 = U11^T \Sigma a + b s^2 u,        M = b U11^T \Sigma + u a^T \Sigma - I_d,
    2 R_\infty = c0^T \Sigma c0 + 2 b tr(\Sigma) c0^T \Sigma u + b^2 (u^T \Sigma u) ((tr \Sigma)^2 + 2 tr(\Sigma^2))
                 + tr(M^T \Sigma M) + s^2

(E over x_q, then the Wick moments E[w^T \Sigma w] = tr \Sigma, E[(w^T \Sigma w)^2] = (tr \Sigma)^2 + 2 tr \Sigma^2).
It is checked against :func:`icl_risk_infinite_mc`, a Monte Carlo of the *definition* (sample w, x_q, \epsilon_q,
build \Gamma_w, read the prediction), which never touches the closed form.

Finite prompts (:func:`icl_risk_mc`, :func:`icl_risk_gap_mc`): the engine does not sample the d+1 coordinates of
every token.  Given (w, x_q), put h = U (x_q, 0) and v = V^T e_{d+1}; the pair (score_l, value_l) = (z_l.h, z_l.v)
is i.i.d. bivariate Gaussian.  With \Gamma_w = B B^T, B = [[C, 0], [w^T C, s]], C = chol(\Sigma),
\alpha = B^T h and \gamma = B^T v:

    score_l = \sigma g_l,   value_l = \kappa g_l + \tau \eta_l,     g_l, \eta_l ~ N(0, 1) independent,
    \sigma = |\alpha|,   \kappa = \alpha.\gamma / |\alpha|,   \tau = |\gamma - (\alpha.\gamma/|\alpha|^2) \alpha|,
    p_\infty = \alpha.\gamma = \kappa \sigma.

The \eta_l are integrated exactly (Rao-Blackwellisation): with p_l = softmax_l(\sigma g),

    E_\eta[(p_L - y_q)^2] = (\kappa \sum_l p_l g_l - y_q)^2 + \tau^2 \sum_l p_l^2,

so one normal per token, no matmul, lower variance.  Softmax subtracts the maximum (log-sum-exp); huge scores
give weight 1 to the top token, never NaN.

Randomness: ``seed`` (int, SeedSequence, Generator; see :func:`verify.numerics.measures.as_generator`) yields four root
words (a Generator is advanced by that draw); prompts are split into fixed blocks of ``PROMPTS_PER_BLOCK``
prompts, block k drawing from its own child ``SeedSequence(root, spawn_key=(k,))``.  Inside a block the draws are sequential (w, x_q, \epsilon_q of the
block, then the tokens row by row), so ``chunk_tokens`` (working memory) never changes a single bit.

>>> S = toeplitz_sigma(3, 0.5)
>>> U, V = bayes_point(S)
>>> round(icl_risk_infinite(U, V, S), 12), round(icl_risk_infinite(U, V, S, noise=0.3), 12)
(0.0, 0.045)
>>> est = icl_risk_infinite_mc(U, V, S, n_prompts=2000, seed=1)
>>> abs(est.mean) < 1e-12
True
>>> icl_risk_mc(U, V, S, L=0, n_prompts=10, seed=0)
Traceback (most recent call last):
...
ValueError: L: must be >= 1, got 0
"""

from __future__ import annotations

import math

import numpy as np

from verify.numerics.measures import as_generator
from verify.numerics.montecarlo import Estimate
from verify._validation import as_matrix, as_vector, covariance, nonnegative_float, positive_int, real

__all__ = [
    "PROMPTS_PER_BLOCK",
    "ESS_COLLAPSED_TOKENS",
    "ESS_FLAG_FRACTION",
    "MAX_L",
    "MAX_PROMPTS",
    "MAX_CHUNK_TOKENS",
    "gamma_w",
    "icl_risk_infinite",
    "icl_prediction_infinite",
    "icl_risk_infinite_mc",
    "icl_risk_mc",
    "icl_risk_gap_mc",
    "invariant_point",
    "bayes_point",
    "toeplitz_sigma",
]

PROMPTS_PER_BLOCK = 256
"""Prompts per seeding block: block k of a run always uses child stream k of the root seed."""

_DEFAULT_CHUNK_TOKENS = 1 << 15

MAX_L = 1 << 22
"""Largest prompt length L of the finite-prompt estimators (one prompt's L scores are held in memory)."""

MAX_CHUNK_TOKENS = 1 << 24
"""Largest ``chunk_tokens`` (tokens held in memory at once: 128 MB of float64 per working array)."""

MAX_PROMPTS = 10**9
"""Largest ``n_prompts`` (a guard against a typo that would run for days)."""

ESS_COLLAPSED_TOKENS = 2.0
r"""A prompt's softmax has *collapsed* when its effective sample size  ESS = (\sum_l e_l)^2 / \sum_l e_l^2  (in
tokens, between 1 and L) is below  min(ESS_COLLAPSED_TOKENS, (L + 1)/2):  fewer than two effective tokens, i.e.
one token carries the output (for L = 1, 2 the bound is 1 and 1.5).  A finite-prompt estimate is flagged
unreliable (``Estimate.warning``, and a ``RuntimeWarning``) when more than ``ESS_FLAG_FRACTION`` of its prompts
collapsed, i.e. when the median ESS is below that bound."""

ESS_FLAG_FRACTION = 0.5
"""Fraction of collapsed prompts above which a finite-prompt estimate is flagged (see ESS_COLLAPSED_TOKENS)."""


# ----------------------------------------------------------------------------------------------- validation


def _sigma(Sigma) -> np.ndarray:
    return covariance(Sigma, "Sigma")


def _uv(U, V, d: int) -> tuple[np.ndarray, np.ndarray]:
    return as_matrix(U, "U", shape=(d + 1, d + 1)), as_matrix(V, "V", shape=(d + 1, d + 1))


def _capped(value: int, limit: int, name: str) -> int:
    if value > limit:
        raise ValueError(f"{name}: at most {limit}, got {value}")
    return value


def _noise(noise) -> float:
    return nonnegative_float(noise, "noise")


def _c0_and_M(U11, u, a, b, S, s2):
    """c0 = U11^T \\Sigma a + b s^2 u and M = b U11^T \\Sigma + u a^T \\Sigma - I: the risk's building blocks."""
    c0 = U11.T @ S @ a + b * s2 * u
    M = b * U11.T @ S + np.outer(u, a) @ S - np.eye(S.shape[0])
    return c0, M


def _batch(value, name: str, d: int) -> tuple[np.ndarray, bool]:
    """A (n, d) float array from a vector (n = 1) or a batch of rows, and whether it was a single vector."""
    if np.ndim(value) == 2:
        return as_matrix(value, name, shape=(np.shape(value)[0], d)), False
    return as_vector(value, name, size=d)[None, :], True


# ----------------------------------------------------------------------------------------------- L = infinity


def gamma_w(Sigma, w, noise=0.0) -> np.ndarray:
    r"""The token covariance given the task,  \Gamma_w = [[\Sigma, \Sigma w], [w^T\Sigma, w^T\Sigma w + s^2]].

    ``w`` is a vector (result (d+1, d+1)) or a batch of rows (n, d) (result (n, d+1, d+1)).

    >>> gamma_w([[2.0]], [3.0], noise=0.5)
    array([[ 2.  ,  6.  ],
           [ 6.  , 18.25]])
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    W, single = _batch(w, "w", d)
    s2 = _noise(noise) ** 2
    SW = W @ S  # rows (\Sigma w)^T
    G = np.empty((W.shape[0], d + 1, d + 1))
    G[:, :d, :d] = S
    G[:, :d, d] = SW
    G[:, d, :d] = SW
    G[:, d, d] = np.einsum("ni,ni->n", SW, W) + s2
    return G[0] if single else G


def icl_risk_infinite(U, V, Sigma, noise=0.0) -> float:
    r"""Closed form of  R_\infty(U, V) = 1/2 E[(e_{d+1}^T V \Gamma_w U (x_q, 0) - y_q)^2]  for general U, V.

    With U11 = U[:d,:d], u = U[d,:d], a = V[d,:d], b = V[d,d], s = ``noise``:

        c0 = U11^T \Sigma a + b s^2 u,   M = b U11^T \Sigma + u a^T \Sigma - I_d,
        2 R_\infty = c0^T\Sigma c0 + 2 b tr(\Sigma) c0^T\Sigma u + b^2 (u^T\Sigma u)((tr\Sigma)^2 + 2 tr\Sigma^2)
                     + tr(M^T \Sigma M) + s^2.

    On the invariant subspace U = diag(A, 0), V = b e_{d+1} e_{d+1}^T it reduces to the paper's (Sec. 5)
    1/2 tr((b\Sigma A - I)\Sigma(b\Sigma A - I)^T) + s^2/2.

    >>> U, V = invariant_point(0.0, 0.0, 2)
    >>> icl_risk_infinite(U, V, [[1.0, 0.0], [0.0, 3.0]])      # predicts 0: 1/2 E (w^T x_q)^2 = tr(\Sigma)/2
    2.0
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    s2 = _noise(noise) ** 2
    U11, u, a, b = U[:d, :d], U[d, :d], V[d, :d], V[d, d]
    c0, M = _c0_and_M(U11, u, a, b, S, s2)
    trS, trS2 = np.trace(S), np.trace(S @ S)
    Su = S @ u
    two_r = (
        c0 @ S @ c0
        + 2.0 * b * trS * (c0 @ Su)
        + b * b * (u @ Su) * (trS * trS + 2.0 * trS2)
        + np.trace(M.T @ S @ M)
        + s2
    )
    return float(0.5 * two_r)


def icl_prediction_infinite(U, V, Sigma, w, x_q, noise=0.0):
    r"""The infinite-prompt prediction  p_\infty = e_{d+1}^T V \Gamma_w U (x_q, 0)  (Lemma 2.1 on N(0, \Gamma_w)).

    ``w`` and ``x_q`` are vectors (returns a float) or batches of rows (n, d) (returns an (n,) array).

    >>> S = toeplitz_sigma(2, 0.5)
    >>> U, V = bayes_point(S)
    >>> round(icl_prediction_infinite(U, V, S, [1.0, -2.0], [0.5, 0.25]), 12)   # = w^T x_q at the Bayes point
    0.0
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    W, single_w = _batch(w, "w", d)
    X, single_x = _batch(x_q, "x_q", d)
    if single_w != single_x or W.shape[0] != X.shape[0]:
        raise ValueError(f"x_q: expected the same shape as w {W.shape}, got {X.shape}")
    G = gamma_w(S, W, noise)
    h = X @ U[:, :d].T  # rows U (x_q, 0)
    p = np.einsum("j,njk,nk->n", V[d], G, h)
    return float(p[0]) if single_w else p


# ----------------------------------------------------------------------------------------------- seeding, moments


def _block_streams(seed, n_prompts: int):
    """Yield (generator, block size) for the fixed blocks of ``PROMPTS_PER_BLOCK`` prompts."""
    root = as_generator(seed)
    entropy = [int(x) for x in root.integers(0, 2**63, size=4, dtype=np.uint64)]
    for k, start in enumerate(range(0, n_prompts, PROMPTS_PER_BLOCK)):
        ss = np.random.SeedSequence(entropy, spawn_key=(k,))
        yield np.random.default_rng(ss), min(PROMPTS_PER_BLOCK, n_prompts - start)


class _Moments:
    """Running mean and sum of squared deviations, merged blockwise (Chan et al.)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> None:
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    def estimate(self, ess: float | None = None, warning: str = "") -> Estimate:
        if not (math.isfinite(self.mean) and math.isfinite(self.m2)):
            raise FloatingPointError("Monte Carlo losses overflowed: U, V or Sigma too large for float64")
        return Estimate(self.mean, math.sqrt(self.m2 / (self.n - 1) / self.n), self.n, ess=ess, warning=warning)


def _ess_diagnostic(ess: np.ndarray, L: int) -> tuple[float, str]:
    """(median per-prompt ESS, warning) for the per-prompt effective sample sizes ``ess`` at prompt length L:
    a non-empty warning (also issued as a ``RuntimeWarning``) when more than ``ESS_FLAG_FRACTION`` of the
    prompts collapsed (see :data:`ESS_COLLAPSED_TOKENS`)."""
    bound = min(ESS_COLLAPSED_TOKENS, (L + 1) / 2)
    median = float(np.median(ess))
    collapsed = float(np.mean(ess < bound))
    if not collapsed > ESS_FLAG_FRACTION:
        return median, ""
    warning = (f"softmax effective sample size collapsed: median ESS {median:.3g} of L={L} tokens per prompt, "
               f"{collapsed:.0%} of prompts below {bound:g} tokens (one token carries the output: outside the "
               f"large-prompt regime)")
    import warnings

    warnings.warn(warning, RuntimeWarning, stacklevel=3)
    return median, warning


def _task_block(gen: np.random.Generator, m: int, C: np.ndarray, s: float):
    """w, x_q and the target y_q of ``m`` prompts (always in this order, whatever the noise)."""
    d = C.shape[0]
    W = gen.standard_normal((m, d))
    X = gen.standard_normal((m, d)) @ C.T
    eps = gen.standard_normal(m)
    y = np.einsum("ni,ni->n", W, X) + s * eps
    return W, X, y


def icl_risk_infinite_mc(U, V, Sigma, n_prompts, seed, noise=0.0) -> Estimate:
    r"""Monte Carlo of R_\infty from its definition: 1/2 (e_{d+1}^T V \Gamma_w U (x_q,0) - y_q)^2 averaged
    over sampled (w, x_q, \epsilon_q); \Gamma_w is built by :func:`gamma_w`.  The closed form is never used.

    >>> S = toeplitz_sigma(2, 0.3)
    >>> U, V = invariant_point(0.3, 1.0, 2)
    >>> abs(icl_risk_infinite_mc(U, V, S, 20000, seed=0).z(icl_risk_infinite(U, V, S))) < 5
    True
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    U, V = _uv(U, V, d)
    s = _noise(noise)
    n = _capped(positive_int(n_prompts, "n_prompts", minimum=2), MAX_PROMPTS, "n_prompts")
    C = np.linalg.cholesky(S)
    acc = _Moments()
    for gen, m in _block_streams(seed, n):
        W, X, y = _task_block(gen, m, C, s)
        p = icl_prediction_infinite(U, V, S, W, X, noise=s)
        acc.add(0.5 * (p - y) ** 2)
    return acc.estimate()


# ----------------------------------------------------------------------------------------------- finite L


def _bivariate(U, V, C, s, W, X):
    r"""Per-prompt (\sigma, \kappa, \tau^2, p_\infty) of (score, value) = (\sigma g, \kappa g + \tau \eta)."""
    d = C.shape[0]
    h1 = X @ U[:d, :d].T  # U11 x_q
    h2 = X @ U[d, :d]  # u . x_q
    ax = (h1 + h2[:, None] * W) @ C  # C^T (h1 + h2 w)
    ay = s * h2
    gx = (V[d, :d][None, :] + V[d, d] * W) @ C  # C^T (a + b w)
    gy = s * V[d, d]
    sig2 = np.einsum("ni,ni->n", ax, ax) + ay * ay
    cov = np.einsum("ni,ni->n", ax, gx) + ay * gy  # = v^T \Gamma_w h = p_\infty
    pos = sig2 > 0
    ratio = np.where(pos, cov / np.where(pos, sig2, 1.0), 0.0)
    rx = gx - ratio[:, None] * ax
    ry = gy - ratio * ay
    tau2 = np.einsum("ni,ni->n", rx, rx) + ry * ry
    sig = np.sqrt(sig2)
    kappa = np.where(pos, cov / np.where(pos, sig, 1.0), 0.0)
    if not (np.all(np.isfinite(sig)) and np.all(np.isfinite(tau2))):
        raise FloatingPointError("score/value variance overflowed: U, V or Sigma too large for float64")
    return sig, kappa, tau2, cov


def _softmax_sums(gen, sig, L, rows):
    r"""Sample g (rows x L) and return (S, T1, T2, M) with e_l = exp(\sigma g_l - M), M = max_l \sigma g_l:
    S = \sum e_l, T1 = \sum e_l g_l, T2 = \sum e_l^2."""
    g = gen.standard_normal((rows.size, L))
    sc = g * sig[rows, None]
    M = sc.max(axis=1)
    sc -= M[:, None]
    np.exp(sc, out=sc)
    S = sc.sum(axis=1)
    T1 = np.einsum("ij,ij->i", sc, g)
    T2 = np.einsum("ij,ij->i", sc, sc)
    return S, T1, T2, M


def _finite_blocks(U, V, Sigma, L, n_prompts, seed, noise, chunk_tokens):
    """Shared driver: yields per-block arrays (y, sig, kappa, tau2, p_inf, S, T1, T2, M)."""
    S_ = _sigma(Sigma)
    d = S_.shape[0]
    U, V = _uv(U, V, d)
    s = _noise(noise)
    L = _capped(positive_int(L, "L"), MAX_L, "L")
    n = _capped(positive_int(n_prompts, "n_prompts", minimum=2), MAX_PROMPTS, "n_prompts")
    chunk_tokens = _capped(positive_int(chunk_tokens, "chunk_tokens"), MAX_CHUNK_TOKENS, "chunk_tokens")
    C = np.linalg.cholesky(S_)
    rows_per_chunk = max(1, chunk_tokens // L)
    for gen, m in _block_streams(seed, n):
        W, X, y = _task_block(gen, m, C, s)
        sig, kappa, tau2, p_inf = _bivariate(U, V, C, s, W, X)
        S = np.empty(m)
        T1 = np.empty(m)
        T2 = np.empty(m)
        Mx = np.empty(m)
        for r0 in range(0, m, rows_per_chunk):
            rows = np.arange(r0, min(m, r0 + rows_per_chunk))
            S[rows], T1[rows], T2[rows], Mx[rows] = _softmax_sums(gen, sig, L, rows)
        yield y, sig, kappa, tau2, p_inf, S, T1, T2, Mx


def icl_risk_mc(U, V, Sigma, L, n_prompts, seed, noise=0.0, *, chunk_tokens=_DEFAULT_CHUNK_TOKENS) -> Estimate:
    r"""Monte Carlo estimate of  R_L(U, V) = 1/2 E[(\sum_l softmax_l(z_l^T U(x_q,0)) (V z_l)_{d+1} - y_q)^2].

    Per prompt: sample w, x_q, \epsilon_q and g_1..g_L ~ N(0,1); with p = softmax(\sigma g) the sample is
    1/2 [(\kappa \sum p_l g_l - y_q)^2 + \tau^2 \sum p_l^2]   (exact integral over the value noise \eta, see the
    module docstring).  Mean and standard error over ``n_prompts`` i.i.d. prompts.

    Effective sample size: the result's ``ess`` is the median over prompts of (\sum_l p_l)^2 / \sum_l p_l^2
    (tokens); when more than half the prompts have collapsed to fewer than two effective tokens the estimate is
    flagged (``warning`` non-empty, ``reliable`` False, and a ``RuntimeWarning``; see
    :data:`ESS_COLLAPSED_TOKENS`): no evidence check counts it as agreement.  L <= :data:`MAX_L`,
    n_prompts <= :data:`MAX_PROMPTS`, chunk_tokens <= :data:`MAX_CHUNK_TOKENS`.

    >>> S = toeplitz_sigma(2, 0.5)
    >>> U, V = invariant_point(0.2, 1.0, 2)
    >>> r1 = icl_risk_mc(U, V, S, L=1, n_prompts=4000, seed=3)      # L = 1: p_1 = y_1, R_1 = E(y_1 - y_q)^2 / 2
    >>> abs(r1.z(float(np.trace(S)))) < 5
    True
    """
    acc, ess = _Moments(), []
    for y, sig, kappa, tau2, p_inf, S, T1, T2, M in _finite_blocks(
        U, V, Sigma, L, n_prompts, seed, noise, chunk_tokens
    ):
        mean_L = kappa * T1 / S
        acc.add(0.5 * ((mean_L - y) ** 2 + tau2 * T2 / (S * S)))
        ess.append(S * S / T2)
    return acc.estimate(*_ess_diagnostic(np.concatenate(ess), L))


def icl_risk_gap_mc(
    U,
    V,
    Sigma,
    L,
    n_prompts,
    seed,
    noise=0.0,
    *,
    control_variate=True,
    chunk_tokens=_DEFAULT_CHUNK_TOKENS,
) -> Estimate:
    r"""Paired Monte Carlo estimate of  R_L(U, V) - R_\infty(U, V).

    The same (w, x_q, \epsilon_q) serve both terms; the per-prompt sample is the \eta-integral of
    1/2 [(p_L - y_q)^2 - (p_\infty - y_q)^2], i.e.

        D = 1/2 [(m_L - y_q)^2 + \tau^2 \sum p_l^2 - (p_\infty - y_q)^2],   m_L = \kappa \sum_l p_l g_l.

    With ``control_variate`` (default) two terms of conditional mean exactly zero given (w, x_q) are subtracted.
    Write r = p_\infty - y_q and

        \Delta = (1/L) \sum_l f(g_l),   f(g) = e^{\sigma g - \sigma^2/2} (g - \sigma),
        E f(g) = 0,   E f(g)^2 = e^{\sigma^2} (1 + \sigma^2)      (tilting: E e^{\sigma g}\phi(g) = e^{\sigma^2/2} E\phi(g+\sigma)).

    \kappa\Delta is the first-order expansion of m_L - p_\infty (ratio of the two softmax sums around their
    means), so

        D_cv = D - [\rho <= 0.1] r \kappa \Delta - [\rho <= 0.1, e^{2\sigma^2} <= 0.1 L] 1/2 \kappa^2 (\Delta^2 - \rho),
        \rho = E[\Delta^2 | w, x_q] = e^{\sigma^2} (1 + \sigma^2) / L,

    removes the O(L^{-1/2}) fluctuation of the cross term r (m_L - p_\infty) and most of that of
    1/2 (m_L - p_\infty)^2.  The gates depend on (w, x_q) and L only, so D_cv is still exactly unbiased; they
    switch the corrections off where the expansion fails (e^{\sigma^2} not small against L: heavy-tailed softmax
    weights), where the corrections would add variance instead.  (e^{\sigma g - \sigma^2/2} <= e^{g^2/2}: no
    overflow.)  At d = 5, Toeplitz(0.5), (0.7 U_\star, V_\star), L = 1000 the standard error drops about 5x.

    The result carries the median per-prompt effective sample size ``ess`` and is flagged unreliable when it
    collapsed, as in :func:`icl_risk_mc` (e.g. U_{11} = 10^4 I: every prompt's output is one token's; the
    mean and standard error stay statistically honest for R_L - R_\infty, but the prompt is far outside the
    large-prompt regime whose rates a gap is used to measure).

    >>> S = toeplitz_sigma(2, 0.5)
    >>> U, V = bayes_point(S)
    >>> gap = icl_risk_gap_mc(0.7 * U, V, S, L=10, n_prompts=4000, seed=0)
    >>> gap.mean > 5 * gap.stderr, gap.reliable, gap.ess > 5
    (True, True, True)
    """
    acc, ess = _Moments(), []
    for y, sig, kappa, tau2, p_inf, S, T1, T2, M in _finite_blocks(
        U, V, Sigma, L, n_prompts, seed, noise, chunk_tokens
    ):
        ess.append(S * S / T2)
        mean_L = kappa * T1 / S
        r_inf = p_inf - y
        D = 0.5 * ((mean_L - y) ** 2 + tau2 * T2 / (S * S) - r_inf**2)
        if control_variate:
            delta = np.exp(M - 0.5 * sig * sig) * (T1 - sig * S) / L
            sig2 = sig * sig
            log_room = math.log(0.1 * L)
            gate1 = sig2 + np.log1p(sig2) <= log_room
            gate2 = gate1 & (2.0 * sig2 <= log_room)
            s2g = np.where(gate1, sig2, 0.0)  # gate1 bounds sig2 by log(0.1 L): no overflow
            rho = np.exp(s2g) * (1.0 + s2g) / L
            D = D - np.where(gate1, r_inf * kappa * delta, 0.0)
            D = D - np.where(gate2, 0.5 * kappa * kappa * (delta * delta - rho), 0.0)
        acc.add(D)
    return acc.estimate(*_ess_diagnostic(np.concatenate(ess), L))


# ----------------------------------------------------------------------------------------------- parameter points
# The named (U, V) and Sigma of Sec. 5: the invariant subspace, the limit of the gradient flow, the Toeplitz covariance.


def invariant_point(A, b, d) -> tuple[np.ndarray, np.ndarray]:
    r"""(U, V) = (diag(A, 0), b e_{d+1} e_{d+1}^T) on the invariant subspace of Sec. 5.

    ``A`` is a d x d matrix or a scalar (meaning A I_d).

    >>> U, V = invariant_point(2.0, 3.0, 2)
    >>> U.tolist(), V.tolist()
    ([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    """
    d = positive_int(d, "d")
    if np.ndim(A) == 0:
        A = real(A, "A") * np.eye(d)
    A = as_matrix(A, "A", shape=(d, d))
    b = real(b, "b")
    U = np.zeros((d + 1, d + 1))
    U[:d, :d] = A
    V = np.zeros((d + 1, d + 1))
    V[d, d] = b
    return U, V


def bayes_point(Sigma) -> tuple[np.ndarray, np.ndarray]:
    r"""The limit of the gradient flow (Theorem 5.1/5.2):

        U_\star = tr(\Sigma^{-2})^{-1/4} diag(\Sigma^{-1}, 0),   V_\star = tr(\Sigma^{-2})^{1/4} e_{d+1} e_{d+1}^T,

    where p_\infty = w^T x_q exactly, so R_\infty(U_\star, V_\star) = s^2 / 2.

    >>> U, V = bayes_point([[4.0]])
    >>> U.tolist(), V.tolist()
    ([[0.5, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.5]])
    """
    S = _sigma(Sigma)
    d = S.shape[0]
    Si = np.linalg.inv(S)
    Si = (Si + Si.T) / 2
    c = np.trace(Si @ Si) ** 0.25
    return invariant_point(Si / c, c, d)


def toeplitz_sigma(d, rho) -> np.ndarray:
    r"""The Toeplitz ("KCM") covariance  \Sigma_{ij} = rho^{|i-j|}  (|rho| < 1; the paper's code uses 0.5, d = 5).

    >>> toeplitz_sigma(3, 0.5).tolist()
    [[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]]
    """
    d = positive_int(d, "d")
    rho = real(rho, "rho")
    if not abs(rho) < 1:
        raise ValueError(f"rho: must satisfy |rho| < 1 for a positive-definite Sigma, got {rho}")
    i = np.arange(d)
    return rho ** np.abs(i[:, None] - i[None, :])
