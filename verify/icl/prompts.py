r"""Prompts of in-context linear regression: the one batch sampler, its two data models, the per-step streams.

**The model** (paper Eq. (7)).  Per prompt b of a batch, w ~ N(0, w_scale^2 I_d), covariates x_l (l = 1..L) and a
query x_q, labels y_l = w^T x_l + s\epsilon_l, y_q = w^T x_q + s\epsilon_q (s = ``noise``).  A batch is the tuple
``(X, Y, Xq, Yq)`` of shapes (B, L, d), (B, L), (B, d), (B,): the x and y parts of the tokens z_l = (x_l, y_l) kept
apart, so that no (B, L, d+1) array is ever stacked.

**Two data models, one sampler** (:func:`sample_with_roots`).  Covariates are Gaussian vectors times a root:

* ``intended`` (:func:`sample_prompts`): x_l, x_q ~ N(0, \Sigma) (x = g C^T, C = chol(\Sigma));
* ``authors`` (:func:`authors_prompts`): what the authors' data code draws -- the symmetric root C = \Sigma^{1/2} applied
  twice to the prompt covariates (x = g C^T C^T: covariance C C C^T C^T = \Sigma^2) and never to the query
  (x_q ~ N(0, I)).

Both draw in one order from the generator: w, prompt covariates, query covariates, then (only when noise > 0)
prompt and query label noise, so the noise level never shifts the covariates and the two models see the same
Gaussian numbers.  :func:`step_generator` gives step k of a training run its own stream.

>>> from verify.icl.risk import toeplitz_sigma
>>> rng = np.random.default_rng(0)
>>> X, Y, Xq, Yq = sample_prompts(toeplitz_sigma(2, 0.5), 4, 3, rng)
>>> X.shape, Y.shape, Xq.shape, Yq.shape
((3, 4, 2), (3, 4), (3, 2), (3,))
>>> X, Y, Xq, Yq = authors_prompts(toeplitz_sigma(2, 0.5), 3, 4, np.random.default_rng(0), noise=0.1)
>>> X.shape, Y.shape, Xq.shape, Yq.shape
((4, 3, 2), (4, 3), (4, 2), (4,))
>>> sample_prompts(toeplitz_sigma(2, 0.5), 0, 3, rng)
Traceback (most recent call last):
...
ValueError: L: must be >= 1, got 0
>>> authors_prompts(toeplitz_sigma(2, 0.5), 3, 0, 0)
Traceback (most recent call last):
...
ValueError: batch: must be >= 1, got 0
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np

from verify._validation import covariance, nonnegative_float, positive_float, positive_int, seed_value
from verify.numerics.measures import as_generator
from verify.numerics.montecarlo import mean_estimate

__all__ = ["MAX_BATCH_TOKENS", "MODES", "sample_prompts", "authors_prompts", "sample_with_roots", "sampler",
           "mode_covariances", "step_generator", "moment_names", "moment_estimates", "moment_values"]

MAX_BATCH_TOKENS = 1 << 26
"""Largest B * L of one batch (about 0.5 GB per float64 working array): a guard against a typo."""

MODES = ("intended", "authors")
"""The data models: the paper's (``intended``) and what the authors' data code draws (``authors``)."""


def _arguments(Sigma, L, batch, noise, w_scale) -> tuple:
    S = covariance(Sigma, "Sigma")
    L = positive_int(L, "L")
    B = positive_int(batch, "batch")
    if B * L > MAX_BATCH_TOKENS:
        raise ValueError(f"batch: batch * L must be <= {MAX_BATCH_TOKENS}, got {B * L}")
    return S, L, B, nonnegative_float(noise, "noise"), positive_float(w_scale, "w_scale")


def sample_with_roots(prompt_root_t, query_root_t, L, B, gen, s, ws):
    """One batch (X, Y, Xq, Yq), arguments already validated: x = g @ ``prompt_root_t``, x_q = h @ ``query_root_t``
    (None: x_q = h ~ N(0, I)), w = ``ws`` N(0, I), label noise ``s``; draw order w, prompt covariates, query
    covariates, then the label noise (only when s > 0).  The sampler of both data models."""
    d = prompt_root_t.shape[0]
    W = ws * gen.standard_normal((B, d))
    X = gen.standard_normal((B, L, d)) @ prompt_root_t
    Xq = gen.standard_normal((B, d))
    if query_root_t is not None:
        Xq = Xq @ query_root_t
    Y = np.einsum("bld,bd->bl", X, W)
    Yq = np.einsum("bd,bd->b", Xq, W)
    if s > 0.0:
        Y += s * gen.standard_normal((B, L))
        Yq += s * gen.standard_normal(B)
    return X, Y, Xq, Yq


def sample_prompts(Sigma, L, batch, rng, noise=0.0, w_scale=1.0):
    r"""A batch of ``batch`` prompts of length ``L`` from the in-context regression model (the ``intended`` data
    model): x, x_q ~ N(0, \Sigma) (x = g C^T with C = chol(\Sigma)), w ~ N(0, w_scale^2 I_d), label noise ``noise``.
    ``rng``: a Generator, an int or a SeedSequence.  Returns ``(X, Y, Xq, Yq)``."""
    S, L, B, s, ws = _arguments(Sigma, L, batch, noise, w_scale)
    C = np.linalg.cholesky(S)
    return sample_with_roots(C.T, C.T, L, B, as_generator(rng), s, ws)


def _symmetric_root(S: np.ndarray) -> np.ndarray:
    r"""The symmetric root C = \Sigma^{1/2} (the authors' ``covariance_root``)."""
    lam, Q = np.linalg.eigh(S)
    return (Q * np.sqrt(lam)) @ Q.T


def authors_prompts(Sigma, L, batch, rng, noise=0.0, w_scale=1.0, *, query_cov=None):
    r"""A batch as the authors' data code draws it: g ~ N(0, I), x = g C^T C^T (C = \Sigma^{1/2}: covariance
    C C C^T C^T = \Sigma^2), x_q ~ N(0, I) (``query_cov`` Q: x_q = h Q^{1/2}, a planted variant), w ~ N(0, w_scale^2 I),
    y = x w + noise \epsilon, y_q = x_q^T w + noise \epsilon_q.  Same shapes and draw order as :func:`sample_prompts`."""
    S, L, B, s, ws = _arguments(Sigma, L, batch, noise, w_scale)
    Rq = None if query_cov is None else _symmetric_root(covariance(query_cov, "query_cov", S.shape[0]))
    gen = as_generator(rng)
    C = _symmetric_root(S)
    # the root applied twice (one product: same law, fewer flops); the query root only for the planted variant
    return sample_with_roots(C.T @ C.T, None if Rq is None else Rq.T, L, B, gen, s, ws)


def _mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    return mode


def sampler(mode) -> Callable:
    """The prompt sampler of a data mode: ``intended`` -> :func:`sample_prompts`, ``authors`` -> :func:`authors_prompts`."""
    return sample_prompts if _mode(mode) == "intended" else authors_prompts


def mode_covariances(mode, Sigma) -> tuple[np.ndarray, np.ndarray]:
    r"""(\Sigma_p, \Sigma_q), the prompt and query covariances of a data mode: (\Sigma, \Sigma) intended, (\Sigma^2, I)
    for the authors' data.

    >>> [M.tolist() for M in mode_covariances("authors", [[2.0]])]
    [[[4.0]], [[1.0]]]
    """
    S = covariance(Sigma, "Sigma")
    return (S, S) if _mode(mode) == "intended" else (S @ S, np.eye(S.shape[0]))


def step_generator(seed, L, tag: str, k: int) -> np.random.Generator:
    r"""The generator of step ``k`` of a run: ``SeedSequence([seed, L, crc32(tag)], spawn_key=(k,))``.  Same
    (seed, L, tag, k), same prompts, whatever ran before; steps and runs are independent streams."""
    seed = seed_value(seed)
    return np.random.default_rng(np.random.SeedSequence([seed, int(L), zlib.crc32(tag.encode())], spawn_key=(int(k),)))


# ------------------------------------------------------------------------------------------ the law of a batch


def moment_names(d: int) -> list[str]:
    """The names of the estimates of :func:`moment_estimates` in dimension ``d``, in order.

    >>> moment_names(1)
    ['E z_0z_0', 'E zq_0zq_0', 'E y^2', 'E y_q^2', 'E y y_q x^T Sigma^-1 x_q']
    """
    d = positive_int(d, "d")
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    return ([f"E z_{i}z_{j}" for i, j in pairs] + [f"E zq_{i}zq_{j}" for i, j in pairs]
            + ["E y^2", "E y_q^2", "E y y_q x^T Sigma^-1 x_q"])


def moment_estimates(X, Y, Xq, Yq, Sigma) -> list:
    r"""Monte Carlo estimates of the second moments that pin down the law of a batch (X, Y, Xq, Yq) claimed to be
    the model of :func:`sample_prompts` with covariance \Sigma: with C = chol(\Sigma), z = C^{-1}x,

    * E[z z^T] (upper triangle) for the prompt covariates, E[z_q z_q^T] for the query: the identity iff the
      covariances are \Sigma;
    * E[y_l^2], E[y_q^2]: w_scale^2 tr\Sigma + s^2;
    * E[y_l y_q x_l^T\Sigma^{-1}x_q]: w_scale^2 tr\Sigma (the labels of the prompt and of the query share one w).

    Each estimate is the mean over prompts of the prompt's average (prompts are independent; tokens share w), with
    its standard error (:func:`verify.numerics.montecarlo.mean_estimate`), in the order of :func:`moment_names`;
    :func:`moment_values` gives the values the model implies.

    >>> from verify.icl.risk import toeplitz_sigma
    >>> S = toeplitz_sigma(2, 0.5)
    >>> est = moment_estimates(*sample_prompts(S, 4, 20000, 0, noise=0.5), S)
    >>> max(abs(e.z(v)) for e, v in zip(est, moment_values(S, noise=0.5))) < 5
    True
    """
    X, Y, Xq, Yq = (np.asarray(a, dtype=float) for a in (X, Y, Xq, Yq))
    S = covariance(Sigma, "Sigma", X.shape[-1])
    C = np.linalg.cholesky(S)
    Z = np.linalg.solve(C, X.reshape(-1, X.shape[-1]).T).T.reshape(X.shape)
    Zq = np.linalg.solve(C, Xq.T).T
    d = S.shape[0]
    out = [mean_estimate(np.einsum("bl,bl->b", Z[:, :, i], Z[:, :, j]) / X.shape[1]) for i in range(d) for j in range(i, d)]
    out += [mean_estimate(Zq[:, i] * Zq[:, j]) for i in range(d) for j in range(i, d)]
    out.append(mean_estimate((Y * Y).mean(axis=1)))
    out.append(mean_estimate(Yq * Yq))
    link = np.einsum("bl,bld,bd->b", Y, Z, Zq) / X.shape[1] * Yq  # y_l x_l^T Sigma^-1 x_q y_q = y_l z_l^T z_q y_q
    out.append(mean_estimate(link))
    return out


def moment_values(Sigma, noise=0.0, w_scale=1.0) -> list[float]:
    r"""The values of :func:`moment_estimates` under the model: identity entries (1 on the diagonal, 0 off it) twice,
    w_scale^2 tr\Sigma + s^2 twice, w_scale^2 tr\Sigma."""
    S = covariance(Sigma, "Sigma")
    d = S.shape[0]
    s, ws = nonnegative_float(noise, "noise"), positive_float(w_scale, "w_scale")
    eye = [1.0 if i == j else 0.0 for i in range(d) for j in range(i, d)]
    t = ws * ws * float(np.trace(S))
    return eye + eye + [t + s * s, t + s * s, t]
